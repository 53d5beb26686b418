"""How far may parallel trends fail before a difference-in-differences answer changes?

Rambachan & Roth (2023), relative magnitudes: after treatment, the gap between the
groups' trends may change from one period to the next by at most M times the largest
change seen before treatment. With event-study coefficients normalized to zero in the
last period before treatment, the bias of the k-th period after it (k = 0, 1, ...) then
lies within +-(k + 1) M D, D being the largest pre-treatment change, so its effect lies in
the estimate +- that, widened by the usual interval. The breakdown M is the smallest M at
which that interval includes zero: "the post-treatment violation would have to be M times
the worst pre-treatment one". This is the simple version of their method: it treats D as
known (their honest intervals also account for estimating it), so it reads as a guide.
"""

from pydantic import BaseModel

from causal_assistant.tools.errors import InputError
from causal_assistant.tools.refute.portable_trends import (  # noqa: F401  (re-exported)
    max_pre_change,
    trend_bounds,
)


class PeriodBounds(BaseModel):
    period: int  # 0 is the first period after treatment
    estimate: float
    low: float
    high: float
    breakdown_m: float | None  # None: no pre-treatment change to scale (D = 0)


class TrendSensitivity(BaseModel):
    m_bar: float
    max_pre_change: float
    periods: list[PeriodBounds]
    reading: str


def relative_magnitudes(
    post_estimates: list[float],
    post_se: list[float],
    pre_estimates: list[float],
    m_bar: float = 1.0,
    alpha: float = 0.05,
) -> TrendSensitivity:
    """Bounds on each post-treatment effect when trends may diverge by up to ``m_bar``
    times the largest pre-treatment change, and each period's breakdown M."""
    if len(post_estimates) != len(post_se) or not post_estimates:
        raise InputError("Give one standard error per post-treatment estimate.")
    if not pre_estimates:
        raise InputError("Relative magnitudes need at least one pre-treatment coefficient.")
    if m_bar < 0:
        raise InputError("M must be zero or more.")
    d, periods = trend_bounds(post_estimates, post_se, pre_estimates, m_bar, alpha)
    result = TrendSensitivity(
        m_bar=m_bar,
        max_pre_change=d,
        periods=[PeriodBounds(**p) for p in periods],
        reading="",
    )
    result.reading = _reading(result)
    return result


def _reading(result: TrendSensitivity) -> str:
    first = result.periods[0]
    text = (
        f"If after treatment the trends could drift apart by up to {result.m_bar:g}× the "
        f"largest change seen before it ({result.max_pre_change:.3g} per period), the "
        f"first period's effect lies in {first.low:.3g} to {first.high:.3g}."
    )
    if first.breakdown_m is None:
        return text + " The pre-treatment coefficients show no change to scale against."
    if first.breakdown_m == 0:
        return text + " Its interval includes zero even if trends are exactly parallel."
    return text + (
        f" Its interval includes zero once the drift may reach {first.breakdown_m:.2g}× the "
        "largest pre-treatment change (the breakdown value)."
    )
