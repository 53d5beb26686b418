"""The shape every tool result shares.

The exported script is assembled from ``code`` snippets and the report from ``reading``
texts, so each tool returns all four parts together: values (the subclass fields), a plain
reading, warnings with stable codes, and the code that reproduces it.
"""

from enum import StrEnum

from pydantic import BaseModel, Field


class WarningCode(StrEnum):
    """Stable identifiers other programs match on; never rename a member's value."""

    POOR_OVERLAP = "poor_overlap"
    SMALL_SAMPLE = "small_sample"
    MISSING_VALUES_DROPPED = "missing_values_dropped"
    WEAK_INSTRUMENT = "weak_instrument"
    GRAPH_DATA_CONFLICT = "graph_data_conflict"
    POST_TREATMENT_ADJUSTMENT = "post_treatment_adjustment"
    UNIDENTIFIABLE = "unidentifiable"
    REFUTATION_FAILED = "refutation_failed"
    LLM_FALLBACK = "llm_fallback"
    UNADJUSTED_CONFOUNDER = "unadjusted_confounder"
    EXCLUDED_COLUMN = "excluded_column"
    LARGE_DATA_SAMPLED = "large_data_sampled"
    DESIGN_DETECTED = "design_detected"
    TREATMENT_DEFINING_COLUMN = "treatment_defining_column"


class AnalysisWarning(BaseModel):
    code: WarningCode
    message: str


class ToolResult(BaseModel):
    """Base of every tool result: a reading for a non-expert, warnings, reproducing code."""

    reading: str = ""
    warnings: list[AnalysisWarning] = Field(default_factory=list)
    code: str = ""

    def warn(self, code: WarningCode, message: str) -> None:
        self.warnings.append(AnalysisWarning(code=code, message=message))
