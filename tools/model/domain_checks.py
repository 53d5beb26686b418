"""Data checks of instruments and negative controls someone proposed from domain knowledge.

A reasoner (or an analyst) can argue that a column is an instrument or a negative control;
the data can test the part of that argument that is testable and nothing more:

- an instrument must move the treatment (first-stage F of at least 10 given the graph's
  confounders); its exclusion restriction (no path to the outcome except through the
  treatment) is untestable and stays the analyst's to defend;
- a negative-control outcome is one the treatment cannot affect, so an association with
  the treatment once the confounders are held fixed signals confounding left over;
- a negative-control exposure is one that cannot affect the outcome, so an association
  with the outcome given the treatment and the confounders signals the same.

A proposal that fails its check is reported as failing and is not used.
"""

from collections.abc import Mapping, Sequence
from typing import Literal

import networkx as nx
import pandas as pd
from pydantic import BaseModel

from causal_assistant.tools.data.intake import UNUSABLE_KINDS, DatasetProfile
from causal_assistant.tools.identify.adjustment import backdoor_set
from causal_assistant.tools.model.discovery import BlockMatrix, encode, format_p
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.model.instruments import WEAK_F, first_stage_candidate
from causal_assistant.tools.results import ToolResult, WarningCode

ALPHA = 0.05
MIN_ROWS = 30
CheckKind = Literal["instrument", "negative_control_outcome", "negative_control_exposure"]


class ProposalCheck(BaseModel):
    kind: CheckKind
    name: str
    status: Literal["pass", "fail"]
    statistic: str  # "F" for an instrument, the association test otherwise
    value: float
    p_value: float
    given: list[str]
    n_rows: int
    reading: str


class DomainCheckResult(ToolResult):
    checks: list[ProposalCheck] = []

    def passing(self, kind: CheckKind) -> list[str]:
        return [c.name for c in self.checks if c.kind == kind and c.status == "pass"]


def check_proposals(
    df: pd.DataFrame,
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    proposals: Sequence[tuple[CheckKind, str]],
) -> DomainCheckResult:
    """Each (kind, column) proposal checked in the data; failures carry a warning."""
    kinds = {c.name: c.kind for c in profile.columns if c.kind not in UNUSABLE_KINDS}
    given = _confounders(graph, treatment, outcome, kinds)
    after = nx.descendants(graph.to_networkx(), treatment) if treatment in graph.nodes else set()
    result = DomainCheckResult()
    for kind, name in proposals:
        if name not in kinds or name in (treatment, outcome):
            continue
        held = [g for g in given if g != name]
        if kind == "instrument":
            check = _instrument(df, kinds, name, treatment, outcome, held, name in after)
        else:
            check = _negative_control(df, kinds, kind, name, treatment, outcome, held)
        result.checks.append(check)
        if check.status == "fail":
            code = (
                WarningCode.WEAK_INSTRUMENT
                if kind == "instrument"
                else WarningCode.GRAPH_DATA_CONFLICT
            )
            result.warn(code, check.reading)
    passed = sum(c.status == "pass" for c in result.checks)
    result.reading = (
        f"{len(result.checks)} proposed instrument(s) and negative control(s) checked in the "
        f"data: {passed} passed, {len(result.checks) - passed} failed (failures are not used)."
        if result.checks
        else ""
    )
    listed = ", ".join(f"({k!r}, {n!r})" for k, n in proposals)
    result.code = (
        "from causal_assistant.tools.model.domain_checks import check_proposals\n"
        f"checks = check_proposals(df, profile_table(df), graph, {treatment!r}, "
        f"{outcome!r}, [{listed}])\n"
    )
    return result


def _confounders(
    graph: CausalGraph, treatment: str, outcome: str, kinds: Mapping[str, str]
) -> list[str]:
    """The graph's adjustment set, or the treatment's observed parents when the graph has
    no observed one (a latent confounder)."""
    chosen = backdoor_set(graph, treatment, outcome)
    if chosen is None:
        chosen = [p for p in graph.parents(treatment) if p not in graph.unobserved]
    return [c for c in chosen if c in kinds]


def _instrument(
    df: pd.DataFrame,
    kinds: Mapping[str, str],
    name: str,
    treatment: str,
    outcome: str,
    given: list[str],
    downstream: bool,
) -> ProposalCheck:
    stage = first_stage_candidate(df, kinds, name, ["data"], treatment, outcome, given)
    held = f" given {', '.join(given)}" if given else ""
    strong = stage.first_stage_f >= WEAK_F and not downstream
    if downstream:
        verdict = f"fails: the graph puts {name} downstream of {treatment}, so it cannot be one"
    elif strong:
        verdict = "passes the relevance check"
    else:
        verdict = f"fails the relevance check (F < {WEAK_F:g}: a weak instrument)"
    reading = (
        f"Instrument {name} {verdict}: first-stage F = {stage.first_stage_f:.1f} "
        f"({format_p(stage.first_stage_p)}) for {treatment}{held}, on {stage.n_rows} rows. "
        f"Its exclusion restriction (it affects {outcome} only through {treatment}) cannot "
        "be tested; it is yours to defend."
    )
    return ProposalCheck(
        kind="instrument",
        name=name,
        status="pass" if strong else "fail",
        statistic="first-stage F",
        value=stage.first_stage_f,
        p_value=stage.first_stage_p,
        given=given,
        n_rows=stage.n_rows,
        reading=reading,
    )


def _negative_control(
    df: pd.DataFrame,
    kinds: Mapping[str, str],
    kind: CheckKind,
    name: str,
    treatment: str,
    outcome: str,
    given: list[str],
) -> ProposalCheck:
    """A placebo association: with the treatment (outcome control) or with the outcome
    given the treatment (exposure control), holding the confounders fixed."""
    columns = list(dict.fromkeys([treatment, outcome, name, *given]))
    frame = df[columns].dropna()
    if kind == "negative_control_outcome":
        x, y, held, zero = treatment, name, given, f"{treatment} cannot affect {name}"
    else:
        x, y, held = name, outcome, [treatment, *given]
        zero = f"{name} cannot affect {outcome}"
    if len(frame) < MIN_ROWS:
        test_p, r, described = 1.0, 0.0, f"only {len(frame)} complete rows, no test"
    else:
        test = BlockMatrix(encode(frame, {c: kinds[c] for c in columns})).test(x, y, held)
        test_p, r, described = test.p_value, test.r, test.describe()
    ok = test_p >= ALPHA
    fixed = f" given {', '.join(held)}" if held else ""
    label = (
        "Negative-control outcome"
        if kind == "negative_control_outcome"
        else ("Negative-control exposure")
    )
    outcome_text = (
        "passes: no association was detected (which is not proof of none)"
        if ok
        else "fails: the association points to confounding the graph does not hold fixed, "
        "or the argument that it must be zero is wrong"
    )
    reading = (
        f"{label} {name}: {x} and {y}{fixed}: {described} on {len(frame)} rows; "
        f"{outcome_text}. The argument that {zero} is yours to own."
    )
    return ProposalCheck(
        kind=kind,
        name=name,
        status="pass" if ok else "fail",
        statistic="partial association",
        value=r,
        p_value=test_p,
        given=held,
        n_rows=len(frame),
        reading=reading,
    )
