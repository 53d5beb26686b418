"""The study-design protocol: one module per design, every stage asks the design.

Real data come from experiments, panels, thresholds and natural experiments as well as from
observational data with measured confounders. A design module says whether the data look
like its design (``detect``), what must hold for it (``assumptions``), whether and how the
effect is identified (``identify``), the primary estimate with an honest interval and a
named estimand (``estimate``), its own refutations (``checks``) and the code the exported
script runs (``code``). The agent's stages call these through the registry in
``tools.designs`` and never branch on the design themselves.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import pandas as pd
from pydantic import BaseModel, Field

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.results import ToolResult


class DesignKind(StrEnum):
    """The ``design.kind`` values of ``result.json``; never rename a member's value."""

    BACKDOOR = "backdoor"
    RCT = "rct"
    IV = "iv"
    FRONTDOOR = "frontdoor"
    DID = "did"
    RDD = "rdd"
    NONE = "none"


Strength = Literal["strong", "moderate", "weak"]
Testable = Literal["yes", "partly", "no"]
CheckStatus = Literal["pass", "warn", "fail"]


class DesignColumns(BaseModel):
    """The columns a design needs beyond treatment and outcome (user names)."""

    unit: str | None = None
    time: str | None = None
    cluster: str | None = None
    running: str | None = None
    cutoff: float | None = None
    instruments: list[str] = Field(default_factory=list)
    covariates: list[str] = Field(default_factory=list)


class DesignEvidence(BaseModel):
    """Why the data look like this design: what was seen, how strongly, in plain words."""

    kind: DesignKind
    strength: Strength
    reading: str
    columns: DesignColumns = Field(default_factory=DesignColumns)
    source: Literal["data", "context", "user", "graph"] = "data"
    facts: dict[str, Any] = Field(default_factory=dict)


class Assumption(BaseModel):
    name: str
    testable: Testable
    reading: str


class DesignSpec(BaseModel):
    """Everything a design's identify/estimate/checks/code need, JSON-serialisable."""

    kind: DesignKind
    treatment: str
    outcome: str
    columns: DesignColumns = Field(default_factory=DesignColumns)
    target: Literal["ate", "att", "atc"] = "ate"
    graph: dict[str, Any] | None = None  # CausalGraph.model_dump() where the design uses one
    seed: int = 0


class DesignIdentification(ToolResult):
    identified: bool
    estimand: str  # e.g. "ATE", "LATE for compliers", "effect at the cutoff", "ATT"
    assumptions: list[Assumption] = Field(default_factory=list)
    # The columns the design settled on (e.g. the covariates it will adjust for); when set,
    # the agent passes them on as ``spec.columns`` to estimate, checks and code, so the
    # exported script names them explicitly. None keeps the spec's columns.
    columns: DesignColumns | None = None


class DesignEstimate(ToolResult):
    """The primary estimate: value, interval, standard error and what it estimates."""

    method: str
    estimand: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    se: float | None = None
    se_type: str | None = None  # "HC1", "clustered by state", "robust bias-corrected", ...
    scale: str | None = None  # "percentage points", "units of the outcome", ...
    n_rows: int = 0
    details: dict[str, Any] = Field(default_factory=dict)


class DesignCheck(BaseModel):
    name: str
    status: CheckStatus
    reading: str
    statistic: float | None = None
    p_value: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Design(Protocol):
    """What every module under ``tools/designs/`` provides (as a module-level object)."""

    kind: ClassVar[DesignKind]

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence | None: ...

    def assumptions(self, spec: DesignSpec) -> list[Assumption]: ...

    def identify(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignIdentification: ...

    def estimate(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignEstimate: ...

    def checks(
        self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate
    ) -> list[DesignCheck]: ...

    def code(self, spec: DesignSpec) -> str: ...


# Optional hook a design may also define (the agent looks it up with ``getattr``):
#     detect_graph(graph: CausalGraph, treatment: str, outcome: str) -> DesignEvidence | None
# evidence read off the user's graph (e.g. an instrument when no backdoor set exists).
