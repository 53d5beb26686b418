"""Regression-discontinuity steps whose source is copied verbatim into the exported code.

``tools.designs.rdd`` calls these functions for every number it shows, and ``rdd.code``
embeds their source, so the user's script recomputes the estimate with the same code.
Rules: imports only numpy, pandas, rdrobust and rddensity; every function is
self-contained; ``PORTABLE_FUNCTIONS`` lists them in dependency order.
"""

import numpy as np
import pandas as pd

from causal_assistant.tools.designs.checks_portable import p_status


def rd_frame(df, treatment, outcome, running, cutoff, cluster=None):
    """Rows with all used values present, as ``y``, ``x``, ``d`` (0/1) and ``cluster``,
    and the design: sharp when treatment is exactly a step at the cutoff (``side`` +1
    when treated at or above it, -1 when treated below), fuzzy otherwise. Raises
    ValueError with a one-line reason when one side of the cutoff is (nearly) empty."""
    used = list(dict.fromkeys([outcome, running, treatment, *([cluster] if cluster else [])]))
    data = df[used].replace([np.inf, -np.inf], np.nan).dropna()
    for column in (outcome, running):
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise ValueError(f"Column '{column}' is not numeric; a discontinuity needs numbers.")
    levels = sorted(pd.unique(data[treatment]))
    if len(levels) != 2:
        raise ValueError(
            f"A discontinuity design needs a yes/no treatment; '{treatment}' has "
            f"{len(levels)} distinct values."
        )
    frame = pd.DataFrame(
        {
            "y": data[outcome].astype(float),
            "x": data[running].astype(float),
            "d": (data[treatment] == levels[1]).astype(int),
        }
    )
    if cluster:
        frame["cluster"] = data[cluster].astype(str)
    below, above = int((frame["x"] < cutoff).sum()), int((frame["x"] >= cutoff).sum())
    if min(below, above) < 10:
        side, n = ("below", below) if below < above else ("at or above", above)
        raise ValueError(
            f"Only {n} rows of '{running}' lie {side} the cutoff {cutoff:g} (range "
            f"{frame['x'].min():g} to {frame['x'].max():g}); check the cutoff."
        )
    step = (frame["x"] >= cutoff).astype(int)
    if (frame["d"] == step).all():
        design = {"kind": "sharp", "side": 1}
    elif (frame["d"] == 1 - step).all():
        design = {"kind": "sharp", "side": -1}
    else:
        design = {"kind": "fuzzy", "side": 1}
    design.update(n_below=below, n_above=above, n_dropped_missing=len(df) - len(data))
    return frame, design


def rd_fit(frame, cutoff, design, h=None):
    """rdrobust with its defaults (local linear, triangular kernel, MSE-optimal bandwidth
    unless ``h`` is given), the treatment as ``fuzzy`` in a fuzzy design. rdrobust (and
    rddensity below) are imported when first used: they load numba, sympy and plotnine,
    seconds that a run of another design should not pay."""
    from rdrobust import rdrobust

    return rdrobust(
        frame["y"].to_numpy(),
        frame["x"].to_numpy(),
        c=cutoff,
        fuzzy=frame["d"].to_numpy() if design["kind"] == "fuzzy" else None,
        h=h,
        cluster=frame["cluster"].to_numpy() if "cluster" in frame else None,
    )


def rd_effect(frame, cutoff, design, h=None):
    """The conventional local-polynomial estimate with the robust bias-corrected 95%
    interval and standard error (rdrobust's recommended reporting), oriented so that a
    positive value means treatment raises the outcome."""
    fit = rd_fit(frame, cutoff, design, h)
    side = design["side"]
    low, high = sorted(side * fit.ci.loc["Robust"].to_numpy())
    numbers = {
        "value": side * float(fit.coef.loc["Conventional"].iloc[0]),
        "ci_low": float(low),
        "ci_high": float(high),
        "se": float(fit.se.loc["Robust"].iloc[0]),
        "p_value": float(fit.pv.loc["Robust"].iloc[0]),
        "h": float(fit.bws.loc["h", "left"]),
        "b": float(fit.bws.loc["b", "left"]),
        "n_effective": [int(n) for n in fit.N_h],
        "ci_method": "robust bias-corrected (rdrobust)",
    }
    if design["kind"] == "fuzzy":
        numbers["first_stage"] = float(fit.tau_T.loc["Conventional"].iloc[0])
        numbers["first_stage_se"] = float(fit.se_T.loc["Conventional"].iloc[0])
    return numbers


