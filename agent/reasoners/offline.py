"""The deterministic reasoner: name matching and evidence from the data, no network.

It is the default without an API key and the fallback whenever the LLM fails, so every
stage must be answerable by it alone.
"""

import pandas as pd

from causal_assistant.agent.reasoners.base import (
    DomainProposals,
    Explanation,
    GraphCritique,
    QuestionParse,
)
from causal_assistant.agent.reasoners.explain import OFFLINE_TEMPLATE, fill
from causal_assistant.agent.reasoners.wording import normalised, read_question
from causal_assistant.tools.data import DatasetProfile
from causal_assistant.tools.model import (
    CausalGraph,
    CritiqueResult,
    ModelingResult,
    critique_graph,
    propose_graph,
)

ATT_WORDS = ("among the treated", "for the treated", "on the treated", "att", "those who")
ATC_WORDS = ("among the untreated", "for the untreated", "on the untreated", "atc")


def target_from(question: str) -> str:
    text = f" {normalised(question)} "
    if any(f" {normalised(w)} " in text for w in ATT_WORDS):
        return "att"
    if any(f" {normalised(w)} " in text for w in ATC_WORDS):
        return "atc"
    return "ate"


class OfflineReasoner:
    name = "offline"

    def parse_question(
        self, question: str, profile: DatasetProfile, context: str | None = None
    ) -> QuestionParse:
        reading = read_question(question, profile, context)
        return QuestionParse(
            treatment=reading.treatment,
            outcome=reading.outcome,
            target=target_from(question),
            note=reading.note,
            candidates=reading.candidates,
        )

    def propose_graph(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
    ) -> ModelingResult:
        return propose_graph(df, profile, treatment, outcome, seed=seed, context=context)

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
        """Heuristic and data points; ``data_critique`` saves re-running the data screens."""
        from causal_assistant.agent.reasoners.critique import offline_critique

        data = data_critique or critique_graph(df, profile, graph, treatment, outcome, seed=seed)
        return offline_critique(data, profile, graph, treatment, outcome, context)

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
        """Offline there is no domain knowledge to argue an exclusion restriction from; the
        data screen for instruments (shown with the critique) is the offline answer."""
        return DomainProposals(
            source="heuristic",
            reading="No instruments or negative controls proposed from domain knowledge "
            "offline; the instrument candidates come from the graph and the data screen.",
        )

    def explain(self, facts: dict, question: str | None, context: str | None = None) -> Explanation:
        return Explanation(
            template=OFFLINE_TEMPLATE, text=fill(OFFLINE_TEMPLATE, facts), source="heuristic"
        )
