"""The deterministic reasoner: name matching and evidence from the data, no network.

It is the default without an API key and the fallback whenever the LLM fails, so every
stage must be answerable by it alone.
"""

import re

import pandas as pd

from causal_assistant.agent.reasoners.base import QuestionParse
from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.model.modeling import ModelingResult, propose_graph

CAUSE_PATTERNS = (
    r"effect of (?P<t>.+?) on (?P<y>.+)",
    r"impact of (?P<t>.+?) on (?P<y>.+)",
    r"(?:does|do|did|will|would|is|are) (?P<t>.+?) (?:cause|causes|affect|affects|raise|"
    r"raises|increase|increases|reduce|reduces|lower|lowers|improve|improves|change|changes|"
    r"influence|influences|decrease|decreases|boost|boosts|hurt|hurts|lead to|leads to) (?P<y>.+)",
    r"(?P<t>.+?) (?:causes|affects|raises|increases|reduces|lowers|improves) (?P<y>.+)",
)
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

    def parse_question(self, question: str, profile: DatasetProfile) -> QuestionParse:
        columns = profile.names()
        target = target_from(question)
        for pattern in CAUSE_PATTERNS:
            match = re.search(pattern, question, flags=re.IGNORECASE)
            if match:
                treatments = find_columns(match.group("t"), columns)
                outcomes = find_columns(match.group("y"), columns)
                if treatments and outcomes and treatments[0] != outcomes[0]:
                    return QuestionParse(
                        treatment=treatments[0],
                        outcome=outcomes[0],
                        target=target,
                        note=f"read from the question's wording ({match.group(0)!r})",
                        candidates={"treatment": treatments, "outcome": outcomes},
                    )
        mentioned = find_columns(question, columns)
        if len(mentioned) == 2:
            return QuestionParse(
                treatment=mentioned[0],
                outcome=mentioned[1],
                target=target,
                note="the first column named is taken as the treatment",
            )
        return QuestionParse(
            target=target,
            candidates={"mentioned": mentioned},
            note="the question does not name a treatment and an outcome",
        )

    def propose_graph(
        self, df: pd.DataFrame, profile: DatasetProfile, treatment: str, outcome: str, seed: int = 0
    ) -> ModelingResult:
        return propose_graph(df, profile, treatment, outcome, seed=seed)
