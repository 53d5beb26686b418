"""Partial identification in the conversation: a range instead of a stop, and answers to
"what if there is a hidden confounder?" and "what do you need to assume to get a sign?".

When no design identifies the effect, the identification stage hands over to
``unidentified``: the run goes on to the report with bounds (``estimate`` null in
result.json). When the effect is identified, the same bounds are computed on request in
the chat, beside the sensitivity analysis the refutation stage already ran.
"""

from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.state import AnalysisState
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.identify.bounds import (
    LABELS,
    BoundsResult,
    bound_effect,
    format_effect,
)


def compute_bounds(context: AgentContext, state: AnalysisState) -> BoundsResult:
    return bound_effect(
        context.frame(state),
        state["treatment"],
        state["outcome"],
        treated_level=state.get("treated_level"),
    )


def unidentified(context: AgentContext, state: AnalysisState, update: dict) -> dict:
    """Extend the identification stage's ``update`` with bounds, or with the stop (and why
    bounds are not available either) when they cannot be computed."""
    reading = update["identification"]["reading"]
    try:
        result = compute_bounds(context, state)
    except InputError as exc:
        return {**update, "error": f"{reading} Bounds are not available either: {exc}"}
    stage = "identification"
    return {
        **update,
        "bounds": result.model_dump(mode="json"),
        "estimation": None,  # an estimate from an earlier question would not apply
        "refutation": None,
        "messages": update["messages"] + [{"role": "assistant", "content": result.reading}],
        "stage_warnings": {
            stage: update["stage_warnings"][stage]
            + [w.model_dump(mode="json") for w in result.warnings]
        },
        "stage_code": {stage: update["stage_code"][stage] + result.code},
    }


def bounds_rows(bounds: dict | None) -> list[dict]:
    """The ``bounds`` list of result.json (DESIGN.md shape, plus the sign sentence)."""
    keys = ("kind", "low", "high", "assumptions", "reading", "sign", "sign_determined")
    return [{k: b[k] for k in keys} for b in (bounds or {}).get("bounds", [])]


def hidden_confounder_answer(context: AgentContext, state: AnalysisState) -> str:
    """What the data say if a confounder was not measured, and which assumption gives a
    sign: the bounds (from the run, or computed now), then the sensitivity check."""
    bounds = state.get("bounds")
    if not bounds:
        bounds = compute_bounds(context, state).model_dump(mode="json")
    binary = bounds["range_source"] == "binary"
    lines = [bounds["reading"], ""]
    for bound in bounds["bounds"]:
        span = (
            "contradicted by the data"
            if bound["low"] is None
            else f"{format_effect(bound['low'], binary)} to {format_effect(bound['high'], binary)}"
        )
        lines.append(f"- **{LABELS[bound['kind']]}** ({span}): {bound['sign']}")
        if bound["kind"] != "no_assumption":
            lines.append(f"  Assumes: {bound['assumptions']}")
    signed = [b for b in bounds["bounds"] if b["sign_determined"]]
    lines.append("")
    if signed:
        lines.append(
            "To get a sign from the data you need: "
            + "; or ".join(f"'{LABELS[b['kind']]}'" for b in signed)
            + "."
        )
    else:
        lines.append(
            "No assumption listed here gives a sign from the data: monotone response gives "
            "one only by assuming it. A measured confounder, an instrument or a front-door "
            "mediator would identify the effect."
        )
    sensitivity = next(
        (
            r
            for r in (state.get("refutation") or {}).get("refutations", [])
            if r["name"] == "unobserved_confounder"
        ),
        None,
    )
    if sensitivity:
        lines += [
            "",
            f"Sensitivity of the estimate ({sensitivity['status']}): {sensitivity['reading']}",
            f"Rule: {sensitivity['rule']}.",
        ]
    return "\n".join(lines)
