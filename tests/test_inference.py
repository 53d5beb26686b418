"""Inference a referee accepts: robust and clustered intervals that cover, effects on the
scale users read, ATT/ATC from the outcome model, subgroup effects with a test of their
difference, and estimators that disagree saying so first. All data are simulated with a
known truth."""

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.estimate.estimation import (
    EffectEstimate,
    EstimationResult,
    _check_agreement,
)
from causal_assistant.tools.estimate.scale import describe_scale, is_log_outcome
from causal_assistant.tools.estimate.subgroups import effects_by_group
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.portable import regression_interactions, robust_ols
from causal_assistant.tools.results import WarningCode


def _covers(simulate, cluster, draws: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(draws):
        frame = simulate(rng)
        numbers = robust_ols(frame, "t", "y", ["x"], cluster)
        hits.append(numbers["ci_low"] <= 1.0 <= numbers["ci_high"])
    return float(np.mean(hits))


def _heteroskedastic(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x - 1)))).astype(float)
    noise = rng.normal(size=n) * np.where(t == 1, 3.0, 1.0)
    return pd.DataFrame({"t": t, "x": x, "y": t + x + noise})


def _clustered(rng: np.random.Generator, groups: int = 40, size: int = 20) -> pd.DataFrame:
    g = np.repeat(np.arange(groups), size)
    shock, lean = rng.normal(size=groups)[g], rng.normal(size=groups)[g]
    x = rng.normal(size=len(g))
    t = (rng.uniform(size=len(g)) < 1 / (1 + np.exp(-lean))).astype(float)
    y = t + x + 1.5 * shock * (1 + t) + rng.normal(size=len(g))
    return pd.DataFrame({"t": t, "x": x, "y": y, "_cluster": g})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("simulate", "cluster", "se_type"),
    [(_heteroskedastic, None, "HC1"), (_clustered, "_cluster", "clustered (40 groups)")],
)
def test_robust_and_clustered_intervals_cover(simulate, cluster, se_type) -> None:
    assert 0.92 <= _covers(simulate, cluster, draws=200, seed=0) <= 0.98
    assert (
        robust_ols(simulate(np.random.default_rng(1)), "t", "y", ["x"], cluster)["se_type"]
        == se_type
    )


def _heterogeneous(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """The effect is 1 + x and the treated have higher x, so ATT > ATE > ATC."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    y = 2 * x + (1 + x) * t + rng.normal(size=n)
    return pd.DataFrame({"t": t, "x": x, "y": y})


@pytest.mark.parametrize("target", ["ate", "att", "atc"])
def test_att_and_atc_from_regression_with_interactions(target: str) -> None:
    df = _heterogeneous()
    chosen = {"att": df.t == 1, "atc": df.t == 0}.get(target, df.t >= 0)
    truth = 1 + df.x[chosen].mean()
    numbers = regression_interactions(df, "t", "y", ["x"], target)
    assert numbers["ci_low"] < truth < numbers["ci_high"]
    assert numbers["value"] == pytest.approx(truth, abs=0.08)


def test_effects_by_group_with_a_test_of_difference() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    female = rng.integers(0, 2, n)
    age = rng.normal(40, 10, n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-(age - 40) / 10))).astype(int)
    y = 0.05 * age + np.where(female == 1, 1.0, 2.0) * t + rng.normal(size=n)
    df = pd.DataFrame({"female": female, "age": age, "t": t, "y": y})
    graph = CausalGraph.from_edges([("age", "t"), ("age", "y"), ("t", "y"), ("female", "y")])
    data = build_model_data(df, graph, "t", "y")
    result = effects_by_group(df, data, ["age", "female"], "female")
    found = {g.group: g for g in result.groups}
    assert found["1"].ci_low < 1.0 < found["1"].ci_high
    assert found["0"].ci_low < 2.0 < found["0"].ci_high
    assert result.difference_p < 0.001 and result.se_type == "HC1"
    assert "differ by more than chance" in result.reading


def test_a_yes_no_outcome_reads_in_percentage_points_with_ratios() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 0.5).astype(int)
    y = (rng.uniform(size=n) < 0.2 + 0.1 * t).astype(int)
    df = pd.DataFrame({"x": x, "t": t, "y": y})
    data = build_model_data(df, CausalGraph.from_edges([("t", "y"), ("x", "y")]), "t", "y")
    estimate = EffectEstimate(method="m", label="m", target="ate", value=0.1)
    scale = describe_scale(data, estimate)
    assert scale.unit == "percentage points" and scale.factor == 100
    assert scale.risk_ratio == pytest.approx(1.5, abs=0.15)
    assert scale.odds_ratio > scale.risk_ratio
    assert is_log_outcome("lwage") and is_log_outcome("log_income") and not is_log_outcome("wage")


def test_disagreement_beyond_intervals_leads_with_cause_and_remedy() -> None:
    def est(label: str, value: float, half: float) -> EffectEstimate:
        return EffectEstimate(
            method=label, label=label, target="ate", value=value,
            ci_low=value - half, ci_high=value + half,
        )  # fmt: skip

    result = EstimationResult(
        estimate=est("regression", 0.33, 0.05),
        alternatives=[est("weighting", 0.45, 0.05), est("matching", -0.02, 0.1)],
        n_rows=1000,
        treatment_kind="binary",
    )
    result.warn(WarningCode.SMALL_SAMPLE, "an earlier caveat")
    _check_agreement(result)
    first = result.warnings[0]
    assert first.code == WarningCode.ESTIMATORS_DISAGREE
    assert "likely cause" in first.message and "Try" in first.message
    agreeing = EstimationResult(
        estimate=est("regression", 0.33, 0.1),
        alternatives=[est("weighting", 0.40, 0.1)],
        n_rows=1000,
        treatment_kind="binary",
    )
    _check_agreement(agreeing)
    assert not agreeing.warnings
