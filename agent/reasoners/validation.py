"""The shapes the LLM must answer in, and the checks every answer passes before use.

An LLM can name columns that do not exist, draw cycles, pick the same column as treatment
and outcome or an identifier as a cause. Such answers are refused here with problems
written for the model, so the retry can correct them; nothing the model says reaches the
analysis unchecked. The accepted graph is then compared with the data, because a plausible
story is not evidence: disagreements become warnings the analyst sees.
"""

import difflib
import json
import re
from collections.abc import Sequence
from typing import Literal

import networkx as nx
import pandas as pd
from pydantic import BaseModel, Field

from causal_assistant.agent.reasoners.base import (
    CritiquePoint,
    DomainProposal,
    DomainProposals,
    GraphCritique,
    LatentConfounder,
    PointKind,
    ProposalKind,
    Target,
)
from causal_assistant.tools.data.intake import UNUSABLE_KINDS, DatasetProfile
from causal_assistant.tools.model import (
    CausalGraph,
    Edge,
    ModelingResult,
    critique_graph,
    exclusion_reason,
    find_cycle,
)
from causal_assistant.tools.model.discovery import BlockMatrix, encode
from causal_assistant.tools.results import AnalysisWarning, WarningCode

VotedRole = Literal[
    "confounder",
    "outcome_predictor",
    "instrument",
    "mediator",
    "collider",
    "descendant",
    "excluded",
]
DOWNSTREAM_ROLES = ("mediator", "collider", "descendant")
EVIDENCE_SOURCES = ("data", "heuristic")
CLOSE_MATCH_CUTOFF = 0.85
NO_ASSOCIATION_P = 0.05
MAX_TEST_ROWS = 20_000
MIN_TEST_ROWS = 30
CRITIQUE_CODES = (WarningCode.GRAPH_DATA_CONFLICT, WarningCode.UNADJUSTED_CONFOUNDER)


class QuestionAnswer(BaseModel):
    """The model's reading of the analyst's question."""

    treatment: str | None = Field(description="exact column name of the treatment, or null")
    outcome: str | None = Field(description="exact column name of the outcome, or null")
    target: Target = Field(description="ate, att or atc")
    rationale: str = Field(description="one or two sentences explaining the choice")


class EdgeVote(BaseModel):
    cause: str = Field(description="exact column name")
    effect: str = Field(description="exact column name")
    confidence: float = Field(ge=0, le=1)
    rationale: str


class RoleVote(BaseModel):
    name: str = Field(description="exact column name")
    role: VotedRole
    confidence: float = Field(ge=0, le=1)
    rationale: str


class Perspective(BaseModel):
    expert: str = Field(description="domain scientist, statistician or sceptic")
    edges: list[EdgeVote]
    roles: list[RoleVote]


class GraphAnswer(BaseModel):
    """Edges and roles from several expert perspectives, combined later by vote."""

    perspectives: list[Perspective] = Field(min_length=1)


class AnswerError(ValueError):
    """An answer that does not fit the dataset; ``problems`` are fed back to the model."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(dict.fromkeys(problems))
        super().__init__("; ".join(self.problems))


def quoted(name: str) -> str:
    """A column name as JSON, so untrusted text stays visibly a string in any message."""
    return json.dumps(name, ensure_ascii=False)


class ColumnMatcher:
    """Maps names in an answer onto columns, collecting problems and close-match notes.

    A close match is accepted only when exactly one column fits, and is reported, so a
    hallucinated column is refused rather than quietly swapped for a similar one.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.problems: list[str] = []
        self.notes: list[str] = []

    def __call__(self, name: str) -> str | None:
        if name in self.columns:
            return name
        key = _name_key(name)
        same = [c for c in self.columns if _name_key(c) == key]
        close = same or difflib.get_close_matches(
            name, self.columns, n=2, cutoff=CLOSE_MATCH_CUTOFF
        )
        if len(close) == 1:
            note = f"the LLM wrote {quoted(name)}, read as the column {quoted(close[0])}"
            if note not in self.notes:
                self.notes.append(note)
            return close[0]
        hint = f" (it could be {' or '.join(map(quoted, close))})" if close else ""
        self.problems.append(
            f"{quoted(name)} is not a column of the dataset{hint}; "
            "use only the exact names from the data block"
        )
        return None


