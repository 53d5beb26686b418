"""Partial-identification bounds against hand-computed tables, a published worked example
(Balke & Pearl 1997, vitamin A), and simulations whose true effect is known."""

import numpy as np
import pandas as pd
import pytest

from bench.bounds_coverage import CONFOUNDED_TRUTH, confounded, coverage
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.identify import portable_bounds as pb
from causal_assistant.tools.identify.bounds import bound_effect, lee_effect_bounds

# Treated: y = 1, 1, 1, 0 (mean 0.75); untreated: 1, 0, 0, 0, 0, 1 (mean 1/3); P(T=1) = 0.4.
SMALL = pd.DataFrame({"t": [1] * 4 + [0] * 6, "y": [1, 1, 1, 0, 1, 0, 0, 0, 0, 1]})


def by_kind(result):
    return {b.kind: b for b in result.bounds}


def test_manski_and_monotone_bounds_match_the_hand_computation():
    # E[Y1] in [0.4*0.75, 0.4*0.75 + 0.6] = [0.3, 0.9]; E[Y0] in [0.6/3, 0.2 + 0.4] = [0.2, 0.6]
    # MTR: E[Y1] >= 0.3 + 0.6/3 = 0.5, E[Y0] <= 0.2 + 0.4*0.75 = 0.5 -> [0, 0.7]
    # MTS: E[Y1] <= 0.75, E[Y0] >= 1/3 -> [-0.3, 0.75 - 1/3]
    bounds = by_kind(bound_effect(SMALL, "t", "y"))
    expected = {
        "no_assumption": (-0.3, 0.7),
        "mtr": (0.0, 0.7),
        "mts": (-0.3, 0.75 - 1 / 3),
        "mtr_mts": (0.0, 0.75 - 1 / 3),
    }
    for kind, (low, high) in expected.items():
        assert bounds[kind].low == pytest.approx(low, abs=1e-12), kind
        assert bounds[kind].high == pytest.approx(high, abs=1e-12), kind
    assert bounds["no_assumption"].high - bounds["no_assumption"].low == pytest.approx(1.0)
    assert not bounds["no_assumption"].sign_determined
    assert "comes from the assumption, not from the data" in bounds["mtr"].sign


def test_stated_range_and_reversed_directions():
    frame = SMALL.assign(y=SMALL.y * 10)
    result = bound_effect(frame, "t", "y", outcome_range=(0, 20), mtr_direction=-1)
    assert result.range_source == "stated"
    b = by_kind(result)
    # E[Y1] in [3, 3 + 12] ; E[Y0] in [2, 2 + 8] -> [-7, 13]
    assert (b["no_assumption"].low, b["no_assumption"].high) == pytest.approx((-7, 13))
    # decreasing response: E[Y1|T=0] <= m0 = 10/3, E[Y0|T=1] >= m1 = 7.5 -> upper 0
    assert b["mtr"].high == pytest.approx(0.0) and b["mtr"].low == pytest.approx(-7)
    observed = bound_effect(SMALL.assign(y=SMALL.y * 3 + 2), "t", "y")
    assert observed.range_source == "observed"
    assert "smallest and largest values observed" in observed.bounds[0].assumptions
    with pytest.raises(InputError, match="outside the stated range"):
        bound_effect(frame, "t", "y", outcome_range=(0, 5))


