"""Explanations whose numbers come from the results, never from the model.

A model asked to explain an estimate in the domain's words will happily round, recompute
or invent a number. So it writes a template with placeholders (``{estimate}``, ``{ci_low}``,
...), any digit it writes itself is refused, and the numbers are filled in here from the
stored results.
"""

import math
import re

from causal_assistant.agent.state import AnalysisState

NUMBERS = ("estimate", "ci_low", "ci_high", "n_rows")
WORDS = ("treatment", "outcome", "estimand", "level")
PLACEHOLDERS = NUMBERS + WORDS
MAX_TEMPLATE = 1200
_FIELD = re.compile(r"\{([^{}]*)\}")
OFFLINE_TEMPLATE = (
    "Under the approved graph and its assumptions, {treatment} changes {outcome} by "
    "{estimate} on average ({estimand}; {level} interval {ci_low} to {ci_high}, "
    "from {n_rows} rows). An interval that includes zero means the data cannot rule out "
    "no effect."
)


def facts_from_state(state: AnalysisState) -> dict | None:
    """The values a template may use, or None when there is no point estimate to explain."""
    estimation = state.get("estimation") or {}
    estimate = estimation.get("estimate") or {}
    if estimate.get("value") is None:
        return None
    return {
        "treatment": state["treatment"],
        "outcome": state["outcome"],
        "estimand": str(estimate.get("target") or state.get("target") or "ate").upper(),
        "level": "95%",
        "estimate": estimate["value"],
        "ci_low": estimate.get("ci_low"),
        "ci_high": estimate.get("ci_high"),
        "n_rows": estimation.get("n_rows"),
    }


def template_problems(template: str) -> list[str]:
    """Why a model's template cannot be used; empty when it can."""
    problems = []
    names = _FIELD.findall(template)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        problems.append(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; "
            f"use only {', '.join('{' + n + '}' for n in PLACEHOLDERS)}"
        )
    if "estimate" not in names:
        problems.append("the template must contain {estimate}")
    rest = _FIELD.sub("", template)
    if "{" in rest or "}" in rest:
        problems.append("braces may only enclose a placeholder")
    if re.search(r"\d", rest):
        problems.append(
            "the template contains digits; write every number as a placeholder "
            "(the interval level is {level})"
        )
    if len(template) > MAX_TEMPLATE:
        problems.append(f"the template is longer than {MAX_TEMPLATE} characters")
    return problems


def fill(template: str, facts: dict) -> str:
    """The template with each placeholder replaced by its formatted value."""
    return _FIELD.sub(lambda m: _format(facts.get(m.group(1))), template)


def _format(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
