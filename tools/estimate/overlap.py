"""Overlap of propensity scores: do treated and untreated units look alike on the covariates?

Weighting and matching estimators divide by the propensity score, so where it is near 0 or 1
a handful of units carry the estimate and the comparison is an extrapolation. Estimation
checks this on the model frame and the critique on the raw data; both call ``check_overlap``
so the threshold and the wording are the same wherever the user meets them. The overlap
and balance pictures draw what ``balance_diagnostics`` computes here, with the same model.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression

from causal_assistant.tools.data.modeldata import ModelData

EXTREME_PROPENSITY = 0.05
POOR_OVERLAP_SHARE = 0.10


WEIGHT_CLIP = 0.01  # inverse-propensity weights use scores clipped to [0.01, 0.99]


class OverlapCheck(BaseModel):
    extreme_share: float
    min_score: float
    max_score: float
    poor: bool
    message: str


def propensity_scores(covariates: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Logistic propensity scores on standardised covariates (standardising keeps the
    default regularisation from depending on the covariates' units)."""
    x = np.asarray(covariates, dtype=float)
    x = (x - x.mean(0)) / (x.std(0) + 1e-12)
    model = LogisticRegression(max_iter=1000).fit(x, np.asarray(treated, dtype=int))
    return model.predict_proba(x)[:, 1]


def check_overlap(covariates: np.ndarray, treated: np.ndarray) -> OverlapCheck:
    """Share of units whose propensity is so extreme that weighting leans on very few."""
    scores = propensity_scores(covariates, treated)
    extreme = (scores < EXTREME_PROPENSITY) | (scores > 1 - EXTREME_PROPENSITY)
    share = float(np.mean(extreme))
    poor = share > POOR_OVERLAP_SHARE
    message = (
        f"{share:.0%} of units have a propensity score below {EXTREME_PROPENSITY} or above "
        f"{1 - EXTREME_PROPENSITY}: treated and untreated units differ so much there that the "
        "estimate extrapolates; consider trimming or ATT."
        if poor
        else f"{share:.0%} of units have an extreme propensity score "
        f"(below {EXTREME_PROPENSITY} or above {1 - EXTREME_PROPENSITY}); overlap is adequate."
    )
    return OverlapCheck(
        extreme_share=share,
        min_score=float(scores.min()),
        max_score=float(scores.max()),
        poor=poor,
        message=message,
    )


def standardized_differences(
    covariates: pd.DataFrame, treated: Sequence[bool | int], weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Standardised mean difference (treated minus untreated) of every covariate, optionally
    weighted; the pooled unweighted SD is the scale, so before and after are comparable."""
    x = covariates.astype(float)
    mask = np.asarray(treated).astype(bool)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    out: dict[str, float] = {}
    for column in x.columns:
        values = x[column].to_numpy()
        scale = np.sqrt((values[mask].var() + values[~mask].var()) / 2) or 1.0
        difference = np.average(values[mask], weights=w[mask]) - np.average(
            values[~mask], weights=w[~mask]
        )
        out[str(column)] = float(difference / scale)
    return out


class BalanceDiagnostics(BaseModel):
    """Propensity scores by group and covariate balance before and after inverse-propensity
    weighting: the numbers behind the overlap and balance pictures."""

    scores: list[float]
    treated: list[int]
    before: dict[str, float]
    after: dict[str, float]


def balance_diagnostics(data: ModelData, adjustment: Sequence[str]) -> BalanceDiagnostics | None:
    """Overlap and balance for a binary treatment adjusted for ``adjustment`` (user names),
    on the encoded columns the estimators saw; None when there is nothing to show."""
    if data.treatment_kind != "binary":
        return None
    covariates = data.model_columns(list(adjustment))
    if not covariates:
        return None
    frame = data.frame
    treated = frame[data.model_treatment].to_numpy(dtype=int)
    scores = propensity_scores(frame[covariates].to_numpy(dtype=float), treated)
    clipped = np.clip(scores, WEIGHT_CLIP, 1 - WEIGHT_CLIP)
    weights = np.where(treated == 1, 1 / clipped, 1 / (1 - clipped))
    return BalanceDiagnostics(
        scores=scores.tolist(),
        treated=treated.tolist(),
        before=standardized_differences(frame[covariates], treated.tolist()),
        after=standardized_differences(frame[covariates], treated.tolist(), weights.tolist()),
    )
