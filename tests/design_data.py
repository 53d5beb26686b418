"""Seeded datasets of known design and known effect, for the design tests.

Each generator returns (frame, truth) where truth holds the true effect the design's
estimand targets, computed from the potential outcomes the generator drew.
"""

import numpy as np
import pandas as pd

RCT_EFFECT = 2.0
LATE = 1.5


def panel_single(seed: int, n_units: int = 120, n_periods: int = 8, effect: float = 2.0):
    """Half the states adopt in period 2015 and stay treated; unit and year effects."""
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(n_units), n_periods)
    years = np.tile(np.arange(2010, 2010 + n_periods), n_units)
    treated_unit = units < n_units // 2
    alpha = rng.normal(0, 2, n_units)[units] + 1.5 * treated_unit  # levels differ by group
    gamma = 0.4 * (years - 2010) + rng.normal(0, 0.5, n_periods)[years - 2010]
    d = treated_unit & (years >= 2015)
    y = alpha + gamma + effect * d + rng.normal(0, 1, len(units))
    frame = pd.DataFrame(
        {"state": [f"S{u:03d}" for u in units], "year": years, "policy": d.astype(int), "y": y}
    )
    return frame, {"att": effect}


def panel_staggered(seed: int, n_units: int = 200, n_periods: int = 12):
    """Cohorts adopt in periods 3, 6 and 9 (a quarter never does); the effect grows with
    time since adoption and is larger for early adopters, the case where two-way fixed
    effects is biased."""
    rng = np.random.default_rng(seed)
    cohort_of = rng.choice([3, 6, 9, 0], size=n_units)
    units = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    cohort = cohort_of[units]
    d = (cohort > 0) & (period >= cohort)
    rel = period - cohort
    base = {3: 3.0, 6: 2.0, 9: 1.0, 0: 0.0}
    te = np.where(d, np.vectorize(base.get)(cohort) + 0.5 * rel, 0.0)
    y = rng.normal(0, 1, n_units)[units] + 0.3 * period + te + rng.normal(0, 1, len(units))
    frame = pd.DataFrame({"firm_id": units, "quarter": period, "treated": d, "sales": y})
    return frame, {"att": float(te[d].mean())}


def sharp_rd(seed: int, n: int = 1500, cutoff: float = 50.0, jump: float = 3.0):
    """A scholarship for scores of 50 and above; the outcome is smooth in the score
    except for the jump; a pre-treatment covariate is smooth through the cutoff."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(0, 100, n)
    award = (score >= cutoff).astype(int)
    age = 18 + 0.02 * score + rng.normal(0, 1, n)
    y = 10 + 0.08 * score - 0.0004 * (score - 50) ** 2 + jump * award + rng.normal(0, 1, n)
    frame = pd.DataFrame({"score": score, "age": age, "award": award, "gpa": y})
    return frame, {"effect": jump, "cutoff": cutoff}


def fuzzy_rd(seed: int, n: int = 3000, cutoff: float = 0.0, effect: float = 2.0):
    """Eligibility at income score 0 raises take-up from 20% to 80%; compliers' effect
    is ``effect`` for everyone, so the local effect for compliers is ``effect``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-10, 10, n)
    u = rng.normal(0, 1, n)
    p = np.where(x >= cutoff, 0.8, 0.2)
    takeup = (rng.uniform(size=n) < p).astype(int)
    y = 1 + 0.3 * x + effect * takeup + 0.5 * u + rng.normal(0, 1, n)
    frame = pd.DataFrame({"income_score": x, "enrolled": takeup, "earnings": y})
    return frame, {"effect": effect, "cutoff": cutoff}


def observational(seed: int, n: int = 1000):
    """Confounded cross-section: age and income drive both training and earnings; a
    survey year and a region repeat across rows without making it a panel."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 60, n)
    income = rng.lognormal(10, 0.5, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    year = rng.choice([2018, 2019, 2020], n)
    logit = -3 + 0.05 * age + 0.00002 * income
    train = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    earn = 1000 + 30 * age + 0.1 * income + 500 * train + rng.normal(0, 300, n)
    frame = pd.DataFrame(
        {"age": age, "income": income, "region": region, "year": year, "train": train, "earn": earn}
    )
    return frame, {"ate": 500.0}


def steep_propensity(seed: int, n: int = 2000):
    """Treatment probability rises steeply but smoothly in one column: no discontinuity."""
    rng = np.random.default_rng(seed)
    severity = rng.normal(0, 1, n)
    treated = (rng.uniform(size=n) < 1 / (1 + np.exp(-3 * severity))).astype(int)
    y = severity + treated + rng.normal(0, 1, n)
    return pd.DataFrame({"severity": severity, "treated": treated, "recovery": y}), {}


def rct(seed: int, n: int = 800):
    """Coin-flip assignment; the incentive amount is defined by the treatment (zero for
    controls), which must not be read as a running variable."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, n)
    site = rng.choice(["a", "b", "c"], n)
    arm = rng.integers(0, 2, n)
    incentive = np.where(arm == 1, rng.uniform(10, 100, n), 0.0)
    y = 0.2 * age + 3 * arm + rng.normal(0, 2, n)
    frame = pd.DataFrame({"age": age, "site": site, "incentive": incentive, "arm": arm, "y": y})
    return frame, {"ate": 3.0}


def iv_style(seed: int, n: int = 1500):
    """A random lottery nudges take-up; an unobserved trait confounds take-up and outcome."""
    rng = np.random.default_rng(seed)
    lottery = rng.integers(0, 2, n)
    trait = rng.normal(0, 1, n)
    distance = rng.uniform(0, 50, n)
    take = (0.8 * lottery + 0.5 * trait - 0.01 * distance + rng.normal(0, 1, n) > 0.4).astype(int)
    y = 2 * take + trait + rng.normal(0, 1, n)
    frame = pd.DataFrame({"lottery": lottery, "distance": distance, "take": take, "y": y})
    return frame, {"late": 2.0}


# (kind, generator, treatment, outcome) for the detection table
DETECTION_CASES = [
    ("panel single date", panel_single, "policy", "y"),
    ("panel staggered", panel_staggered, "treated", "sales"),
    ("sharp RD", sharp_rd, "award", "gpa"),
    ("fuzzy RD", fuzzy_rd, "enrolled", "earnings"),
    ("observational", observational, "train", "earn"),
    ("steep propensity", steep_propensity, "treated", "recovery"),
    ("RCT", rct, "arm", "y"),
    ("IV-style", iv_style, "take", "y"),
]


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