def density_test(running, cutoff):
    """rddensity's manipulation test: is the density of the running variable (every
    observed value, with or without an outcome) continuous at the cutoff (jackknife
    standard errors, its default)?"""
    from rddensity import rddensity

    values = pd.to_numeric(pd.Series(running), errors="coerce").dropna().to_numpy(dtype=float)
    fit = rddensity(values, c=cutoff, bino_flag=False)
    return {"statistic": float(fit.test["t_jk"]), "p_value": float(fit.test["p_jk"])}


def rd_fits(runs):
    """Fit each (label, frame, cutoff, design, h); the fits (label merged with the
    numbers) and how many rdrobust could not fit (too few distinct values, singular)."""
    fitted, failed = [], 0
    for label, frame, cutoff, design, h in runs:
        try:
            fitted.append({**label, **rd_effect(frame, cutoff, design, h)})
        except (ValueError, np.linalg.LinAlgError):
            failed += 1
    return fitted, failed


def rd_checks(df, rd_data, rd_design, running, cutoff, covariates, effect, rules):
    """The design's own checks as plain numbers and verdicts: rddensity's manipulation
    test; placebo cutoffs at the median of each side (that side only); jumps of the
    pre-treatment ``covariates``; the estimate refitted at half and double its bandwidth.
    ``effect`` is ``rd_effect``'s result; ``rules`` the thresholds (material shares)."""
    sharp = {"kind": "sharp", "side": 1}  # a jump in the outcome itself
    test = density_test(df[running], cutoff)
    checks = [
        {
            "name": "manipulation_test",
            "status": p_status(test["p_value"], True),
            **test,
        }
    ]
    sides = [
        side
        for side in (rd_data[rd_data["x"] < cutoff], rd_data[rd_data["x"] >= cutoff])
        if len(side) >= rules["min_placebo_side"]
    ]
    runs, _ = rd_fits(
        [
            ({"cutoff": float(s["x"].median())}, s, float(s["x"].median()), sharp, None)
            for s in sides
        ]
    )
    jump = abs(effect["value"] * effect.get("first_stage", 1.0))
    checks.append(_worst_of("placebo_cutoffs", runs, rules["material_share"] * jump))
    jobs = []
    for name in [c for c in covariates if c != running]:
        values = pd.to_numeric(df.loc[rd_data.index, name], errors="coerce")
        side = rd_data.assign(y=values).dropna(subset=["y"])
        jobs.append(({"covariate": name, "sd": float(values.std())}, side, cutoff, sharp, None))
    runs, _ = rd_fits(jobs)
    named = bool(jobs)
    check = _worst_of("covariate_continuity", runs, None, rules["material_sd"], named)
    checks.append(check)
    h = effect["h"]
    runs, failed = rd_fits([({"h": w}, rd_data, cutoff, rd_design, w) for w in (h / 2, 2 * h)])
    inside = all(effect["ci_low"] <= r["value"] <= effect["ci_high"] for r in runs)
    flipped = any(
        np.sign(r["value"]) != np.sign(effect["value"]) and not r["ci_low"] <= 0 <= r["ci_high"]
        for r in runs
    )
    status = "warn" if failed else "pass" if inside else "fail" if flipped else "warn"
    checks.append(
        {"name": "bandwidth_sensitivity", "status": status, "runs": runs, "failed": failed}
    )
    return checks


def _worst_of(name, runs, material_size=None, material_sd=None, named=True):
    """The verdict on several fits of a jump that should be zero: the smallest p times
    the number of fits, material when the worst jump exceeds ``material_size`` (or
    ``material_sd`` of its column's standard deviation); a warning without fits."""
    if not runs:
        return {"name": name, "status": "warn", "runs": [], "named": named}
    worst = min(runs, key=lambda r: r["p_value"])
    p_value = min(1.0, len(runs) * worst["p_value"])
    limit = material_size if material_sd is None else material_sd * worst["sd"]
    return {
        "name": name,
        "status": p_status(p_value, abs(worst["value"]) > limit),
        "statistic": worst["value"],
        "p_value": p_value,
        "runs": runs,
        "named": named,
    }


PORTABLE_FUNCTIONS = (rd_frame, rd_fit, rd_effect, density_test, rd_fits, _worst_of, rd_checks)
