"""Modeling: roles with provenance, and the total effect where adjusting for everything fails.

All data are simulated with a known structure. The training data have two confounders
(age, income), an instrument (distance), an outcome-only predictor (skill), a mediator
(mood), a collider (satisfaction), a near-copy of the outcome (earn_copy) and a copy taken
after the outcome (earnings_2021). The total effect of treat on earnings_2019 is 1 direct
plus 1 x 1 through mood = 2; adjusting for everything returns roughly 0.
"""

import time

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.estimate.estimation import estimate_effect
from causal_assistant.tools.identify.identification import identify_effect
from causal_assistant.tools.model.discovery import (
    BlockMatrix,
    Knowledge,
    choose_algorithm,
    discover,
    encode,
)
from causal_assistant.tools.model.graphs import CausalGraph, find_cycle
from causal_assistant.tools.model.modeling import propose_graph, timing_hint
from causal_assistant.tools.results import WarningCode

TOTAL_EFFECT = 2.0
TOLERANCE = 0.15
T, Y = "treat", "earnings_2019"


def training_data(seed: int = 0, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age, income, distance, skill = (rng.normal(size=n) for _ in range(4))
    treated = 1 / (1 + np.exp(-(0.8 * age + 0.8 * income + 1.0 * distance)))
    treat = (rng.uniform(size=n) < treated).astype(int)
    mood = 1.0 * treat + rng.normal(size=n)
    earnings = (
        1.0 * treat + 1.0 * mood - 0.8 * age - 0.8 * income + 0.8 * skill + rng.normal(size=n)
    )
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "distance": distance,
            "skill": skill,
            T: treat,
            "mood": mood,
            Y: earnings,
            "satisfaction": treat + 0.7 * earnings + rng.normal(size=n),
            "earn_copy": earnings + rng.normal(scale=0.1, size=n),
            "earnings_2021": earnings + rng.normal(size=n),
        }
    )


def estimate(df: pd.DataFrame, graph: CausalGraph) -> float:
    data = build_model_data(df, graph, T, Y)
    return estimate_effect(data, identify_effect(data), n_bootstrap=10).estimate.value


@pytest.fixture(scope="module")
def proposed():
    df = training_data()
    return df, propose_graph(df, profile_table(df), T, Y)


def test_roles_match_the_known_structure(proposed) -> None:
    _, result = proposed
    roles = {r.name: r.role for r in result.roles}
    assert roles == {
        T: "treatment",
        Y: "outcome",
        "age": "confounder",
        "income": "confounder",
        "distance": "instrument",
        "skill": "outcome_predictor",
        "mood": "mediator",
        "satisfaction": "collider",
        "earn_copy": "excluded",
        "earnings_2021": "excluded",
    }
    assert result.role_of("earn_copy").source == "data"
    assert "near-copy" in result.role_of("earn_copy").evidence
    assert result.role_of("earnings_2021").source == "heuristic"
    assert "after the outcome" in result.role_of("earnings_2021").evidence
    assert find_cycle(result.graph) is None


def test_every_role_and_edge_says_where_it_came_from(proposed) -> None:
    _, result = proposed
    assert all(r.evidence for r in result.roles)
    assert all(e.note for e in result.graph.edges)
    assert {e.source for e in result.graph.edges} <= {"data", "user", "default", "heuristic"}
    age_to_t = result.graph.edge("age", T)
    assert age_to_t.source == "data" and "partial corr" in age_to_t.note and "p<" in age_to_t.note
    mood = result.role_of("mood")
    assert mood.source == "data"
    assert "but not once treat" in mood.evidence  # the confirming test, with its numbers
    assert "p<0.001" in mood.evidence


def test_downstream_columns_are_not_adjusted_and_the_reading_says_so(proposed) -> None:
    df, result = proposed
    ident = identify_effect(build_model_data(df, result.graph, T, Y))
    assert set(ident.adjustment_set) >= {"age", "income"}
    assert not set(ident.adjustment_set) & {"mood", "satisfaction", "earn_copy", "earnings_2021"}
    assert set(result.graph.post_treatment) == {"mood", "satisfaction"}
    assert "NOT adjusted for" in result.reading and "total effect" in result.reading


def test_pipeline_gets_the_total_effect_where_adjusting_for_everything_fails(proposed) -> None:
    """Same estimator, two graphs: ours, and every column as a common cause."""
    df, result = proposed
    everything = [c for c in df.columns if c not in (T, Y)]
    naive = CausalGraph.from_edges([(T, Y)] + [(c, x) for c in everything for x in (T, Y)])
    ours = estimate(df, result.graph)
    assert ours == pytest.approx(TOTAL_EFFECT, abs=TOLERANCE)
    assert abs(estimate(df, naive) - TOTAL_EFFECT) > 1.0


def test_a_leak_without_a_telling_name_is_found_by_the_data() -> None:
    """earnings_2021 renamed 'bonus' (r = 0.9 with the outcome, so no near-copy): discovery
    orients it after the outcome and the outcome screens it off from the treatment."""
    df = training_data(seed=2).rename(columns={"earnings_2021": "bonus", "age": "w1"})
    result = propose_graph(df, profile_table(df), T, Y)
    bonus = result.role_of("bonus")
    assert bonus.role == "excluded" and bonus.source == "data"
    assert "downstream of the outcome" in bonus.evidence
    assert result.role_of("w1").role == "confounder"
    assert estimate(df, result.graph) == pytest.approx(TOTAL_EFFECT, abs=TOLERANCE)


