"""Estimation: a primary estimate with its interval, plus alternatives for triangulation.

The primary estimator follows the catalogue's preference for the identified design and
treatment type unless the user names one; every other applicable estimator runs as an
alternative so a disagreement between them is visible rather than hidden.
"""

from typing import Any

import numpy as np

from causal_assistant.tools import portable
from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.effect import EffectEstimate
from causal_assistant.tools.estimate.estimators import (
    EstimatorSpec,
    Target,
    applicable,
    check_applicable,
    spec_for,
)
from causal_assistant.tools.estimate.overlap import check_overlap
from causal_assistant.tools.estimate.scale import EffectScale, describe_scale
from causal_assistant.tools.estimate.subgroups import SubgroupResult
from causal_assistant.tools.identify.identification import IdentificationResult
from causal_assistant.tools.results import AnalysisWarning, ToolResult, WarningCode

SMALL_SAMPLE_ROWS = 100
ALTERNATIVE_BOOTSTRAP = 20
# Matching and stratification cost far more than linear in the rows (DoWhy's strata are
# filtered one by one; matching searches neighbours several times), so on a larger table
# these alternatives fit a seeded subsample of this many rows. Their intervals come from
# the subsample's own standard errors, so they are honestly wider; the label says so.
SUBSAMPLED_ALTERNATIVES = (
    "backdoor.propensity_score_matching",
    "backdoor.propensity_score_stratification",
)
ALTERNATIVE_ROWS = 50_000


class EstimationResult(ToolResult):
    estimate: EffectEstimate
    alternatives: list[EffectEstimate] = []
    naive: EffectEstimate | None = None  # the unadjusted comparison, to show what adjusting did
    n_rows: int
    treatment_kind: str
    treated_level: str | int | float | bool | None = None
    extreme_propensity_share: float | None = None
    estimand: str = "ATE"
    cluster: str | None = None
    scale: EffectScale | None = None
    by_group: SubgroupResult | None = None


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
    estimate = _fit(args, primary, target, seed, n_bootstrap, n_jobs, data.cluster_column)
    alternatives = [
        _alternative(args, spec, target, seed, min(n_bootstrap, ALTERNATIVE_BOOTSTRAP), data)
        for spec in fitting
        if spec != primary
    ]
    result = EstimationResult(
        estimate=estimate,
        alternatives=[a for a in alternatives if a],
        naive=_naive(data),
        n_rows=len(data.frame),
        treatment_kind=data.treatment_kind,
        treated_level=data.treated_level,
        estimand=target.upper() if ident.estimand == "backdoor" else ident.estimand.upper(),
        cluster=data.cluster,
    )
    for found in [result.estimate, *result.alternatives, result.naive]:
        _name_cluster(found, data.cluster)
    result.scale = describe_scale(data, estimate)
    cluster = f", cluster={data.cluster_column!r}" if data.cluster_column else ""
    result.code = (
        f"numbers = estimate_with_ci(\n    frame, graph, {data.model_treatment!r}, "
        f"{data.model_outcome!r}, estimand,\n    {primary.method!r}, {target!r}, "
        f"{primary.params!r}, seed={seed}, n_bootstrap={n_bootstrap}{cluster})\n"
    )
    _check_sample(result, data)
    if data.treatment_kind == "binary" and ident.estimand == "backdoor":
        _check_overlap(result, data, data.model_columns(ident.adjustment_set))
    _check_agreement(result)
    result.reading = _reading(result, data, primary)
    if requested != target:
        result.reading += (
            f" The {ident.estimand} design estimates the average effect (ATE); "
            f"the {requested.upper()} you asked for needs a backdoor design."
        )
    return result


def cluster_named(text: str | None, cluster: str | None) -> str | None:
    """The interval method with the user's cluster column in it: the portable code only
    sees its group codes ('clustered (40 groups)' -> 'clustered by village (40 groups)')."""
    if not text or not cluster:
        return text
    return text.replace("clustered (", f"clustered by {cluster} (").replace(
        "cluster bootstrap", f"cluster bootstrap by {cluster}"
    )


def _name_cluster(estimate: EffectEstimate | None, cluster: str | None) -> None:
    if estimate is not None:
        estimate.se_type = cluster_named(estimate.se_type, cluster)
        estimate.ci_method = cluster_named(estimate.ci_method, cluster)


def _fit(
    args: tuple[Any, Any, Any, Any, Any],  # frame, graph, treatment, outcome, estimand
    spec: EstimatorSpec,
    target: Target,
    seed: int,
    n_bootstrap: int,
    n_jobs: int,
    cluster: str | None,
    interval: str = "bootstrap",
) -> EffectEstimate:
    """One estimator's estimate with its interval, through the portable code the exported
    script runs (``interval``: see ``portable.estimate_with_ci``)."""
    numbers = portable.estimate_with_ci(
        *args,
        spec.method,
        target,
        spec.params,
        seed=seed,
        n_bootstrap=n_bootstrap,
        n_jobs=n_jobs,
        cluster=cluster,
        interval=interval,
    )
    return EffectEstimate(
        method=spec.method, label=spec.label, target=target, params=spec.params, **numbers
    )


