"""The catalogue of DoWhy estimators and the rules for when each applies.

Keeping the rules as data lets the agent explain a choice ("matching needs a binary
treatment") and lets the user ask for any estimator that fits, instead of a fixed default.
"""

import re
from typing import Literal, get_args

from pydantic import BaseModel

from causal_assistant.tools.errors import InputError

EstimandKind = Literal["backdoor", "frontdoor", "iv"]
TreatmentKind = Literal["binary", "continuous"]
Target = Literal["ate", "att", "atc"]
TARGETS: tuple[Target, ...] = get_args(Target)


class EstimatorSpec(BaseModel):
    method: str
    label: str
    estimand: EstimandKind
    treatments: tuple[TreatmentKind, ...]
    targets: tuple[Target, ...]
    min_rows: int = 0
    params: dict = {}
    why: str


CATALOGUE: tuple[EstimatorSpec, ...] = (
    EstimatorSpec(
        method="backdoor.linear_regression",
        label="linear regression adjustment",
        estimand="backdoor",
        treatments=("binary", "continuous"),
        targets=("ate", "att", "atc"),
        why="adjusts for the backdoor set in one regression; efficient and exact when the "
        "outcome is close to linear in the covariates",
    ),
    EstimatorSpec(
        method="backdoor.regression_interactions",
        label="regression with treatment interactions (g-computation)",
        estimand="backdoor",
        treatments=("binary",),
        targets=("ate", "att", "atc"),
        why="lets the effect vary with every covariate and averages it over the units the "
        "target names, so ATT and ATC come from the outcome model as well as from weighting",
    ),
    EstimatorSpec(
        method="backdoor.propensity_score_weighting",
        label="inverse propensity weighting",
        estimand="backdoor",
        treatments=("binary",),
        targets=("ate", "att", "atc"),
        min_rows=100,
        params={"weighting_scheme": "ips_stabilized_weight"},
        why="models who gets treated instead of the outcome, so it does not rely on the "
        "outcome being linear",
    ),
    EstimatorSpec(
        method="backdoor.propensity_score_matching",
        label="propensity score matching",
        estimand="backdoor",
        treatments=("binary",),
        targets=("ate", "att", "atc"),
        min_rows=100,
        why="compares each unit with the most similar units of the other group",
    ),
    EstimatorSpec(
        method="backdoor.propensity_score_stratification",
        label="propensity score stratification",
        estimand="backdoor",
        treatments=("binary",),
        targets=("ate", "att", "atc"),
        min_rows=1000,
        why="compares treated and untreated within strata of similar propensity",
    ),
    EstimatorSpec(
        method="iv.instrumental_variable",
        label="instrumental variable (Wald / 2SLS)",
        estimand="iv",
        treatments=("binary", "continuous"),
        targets=("ate",),
        why="uses only the variation in treatment that the instrument causes, so it survives "
        "unmeasured confounding if the instrument is valid",
    ),
    EstimatorSpec(
        method="frontdoor.two_stage_regression",
        label="front-door two-stage regression",
        estimand="frontdoor",
        treatments=("binary", "continuous"),
        targets=("ate",),
        why="chains the treatment's effect on the mediator with the mediator's effect on the "
        "outcome, which survives unmeasured treatment-outcome confounding",
    ),
)


SHORT_NAMES = {
    "regression": "backdoor.linear_regression",
    "interactions": "backdoor.regression_interactions",
    "g-computation": "backdoor.regression_interactions",
    "gcomp": "backdoor.regression_interactions",
    "ols": "backdoor.linear_regression",
    "weighting": "backdoor.propensity_score_weighting",
    "ipw": "backdoor.propensity_score_weighting",
    "matching": "backdoor.propensity_score_matching",
    "stratification": "backdoor.propensity_score_stratification",
    "iv": "iv.instrumental_variable",
    "instrument": "iv.instrumental_variable",
    "2sls": "iv.instrumental_variable",
    "frontdoor": "frontdoor.two_stage_regression",
    "front-door": "frontdoor.two_stage_regression",
}


def spec_for(method: str) -> EstimatorSpec:
    """Look a method up by its DoWhy name, its short name ("matching", "ipw", "iv") or a
    phrase containing one ("propensity score matching")."""
    wanted = method.strip().lower()
    words = re.findall(r"[a-z0-9-]+", wanted)
    named = next((SHORT_NAMES[w] for w in words if w in SHORT_NAMES), None)
    for spec in CATALOGUE:
        short = spec.method.split(".", 1)[1]
        snake = wanted.replace(" ", "_")
        if spec.method in (named, wanted) or snake == short or (len(snake) >= 4 and snake in short):
            return spec
    known = ", ".join(s.method for s in CATALOGUE)
    raise InputError(
        f"Unknown estimator {method!r}; choose one of: {known} (or matching, "
        "weighting, stratification, regression, iv, frontdoor)."
    )


def applicable(
    estimand: EstimandKind, treatment: TreatmentKind, target: Target, n_rows: int
) -> list[EstimatorSpec]:
    """Every catalogue entry fit for this design, in order of preference.

    A regression without interactions estimates one average effect, so for the effect on
    a subgroup (ATT, ATC) of a binary treatment, weighting, which targets the subgroup
    directly, comes first.
    """
    fitting = [
        s
        for s in CATALOGUE
        if s.estimand == estimand
        and treatment in s.treatments
        and target in s.targets
        and n_rows >= s.min_rows
    ]
    if target != "ate" and treatment == "binary":
        fitting.sort(key=lambda s: s.method != "backdoor.propensity_score_weighting")
    return fitting


def check_applicable(
    spec: EstimatorSpec, estimand: EstimandKind, treatment: TreatmentKind, target: Target
) -> None:
    """Refuse, with the reason, an estimator the user asked for that does not fit."""
    if spec.estimand != estimand:
        raise InputError(
            f"{spec.label} needs a {spec.estimand} design, but this analysis is "
            f"identified by {estimand}; pick a {estimand} estimator."
        )
    if treatment not in spec.treatments:
        raise InputError(f"{spec.label} needs a binary treatment; this treatment is {treatment}.")
    if target not in spec.targets:
        raise InputError(
            f"{spec.label} estimates only {', '.join(spec.targets).upper()}, not {target.upper()}."
        )
