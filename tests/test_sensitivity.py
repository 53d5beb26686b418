"""Sensitivity to a hidden confounder against published worked examples (Cinelli & Hazlett
2020, Darfur; VanderWeele & Ding 2017), exact omitted-variable identities, and the
pass/warn/fail rule on simulated data where the answer is known."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from causal_assistant.tools.refute import sensitivity as s


def test_darfur_robustness_values():
    """Cinelli & Hazlett (2020), Table 1: 'directly harmed' on peace attitudes, t = 4.18 with
    783 degrees of freedom: R²Y~D|X = 2.19%, RV = 13.9%, RV_alpha=0.05 = 7.6%."""
    t, dof = 4.18, 783
    assert round(s.partial_r2(t, dof), 3) == 0.022
    assert round(s.robustness_value(t, dof), 3) == 0.139
    assert round(s.robustness_value(t, dof, alpha=0.05), 3) == 0.076
    # sensemakr's unrounded t (0.09731582 / 0.02325654) gives the same three decimals.
    t_full = 0.09731582 / 0.02325654
    assert round(s.partial_r2(t_full, dof), 4) == 0.0219
    assert round(s.robustness_value(t_full, dof, alpha=0.05), 3) == 0.076
    # An interval already spanning zero needs no confounder at all to include zero.
    assert s.robustness_value(1.5, dof, alpha=0.05) == 0.0


def test_vanderweele_ding_e_values():
    """VanderWeele & Ding (2017): RR 3.9 -> E-value 7.26; its interval limit 1.8 -> 3.0."""
    assert round(s.e_value_of(3.9), 2) == 7.26
    assert s.e_value_of(1.8) == pytest.approx(3.0)
    assert s.e_value_of(1 / 3.9) == pytest.approx(s.e_value_of(3.9))
    assert s.e_value_of(1.0) == 1.0


def test_e_values_on_both_scales():
    frame = pd.DataFrame({"t": [False, True] * 50, "y": [0.0] * 75 + [1.0] * 25})
    base = frame.y[~frame.t].mean()
    binary = s.e_values(frame, "t", "y", base, ci_low=0.5 * base, ci_high=1.5 * base)
    assert binary["risk_ratio"] == pytest.approx(2.0)
    assert binary["e_value"] == pytest.approx(2 + math.sqrt(2))
    assert binary["e_value_ci"] == pytest.approx(s.e_value_of(1.5))  # the nearer limit
    continuous = frame.assign(y=np.arange(100.0))
    d = 0.5 * continuous.y.std()
    rr = math.exp(0.91 * 0.5)
    e = s.e_values(continuous, "t", "y", d, ci_low=-1.0, ci_high=2 * d)
    assert e["e_value"] == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert e["e_value_ci"] == 1.0 and e["mask_size"] == pytest.approx(2 * d)
    assert e["e_value_mask"] == pytest.approx(s.e_value_of(math.exp(0.91 * 1.0) / rr))


def confounded(n=2000, effect=0.3, seed=0, z_strength=0.5):
    rng = np.random.default_rng(seed)
    x, z = rng.standard_normal((2, n))
    d = 0.6 * x + z_strength * z + rng.standard_normal(n)
    y = effect * d + 0.8 * x + z_strength * z + rng.standard_normal(n)
    return pd.DataFrame({"d": d, "y": y, "x": x, "z": z})


def ols(frame, columns):
    return sm.OLS(frame.y, sm.add_constant(frame[columns])).fit()


def test_omitted_variable_bias_identities_are_exact():
    """Cinelli & Hazlett's bias and standard-error formulas are algebraic identities: with
    the omitted z's partial R², they turn the short regression into the long one."""
    frame = confounded()
    short, long = ols(frame, ["d", "x"]), ols(frame, ["d", "x", "z"])
    r2_dz = (
        1
        - sm.OLS(frame.d, sm.add_constant(frame[["x", "z"]])).fit().ssr
        / sm.OLS(frame.d, sm.add_constant(frame[["x"]])).fit().ssr
    )
    r2_yz = 1 - long.ssr / short.ssr
    se, dof = short.bse["d"], short.df_resid
    bias = s.confounder_bias(r2_dz, r2_yz, se, dof)
    assert bias == pytest.approx(abs(short.params["d"] - long.params["d"]), rel=1e-9)
    adjusted, low, high = s.adjusted_effect(short.params["d"], se, dof, r2_dz, r2_yz)
    assert adjusted == pytest.approx(long.params["d"], rel=1e-9)
    assert [low, high] == pytest.approx(long.conf_int().loc["d"].tolist(), rel=1e-9)


