"""How much can an instrument break the exclusion restriction before the answer changes?

Conley, Hansen & Rossi (2012), "plausibly exogenous": let the instrument Z reach the
outcome directly, y = beta x + gamma z + u, with gamma anywhere in a range the user finds
plausible. For each gamma the IV estimate of beta uses y - gamma z; the union of the
intervals over the range is a conservative interval for beta that stays valid whatever
gamma is in it. The breakdown gamma is the smallest direct effect, in either direction,
whose interval includes zero. One instrument, one treatment (just identified); covariates
are partialled out first (Frisch–Waugh–Lovell), which leaves the IV coefficient unchanged.

Both are exact, with no grid: the estimate moves linearly in gamma and its robust
variance is a quadratic in gamma, so the lower limit is concave and the upper convex in
gamma (the union's ends sit at the ends of the range), and "the interval includes zero"
is a quadratic inequality in gamma.
"""

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy import stats

from causal_assistant.tools.errors import InputError


class ExclusionSensitivity(BaseModel):
    estimate: float  # gamma = 0: the usual IV estimate
    gamma_low: float
    gamma_high: float
    low: float  # union of the intervals over the gamma range
    high: float
    breakdown_gamma: float | None  # smallest |gamma| whose interval includes zero
    first_stage: float  # the instrument's coefficient on the treatment (after covariates)
    reading: str


def _residualize(frame: pd.DataFrame, columns: list[str], covariates: list[str]) -> np.ndarray:
    values = frame[columns].to_numpy(dtype=float)
    given = np.column_stack([np.ones(len(frame)), frame[covariates].to_numpy(dtype=float)])
    return values - given @ np.linalg.lstsq(given, values, rcond=None)[0]


def iv_with_direct_effect(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, gamma: float, n_params: int, alpha: float
) -> tuple[float, float, float]:
    """Just-identified IV of (y - gamma z) on x with instrument z (all residualized), with a
    heteroskedasticity-robust (HC1) interval: (estimate, low, high)."""
    target = y - gamma * z
    beta = float(z @ target / (z @ x))
    residual = target - beta * x
    n = len(y)
    variance = float((z**2) @ (residual**2) / (z @ x) ** 2) * n / (n - n_params)
    half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(variance)
    return beta, beta - half, beta + half


def plausibly_exogenous(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    instrument: str,
    gamma_range: tuple[float, float],
    covariates: tuple[str, ...] = (),
    alpha: float = 0.05,
) -> ExclusionSensitivity:
    """Union of IV intervals over direct effects gamma in ``gamma_range`` (outcome units per
    unit of the instrument), and the breakdown gamma."""
    low_gamma, high_gamma = map(float, gamma_range)
    if not low_gamma <= high_gamma:
        raise InputError("The range of the instrument's direct effect must run from low to high.")
    columns = [outcome, treatment, instrument, *covariates]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"No column {missing[0]!r} in the data; check the name.")
    rows = frame[columns].dropna()
    y, x, z = _residualize(rows, [outcome, treatment, instrument], list(covariates)).T
    if abs(z @ x) < 1e-12 * np.sqrt((z @ z) * (x @ x)):
        raise InputError(f"{instrument!r} does not move {treatment!r}; it cannot be an instrument.")
    n_params = 2 + len(covariates)
    ends = [iv_with_direct_effect(y, x, z, g, n_params, alpha) for g in (low_gamma, high_gamma)]
    result = ExclusionSensitivity(
        estimate=iv_with_direct_effect(y, x, z, 0.0, n_params, alpha)[0],
        gamma_low=low_gamma,
        gamma_high=high_gamma,
        low=min(end[1] for end in ends),
        high=max(end[2] for end in ends),
        breakdown_gamma=breakdown_gamma(y, x, z, n_params, alpha),
        first_stage=float(z @ x / (z @ z)),
        reading="",
    )
    result.reading = _reading(result, instrument, outcome, treatment)
    return result


def breakdown_gamma(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, n_params: int, alpha: float
) -> float | None:
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


def _reading(result: ExclusionSensitivity, instrument: str, outcome: str, treatment: str) -> str:
    span = f"{result.gamma_low:.3g} to {result.gamma_high:.3g}"
    text = (
        f"If {instrument} could change {outcome} directly by {span} per unit (not only "
        f"through {treatment}), the effect of {treatment} lies in {result.low:.3g} to "
        f"{result.high:.3g} (union of the 95% intervals; {result.estimate:.3g} with no "
        "direct effect)."
    )
    if result.breakdown_gamma is not None:
        text += (
            f" A direct effect of {result.breakdown_gamma:.3g} per unit would be enough for "
            "the interval to include zero."
        )
    verdict = "includes" if result.low <= 0 <= result.high else "excludes"
    return text + f" Over the range you allow, the interval {verdict} zero."
