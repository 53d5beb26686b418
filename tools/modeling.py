"""Proposing a causal graph from the data, with a role and its provenance for every column.

This is the simple, always-sound starting point: every usable column is treated as a
possible common cause of treatment and outcome, and unusable ones (identifiers, constants,
free text, mostly-missing columns) are excluded with the reason.
"""

from typing import Literal

import pandas as pd
from pydantic import BaseModel

from tools.graphs import CausalGraph, Edge
from tools.intake import DatasetProfile
from tools.results import ToolResult, WarningCode

RoleName = Literal[
    "treatment", "outcome", "confounder", "outcome_predictor", "instrument", "mediator",
    "collider", "excluded",
]
EvidenceSource = Literal["data", "heuristic", "llm", "user", "default"]
UNUSABLE_KINDS = ("identifier", "constant", "text", "datetime")
MAX_MISSING_SHARE = 0.5


class Role(BaseModel):
    name: str
    role: RoleName
    source: EvidenceSource
    evidence: str


class ModelingResult(ToolResult):
    graph: CausalGraph
    roles: list[Role]

    def role_of(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


def exclusion_reason(profile: DatasetProfile, name: str) -> str | None:
    """Why a column cannot enter the graph at all, or None when it can."""
    column = profile.column(name)
    if column.kind in UNUSABLE_KINDS:
        return f"{column.kind} column"
    if column.missing_share > MAX_MISSING_SHARE:
        return f"{column.missing_share:.0%} missing"
    return None


def propose_graph(df: pd.DataFrame, profile: DatasetProfile, treatment: str,
                  outcome: str, seed: int = 0) -> ModelingResult:
    """Every usable column as a common cause of treatment and outcome."""
    roles = [
        Role(name=treatment, role="treatment", source="user", evidence="chosen as treatment"),
        Role(name=outcome, role="outcome", source="user", evidence="chosen as outcome"),
    ]
    edges = [Edge(cause=treatment, effect=outcome, source="user", note="the effect asked about")]
    result = ModelingResult(graph=CausalGraph(nodes=[treatment, outcome]), roles=roles)
    for name in profile.names():
        if name in (treatment, outcome):
            continue
        reason = exclusion_reason(profile, name)
        if reason:
            roles.append(Role(name=name, role="excluded", source="heuristic", evidence=reason))
            result.warn(WarningCode.EXCLUDED_COLUMN, f"{name!r} left out: {reason}.")
            continue
        roles.append(Role(name=name, role="confounder", source="default",
                          evidence="assumed to be measured before treatment"))
        note = "assumed common cause (no evidence against it)"
        edges += [Edge(cause=name, effect=treatment, source="default", note=note),
                  Edge(cause=name, effect=outcome, source="default", note=note)]
    nodes = [r.name for r in roles if r.role != "excluded"]
    result.graph = CausalGraph(nodes=nodes, edges=edges)
    result.reading = (
        f"Every usable column ({len(nodes) - 2}) is taken as a possible common cause of "
        f"{treatment} and {outcome}; {sum(r.role == 'excluded' for r in roles)} excluded."
    )
    return result