def test_outcome_components_are_excluded_but_a_subtracted_baseline_is_kept() -> None:
    rng = np.random.default_rng(5)
    n = 1500
    wt71 = rng.normal(70, 10, n)
    qsmk = (rng.uniform(size=n) < 1 / (1 + np.exp(-(wt71 - 70) / 10))).astype(int)
    wt82 = wt71 + 3 * qsmk + 0.1 * (wt71 - 70) + rng.normal(0, 5, n)
    df = pd.DataFrame({"wt71": wt71, "qsmk": qsmk, "wt82": wt82, "wt82_71": wt82 - wt71})
    result = propose_graph(df, profile_table(df), "qsmk", "wt82_71")
    assert result.role_of("wt82").role == "excluded"
    assert "component of the outcome" in result.role_of("wt82").evidence
    assert result.role_of("wt71").role == "confounder"
    assert "computed from it" in result.role_of("wt71").evidence


@pytest.mark.parametrize(
    ("name", "treatment", "outcome", "timing"),
    [
        ("re74", "treat", "re78", "pre"),
        ("wt82", "qsmk", "wt82_71", "post"),
        ("earnings_2021", "treat", "earnings_2019", "after_outcome"),
        ("bmi_baseline", "drug", "bmi", "pre"),
        ("score_t0", "drug", "score", "pre"),
        ("followUpVisits", "drug", "bmi", "post"),
        ("price_1990", "tax_1995", "sales", "pre"),
        ("age", "treat", "y", "pre"),
        ("prenatal", "treat", "iq", "unknown"),
        ("mood", "treat", "y", "unknown"),
    ],
)
def test_name_hints(name: str, treatment: str, outcome: str, timing: str) -> None:
    found, why = timing_hint(name, treatment, outcome)
    assert found == timing
    assert bool(why) == (timing != "unknown")


def test_algorithm_choice_follows_data_type_and_size() -> None:
    assert choose_algorithm(["continuous"] * 5, 500)[0] == "ges"
    assert choose_algorithm(["continuous"] * 5, 5000)[0] == "pc"
    assert choose_algorithm(["continuous"] * 5, 5000, non_gaussian=True)[0] == "lingam"
    assert choose_algorithm(["binary", "continuous"] * 3, 500, latent=True)[0] == "fci"
    assert choose_algorithm(["binary", "categorical", "continuous"], 500)[0] == "pc"


@pytest.mark.parametrize("algorithm", ["pc", "fci", "ges", "lingam"])
def test_every_algorithm_obeys_the_time_order(algorithm: str) -> None:
    rng = np.random.default_rng(1)
    n = 800
    noise = (
        (lambda: rng.uniform(-1.7, 1.7, n))
        if algorithm == "lingam"
        else (lambda: rng.normal(size=n))
    )
    x = noise()
    t = x + noise()
    m = t + noise()
    y = t + m + x + noise()
    df = pd.DataFrame({"x": x, "t": t, "m": m, "y": y})
    knowledge = Knowledge(tiers=[["x"], ["t"], [], ["y"]], required=[("t", "y")])
    result = discover(df, dict.fromkeys(df, "continuous"), knowledge, algorithm=algorithm)
    directed = {(e.a, e.b) for e in result.edges if e.kind == "directed"}
    assert ("t", "y") in directed
    assert not any(knowledge.forbids(a, b) for a, b in directed)
    assert result.algorithm == algorithm and all(e.note for e in result.edges)


def test_discovery_on_large_data_uses_a_reported_seeded_sample_and_is_fast() -> None:
    rng = np.random.default_rng(0)
    n, width = 20_000, 30
    data = rng.normal(size=(n, width))
    for j in range(1, width):  # a chain with extra links: dense enough to cost something
        data[:, j] += 0.6 * data[:, j - 1] + (0.4 * data[:, j - 3] if j >= 3 else 0)
    df = pd.DataFrame(data, columns=[f"v{j}" for j in range(width)])
    started = time.perf_counter()
    result = discover(df, dict.fromkeys(df, "continuous"), seed=3)
    assert time.perf_counter() - started < 10
    assert (result.n_rows, result.n_rows_total) == (2000, n)
    assert [w.code for w in result.warnings] == [WarningCode.LARGE_DATA_SAMPLED]
    assert "2,000" in result.reading
    again = discover(df, dict.fromkeys(df, "continuous"), seed=3)
    assert again.edges == result.edges


def test_categories_enter_tests_as_a_whole() -> None:
    """A three-level category with a non-monotone effect: codes 0/1/2 would hide it."""
    rng = np.random.default_rng(0)
    n = 2000
    group = rng.choice(["a", "b", "c"], n)
    x = np.where(group == "b", 1.0, 0.0) + rng.normal(size=n)
    z = x + rng.normal(size=n)
    df = pd.DataFrame({"group": group, "x": x, "z": z})
    matrix = BlockMatrix(encode(df, {"group": "categorical", "x": "continuous", "z": "continuous"}))
    assert matrix.test("group", "z").p_value < 1e-6
    assert matrix.test("group", "z", ["x"]).p_value > 0.01
    assert matrix.test("group", "z").dof == 2
