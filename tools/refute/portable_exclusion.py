"""Conley, Hansen & Rossi's "plausibly exogenous" bounds as plain numbers, copied verbatim
into the exported script (the rules of ``causal_assistant.tools.portable``: numpy, pandas
and scipy only, self-contained functions, ``PORTABLE_FUNCTIONS`` in dependency order).
``tools.refute.exclusion`` validates the inputs and reads the numbers for the report.
"""

import numpy as np
import pandas as pd
from scipy import stats


def residualize(frame, columns, covariates):
    """The columns less their least-squares fit on a constant and the covariates."""
    values = frame[columns].to_numpy(dtype=float)
    given = np.column_stack([np.ones(len(frame)), frame[covariates].to_numpy(dtype=float)])
    return values - given @ np.linalg.lstsq(given, values, rcond=None)[0]


def iv_with_direct_effect(y, x, z, gamma, n_params, alpha):
    """Just-identified IV of (y - gamma z) on x with instrument z (all residualized), with a
    heteroskedasticity-robust (HC1) interval: (estimate, low, high)."""
    target = y - gamma * z
    beta = float(z @ target / (z @ x))
    residual = target - beta * x
    n = len(y)
    variance = float((z**2) @ (residual**2) / (z @ x) ** 2) * n / (n - n_params)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(variance)
    return beta, beta - half, beta + half


def breakdown_gamma(y, x, z, n_params, alpha):
    """The smallest |gamma| whose interval includes zero: the root nearest zero of
    (b0 - gamma / pi)^2 - c^2 var(gamma) = 0, where pi = z'x / z'z and var(gamma) is the
    robust variance with residuals e0 - gamma (z - x / pi). None: no gamma does it."""
    n, zx = len(y), float(z @ x)
    pi = zx / float(z @ z)
    b0 = float(z @ y) / zx
    e0, w = y - b0 * x, z - x / pi
    q = stats.norm.ppf(1 - alpha / 2) ** 2 * n / (n - n_params) / zx**2
    z2 = z**2
    a = 1 / pi**2 - q * float(z2 @ w**2)
    b = -2 * b0 / pi + 2 * q * float(z2 @ (e0 * w))
    c = b0**2 - q * float(z2 @ e0**2)
    if c <= 0:
        return 0.0
    if abs(a) < 1e-15:
        return None if b == 0 else abs(c / b)
    disc = b * b - 4 * a * c
    if disc < 0:
        return None
    roots = np.array([-b - np.sqrt(disc), -b + np.sqrt(disc)]) / (2 * a)
    return float(np.min(np.abs(roots)))


def exogeneity_bounds(rows, outcome, treatment, instrument, gamma_range, covariates, alpha):
    """Union of the IV intervals over direct effects gamma in ``gamma_range``, the
    breakdown gamma and the first stage, on rows without missing values; None when the
    instrument does not move the treatment."""
    y, x, z = residualize(rows, [outcome, treatment, instrument], list(covariates)).T
    if abs(z @ x) < 1e-12 * np.sqrt((z @ z) * (x @ x)):
        return None
    n_params = 2 + len(covariates)
    low_gamma, high_gamma = map(float, gamma_range)
    ends = [iv_with_direct_effect(y, x, z, g, n_params, alpha) for g in (low_gamma, high_gamma)]
    return {
        "estimate": iv_with_direct_effect(y, x, z, 0.0, n_params, alpha)[0],
        "gamma_low": low_gamma,
        "gamma_high": high_gamma,
        "low": min(end[1] for end in ends),
        "high": max(end[2] for end in ends),
        "breakdown_gamma": breakdown_gamma(y, x, z, n_params, alpha),
        "first_stage": float(z @ x / (z @ z)),
    }


def exclusion_check(df, outcome, treatment, instruments, covariates, direct_share, alpha=0.05):
    """The IV design's exclusion sensitivity: warn when a direct effect of the instrument
    of up to ``direct_share`` of its reduced form could put zero inside an interval that
    excludes it. None with several instruments, non-numeric columns or no first stage."""
    if len(instruments) != 1:
        return None
    columns = [outcome, treatment, instruments[0], *covariates]
    rows = df[columns]
    if not all(pd.api.types.is_numeric_dtype(rows[c]) for c in columns):
        return None
    rows = rows.dropna()
    base = exogeneity_bounds(rows, outcome, treatment, instruments[0], (0, 0), covariates, alpha)
    if base is None:
        return None
    reach = direct_share * abs(base["estimate"] * base["first_stage"])
    bounds = exogeneity_bounds(
        rows, outcome, treatment, instruments[0], (-reach, reach), covariates, alpha
    )
    null = base["low"] <= 0 <= base["high"]
    return {
        "name": "exclusion_sensitivity",
        "status": "pass" if null or not bounds["low"] <= 0 <= bounds["high"] else "warn",
        "statistic": bounds["breakdown_gamma"],
        "p_value": None,
        "null": null,
        "reach": reach,
        "bounds": bounds,
    }


PORTABLE_FUNCTIONS = (
    residualize,
    iv_with_direct_effect,
    breakdown_gamma,
    exogeneity_bounds,
    exclusion_check,
)
