"""Instruments and front doors: designs that survive confounding nobody measured.

An instrument moves the treatment and reaches the outcome only through it. The graph can
say which variables qualify; the data can say how strongly each moves the treatment (the
first-stage F statistic, where below 10 the instrument is weak and IV estimates are biased
and their intervals wrong). Whether it truly reaches the outcome only through the treatment
(the exclusion restriction) the data cannot settle, so every suggestion states it as an
assumption the user must own. A front-door set is the other escape: mediators that carry
all of the effect and share no hidden cause with the treatment.
"""

from collections.abc import Mapping
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
import statsmodels.api as sm
from pydantic import BaseModel

from causal_assistant.tools.data.intake import UNUSABLE_KINDS, DatasetProfile, profile_table
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.identify.adjustment import backdoor_set
from causal_assistant.tools.model.critique import screened_off
from causal_assistant.tools.model.discovery import BlockMatrix, encode, format_p
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.results import ToolResult, WarningCode

WEAK_F = 10.0
ALPHA = 0.05


class InstrumentCandidate(BaseModel):
    name: str
    sources: list[Literal["graph", "data"]]
    first_stage_f: float
    first_stage_p: float
    partial_r2: float
    outcome_p: float | None = None
    weak: bool
    n_rows: int
    evidence: str


class FrontDoorSet(BaseModel):
    variables: list[str]
    evidence: str


class InstrumentResult(ToolResult):
    candidates: list[InstrumentCandidate] = []
    joint_f: float | None = None
    conditioning: list[str] = []
    frontdoor: list[FrontDoorSet] = []
    assumption: str = ""
    n_rows: int = 0


def graph_instruments(
    graph: CausalGraph, treatment: str, outcome: str, given: list[str]
) -> list[str]:
    """Observed ancestors of the treatment that are tied to it but, given ``given``, to the
    outcome only through it (d-separated once the treatment's outgoing edges are cut)."""
    nxg = graph.to_networkx()
    cut = nxg.copy()
    cut.remove_edges_from(list(nxg.out_edges(treatment)))
    after = nx.descendants(nxg, treatment)
    found = []
    for name in sorted(nx.ancestors(nxg, treatment)):
        if name in graph.unobserved or name in after:
            continue
        conditions = [c for c in given if c != name]
        below = [c for c in conditions if c not in nx.descendants(nxg, name)]
        for held in (set(below), set(conditions)):
            if not nx.is_d_separator(nxg, {name}, {treatment}, held) and nx.is_d_separator(
                cut, {name}, {outcome}, held
            ):
                found.append(name)
                break
    return found


def frontdoor_sets(graph: CausalGraph, treatment: str, outcome: str) -> list[list[str]]:
    """DoWhy's front-door search on the graph (the smallest valid set, if any)."""
    from dowhy.causal_identifier.auto_identifier import identify_frontdoor

    observed = [n for n in graph.nodes if n not in graph.unobserved]
    found = identify_frontdoor(graph.to_networkx(), [treatment], [outcome], observed)
    return [sorted(found)] if found else []


