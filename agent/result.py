"""The headless contract: ``result.json`` built from a finished (or stopped) state.

Other programs and the tests depend on this shape (DESIGN.md, "Headless contract"), so it
is assembled in one place from the stage outputs and never from the chat messages.
"""

from causal_assistant.agent.state import STAGES, AnalysisState


def _estimate(entry: dict) -> dict:
    return {
        key: entry.get(key)
        for key in (
            "method",
            "label",
            "target",
            "value",
            "ci_low",
            "ci_high",
            "ci_method",
            "se",
            "se_type",
        )
    }


def _primary(estimation: dict) -> dict:
    """The primary estimate with what it estimates and the scale it reads on."""
    scale = estimation.get("scale") or {}
    return {
        **_estimate(estimation["estimate"]),
        "estimand": estimation.get("estimand"),
        "scale": scale.get("unit")
        or f"units of the outcome per {scale.get('treatment_unit', 'one unit')}",
        "risk_ratio": scale.get("risk_ratio"),
        "odds_ratio": scale.get("odds_ratio"),
        "percent": scale.get("percent"),
        "cluster": estimation.get("cluster"),
    }


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
    for stage in STAGES:
        for warning in by_stage.get(stage, []):
            key = (warning["code"], warning["message"])
            if key not in seen:
                seen.add(key)
                warnings.append(
                    {"code": warning["code"], "message": warning["message"], "stage": stage}
                )
    return warnings


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
        "roles": state.get("roles") or [],
        "identification": {
            "estimand": ident.get("estimand"),
            "adjustment_set": ident.get("adjustment_set", []),
            "instruments": ident.get("instruments", []),
            "frontdoor": ident.get("frontdoor", []),
            "reading": ident.get("reading"),
        },
        "estimate": _primary(estimation) if estimation else None,
        "naive": _estimate(estimation["naive"]) if estimation.get("naive") else None,
        "alternatives": [_estimate(a) for a in estimation.get("alternatives", [])],
        "by_group": _by_group(estimation),
        "refutations": [
            {k: r.get(k) for k in ("name", "status", "new_effect", "p_value", "rule", "reading")}
            for r in refutation.get("refutations", [])
        ],
        "warnings": collect_warnings(state),
        "timings_s": dict(state.get("timings_s") or {}),
        "error": state.get("error"),
        "seed": state.get("seed", 0),
    }
