"""Difference in differences: units observed over time, treatment switching on and staying on.

Detection looks for a unit column that repeats over a time column (one row per pair) and a
yes/no treatment that turns on within units and never off. One adoption period is
estimated by two-way fixed effects with errors clustered by unit; staggered adoption by
Gardner's two-stage estimator (pyfixest ``did2s``), because two-way fixed effects then
uses early adopters as controls for late ones and is biased when effects differ by cohort.
The numbers come from ``did_portable``, whose source is what ``code`` exports.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.designs import (
    Assumption,
    DesignCheck,
    DesignColumns,
    DesignEstimate,
    DesignEvidence,
    DesignIdentification,
    DesignKind,
    DesignSpec,
    checks_portable,
    register,
)
from causal_assistant.tools.designs import did_portable as portable
from causal_assistant.tools.designs.base import Strength
from causal_assistant.tools.designs.common import (
    TIME_WORDS,
    outcome_scale,
    portable_snippet,
    read_check,
    read_sensitivity,
    words,
)
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.export.design_plots import event_study_plot
from causal_assistant.tools.refute import portable_trends
from causal_assistant.tools.refute.parallel_trends import relative_magnitudes
from causal_assistant.tools.results import WarningCode

_CONTEXT_WORDS = re.compile(
    r"panel|difference[- ]in[- ]difference|diff[- ]in[- ]diff|\bdid\b|staggered|roll-?out|"
    r"adopt|before and after|event stud",
    re.IGNORECASE,
)
_MAX_DUPLICATE_SHARE = 0.05
_MAX_SWITCH_OFF_SHARE = 0.1
_MATERIAL_SHARE = 0.25  # a pre-trend or placebo gap this large relative to the effect matters
_FEW_CLUSTERS = 20


class DifferenceInDifferences:
    kind: ClassVar[DesignKind] = DesignKind.DID

    # ------------------------------------------------------------------ detection

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence | None:
        """The best (unit, time) pair over which the treatment switches on, if any."""
        if treatment not in frame or frame[treatment].dropna().nunique() != 2:
            return None
        best: dict[str, Any] | None = None
        for time, time_score in _time_candidates(frame, profile, {treatment, outcome}):
            for unit in _unit_candidates(frame, profile, {treatment, outcome, time}):
                facts = _switching(frame, unit, time, treatment)
                if facts is None:
                    continue
                rank = (time_score, facts["switching_units"], -facts["duplicate_rows"])
                if best is None or rank > best["rank"]:
                    best = {"rank": rank, "unit": unit, "time": time, "facts": facts}
        if best is None:
            return None
        facts, unit, time = best["facts"], best["unit"], best["time"]
        facts["time_named_or_dated"] = best["rank"][0] == 2
        strength = _strength(facts, bool(context and _CONTEXT_WORDS.search(context)))
        return DesignEvidence(
            kind=self.kind,
            strength=strength,
            reading=_detect_reading(facts, unit, time, treatment),
            columns=DesignColumns(unit=unit, time=time, cluster=unit),
            facts=facts,
        )

    # ------------------------------------------------------------------ assumptions

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        unit, time = spec.columns.unit or "unit", spec.columns.time or "time"
        return [
            Assumption(
                name="parallel trends",
                testable="partly",
                reading=(
                    f"Without the treatment, treated and comparison {unit}s would have moved "
                    f"in parallel over {time}. The periods before adoption can contradict "
                    "this (pre-trend test), never prove it for the periods after."
                ),
            ),
            Assumption(
                name="no anticipation",
                testable="partly",
                reading=(
                    "Outcomes do not react before the treatment starts; a placebo adoption "
                    "moved earlier should show no effect."
                ),
            ),
            Assumption(
                name="treatment stays on",
                testable="yes",
                reading="Once a unit is treated it stays treated (checked in the data).",
            ),
            Assumption(
                name="no spillovers",
                testable="no",
                reading=(
                    f"One {unit}'s treatment does not change another {unit}'s outcome, and "
                    "the comparison units are not affected by the policy."
                ),
            ),
        ]

    # ------------------------------------------------------------------ identify / estimate

    def identify(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignIdentification:
        try:
            panel, info = _panel(frame, spec)
        except InputError as exc:
            return DesignIdentification(
                identified=False, estimand="ATT", reading=str(exc), code=self.code(spec)
            )
        estimand = _estimand(panel)
        reading = (
            f"The {estimand} is identified by comparing how the outcome changes after "
            f"adoption in treated units with how it changes in {_comparison(info)} over the "
            "same periods, if trends would have been parallel."
        )
        if spec.target != "att":
            reading += (
                f" You asked for the {spec.target.upper()}; a panel comparison identifies the "
                "effect on the treated units only."
            )
        return DesignIdentification(
            identified=True,
            estimand=estimand,
            assumptions=self.assumptions(spec),
            reading=reading,
            code=self.code(spec),
        )

    def estimate(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignEstimate:
        panel, info = _panel(frame, spec)
        numbers = portable.did_effect(panel)
        table, pretrend = portable.event_study(panel)
        cluster = spec.columns.cluster or spec.columns.unit
        staggered = numbers["method"] == "did2s"
        details: dict[str, Any] = {
            **info,
            "event_study": table.to_dict("records"),
            "pretrend": pretrend,
            "p_value": numbers["p_value"],
        }
        if staggered:
            twfe = portable.did_fit(panel, estimator="twfe")
            details["twfe_value"] = float(twfe.coef()["d"])
        result = DesignEstimate(
            method=(
                "did2s (Gardner two-stage, pyfixest)"
                if staggered
                else "two-way fixed effects (pyfixest feols)"
            ),
            estimand=_estimand(panel),
            value=numbers["value"],
            ci_low=numbers["ci_low"],
            ci_high=numbers["ci_high"],
            se=numbers["se"],
            se_type=f"clustered by {cluster}",
            scale=outcome_scale(frame[spec.outcome], spec.outcome),
            n_rows=len(panel),
            details=details,
            code=self.code(spec),
        )
        result.reading = _estimate_reading(result, spec, info)
        if info["n_dropped_missing"]:
            result.warn(
                WarningCode.MISSING_VALUES_DROPPED,
                f"{info['n_dropped_missing']} rows with missing values were left out.",
            )
        n_clusters = panel["cluster"].nunique()
        if n_clusters < _FEW_CLUSTERS:
            result.warn(
                WarningCode.SMALL_SAMPLE,
                f"Only {n_clusters} clusters of {cluster}: clustered intervals are "
                "unreliable with fewer than about 20 and may be too narrow.",
            )
        return result

    # ------------------------------------------------------------------ checks

    def checks(
        self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate
    ) -> list[DesignCheck]:
        panel, _ = _panel(frame, spec)
        pretrend = estimate.details.get("pretrend")
        table = estimate.details.get("event_study")
        if pretrend is None or table is None:
            events, pretrend = portable.event_study(panel)
        else:
            events = pd.DataFrame(table)
        pre, placebo, *trends = portable.did_checks(
            panel, estimate.value, _MATERIAL_SHARE, events, pretrend
        )
        found = [_pretrend_check(pre, estimate.value), _placebo_check(placebo)]
        return found + [_trend_sensitivity_check(t) for t in trends]

    def check_code(self, spec: DesignSpec) -> str:
        """The checks in the exported script, after ``code``'s estimate (``numbers``)."""
        call = f"""
            refutations = check_numbers(
                did_checks(panel, numbers["value"], {_MATERIAL_SHARE!r})
            )
            """
        return portable_snippet(portable, call, checks_portable, portable_trends)

    # ------------------------------------------------------------------ picture

    def picture(self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate) -> bytes:
        """The event study as PNG bytes (an extra beyond the protocol, for the report)."""
        return event_study_plot(
            estimate.details["event_study"],
            outcome=spec.outcome,
            title=f"Effect of {spec.treatment} by period since adoption",
        )

    # ------------------------------------------------------------------ export

    def code(self, spec: DesignSpec) -> str:
        c = spec.columns
        call = f"""
            panel, panel_info = panel_frame(
                df, {spec.treatment!r}, {spec.outcome!r}, unit={c.unit!r}, time={c.time!r},
                covariates={c.covariates!r}, cluster={c.cluster!r},
            )
            numbers = did_effect(panel)
            print("ATT:", numbers["value"], "95% interval:", numbers["ci_low"], numbers["ci_high"])
            """
        return portable_snippet(portable, call)