def suggest_instruments(
    df: pd.DataFrame,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    *,
    profile: DatasetProfile | None = None,
) -> InstrumentResult:
    """Instrument candidates from the graph and from the data, each with its first-stage
    strength given the graph's confounders (its backdoor set without the instruments), and
    front-door sets where the graph has them."""
    profile = profile or profile_table(df)
    kinds = {c.name: c.kind for c in profile.columns if c.kind not in UNUSABLE_KINDS}
    if kinds.get(treatment) not in ("binary", "continuous", "count"):
        raise InputError(
            f"The treatment {treatment!r} must be numeric or yes/no to look for instruments."
        )
    if treatment not in graph.nodes or outcome not in graph.nodes:
        raise InputError("Treatment and outcome must be nodes of the graph; add them.")
    nxg = graph.to_networkx()
    after = nx.descendants(nxg, treatment) | set(graph.post_treatment)
    upstream = [
        c
        for c in (
            backdoor_set(graph, treatment, outcome)
            or _observed_ancestors(graph, treatment, outcome)
        )
        if c in kinds
    ]
    from_graph = graph_instruments(graph, treatment, outcome, upstream)
    conditioning = [c for c in upstream if c not in from_graph]
    result = InstrumentResult(conditioning=conditioning)
    others = [c for c in kinds if c not in {treatment, outcome, *after, *from_graph}]
    candidates = {name: ["graph"] for name in from_graph if name in kinds}
    anchors = [p for p in nxg.predecessors(treatment) if p in kinds]
    shared = _SharedMatrix(df, kinds, [treatment, outcome, *others, *conditioning, *anchors])
    for name in others:
        if _data_candidate(shared, name, treatment, outcome, conditioning, anchors):
            candidates[name] = ["data"]
    for name, sources in candidates.items():
        result.candidates.append(
            first_stage_candidate(
                df, kinds, name, sources, treatment, outcome, [c for c in conditioning if c != name]
            )
        )
    result.candidates.sort(key=lambda c: -c.first_stage_f)
    if len(result.candidates) > 1:
        result.joint_f = _joint_f(
            df, kinds, [c.name for c in result.candidates], treatment, conditioning
        )
    result.n_rows = max((c.n_rows for c in result.candidates), default=0)
    for candidate in result.candidates:
        if candidate.weak:
            result.warn(
                WarningCode.WEAK_INSTRUMENT,
                f"{candidate.name} is a weak instrument (first-stage F = "
                f"{candidate.first_stage_f:.1f} < {WEAK_F:g}): IV estimates with it are "
                "biased toward the confounded comparison and their intervals are "
                "unreliable.",
            )
    result.frontdoor = [
        FrontDoorSet(
            variables=s,
            evidence=(
                f"{', '.join(s)} intercept every directed path from {treatment} to {outcome}, no "
                f"backdoor path reaches them from {treatment}, and {treatment} blocks every "
                f"backdoor path from them to {outcome} (front-door criterion on the graph)"
            ),
        )
        for s in frontdoor_sets(graph, treatment, outcome)
    ]
    names = ", ".join(c.name for c in result.candidates)
    many = len(result.candidates) > 1
    result.assumption = (
        f"Exclusion restriction (untestable): {names or 'an instrument'} "
        f"{'affect' if many else 'affects'} {outcome} only through {treatment} and "
        f"{'share' if many else 'shares'} no unmeasured cause with {outcome}. The data cannot "
        "confirm this; you must defend it from how the instrument came about."
    )
    result.reading = _reading(result, treatment)
    result.code = (
        "from causal_assistant.tools.model.instruments import suggest_instruments\n"
        f"instruments = suggest_instruments(df, graph, {treatment!r}, {outcome!r})\n"
    )
    return result


def _observed_ancestors(graph: CausalGraph, treatment: str, outcome: str) -> list[str]:
    """When no observed set blocks the backdoor, condition on what is observed upstream."""
    nxg = graph.to_networkx()
    after = nx.descendants(nxg, treatment) | {treatment, outcome}
    upstream = nx.ancestors(nxg, treatment) | nx.ancestors(nxg, outcome)
    return sorted(n for n in upstream - after if n not in graph.unobserved)


