"""Estimates against known truths: DoWhy's linear generator and the IHDP surfaces."""

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.estimate.estimation import estimate_effect
from causal_assistant.tools.identify.identification import identify_effect
from causal_assistant.tools.model.modeling import propose_graph


def run_pipeline(df: pd.DataFrame, treatment: str, outcome: str, target: str = "ate"):
    profile = profile_table(df)
    graph = propose_graph(df, profile, treatment, outcome).graph
    data = build_model_data(df, graph, treatment, outcome)
    ident = identify_effect(data)
    return estimate_effect(data, ident, target=target, seed=0, n_bootstrap=60)


@pytest.mark.parametrize("binary", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_linear_dataset_recovers_beta(binary: bool) -> None:
    import dowhy.datasets

    np.random.seed(3)
    spec = dowhy.datasets.linear_dataset(
        beta=10, num_common_causes=4, num_samples=1500, treatment_is_binary=binary
    )
    result = run_pipeline(spec["df"], spec["treatment_name"][0], spec["outcome_name"])
    estimate = result.estimate
    assert estimate.value == pytest.approx(10, abs=0.5)
    assert estimate.ci_low <= 10 <= estimate.ci_high
    assert result.estimate.method == "backdoor.linear_regression"


def ihdp_frame(surface, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    y, t, x, true_te = surface(random_state=seed)
    names = [
        "bw",
        "b.head",
        "preterm",
        "birth.o",
        "nnhealth",
        "momage",
        "sex",
        "twin",
        "b.marr",
        "mom.lths",
        "mom.hs",
        "mom.scoll",
        "cig",
        "first",
        "booze",
        "drugs",
        "work.dur",
        "prenatal",
        "site1",
        "site2",
        "site3",
        "site4",
        "site5",
        "site6",
        "site7",
    ]
    df = pd.DataFrame(x[:, 1:], columns=names)  # column 0 is the intercept
    df["treat"], df["iq"] = t.astype(int), y
    return df, t, true_te


@pytest.mark.slow
def test_ihdp_surface_a_error_and_coverage() -> None:
    """Surface A has a constant effect of 4; over seven draws the estimate should be close
    and its 95% interval should cover the truth in most of them."""
    from econml.data.dgps import ihdp_surface_A

    errors, covered = [], 0
    for seed in range(1, 8):
        df, _, true_te = ihdp_frame(ihdp_surface_A, seed)
        estimate = run_pipeline(df, "treat", "iq").estimate
        errors.append(abs(estimate.value - true_te.mean()))
        covered += estimate.ci_low <= true_te.mean() <= estimate.ci_high
    assert np.mean(errors) < 0.2
    assert max(errors) < 0.5
    assert covered >= 5


@pytest.mark.slow
def test_ihdp_surface_b_att() -> None:
    """Surface B's effect varies; by construction its ATT is exactly 4 (Hill 2011)."""
    from econml.data.dgps import ihdp_surface_B

    df, t, true_te = ihdp_frame(ihdp_surface_B, 1)
    truth = true_te[t == 1].mean()
    result = run_pipeline(df, "treat", "iq", target="att")
    assert result.estimate.method == "backdoor.propensity_score_weighting"
    assert result.estimate.value == pytest.approx(truth, abs=0.6)
    assert result.estimate.ci_low <= truth <= result.estimate.ci_high
    assert {a.method for a in result.alternatives} >= {"backdoor.linear_regression"}
