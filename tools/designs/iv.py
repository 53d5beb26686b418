"""Instrumental variables: a variable that moves the treatment and reaches the outcome only
through it identifies the effect despite confounders nobody measured.

Instruments are often valid only given some covariates (a lottery run with different odds
per region is random within region), so the design finds the conditioning set that makes
them valid: from the graph, the observed pre-treatment variables that d-separate the
instruments from the outcome once the treatment's outgoing edges are cut (DoWhy's criterion
asks for no such set); without a graph, every usable pre-treatment covariate. Estimation is
2SLS with those covariates (LIML when the first stage is weak) from linearmodels, with
robust or clustered errors and the first-stage F reported. With a binary treatment and one
binary instrument the estimand is the local average effect for compliers (Imbens and
Angrist), not the average effect for everyone.
"""

from typing import ClassVar

import networkx as nx
import numpy as np
import pandas as pd

from causal_assistant.tools.data.intake import DatasetProfile, resolve_column
from causal_assistant.tools.designs import checks_portable, register
from causal_assistant.tools.designs.base import (
    Assumption,
    DesignCheck,
    DesignColumns,
    DesignEstimate,
    DesignEvidence,
    DesignIdentification,
    DesignKind,
    DesignSpec,
)
from causal_assistant.tools.designs.common import (
    after_treatment,
    context_says,
    covariate_candidates,
    outcome_scale,
    read_sensitivity,
    spec_graph,
)
from causal_assistant.tools.designs.defining import (
    defines_treatment,
    treatment_defining_columns,
)
from causal_assistant.tools.designs.fitting import (
    covariate_matrix,
    iv_checks,
    iv_fit,
    reduced_form_placebo,
    robust_joint_test,
    snippet,
    treated_indicator,
)
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.export.scriptgen import library_code
from causal_assistant.tools.identify.adjustment import backdoor_set
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.refute import portable_exclusion
from causal_assistant.tools.refute.exclusion import read_bounds
from causal_assistant.tools.refute.portable_exclusion import exclusion_check
from causal_assistant.tools.results import WarningCode

WEAK_F = 10.0  # Staiger and Stock's rule of thumb for the first-stage F
# Conley et al.'s check allows the instrument a direct effect on the outcome of up to this
# share of its whole association with the outcome (the reduced form), in either direction.
DIRECT_SHARE = 0.2
COPY_CORRELATION = 0.999
LATE = "LATE for compliers"
LINEAR_IV = "IV estimand (linear)"
MENTIONS_INSTRUMENT = r"\binstrument(?:al)?s?\b|\bexclusion restriction\b"


def conditioning_set(
    graph: CausalGraph, treatment: str, outcome: str, instruments: list[str]
) -> list[str] | None:
    """The smallest set of observed pre-treatment variables given which the instruments
    are tied to the treatment but reach the outcome only through it; None if none exists."""
    nxg = graph.to_networkx()
    if not {treatment, outcome, *instruments} <= set(nxg.nodes):
        return None
    cut = nxg.copy()
    cut.remove_edges_from(list(nxg.out_edges(treatment)))
    excluded = nx.descendants(nxg, treatment) | set(graph.unobserved) | set(graph.post_treatment)
    allowed = set(nxg.nodes) - excluded - {treatment, outcome, *instruments}
    held = nx.find_minimal_d_separator(cut, set(instruments), {outcome}, restricted=allowed)
    if held is None or nx.is_d_separator(nxg, set(instruments), {treatment}, held):
        return None
    return sorted(held)


def copies_treatment(instrument: pd.Series, treatment: pd.Series) -> bool:
    """The treatment is a function of the instrument (or the two move in lockstep)."""
    if defines_treatment(instrument, treatment):
        return True
    pair = pd.DataFrame({"z": instrument, "t": treatment}).dropna()
    numeric = all(pd.api.types.is_numeric_dtype(pair[c]) for c in pair)
    if not numeric or pair["z"].std() == 0 or pair["t"].std() == 0:
        return False
    return abs(float(np.corrcoef(pair["z"], pair["t"])[0, 1])) >= COPY_CORRELATION


def _binary(values: pd.Series) -> bool:
    return values.dropna().nunique() == 2


