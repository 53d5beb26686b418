"""The deterministic reasoner: name matching and evidence from the data, no network.

It is the default without an API key and the fallback whenever the LLM fails, so every
stage must be answerable by it alone.
"""

import re

import pandas as pd

from causal_assistant.agent.reasoners.base import QuestionParse
from causal_assistant.agent.reasoners.wording import read_question
from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.model.modeling import ModelingResult, propose_graph

ATT_WORDS = ("among the treated", "for the treated", "on the treated", "att", "those who")
ATC_WORDS = ("among the untreated", "for the untreated", "on the untreated", "atc")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def find_columns(text: str, columns: list[str]) -> list[str]:
    """Columns named in ``text`` (as whole words, ignoring case and punctuation), in the
    order they appear; a longer name wins over a shorter one it contains."""
    haystack = f" {_norm(text)} "
    hits: list[tuple[int, int, str]] = []
    for column in columns:
        needle = _norm(column)
        if needle:
            for match in re.finditer(rf"(?<= ){re.escape(needle)}(?= )", haystack):
                hits.append((match.start(), -len(needle), column))
    found, covered = [], set()
    for start, neg_len, column in sorted(hits):
        span = set(range(start, start - neg_len))
        if not span & covered and column not in found:
            found.append(column)
            covered |= span
    return found


def target_from(question: str) -> str:
    text = f" {_norm(question)} "
    if any(f" {_norm(w)} " in text for w in ATT_WORDS):
        return "att"
    if any(f" {_norm(w)} " in text for w in ATC_WORDS):
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
        self, df: pd.DataFrame, profile: DatasetProfile, treatment: str, outcome: str, seed: int = 0
    ) -> ModelingResult:
        return propose_graph(df, profile, treatment, outcome, seed=seed)
