"""Overlap of propensity scores: do treated and untreated units look alike on the covariates?

Weighting and matching estimators divide by the propensity score, so where it is near 0 or 1
a handful of units carry the estimate and the comparison is an extrapolation. Estimation
checks this on the model frame and the critique on the raw data; both call ``check_overlap``
so the threshold and the wording are the same wherever the user meets them.
"""

import numpy as np
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression

EXTREME_PROPENSITY = 0.05
POOR_OVERLAP_SHARE = 0.10


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
