"""The conditional-independence test: one home for the graph critique, the falsification
refuter and the modelling screens, so two of them cannot judge the same independence
differently.

A variable enters as a block of numeric columns (its value, or one indicator per category
but one). When every variable involved takes few distinct values and every stratum is well
filled, x and y are cross-tabulated within each stratum of the conditioning variables (the
G-test), which catches a non-monotone dependence a linear test misses; otherwise Bartlett's
test that every canonical correlation of the two blocks given the rest is zero, which is
the partial-correlation (Fisher z) test for single columns and tests a category as a whole.

An implied independence counts as contradicted when its Holm-adjusted p-value is below
``ALPHA`` and the dependence is at least ``MIN_R`` (so a large sample does not flag
dependences too weak to matter). ``ALPHA`` is strict because a contradicted graph stops the
analysis: with Holm's correction a correct graph is flagged in about one analysis in a
hundred.

Portable like ``tools.portable`` (read its docstring): the source of ``PORTABLE_FUNCTIONS``
is copied into the exported script, so the functions use only numpy, pandas and scipy and
repeat the constants' values as defaults.
"""

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.01
MIN_R = 0.05
MAX_DISCRETE_LEVELS = 8
MIN_ROWS_PER_CELL = 5
CANONICAL_TEST = "block_fisherz"
G_TEST = "gsq"


def correlation(values):
    """Correlation matrix of the columns of ``values``; a constant column gets a zero row
    (and a zero diagonal), so it tests as independent of everything."""
    std = values.std(0)
    centred = (values - values.mean(0)) / np.where(std > 0, std, 1.0)
    corr = centred.T @ centred / max(values.shape[0], 1)
    np.fill_diagonal(corr, np.where(std > 0, 1.0, 0.0))
    return corr


def level_codes(block, max_levels=8):
    """Integer codes 0..k-1 of a block's distinct rows when there are at most ``max_levels``
    of them (a discrete variable), else None."""
    if block.shape[1] == 0:  # a category with one level: constant
        return np.zeros(block.shape[0], dtype=int)
    if block.shape[1] >= max_levels:
        return None
    # Each column's sorted codes, then one mixed-radix key per row (first column most
    # significant): the rows' lexicographic order, as np.unique(axis=0) gives, by hashing
    # instead of sorting rows (seconds at a million rows).
    key = np.zeros(block.shape[0], dtype=np.int64)
    for column in block.T:
        if len(pd.unique(column[:1000])) > max_levels:  # a continuous column, cheaply
            return None
        codes, levels = pd.factorize(column, sort=True)
        if len(levels) > max_levels:
            return None
        key = key * len(levels) + codes
    if block.shape[1] == 1:
        return key
    codes, levels = pd.factorize(key, sort=True)
    return codes if len(levels) <= max_levels else None


def ci_inputs(blocks):
    """What every test on these variables shares, computed once: each variable's columns in
    one correlation matrix, its level codes (None when not discrete) and the row count."""
    names = list(blocks)
    index, start = {}, 0
    for name in names:
        index[name] = list(range(start, start + blocks[name].shape[1]))
        start += blocks[name].shape[1]
    values = np.hstack([blocks[name] for name in names]) if names else np.zeros((0, 0))
    return {
        "index": index,
        "corr": correlation(values),
        "codes": {name: level_codes(blocks[name]) for name in names},
        "n": values.shape[0],
    }


def inverse_sqrt(matrix):
    """M^{-1/2} on the non-degenerate part (dummies of one category can be collinear)."""
    values, vectors = np.linalg.eigh(matrix)
    keep = values > 1e-10 * max(values.max(), 1e-300)
    return vectors[:, keep] @ np.diag(values[keep] ** -0.5) @ vectors[:, keep].T