def _name_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def check_question(
    answer: QuestionAnswer, profile: DatasetProfile
) -> tuple[QuestionAnswer, list[str]]:
    """The answer with names resolved to columns, and notes on close matches.

    Raises ``AnswerError`` for unknown columns, treatment equal to outcome, and columns
    that cannot be a treatment or outcome (identifiers, constants, free text, dates;
    missingness is left to later stages, which say how many rows it costs).
    """
    match = ColumnMatcher(profile.names())
    treatment = match(answer.treatment) if answer.treatment else None
    outcome = match(answer.outcome) if answer.outcome else None
    problems = match.problems
    if treatment and treatment == outcome:
        problems.append(
            f"treatment and outcome are both {quoted(treatment)}; "
            "they must be two different columns"
        )
    for label, name in (("treatment", treatment), ("outcome", outcome)):
        kind = profile.column(name).kind if name else None
        if name and kind in UNUSABLE_KINDS:
            problems.append(
                f"the {label} {quoted(name)} is of kind {kind}, which cannot be the {label}"
            )
    if problems:
        raise AnswerError(problems)
    resolved = answer.model_copy(update={"treatment": treatment, "outcome": outcome})
    return resolved, match.notes


def check_graph(
    answer: GraphAnswer, profile: DatasetProfile, treatment: str, outcome: str
) -> tuple[GraphAnswer, list[str]]:
    """Each perspective with names resolved to columns, and notes on close matches.

    Raises ``AnswerError`` for unknown columns, self loops, the outcome causing the
    treatment, edges through unusable columns, and cycles within a perspective. Edges
    from treatment to outcome are dropped: that edge is the question, not a claim.
    """
    match = ColumnMatcher(profile.names())
    problems = match.problems
    perspectives = []
    for perspective in answer.perspectives:
        who = quoted(perspective.expert)
        edges = []
        for vote in perspective.edges:
            cause, effect = match(vote.cause), match(vote.effect)
            if cause is None or effect is None or (cause, effect) == (treatment, outcome):
                continue
            if cause == effect:
                problems.append(f"{who} has an edge from {quoted(cause)} to itself")
            elif (cause, effect) == (outcome, treatment):
                problems.append(
                    f"{who} has the outcome {quoted(outcome)} causing the "
                    f"treatment {quoted(treatment)}; that edge is not allowed"
                )
            else:
                for name in (cause, effect):
                    reason = _unusable(profile, name)
                    if reason:
                        problems.append(
                            f"{who} uses {quoted(name)} in an edge, but it is "
                            f"{reason}; give it the role excluded instead"
                        )
                edges.append(vote.model_copy(update={"cause": cause, "effect": effect}))
        roles = []
        for role in perspective.roles:
            named = match(role.name)
            if named is not None and named not in (treatment, outcome):
                roles.append(role.model_copy(update={"name": named}))
        cycle = find_cycle(
            CausalGraph(
                nodes=[],
                edges=[
                    Edge(cause=treatment, effect=outcome),
                    *(Edge(cause=e.cause, effect=e.effect) for e in edges),
                ],
            )
        )
        if cycle:
            problems.append(
                f"{who}'s edges form a cycle: "
                f"{' -> '.join(map(quoted, cycle))}; remove or reverse one edge"
            )
        perspectives.append(perspective.model_copy(update={"edges": edges, "roles": roles}))
    if problems:
        raise AnswerError(problems)
    return GraphAnswer(perspectives=perspectives), match.notes


def _unusable(profile: DatasetProfile, name: str) -> str | None:
    """Why a column cannot be a cause or effect, by the offline reasoner's own rule."""
    reason = exclusion_reason(profile, name)
    return f"unusable ({reason})" if reason else None


# --------------------------------------------------------------------------- data checks


