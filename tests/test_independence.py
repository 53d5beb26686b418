"""One conditional-independence test: the graph critique and the falsification refuter give
the same p-value and verdict for every independence the graph implies, on simulated data
where some of those independences hold and one is false."""

import inspect

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.model import independence
from causal_assistant.tools.model.critique import critique_graph
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.refute import portable_refute

# The data's truth has a -> y too; the graph leaves it out, so "a independent of y given
# c and t" is false, while a, b and c are truly independent of one another.
GRAPH = [("a", "t"), ("b", "t"), ("c", "t"), ("t", "y"), ("c", "y")]


def simulated(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    b = rng.choice(["north", "south", "east"], n)
    c = rng.normal(size=n)
    shift = pd.Series(b).map({"north": 0.4, "south": -0.3, "east": 0.0}).to_numpy()
    t = (0.6 * a + shift + 0.5 * c + rng.normal(size=n) > 0.3).astype(int)
    y = 1.0 * t + 0.8 * c + 0.5 * a + rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "c": c, "t": t, "y": y})


def key(x: str, y: str, given) -> tuple:
    return frozenset((x, y)), tuple(sorted(given))


@pytest.fixture(scope="module")
def both():
    df = simulated()
    graph = CausalGraph.from_edges(GRAPH)
    critique = critique_graph(df, profile_table(df), graph, "t", "y")
    data = build_model_data(df, graph, "t", "y")
    refuted = portable_refute.falsify_graph(
        data.frame, data.graph, data.column_map, n_permutations=0
    )
    return critique, refuted


def test_critique_and_refuter_agree_on_every_implied_independence(both) -> None:
    critique, refuted = both
    by_critique = {key(t.x, t.y, t.given): t for t in critique.tests}
    by_refuter = {key(r["x"], r["y"], r["given"]): r for r in refuted["details"]["tests"]}
    assert by_critique.keys() == by_refuter.keys() and len(by_critique) >= 4
    for k, test in by_critique.items():
        row = by_refuter[k]
        assert test.test == row["test"]
        assert row["p_value"] == pytest.approx(test.p_value, rel=1e-6, abs=1e-12)
        assert row["p_adjusted"] == pytest.approx(test.p_adjusted, rel=1e-6, abs=1e-12)
        assert row["violated"] == test.conflict
    # the discrete pair is cross-tabulated, the rest tested linearly
    assert by_critique[key("a", "b", [])].test == independence.G_TEST
    assert by_critique[key("a", "c", [])].test == independence.CANONICAL_TEST
    # the one false independence is the one both flag
    flagged = {k for k, t in by_critique.items() if t.conflict}
    assert flagged == {key("a", "y", ["c", "t"])}
    assert refuted["status"] != "pass"


def test_one_documented_level() -> None:
    """The critique's and the refuter's defaults are the shared module's level, which the
    exported script repeats as a literal."""
    for function in (critique_graph, portable_refute.falsify_graph, independence.contradicted):
        assert inspect.signature(function).parameters["alpha"].default == independence.ALPHA
    assert (
        inspect.signature(portable_refute.falsify_graph).parameters["min_r"].default
        == independence.MIN_R
    )


def test_g_test_matches_scipy_on_a_table() -> None:
    """The G statistic of one table is scipy's log-likelihood-ratio chi-square."""
    from scipy.stats import chi2_contingency

    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 500)
    y = (x + rng.integers(0, 3, 500)) % 4
    found = independence.g_test(x, y)
    table = pd.crosstab(x, y).to_numpy()
    statistic, p_value, dof, _ = chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert found["statistic"] == pytest.approx(statistic)
    assert found["p_value"] == pytest.approx(p_value) and found["dof"] == dof


@pytest.mark.parametrize("columns", [1, 2, 3])
def test_level_codes_number_distinct_rows_in_lexicographic_order(columns):
    """Codes by hashing each column equal np.unique's numbering of the distinct rows, so the
    discrete tests see the same groups as before; too many levels give None."""
    rng = np.random.default_rng(columns)
    block = rng.integers(0, 2, size=(500, columns)).astype(float) * 2.5 - 1.0
    levels, expected = np.unique(block, axis=0, return_inverse=True)
    assert np.array_equal(independence.level_codes(block), expected.ravel())
    assert len(levels) == 2**columns
    wide = rng.integers(0, 3, size=(500, 2)).astype(float)  # 9 distinct rows > 8 levels
    assert independence.level_codes(wide) is None
    assert independence.level_codes(rng.normal(size=(500, 1))) is None
