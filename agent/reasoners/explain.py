"""Explanations whose numbers come from the results, never from the model.

A model asked to explain an estimate in the domain's words will happily round, recompute
or invent a number. So it writes a template with placeholders (``{estimate}``, ``{ci_low}``,
...), any digit it writes itself is refused, and the numbers are filled in here from the
stored results.
"""

import math
import re
from collections.abc import Mapping
from typing import Any

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


# --------------------------------------------------------------------------- why-answers

KEPT_ROLES = ("treatment", "outcome", "excluded", "cluster")


def graph_roles(state: Mapping[str, Any]) -> list[dict]:
    """Every column's role read off the current graph, so an edit shows in the roles at
    once; the proposal's evidence is kept where the role did not change, and markings the
    user made (unobserved, post-treatment) win over the edges."""
    graph_data = state.get("graph")
    roles = [dict(r) for r in state.get("roles") or []]
    if not graph_data or not state.get("treatment") or not state.get("outcome"):
        return roles
    from causal_assistant.tools.identify.adjustment import structural_role
    from causal_assistant.tools.model.graphs import CausalGraph

    graph = CausalGraph.model_validate(graph_data)
    network, treatment, outcome = graph.to_networkx(), state["treatment"], state["outcome"]
    known = {r["name"] for r in roles}
    roles += [
        {"name": n, "role": "unrelated", "source": "user", "evidence": "added to the graph"}
        for n in graph.nodes
        if n not in known
    ]
    for role in roles:
        name = role["name"]
        if role.get("role") in KEPT_ROLES and name not in graph.unobserved + graph.post_treatment:
            continue
        if name in graph.post_treatment:
            now, why = "post_treatment", "you marked it as measured after the treatment"
        elif name in graph.unobserved:
            now, why = "unobserved", "marked as not measured"
        elif name not in network or treatment not in network or outcome not in network:
            now, why = "unrelated", "not in the graph"
        else:
            now, why = structural_role(network, name, treatment, outcome), "read off the edges"
        if now != role.get("role"):
            role.update(role=now, source="user", evidence=f"{why} (the graph was edited)")
    return roles


def adjustment_of(state: Mapping[str, Any]) -> list[str] | None:
    """The adjustment set: identification's once it ran, before that the user's set or the
    one the current graph implies (None when no measured set blocks every backdoor path)."""
    ident = state.get("identification")
    if ident and ident.get("estimand") not in (None, "none"):
        return list(ident.get("adjustment_set") or [])
    if state.get("adjustment") is not None:
        return list(state["adjustment"])
    if not state.get("graph") or not state.get("treatment") or not state.get("outcome"):
        return None
    from causal_assistant.tools.identify.adjustment import backdoor_set
    from causal_assistant.tools.model.graphs import CausalGraph

    graph = CausalGraph.model_validate(state["graph"])
    if state["treatment"] not in graph.nodes or state["outcome"] not in graph.nodes:
        return None
    return backdoor_set(graph, state["treatment"], state["outcome"])


WHY = {
    "confounder": (
        "{s} affects both {t} and {y}, so the two move together through {s} even if {t} "
        "did nothing (a backdoor path {t} ← {s} → {y})."
    ),
    "outcome_predictor": (
        "{s} affects {y} but, in this graph, not {t}, so it opens no backdoor path; adjusting "
        "for it is not needed against bias, but it is harmless and makes the estimate more "
        "precise."
    ),
    "instrument": (
        "{s} affects {t} but reaches {y} only through {t}, so it opens no backdoor path and "
        "adjusting for it would only add noise."
    ),
    "mediator": (
        "{s} is changed by {t} and in turn changes {y}: it carries part of {t}'s effect, so "
        "adjusting for it would remove that part from the total effect."
    ),
    "collider": (
        "{s} is affected by both {t} and {y}; adjusting for it would open a false path "
        "between them (collider bias)."
    ),
    "descendant": (
        "{s} is changed by {t}; adjusting for something the treatment changes can bias the "
        "estimate."
    ),
    "post_treatment": (
        "{s} is marked as measured after {t}, so {t} may have changed it; adjusting for it "
        "could bias the estimate."
    ),
    "unobserved": (
        "{s} is in the graph as an assumption but no column measures it, so it cannot be "
        "adjusted for; the effect is identified only if measured variables block its paths."
    ),
    "unrelated": (
        "{s} has no path to {t} or {y} in this graph, so it plays no part in the estimate."
    ),
    "excluded": "{s} was left out of the analysis ({evidence}).",
    "cluster": "{s} groups the rows; standard errors are clustered by it.",
    "treatment": "{s} is the treatment: the cause whose effect is estimated.",
    "outcome": "{s} is the outcome: the result the treatment may change.",
}


def why_answer(state: Mapping[str, Any], subject: str) -> str:
    """Why ``subject`` has its role and is (or is not) adjusted for: two or three plain
    sentences first, then the evidence (where the role and each edge came from)."""
    treatment, outcome = state.get("treatment") or "the treatment", state.get("outcome") or ""
    role = next((r for r in graph_roles(state) if r["name"] == subject), None)
    kind = role["role"] if role else "unrelated"
    words = {"s": subject, "t": treatment, "y": outcome, "evidence": (role or {}).get("evidence")}
    sentences = [WHY.get(kind, WHY["unrelated"]).format(**words)]
    adjusted = adjustment_of(state)
    if adjusted is not None and kind not in ("treatment", "outcome"):
        if subject in adjusted:
            sentences.append(
                f"So it is adjusted for: comparing units with the same {subject} blocks that path"
                if kind == "confounder"
                else f"It is adjusted for ({', '.join(adjusted)} in all)."
            )
        elif kind == "confounder":
            sentences.append(
                f"It is not in the adjustment set ({', '.join(adjusted) or 'nothing'}), "
                "which blocks its path through other variables."
            )
        else:
            sentences.append("So it is not adjusted for.")
    lines = [" ".join(s if s.endswith(".") else s + "." for s in sentences), "", "**Evidence**"]
    if role:
        lines.append(f"- role {kind.replace('_', ' ')} ({role['source']}): {role['evidence']}")
    for edge in (state.get("graph") or {}).get("edges", []):
        if subject in (edge["cause"], edge["effect"]):
            note = f" — {edge['note']}" if edge.get("note") else ""
            lines.append(f"- edge {edge['cause']} → {edge['effect']}: {edge['source']}{note}")
    if subject not in (state.get("graph") or {}).get("nodes", []):
        lines.append(f"- {subject} is not in the graph.")
    return "\n".join(lines)
