"""Partial-identification cores whose source is copied verbatim into the exported script.

Same rules as ``tools.portable``: imports only numpy and scipy, every function is
self-contained, ``PORTABLE_FUNCTIONS`` lists them in dependency order. Every function
returns plain numbers, so ``tools.identify.bounds`` can wrap them in readings and the
exported ``analysis.py`` can recompute them.

Notation: Y is an outcome known to lie in ``[low, high]``, T a 0/1 treatment, p = P(T=1),
m1 = E[Y | T=1], m0 = E[Y | T=0]. Each bound is a pair (lower, upper) on the average
treatment effect E[Y(1)] - E[Y(0)], or ``None`` when the data contradict the assumptions
(their identified set is empty).
"""

import warnings

import numpy as np
from scipy import stats
from scipy.optimize import brentq, linprog


def arm_moments(y, t):
    """(share treated, mean outcome of the treated, of the untreated): what every bound on
    the same rows starts from, computed once for all of them."""
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=bool)
    return t.mean(), y[t].mean(), y[~t].mean()


def drawn_arm_moments(y, t, index):
    """``arm_moments`` of the rows ``index`` draws (a resample repeats some), read off how
    often each row is drawn: three weighted sums instead of copying the drawn rows."""
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    times = np.bincount(index, minlength=len(y)).astype(float)
    # numpy scalars, so an arm left empty gives NaN (as an empty mean does), not an error
    drawn, treated = times.sum(), times @ t
    treated_sum, total = times @ (t * y), times @ y
    return treated / drawn, treated_sum / treated, (total - treated_sum) / (drawn - treated)


def potential_means(y, t, low, high, mtr=0, mts=0, moments=None):
    """Bounds on E[Y(1)] and E[Y(0)] (Manski 1990; Manski & Pepper 2000), or None.

    The data fix each arm's own mean; the unknowns are E[Y(1) | T=0] and E[Y(0) | T=1],
    which lie in [low, high] with no assumption. ``mtr`` = +1 adds monotone treatment
    response (Y(1) >= Y(0) for every unit), -1 the reverse. ``mts`` = +1 adds monotone
    treatment selection (E[Y(s) | T=1] >= E[Y(s) | T=0] for s = 0, 1: the treated would
    have done at least as well either way), -1 the reverse. ``moments``: ``arm_moments``
    of these rows, when the caller has them.
    """
    p, m1, m0 = arm_moments(y, t) if moments is None else moments
    y1_untreated, y0_treated = [low, high], [low, high]
    if mtr > 0:  # the untreated's Y(1) is at least their Y(0); the treated's Y(0) at most Y(1)
        y1_untreated[0], y0_treated[1] = m0, m1
    elif mtr < 0:
        y1_untreated[1], y0_treated[0] = m0, m1
    if mts > 0:  # E[Y(1) | T=0] <= E[Y(1) | T=1] = m1, E[Y(0) | T=1] >= E[Y(0) | T=0] = m0
        y1_untreated[1], y0_treated[0] = min(y1_untreated[1], m1), max(y0_treated[0], m0)
    elif mts < 0:
        y1_untreated[0], y0_treated[1] = max(y1_untreated[0], m1), min(y0_treated[1], m0)
    if y1_untreated[0] > y1_untreated[1] + 1e-12 or y0_treated[0] > y0_treated[1] + 1e-12:
        return None
    mean1 = (p * m1 + (1 - p) * y1_untreated[0], p * m1 + (1 - p) * y1_untreated[1])
    mean0 = ((1 - p) * m0 + p * y0_treated[0], (1 - p) * m0 + p * y0_treated[1])
    return [float(v) for v in mean1], [float(v) for v in mean0]


def effect_bounds(means):
    """ATE bounds from bounds on E[Y(1)] and E[Y(0)] (None stays None)."""
    if means is None:
        return None
    (low1, high1), (low0, high0) = means
    return float(low1 - high0), float(high1 - low0)


def level_means(y, t, z, low, high, mtr=0):
    """Per level of ``z`` (sorted): its share and the bounds on E[Y(1)], E[Y(0)] within it."""
    y, t, z = np.asarray(y, dtype=float), np.asarray(t, dtype=bool), np.asarray(z)
    rows = []
    for level in np.unique(z):
        inside = z == level
        if t[inside].all() or not t[inside].any():
            # One arm only: its own mean is known, the other potential mean is not.
            known = float(y[inside].mean())
            arm = (known, known)
            wide = (low, high)
            means = (arm, wide) if t[inside].all() else (wide, arm)
        else:
            means = potential_means(y[inside], t[inside], low, high, mtr=mtr)
            if means is None:
                return None
        rows.append((float(inside.mean()), means))
    return rows


