"""Partial identification in the conversation: a range instead of a stop, and answers to
"what if there is a hidden confounder?" and "what do you need to assume to get a sign?".

When no design identifies the effect, the identification stage hands over to
``unidentified``: the run goes on to the report with bounds (``estimate`` null in
result.json). When the effect is identified, the same bounds are computed on request in
the chat, beside the sensitivity analysis the refutation stage already ran.
"""

import networkx as nx

from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.state import AnalysisState, Stage
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.identify import proximal_effect, suggest_proxies
from causal_assistant.tools.identify.bounds import (
    LABELS,
    BoundsResult,
    bound_effect,
    format_effect,
)
from causal_assistant.tools.model import CausalGraph


def compute_bounds(context: AgentContext, state: AnalysisState) -> BoundsResult:
    return bound_effect(
        context.frame(state),
        state["treatment"],
        state["outcome"],
        treated_level=state.get("treated_level"),
        seed=state.get("seed", 0),
    )


def optional_bounds(context: AgentContext, state: AnalysisState) -> dict | None:
    """Bounds beside an identified estimate (for the report's sensitivity section and the
    chat), or None when the treatment or outcome does not allow them."""
    try:
        return compute_bounds(context, state).model_dump(mode="json")
    except InputError:
        return None


def parse_proxies(text: str) -> dict:
    """``"Z,W"`` (or "Z and W") as the state's ``proxies``: the negative-control exposure
    first, then the negative-control outcome."""
    names = [n.strip(" '\"`") for n in text.replace(" and ", ",").split(",") if n.strip()]
    if len(names) != 2:
        raise InputError(
            "Name two proxies of the hidden confounder: a negative-control exposure and a "
            "negative-control outcome, e.g. --proxies Z,W."
        )
    return {"nc_exposure": names[0], "nc_outcome": names[1]}


def _proxy_covariates(state: AnalysisState, proxies: dict) -> list[str]:
    """Measured causes of the treatment or the outcome that the treatment does not affect:
    what the proximal regressions hold fixed beside the proxies."""
    graph = CausalGraph.model_validate(state["graph"])
    nxg = graph.to_networkx()
    treatment, outcome = state["treatment"], state["outcome"]
    skip = {treatment, outcome, *proxies.values(), *graph.unobserved}
    after = nx.descendants(nxg, treatment) if treatment in nxg else set()
    parents = set(nxg.predecessors(treatment)) | set(nxg.predecessors(outcome))
    return sorted(parents - skip - after)


def proximal_update(context: AgentContext, state: AnalysisState, update: dict) -> dict:
    """Extend the identification stage's ``update`` with the proximal estimate when the
    user marked proxies, or with the columns worth considering as proxies when the graph
    has a hidden confounder and none were marked."""
    proxies = state.get("proxies")
    graph = state.get("graph") or {}
    if not proxies:
        if not graph.get("unobserved"):
            return update
        columns = [c["name"] for c in state["dataset"]["profile"]["columns"]]
        found = suggest_proxies(columns, state["treatment"], state["outcome"])
        if not found:
            return {**update, "proximal": None}
        note = (
            f"Columns that might be proxies of the hidden confounder (by name only: check "
            f"they fit): {', '.join(found)}. With a negative-control exposure Z and a "
            "negative-control outcome W, say `use proxies Z and W` (or --proxies Z,W) for a "
            "proximal estimate."
        )
        return {**update, "proximal": None, "messages": update["messages"] + _said(note)}
    result = proximal_effect(
        context.frame(state),
        state["treatment"],
        state["outcome"],
        proxies["nc_exposure"],
        proxies["nc_outcome"],
        tuple(_proxy_covariates(state, proxies)),
    )
    stage = "identification"
    return {
        **update,
        "proximal": result.model_dump(mode="json"),
        "messages": update["messages"] + _said(result.reading),
        "stage_warnings": {
            stage: update["stage_warnings"][stage]
            + [w.model_dump(mode="json") for w in result.warnings]
        },
        "stage_code": {stage: update["stage_code"][stage] + result.code},
    }


def _said(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def proximal_row(proximal: dict | None) -> dict | None:
    """The ``proximal`` block of result.json."""
    if not proximal:
        return None
    keys = (
        "nc_exposure",
        "nc_outcome",
        "covariates",
        "value",
        "se",
        "ci_low",
        "ci_high",
        "naive_value",
        "naive_ci_low",
        "naive_ci_high",
        "first_stage_f",
        "n_rows",
        "assumptions",
        "reading",
    )
    return {"method": "proximal.two_stage_least_squares", **{k: proximal[k] for k in keys}}


def unidentified(context: AgentContext, state: AnalysisState, update: dict) -> dict:
    """Extend the identification stage's ``update`` with bounds, or with the stop (and why
    bounds are not available either) when they cannot be computed."""
    reading = update["identification"]["reading"]
    try:
        result = compute_bounds(context, state)
    except InputError as exc:
        return {**update, "error": f"{reading} Bounds are not available either: {exc}"}
    stage = Stage.IDENTIFICATION.value
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
    return [
        {**{k: b[k] for k in keys}, "ci_low": b.get("ci_low"), "ci_high": b.get("ci_high")}
        for b in (bounds or {}).get("bounds", [])
    ]


def hidden_confounder_answer(context: AgentContext, state: AnalysisState) -> str:
    """What the data say if a confounder was not measured, and which assumption gives a
    sign: the bounds (from the run, or computed now), then the sensitivity check."""
    bounds = state.get("bounds") or state.get("hidden_bounds")
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
    proximal = state.get("proximal")
    if proximal:
        lines += ["", f"Proximal estimate: {proximal['reading']}"]
    if sensitivity:
        lines += [
            "",
            f"Sensitivity of the estimate ({sensitivity['status']}): {sensitivity['reading']}",
            f"Rule: {sensitivity['rule']}.",
        ]
    return "\n".join(lines)