def test_strength_multiples_reach_their_goals():
    args = (0.3, 0.05, 500, 0.1, 0.2, True)
    k = s.strength_multiple(*args, "zero")
    assert s.confounder_bias(*s.benchmark_strength(k, 0.1, 0.2, True), 0.05, 500) == (
        pytest.approx(0.3)
    )
    k_sig = s.strength_multiple(*args, "significance")
    adjusted, low, _ = s.adjusted_effect(
        0.3, 0.05, 500, *s.benchmark_strength(k_sig, 0.1, 0.2, True)
    )
    assert low == pytest.approx(0.0, abs=1e-6) and k_sig < k


def check(frame, effect_column="d", adjust=("x",), others=None):
    fit = ols(frame, [effect_column, *adjust])
    low, high = fit.conf_int().loc[effect_column]
    adjustment = {name: [name] for name in adjust}
    return s.sensitivity_check(
        frame, effect_column, "y", fit.params[effect_column], low, high, adjustment, others
    )


def test_a_robust_effect_passes_and_a_fragile_one_fails():
    strong = check(confounded(effect=1.0))
    assert strong["status"] == "pass" and strong["details"]["rule"] == "benchmarks"
    # No effect; z (measured, left out) confounds: the estimate looks clearly positive.
    fragile = check(confounded(effect=0.0, z_strength=0.8), others={"z": ["z"]})
    assert fragile["details"]["linear"]["estimate"] > 0.2
    assert fragile["details"]["worst"]["name"] == "z"
    assert fragile["status"] == "fail"
    reading = s.sensitivity_reading("fail", fragile["details"], "d", "y")
    assert "weaker than a variable already measured" in reading
    assert "would make its interval include zero" in reading


def test_a_null_result_is_never_failed_for_being_explained_away():
    frame = confounded(effect=0.0, seed=3)
    result = check(frame, adjust=("x", "z"))
    assert result["details"]["null"] and result["details"]["rule"] == "null"
    assert result["status"] in ("pass", "warn")
    reading = s.sensitivity_reading(result["status"], result["details"], "d", "y")
    assert reading.startswith("The interval includes zero, so there is nothing to explain away")
    assert "mask" in reading and "the interval's far limit" in reading
    assert "never fails" in s.RULES["null"]


def test_an_e_value_of_1_37_alone_is_a_warning_not_a_pass():
    # A yes/no outcome at 40% untreated risk; an interval whose nearer limit is RR 1.1.
    frame = pd.DataFrame({"t": [False, True] * 100, "y": ([1.0] * 4 + [0.0] * 6) * 20})
    base = frame.y[~frame.t].mean()
    estimate = base * (1.37 - 1)  # risk ratio 1.37 at the untreated risk
    result = s.sensitivity_check(frame, "t", "y", estimate, base * 0.1, base * 0.64)
    assert result["details"]["rule"] == "e_value"
    assert result["details"]["e_value"]["e_value_ci"] < 2
    assert result["status"] == "warn"
    reading = s.sensitivity_reading("warn", result["details"], "t", "y")
    assert "no reassurance by itself" in reading
    assert "at least 2" in s.RULES["e_value"]


def test_the_contour_plot_marks_benchmarks():
    from causal_assistant.tools.export.sensitivity_plot import draw_contours

    frame = confounded(effect=0.1)
    linear = s.ols_sensitivity(frame, "d", "y", {"x": ["x"]}, {"z": ["z"]})
    png = draw_contours(linear, "d", "y")
    assert png.startswith(b"\x89PNG") and len(png) > 10000
