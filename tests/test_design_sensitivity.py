"""Sensitivity of an instrument's exclusion (Conley et al. 2012, union of intervals) and of
parallel trends (Rambachan & Roth 2023, relative magnitudes): identities, a library
cross-check, hand-computed numbers and a coverage simulation."""

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS

from causal_assistant.tools.errors import InputError
from causal_assistant.tools.refute.exclusion import plausibly_exogenous
from causal_assistant.tools.refute.parallel_trends import max_pre_change, relative_magnitudes

Z95 = 1.959963984540054


def iv_data(seed: int, n: int = 1000, direct: float = 0.0, beta: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u, w, z = rng.standard_normal((3, n))
    x = 0.5 * z + 0.5 * w + u + rng.standard_normal(n)
    y = beta * x + direct * z + 0.7 * w + u + rng.standard_normal(n)
    return pd.DataFrame({"y": y, "x": x, "z": z, "w": w})


def test_no_direct_effect_is_the_usual_robust_iv_interval():
    frame = iv_data(0)
    result = plausibly_exogenous(frame, "y", "x", "z", (0.0, 0.0), covariates=("w",))
    fit = IV2SLS.from_formula("y ~ 1 + w + [x ~ z]", frame).fit(cov_type="robust", debiased=True)
    assert result.estimate == pytest.approx(fit.params["x"], rel=1e-10)
    se = (result.high - result.low) / (2 * Z95)
    assert se == pytest.approx(fit.std_errors["x"], rel=1e-8)


def test_union_and_breakdown_are_exact():
    frame = iv_data(1)
    base = plausibly_exogenous(frame, "y", "x", "z", (0.0, 0.0))
    wide = plausibly_exogenous(frame, "y", "x", "z", (-0.1, 0.3))
    # the estimate moves by -gamma / first stage, so the union's ends come from the ends
    left = plausibly_exogenous(frame, "y", "x", "z", (0.3, 0.3))
    right = plausibly_exogenous(frame, "y", "x", "z", (-0.1, -0.1))
    assert (left.low + left.high) / 2 == pytest.approx(base.estimate - 0.3 / base.first_stage)
    assert left.estimate == base.estimate  # the reported estimate is always the gamma = 0 one
    assert (wide.low, wide.high) == pytest.approx((left.low, right.high))
    gamma = base.breakdown_gamma
    assert gamma > 0
    at = [plausibly_exogenous(frame, "y", "x", "z", (g, g)) for g in (gamma, -gamma)]
    assert min(abs(r.low) for r in at) == pytest.approx(0.0, abs=1e-8)
    inside = plausibly_exogenous(frame, "y", "x", "z", (-0.99 * gamma, 0.99 * gamma))
    assert inside.low > 0 and "excludes zero" in inside.reading


@pytest.mark.slow
def test_union_covers_the_truth_when_the_direct_effect_is_in_range():
    """A direct effect of 0.2: the usual IV interval misses the truth most of the time, the
    union over [0, 0.4] covers it at least 95% of the time."""
    usual = union = 0
    draws = 200
    for seed in range(draws):
        frame = iv_data(seed, direct=0.2)
        plain = plausibly_exogenous(frame, "y", "x", "z", (0.0, 0.0), covariates=("w",))
        allowed = plausibly_exogenous(frame, "y", "x", "z", (0.0, 0.4), covariates=("w",))
        usual += plain.low <= 1.0 <= plain.high
        union += allowed.low <= 1.0 <= allowed.high
    assert union / draws >= 0.95 and usual / draws < 0.5


def test_exclusion_bad_inputs():
    frame = iv_data(2)
    with pytest.raises(InputError, match="low to high"):
        plausibly_exogenous(frame, "y", "x", "z", (0.3, 0.1))
    with pytest.raises(InputError, match="does not move"):
        plausibly_exogenous(frame.assign(z=1.0), "y", "x", "z", (0.0, 0.1))


def test_relative_magnitudes_by_hand():
    # pre path 0.1, -0.1, then 0 at the reference period: changes -0.2 and 0.1, so D = 0.2
    assert max_pre_change([0.1, -0.1]) == pytest.approx(0.2)
    result = relative_magnitudes([1.0, 1.2], [0.1, 0.1], [0.1, -0.1], m_bar=1.0)
    first, second = result.periods
    assert (first.low, first.high) == pytest.approx((1 - 0.2 - Z95 * 0.1, 1 + 0.2 + Z95 * 0.1))
    assert (second.low, second.high) == pytest.approx((1.2 - 0.4 - Z95 * 0.1, 1.6 + Z95 * 0.1))
    assert first.breakdown_m == pytest.approx((1 - Z95 * 0.1) / 0.2)
    assert second.breakdown_m == pytest.approx((1.2 - Z95 * 0.1) / 0.4)
    exact = relative_magnitudes([1.0], [0.1], [0.1, -0.1], m_bar=0.0).periods[0]
    assert (exact.low, exact.high) == pytest.approx((1 - Z95 * 0.1, 1 + Z95 * 0.1))
    assert "breakdown value" in result.reading
    flat = relative_magnitudes([0.1], [0.1], [0.0])
    assert flat.periods[0].breakdown_m is None and "no change to scale" in flat.reading
