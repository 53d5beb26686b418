"""Regression-discontinuity steps whose source is copied verbatim into the exported code.

``tools.designs.rdd`` calls these functions for every number it shows, and ``rdd.code``
embeds their source, so the user's script recomputes the estimate with the same code.
Rules: imports only numpy, pandas, rdrobust and rddensity; every function is
self-contained; ``PORTABLE_FUNCTIONS`` lists them in dependency order.
"""

import numpy as np
import pandas as pd
from rddensity import rddensity
from rdrobust import rdrobust


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
    unless ``h`` is given), the treatment as ``fuzzy`` in a fuzzy design."""
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
    values = pd.to_numeric(pd.Series(running), errors="coerce").dropna().to_numpy(dtype=float)
    fit = rddensity(values, c=cutoff, bino_flag=False)
    return {"statistic": float(fit.test["t_jk"]), "p_value": float(fit.test["p_jk"])}


PORTABLE_FUNCTIONS = (rd_frame, rd_fit, rd_effect, density_test)
