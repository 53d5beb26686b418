"""The conversation's state: plain, JSON-friendly values only.

The checkpointer stores this after every stage, so it holds no DataFrame and no live
object: the dataset is referenced by content hash and path, and tool results are stored as
their ``model_dump()``.
"""

import operator
from enum import StrEnum
from typing import Annotated, Any, TypedDict, TypeVar

from causal_assistant.tools.errors import InputError

T = TypeVar("T")
L = TypeVar("L", bound=str)


class Stage(StrEnum):
    """Every node of the state machine, in the order a run passes them.

    The values are the stage names of ``result.json`` (``timings_s``), of the per-stage
    bookkeeping in state and of the chat's progress; never rename a member's value.
    """

    INTAKE = "intake"
    QUESTION = "question"
    DESIGN = "design"
    MODELING = "modeling"
    CRITIQUE = "critique"
    APPROVE_GRAPH = "approve_graph"
    IDENTIFICATION = "identification"
    ESTIMATION = "estimation"
    REFUTATION = "refutation"
    REVIEW_REFUTATION = "review_refutation"
    REPORT = "report"

    @property
    def waits(self) -> bool:
        """A node that waits for the user (a LangGraph interrupt) rather than computing."""
        return self in WAITING_STAGES


WAITING_STAGES = frozenset({Stage.APPROVE_GRAPH, Stage.REVIEW_REFUTATION})
# The stages that compute something and record it (warnings, timings, code).
WORKING_STAGES = tuple(stage for stage in Stage if not stage.waits)
# The stages a chat message may go back to ("go back to modeling").
RERUN_STAGES = (
    Stage.INTAKE,
    Stage.QUESTION,
    Stage.MODELING,
    Stage.IDENTIFICATION,
    Stage.ESTIMATION,
    Stage.REFUTATION,
    Stage.REPORT,
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
    entry: Stage
    auto_approve: bool
    design_request: dict | None  # the user's design: {"kind": "auto"|kind, "columns": {...}}
    # stage outputs
    dataset: dict
    graph: dict
    roles: list[dict]
    proxies: dict | None  # {"nc_exposure": Z, "nc_outcome": W}: proxies of a hidden confounder
    proximal: dict | None  # ProximalResult when proxies are marked
    hidden_bounds: dict | None  # BoundsResult beside an identified estimate, for the report
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
    stage: Stage
    error: str | None
    context: str | None  # the user's description of the data (untrusted text)
    choices: dict[str, list[str]] | None  # candidates when the user must pick a column


def present(value: T | None, key: str) -> T:
    """A state entry an earlier stage always sets before this one runs; its absence is a
    wiring bug (a stage ran out of order), so say which entry is missing."""
    if value is None:
        raise RuntimeError(f"state[{key!r}] is not set: the stage that sets it has not run")
    return value


def one_of(value: str, allowed: tuple[L, ...], what: str) -> L:
    """``value`` as one of the ``allowed`` literals; the ways in (CLI choices, chat commands,
    the question parser's model) already limit it, so this only narrows its type."""
    for option in allowed:
        if value == option:
            return option
    raise InputError(f"The {what} must be one of {', '.join(allowed)}, not {value!r}.")