def iv_mean_independence_bounds(y, t, z, low, high):
    """Manski's IV bounds: if E[Y(s) | Z] does not vary with Z, each potential mean lies in
    the intersection over levels of Z of its within-level bounds (the level-set
    intersection). None when the intersections are empty: the data refute the instrument."""
    rows = level_means(y, t, z, low, high)
    bounds = []
    for arm in (0, 1):
        lower = max(means[arm][0] for _, means in rows)
        upper = min(means[arm][1] for _, means in rows)
        if lower > upper + 1e-12:
            return None
        bounds.append((lower, upper))
    return effect_bounds(bounds)


def miv_bounds(y, t, z, low, high, direction=1, mtr=0):
    """Manski & Pepper's (2000) monotone instrumental variable bounds: E[Y(s) | Z=u] moves
    with u in ``direction`` (non-decreasing for +1), so at each level the bound is the
    best of the lower bounds at levels below and of the upper bounds at levels above, then
    averaged over the distribution of Z. ``mtr`` adds monotone treatment response within
    levels. None when a lower bound exceeds an upper bound: the data refute the MIV."""
    rows = level_means(y, t, z, low, high, mtr=mtr)
    if rows is None:
        return None
    if direction < 0:
        rows = rows[::-1]
    shares = np.array([share for share, _ in rows])
    bounds = []
    for arm in (0, 1):
        lows = np.array([means[arm][0] for _, means in rows])
        highs = np.array([means[arm][1] for _, means in rows])
        tight_low = np.maximum.accumulate(lows)
        tight_high = np.minimum.accumulate(highs[::-1])[::-1]
        if (tight_low > tight_high + 1e-12).any():
            return None
        bounds.append((float(shares @ tight_low), float(shares @ tight_high)))
    low_effect, high_effect = effect_bounds(bounds)
    if mtr > 0:  # the response assumption alone already rules out a negative effect
        low_effect = max(low_effect, 0.0)
    elif mtr < 0:
        high_effect = min(high_effect, 0.0)
    return low_effect, high_effect


def response_types():
    """Balke & Pearl's 16 response types: (treatment taken at z=0, at z=1) x (outcome
    under t=0, under t=1)."""
    compliance = [(0, 0), (0, 1), (1, 0), (1, 1)]  # never-taker, complier, defier, always
    response = [(0, 0), (0, 1), (1, 0), (1, 1)]  # never, helped, hurt, always
    return [(c, r) for c in compliance for r in response]


def balke_pearl_bounds(probabilities):
    """Sharp ATE bounds for binary instrument, treatment and outcome (Balke & Pearl 1997),
    by linear programming over the 16 response types.

    ``probabilities[z][t][y]`` is P(T=t, Y=y | Z=z). The programme finds the smallest and
    largest P(helped) - P(hurt) over response-type distributions that reproduce them; it
    is infeasible, and the result None, when the data violate the instrument inequalities
    (Z must reach Y only through T, and share no cause with Y).
    """
    types = response_types()
    rows, rhs = [], []
    for z in (0, 1):
        for t in (0, 1):
            for y in (0, 1):
                rows.append([float(c[z] == t and r[t] == y) for c, r in types])
                rhs.append(float(probabilities[z][t][y]))
    rows.append([1.0] * len(types))
    rhs.append(1.0)
    effect = np.array([float(r[1] - r[0]) for _, r in types])
    found = []
    for sign in (1.0, -1.0):
        solution = linprog(
            sign * effect,
            A_eq=np.array(rows),
            b_eq=np.array(rhs),
            bounds=[(0, 1)] * len(types),
            method="highs",
        )
        if solution.status != 0:
            return None
        found.append(float(sign * solution.fun))
    return found[0], found[1]


