"""Proximal causal inference: a point estimate despite a hidden confounder, from two proxies.

When a confounder U was not measured but two of its traces were, the effect can still be
identified (Miao, Geng & Tchetgen Tchetgen 2018; Tchetgen Tchetgen et al. 2020): a
negative-control exposure Z (moved by U, but with no effect of its own on the outcome) and
a negative-control outcome W (moved by U, but not by the treatment). In the linear model
the estimator is two regressions (``portable_proximal``). It rests on assumptions the
data cannot check, so the result states each in plain words beside the number, and puts
the estimate that ignores the proxies next to it.

The modeler's ``suggest_proxies`` only points at columns whose names say "negative
control", "placebo" or "proxy", or that were measured before the treatment as lagged
copies of the outcome: candidates to think about, never chosen silently.
"""

import re

import pandas as pd

import causal_assistant.tools.identify.portable_proximal as pp
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.results import ToolResult, WarningCode

WEAK_F = 10.0


class ProximalResult(ToolResult):
    treatment: str
    outcome: str
    nc_exposure: str
    nc_outcome: str
    covariates: list[str]
    value: float
    se: float
    ci_low: float
    ci_high: float
    naive_value: float
    naive_ci_low: float
    naive_ci_high: float
    first_stage_f: float
    n_rows: int
    assumptions: list[str]


def proximal_assumptions(treatment: str, outcome: str, z: str, w: str) -> list[str]:
    """What the proximal estimate needs, one sentence each, for a non-expert."""
    return [
        f"{z} (the negative-control exposure) has no effect of its own on {outcome} and "
        f"does not affect {w}; it is tied to them only through the hidden confounder.",
        f"{w} (the negative-control outcome) is not affected by {treatment} or by {z}; "
        "it moves with the hidden confounder.",
        f"{z} and {w} are both driven by the same hidden confounder strongly enough that "
        f"{z} predicts {w} (checked: the first-stage F below).",
        f"Effects are linear and the same for everyone: {outcome} and {w} each depend on "
        "the hidden confounder in a straight line (the linear proximal model).",
        "Given the measured covariates, nothing else unmeasured links the treatment and "
        "the outcome.",
    ]


def proximal_effect(
    frame: pd.DataFrame,
    treatment: str,
    outcome: str,
    nc_exposure: str,
    nc_outcome: str,
    covariates: tuple[str, ...] = (),
) -> ProximalResult:
    """The linear proximal two-stage estimate of the effect of ``treatment`` on ``outcome``
    with its 95% interval, the estimate ignoring the proxies, and the assumptions."""
    roles = [treatment, outcome, nc_exposure, nc_outcome]
    for column in (*roles, *covariates):
        if column not in frame.columns:
            raise InputError(f"No column {column!r} in the data; check the name.")
    if len(set(roles)) < 4:
        raise InputError(
            "The two proxies must be two different columns, neither the treatment nor the "
            "outcome (e.g. --proxies Z,W)."
        )
    covariates = tuple(c for c in covariates if c not in roles)
    for column in (*roles, *covariates):
        if not pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(
            frame[column]
        ):
            raise InputError(f"The proximal estimator needs numeric columns; {column!r} is not.")
    numbers = pp.proximal_fit(frame, outcome, treatment, nc_exposure, nc_outcome, covariates)
    result = ProximalResult(
        treatment=treatment,
        outcome=outcome,
        nc_exposure=nc_exposure,
        nc_outcome=nc_outcome,
        covariates=list(covariates),
        assumptions=proximal_assumptions(treatment, outcome, nc_exposure, nc_outcome),
        **{k: v for k, v in numbers.items() if k != "first_stage_p"},
    )
    dropped = len(frame) - result.n_rows
    if dropped:
        result.warn(
            WarningCode.MISSING_VALUES_DROPPED,
            f"{dropped} rows with a missing value were left out of the proximal estimate.",
        )
    if result.first_stage_f < WEAK_F:
        result.warn(
            WarningCode.WEAK_INSTRUMENT,
            f"{nc_exposure} barely predicts {nc_outcome} (first-stage F "
            f"{result.first_stage_f:.1f}, below {WEAK_F:g}): the proxies carry little "
            "common trace of the hidden confounder, so the proximal estimate is unreliable.",
        )
    result.reading = _reading(result)
    result.code = (
        f"proximal = proximal_fit(df, {outcome!r}, {treatment!r}, {nc_exposure!r}, "
        f"{nc_outcome!r}, {list(covariates)!r})\n"
    )
    return result


def _reading(r: ProximalResult) -> str:
    held = f", holding {', '.join(r.covariates)} fixed" if r.covariates else ""
    return (
        f"Using {r.nc_exposure} and {r.nc_outcome} as proxies of the hidden confounder "
        f"(proximal two-stage least squares{held}), {r.treatment} changes {r.outcome} by "
        f"{r.value:.4g} per unit (95% interval {r.ci_low:.4g} to {r.ci_high:.4g}, robust "
        f"errors that account for the first stage). Ignoring the proxies gives "
        f"{r.naive_value:.4g} ({r.naive_ci_low:.4g} to {r.naive_ci_high:.4g}). "
        f"{r.nc_exposure} predicts {r.nc_outcome} with first-stage F {r.first_stage_f:.1f}. "
        "This holds only if: " + " ".join(r.assumptions)
    )


PROXY_WORDS = re.compile(
    r"(?:^|[_\W])(?:nc|nco|nce|negative|placebo|proxy|proxies|control_outcome)(?:$|[_\W])"
    r"|negative.?control|placebo|proxy",
    re.I,
)
LAG_WORDS = re.compile(r"(?:^|[_\W])(?:pre|prior|lag|lagged|baseline|before|last)(?:$|[_\W])", re.I)


def suggest_proxies(columns: list[str], treatment: str, outcome: str) -> list[str]:
    """Columns worth considering as proxies of a hidden confounder, by name only: those
    named as negative controls, placebos or proxies, and lagged or baseline measurements
    (a pre-treatment outcome is a classic negative-control outcome: the treatment cannot
    have moved it). The user decides; nothing is used without being marked."""
    skip = {treatment, outcome}
    return [c for c in columns if c not in skip and (PROXY_WORDS.search(c) or LAG_WORDS.search(c))]
