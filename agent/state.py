"""The conversation's state: plain, JSON-friendly values only.

The checkpointer stores this after every stage, so it holds no DataFrame and no live
object: the dataset is referenced by content hash and path, and tool results are stored as
their ``model_dump()``.
"""

import operator
from typing import Annotated, Any, TypedDict

STAGES = (
    "intake",
    "question",
    "design",
    "modeling",
    "critique",
    "identification",
    "estimation",
    "refutation",
    "report",
)


RESET = "__reset__"


def merge_dicts(left: dict, right: dict) -> dict:
    """Per-stage bookkeeping merges by stage; a new analysis sends ``{RESET: True}``."""
    if right and right.get(RESET):
        return {k: v for k, v in right.items() if k != RESET}
    return {**(left or {}), **(right or {})}


def extend_list(left: list, right: list) -> list:
    """Lists grow by appending; a new analysis starts over with ``[RESET, ...]``."""
    if right and right[0] == RESET:
        return list(right[1:])
    return (left or []) + (right or [])


class AnalysisState(TypedDict, total=False):
    # inputs
    data_path: str
    question: str
    treatment: str
    outcome: str
    target: str
    method: str
    treated_level: Any
    graph_text: str
    seed: int
    entry: str
    auto_approve: bool
    design_request: dict | None  # the user's design: {"kind": "auto"|kind, "columns": {...}}
    # stage outputs
    dataset: dict
    graph: dict
    roles: list[dict]
    by: str | None  # --by: the effect within each group of this column
    cluster: str | None  # --cluster: the column standard errors cluster by
    adjustment: list[str] | None
    design: str | None  # the DoWhy estimand preferred on the graph path (from --method)
    study_design: dict | None  # the design stage's choice (DesignChoice) plus assumptions
    modeling: dict
    critique: dict
    identification: dict
    estimation: dict
    refutation: dict
    explanation: dict | None  # the result in the domain's words, numbers filled from results
    bounds: dict | None  # BoundsResult when the effect is not point-identified
    stage_warnings: Annotated[dict[str, list[dict]], merge_dicts]
    timings_s: Annotated[dict[str, float], merge_dicts]
    stage_code: Annotated[dict[str, str], merge_dicts]
    # conversation
    messages: Annotated[list[dict], operator.add]
    custom_code: Annotated[list[str], extend_list]
    proposed_code: dict | None  # {"code", "ran"}: LLM-written code, run only when confirmed
    stage: str
    error: str | None
    context: str | None  # the user's description of the data (untrusted text)
    choices: dict[str, list[str]] | None  # candidates when the user must pick a column
    decision: str | None
