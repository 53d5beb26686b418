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

import pandas as pd
from pydantic import BaseModel

from causal_assistant.tools.errors import InputError
from causal_assistant.tools.refute.portable_exclusion import exogeneity_bounds


class ExclusionSensitivity(BaseModel):
    estimate: float  # gamma = 0: the usual IV estimate
    gamma_low: float
    gamma_high: float
    low: float  # union of the intervals over the gamma range
    high: float
    breakdown_gamma: float | None  # smallest |gamma| whose interval includes zero
    first_stage: float  # the instrument's coefficient on the treatment (after covariates)
    reading: str


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
    numbers = exogeneity_bounds(
        rows, outcome, treatment, instrument, (low_gamma, high_gamma), covariates, alpha
    )
    if numbers is None:
        raise InputError(f"{instrument!r} does not move {treatment!r}; it cannot be an instrument.")
    return read_bounds(numbers, instrument, outcome, treatment)


def read_bounds(
    numbers: dict, instrument: str, outcome: str, treatment: str
) -> ExclusionSensitivity:
    """``exogeneity_bounds``' numbers with their reading."""
    result = ExclusionSensitivity(**numbers, reading="")
    result.reading = _reading(result, instrument, outcome, treatment)
    return result


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
