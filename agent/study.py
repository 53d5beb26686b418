"""The study design inside the conversation: which design the run uses and its spec.

The design stage stores its choice as ``state["study_design"]``; the later stages ask
``own_design(state)`` whether the chosen design runs its own identify/estimate/checks
(anything registered beyond the graph designs) or goes through the graph path (backdoor
and front door: DoWhy on the graph, critique and refuters). Nothing here names a design.
"""

from causal_assistant.agent.state import AnalysisState, present
from causal_assistant.tools.designs import REGISTRY, Design, DesignKind, DesignSpec, load_designs
from causal_assistant.tools.designs.base import DesignCheck, DesignEstimate
from causal_assistant.tools.designs.choice import GRAPH_DESIGNS


def own_design(state: AnalysisState) -> Design | None:
    """The registered design that runs its own stages, or None for the graph path."""
    chosen = state.get("study_design") or {}
    kind = chosen.get("kind")
    if not kind or DesignKind(kind) in GRAPH_DESIGNS:
        return None
    return load_designs()[DesignKind(kind)]


def design_spec(state: AnalysisState) -> DesignSpec:
    """The spec for the chosen design; the graph is included when a person stands behind
    it (supplied, or approved in the chat), never an unreviewed proposal."""
    chosen = present(state.get("study_design"), "study_design")
    reviewed = bool(state.get("graph_text")) or not state.get("auto_approve")
    return DesignSpec(
        kind=chosen["kind"],
        treatment=state["treatment"],
        outcome=state["outcome"],
        columns=chosen.get("columns") or {},
        target=state.get("target") or "ate",
        graph=state.get("graph") if reviewed else None,
        seed=state.get("seed", 0),
    )


def estimate_entry(estimate: DesignEstimate, target: str) -> dict:
    """A design estimate in the shape of the graph path's ``EffectEstimate`` dump."""
    return {
        "method": estimate.method,
        "label": estimate.method,
        "target": target,
        "value": estimate.value,
        "ci_low": estimate.ci_low,
        "ci_high": estimate.ci_high,
        "ci_method": f"{estimate.se_type} standard error" if estimate.se_type else None,
        "estimand": estimate.estimand,
        "se": estimate.se,
        "se_type": estimate.se_type,
        "scale": estimate.scale,
    }


def alternative_entry(alternative: dict, target: str) -> dict:
    """An alternative a design lists in ``details["alternatives"]`` (method, value, ...)."""
    keys = ("method", "value", "ci_low", "ci_high", "se")
    return {
        **{k: alternative.get(k) for k in keys},
        "label": alternative.get("method"),
        "target": target,
    }


def check_entry(check: DesignCheck) -> dict:
    """A design check in the shape of a refutation outcome."""
    return {
        "name": check.name,
        "status": check.status,
        "new_effect": None,
        "statistic": check.statistic,
        "p_value": check.p_value,
        "rule": "",
        "reading": check.reading,
        "details": check.details,
    }


def assumptions_of(state: AnalysisState) -> list[dict]:
    """The chosen (or, on the graph path, the identified) design's assumptions."""
    chosen = state.get("study_design") or {}
    if chosen.get("assumptions"):
        return chosen["assumptions"]
    kind = used_kind(state)
    design = REGISTRY.get(DesignKind(kind)) if kind else None  # estimands are DesignKinds
    if design is None or not state.get("treatment"):
        return []
    spec = DesignSpec(kind=kind, treatment=state["treatment"], outcome=state["outcome"])
    return [a.model_dump() for a in design.assumptions(spec)]


def used_kind(state: AnalysisState) -> str | None:
    """The design the numbers came from: the chosen one, or what DoWhy identified on the
    graph path (backdoor, front door, a DoWhy instrument, or none)."""
    chosen = (state.get("study_design") or {}).get("kind")
    if own_design(state) is not None:
        return chosen
    return (state.get("identification") or {}).get("estimand") or chosen
