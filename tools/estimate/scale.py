"""The scale a user reads an effect on.

"Changes the outcome by 0.3263" means nothing to a reader when the outcome is yes/no (it is
32.6 percentage points, and a risk ratio says how much likelier) or a log (about 39% more),
and a continuous treatment's effect is per unit of that treatment (per year of schooling).
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import BaseModel

from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.estimate.effect import EffectEstimate

LOG_WORDS = {"log", "ln", "lg"}
# outcomes often logged and then written as l+name (lwage, learn, lninc)
LOGGED = ("wage", "earn", "inc", "income", "price", "cost", "sales", "gdp", "hours", "exp", "rev")
UNIT_WORDS = {
    "year": {"educ", "education", "schooling", "school", "years", "yrs", "exper", "age", "tenure"},
    "hour": {"hours", "hrs"},
    "day": {"days"},
    "week": {"weeks"},
    "month": {"months"},
}


class EffectScale(BaseModel):
    """How to show an effect: multiply by ``factor``, name it with ``unit``."""

    kind: str  # "probability", "log", "level"
    factor: float = 1.0
    unit: str = ""
    treatment_unit: str = "one unit"
    risk_ratio: float | None = None
    odds_ratio: float | None = None
    percent: float | None = None
    percent_low: float | None = None
    percent_high: float | None = None
    note: str = ""


def _tokens(name: str) -> set[str]:
    return {t.lower() for t in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)}


def is_log_outcome(name: str) -> bool:
    """Named as a log: 'log_wage', 'ln income', 'lwage', 'lnearn'."""
    if _tokens(name) & LOG_WORDS:
        return True
    lowered = re.sub(r"\W|_", "", name.lower())
    return any(lowered.startswith(p + word) for p in ("l", "ln") for word in LOGGED)


def treatment_unit(name: str) -> str:
    """'one year' for schooling or age, 'one hour' for hours, else 'one unit'."""
    tokens = _tokens(name)
    for unit, words in UNIT_WORDS.items():
        if tokens & words:
            return f"one {unit}"
    return "one unit"


def describe_scale(data: ModelData, estimate: EffectEstimate) -> EffectScale:
    """The scale for ``estimate`` (an EffectEstimate) of ``data``'s outcome."""
    y = data.frame[data.model_outcome].to_numpy(dtype=float)
    t = data.frame[data.model_treatment].to_numpy(dtype=float)
    unit = "one unit" if data.treatment_kind == "binary" else treatment_unit(data.treatment)
    if set(np.unique(y)) <= {0.0, 1.0}:
        return _probability(y, t, estimate, unit, data.treatment_kind == "binary")
    if is_log_outcome(data.outcome):

        def pct(b: float | None) -> float | None:
            return None if b is None else float(100 * np.expm1(b))

        scale = EffectScale(
            kind="log",
            treatment_unit=unit,
            percent=pct(estimate.value),
            percent_low=pct(estimate.ci_low),
            percent_high=pct(estimate.ci_high),
        )
        scale.note = (
            f"{data.outcome} is a logarithm, so this is roughly a {scale.percent:+.1f}% change"
            + (
                f" (interval {scale.percent_low:+.1f}% to {scale.percent_high:+.1f}%)"
                if scale.percent_low is not None and np.isfinite(scale.percent_low)
                else ""
            )
            + "."
        )
        return scale
    return EffectScale(kind="level", treatment_unit=unit)


def _probability(
    y: np.ndarray, t: np.ndarray, estimate: EffectEstimate, unit: str, binary: bool
) -> EffectScale:
    """Percentage points, with the risk and odds ratios at the modelled baseline risk."""
    scale = EffectScale(
        kind="probability", factor=100.0, unit="percentage points", treatment_unit=unit
    )
    if not binary:
        return scale
    treated = t == 1
    base = {
        "att": y[treated].mean() - estimate.value,
        "atc": y[~treated].mean(),
    }.get(estimate.target, y.mean() - estimate.value * treated.mean())
    risk = base + estimate.value
    if 0 < base < 1 and 0 < risk < 1:
        scale.risk_ratio = float(risk / base)
        scale.odds_ratio = float((risk / (1 - risk)) / (base / (1 - base)))
        scale.note = (
            f"From a baseline risk of {base:.1%} to {risk:.1%}: risk ratio "
            f"{scale.risk_ratio:.3g}, odds ratio {scale.odds_ratio:.3g}."
        )
    return scale
