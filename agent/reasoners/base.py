"""The interface both reasoners implement, and the answers they give.

The agent only ever talks to a ``Reasoner``; whether an answer came from column-name
heuristics, the data or an LLM is recorded in each answer's ``source`` so the user can ask
why and challenge it.
"""

from typing import Literal, Protocol

import pandas as pd
from pydantic import BaseModel, Field

from causal_assistant.tools.data import DatasetProfile
from causal_assistant.tools.model import CausalGraph, CritiqueResult, ModelingResult
from causal_assistant.tools.results import AnalysisWarning

Target = Literal["ate", "att", "atc"]
Source = Literal["llm", "heuristic", "data"]
PointKind = Literal[
    "missing_confounder",  # a column that causes both treatment and outcome, left out
    "doubtful_edge",  # an edge of the graph the critic does not believe
    "reversed_edge",  # an edge of the graph the critic believes runs the other way
    "timing",  # a variable measured after the treatment, used as if before
    "bad_control",  # a variable that should not be adjusted for (mediator, collider)
    "selection",  # who is in the data depends on the treatment or the outcome
    "missing_edge",  # two variables the graph calls independent are not
]
ProposalKind = Literal["instrument", "negative_control_outcome", "negative_control_exposure"]


class QuestionParse(BaseModel):
    treatment: str | None = None
    outcome: str | None = None
    target: Target = "ate"
    source: str = "heuristic"
    note: str = ""
    candidates: dict[str, list[str]] = {}
    warnings: list[AnalysisWarning] = []  # e.g. llm_fallback, for the question stage


class CritiquePoint(BaseModel):
    """One doubt about the graph, with how sure the critic is and how to check it."""

    kind: PointKind
    variables: list[str]
    claim: str
    confidence: float = Field(ge=0, le=1)
    check: str
    source: Source


class LatentConfounder(BaseModel):
    """A common cause that is not in the data; it enters the graph as an unobserved node."""

    name: str
    affects: list[str]
    rationale: str
    confidence: float = Field(ge=0, le=1)
    source: Source = "llm"
    added: bool = False  # True once it is a latent node of the graph


class GraphCritique(BaseModel):
    """A reasoner's critique of a graph, shown beside the data's critique of it."""

    points: list[CritiquePoint] = []
    latents: list[LatentConfounder] = []
    reading: str = ""
    source: Source
    warnings: list[AnalysisWarning] = []


class DomainProposal(BaseModel):
    """An instrument or negative control from domain knowledge, before any data check.

    ``argument`` is why it should be valid (exclusion, or why the effect must be zero);
    the data can test relevance but never this argument, which the user has to own."""

    kind: ProposalKind
    name: str
    argument: str
    confidence: float = Field(ge=0, le=1)
    source: Source


class DomainProposals(BaseModel):
    proposals: list[DomainProposal] = []
    reading: str = ""
    source: Source
    warnings: list[AnalysisWarning] = []


class Explanation(BaseModel):
    """The answer in the domain's words: a template whose numbers are filled from results."""

    template: str
    text: str
    source: Source
    warnings: list[AnalysisWarning] = []


class Reasoner(Protocol):
    name: str

    def parse_question(
        self, question: str, profile: DatasetProfile, context: str | None = None
    ) -> QuestionParse:
        """Map a question in words onto the treatment, outcome and target; ``context`` is
        the user's description of the data (untrusted text)."""

    def propose_graph(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
    ) -> ModelingResult:
        """A causal graph over the dataset with a role and provenance for every column."""

    def critique_graph(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        graph: CausalGraph,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
        data_critique: CritiqueResult | None = None,
    ) -> GraphCritique:
        """What is doubtful or missing in ``graph`` (proposed, supplied or edited),
        including common causes that are not columns at all; ``data_critique`` is the
        data's critique of the same graph, for reasoners that build on it."""

    def propose_checks(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        graph: CausalGraph,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
    ) -> DomainProposals:
        """Instruments and negative controls among the columns, each with its argument."""

    def explain(self, facts: dict, question: str | None, context: str | None = None) -> Explanation:
        """The result in the question's own words; every number comes from ``facts``."""
