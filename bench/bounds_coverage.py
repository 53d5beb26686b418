"""Coverage of the partial-identification bounds: does the true effect lie inside each one?

Two simulated designs whose assumptions hold, with the truth known in closed form:
- ``confounded``: a hidden U raises both a yes/no treatment and a yes/no outcome; a coin
  Z nudges the treatment only. Treatment response is monotone (one shared noise per unit),
  selection is positive, Z is an instrument and (trivially) a monotone one.
- ``attrition``: a randomised treatment that makes the outcome more often recorded, with
  an effect that varies with the same trait that drives recording (Lee's setting).
Run: ``python -m bench.bounds_coverage [--draws 1000]``; prints a Markdown table.
"""

import argparse

import numpy as np
import pandas as pd
from scipy import stats

from causal_assistant.tools.identify.bounds import bound_effect, lee_effect_bounds

N_ROWS = 1000
# confounded: T = 1[-0.5 + Z + 0.8 U + V > 0], Y(t) = 1[-0.3 + 0.6 t + 0.8 U + e > 0]
Y_BASE, Y_EFFECT, Y_U = -0.3, 0.6, 0.8
SPREAD = np.sqrt(1 + Y_U**2)
CONFOUNDED_TRUTH = float(
    stats.norm.cdf((Y_BASE + Y_EFFECT) / SPREAD) - stats.norm.cdf(Y_BASE / SPREAD)
)
# attrition: recorded(t) = 1[0.2 + 0.5 t + V > 0], Y(t) = 1 + t (0.5 + 0.5 V) + 0.7 V + e;
# always recorded means V > -0.2, where E[V | V > c] = pdf(c) / (1 - cdf(c)).
CUT = -0.2
ATTRITION_TRUTH = float(0.5 + 0.5 * stats.norm.pdf(CUT) / stats.norm.sf(CUT))


def confounded(seed: int, n: int = N_ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u, v, e = rng.standard_normal((3, n))
    z = rng.integers(0, 2, n)
    t = (-0.5 + z + 0.8 * u + v > 0).astype(int)
    y = (Y_BASE + Y_EFFECT * t + Y_U * u + e > 0).astype(int)
    return pd.DataFrame({"treat": t, "outcome": y, "coin": z})


def attrition(seed: int, n: int = 4 * N_ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    v, e = rng.standard_normal((2, n))
    t = rng.integers(0, 2, n)
    recorded = -CUT + 0.5 * t + v > 0
    y = 1 + t * (0.5 + 0.5 * v) + 0.7 * v + e
    return pd.DataFrame({"treat": t, "outcome": np.where(recorded, y, np.nan)})


def coverage(draws: int, first_seed: int = 0) -> list[dict]:
    """Per bound: its average limits, the truth, and the share of draws that contain it."""
    hits: dict[str, list[tuple[float, float]]] = {}
    for seed in range(first_seed, first_seed + draws):
        result = bound_effect(
            confounded(seed),
            "treat",
            "outcome",
            instrument="coin",
            monotone_instrument="coin",
            interval_reps=0,  # the bounds themselves; their intervals: tests/test_bounds.py
        )
        for bound in result.bounds:
            hits.setdefault(bound.kind, []).append((bound.low, bound.high))
        lee = lee_effect_bounds(attrition(seed), "treat", "outcome")
        hits.setdefault("lee", []).append((lee.low, lee.high))
    rows = []
    for kind, pairs in hits.items():
        truth = ATTRITION_TRUTH if kind == "lee" else CONFOUNDED_TRUTH
        limits = np.array([(np.nan, np.nan) if low is None else (low, high) for low, high in pairs])
        inside = (limits[:, 0] <= truth) & (truth <= limits[:, 1])
        rows.append(
            {
                "bound": kind,
                "design": "attrition" if kind == "lee" else "confounded",
                "mean low": float(np.nanmean(limits[:, 0])),
                "mean high": float(np.nanmean(limits[:, 1])),
                "true effect": truth,
                "coverage": float(inside.mean()),
            }
        )
    return rows


def main() -> None:
    from bench.common import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    title = (
        f"Bounds containing the true effect ({args.draws} draws of {N_ROWS:,} rows; "
        f"{4 * N_ROWS:,} for the attrition design)"
    )
    print(table(coverage(args.draws), title))


if __name__ == "__main__":
    main()
