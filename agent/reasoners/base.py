"""The interface both reasoners implement, and the answers they give.

The agent only ever talks to a ``Reasoner``; whether an answer came from column-name
heuristics, the data or an LLM is recorded in each answer's ``source`` so the user can ask
why and challenge it.
"""

from typing import Literal, Protocol

import pandas as pd
from pydantic import BaseModel

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.model.modeling import ModelingResult
from causal_assistant.tools.results import AnalysisWarning

Target = Literal["ate", "att", "atc"]


class QuestionParse(BaseModel):
    treatment: str | None = None
    outcome: str | None = None
    target: Target = "ate"
    source: str = "heuristic"
    note: str = ""
    candidates: dict[str, list[str]] = {}
    warnings: list[AnalysisWarning] = []  # e.g. llm_fallback, for the question stage


class Reasoner(Protocol):
    name: str

    def parse_question(
        self, question: str, profile: DatasetProfile, context: str | None = None
    ) -> QuestionParse:
        """Map a question in words onto the treatment, outcome and target; ``context`` is
        the user's description of the data (untrusted text)."""

    def propose_graph(
        self, df: pd.DataFrame, profile: DatasetProfile, treatment: str, outcome: str, seed: int = 0
    ) -> ModelingResult:
        """A causal graph over the dataset with a role and provenance for every column."""