def conditional_probabilities(y, t, z):
    """P(T=t, Y=y | Z=z) from 0/1 arrays, as Balke and Pearl's programme takes them."""
    y, t, z = (np.asarray(v).astype(int) for v in (y, t, z))
    table = [[[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]
    for level in (0, 1):
        inside = z == level
        for arm in (0, 1):
            for value in (0, 1):
                table[level][arm][value] = float(np.mean((t[inside] == arm) & (y[inside] == value)))
    return table


def trimmed_mean(values, keep, top):
    """Mean of the ``keep`` share (0-1] of the values at the top (or bottom) of their
    distribution, the boundary value weighted fractionally so the share is exact."""
    ordered = np.sort(np.asarray(values, dtype=float))
    if top:
        ordered = ordered[::-1]
    mass = keep * len(ordered)
    weights = np.clip(mass - np.arange(len(ordered)), 0.0, 1.0)
    return float(weights @ ordered / weights.sum())


def lee_bounds(y, t, observed):
    """Lee's (2009) bounds on the effect for units whose outcome would be observed under
    either treatment, when treatment is as good as random and moves observation in one
    direction only. Returns (lower, upper, trimmed share, trimmed arm)."""
    y, t, seen = np.asarray(y, dtype=float), np.asarray(t, dtype=bool), np.asarray(observed)
    seen = seen.astype(bool)
    q1, q0 = seen[t].mean(), seen[~t].mean()
    treated, control = y[t & seen], y[~t & seen]
    if q1 >= q0:
        share = (q1 - q0) / q1
        low = trimmed_mean(treated, 1 - share, top=False) - control.mean()
        high = trimmed_mean(treated, 1 - share, top=True) - control.mean()
        return float(low), float(high), float(share), 1
    share = (q0 - q1) / q0
    low = treated.mean() - trimmed_mean(control, 1 - share, top=True)
    high = treated.mean() - trimmed_mean(control, 1 - share, top=False)
    return float(low), float(high), float(share), 0


def all_bounds(
    y, t, low, high, mtr, mts, miv=None, miv_direction=1, iv=None, balke_pearl=False, arms=None
):
    """Every bound the data and the named columns allow, keyed by kind: no assumption,
    monotone response and selection (alone and together); with ``miv`` (levels of a
    monotone instrument) the MIV bounds; with ``iv`` (levels of an instrument) Manski's IV
    bounds and, with ``balke_pearl`` (all three yes/no), Balke & Pearl's. ``arms``: the
    rows' ``arm_moments`` when the caller has them (the first four need nothing else)."""
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=bool)
    arms = arm_moments(y, t) if arms is None else arms
    found = {
        "no_assumption": effect_bounds(potential_means(y, t, low, high, moments=arms)),
        "mtr": effect_bounds(potential_means(y, t, low, high, mtr=mtr, moments=arms)),
        "mts": effect_bounds(potential_means(y, t, low, high, mts=mts, moments=arms)),
        "mtr_mts": effect_bounds(potential_means(y, t, low, high, mtr=mtr, mts=mts, moments=arms)),
    }
    if miv is not None:
        found["miv"] = miv_bounds(y, t, miv, low, high, miv_direction)
        found["miv_mtr"] = miv_bounds(y, t, miv, low, high, miv_direction, mtr=mtr)
    if iv is not None:
        found["iv_manski"] = iv_mean_independence_bounds(y, t, iv, low, high)
        levels = np.unique(iv)
        if balke_pearl and len(levels) == 2:
            z01 = (np.asarray(iv) == levels[-1]).astype(int)
            found["balke_pearl"] = balke_pearl_bounds(conditional_probabilities(y, t, z01))
    return found


def bounds_on_rows(index, y, t, low, high, mtr, mts, miv=None, iv=None, **options):
    """``all_bounds`` on the rows ``index`` selects (the whole data or a resample): a plain
    function rather than a closure, so the exported script can hand it to the bootstrap.
    Without an instrument the bounds need only the arms' moments, which are read off the
    draw counts rather than a copy of the drawn rows."""
    if miv is None and iv is None:
        arms = drawn_arm_moments(y, t, index)
        return all_bounds(y, t, low, high, mtr, mts, arms=arms, **options)
    return all_bounds(
        y[index],
        t[index],
        low,
        high,
        mtr,
        mts,
        miv=None if miv is None else miv[index],
        iv=None if iv is None else iv[index],
        **options,
    )


def bootstrap_bound_se(compute, n, reps=200, seed=0):
    """Bootstrap standard errors of each bound's two limits: ``compute(rows)`` returns
    ``all_bounds`` on the resampled row indices. Draws where a bound is empty (or a
    resample lacks an arm) are left out of that bound's spread. Seeded: the same draws on
    any machine."""
    rng = np.random.default_rng(seed)
    draws: dict = {}
    for _ in range(reps):
        rows = rng.integers(0, n, n)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample without an arm
            for kind, pair in compute(rows).items():
                if pair is not None and np.all(np.isfinite(pair)):
                    draws.setdefault(kind, []).append(pair)
    return {
        kind: tuple(float(v) for v in np.std(np.array(pairs), axis=0, ddof=1))
        for kind, pairs in draws.items()
        if len(pairs) > 1
    }


def imbens_manski(low, high, se_low, se_high, level=0.95):
    """Imbens & Manski's (2004) interval for the effect inside estimated bounds: it covers
    every point of the identified set with probability ``level``. The critical value c
    solves Phi(c + width / max(se)) - Phi(-c) = level, so it runs from the one-sided value
    (1.645 at 95%) for wide bounds to the two-sided one (1.96) as they shrink to a point."""
    spread = max(se_low, se_high)
    if spread <= 0:
        return float(low), float(high)
    width = max(high - low, 0.0) / spread
    c = brentq(
        lambda c: stats.norm.cdf(c + width) - stats.norm.cdf(-c) - level,
        0.0,
        stats.norm.ppf(1 - (1 - level) / 2) + 1.0,
    )
    return float(low - c * se_low), float(high + c * se_high)


PORTABLE_FUNCTIONS = (
    arm_moments,
    drawn_arm_moments,
    potential_means,
    effect_bounds,
    level_means,
    iv_mean_independence_bounds,
    miv_bounds,
    response_types,
    balke_pearl_bounds,
    conditional_probabilities,
    trimmed_mean,
    lee_bounds,
    all_bounds,
    bounds_on_rows,
    bootstrap_bound_se,
    imbens_manski,
)