def _design(
    df: pd.DataFrame, kinds: Mapping[str, str], columns: list[str]
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    frame = df[columns].dropna()
    return frame, encode(frame, {c: kinds[c] for c in columns})


class _SharedMatrix:
    """One correlation matrix over every screened column, built once, for each candidate's
    tests whose columns are complete on the same rows as all of them (the usual case, where
    nothing is missing): a candidate's correlations are then a block of it, so the screen
    does not re-encode and re-correlate the whole table per candidate (minutes at 1M rows).
    A candidate whose columns keep more rows gets a matrix of its own, as before."""

    def __init__(self, df: pd.DataFrame, kinds: Mapping[str, str], columns: list[str]) -> None:
        self.df, self.kinds = df, kinds
        self.columns = list(dict.fromkeys(columns))
        self.present = {c: df[c].notna().to_numpy() for c in self.columns}
        self.n_all = self._rows(self.columns)
        self._matrix: BlockMatrix | None = None

    def _rows(self, columns: list[str]) -> int:
        return int(np.logical_and.reduce([self.present[c] for c in columns]).sum())

    def matrix(self, used: list[str]) -> tuple[int, BlockMatrix | None]:
        """(rows complete on ``used``, their matrix; None below 30 rows)."""
        rows = self._rows(used)
        if rows < 30:
            return rows, None
        if rows != self.n_all:
            return rows, BlockMatrix(_design(self.df, self.kinds, used)[1])
        if self._matrix is None:
            self._matrix = BlockMatrix(_design(self.df, self.kinds, self.columns)[1])
        return rows, self._matrix


def _data_candidate(
    shared: _SharedMatrix,
    name: str,
    treatment: str,
    outcome: str,
    conditioning: list[str],
    anchors: list[str],
) -> bool:
    """Associated with the treatment given the confounders, and not with the outcome given
    the treatment and the confounders (what a valid instrument shows when the confounders
    are all measured), and not shown to be downstream of the treatment: an effect of the
    treatment alone passes the first two tests too."""
    given = [c for c in conditioning if c != name]
    used = list(dict.fromkeys([treatment, outcome, name, *given, *anchors]))
    _, matrix = shared.matrix(used)
    if matrix is None:
        return False
    if any(screened_off(matrix, name, a, [treatment]) for a in anchors):
        return False
    return (
        matrix.test(name, treatment, given).p_value < ALPHA
        and matrix.test(name, outcome, [treatment, *given]).p_value > ALPHA
    )


def _ols(y: np.ndarray, blocks: list[np.ndarray]) -> Any:  # a statsmodels results object
    x = sm.add_constant(np.hstack(blocks), has_constant="add") if blocks else np.ones((len(y), 1))
    return sm.OLS(y, x).fit()


def first_stage_candidate(
    df: pd.DataFrame,
    kinds: Mapping[str, str],
    name: str,
    sources: list,
    treatment: str,
    outcome: str,
    given: list[str],
) -> InstrumentCandidate:
    """F statistic of the candidate in the regression of treatment on it and the
    confounders (a linear probability model for a yes/no treatment)."""
    frame, blocks = _design(df, kinds, [treatment, outcome, name, *given])
    t = blocks[treatment][:, 0]
    full = _ols(t, [blocks[name], *[blocks[g] for g in given]])
    restricted = _ols(t, [blocks[g] for g in given])
    f_value, p_value, _ = full.compare_f_test(restricted)
    partial_r2 = 1 - full.ssr / restricted.ssr
    outcome_test = BlockMatrix(blocks).test(name, outcome, [treatment, *given])
    weak = f_value < WEAK_F
    held = f"given {', '.join(given)}" if given else "with nothing to hold fixed"
    origin = (
        "the graph: it causes the treatment and reaches the outcome only through it"
        if "graph" in sources
        else f"the data: tied to {treatment} but not to {outcome} once {treatment} and the "
        "confounders are held fixed"
    )
    evidence = (
        f"from {origin}; first-stage F = {f_value:.1f} ({format_p(p_value)}, partial "
        f"R² {partial_r2:.3f}) {held}, on {len(frame)} rows; with {outcome} given "
        f"{treatment} and the confounders: {outcome_test.describe()}"
        + (" (weak: F < 10)" if weak else "")
    )
    return InstrumentCandidate(
        name=name,
        sources=sources,
        first_stage_f=float(f_value),
        first_stage_p=float(p_value),
        partial_r2=float(partial_r2),
        outcome_p=outcome_test.p_value,
        weak=weak,
        n_rows=len(frame),
        evidence=evidence,
    )


def _joint_f(
    df: pd.DataFrame, kinds: Mapping[str, str], names: list[str], treatment: str, given: list[str]
) -> float:
    given = [g for g in given if g not in names]
    _, blocks = _design(df, kinds, [treatment, *names, *given])
    t = blocks[treatment][:, 0]
    full = _ols(t, [blocks[n] for n in [*names, *given]])
    restricted = _ols(t, [blocks[g] for g in given])
    return float(full.compare_f_test(restricted)[0])


def _reading(result: InstrumentResult, treatment: str) -> str:
    if not result.candidates:
        text = f"No instrument for {treatment} found in the graph or the data."
    else:
        parts = [
            f"{c.name} (F = {c.first_stage_f:.1f}{', weak' if c.weak else ''}, from "
            f"{' and '.join(c.sources)})"
            for c in result.candidates
        ]
        text = f"Instrument candidates for {treatment}: {'; '.join(parts)}."
        if result.joint_f is not None:
            text += f" Together F = {result.joint_f:.1f}."
        text += " " + result.assumption
    if result.frontdoor:
        text += " Front-door sets: " + "; ".join(", ".join(s.variables) for s in result.frontdoor)
        text += "."
    return text