# ---------------------------------------------------------------------- panel preparation


def _panel(frame: pd.DataFrame, spec: DesignSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    c = spec.columns
    if not c.unit or not c.time:
        raise InputError(
            "Difference in differences needs a unit column and a time column; name them "
            "with --unit and --time."
        )
    missing = [
        name
        for name in [spec.treatment, spec.outcome, c.unit, c.time, c.cluster, *c.covariates]
        if name and name not in frame
    ]
    if missing:
        raise InputError(f"Column {missing[0]!r} is not in the table.")
    try:
        return portable.panel_frame(
            frame, spec.treatment, spec.outcome, c.unit, c.time, c.covariates, c.cluster
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _estimand(panel: pd.DataFrame) -> str:
    if panel["cohort"].nunique() == 1:
        return "ATT"
    return "ATT (averaged over adoption cohorts)"


def _comparison(info: dict[str, Any]) -> str:
    if info.get("last_cohort_as_comparison"):
        return (
            f"units not yet treated (the last adopters, from {info['last_cohort_as_comparison']}"
            ", serve as comparison until they adopt)"
        )
    return f"{info['never_treated_units']} never-treated units"


# ---------------------------------------------------------------------- detection helpers


def _time_candidates(
    frame: pd.DataFrame, profile: DatasetProfile, exclude: set[str]
) -> list[tuple[str, int]]:
    """Columns that can order observations in time, scored 2 when dated or named like time
    (or holding calendar years), 1 when merely a small set of ordered integers."""
    found = []
    for column in profile.columns:
        name = column.name
        if name in exclude or name not in frame:
            continue
        named = bool(TIME_WORDS & set(words(name)))
        if column.kind == "datetime":
            found.append((name, 2))
            continue
        values = frame[name].dropna()
        if not pd.api.types.is_numeric_dtype(values) or values.empty:
            if named and column.kind == "categorical":
                found.append((name, 1))
            continue
        if not np.all(values == np.round(values)) or not 2 <= column.n_unique <= 200:
            continue
        years = values.between(1800, 2200).all()
        found.append((name, 2 if named or years else 1))
    return found


def _unit_candidates(frame: pd.DataFrame, profile: DatasetProfile, exclude: set[str]) -> list[str]:
    """Columns whose values repeat (several rows per value) and are labels, not measures."""
    found = []
    for column in profile.columns:
        if column.name in exclude or column.name not in frame or column.kind == "text":
            continue
        values = frame[column.name].dropna()
        numeric = pd.api.types.is_numeric_dtype(values)
        if numeric and not np.all(values == np.round(values)):
            continue
        if 2 <= column.n_unique <= len(values) / 2:
            found.append(column.name)
    return found


def _switching(frame: pd.DataFrame, unit: str, time: str, treatment: str) -> dict | None:
    """Facts about how the treatment moves within units over time, or None when the pair
    is no panel (rows repeat the pair) or the treatment never switches on."""
    data = frame[[unit, time, treatment]].dropna()
    data[time] = portable.ordered_time(data[time])
    duplicated = int(data.duplicated([unit, time]).sum())
    if duplicated > _MAX_DUPLICATE_SHARE * len(data):
        return None
    levels = sorted(pd.unique(data[treatment]))
    data = data.assign(_d=(data[treatment] == levels[-1]).astype(int))
    data = data.drop_duplicates([unit, time]).sort_values([unit, time])
    steps = data.groupby(unit)["_d"].diff()
    on = set(data.loc[steps > 0, unit])
    off = set(data.loc[steps < 0, unit])
    if not on or len(off) > _MAX_SWITCH_OFF_SHARE * len(on | off):
        return None
    starts = data[data["_d"] == 1].groupby(unit)[time].min()
    first = data.groupby(unit)[time].min()
    cohorts = sorted(starts[[u for u in starts.index if u in on]].unique().tolist())
    never = int((~data[unit].isin(starts.index)).groupby(data[unit]).all().sum())
    return {
        "n_units": int(data[unit].nunique()),
        "n_periods": int(data[time].nunique()),
        "duplicate_rows": duplicated,
        "switching_units": len(on),
        "switch_off_units": len(off),
        "always_treated_units": int((starts == first[starts.index]).sum()),
        "never_treated_units": never,
        "adoption_periods": [str(c) for c in cohorts],
        "staggered": len(cohorts) > 1,
    }


def _strength(facts: dict[str, Any], context_says: bool) -> Strength:
    clean = not facts["duplicate_rows"] and not facts["switch_off_units"]
    comparison = facts["never_treated_units"] > 0 or facts["staggered"]
    levels: list[Strength] = ["weak", "moderate", "strong"]
    level = 0
    if facts["switching_units"] >= 2 and comparison:
        level = 1
        if clean and facts["time_named_or_dated"]:
            level = 2
    if context_says:
        level = min(level + 1, 2)
    return levels[level]


def _detect_reading(facts: dict[str, Any], unit: str, time: str, treatment: str) -> str:
    adoption = facts["adoption_periods"]
    timing = (
        f"at {len(adoption)} different times (staggered adoption, from {adoption[0]} to "
        f"{adoption[-1]})"
        if facts["staggered"]
        else f"all in {adoption[0]} (one adoption date)"
    )
    text = (
        f"'{unit}' repeats over '{time}' ({facts['n_units']} units, {facts['n_periods']} "
        f"periods) and '{treatment}' switches on within {facts['switching_units']} units "
        f"{timing}"
    )
    text += (
        ", never off again."
        if not facts["switch_off_units"]
        else f"; it switches off again in {facts['switch_off_units']} units."
    )
    text += f" {facts['never_treated_units']} units are never treated."
    if facts["duplicate_rows"]:
        text += f" {facts['duplicate_rows']} rows repeat a unit-period pair."
    return text + " This is a panel: difference in differences compares changes, not levels."


# ---------------------------------------------------------------------- readings and checks


def _estimate_reading(result: DesignEstimate, spec: DesignSpec, info: dict[str, Any]) -> str:
    how = (
        "Adoption is staggered, so each cohort is compared only with units not yet treated "
        "(Gardner's two-stage estimator); plain two-way fixed effects would give "
        f"{result.details['twfe_value']:.4g}, which mixes in comparisons of late with "
        "early adopters."
        if "twfe_value" in result.details
        else "All treated units adopt at once, so two-way fixed effects (unit and period) "
        "gives the effect."
    )
    return (
        f"After adoption, '{spec.outcome}' in treated units changed by {result.value:.4g} "
        f"({result.scale}) more than in {_comparison(info)} (95% interval "
        f"{result.ci_low:.4g} to {result.ci_high:.4g}, errors clustered by "
        f"{spec.columns.cluster or spec.columns.unit}). {how}"
    )


def _pretrend_check(check: dict[str, Any], effect: float) -> DesignCheck:
    if check["p_value"] is None:
        return DesignCheck(
            name="pre_trends",
            status="warn",
            reading="There is only one period before adoption, so trends before it cannot be "
            "compared; parallel trends is then an untested assumption.",
        )
    return read_check(
        check,
        {
            "pass": "consistent with parallel trends",
            "warn": "a small but detectable difference in trends before adoption",
            "fail": "trends already differed before adoption, so the estimate may reflect them",
        },
        "Worrying would be gaps between treated and comparison units before adoption. "
        f"Across {check['n_leads']} pre-adoption periods the joint test gives "
        f"p = {check['p_value']:.3g} and the largest gap is {check['largest']:.3g} "
        f"(effect {effect:.3g})",
        details={"largest_pre_gap": check["largest"]},
    )


def _placebo_check(check: dict[str, Any]) -> DesignCheck:
    shift, numbers = check["shift"], check["numbers"]
    if shift < 1:
        return DesignCheck(
            name="placebo_period",
            status="warn",
            reading="Fewer than two periods precede the first adoption, too few to move it "
            "earlier as a placebo.",
        )
    if numbers is None:
        return DesignCheck(
            name="placebo_period",
            status="warn",
            reading="No unit keeps enough untreated periods for a placebo adoption.",
        )
    return read_check(
        check,
        {
            "pass": "no sign of an effect before the real adoption",
            "warn": "a small 'effect' before the real adoption",
            "fail": "an 'effect' before anything happened, so outcomes were already diverging",
        },
        f"Moving adoption {shift} period(s) earlier and using only pre-adoption rows, a "
        "real effect cannot appear; worrying would be one that does. The placebo "
        f"estimate is {numbers['value']:.3g} (95% interval {numbers['ci_low']:.3g} to "
        f"{numbers['ci_high']:.3g}, p = {numbers['p_value']:.3g})",
        details={"shift_periods": shift, **numbers},
    )


def _trend_sensitivity_check(check: dict[str, Any]) -> DesignCheck:
    """Rambachan & Roth's relative magnitudes on the event study: the first post-adoption
    effect when trends may drift apart after adoption by up to the largest change seen
    before it (M = 1), and the breakdown M. Warn when M = 1 could overturn a non-null
    first-period effect (the verdict is ``event_trend_sensitivity``'s)."""
    post, se, pre = check["inputs"]
    result = relative_magnitudes(post, se, pre, m_bar=1.0)
    rule = (
        "Rule: warn when a drift no larger than the largest pre-adoption change (M = 1) "
        "could put zero inside the first period's interval."
    )
    return read_sensitivity(check, result, rule, "such a drift")


did = register(DifferenceInDifferences())