def canonical_test(corr, x, y, z, n):
    """Bartlett's test that every canonical correlation of columns x and y given columns z
    is zero; ``r`` is the partial correlation for single columns, else the first canonical
    correlation."""
    a = x + y
    s = corr[np.ix_(a, a)]
    if z:
        s_az = corr[np.ix_(a, z)]
        s = s - s_az @ np.linalg.pinv(corr[np.ix_(z, z)]) @ s_az.T
    p, q = len(x), len(y)
    sxx, syy, sxy = s[:p, :p], s[p:, p:], s[:p, p:]
    if np.trace(sxx) < 1e-10 or np.trace(syy) < 1e-10:
        return {
            "test": "block_fisherz",
            "r": 0.0,
            "statistic": 0.0,
            "dof": p * q,
            "p_value": 1.0,
            "n": n,
        }
    rho = np.linalg.svd(inverse_sqrt(sxx) @ sxy @ inverse_sqrt(syy), compute_uv=False)
    rho = np.clip(rho, 0.0, 1 - 1e-12)
    m = max(n - 1 - len(z) - (p + q + 1) / 2, 1.0)
    statistic = float(-m * np.sum(np.log(1 - rho**2)))
    r = float(sxy[0, 0] / np.sqrt(sxx[0, 0] * syy[0, 0])) if p == q == 1 else float(rho[0])
    p_value = float(stats.chi2.sf(statistic, p * q))
    return {
        "test": "block_fisherz",
        "r": r,
        "statistic": statistic,
        "dof": p * q,
        "p_value": p_value,
        "n": n,
    }


def g_test(x, y, strata=None):
    """The G (likelihood-ratio) test of the codes x and y within every stratum (codes of
    the conditioning variables' combinations; None for none). ``r`` is an effect size,
    bias-corrected (G's expectation under independence is its dof) so that strata do not
    inflate it."""
    n = len(x)
    groups = [np.arange(n)]
    if strata is not None and n:
        order = np.argsort(strata, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(strata[order])) + 1)
    statistic, dof = 0.0, 0
    for rows in groups:
        xs, xi = np.unique(x[rows], return_inverse=True)
        ys, yi = np.unique(y[rows], return_inverse=True)
        if min(len(xs), len(ys)) < 2:
            continue
        table = np.bincount(xi * len(ys) + yi, minlength=len(xs) * len(ys))
        table = table.reshape(len(xs), len(ys)).astype(float)
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        seen = table > 0
        statistic += 2 * float(np.sum(table[seen] * np.log(table[seen] / expected[seen])))
        dof += (len(xs) - 1) * (len(ys) - 1)
    levels = min(len(np.unique(x)), len(np.unique(y))) - 1
    excess = max(statistic - dof, 0.0)
    r = float(np.sqrt(excess / (n * max(levels, 1)))) if n else 0.0
    p_value = float(stats.chi2.sf(statistic, dof)) if dof else 1.0
    return {"test": "gsq", "r": r, "statistic": statistic, "dof": dof, "p_value": p_value, "n": n}


def independence_test(inputs, x, y, given=(), min_rows_per_cell=5):
    """Test x independent of y given ``given`` (variable names of ``ci_inputs``): the
    stratified G-test when every variable involved is discrete and the strata hold at least
    ``min_rows_per_cell`` rows per cell on average, Bartlett's canonical test otherwise."""
    involved = [x, y, *given]
    codes = [inputs["codes"][name] for name in involved]
    if all(c is not None for c in codes):
        cells = int(np.prod([c.max() + 1 if len(c) else 1 for c in codes]))
        if inputs["n"] >= min_rows_per_cell * cells:
            strata = None
            if given:
                combined = np.column_stack(codes[2:])
                strata = np.unique(combined, axis=0, return_inverse=True)[1].ravel()
            return g_test(codes[0], codes[1], strata)
    z = [c for name in given for c in inputs["index"][name]]
    index = inputs["index"]
    return canonical_test(inputs["corr"], index[x], index[y], z, inputs["n"])


def holm(p_values):
    """Holm's step-down adjusted p-values (statsmodels' version runs a garbage collection
    per call, which dominates when hundreds of shuffled graphs are checked)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    steps = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def contradicted(p_adjusted, r, alpha=0.01, min_r=0.05):
    """The verdict on one implied independence: the data contradict it (see ``ALPHA``)."""
    return bool(p_adjusted < alpha and abs(r) >= min_r)


PORTABLE_FUNCTIONS = (
    correlation,
    level_codes,
    ci_inputs,
    inverse_sqrt,
    canonical_test,
    g_test,
    independence_test,
    holm,
    contradicted,
)
