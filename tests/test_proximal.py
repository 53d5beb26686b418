"""The linear proximal estimator on simulations with a known effect: the naive estimate is
biased, the proximal one is not, its interval (a 2SLS sandwich checked by hand) covers the
truth, and the candidate proxies the modeler suggests."""

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.errors import InputError
from causal_assistant.tools.identify import portable_proximal as pp
from causal_assistant.tools.identify.proximal import proximal_effect, suggest_proxies

TRUTH = 2.0


def proxied(seed: int, n: int = 2000) -> pd.DataFrame:
    """A hidden U drives treatment and outcome; Z (may move the treatment, not the outcome)
    and W (may move the outcome, not moved by the treatment) are noisy traces of U."""
    rng = np.random.default_rng(seed)
    u, x, *noise = rng.standard_normal((7, n))
    z = 0.8 * u + 0.3 * x + noise[0]
    w = 0.9 * u + 0.2 * x + noise[1]
    a = 0.7 * u + 0.4 * x + 0.3 * z + noise[2]
    y = TRUTH * a + 1.2 * u + 0.5 * x + 0.3 * w + noise[3]
    return pd.DataFrame({"a": a, "y": y, "z": z, "w": w, "x": x})


def sandwich_2sls(frame: pd.DataFrame) -> tuple[float, float]:
    """The textbook 2SLS estimate and HC1 standard error, by hand: regressors (1, a, x, w),
    instruments (1, a, x, z); the residual uses the observed w."""
    n = len(frame)
    ones = np.ones(n)
    regressors = np.column_stack([ones, frame.a, frame.x, frame.w])
    instruments = np.column_stack([ones, frame.a, frame.x, frame.z])
    projected = instruments @ np.linalg.lstsq(instruments, regressors, rcond=None)[0]
    beta = np.linalg.solve(projected.T @ regressors, projected.T @ frame.y)
    residual = frame.y - regressors @ beta
    bread = np.linalg.inv(projected.T @ projected)
    meat = (projected * residual.to_numpy()[:, None] ** 2).T @ projected
    variance = bread @ meat @ bread * n / (n - regressors.shape[1])
    return float(beta[1]), float(np.sqrt(variance[1, 1]))


def test_proximal_recovers_the_effect_the_naive_estimate_misses() -> None:
    frame = proxied(0, n=20_000)
    result = proximal_effect(frame, "a", "y", "z", "w", covariates=("x",))
    assert abs(result.naive_value - TRUTH) > 0.5  # confounding by U
    assert result.value == pytest.approx(TRUTH, abs=0.1)
    assert result.ci_low < TRUTH < result.ci_high
    assert not (result.naive_ci_low < TRUTH < result.naive_ci_high)
    assert result.first_stage_f > 100
    assert len(result.assumptions) == 5 and "no effect of its own on y" in result.assumptions[0]
    assert "proxies of the hidden confounder" in result.reading


def test_two_stages_and_the_sandwich_match_the_hand_computation() -> None:
    frame = proxied(1)
    result = proximal_effect(frame, "a", "y", "z", "w", covariates=("x",))
    value, se = sandwich_2sls(frame)
    assert result.value == pytest.approx(value, rel=1e-9)
    assert result.se == pytest.approx(se, rel=1e-6)
    assert pp.proximal_two_stage(frame, "y", "a", "z", "w", ("x",)) == pytest.approx(value)
    # the snippet recomputes the numbers in the exported script
    namespace = {"df": frame, **{f.__name__: f for f in pp.PORTABLE_FUNCTIONS}}
    exec(result.code, namespace)
    assert namespace["proximal"]["value"] == pytest.approx(result.value, rel=1e-12)


@pytest.mark.slow
def test_the_interval_covers_the_truth_in_repeated_draws() -> None:
    """200 draws of 1,000 rows: the sandwich interval covers the truth about 95% of the
    time (at least 92%, three binomial standard errors below), the naive one almost never."""
    covered = naive = 0
    draws = 200
    for seed in range(draws):
        frame = proxied(100 + seed, n=1000)
        numbers = pp.proximal_fit(frame, "y", "a", "z", "w", ("x",))
        covered += numbers["ci_low"] <= TRUTH <= numbers["ci_high"]
        naive += numbers["naive_ci_low"] <= TRUTH <= numbers["naive_ci_high"]
    assert covered / draws >= 0.92
    assert naive / draws <= 0.05


def test_weak_proxies_are_flagged() -> None:
    frame = proxied(2)
    frame["z"] = np.random.default_rng(9).standard_normal(len(frame))  # no trace of U
    result = proximal_effect(frame, "a", "y", "z", "w", covariates=("x",))
    assert "weak_instrument" in {w.code for w in result.warnings}


def test_bad_proxies_get_a_reason() -> None:
    frame = proxied(3, n=200)
    with pytest.raises(InputError, match="two different columns"):
        proximal_effect(frame, "a", "y", "z", "z")
    with pytest.raises(InputError, match="No column"):
        proximal_effect(frame, "a", "y", "z", "nope")
    frame["label"] = "x"
    with pytest.raises(InputError, match="numeric"):
        proximal_effect(frame, "a", "y", "z", "label")


def test_candidate_proxies_come_from_names_only() -> None:
    columns = ["treat", "earnings", "earnings_pre", "nc_flu_shot", "placebo_visits", "age"]
    assert suggest_proxies(columns, "treat", "earnings") == [
        "earnings_pre",
        "nc_flu_shot",
        "placebo_visits",
    ]
    assert suggest_proxies(["treat", "y", "age", "prevalence"], "treat", "y") == []
