"""The headless contract: ``result.json`` built from a finished (or stopped) state.

Other programs and the tests depend on this shape (DESIGN.md, "Headless contract"), so it
is assembled in one place from the stage outputs and never from the chat messages.
"""

from causal_assistant.agent.partial import bounds_rows, proximal_row
from causal_assistant.agent.reasoners.explain import graph_roles
from causal_assistant.agent.state import WORKING_STAGES, AnalysisState
from causal_assistant.agent.study import assumptions_of, used_kind

ESTIMATE_KEYS = ("method", "label", "target", "value", "ci_low", "ci_high", "ci_method")
# What the graph path's estimand is called when its estimate does not say.
GRAPH_ESTIMANDS = {"iv": "IV estimand (linear)"}


def _estimate(entry: dict, kind: str | None = None) -> dict:
    found = {key: entry.get(key) for key in ESTIMATE_KEYS}
    estimand = entry.get("estimand") or GRAPH_ESTIMANDS.get(kind or "")
    found["estimand"] = estimand or (entry.get("target") or "ate").upper()
    found.update({key: entry.get(key) for key in ("se", "se_type", "scale")})
    return found


def _design(state: AnalysisState) -> dict | None:
    """The ``design`` block: which design, why, its columns and assumptions."""
    chosen = state.get("study_design")
    if not chosen:
        return None
    kind = used_kind(state)
    why = chosen.get("why", "")
    if kind != chosen.get("kind"):
        why += f" On the graph, the effect is identified by {kind}."
    columns = {k: v for k, v in (chosen.get("columns") or {}).items() if v not in (None, [])}
    details = ((state.get("estimation") or {}).get("design_estimate") or {}).get("details", {})
    return {
        "kind": kind,
        "why": why,
        "strength": chosen.get("strength"),
        "source": chosen.get("source"),
        "columns": columns,
        "assumptions": assumptions_of(state),
        "evidence": [
            {k: e.get(k) for k in ("kind", "strength", "source", "reading")}
            for e in chosen.get("evidence", [])
        ],
        "diagnostics": {
            k: v for k, v in details.items() if isinstance(v, int | float) and k != "n_rows"
        },
    }


def _primary(state: AnalysisState, estimation: dict, kind: str | None) -> dict:
    """The primary estimate with what it estimates and the scale it reads on (a design
    states its scale on the estimate; the graph path reads it off the outcome)."""
    found = _estimate(estimation["estimate"], kind)
    scale = estimation.get("scale") or {}
    found["estimand"] = estimation.get("estimand") or found["estimand"]
    if scale:
        found["scale"] = scale.get("unit") or _level_scale(state, scale)
    found.update({key: scale.get(key) for key in ("risk_ratio", "odds_ratio", "percent")})
    found["cluster"] = estimation.get("cluster")
    return found


def _level_scale(state: AnalysisState, scale: dict) -> str:
    """'units of re78 (treated minus untreated)' or 'units of lwage per one year of educ'."""
    outcome, treatment = state.get("outcome"), state.get("treatment")
    if (state.get("estimation") or {}).get("treatment_kind") == "binary":
        return f"units of {outcome} (treated minus untreated)"
    return f"units of {outcome} per {scale.get('treatment_unit') or 'one unit'} of {treatment}"


def _by_group(estimation: dict) -> dict | None:
    found = estimation.get("by_group")
    if not found:
        return None
    return {
        "by": found["by"],
        "groups": [
            {
                "group": g["group"],
                "value": g["value"],
                "ci_low": g["ci_low"],
                "ci_high": g["ci_high"],
            }
            for g in found["groups"]
        ],
        "difference_p": found["difference_p"],
        "se_type": found["se_type"],
    }


def collect_warnings(state: AnalysisState) -> list[dict]:
    """Warnings of every stage in stage order, each message once."""
    seen, warnings = set(), []
    by_stage = state.get("stage_warnings") or {}
    for stage in WORKING_STAGES:
        for warning in by_stage.get(stage, []):
            key = (warning["code"], warning["message"])
            if key not in seen:
                seen.add(key)
                warnings.append(
                    {"code": warning["code"], "message": warning["message"], "stage": stage}
                )
    return warnings


def _critique(critique: dict) -> dict:
    """The data's critique and the reasoner's side by side, with their disagreements, and
    each proposed instrument or negative control with its data check."""
    review = critique.get("reasoner") or {}
    checks = {(c["kind"], c["name"]): c for c in (review.get("checks") or {}).get("checks", [])}
    return {
        "data": (critique.get("checks") or {}).get("reading"),
        "reasoner": review.get("critique"),
        "disagreements": review.get("disagreements", []),
        "proposals": [
            {**p, **checks.get((p["kind"], p["name"]), {})}
            for p in (review.get("proposals") or {}).get("proposals", [])
        ],
        "used_instruments": review.get("used_instruments", []),
    }


def build_result(state: AnalysisState) -> dict:
    graph = state.get("graph") or {"nodes": [], "edges": []}
    ident = state.get("identification") or {}
    estimation = state.get("estimation") or {}
    refutation = state.get("refutation") or {}
    return {
        "treatment": state.get("treatment"),
        "outcome": state.get("outcome"),
        "question": state.get("question"),
        "context": state.get("context"),
        "data": {k: (state.get("dataset") or {}).get(k) for k in ("name", "source_path", "hash")},
        "graph": {
            "nodes": graph["nodes"],
            "edges": [
                {k: e.get(k) for k in ("cause", "effect", "source", "note")} for e in graph["edges"]
            ],
            "unobserved": graph.get("unobserved", []),
        },
        "roles": graph_roles(state),  # read off the graph as approved, edits included
        "identification": {
            "estimand": ident.get("estimand"),
            "adjustment_set": ident.get("adjustment_set", []),
            "instruments": ident.get("instruments", []),
            "frontdoor": ident.get("frontdoor", []),
            "reading": ident.get("reading"),
        },
        "design": _design(state),
        "estimate": _primary(state, estimation, ident.get("estimand")) if estimation else None,
        "naive": _estimate(estimation["naive"]) if estimation.get("naive") else None,
        "alternatives": [
            _estimate(a, ident.get("estimand")) for a in estimation.get("alternatives", [])
        ],
        "by_group": _by_group(estimation),
        "refutations": [
            {
                k: r.get(k)
                for k in ("name", "status", "new_effect", "statistic", "p_value", "rule", "reading")
            }
            for r in refutation.get("refutations", [])
        ],
        "critique": _critique(state.get("critique") or {}),
        "explanation": (state.get("explanation") or {}).get("text"),
        "bounds": bounds_rows(state.get("bounds")),
        "proximal": proximal_row(state.get("proximal")),
        "warnings": collect_warnings(state),
        "timings_s": dict(state.get("timings_s") or {}),
        "error": state.get("error"),
        "seed": state.get("seed", 0),
    }