def test_contradicted_assumptions_give_an_empty_set():
    # The treated do worse (0.25 vs 1/3 untreated) yet both monotone assumptions say better.
    flipped = SMALL.assign(y=[1, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    bounds = by_kind(bound_effect(flipped, "t", "y", mtr_direction=1, mts_direction=1))
    assert bounds["mtr_mts"].low is None and bounds["mtr_mts"].high is None
    assert "contradict" in bounds["mtr_mts"].sign


def test_manski_iv_bounds_intersect_the_levels():
    # Level z=0: treated y=[1,1], untreated y=[0,0] (p=0.5) -> E[Y1] in [0.5, 1], E[Y0] in [0, 0.5]
    # Level z=1: treated y=[1,1,1], untreated y=[1] (p=0.75) -> E[Y1] in [0.75, 1],
    #            E[Y0] in [0.25, 1]; intersection: E[Y1] in [0.75, 1], E[Y0] in [0.25, 0.5]
    frame = pd.DataFrame(
        {"t": [1, 1, 0, 0, 1, 1, 1, 0], "y": [1, 1, 0, 0, 1, 1, 1, 1], "z": [0] * 4 + [1] * 4}
    )
    low, high = pb.iv_mean_independence_bounds(frame.y, frame.t, frame.z, 0.0, 1.0)
    assert (low, high) == pytest.approx((0.75 - 0.5, 1 - 0.25))
    # MIV (non-decreasing in z): level 0 keeps its bounds capped by level 1's upper bounds,
    # level 1's lower bounds are raised by level 0's: E[Y0] at z=1 in [0.25, 1] stays, etc.
    low, high = pb.miv_bounds(frame.y, frame.t, frame.z, 0.0, 1.0, direction=1)
    # E[Y1]: z0 [0.5, 1], z1 [0.75, 1] -> mean [0.625, 1]; E[Y0]: z0 [0, 0.5], z1 [0.25, 1]
    assert (low, high) == pytest.approx((0.625 - 0.75, 1 - 0.125))


def test_balke_pearl_reproduces_the_vitamin_a_bounds():
    """Balke & Pearl (1997, JASA 92:1171), vitamin A supplementation (Sommer et al.):
    -0.1946 <= ACE <= 0.0054."""
    counts = {  # (assigned z, took t, survived y): children
        (0, 0, 0): 74,
        (0, 0, 1): 11514,
        (1, 0, 0): 34,
        (1, 0, 1): 2385,
        (1, 1, 0): 12,
        (1, 1, 1): 9663,
    }
    rows = [key for key, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["z", "t", "y"])
    low, high = pb.balke_pearl_bounds(pb.conditional_probabilities(frame.y, frame.t, frame.z))
    assert (round(low, 4), round(high, 4)) == (-0.1946, 0.0054)
    bounds = by_kind(bound_effect(frame, "t", "y", instrument="z"))
    assert bounds["balke_pearl"].low == pytest.approx(low)
    assert bounds["balke_pearl"].low <= bounds["no_assumption"].high


def test_balke_pearl_collapses_to_a_point_under_full_compliance():
    frame = confounded(1)
    frame["treat"] = frame["coin"]
    table = pb.conditional_probabilities(frame.outcome, frame.treat, frame.coin)
    low, high = pb.balke_pearl_bounds(table)
    itt = frame.outcome[frame.coin == 1].mean() - frame.outcome[frame.coin == 0].mean()
    assert low == pytest.approx(itt) and high == pytest.approx(itt)


def test_balke_pearl_is_infeasible_when_the_instrument_inequality_fails():
    # Z moves Y among units that never take treatment: Z cannot reach Y only through T.
    table = [[[0.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]]
    assert pb.balke_pearl_bounds(table) is None


def test_lee_bounds_trim_the_hand_computed_share():
    # Treated: 4 of 5 recorded (1, 2, 3, 4); untreated: 3 of 5 recorded (1, 2, 3), mean 2.
    # Trim (0.8 - 0.6) / 0.8 = 25% of treated: lowest 3 mean 2, highest 3 mean 3 -> [0, 1]
    frame = pd.DataFrame(
        {"t": [1] * 5 + [0] * 5, "y": [1, 2, 3, 4, np.nan, 1, 2, 3, np.nan, np.nan]}
    )
    bound = lee_effect_bounds(frame, "t", "y")
    assert (bound.low, bound.high) == pytest.approx((0.0, 1.0))
    assert "25.0% of the treated" in bound.reading
    with pytest.raises(InputError, match="nothing for Lee bounds"):
        lee_effect_bounds(SMALL, "t", "y")


def test_the_code_snippet_recomputes_the_bounds():
    frame = confounded(3)
    result = bound_effect(frame, "treat", "outcome", instrument="coin", monotone_instrument="coin")
    namespace = {"df": frame, "pd": pd, "np": np}
    namespace.update({f.__name__: f for f in pb.PORTABLE_FUNCTIONS})
    exec(result.code, namespace)
    for bound in result.bounds:
        assert namespace["bounds"][bound.kind] == pytest.approx((bound.low, bound.high))
        assert namespace["intervals"][bound.kind] == pytest.approx((bound.ci_low, bound.ci_high))


def test_bad_inputs_get_a_reason():
    with pytest.raises(InputError, match="yes/no treatment"):
        bound_effect(pd.DataFrame({"t": [0, 1, 2], "y": [0, 1, 1]}), "t", "y")
    with pytest.raises(InputError, match="No column"):
        bound_effect(SMALL, "t", "nope")


@pytest.mark.slow
def test_the_truth_lies_inside_every_bound_in_simulations():
    rows = coverage(200)
    assert {r["bound"] for r in rows} >= {"no_assumption", "mtr_mts", "balke_pearl", "lee"}
    for row in rows:
        assert row["coverage"] >= 0.95, row


def test_a_false_assumption_misses_the_truth():
    """The coverage check can fail: claiming negative selection when selection is positive
    puts the raw difference, which overstates the effect, below the bounds' floor."""
    misses = 0
    for seed in range(20):
        result = bound_effect(confounded(seed), "treat", "outcome", mts_direction=-1)
        mts = by_kind(result)["mts"]
        misses += not (mts.low <= CONFOUNDED_TRUTH <= mts.high)
    assert misses == 20


def test_the_picture_draws_every_bound_including_an_empty_one():
    from causal_assistant.tools.export.bounds_plot import draw_bounds

    flipped = SMALL.assign(y=[1, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    result = bound_effect(flipped, "t", "y", mtr_direction=1, mts_direction=1)
    png = draw_bounds(result.bounds, treatment="t", outcome="y", scale=result.scale, naive=-0.08)
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_imbens_manski_critical_value_runs_from_one_to_two_sided():
    assert pb.imbens_manski(0.0, 0.0, 1.0, 1.0) == pytest.approx((-1.959964, 1.959964))
    assert pb.imbens_manski(0.0, 100.0, 1.0, 1.0) == pytest.approx((-1.644854, 101.644854))
    low, high = pb.imbens_manski(0.0, 1.0, 1.0, 1.0)
    assert 1.644854 < -low < 1.959964 and high == pytest.approx(1 - low)


def endpoint_truth(seed: int, n: int = 500) -> pd.DataFrame:
    """The treated would all have had y = 1 untreated, the untreated all y = 0 treated: the
    true effect (-0.35) sits exactly on the no-assumption lower bound."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    y = np.where(t == 1, rng.random(n) < 0.7, rng.random(n) < 0.4).astype(int)
    return pd.DataFrame({"t": t, "y": y})


ENDPOINT_TRUTH = 0.5 * 0.7 - (0.5 * 1.0 + 0.5 * 0.4)


@pytest.mark.slow
def test_intervals_cover_a_truth_on_the_edge_of_the_bounds():
    """200 draws: the estimated bounds hold the truth only about half the time (it sits on
    their edge), the Imbens–Manski interval about 95% of the time (at least 92%)."""
    inside = covered = 0
    draws = 200
    for seed in range(draws):
        bound = bound_effect(endpoint_truth(seed), "t", "y", interval_reps=100, seed=seed).bounds[0]
        assert bound.ci_low < bound.low and bound.ci_high > bound.high
        inside += bound.low <= ENDPOINT_TRUTH <= bound.high
        covered += bound.ci_low <= ENDPOINT_TRUTH <= bound.ci_high
    assert inside / draws < 0.7
    assert covered / draws >= 0.92


def test_drawn_arm_moments_equal_those_of_the_drawn_rows():
    """The bootstrap reads each resample's arm moments off its draw counts; they are the
    moments of a copy of the drawn rows, and an arm no draw contains gives NaN as before."""
    rng = np.random.default_rng(4)
    y, t = rng.random(400), (rng.random(400) < 0.3).astype(float)
    rows = rng.integers(0, 400, 400)
    assert np.allclose(pb.drawn_arm_moments(y, t, rows), pb.arm_moments(y[rows], t[rows]))
    untreated_only = np.flatnonzero(t == 0)[:50]
    with np.errstate(invalid="ignore", divide="ignore"):
        share, treated_mean, control_mean = pb.drawn_arm_moments(y, t, untreated_only)
    assert share == 0 and np.isnan(treated_mean)
    assert control_mean == pytest.approx(y[untreated_only].mean())
