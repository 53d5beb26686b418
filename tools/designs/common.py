"""Small helpers the panel and discontinuity designs share: the exported snippet built from
a portable module's source, the scale an effect is read on, and check verdicts."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import pandas as pd

from causal_assistant.tools.designs.base import CheckStatus, DesignCheck
from causal_assistant.tools.export.scriptgen import library_code

# words that name a time column (year, month, rel_year, SurveyWave, ...)
TIME_WORDS = {"year", "yr", "period", "time", "date", "quarter", "qtr", "month", "week"}
TIME_WORDS |= {"wave", "round", "day", "t", "semester", "season"}


def words(name: str) -> list[str]:
    """The lower-case words of a column name, split at underscores, case and digits."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def portable_snippet(module: ModuleType, call: str) -> str:
    """Self-contained code: the portable module's imports and function sources, then
    ``call`` (which reads the table from a variable ``df`` and sets ``numbers``)."""
    return library_code([module.__name__]) + "\n\n\n" + inspect.cleandoc(call) + "\n"


def scale_of(values: pd.Series, outcome: str) -> str:
    """What one unit of the effect means: shares for a yes/no outcome, else its units."""
    present = pd.unique(values.dropna())
    if len(present) <= 2 and set(present.tolist()) <= {0, 1}:
        return "share of 1 (x100 = percentage points)"
    return f"units of {outcome}"


def p_status(p_value: float | None, material: bool = True) -> CheckStatus:
    """pass at p >= 0.10; warn at 0.05 <= p < 0.10, or below 0.05 when the departure is
    too small to matter (``material`` false); fail below 0.05 when it matters."""
    if p_value is None or p_value >= 0.10:
        return "pass"
    return "fail" if p_value < 0.05 and material else "warn"


def judged_check(
    name: str,
    p_value: float | None,
    material: bool,
    verdicts: Mapping[CheckStatus, str],
    reading: str,
    **fields: Any,
) -> DesignCheck:
    """A check whose status follows ``p_status`` and whose reading (what would be
    worrying, what was seen) ends with the verdict for that status."""
    status = p_status(p_value, material)
    reading = f"{reading}: {verdicts[status]}."
    return DesignCheck(name=name, status=status, p_value=p_value, reading=reading, **fields)