class IVDesign:
    kind: ClassVar[DesignKind] = DesignKind.IV

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence | None:
        """An instrument named in the description (the data alone cannot show that a
        variable reaches the outcome only through the treatment)."""
        said = context_says(context, MENTIONS_INSTRUMENT)
        if not said:
            return None
        words = set(said.replace(",", " ").replace(".", " ").split())
        named = [c for c in frame.columns if c in words and c not in (treatment, outcome)]
        if not named:
            return None
        return DesignEvidence(
            kind=self.kind,
            strength="moderate",
            source="context",
            reading=f"The description names {', '.join(named)} as an instrument: “{said}”",
            columns=DesignColumns(instruments=named),
            facts={"sentence": said},
        )

    def detect_graph(
        self, graph: CausalGraph, treatment: str, outcome: str
    ) -> DesignEvidence | None:
        """Instruments in the graph, when no observed set blocks the backdoor paths."""
        if backdoor_set(graph, treatment, outcome) is not None:
            return None
        nxg = graph.to_networkx()
        after = nx.descendants(nxg, treatment) | {treatment, outcome}
        found = {
            name: held
            for name in sorted(set(graph.nodes) - after - set(graph.unobserved))
            if (held := conditioning_set(graph, treatment, outcome, [name])) is not None
        }
        if not found:
            return None
        instruments = list(found)
        held = conditioning_set(graph, treatment, outcome, instruments)
        if held is None:  # valid one at a time but not jointly: keep the first
            instruments, held = instruments[:1], found[instruments[0]]
        given = f" given {', '.join(held)}" if held else ""
        return DesignEvidence(
            kind=self.kind,
            strength="strong",
            source="graph",
            reading=(
                f"In the graph no measured set blocks the confounding of {treatment} and "
                f"{outcome}, but {', '.join(instruments)} moves {treatment} and{given} reaches "
                f"{outcome} only through it: an instrument"
            ),
            columns=DesignColumns(instruments=instruments, covariates=held),
        )

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        z = ", ".join(spec.columns.instruments) or "the instrument"
        given = f" given {', '.join(spec.columns.covariates)}" if spec.columns.covariates else ""
        return [
            Assumption(
                name="relevance",
                testable="yes",
                reading=f"{z} moves {spec.treatment} (the first-stage F tests it).",
            ),
            Assumption(
                name="exclusion restriction",
                testable="no",
                reading=f"{z} affects {spec.outcome} only through {spec.treatment}{given}.",
            ),
            Assumption(
                name="independence",
                testable="partly",
                reading=f"{z} is as good as random{given}: no unmeasured cause shares it with "
                f"{spec.outcome} (the reduced-form placebo tests implications of it).",
            ),
            Assumption(
                name="monotonicity",
                testable="no",
                reading=f"Nobody takes {spec.treatment} less because of {z} (no defiers), "
                "which makes the estimate the effect for compliers.",
            ),
        ]

    def identify(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignIdentification:
        columns = list(frame.columns)
        if not spec.columns.instruments:
            raise InputError(
                "The instrumental-variable design needs an instrument: pass --instrument "
                "COLUMN or say 'use instrument COLUMN'."
            )
        instruments = [resolve_column(z, columns) for z in spec.columns.instruments]
        for z in instruments:
            if z in (spec.treatment, spec.outcome):
                raise InputError(
                    f"{z!r} is the {'treatment' if z == spec.treatment else 'outcome'}; an "
                    "instrument must be another column."
                )
            if copies_treatment(frame[z], frame[spec.treatment]):
                raise InputError(
                    f"The instrument {z!r} is a copy of the treatment {spec.treatment!r} "
                    "(the treatment is a function of it), so it cannot separate the "
                    "treatment's effect from confounding; choose a variable that only "
                    "nudges the treatment."
                )
        result = DesignIdentification(identified=True, estimand=self._estimand(frame, spec))
        covariates, note = self._covariates(frame, spec, instruments, result)
        result.columns = spec.columns.model_copy(
            update={"instruments": instruments, "covariates": covariates}
        )
        settled = spec.model_copy(update={"columns": result.columns})
        result.assumptions = self.assumptions(settled)
        given = f" given {', '.join(covariates)}" if covariates else ""
        result.reading = (
            f"{', '.join(instruments)} moves {spec.treatment} and{given} reaches "
            f"{spec.outcome} only through it (the exclusion restriction: untestable, yours to "
            f"own), so instrumental variables identify the {result.estimand}. {note}"
        ).strip()
        result.code = f"# instrumental variables: {', '.join(instruments)}{given}\n"
        return result

    @staticmethod
    def _estimand(frame: pd.DataFrame, spec: DesignSpec) -> str:
        binary = _binary(frame[spec.treatment]) and len(spec.columns.instruments) == 1
        return LATE if binary and _binary(frame[spec.columns.instruments[0]]) else LINEAR_IV

    @staticmethod
    def _covariates(
        frame: pd.DataFrame,
        spec: DesignSpec,
        instruments: list[str],
        result: DesignIdentification,
    ) -> tuple[list[str], str]:
        """The conditioning set: the user's, else the graph's, else every pre-treatment
        covariate; columns that define the treatment are always left out."""
        own = [*instruments, *([spec.columns.cluster] if spec.columns.cluster else [])]
        graph = spec_graph(spec)
        if spec.columns.covariates:
            chosen = [c for c in spec.columns.covariates if c not in own]
            note = "The covariates are the ones you named."
        elif (
            graph is not None
            and (held := conditioning_set(graph, spec.treatment, spec.outcome, instruments))
            is not None
        ):
            chosen = [c for c in held if c in frame.columns]
            note = (
                f"The graph makes the instrument valid given {', '.join(chosen)}."
                if chosen
                else "The graph makes the instrument valid without conditioning."
            )
        else:
            chosen, _ = covariate_candidates(frame, spec, own)
            note = (
                "No graph says which covariates make the instrument valid, so every "
                "pre-treatment covariate is held fixed."
            )
            if graph is not None and set(instruments) <= set(graph.nodes):
                note = (
                    "The graph leaves a path from the instrument to the outcome that no "
                    "measured set blocks; every pre-treatment covariate is held fixed, "
                    "but check the exclusion restriction."
                )
                result.warn(WarningCode.GRAPH_DATA_CONFLICT, note)
        defining = treatment_defining_columns(frame, spec.treatment, chosen)
        for name in defining:
            result.warn(
                WarningCode.TREATMENT_DEFINING_COLUMN,
                f"{spec.treatment} is a function of {name}, so {name} is not held fixed.",
            )
        return [c for c in chosen if c not in defining], note

    def estimate(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignEstimate:
        cols = spec.columns
        numbers = iv_fit(
            frame, spec.treatment, spec.outcome, cols.instruments, cols.covariates, cols.cluster
        )
        estimand = self._estimand(frame, spec)
        result = DesignEstimate(
            method=numbers["method"],
            estimand=estimand,
            value=numbers["value"],
            ci_low=numbers["ci_low"],
            ci_high=numbers["ci_high"],
            se=numbers["se"],
            se_type=numbers["se_type"],
            scale=outcome_scale(frame[spec.outcome], spec.outcome),
            n_rows=numbers["n_rows"],
            details={
                key: numbers[key]
                for key in ("first_stage_f", "first_stage_p", "partial_r2", "overid")
            }
            | {"alternatives": numbers["alternatives"]},
            code=self.code(spec),
        )
        name = "LIML" if numbers["method"] == "iv.liml" else "2SLS"
        who = "for compliers (units whose treatment the instrument changes)"
        result.reading = (
            f"By {name} with {', '.join(cols.instruments)} as instrument"
            f"{'s' if len(cols.instruments) > 1 else ''}, {spec.treatment} changes "
            f"{spec.outcome} by {result.value:.4g} per unit"
            f"{' ' + who if estimand == LATE else ''} (95% interval {result.ci_low:.4g} to "
            f"{result.ci_high:.4g}, {result.se_type} errors); first-stage F "
            f"{numbers['first_stage_f']:.1f}."
        )
        if numbers["first_stage_f"] < WEAK_F:
            result.warn(
                WarningCode.WEAK_INSTRUMENT,
                f"The first-stage F is {numbers['first_stage_f']:.1f}, below {WEAK_F:g}: the "
                "instrument barely moves the treatment, so LIML is used and its interval "
                "may still be too narrow.",
            )
        if spec.target != "ate":
            result.reading += (
                f" IV estimates the {estimand}, not the {spec.target.upper()} you asked for."
            )
        return result

    def checks(
        self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate
    ) -> list[DesignCheck]:
        details = estimate.details
        first, *overid = iv_checks(details, WEAK_F)
        f = first["statistic"]
        found = [
            DesignCheck(
                **first,
                reading=f"First-stage F {f:.1f} (robust, per instrument; partial R² "
                f"{details['partial_r2']:.3f}). "
                + {
                    "pass": f"Above {WEAK_F:g}: the instrument moves the treatment strongly.",
                    "warn": f"Below {WEAK_F:g}: a weak instrument; LIML is used.",
                    "fail": "The instrument does not move the treatment detectably.",
                }[first["status"]],
            )
        ]
        for check in overid:
            found.append(
                DesignCheck(
                    **check,
                    reading="Wooldridge's robust score test of overidentification: "
                    f"p = {check['p_value']:.3g}. "
                    + (
                        "The instruments agree with each other."
                        if check["status"] == "pass"
                        else "The instruments imply different effects: at least one may "
                        "reach the outcome another way (or effects differ by complier group)."
                    ),
                )
            )
        placebo = _reduced_form_placebo(frame, spec)
        exclusion = exclusion_sensitivity_check(frame, spec)
        return found + [c for c in (placebo, exclusion) if c]

    def check_code(self, spec: DesignSpec) -> str:
        """The checks in the exported script, after its estimate (``numbers``)."""
        cols = spec.columns
        call = (
            f"check_numbers(iv_checks(numbers, {WEAK_F!r}) + [c for c in [\n"
            f"    reduced_form_placebo(df, {_placebo_candidates(spec)!r}, "
            f"{list(cols.instruments)!r}, {list(cols.covariates)!r}),\n"
            f"    exclusion_check(df, {spec.outcome!r}, {spec.treatment!r}, "
            f"{list(cols.instruments)!r}, {list(cols.covariates)!r}, {DIRECT_SHARE!r}),\n"
            "] if c])"
        )
        portable = [portable_exclusion.__name__, checks_portable.__name__]
        return (
            library_code(portable)
            + "\n\n\n"
            + snippet(
                (
                    treated_indicator,
                    covariate_matrix,
                    robust_joint_test,
                    reduced_form_placebo,
                    iv_checks,
                ),
                call,
                "refutations",
            )
        )

    def code(self, spec: DesignSpec) -> str:
        cols = spec.columns
        return snippet(
            (treated_indicator, covariate_matrix, iv_fit),
            f"iv_fit(df, {spec.treatment!r}, {spec.outcome!r}, {list(cols.instruments)!r}, "
            f"{list(cols.covariates)!r}, {cols.cluster!r})",
        )


def _placebo_candidates(spec: DesignSpec) -> list[str]:
    """Pre-treatment variables the graph says are independent of the instruments given
    the conditioning set: what the reduced-form placebo tests (only meaningful with a
    graph that implies such variables; none without a graph)."""
    graph = spec_graph(spec)
    cols = spec.columns
    if graph is None or not set(cols.instruments) <= set(graph.nodes):
        return []
    nxg = graph.to_networkx()
    held = [c for c in cols.covariates if c in nxg.nodes]
    skip = after_treatment(spec) | {spec.treatment, spec.outcome, *cols.instruments, *held}
    return [
        name
        for name in graph.nodes
        if name not in skip
        and name not in graph.unobserved
        and nx.is_d_separator(nxg, set(cols.instruments), {name}, set(held))
    ]


def _reduced_form_placebo(frame: pd.DataFrame, spec: DesignSpec) -> DesignCheck | None:
    """A falsification test of the instrument's independence (``reduced_form_placebo``)."""
    cols = spec.columns
    check = reduced_form_placebo(
        frame, _placebo_candidates(spec), cols.instruments, cols.covariates
    )
    if check is None:
        return None
    return DesignCheck(
        name=check["name"],
        status=check["status"],
        p_value=check["p_value"],
        reading=(
            f"The graph says {', '.join(check['testable'])} cannot depend on the instrument; "
            f"the smallest Bonferroni-adjusted p-value ({check['worst']}) is "
            f"{check['p_value']:.3g}. "
            + (
                "No sign that the instrument is tied to other causes."
                if check["status"] == "pass"
                else "The instrument predicts a variable it should not: it may share causes "
                "with the outcome."
            )
        ),
        details={"p_values": check["p_values"]},
    )


def exclusion_sensitivity_check(frame: pd.DataFrame, spec: DesignSpec) -> DesignCheck | None:
    """How far the exclusion restriction may fail (Conley, Hansen & Rossi 2012): the union
    of intervals when the instrument may reach the outcome directly by up to
    ``DIRECT_SHARE`` of its reduced form, and the breakdown direct effect. Warn when a
    direct effect inside that range could move the interval to include zero (pass for an
    interval that already includes it: nothing to overturn). One instrument only, and
    numeric covariates (None otherwise); the verdict is ``exclusion_check``'s."""
    cols = spec.columns
    check = exclusion_check(
        frame, spec.outcome, spec.treatment, cols.instruments, cols.covariates, DIRECT_SHARE
    )
    if check is None:
        return None
    instrument = cols.instruments[0]
    result = read_bounds(check["bounds"], instrument, spec.outcome, spec.treatment)
    rule = (
        f"Rule: warn when a direct effect of {instrument} on {spec.outcome} of up to "
        f"{DIRECT_SHARE:.0%} of its whole association with {spec.outcome} "
        f"({check['reach']:.3g} per unit) could put zero inside the interval."
    )
    return read_sensitivity(check, result, rule, "such a direct path")


IV = register(IVDesign())
