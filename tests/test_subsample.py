"""Matching and stratification as alternatives fit a seeded subsample of a large table:
labelled so, the same rows (and numbers) for the same seed, the primary on every row."""

import numpy as np
import pandas as pd

from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.estimate import estimation
from causal_assistant.tools.identify.identification import identify_effect
from causal_assistant.tools.model.graphs import CausalGraph


def _estimate(monkeypatch, seed: int):
    monkeypatch.setattr(estimation, "ALTERNATIVE_ROWS", 300)
    rng = np.random.default_rng(0)
    x = rng.normal(size=1200)
    t = (x + rng.normal(size=1200) > 0).astype(int)
    frame = pd.DataFrame({"x": x, "t": t, "y": 2.0 * t + x + rng.normal(size=1200)})
    graph = CausalGraph.from_edges([("x", "t"), ("x", "y"), ("t", "y")], nodes=["x", "t", "y"])
    data = build_model_data(frame, graph, "t", "y")
    return estimation.estimate_effect(data, identify_effect(data), n_bootstrap=10, seed=seed)


def test_alternatives_on_a_seeded_subsample_are_labelled_and_reproduce(monkeypatch):
    first, again = _estimate(monkeypatch, seed=3), _estimate(monkeypatch, seed=3)
    sampled = [a for a in first.alternatives if "seeded subsample of 300 of 1,200" in a.label]
    assert {a.method for a in sampled} <= set(estimation.SUBSAMPLED_ALTERNATIVES) and sampled
    assert [a.value for a in first.alternatives] == [a.value for a in again.alternatives]
    assert first.n_rows == 1200, "the primary estimate uses every row"
