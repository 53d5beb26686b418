"""The chat's interactive graph without a browser: the props it draws from, and the typed
commands its clicks become (ui/public/elements/CausalGraph.jsx builds them from each
node's ``ref``, as ``edge_command`` does)."""

import itertools
import re
from pathlib import Path

import pytest

from causal_assistant.agent.commands import edge_command, node_ref, parse_command
from causal_assistant.ui import render

ELEMENT = Path(render.__file__).with_name("public") / "elements" / f"{render.GRAPH_ELEMENT}.jsx"
AWKWARD = [
    "age",
    "prior earnings",
    "a -> b",
    "score.",
    "treat?",
    "it's",
    'say "hi"',
    "`tick`",
    "<img src=x onerror=alert(1)>",
    "x=>y",
    "Ünïcode → name",
]


@pytest.mark.parametrize("op", ["add", "remove", "reverse"])
def test_every_spelled_name_parses_back_exactly_in_either_place(op: str) -> None:
    refs = {name: node_ref(name) for name in AWKWARD}
    assert all(refs.values()), refs
    for cause, effect in itertools.permutations(AWKWARD, 2):
        intent = parse_command(edge_command(op, refs[cause], refs[effect]))
        assert (intent.kind, intent.args) == (
            "edit",
            {"op": op, "cause": cause, "effect": effect},
        ), (cause, effect)


def test_a_name_no_command_can_spell_gets_no_ref() -> None:
    assert node_ref(" padded ") is None  # the command strips the spaces it would need


def _state(edges: list[tuple[str, str]], nodes: list[str] | None = None) -> dict:
    names = nodes or sorted({n for edge in edges for n in edge})
    return {
        "treatment": "treat",
        "outcome": "y",
        "graph": {
            "nodes": names,
            "edges": [{"cause": a, "effect": b, "source": "data"} for a, b in edges],
        },
        "roles": [
            {"name": "treat", "role": "treatment"},
            {"name": "y", "role": "outcome"},
            {"name": "age", "role": "confounder"},
        ],
    }


def test_props_follow_the_edited_graph_with_legend_and_refs() -> None:
    edges = [("age", "treat"), ("age", "y"), ("treat", "y"), ("a -> b", "y")]
    proposed = render.graph_element_props(_state(edges))
    assert proposed is not None
    roles = {n["name"]: n["role"] for n in proposed["nodes"]}
    assert roles["age"] == "confounder" and roles["a -> b"] == "outcome_predictor"
    assert {(e["cause"], e["effect"]) for e in proposed["edges"]} == set(edges)
    assert {n["name"]: n["ref"] for n in proposed["nodes"]}["a -> b"] == "`a -> b`"

    edited = render.graph_element_props(_state(edges[1:]))
    assert edited is not None
    age = next(n for n in edited["nodes"] if n["name"] == "age")
    assert age["role"] == "outcome_predictor"
    legend = {item["role"]: item["colour"] for item in edited["legend"]}
    assert "confounder" not in legend and legend["outcome_predictor"] == age["colour"]
    assert ("age", "treat") not in {(e["cause"], e["effect"]) for e in edited["edges"]}


def test_thirty_nodes_fit_the_picture_without_overlapping_boxes() -> None:
    others = [f"covariate_number_{i:02d}" for i in range(28)]
    edges = [("treat", "y")] + [(c, "treat") for c in others[:14]] + [(c, "y") for c in others]
    props = render.graph_element_props(_state(edges, ["treat", "y", *others]))
    assert props is not None and len(props["nodes"]) == 30
    boxes = [
        (n["x"] - n["w"] / 2, n["y"] - n["h"] / 2, n["x"] + n["w"] / 2, n["y"] + n["h"] / 2)
        for n in props["nodes"]
    ]
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 and x1 <= props["width"] and 0 <= y0 and y1 <= props["height"]
    for one, other in itertools.combinations(boxes, 2):
        apart = one[2] <= other[0] or other[2] <= one[0] or one[3] <= other[1]
        assert apart or other[3] <= one[1], (one, other)
    for edge in props["edges"]:  # paths are numbers only, never text from the data
        assert re.fullmatch(r"M [-\d. ]+ [LQ] [-\d. ]+", edge["path"]), edge["path"]


def test_the_element_sends_commands_and_shows_names_as_text_only() -> None:
    source = ELEMENT.read_text(encoding="utf-8")
    assert "sendUserMessage(text)" in source
    # the same spelling as edge_command, so a click is the typed command
    assert "`${op} edge ${byName[cause].ref} -> ${byName[effect].ref}`" in source
    assert edge_command("{op}", "{a}", "{b}") == "{op} edge {a} -> {b}"
    for unsafe in ("dangerouslySetInnerHTML", "innerHTML", "eval(", "new Function"):
        assert unsafe not in source
