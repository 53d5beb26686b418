"""Generate ``examples/training.csv``: a job-training programme with a known effect.

Older participants with lower prior earnings and more schooling are likelier to enrol, and
the same traits drive later earnings, so a naive comparison is biased; adjusting for the
confounders recovers the true effect, TRUE_EFFECT, that the README tour and tests check.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_EFFECT = 1500.0


def make_training(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 60, n)
    education = rng.integers(8, 18, n)
    prior = np.round(rng.gamma(4.0, 3000.0, n), 2)
    region = rng.choice(["north", "south", "east", "west"], n)
    region_bonus = pd.Series(region).map({"north": 800, "south": -400, "east": 0, "west": 300})
    logit = -1.0 + 0.03 * (age - 38) - 0.00012 * (prior - 12000) + 0.15 * (education - 12)
    treat = rng.random(n) < 1 / (1 + np.exp(-logit))
    earnings = (
        4000
        + 90 * age
        + 450 * education
        + 0.6 * prior
        + region_bonus.to_numpy()
        + TRUE_EFFECT * treat
        + rng.normal(0, 1500, n)
    )
    return pd.DataFrame(
        {
            "participant id": [f"P{i:05d}" for i in range(n)],
            "age": age,
            "education years": education,
            "prior earnings": prior,
            "region": region,
            "treat": treat.astype(int),
            "earnings_after": np.round(earnings, 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("training.csv")))
    args = parser.parse_args()
    make_training().to_csv(args.out, index=False)
    print(f"wrote {args.out} (true effect of treat on earnings_after: {TRUE_EFFECT})")


if __name__ == "__main__":
    main()