def data_conflicts(
    graph: CausalGraph,
    data: ModelingResult,
    df: pd.DataFrame,
    profile: DatasetProfile,
    treatment: str,
    outcome: str,
    seed: int = 0,
) -> list[AnalysisWarning]:
    """Where the data disagree with the LLM's graph, one warning per disagreement.

    Evidence against edges the LLM asserts: the data-based proposal (a variable it finds
    downstream of the treatment that the LLM puts before it, an edge it orients the other
    way) and a partial-association test of each edge given the effect's other parents.
    Evidence against what the LLM left out: the critique's tests of the independences the
    graph implies, and columns outside the graph that the data tie to both ends.
    """
    claims = [
        *_proposal_conflicts(graph, data, treatment),
        *_unsupported_edges(graph, df, profile, seed),
    ]
    warnings = [AnalysisWarning(code=WarningCode.GRAPH_DATA_CONFLICT, message=m) for m in claims]
    critique = critique_graph(df, profile, graph, treatment, outcome, seed=seed)
    return warnings + [w for w in critique.warnings if w.code in CRITIQUE_CODES]


def _proposal_conflicts(graph: CausalGraph, data: ModelingResult, treatment: str) -> list[str]:
    downstream = {
        r.name: f"{r.role}: {r.evidence}" for r in data.roles if r.role in DOWNSTREAM_ROLES
    }
    downstream.update(
        {n: "marked post-treatment" for n in data.graph.post_treatment if n not in downstream}
    )
    after = nx.descendants(graph.to_networkx(), treatment)
    messages, reported = [], set()
    for name, evidence in downstream.items():
        claims = [e for e in _llm_edges(graph) if e.cause == name]
        if claims and name not in after:
            reported.add(name)
            shown = ", ".join(f"{quoted(e.cause)} -> {quoted(e.effect)}" for e in claims)
            messages.append(
                f"The LLM puts {quoted(name)} before the treatment ({shown}), but the "
                f"data-based proposal finds it downstream of {quoted(treatment)} ({evidence})."
            )
    for edge in _llm_edges(graph):
        reverse = data.graph.edge(edge.effect, edge.cause)
        if (
            reverse is not None
            and reverse.source in EVIDENCE_SOURCES
            and edge.cause not in reported
        ):
            messages.append(
                f"The LLM's edge {quoted(edge.cause)} -> {quoted(edge.effect)} runs against "
                f"the data-based proposal's {quoted(edge.effect)} -> {quoted(edge.cause)} "
                f"({reverse.source}: {reverse.note or 'no note'})."
            )
    return messages


def _unsupported_edges(
    graph: CausalGraph, df: pd.DataFrame, profile: DatasetProfile, seed: int
) -> list[str]:
    """LLM edges whose ends show no association once the effect's other parents are held
    fixed: the data give the claim no support (weak edges in small samples land here too,
    which is why this is a warning and not a rejection). Nodes are checked columns."""
    kinds = {n: profile.column(n).kind for n in graph.nodes}
    frame = df[list(kinds)].dropna()
    if len(frame) > MAX_TEST_ROWS:
        frame = frame.sample(n=MAX_TEST_ROWS, random_state=seed)
    if len(frame) < MIN_TEST_ROWS:
        return []
    matrix = BlockMatrix(encode(frame, kinds))
    messages = []
    for edge in _llm_edges(graph):
        given = [p for p in graph.parents(edge.effect) if p != edge.cause]
        test = matrix.test(edge.cause, edge.effect, given)
        if test.p_value > NO_ASSOCIATION_P:
            held = f" given {_listed(given)}" if given else ""
            messages.append(
                f"The LLM's edge {quoted(edge.cause)} -> {quoted(edge.effect)} has no support "
                f"in the data: no association{held} ({test.describe()})."
            )
    return messages


def _llm_edges(graph: CausalGraph) -> list[Edge]:
    return [e for e in graph.edges if e.source == "llm"]


def _listed(names: Sequence[str]) -> str:
    return ", ".join(map(quoted, names))


# --------------------------------------------------------------------------- critique

LATENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 _\-]{0,39}$")
EDGE_KINDS = ("doubtful_edge", "reversed_edge")


class PointAnswer(BaseModel):
    kind: PointKind
    variables: list[str] = Field(description="exact column names the point is about")
    claim: str = Field(description="one sentence: what is wrong or missing, and why")
    confidence: float = Field(ge=0, le=1)
    check: str = Field(description="one sentence: how the analyst could check it")


