"""Instruments and front doors on simulated data with a known structure."""

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.model.graphs import CausalGraph, Edge
from causal_assistant.tools.model.instruments import suggest_instruments
from causal_assistant.tools.results import WarningCode


def iv_data(seed: int = 0, n: int = 2000, hidden: bool = True) -> pd.DataFrame:
    """z_strong and z_weak move t; w confounds t and y; u (not in the table) confounds them
    too when ``hidden``."""
    rng = np.random.default_rng(seed)
    u, w, z_strong, z_weak = (rng.normal(size=n) for _ in range(4))
    u = u if hidden else np.zeros(n)
    t = 1.0 * z_strong + 0.06 * z_weak + 0.8 * w + u + rng.normal(size=n)
    y = 2.0 * t + 0.8 * w + 1.5 * u + rng.normal(size=n)
    return pd.DataFrame({"z_strong": z_strong, "z_weak": z_weak, "w": w, "t": t, "y": y})


TRUE_GRAPH = CausalGraph(
    nodes=["z_strong", "z_weak", "w", "u", "t", "y"],
    edges=[
        Edge(cause=c, effect=e)
        for c, e in [
            ("z_strong", "t"),
            ("z_weak", "t"),
            ("w", "t"),
            ("w", "y"),
            ("u", "t"),
            ("u", "y"),
            ("t", "y"),
        ]
    ],
    unobserved=["u"],
)


def test_strong_and_weak_instruments_from_the_graph() -> None:
    result = suggest_instruments(iv_data(), TRUE_GRAPH, "t", "y")
    found = {c.name: c for c in result.candidates}
    assert set(found) == {"z_strong", "z_weak"}
    assert found["z_strong"].first_stage_f > 100 and not found["z_strong"].weak
    assert found["z_weak"].first_stage_f < 10 and found["z_weak"].weak
    assert all(c.sources == ["graph"] for c in result.candidates)
    assert result.conditioning == ["w"]
    assert "given w" in found["z_weak"].evidence and "F = " in found["z_weak"].evidence
    weak = [w for w in result.warnings if w.code == WarningCode.WEAK_INSTRUMENT]
    assert len(weak) == 1 and "z_weak" in weak[0].message
    assert result.joint_f is not None and result.joint_f > 100
    assert "untestable" in result.assumption and "z_strong, z_weak" in result.assumption
    assert f"{found['z_weak'].first_stage_f:.1f}" in result.reading


def test_instruments_the_graph_does_not_know_are_found_in_the_data() -> None:
    """With every confounder measured, an instrument is tied to t but not to y given t and
    w; a pure effect of t (t_echo) looks the same but is downstream, so it is left out."""
    df = iv_data(hidden=False)
    df["t_echo"] = df["t"] + np.random.default_rng(9).normal(size=len(df))
    graph = CausalGraph.from_edges([("w", "t"), ("w", "y"), ("t", "y")])
    result = suggest_instruments(df, graph, "t", "y")
    found = {c.name: c for c in result.candidates}
    assert set(found) == {"z_strong", "z_weak"}
    assert all(c.sources == ["data"] for c in found.values())
    assert found["z_weak"].weak and not found["z_strong"].weak
    assert found["z_strong"].outcome_p > 0.05


def test_front_door_sets_come_from_the_graph() -> None:
    graph = CausalGraph(
        nodes=["t", "m", "y", "u"],
        edges=[
            Edge(cause="t", effect="m"),
            Edge(cause="m", effect="y"),
            Edge(cause="u", effect="t"),
            Edge(cause="u", effect="y"),
        ],
        unobserved=["u"],
    )
    rng = np.random.default_rng(0)
    t = rng.normal(size=500)
    m = t + rng.normal(size=500)
    df = pd.DataFrame({"t": t, "m": m, "y": m + rng.normal(size=500)})
    result = suggest_instruments(df, graph, "t", "y")
    assert [s.variables for s in result.frontdoor] == [["m"]]
    assert "front-door" in result.frontdoor[0].evidence
    assert result.candidates == []


def test_a_categorical_treatment_is_refused() -> None:
    df = pd.DataFrame({"t": list("abc") * 20, "y": range(60)})
    with pytest.raises(ValueError, match="numeric or yes/no"):
        suggest_instruments(df, CausalGraph.from_edges([("t", "y")]), "t", "y")
