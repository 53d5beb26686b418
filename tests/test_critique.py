"""Critique: the graph's testable claims and the adjustment, checked against simulated data
whose true graph is known (tests.test_modeling.training_data)."""

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.identify.adjustment import backdoor_set
from causal_assistant.tools.model.critique import critique_graph
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.model.modeling import propose_graph
from causal_assistant.tools.results import WarningCode
from tests.test_modeling import T, Y, training_data

TRUE_EDGES = [
    ("age", T),
    ("income", T),
    ("distance", T),
    ("age", Y),
    ("income", Y),
    ("skill", Y),
    (T, "mood"),
    ("mood", Y),
    (T, Y),
    (T, "satisfaction"),
    (Y, "satisfaction"),
]


@pytest.fixture(scope="module")
def data():
    df = training_data(seed=0).drop(columns=["earn_copy", "earnings_2021"])
    return df, profile_table(df)


def codes(result) -> list[WarningCode]:
    return [f.code for f in result.findings]


def test_true_graph_passes_and_a_graph_missing_a_real_edge_does_not(data) -> None:
    df, profile = data
    true = critique_graph(df, profile, CausalGraph.from_edges(TRUE_EDGES), T, Y)
    assert true.findings == [] and true.tests
    assert all(not t.conflict for t in true.tests)
    assert true.adjustment_set == ["age", "income", "skill"]  # the instrument is left out

    missing = [e for e in TRUE_EDGES if e != ("age", Y)]
    result = critique_graph(df, profile, CausalGraph.from_edges(missing), T, Y)
    conflicts = [f for f in result.findings if f.code == WarningCode.GRAPH_DATA_CONFLICT]
    assert {"age", Y} in [set(f.variables) for f in conflicts]
    found = next(f for f in conflicts if set(f.variables) == {"age", Y})
    assert "Holm-adjusted" in found.statistic and "partial corr" in found.statistic
    assert any(
        w.code == WarningCode.GRAPH_DATA_CONFLICT and "age" in w.message for w in result.warnings
    )


def test_adjusting_for_a_mediator_and_a_collider_is_flagged(data) -> None:
    df, profile = data
    graph = CausalGraph.from_edges(TRUE_EDGES)
    result = critique_graph(
        df, profile, graph, T, Y, adjustment_set=["age", "income", "mood", "satisfaction"]
    )
    flagged = {
        v
        for f in result.findings
        if f.code == WarningCode.POST_TREATMENT_ADJUSTMENT
        for v in f.variables
    }
    assert flagged == {"mood", "satisfaction"}
    assert WarningCode.UNADJUSTED_CONFOUNDER not in codes(result)


def test_the_data_flag_a_post_treatment_column_the_graph_calls_a_confounder(data) -> None:
    """The user's graph says mood causes treatment; a known cause of the treatment is tied
    to mood only through the treatment, so the data disagree. The graph still adjusts for
    mood, so the finding is a conflict to settle (never "post-treatment adjustment" about a
    variable the analysis goes on adjusting for), and nothing calls mood "not adjusted"."""
    df, profile = data
    wrong = [e for e in TRUE_EDGES if e != (T, "mood")] + [("mood", T)]
    result = critique_graph(df, profile, CausalGraph.from_edges(wrong), T, Y)
    assert "mood" in result.adjustment_set
    assert WarningCode.POST_TREATMENT_ADJUSTMENT not in codes(result)
    flagged = [f for f in result.findings if "mood" in f.variables]
    assert {f.code for f in flagged} == {WarningCode.GRAPH_DATA_CONFLICT}
    downstream = [f for f in flagged if "held fixed" in f.statistic]
    assert len(downstream) == 1 and "mark it post-treatment" in downstream[0].message
    assert not any("not adjusted" in w.message and "mood" in w.message for w in result.warnings)


def test_an_omitted_confounder_is_named(data) -> None:
    df, profile = data
    graph = CausalGraph.from_edges([(T, Y), ("age", T), ("age", Y), ("distance", T)])
    result = critique_graph(df, profile, graph, T, Y)
    unadjusted = [f for f in result.findings if f.code == WarningCode.UNADJUSTED_CONFOUNDER]
    assert [f.variables for f in unadjusted] == [["income"]]
    assert "partial corr" in unadjusted[0].statistic
    assert "mood" not in {v for f in result.findings for v in f.variables}  # downstream


def test_poor_overlap_and_small_samples() -> None:
    rng = np.random.default_rng(0)
    n = 80
    x = rng.normal(size=n)
    treat = (x + 0.1 * rng.normal(size=n) > 0).astype(int)
    df = pd.DataFrame({"x": x, "t": treat, "y": treat + x + rng.normal(size=n)})
    graph = CausalGraph.from_edges([("x", "t"), ("x", "y"), ("t", "y")])
    result = critique_graph(df, profile_table(df), graph, "t", "y")
    assert WarningCode.POOR_OVERLAP in codes(result)
    assert WarningCode.SMALL_SAMPLE in codes(result)
    overlap = next(f for f in result.findings if f.code == WarningCode.POOR_OVERLAP)
    assert "extreme propensity" in overlap.statistic


def test_discrete_data_get_a_g_test() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    region = rng.choice(["north", "south", "west"], n)
    treat = (
        rng.uniform(size=n) < np.select([region == "north", region == "south"], [0.2, 0.5], 0.8)
    ).astype(int)
    outcome = (rng.uniform(size=n) < 0.2 + 0.5 * treat).astype(int)
    df = pd.DataFrame({"region": region, "treat": treat, "outcome": outcome})
    chain = CausalGraph.from_edges([("region", "treat"), ("treat", "outcome")])
    result = critique_graph(df, profile_table(df), chain, "treat", "outcome")
    assert [(t.x, t.y, t.given, t.test) for t in result.tests] == [
        ("outcome", "region", ["treat"], "gsq")
    ]
    assert not result.tests[0].conflict
    assert WarningCode.GRAPH_DATA_CONFLICT not in codes(result)


def test_the_test_budget_and_holm_correction(data) -> None:
    df, profile = data
    sparse = CausalGraph(nodes=list(df.columns), edges=[])
    result = critique_graph(df, profile, sparse, T, Y, max_tests=5)
    assert result.n_implied == len(df.columns) * (len(df.columns) - 1) // 2
    assert len(result.tests) == 5
    assert all(t.p_adjusted >= t.p_value for t in result.tests)
    assert f"Tested 5 of the {result.n_implied}" in result.reading


def test_our_own_proposal_survives_its_critique() -> None:
    df = training_data(seed=1)
    profile = profile_table(df)
    proposal = propose_graph(df, profile, T, Y)
    result = critique_graph(df, profile, proposal.graph, T, Y)
    assert result.findings == []


def test_backdoor_set_is_none_when_a_latent_confounder_blocks_it() -> None:
    graph = CausalGraph.from_edges([("u", "t"), ("u", "y"), ("t", "y")])
    assert backdoor_set(graph, "t", "y") == ["u"]
    latent = CausalGraph(nodes=graph.nodes, edges=graph.edges, unobserved=["u"])
    assert backdoor_set(latent, "t", "y") is None


def test_unknown_names_are_refused_in_one_line(data) -> None:
    df, profile = data
    graph = CausalGraph.from_edges(TRUE_EDGES)
    with pytest.raises(InputError, match="not a column"):
        critique_graph(df, profile, graph, T, Y, adjustment_set=["agee"])
    with pytest.raises(InputError, match="node of the graph"):
        critique_graph(df, profile, CausalGraph.from_edges([("age", T)]), T, Y)