class HiddenConfounderAnswer(BaseModel):
    name: str = Field(description="a short name for a common cause that is NOT a column")
    affects: list[str] = Field(description="exact column names it causes (two or more)")
    rationale: str = Field(description="one sentence: why it plausibly causes each of them")
    confidence: float = Field(ge=0, le=1)


class CritiqueAnswer(BaseModel):
    """A critique of the graph: points about it, and common causes missing from the data."""

    points: list[PointAnswer]
    hidden_confounders: list[HiddenConfounderAnswer]


class ProposalAnswer(BaseModel):
    kind: ProposalKind
    name: str = Field(description="exact column name")
    argument: str = Field(
        description="why it is valid: the exclusion restriction for an instrument, or why "
        "the effect must be zero for a negative control"
    )
    confidence: float = Field(ge=0, le=1)


class ProposalsAnswer(BaseModel):
    """Instruments and negative controls among the columns, possibly none."""

    proposals: list[ProposalAnswer]


class ExplanationAnswer(BaseModel):
    template: str = Field(description="the explanation with every number written as a placeholder")


def check_critique(
    answer: CritiqueAnswer,
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
) -> tuple[GraphCritique, list[str]]:
    """The critique with names resolved to columns; unknown columns, edges that are not
    in the graph, and hidden confounders that are columns (or unreadable names) are
    refused so the retry can fix them."""
    match = ColumnMatcher(profile.names())
    problems = match.problems
    points = []
    for point in answer.points:
        matched = [match(v) for v in point.variables]
        names = [n for n in matched if n is not None]
        if len(names) < len(matched):
            continue
        if point.kind in EDGE_KINDS and (len(names) != 2 or graph.edge(*names) is None):
            problems.append(
                f"a {point.kind} point must name one edge of the graph as [cause, effect]; "
                f"{', '.join(map(quoted, point.variables))} is not one"
            )
            continue
        points.append(CritiquePoint(**{**point.model_dump(), "variables": names}, source="llm"))
    latents = []
    for hidden in answer.hidden_confounders:
        who = quoted(hidden.name)
        if not LATENT_NAME.match(hidden.name):
            problems.append(
                f"the hidden confounder name {who} must be a short name of letters, digits, "
                "spaces, '_' or '-', starting with a letter"
            )
            continue
        if any(_name_key(c) == _name_key(hidden.name) for c in profile.names()):
            problems.append(
                f"{who} is a column of the dataset, not a hidden confounder; "
                "report it as a missing_confounder point instead"
            )
            continue
        matched = [match(a) for a in hidden.affects]
        affects = [a for a in matched if a is not None]
        if len(affects) < len(matched):
            continue
        unusable = [a for a in affects if _unusable(profile, a)]
        if len(set(affects)) < 2 or unusable:
            problems.append(f"the hidden confounder {who} must affect two or more usable columns")
            continue
        latents.append(
            LatentConfounder(
                name=hidden.name,
                affects=list(dict.fromkeys(affects)),
                rationale=hidden.rationale,
                confidence=hidden.confidence,
            )
        )
    if problems:
        raise AnswerError(problems)
    return GraphCritique(points=points, latents=latents, source="llm"), match.notes


def check_proposals(
    answer: ProposalsAnswer, profile: DatasetProfile, treatment: str, outcome: str
) -> tuple[DomainProposals, list[str]]:
    """Proposals with names resolved to usable columns other than treatment and outcome."""
    match = ColumnMatcher(profile.names())
    problems = match.problems
    proposals = []
    for proposal in answer.proposals:
        name = match(proposal.name)
        if name is None:
            continue
        reason = _unusable(profile, name)
        if name in (treatment, outcome) or reason:
            problems.append(
                f"{quoted(name)} cannot be a {proposal.kind}: it is "
                f"{reason or 'the treatment or the outcome'}"
            )
            continue
        proposals.append(DomainProposal(**{**proposal.model_dump(), "name": name}, source="llm"))
    if problems:
        raise AnswerError(problems)
    return DomainProposals(proposals=proposals, source="llm"), match.notes
