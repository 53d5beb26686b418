"""The large-data paths of the batched regression refuters give the numbers of the plain
ones: Cholesky QR (used from 200,000 rows) against Householder QR, and a subset's normal
equations (all rows less those left out) against least squares on the kept rows."""

import numpy as np
import pytest

from causal_assistant.tools.refute import portable_refute as pr


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(7)
    n = 3000
    covariates = rng.normal(size=(n, 4)) * np.array([1e3, 1.0, 1.0, 0.01])  # mixed scales
    treated = (rng.random(n) < 1 / (1 + np.exp(-covariates[:, 1]))).astype(float)
    y = 1.5 * treated + covariates @ np.array([1e-3, 0.5, -0.3, 20.0]) + rng.normal(size=n)
    return treated, y, covariates


@pytest.mark.parametrize(
    "kind", ["placebo_treatment", "random_common_cause", "data_subset", "bootstrap"]
)
def test_cholesky_basis_gives_householder_effects(arrays, kind):
    treated, y, covariates = arrays
    seeds = pr.simulation_seeds(kind, 0, 6)
    householder = pr.linear_basis(kind, treated, covariates, cholesky_rows=10**9)
    cholesky = pr.linear_basis(kind, treated, covariates, cholesky_rows=0)
    q = cholesky[0]
    assert np.allclose(q.T @ q, np.eye(q.shape[1]), atol=1e-12)
    plain = pr.linear_effects(kind, treated, y, covariates, seeds, basis=householder)
    fast = pr.linear_effects(kind, treated, y, covariates, seeds, basis=cholesky)
    assert np.allclose(plain, fast, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("kind", "seed"), [("data_subset", 3), ("bootstrap", 5)])
def test_effects_are_least_squares_on_the_drawn_rows(arrays, kind, seed):
    """A subset's normal equations are all rows' less those left out; a resample's are
    per-row products weighted by one-byte draw counts, summed in blocks: either way the
    coefficient of least squares on the drawn rows, repeats included."""
    treated, y, covariates = arrays
    seeds = pr.simulation_seeds(kind, seed, 4)
    effects = pr.linear_effects(kind, treated, y, covariates, seeds, row_block=700)
    design = np.column_stack([np.ones(len(y)), covariates, treated])
    for sim_seed, effect in zip(seeds, effects, strict=True):
        rows = pr.simulation_draw(kind, len(y), sim_seed)
        direct = np.linalg.lstsq(design[rows], y[rows], rcond=None)[0][-1]
        assert effect == pytest.approx(direct, abs=1e-9)


def test_pair_products_are_the_upper_triangle_in_order(arrays):
    _, _, covariates = arrays
    upper = np.triu_indices(covariates.shape[1])
    expected = covariates[:, upper[0]] * covariates[:, upper[1]]
    assert np.array_equal(pr.pair_products(covariates, upper), expected)


def test_draw_counts_stay_exact_beyond_one_byte(monkeypatch):
    """Counts are kept as bytes; a row drawn more than 255 times widens them, not wraps."""
    monkeypatch.setattr(pr, "simulation_draw", lambda kind, n_rows, seed: np.zeros(300, int))
    counts = pr.draw_weights("bootstrap", 300, [1, 2])
    assert counts[0].tolist() == [300, 300] and counts[1:].sum() == 0
