"""Estimation: a primary estimate with its interval, plus alternatives for triangulation.

The primary estimator follows the catalogue's preference for the identified design and
treatment type unless the user names one; every other applicable estimator runs as an
alternative so a disagreement between them is visible rather than hidden.
"""

import numpy as np
from pydantic import BaseModel

from causal_assistant.tools import portable
from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimators import (
    EstimatorSpec,
    Target,
    applicable,
    check_applicable,
    spec_for,
)
from causal_assistant.tools.estimate.overlap import check_overlap
from causal_assistant.tools.identify.identification import IdentificationResult
from causal_assistant.tools.results import ToolResult, WarningCode

SMALL_SAMPLE_ROWS = 100


class EffectEstimate(BaseModel):
    method: str
    label: str
    target: Target
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    params: dict = {}


class EstimationResult(ToolResult):
    estimate: EffectEstimate
    alternatives: list[EffectEstimate] = []
    n_rows: int
    treatment_kind: str
    treated_level: str | int | float | bool | None = None
    extreme_propensity_share: float | None = None


def estimate_effect(
    data: ModelData,
    ident: IdentificationResult,
    target: Target = "ate",
    method: str | None = None,
    seed: int = 0,
    n_bootstrap: int = 100,
    n_jobs: int = 1,
) -> EstimationResult:
    """Estimate the identified effect; ``method`` overrides the catalogue's choice."""
    if ident.estimand == "none":
        raise InputError(
            "The effect is not identified, so there is nothing to estimate; revise the graph first."
        )
    requested = target
    if ident.estimand != "backdoor":
        target = "ate"
    fitting = applicable(ident.estimand, data.treatment_kind, target, len(data.frame))
    if method:
        primary = spec_for(method)
        check_applicable(primary, ident.estimand, data.treatment_kind, target)
    elif fitting:
        primary = fitting[0]
    else:
        raise InputError(
            f"No estimator fits a {data.treatment_kind} treatment with a "
            f"{ident.estimand} design and target {target.upper()}."
        )
    args = (data.frame, data.graph, data.model_treatment, data.model_outcome, ident.dowhy_estimand)
    numbers = portable.estimate_with_ci(
        *args,
        primary.method,
        target,
        primary.params,
        seed=seed,
        n_bootstrap=n_bootstrap,
        n_jobs=n_jobs,
    )
    estimate = EffectEstimate(
        method=primary.method, label=primary.label, target=target, params=primary.params, **numbers
    )
    alternatives = [_alternative(args, spec, target) for spec in fitting if spec != primary]
    result = EstimationResult(
        estimate=estimate,
        alternatives=[a for a in alternatives if a],
        n_rows=len(data.frame),
        treatment_kind=data.treatment_kind,
        treated_level=data.treated_level,
    )
    result.code = (
        f"numbers = estimate_with_ci(\n    frame, graph, {data.model_treatment!r}, "
        f"{data.model_outcome!r}, estimand,\n    {primary.method!r}, {target!r}, "
        f"{primary.params!r}, seed={seed}, n_bootstrap={n_bootstrap})\n"
    )
    _check_sample(result, data)
    if data.treatment_kind == "binary" and ident.estimand == "backdoor":
        _check_overlap(result, data, data.model_columns(ident.adjustment_set))
    result.reading = _reading(result, data, primary)
    if requested != target:
        result.reading += (
            f" The {ident.estimand} design estimates the average effect (ATE); "
            f"the {requested.upper()} you asked for needs a backdoor design."
        )
    return result


def _alternative(args: tuple, spec: EstimatorSpec, target: Target) -> EffectEstimate | None:
    """A point estimate from another estimator; one that fails on this data is left out."""
    try:
        value = float(portable.fit_effect(*args, spec.method, target, spec.params).value)
    except Exception:  # an alternative is optional; the primary's errors still surface
        return None
    if not np.isfinite(value):
        return None
    return EffectEstimate(
        method=spec.method, label=spec.label, target=target, value=value, params=spec.params
    )


def _check_sample(result: EstimationResult, data: ModelData) -> None:
    if len(data.frame) < SMALL_SAMPLE_ROWS:
        result.warn(
            WarningCode.SMALL_SAMPLE,
            f"Only {len(data.frame)} rows: estimates and intervals are unreliable "
            f"below about {SMALL_SAMPLE_ROWS}.",
        )


def _check_overlap(result: EstimationResult, data: ModelData, covariates: list[str]) -> None:
    """Share of units whose propensity is so extreme that weighting leans on very few."""
    if not covariates:
        return
    check = check_overlap(
        data.frame[covariates].to_numpy(dtype=float),
        data.frame[data.model_treatment].to_numpy(dtype=int),
    )
    result.extreme_propensity_share = check.extreme_share
    if check.poor:
        result.warn(WarningCode.POOR_OVERLAP, check.message)


def _reading(result: EstimationResult, data: ModelData, spec: EstimatorSpec) -> str:
    e = result.estimate
    if data.treatment_kind == "binary":
        change = f"being treated ({data.treatment} = {data.treated_level!r}) changes"
    else:
        change = f"one unit more of {data.treatment} changes"
    who = {"ate": "on average", "att": "among the treated", "atc": "among the untreated"}
    text = f"By {spec.label}, {change} {data.outcome} by {e.value:.4g} {who[e.target]}"
    if e.ci_low is not None and np.isfinite(e.ci_low):
        text += f" (95% interval {e.ci_low:.4g} to {e.ci_high:.4g})"
        if e.ci_low <= 0 <= e.ci_high:
            text += "; the interval includes zero, so the data are also consistent with no effect"
    text += "."
    if result.alternatives:
        values = ", ".join(f"{a.label} {a.value:.4g}" for a in result.alternatives)
        text += f" Other estimators give {values}."
    return text
