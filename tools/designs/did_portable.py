"""Difference-in-differences steps whose source is copied verbatim into the exported code.

``tools.designs.did`` calls these functions for every number it shows, and ``did.code``
embeds their source, so the user's script recomputes the estimate with the same code.
Rules: imports only numpy, pandas and pyfixest; every function is self-contained;
``PORTABLE_FUNCTIONS`` lists them in dependency order.
"""

import numpy as np
import pandas as pd
import pyfixest as pf

from causal_assistant.tools.designs.checks_portable import p_status
from causal_assistant.tools.refute.portable_trends import event_trend_sensitivity


def ordered_time(values):
    """Time values that sort in time order: numbers and dates as they are, text that
    reads as dates ('Mar 2020') parsed, other text (such as '2020Q1') left to sort as
    text."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    return parsed if parsed.notna().all() else values.astype(str)


def panel_frame(df, treatment, outcome, unit, time, covariates=(), cluster=None):
    """The panel in the shape the estimators need, and what was done to get it there.

    Columns: ``y``, ``d`` (0/1), ``unit``, ``period`` (0, 1, ... in time order),
    ``cohort`` (the period a unit adopts; NaN for comparison units), ``rel`` (periods since
    adoption; -1, the reference, for comparison units), ``cluster`` and ``cov_1``, ...
    Raises ValueError with a one-line reason when the table is not a usable panel:
    duplicated unit-period rows, a treatment that is not yes/no, never changes within a
    unit or switches off again, or no unit left untreated to compare with.
    """
    cluster = cluster or unit
    used = list(dict.fromkeys([unit, time, treatment, outcome, cluster, *covariates]))
    data = df[used].replace([np.inf, -np.inf], np.nan).dropna()
    info: dict[str, object] = {"n_dropped_missing": len(df) - len(data)}
    duplicated = int(data.duplicated([unit, time]).sum())
    if duplicated:
        raise ValueError(
            f"{duplicated} rows repeat a ({unit}, {time}) pair; a panel needs one row per "
            "unit and period, so aggregate or remove the duplicates first."
        )
    levels = sorted(pd.unique(data[treatment]))
    if len(levels) != 2:
        raise ValueError(
            f"Difference in differences needs a yes/no treatment; '{treatment}' has "
            f"{len(levels)} distinct values."
        )
    for column in [outcome, *covariates]:
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise ValueError(f"Column '{column}' is not numeric; encode it as numbers first.")
    times = ordered_time(data[time])
    periods = pd.Series(np.sort(pd.unique(times)))
    labels = periods.dt.strftime("%Y-%m-%d") if periods.dtype.kind == "M" else periods.astype(str)
    panel = pd.DataFrame(
        {
            "y": data[outcome].astype(float),
            "d": (data[treatment] == levels[1]).astype(int),
            "unit": data[unit].astype(str),
            "period": np.searchsorted(periods, times),
            "cluster": data[cluster].astype(str),
        },
        index=data.index,
    )
    for i, column in enumerate(covariates, start=1):
        panel[f"cov_{i}"] = data[column].astype(float)
    panel = panel.sort_values(["unit", "period"])
    steps = panel.groupby("unit")["d"].diff()
    off = panel.loc[steps < 0, "unit"].unique()
    if len(off):
        raise ValueError(
            f"'{treatment}' switches off again within {len(off)} units of '{unit}' (e.g. "
            f"{off[0]}); this design needs a treatment that stays on once adopted."
        )
    if not (steps > 0).any():
        raise ValueError(
            f"'{treatment}' never changes within any unit of '{unit}' over '{time}', so "
            "there is no adoption to compare before and after."
        )
    first = panel.groupby("unit")["period"].transform("min")
    adopted = panel["period"].where(panel["d"] == 1).groupby(panel["unit"]).transform("min")
    always = panel["unit"][adopted == first].unique()
    panel = panel[~panel["unit"].isin(always)].copy()
    info["n_always_treated_dropped"] = len(always)
    panel["cohort"] = adopted[panel.index]
    info["never_treated_units"] = int(panel.loc[panel["cohort"].isna(), "unit"].nunique())
    if info["never_treated_units"] == 0:
        last = panel["cohort"].max()
        panel = panel[panel["period"] < last].copy()
        panel.loc[panel["cohort"] == last, "cohort"] = np.nan
        info["last_cohort_as_comparison"] = labels[int(last)]
        if panel["cohort"].notna().sum() == 0:
            raise ValueError(
                f"Every unit of '{unit}' adopts '{treatment}' in the same period, so no "
                "unit is left untreated to compare with."
            )
    panel["rel"] = (panel["period"] - panel["cohort"]).fillna(-1).astype(int)
    info["cohorts"] = [labels[int(c)] for c in sorted(panel["cohort"].dropna().unique())]
    info["n_units"] = int(panel["unit"].nunique())
    info["n_periods"] = int(panel["period"].nunique())
    return panel, info


def did_fit(panel, event_study=False, estimator=None):
    """The pyfixest fit for the panel: two-way fixed effects with errors clustered by
    ``cluster`` when all treated units adopt in one period; Gardner's two-stage estimator
    (did2s: fixed effects learnt on untreated rows, then the treated rows' residual gaps
    averaged) when adoption is staggered, because two-way fixed effects then compares
    later adopters with earlier ones and is biased when effects differ by cohort.
    ``event_study`` replaces the single effect by one coefficient per period relative to
    adoption (reference: the period before); ``did2s`` leaves out units with fewer than
    two untreated periods. ``estimator`` ("twfe" or "did2s") overrides
    the choice, to show what the other one gives."""
    covariates = " + ".join(c for c in panel.columns if c.startswith("cov_"))
    effect = "i(rel, ref=-1)" if event_study else "d"
    estimator = estimator or ("twfe" if panel["cohort"].nunique() == 1 else "did2s")
    if estimator == "twfe":
        rhs = effect + (f" + {covariates}" if covariates else "")
        return pf.feols(f"y ~ {rhs} | unit + period", data=panel, vcov={"CRV1": "cluster"})
    # a unit with one untreated row is a singleton in did2s's first stage, which pyfixest
    # drops, leaving its treated rows without a unit effect; such units are left out
    untreated_rows = panel["unit"].map(panel.loc[panel["d"] == 0, "unit"].value_counts())
    return pf.did2s(
        panel[untreated_rows.fillna(0) >= 2],
        yname="y",
        first_stage=f"~ {covariates or '0'} | unit + period",
        second_stage=f"~ {effect}",
        treatment="d",
        cluster="cluster",
    )


def did_effect(panel):
    """The average effect on the treated with its 95% interval, as plain numbers."""
    fit = did_fit(panel)
    row = fit.tidy().loc["d"]
    return {
        "value": float(row["Estimate"]),
        "se": float(row["Std. Error"]),
        "ci_low": float(row["2.5%"]),
        "ci_high": float(row["97.5%"]),
        "p_value": float(row["Pr(>|t|)"]),
        "method": "twfe" if panel["cohort"].nunique() == 1 else "did2s",
        "ci_method": "cluster-robust (CRV1)",
    }


def event_study(panel):
    """Coefficients by period relative to adoption, and a joint chi-square test that all
    periods before adoption (two or more periods before; one before is the reference)
    are zero, which parallel trends predicts."""
    fit = did_fit(panel, event_study=True)
    tidy = fit.tidy()
    rel = pd.Series(tidy.index.str.extract(r"^rel::(-?\d+)", expand=False), dtype=float)
    events = rel.notna().to_numpy()  # covariates' coefficients are not events
    table = pd.DataFrame(
        {
            "rel": rel[events].astype(int).to_numpy(),
            "estimate": tidy["Estimate"].to_numpy()[events],
            "ci_low": tidy["2.5%"].to_numpy()[events],
            "ci_high": tidy["97.5%"].to_numpy()[events],
        }
    )
    leads = events & (rel < -1).to_numpy()
    test: dict[str, float | int | None] = {
        "statistic": None,
        "p_value": None,
        "n_leads": int(leads.sum()),
    }
    if leads.any():
        wald = fit.wald_test(R=np.eye(len(tidy))[leads], distribution="chi2")
        test.update(statistic=float(wald["statistic"]), p_value=float(wald["pvalue"]))
    return table.sort_values("rel").reset_index(drop=True), test


def placebo_panel(panel, shift):
    """Only the rows before adoption, with adoption moved ``shift`` periods earlier: a
    real effect cannot show up there, so an 'effect' signals diverging trends."""
    before = panel[(panel["d"] == 0) & (panel["period"] < panel["cohort"].max())].copy()
    before["cohort"] = before["cohort"] - shift
    first = before.groupby("unit")["period"].transform("min")
    before = before[~(before["cohort"] <= first)].copy()
    before["d"] = (before["period"] >= before["cohort"]).astype(int)
    before["rel"] = (before["period"] - before["cohort"]).fillna(-1).astype(int)
    return before


def did_checks(panel, effect, material_share, events=None, pretrend=None):
    """The design's own checks as plain numbers and verdicts: the joint test of the
    pre-adoption event-study coefficients (``events``/``pretrend`` from ``event_study``,
    fitted here when not given), a placebo adoption moved half the pre-adoption periods
    earlier on pre-adoption rows only (a gap matters when it exceeds ``material_share``
    of the ``effect``), and, with two pre-adoption periods, how far trends may drift
    apart after adoption before the first period's interval includes zero."""
    if events is None or pretrend is None:
        events, pretrend = event_study(panel)
    pre: dict = {"name": "pre_trends", "status": "warn", "statistic": None, "p_value": None}
    if pretrend["p_value"] is not None:
        largest = float(events.loc[events["rel"] < -1, "estimate"].abs().max())
        material = largest > material_share * abs(effect)
        pre.update(
            status=p_status(pretrend["p_value"], material),
            statistic=pretrend["statistic"],
            p_value=pretrend["p_value"],
            largest=largest,
            n_leads=pretrend["n_leads"],
        )
    shift = int(panel["cohort"].min() - panel["period"].min()) // 2
    placebo: dict = {"name": "placebo_period", "status": "warn", "shift": shift, "numbers": None}
    if shift >= 1:
        moved = placebo_panel(panel, shift)
        if moved["d"].nunique() >= 2 and moved["cohort"].nunique() >= 1:
            numbers = did_effect(moved)
            material = abs(numbers["value"]) > material_share * abs(effect)
            placebo.update(
                status=p_status(numbers["p_value"], material),
                statistic=numbers["value"],
                p_value=numbers["p_value"],
                numbers=numbers,
            )
    trends = event_trend_sensitivity(events)
    return [pre, placebo, *([trends] if trends else [])]


PORTABLE_FUNCTIONS = (
    ordered_time,
    panel_frame,
    did_fit,
    did_effect,
    event_study,
    placebo_panel,
    did_checks,
)