def _alternative(
    args: tuple[Any, Any, Any, Any, Any],
    spec: EstimatorSpec,
    target: Target,
    seed: int,
    n_bootstrap: int,
    data: ModelData,
) -> EffectEstimate | None:
    """Another estimator's estimate with its interval: a standard error from theory where
    the estimator has one (weighting, matching), else a shorter bootstrap than the
    primary's; one that fails on this data is left out. Matching and stratification fit a
    seeded subsample of a large table (``ALTERNATIVE_ROWS``)."""
    frame = args[0]
    if spec.method in SUBSAMPLED_ALTERNATIVES and len(frame) > ALTERNATIVE_ROWS:
        subsample = frame.sample(n=ALTERNATIVE_ROWS, random_state=seed, ignore_index=True)
        args = (subsample, *args[1:])
        spec = spec.model_copy(
            update={
                "label": f"{spec.label} (on a seeded subsample of {ALTERNATIVE_ROWS:,} of "
                f"{len(frame):,} rows)"
            }
        )
    try:
        found = _fit(args, spec, target, seed, n_bootstrap, 1, data.cluster_column, "analytic")
    except Exception:  # an alternative is optional; the primary's errors still surface
        return None
    return found if np.isfinite(found.value) else None


def _naive(data: ModelData) -> EffectEstimate | None:
    """The unadjusted comparison (difference in means, or the simple slope), so the user
    sees what adjustment changed; same kind of standard errors as the regression."""
    frame = data.frame
    try:
        numbers = portable.robust_ols(
            frame, data.model_treatment, data.model_outcome, [], data.cluster_column
        )
    except Exception:  # a degenerate frame: the adjusted estimate still stands
        return None
    binary = data.treatment_kind == "binary"
    return EffectEstimate(
        method="naive.difference_in_means" if binary else "naive.simple_regression",
        label="unadjusted difference in means" if binary else "unadjusted simple regression",
        target="ate",
        ci_method=f"regression, {numbers['se_type']} standard errors",
        **numbers,
    )


def _check_agreement(result: EstimationResult) -> None:
    """Estimators whose intervals do not overlap answer differently; say so first, with
    the likely cause and what to try."""
    estimates = [e for e in [result.estimate, *result.alternatives] if e.interval_known()]
    apart = [
        (a, b)
        for i, a in enumerate(estimates)
        for b in estimates[i + 1 :]
        if a.interval
        and b.interval
        and (a.interval[1] < b.interval[0] or b.interval[1] < a.interval[0])
    ]
    if not apart:
        return
    values = ", ".join(f"{e.label} {e.value:.4g}" for e in estimates)
    poor = result.extreme_propensity_share is not None and any(
        w.code == WarningCode.POOR_OVERLAP for w in result.warnings
    )
    if poor:
        cause = (
            "the likely cause is poor overlap: treated and untreated units differ so much that "
            "regression extrapolates and weighting leans on a few units. Try ATT (target att), "
            "trimming units with extreme propensity scores, or fewer, coarser covariates."
        )
    else:
        cause = (
            "the likely cause is model dependence (the outcome is not linear in the covariates, "
            "or the effect varies with them) or a bad control in the adjustment set. Try the "
            "regression with interactions, check each adjusted column's role (is any measured "
            "after the treatment, or a copy of treatment or outcome?), and compare ATT and ATC."
        )
    message = f"The estimators disagree beyond their intervals ({values}): {cause}"
    result.warnings.insert(
        0, AnalysisWarning(code=WarningCode.ESTIMATORS_DISAGREE, message=message)
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
    e, scale = result.estimate, result.scale
    if data.treatment_kind == "binary":
        change = f"being treated ({data.treatment} = {data.treated_level!r}) changes"
    else:
        change = f"{scale.treatment_unit if scale else 'one unit'} more of {data.treatment} changes"
    who = {"ate": "on average", "att": "among the treated", "atc": "among the untreated"}
    lead = [w.message for w in result.warnings if w.code == WarningCode.ESTIMATORS_DISAGREE]
    text = f"By {spec.label}, {change} {data.outcome} by {_amount(e, scale)} {who[e.target]}"
    if e.interval_known():
        low, high = _shown(e.ci_low, scale), _shown(e.ci_high, scale)
        text += f" (95% interval {low} to {high}; {e.se_type or e.ci_method} errors)"
        if e.interval and e.interval[0] <= 0 <= e.interval[1]:
            text += "; the interval includes zero, so the data are also consistent with no effect"
    text += "."
    if scale and scale.note:
        text += f" {scale.note}"
    if result.naive is not None:
        n = result.naive
        text += (
            f" Without adjustment the {n.label} is {_amount(n, scale)}"
            f" ({_shown(n.ci_low, scale)} to {_shown(n.ci_high, scale)}), so adjusting "
            f"changed the estimate by {_shown(e.value - n.value, scale)}."
        )
    if result.alternatives:
        values = ", ".join(
            f"{a.label} {_shown(a.value, scale)}"
            + (
                f" ({_shown(a.ci_low, scale)} to {_shown(a.ci_high, scale)})"
                if a.interval_known()
                else ""
            )
            for a in result.alternatives
        )
        text += f" Other estimators give {values}."
    return " ".join([*lead, text])


def _shown(value: float | None, scale: EffectScale | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * (scale.factor if scale else 1):.4g}"


def _amount(e: EffectEstimate, scale: EffectScale | None) -> str:
    unit = f" {scale.unit}" if scale and scale.unit else ""
    return f"{_shown(e.value, scale)}{unit}"
