"""Why-answers in plain words: the role and the adjustment decision in two or three
sentences a non-expert can follow, correct about what adjusting does, evidence after."""

from __future__ import annotations

import re

from causal_assistant.agent.reasoners.explain import graph_roles, why_answer

GRAPH = {
    "nodes": ["age", "treat", "y", "skill", "z", "later"],
    "edges": [
        {"cause": "age", "effect": "treat", "source": "data", "note": "partial corr +0.13"},
        {"cause": "age", "effect": "y", "source": "heuristic", "note": ""},
        {"cause": "treat", "effect": "y", "source": "default", "note": ""},
        {"cause": "treat", "effect": "skill", "source": "data", "note": ""},
        {"cause": "skill", "effect": "y", "source": "data", "note": ""},
        {"cause": "z", "effect": "treat", "source": "data", "note": ""},
        {"cause": "treat", "effect": "later", "source": "data", "note": ""},
        {"cause": "y", "effect": "later", "source": "data", "note": ""},
    ],
}
STATE = {
    "treatment": "treat",
    "outcome": "y",
    "graph": GRAPH,
    "roles": [{"name": "age", "role": "confounder", "source": "data", "evidence": "tied to both"}],
    "identification": {"estimand": "backdoor", "adjustment_set": ["age"]},
}


def _plain(answer: str) -> str:
    return answer.split("**Evidence**")[0].strip()


def test_a_confounder_is_adjusted_for_because_that_blocks_its_backdoor_path():
    answer = why_answer(STATE, "age")
    plain = _plain(answer)
    assert "blocks" in plain and "opens" not in plain
    assert "backdoor path treat ← age → y" in plain
    assert 2 <= len(re.findall(r"[.!?](\s|$)", plain)) <= 3, "two or three sentences"
    evidence = answer.split("**Evidence**")[1]
    assert "tied to both" in evidence and "edge age → treat: data — partial corr +0.13" in evidence


def test_roles_read_off_the_graph_explain_mediators_colliders_and_instruments():
    assert "carries part of treat's effect" in _plain(why_answer(STATE, "skill"))
    assert "collider bias" in _plain(why_answer(STATE, "later"))
    assert "only through treat" in _plain(why_answer(STATE, "z"))
    for name in ("skill", "later", "z"):
        assert "not adjusted for" in _plain(why_answer(STATE, name))


def test_an_edit_changes_the_role_and_the_answer():
    edges = [e for e in GRAPH["edges"] if (e["cause"], e["effect"]) != ("age", "treat")]
    state = {
        **STATE,
        "graph": {**GRAPH, "edges": edges, "post_treatment": ["skill"]},
        "identification": None,
    }
    roles = {r["name"]: r for r in graph_roles(state)}
    assert roles["age"]["role"] == "outcome_predictor" and roles["age"]["source"] == "user"
    assert roles["skill"]["role"] == "post_treatment"
    assert "opens no backdoor path" in _plain(why_answer(state, "age"))
    assert "measured after treat" in _plain(why_answer(state, "skill"))
