"""Proposing a causal graph from the data, with a role and its provenance for every column.

Which variables to adjust for decides the analysis. For the total effect, common causes of
treatment and outcome must be adjusted for, while anything the treatment changes
(mediators, colliders, later measurements) and anything computed from or measured after
the outcome must not be. Three kinds of evidence settle each column's role, and every role
and edge says which one did:

- names: "baseline", "pre", a year before the outcome's mark a column as measured before
  the treatment; "post", "follow-up", the outcome's year or a later one as after it;
- data screens: near-copies and components of the outcome; partial associations of each
  column with the treatment and with the outcome;
- causal discovery under background knowledge from the names (time tiers, treatment ->
  outcome required), checked by a second test before a column is called downstream of the
  treatment: a known cause of the treatment that is associated with the column only
  through the treatment.

A column the evidence cannot place is taken as measured before the treatment (adjusted
for), and its evidence says so.
"""

import re
from collections.abc import Mapping
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel

from causal_assistant.tools.data.intake import TIME_TOKENS, UNUSABLE_KINDS, DatasetProfile
from causal_assistant.tools.model.badcontrols import (
    computed_from_treatment,
    outcome_function,
    same_construct,
    stem,
    treatment_function,
)
from causal_assistant.tools.model.context_timing import timing_from_context
from causal_assistant.tools.model.critique import across, screened_off, settle_anchors
from causal_assistant.tools.model.discovery import (
    BlockMatrix,
    BlockTest,
    DiscoveryResult,
    DiscreteAwareTests,
    Knowledge,
    discover,
    encode,
)
from causal_assistant.tools.model.graphs import CausalGraph, Edge, EdgeSource
from causal_assistant.tools.results import ToolResult, WarningCode

RoleName = Literal[
    "treatment",
    "outcome",
    "confounder",
    "outcome_predictor",
    "instrument",
    "mediator",
    "collider",
    "descendant",
    "unrelated",
    "excluded",
    "cluster",
]
EvidenceSource = Literal["data", "heuristic", "llm", "user", "default"]
Timing = Literal["pre", "post", "after_outcome", "unknown"]
MAX_MISSING_SHARE = 0.5
NEAR_COPY_R = 0.98
COMPONENT_R2 = 0.999
COMPONENT_SHARE = 0.05
COMPONENT_UNIT = 0.01
SCREEN_ROWS = 20_000
SCREEN_ALPHA = 0.01
MIN_ROWS = 30
MAX_DISCOVERY_VARS = 30
MAX_EXACT_FIT_VARS = 30
MONOTONE_COPY_RHO = 0.98

PRE_WORDS = {
    "baseline",
    "base",
    "bl",
    "pre",
    "prior",
    "before",
    "initial",
    "lag",
    "lagged",
    "previous",
    "prev",
    "past",
    "intake",
    "enrollment",
    "enrolment",
    "screening",
    "childhood",
    "teen",
    "youth",
    "parent",
    "parents",
    "father",
    "mother",
    "fath",
    "moth",
    "mom",
    "dad",
    "momdad",
    "pretreatment",
    "preperiod",
}
POST_WORDS = {
    "post",
    "after",
    "follow",
    "followup",
    "fu",
    "later",
    "final",
    "exit",
    "discharge",
    "subsequent",
}
FIXED_WORDS = {
    "age",
    "sex",
    "gender",
    "race",
    "ethnicity",
    "black",
    "white",
    "hispanic",
    "hisp",
    "born",
    "birth",
    "birthplace",
    "nationality",
}
# after the outcome unless the outcome is itself about death: death ends follow-up
DEATH_WORDS = {"death", "died", "dead", "deceased", "mortality", "die", "dies", "survival"}
# a column named only by one of these is the calendar, which no treatment changes
TIME_WORDS = TIME_TOKENS
AGE_AT = re.compile(r"(?:^|[_\W])(?:at|age)[_\W]?(\d{1,2})(?:$|[_\W])", re.IGNORECASE)
TIME_ZERO = re.compile(r"(?:^|[_\W])(?:t|time|wave|visit)?0$")


class Role(BaseModel):
    name: str
    role: RoleName
    source: EvidenceSource
    evidence: str


