"""Typed reads of the conversation's state for the layers above (CLI, chat UI).

State is plain JSON so the checkpointer can store it; these models give the CLI and the app
named, typed fields instead of nested dict lookups, so a change of the state's shape is
made here once rather than in every caller.
"""

from pydantic import BaseModel, ConfigDict, Field

from causal_assistant.agent.state import AnalysisState
from causal_assistant.tools.model import CausalGraph


class EstimateView(BaseModel):
    """The primary estimate as the stages stored it (graph path or a design's own)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    method: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    target: str = "ate"
    estimand: str | None = None


class RefutationView(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    status: str
    reading: str = ""


class AnalysisView(BaseModel):
    """What a caller may read of an analysis, whatever stage it stopped at."""

    model_config = ConfigDict(frozen=True)

    question: str | None = None
    treatment: str | None = None
    outcome: str | None = None
    target: str | None = None
    error: str | None = None
    choices: dict[str, list[str]] | None = None
    has_dataset: bool = False
    graph: CausalGraph | None = None
    design_kind: str | None = None
    estimate: EstimateView | None = None
    refutations: list[RefutationView] = Field(default_factory=list)
    bounds: dict | None = None  # BoundsResult dump
    timings_s: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, state: AnalysisState | dict) -> "AnalysisView":
        estimation = state.get("estimation") or {}
        return cls(
            question=state.get("question"),
            treatment=state.get("treatment"),
            outcome=state.get("outcome"),
            target=state.get("target"),
            error=state.get("error"),
            choices=state.get("choices"),
            has_dataset=bool(state.get("dataset")),
            graph=state.get("graph") or None,
            design_kind=(state.get("study_design") or {}).get("kind"),
            estimate=estimation.get("estimate"),
            refutations=(state.get("refutation") or {}).get("refutations", []),
            bounds=state.get("bounds") or None,
            timings_s=state.get("timings_s") or {},
        )

    @property
    def failed_refuters(self) -> list[str]:
        return [r.name for r in self.refutations if r.status == "fail"]
