"""Simulated datasets with known effects for the study-design tests (seeded, fast)."""

import numpy as np
import pandas as pd

RCT_EFFECT = 2.0
LATE = 1.5


def randomised(n: int = 2000, seed: int = 0, effect: float = RCT_EFFECT) -> pd.DataFrame:
    """A two-arm experiment: covariates predict the outcome, not the (random) treatment;
    ``incentive`` is the amount paid, positive exactly for the treated (it defines them)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    score = rng.normal(0, 1, n)
    region = rng.choice(["north", "south", "west"], n)
    treat = rng.binomial(1, 0.5, n)
    incentive = treat * rng.choice([50.0, 100.0, 150.0], n)
    y = (
        effect * treat
        + 0.1 * age
        + 1.5 * score
        + (region == "south") * 1.0
        + 0.5 * treat * score
        + rng.normal(0, 1, n)
    )
    return pd.DataFrame(
        {
            "age": age,
            "score": score,
            "region": region,
            "incentive": incentive,
            "treat": treat,
            "outcome": y,
        }
    )


def confounded(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Observational data: age and income drive both treatment and outcome."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    income = rng.normal(0, 1, n)
    treat = rng.binomial(1, 1 / (1 + np.exp(-(0.08 * (age - 40) + 0.8 * income))), n)
    y = 1.0 * treat + 0.2 * age + 2 * income + rng.normal(0, 1, n)
    return pd.DataFrame({"age": age, "income": income, "treat": treat, "outcome": y})


def instrumented(n: int = 6000, seed: int = 0, late: float = LATE) -> pd.DataFrame:
    """An encouragement ``offer`` that is random only within region (its odds differ by
    region, and region moves the outcome), one-sided-ish compliance, a hidden confounder
    ``u`` of take-up and outcome, and effects that differ by compliance type: the effect
    for compliers is ``late``; for always-takers it is 4."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "west"], n)
    odds = pd.Series(region).map({"north": 0.2, "south": 0.5, "west": 0.8}).to_numpy()
    offer = rng.binomial(1, odds)
    u = rng.normal(0, 1, n)
    kind = np.where(u > 1.0, "always", np.where(rng.random(n) < 0.75, "complier", "never"))
    treat = np.where(kind == "always", 1, np.where(kind == "complier", offer, 0))
    effect = np.where(kind == "always", 4.0, late)
    region_shift = pd.Series(region).map({"north": 0.0, "south": 2.0, "west": 4.0}).to_numpy()
    y = effect * treat + region_shift + 2.0 * u + rng.normal(0, 1, n)
    return pd.DataFrame({"region": region, "offer": offer, "treat": treat, "outcome": y})