class ModelingResult(ToolResult):
    graph: CausalGraph
    roles: list[Role]
    discovery: DiscoveryResult | None = None
    n_rows_screened: int = 0
    cluster: str | None = None  # the grouping column standard errors are clustered by

    def role_of(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


# --------------------------------------------------------------------------- names


def exclusion_reason(profile: DatasetProfile, name: str) -> str | None:
    """Why a column cannot enter the graph at all, or None when it can."""
    column = profile.column(name)
    if column.kind in UNUSABLE_KINDS:
        return f"{column.kind} column"
    if column.missing_share > MAX_MISSING_SHARE:
        return f"{column.missing_share:.0%} missing"
    return None


def _tokens(name: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def time_of(name: str) -> int | None:
    """The latest year a name refers to ('re78' -> 1978, 'wt82_71' -> 1982, 'y_2019')."""
    years = []
    for token in _tokens(name):
        if not token.isdigit():
            continue
        if len(token) == 2:
            years.append(int(token) + (1900 if int(token) >= 30 else 2000))
        elif len(token) == 4 and 1900 <= int(token) <= 2099:
            years.append(int(token))
    return max(years) if years else None


def timing_hint(name: str, treatment: str, outcome: str) -> tuple[Timing, str]:
    """When a column was measured relative to treatment and outcome, judged by its name."""
    tokens = set(_tokens(name))
    year, t_year, y_year = time_of(name), time_of(treatment), time_of(outcome)
    if year and y_year and year > y_year:
        return "after_outcome", f"name refers to {year}, after the outcome's {y_year}"
    death = tokens & DEATH_WORDS
    if death and not set(_tokens(outcome)) & DEATH_WORDS:
        return "after_outcome", f"'{sorted(death)[0]}' is recorded after the outcome"
    if tokens and tokens <= TIME_WORDS:
        return "pre", "a time index: the treatment cannot change the calendar"
    age_at = AGE_AT.search(name)
    if age_at:
        return "pre", f"measured at age {age_at.group(1)}, before the treatment"
    if tokens & POST_WORDS:
        return "post", f"name contains '{sorted(tokens & POST_WORDS)[0]}'"
    if tokens & PRE_WORDS:
        return "pre", f"name contains '{sorted(tokens & PRE_WORDS)[0]}'"
    if TIME_ZERO.search(name.lower()):
        return "pre", "name ends in time zero ('0')"
    if year and t_year and year != t_year:
        when = "before" if year < t_year else "after"
        return (
            "pre" if year < t_year else "post"
        ), f"name refers to {year}, {when} the treatment's {t_year}"
    if year and y_year and not t_year:
        if year < y_year:
            return "pre", f"name refers to {year}, before the outcome's {y_year}"
        return "post", f"name refers to {year}, the outcome's time"
    if tokens & FIXED_WORDS:
        return "pre", f"'{sorted(tokens & FIXED_WORDS)[0]}' is fixed before any treatment"
    return "unknown", ""


def _is_period(name: str, profile: DatasetProfile) -> bool:
    tokens = set(_tokens(name))
    return bool(tokens) and tokens <= TIME_WORDS and profile.column(name).kind == "categorical"


def _monotone(df: pd.DataFrame, a: str, b: str) -> float:
    """Absolute rank correlation of two numeric columns (1 for a monotone transform)."""
    pair = df[[a, b]].dropna()
    if len(pair) < MIN_ROWS:
        return 0.0
    return abs(float(pair[a].rank().corr(pair[b].rank())))


# --------------------------------------------------------------------------- proposal


def propose_graph(
    df: pd.DataFrame,
    profile: DatasetProfile,
    treatment: str,
    outcome: str,
    seed: int = 0,
    context: str | None = None,
) -> ModelingResult:
    """A graph over the usable columns, with each column's role relative to the question;
    ``context``, the user's description of the data, says when columns were measured."""
    proposal = _Proposal(df, profile, treatment, outcome, seed, context)
    return proposal.run()


class _Proposal:
    """The steps of one proposal, sharing the prepared data and the collected evidence."""

    def __init__(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        seed: int,
        context: str | None = None,
    ) -> None:
        self.df, self.profile, self.t, self.y, self.seed = df, profile, treatment, outcome, seed
        self.context = context
        self.described = timing_from_context(context, profile.names(), treatment, outcome)
        self.roles: dict[str, Role] = {
            treatment: Role(
                name=treatment, role="treatment", source="user", evidence="chosen as treatment"
            ),
            outcome: Role(
                name=outcome, role="outcome", source="user", evidence="chosen as outcome"
            ),
        }
        self.result = ModelingResult(graph=CausalGraph(nodes=[treatment, outcome]), roles=[])
        self.timing: dict[str, tuple[Timing, str]] = {}
        self.notes: dict[str, list[str]] = {}
        self.filled: list[str] = []
        self.after_outcome: set[str] = set()

    def run(self) -> ModelingResult:
        candidates = self._bad_controls(self._usable())
        frame = self._frame(candidates)
        if len(frame) < MIN_ROWS:
            return self._without_data(candidates, len(frame))
        kinds = {n: self.profile.column(n).kind for n in [self.t, self.y, *candidates]}
        self.matrix = BlockMatrix(encode(frame, kinds))
        self.tests = DiscreteAwareTests(self.matrix)
        self.result.n_rows_screened = self.matrix.n
        candidates = self._outcome_kin(self._leakage(candidates, frame))
        discovery = self._discover(frame, kinds, candidates)
        downstream = self._downstream(candidates, discovery)
        pre = [c for c in candidates if c not in downstream and c not in self.roles]
        edges = self._edges(pre, downstream, discovery)
        return self._finish(pre, downstream, edges, discovery)

    # ----------------------------------------------------------------- columns

    def _usable(self) -> list[str]:
        """Columns that can enter the graph; the rest are excluded with the reason."""
        usable, groups = [], []
        for name in self.profile.names():
            if name in (self.t, self.y):
                continue
            reason = exclusion_reason(self.profile, name)
            # the user's description outranks the name
            timing = self.described.get(name) or timing_hint(name, self.t, self.y)
            self.timing[name] = timing
            if self.profile.column(name).grouping:
                groups.append(name)
            elif reason:
                self._exclude(name, reason, "heuristic")
            elif timing[0] == "after_outcome":
                self._exclude(name, f"measured after the outcome ({timing[1]})", "heuristic")
            else:
                if _is_period(name, self.profile):
                    self._note(
                        name,
                        "the period of a panel: entered as categories (period fixed effects), "
                        "never as a number, and never as a mediator",
                    )
                usable.append(name)
        return usable + self._choose_cluster(groups)

    def _choose_cluster(self, groups: list[str]) -> list[str]:
        """Ids that group rows are labels, never numeric causes; one becomes the cluster for
        the standard errors: the finest unit the treatment is assigned by (constant within
        it), else the coarsest grouping, the safer choice when assignment is unknown. A
        grouping with few enough levels that the treatment varies within stays a candidate
        as a category (group fixed effects absorb group-level confounders); the rest are
        left out. Returns the groupings that stay candidates."""
        if not groups:
            return []
        data = self.df[[self.t, *groups]]
        assigned = [g for g in groups if (data.groupby(g)[self.t].nunique() <= 1).all()]
        sizes = {g: self.df[g].nunique() for g in groups}
        chosen = (
            max(assigned, key=lambda g: sizes[g])
            if assigned
            else min(groups, key=lambda g: sizes[g])
        )
        why = (
            f"{self.t} is constant within each of its {sizes[chosen]} groups (assigned by group)"
            if chosen in assigned
            else f"the coarsest grouping of rows ({sizes[chosen]} groups)"
        )
        self.result.cluster = chosen
        as_category = [
            g for g in groups if g not in assigned and self.profile.column(g).kind == "categorical"
        ]
        note = f"an id that groups rows: standard errors are clustered by it ({why})"
        for name in groups:
            if name in as_category:
                self._note(
                    name,
                    "an id that groups rows, entered as categories (group fixed effects), "
                    "never as a number" + (f"; {note}" if name == chosen else ""),
                )
            elif name == chosen:
                self.roles[chosen] = Role(
                    name=chosen,
                    role="cluster",
                    source="data",
                    evidence=f"{note}; a label, not a cause, so not adjusted for as a number",
                )
            else:
                self._exclude(
                    name,
                    f"an id that groups rows ({sizes[name]} groups): a label, not a cause",
                    "data",
                )
        return as_category

    def _exclude(
        self,
        name: str,
        reason: str,
        source: EvidenceSource,
        code: WarningCode = WarningCode.EXCLUDED_COLUMN,
    ) -> None:
        self.roles[name] = Role(name=name, role="excluded", source=source, evidence=reason)
        self.result.warn(code, f"{name!r} left out of the adjustment: {reason}.")

    def _bad_controls(self, candidates: list[str]) -> list[str]:
        """Exclude the columns no referee would adjust for, each with its reason: those
        that define the treatment or are set by it, transforms and functions of the
        outcome, the same construct as the outcome by name, and measurements taken in the
        outcome's own period."""
        df = self.df
        if len(df) > SCREEN_ROWS:
            df = df.sample(n=SCREEN_ROWS, random_state=self.seed)
        kept, by_treatment = [], []
        for name in candidates:
            if reason := treatment_function(df, self.t, name):
                self._exclude(name, reason, "data", WarningCode.TREATMENT_DEFINING_COLUMN)
                by_treatment.append(name)
            elif reason := outcome_function(df, self.y, name):
                self._exclude(name, reason, "data", WarningCode.OUTCOME_COPY)
            else:
                kept.append(name)
        numeric = [
            n
            for n in kept
            if self.profile.column(n).kind in ("continuous", "count") and self.timing[n][0] != "pre"
        ][:MAX_EXACT_FIT_VARS]
        others = [
            n for n in kept if self.profile.column(n).kind in ("continuous", "count", "binary")
        ][:MAX_EXACT_FIT_VARS]
        for name in numeric:
            if reason := computed_from_treatment(df, self.t, name, others):
                self._exclude(name, reason, "data", WarningCode.TREATMENT_DEFINING_COLUMN)
                by_treatment.append(name)
        kept = [n for n in kept if n not in by_treatment]
        for name in [n for n in kept if n in numeric]:
            source = next(
                (b for b in by_treatment if _monotone(df, b, name) >= MONOTONE_COPY_RHO), None
            )
            if source:
                self._exclude(
                    name,
                    f"a transform of {source}, which is set by the treatment",
                    "data",
                    WarningCode.TREATMENT_DEFINING_COLUMN,
                )
                by_treatment.append(name)
        return [n for n in kept if n not in by_treatment]

    def _frame(self, candidates: list[str]) -> pd.DataFrame:
        """Rows with treatment and outcome, on a seeded sample when large; a covariate's
        missing values become its median (or a 'missing' category) for the screens only."""
        frame = self.df[[self.t, self.y, *candidates]].dropna(subset=[self.t, self.y])
        if len(frame) > SCREEN_ROWS:
            frame = frame.sample(n=SCREEN_ROWS, random_state=self.seed)
        frame = frame.copy()
        for name in candidates:
            if frame[name].isna().any():
                self.filled.append(name)
                numeric = self.profile.column(name).kind in ("continuous", "count")
                fill = frame[name].median() if numeric else "(missing)"
                frame[name] = frame[name].astype(float if numeric else str).fillna(fill)
        return frame.reset_index(drop=True)

    def _leakage(self, candidates: list[str], frame: pd.DataFrame) -> list[str]:
        """Exclude near-copies of the outcome and the columns it is a sum of (coefficient
        +-1 in an exact fit; a baseline the outcome subtracts is kept, being measured before
        treatment). An exact fit with other coefficients is a noise-free model, not a sum."""
        kept = []
        for name in candidates:
            r = self.matrix.test(name, self.y).r
            if abs(r) > NEAR_COPY_R:
                self._exclude(name, f"near-copy of the outcome (|r| = {abs(r):.3f})", "data")
            else:
                kept.append(name)
        numeric = [
            n
            for n in kept
            if len(self.matrix.columns[n]) == 1
            and self.profile.column(n).kind in ("continuous", "count", "binary")
        ]
        if not numeric or self.profile.column(self.y).kind == "binary":
            return kept
        x = np.column_stack(
            [np.ones(len(frame))]
            + [encode(frame, {n: self.profile.column(n).kind})[n][:, 0] for n in [self.t, *numeric]]
        )
        y = encode(frame, {self.y: self.profile.column(self.y).kind})[self.y][:, 0]
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        r2 = 1 - np.var(y - x @ beta) / max(np.var(y), 1e-300)
        if r2 < COMPONENT_R2:
            return kept
        share = np.abs(beta[2:]) * x[:, 2:].std(0) / max(y.std(), 1e-300)
        unit = np.abs(np.abs(beta[2:]) - 1) < COMPONENT_UNIT
        parts = {
            n for n, s, u in zip(numeric, share, unit, strict=True) if s >= COMPONENT_SHARE and u
        }
        for name in parts:
            if self.timing[name][0] == "pre":
                self._note(
                    name,
                    f"{self.y} is computed from it (R² {r2:.4f}), but it was "
                    f"measured before treatment ({self.timing[name][1]}): kept",
                )
            else:
                self._exclude(
                    name,
                    f"a component of the outcome: {self.y} is computed from "
                    f"{', '.join(sorted(parts))} (R² {r2:.4f})",
                    "data",
                )
        return [n for n in kept if n not in parts or self.timing[n][0] == "pre"]

    def _outcome_kin(self, candidates: list[str]) -> list[str]:
        """By name, after the data screens: columns named for the outcome's own period (u78
        beside re78) are outcomes of that period, which the treatment can change, and a
        column of the outcome's construct (wage beside lwage) not marked as measured before
        the treatment is the outcome again: neither is adjusted for."""
        y_year, kept = time_of(self.y), []
        for name in candidates:
            year = time_of(name)
            if year and year == y_year and year != time_of(self.t):
                self._exclude(
                    name,
                    f"measured in the outcome's period ({year}): an outcome of the same "
                    f"period, which {self.t} can change",
                    "heuristic",
                )
            elif same_construct(self.y, name) and self.timing[name][0] != "pre":
                self._exclude(
                    name,
                    f"the same construct as the outcome by name ('{stem(name)}'), and "
                    "nothing marks it as measured before the treatment",
                    "heuristic",
                    WarningCode.OUTCOME_COPY,
                )
            else:
                kept.append(name)
        return kept

    def _note(self, name: str, text: str) -> None:
        self.notes.setdefault(name, []).append(text)

    # ----------------------------------------------------------------- discovery

    def _discover(
        self, frame: pd.DataFrame, kinds: Mapping[str, str], candidates: list[str]
    ) -> DiscoveryResult:
        """Discovery on the columns most associated with treatment or outcome, with the
        name hints as tiers and treatment -> outcome required."""
        strength = {
            n: max(abs(self.matrix.test(n, self.t).r), abs(self.matrix.test(n, self.y).r))
            for n in candidates
        }
        chosen = sorted(candidates, key=lambda n: -strength[n])[:MAX_DISCOVERY_VARS]
        chosen = [n for n in candidates if n in chosen]
        knowledge = Knowledge(
            tiers=[
                [n for n in chosen if self.timing[n][0] == "pre"],
                [self.t],
                [n for n in chosen if self.timing[n][0] == "post"],
                [self.y],
            ],
            required=[(self.t, self.y)],
        )
        names = [self.t, self.y, *chosen]
        result = discover(frame, {n: kinds[n] for n in names}, knowledge, seed=self.seed)
        self.result.warnings += result.warnings
        return result

    def _pc_note(self, discovery: DiscoveryResult, u: str, v: str) -> str:
        edge = discovery.edge_between(u, v)
        if edge is None:
            return ""
        arrow = {"directed": "->", "undirected": "--", "bidirected": "<->"}.get(edge.kind, "o->")
        return f"{discovery.algorithm.upper()}: {edge.a} {arrow} {edge.b}"

    def _anchors(self, discovery: DiscoveryResult) -> list[str]:
        """Causes of the treatment to test the other columns against: name-marked earlier
        columns next to it (trusted), and the parents discovery oriented into it unless the
        data put them across the treatment from the other anchors."""
        skeleton, directed = discovery.skeleton(), discovery.directed()
        trusted = [n for n in skeleton.neighbors(self.t) if self.timing.get(n, ("",))[0] == "pre"]
        found = [n for n in directed.predecessors(self.t) if self.timing.get(n, ("",))[0] != "post"]
        kept, dropped = settle_anchors(self.matrix, self.t, self.y, trusted, found)
        for name in dropped:
            self._note(
                name,
                f"{discovery.algorithm.upper()} orients it into {self.t}, but "
                f"the data put it across {self.t} from other causes of {self.t}",
            )
        return kept

    def _downstream(
        self, candidates: list[str], discovery: DiscoveryResult
    ) -> dict[str, EdgeSource]:
        """Columns the data or names put after the treatment (name -> evidence source);
        those downstream of the outcome alone are excluded.

        Neither discovery's orientation nor one test is enough on its own (hidden common
        causes and near-cancelling effects fool each): a column is past the outcome when
        discovery orients it so and the outcome screens it off from the treatment, and past
        the treatment when a known cause of the treatment is tied to it only through the
        treatment.
        """
        directed = discovery.directed()
        after_t = nx.descendants(directed, self.t) if self.t in directed else set()
        after_y = nx.descendants(directed, self.y) if self.y in directed else set()
        anchors = self._anchors(discovery)
        downstream: dict[str, EdgeSource] = {}
        for name in candidates:
            timing, why = self.timing[name]
            if timing == "pre" or name in anchors:
                continue
            past_outcome = name in after_y and screened_off(self.matrix, name, self.t, [self.y])
            if past_outcome:
                pc = self._pc_note(discovery, self.y, name)
                self._exclude(
                    name,
                    f"downstream of the outcome: {past_outcome}" + (f"; {pc}" if pc else ""),
                    "data",
                )
                continue
            if timing == "post":
                self._note(name, f"measured after the treatment ({why})")
                downstream[name] = "heuristic"
                continue
            oriented = f"{discovery.algorithm.upper()} orients it after {self.t}"
            # its other discovered causes are held fixed too: holding the treatment fixed
            # ties the treatment's causes to a column's other causes (a v-structure at the
            # treatment), which would hide a column that is downstream. Either the linear
            # test or, for categories, the stratified G-test may show the tie vanish.
            held = [*anchors, *self._other_parents(name, directed, after_t)]
            checks = [
                found
                for a in anchors
                for tests in (self.tests, self.matrix)
                if (found := across(tests, name, a, self.t, self.y, held))
            ]
            if any(needs_outcome for _, needs_outcome in checks):
                self.after_outcome.add(name)
            confirmed = checks[0][0] if checks else None
            if confirmed:
                self._note(
                    name, "; ".join([oriented, confirmed] if name in after_t else [confirmed])
                )
                downstream[name] = "data"
            elif name in after_t and not anchors:
                # nothing can confirm or refute the orientation (the treatment has no known
                # cause in the data), so discovery's direction stands
                self._note(
                    name,
                    f"{oriented}, and no known cause of {self.t} is in the data to check it "
                    "against; taken as downstream of the treatment",
                )
                downstream[name] = "data"
            elif name in after_t:
                self._note(
                    name,
                    f"{oriented}, but no known cause of {self.t} is tied to it "
                    f"only through {self.t}, which would confirm it; taken as "
                    "measured before treatment",
                )
        return self._descendants_of(downstream, candidates, discovery)

    def _other_parents(self, name: str, directed: nx.DiGraph, after_t: set[str]) -> list[str]:
        """Discovery's causes of ``name`` other than the treatment and its descendants."""
        if name not in directed:
            return []
        return [p for p in directed.predecessors(name) if p not in (self.t, self.y, *after_t)]

    def _descendants_of(
        self, downstream: dict[str, EdgeSource], candidates: list[str], discovery: DiscoveryResult
    ) -> dict[str, EdgeSource]:
        """A descendant of the treatment is never a confounder: a column discovery orients
        out of one already placed downstream is downstream too (unless its name puts it
        before the treatment, or it is the outcome's own descendant, excluded above)."""
        directed, queue = discovery.directed(), list(downstream)
        while queue:
            parent = queue.pop()
            for name in directed.successors(parent) if parent in directed else []:
                if (
                    name in downstream
                    or name not in candidates
                    or name in self.roles
                    or self.timing[name][0] == "pre"
                ):
                    continue
                self._note(
                    name,
                    f"{discovery.algorithm.upper()} orients it out of {parent}, which is "
                    f"downstream of {self.t}: a descendant of the treatment, never a confounder",
                )
                downstream[name] = "data"
                queue.append(name)
        return downstream

    # ----------------------------------------------------------------- edges

    def _screen(self, name: str, target: str, given: list[str]) -> BlockTest:
        return self.matrix.test(name, target, [g for g in given if g != name])

    def _edges(
        self, pre: list[str], downstream: dict[str, EdgeSource], discovery: DiscoveryResult
    ) -> list[Edge]:
        t, y = self.t, self.y
        skeleton = discovery.skeleton()
        edges = [Edge(cause=t, effect=y, source="user", note="the effect asked about")]
        self.screens: dict[str, tuple[BlockTest, BlockTest]] = {}
        self.tied: dict[str, tuple[bool, bool]] = {}
        for name in pre:
            with_t = self._screen(name, t, pre)
            with_y = self._screen(name, y, [t, *pre])
            self.screens[name] = (with_t, with_y)
            tied = [
                with_t.p_value < SCREEN_ALPHA or skeleton.has_edge(name, t),
                with_y.p_value < SCREEN_ALPHA or skeleton.has_edge(name, y),
            ]
            self.tied[name] = (tied[0], tied[1])
            for target, test, given, is_tied in (
                (t, with_t, "the other pre-treatment columns", tied[0]),
                (y, with_y, f"{t} and the other pre-treatment columns", tied[1]),
            ):
                note = f"{test.describe()} given {given}"
                if is_tied:
                    pc = self._pc_note(discovery, name, target)
                    edges.append(
                        Edge(
                            cause=name,
                            effect=target,
                            source="data",
                            note=note + (f"; {pc}" if pc else ""),
                        )
                    )
                elif target == t and tied[1]:
                    edges.append(
                        Edge(
                            cause=name,
                            effect=t,
                            source="default",
                            note=(
                                f"possible common cause: not significant ({note}), but it predicts "
                                f"{y}, and leaving out many weak common causes adds up to bias"
                            ),
                        )
                    )
        directed = discovery.directed()
        for name, source in downstream.items():
            parents_after_t = (
                [p for p in directed.predecessors(name) if p in downstream]
                if name in directed
                else []
            )
            if skeleton.has_edge(t, name) or not parents_after_t:
                edges.append(
                    Edge(
                        cause=t,
                        effect=name,
                        source=source,
                        note="; ".join(self.notes.get(name, [])),
                    )
                )
            with_y = self._screen(name, y, [t, *pre])
            if skeleton.has_edge(name, y) or with_y.p_value < SCREEN_ALPHA:
                into_outcome = directed.has_edge(y, name) or name in self.after_outcome
                cause, effect = (y, name) if into_outcome else (name, y)
                pc = self._pc_note(discovery, name, y)
                note = f"{with_y.describe()} given {t} and the pre-treatment columns"
                edges.append(
                    Edge(
                        cause=cause,
                        effect=effect,
                        source="data",
                        note=note + (f"; {pc}" if pc else ""),
                    )
                )
        return edges + self._covariate_edges(pre, downstream, discovery, edges)

    def _covariate_edges(
        self,
        pre: list[str],
        downstream: dict[str, EdgeSource],
        discovery: DiscoveryResult,
        fixed: list[Edge],
    ) -> list[Edge]:
        """Discovered edges among the covariates, so the graph implies only independences
        the data allow. Direction: discovery's where it settled one (never from after the
        treatment to before it), else before-treatment first, name-marked earlier columns
        first, then column order; an edge that would close a cycle is turned round."""
        order = {
            n: (n in downstream, self.timing[n][0] != "pre", i)
            for i, n in enumerate([*pre, *downstream])
        }
        graph = nx.DiGraph([(e.cause, e.effect) for e in fixed])
        added = []
        found = [e for e in discovery.edges if e.a in order and e.b in order]
        found.sort(key=lambda e: e.kind != "directed")
        for edge in found:
            a, b = edge.a, edge.b
            wrong_way = order[a][0] > order[b][0]
            if edge.kind != "directed" or wrong_way:
                a, b = sorted((a, b), key=lambda node: order[node])
            if graph.has_node(b) and graph.has_node(a) and nx.has_path(graph, b, a):
                a, b = b, a
                if nx.has_path(graph, b, a):
                    continue
            graph.add_edge(a, b)
            settled = edge.kind == "directed" and not wrong_way and (a, b) == (edge.a, edge.b)
            source = (
                ("heuristic" if edge.oriented_by == "knowledge" else "data")
                if settled
                else "default"
            )
            how = "" if settled else "; drawn in time and column order"
            added.append(Edge(cause=a, effect=b, source=source, note=edge.note + how))
        return added

    # ----------------------------------------------------------------- roles

    def _finish(
        self,
        pre: list[str],
        downstream: dict[str, EdgeSource],
        edges: list[Edge],
        discovery: DiscoveryResult,
    ) -> ModelingResult:
        nodes = [self.t, self.y, *pre, *downstream]
        graph = CausalGraph(nodes=nodes, edges=edges, post_treatment=list(downstream))
        nxg = graph.to_networkx()
        for name in pre:
            self.roles[name] = self._pre_role(name, nxg)
        for name, source in downstream.items():
            self.roles[name] = self._downstream_role(name, source, nxg)
        self.result.graph, self.result.roles, self.result.discovery = (
            graph,
            self._ordered_roles(),
            discovery,
        )
        self.result.reading = self._reading(discovery)
        described = f", context={self.context!r}" if self.described else ""
        self.result.code = (
            "from causal_assistant.tools.data.intake import profile_table\n"
            "from causal_assistant.tools.model.modeling import propose_graph\n"
            f"proposal = propose_graph(df, profile_table(df), {self.t!r}, {self.y!r}, "
            f"seed={self.seed}{described})\n"
        )
        return self.result

    def _ordered_roles(self) -> list[Role]:
        """Treatment and outcome first, then the columns in the table's order."""
        order = dict.fromkeys([self.t, self.y, *self.profile.names()])
        return [self.roles[n] for n in order if n in self.roles]

    def _pre_role(self, name: str, graph: nx.DiGraph) -> Role:
        to_t, to_y = self.tied[name]
        with_t, with_y = self.screens[name]
        timing, why = self.timing[name]
        when = (
            f"measured before treatment ({why})"
            if timing == "pre"
            else "nothing marks it as after the treatment, so taken as measured before it"
        )
        stats = (
            f"with {self.t}: {with_t.describe()}; with {self.y} given {self.t}: {with_y.describe()}"
        )
        if to_t and to_y:
            role, what = "confounder", "adjusted for: it is tied to both treatment and outcome"
        elif to_y:
            role, what = (
                "outcome_predictor",
                (
                    "predicts the outcome; its tie to the treatment is not significant, but it is "
                    "adjusted for as a possible common cause (harmless if it is not one, and it "
                    "sharpens the estimate)"
                ),
            )
        elif to_t:
            role, what = "instrument", "moves the treatment only; not needed for adjustment"
        else:
            ancestors_of = [v for v in (self.t, self.y) if nx.has_path(graph, name, v)]
            role = {
                2: "confounder",
                1: "instrument" if self.t in ancestors_of else "outcome_predictor",
                0: "unrelated",
            }[len(ancestors_of)]
            what = (
                "tied to treatment and outcome only through other columns"
                if ancestors_of
                else "no association with treatment or outcome"
            )
        parts = [what, stats, when, *self.notes.get(name, [])]
        return Role(name=name, role=role, source="data", evidence="; ".join(parts))

    def _downstream_role(self, name: str, source: EvidenceSource, graph: nx.DiGraph) -> Role:
        if graph.has_edge(self.y, name):
            role, what = (
                "collider",
                (
                    f"affected by both {self.t} and {self.y}: adjusting for "
                    "it would open a false path between them"
                ),
            )
        elif graph.has_edge(name, self.y):
            role, what = (
                "mediator",
                (
                    f"carries part of {self.t}'s effect: adjusting for it "
                    "would remove that part from the total effect"
                ),
            )
        else:
            role, what = "descendant", f"changed by {self.t}; adjusting for it could bias"
        parts = [f"downstream of {self.t}, not adjusted for: {what}", *self.notes.get(name, [])]
        return Role(name=name, role=role, source=source, evidence="; ".join(parts))

    def _reading(self, discovery: DiscoveryResult) -> str:
        by_role: dict[str, list[str]] = {}
        for role in self.roles.values():
            by_role.setdefault(role.role, []).append(role.name)

        def names(role: str) -> str:
            return ", ".join(by_role.get(role, []))

        text = (
            f"Roles come from the column names, association screens on "
            f"{self.result.n_rows_screened:,} rows and {discovery.algorithm.upper()} "
            f"discovery on {discovery.n_rows:,} rows."
        )
        if by_role.get("confounder"):
            text += f" Adjust for the common causes {names('confounder')}."
        if by_role.get("outcome_predictor"):
            text += (
                f" {names('outcome_predictor')} predict {self.y}; their tie to {self.t} is "
                "not significant, but they are adjusted for as possible common causes."
            )
        if by_role.get("instrument"):
            text += (
                f" {names('instrument')} move {self.t} only (instrument candidates, "
                "not needed for adjustment)."
            )
        later = [n for r in ("mediator", "collider", "descendant") for n in by_role.get(r, [])]
        if later:
            text += (
                f" {', '.join(later)} are downstream of {self.t} and are NOT adjusted for, "
                "because the target is the total effect (see each role's evidence)."
            )
        if by_role.get("excluded"):
            text += f" Excluded: {names('excluded')}."
        if self.filled:
            text += f" Missing values in {', '.join(self.filled)} were filled for the screens only."
        return text

    def _without_data(self, candidates: list[str], n_rows: int) -> ModelingResult:
        """Too few complete rows for any test: every usable column is an assumed common
        cause, which is the conventional choice for variables measured at baseline."""
        edges = [Edge(cause=self.t, effect=self.y, source="user", note="the effect asked about")]
        for name in candidates:
            timing, why = self.timing[name]
            if timing == "post":
                self.roles[name] = Role(
                    name=name,
                    role="descendant",
                    source="heuristic",
                    evidence=f"measured after the treatment ({why})",
                )
                edges.append(Edge(cause=self.t, effect=name, source="heuristic", note=why))
                continue
            self.roles[name] = Role(
                name=name,
                role="confounder",
                source="default",
                evidence="assumed to be measured before treatment",
            )
            note = "assumed common cause (too few rows to test)"
            edges += [
                Edge(cause=name, effect=self.t, source="default", note=note),
                Edge(cause=name, effect=self.y, source="default", note=note),
            ]
        self.result.graph = CausalGraph(nodes=[self.t, self.y, *candidates], edges=edges)
        self.result.roles = self._ordered_roles()
        self.result.reading = (
            f"Only {n_rows} complete rows: too few to test, so every usable "
            f"column is taken as a common cause of {self.t} and {self.y}."
        )
        self.result.warn(WarningCode.SMALL_SAMPLE, self.result.reading)
        return self.result
