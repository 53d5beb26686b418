"""Routing a chat message with the LLM: the conversation's actions bound as tools.

The offline command language is tried first (it is exact and free); only a message it
does not understand goes to the model, whose tool call becomes the same ``Intent`` the
offline parser produces, so both paths share one set of handlers. Any failure of the
model falls back to the offline answer, with the reason shown.
"""

import json
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from causal_assistant import prompts
from causal_assistant.agent.chat_model import make_chat_model
from causal_assistant.agent.commands import Intent
from causal_assistant.agent.config import Settings
from causal_assistant.agent.reasoners.llm import data_block, render_prompt
from causal_assistant.agent.state import RERUN_STAGES

# The tool schema lists the stages a message may go back to (values of the Stage enum).
RerunStage = Literal[tuple(stage.value for stage in RERUN_STAGES)]  # type: ignore[valid-type]


class Approve(BaseModel):
    """Approve the proposed causal graph and continue the analysis."""


class AcceptCaveat(BaseModel):
    """Keep an estimate whose refutation failed, with a caveat in the report."""


class EditEdge(BaseModel):
    """Add, remove or reverse one edge of the causal graph."""

    op: Literal["add", "remove", "reverse"]
    cause: str
    effect: str


class MarkVariable(BaseModel):
    """Mark a variable as unobserved (latent) or as measured after the treatment."""

    node: str
    what: Literal["unobserved", "post-treatment"]


class Why(BaseModel):
    """Explain where a variable's role, edges or adjustment came from."""

    subject: str = Field(description="the column asked about")


class UseEstimator(BaseModel):
    """Switch the estimator (regression, weighting, matching, stratification, iv, frontdoor)."""

    method: str


class SetTarget(BaseModel):
    """Change which effect is estimated: ate, att or atc."""

    target: Literal["ate", "att", "atc"]


class EffectByGroup(BaseModel):
    """The effect within each group of a column (e.g. by sex, "does it differ for women"),
    with intervals and a test that the groups' effects are equal."""

    group: str = Field(description="the grouping column, or the words naming the group")


class SetVariable(BaseModel):
    """Change the treatment or the outcome column."""

    which: Literal["treatment", "outcome"]
    column: str


class Rerun(BaseModel):
    """Go back to a stage and run again from there."""

    stage: RerunStage  # type: ignore[valid-type]  # a Literal built from the Stage enum


class Show(BaseModel):
    """Show a stored result again."""

    what: Literal["graph", "estimate", "refutations", "data", "warnings"]


class Plot(BaseModel):
    """Plot propensity overlap or covariate balance, or the distribution of one column."""

    kind: Literal["overlap", "balance", "distribution"]
    column: str | None = None


class Table(BaseModel):
    """Summarise a column by the levels of a grouping column."""

    column: str
    group: str


class RunCode(BaseModel):
    """Propose Python to run on the data in the sandbox (df is loaded); it is shown to the
    analyst and runs only after they confirm."""

    code: str


class Export(BaseModel):
    """Write analysis.py, analysis.ipynb and report.md for download."""


class HiddenConfounder(BaseModel):
    """Bounds and sensitivity: what if a confounder was not measured; what must one assume
    to get the sign of the effect."""


class Help(BaseModel):
    """List what the assistant can do."""


class Answer(BaseModel):
    """Answer the analyst's question in words, from the analysis state."""

    text: str


ACTIONS: dict[type[BaseModel], str] = {
    Approve: "approve",
    AcceptCaveat: "accept",
    EditEdge: "edit",
    MarkVariable: "mark",
    Why: "why",
    UseEstimator: "use",
    SetTarget: "target",
    EffectByGroup: "by_group",
    SetVariable: "set_variable",
    Rerun: "rerun",
    Show: "show",
    Plot: "plot",
    Table: "table",
    RunCode: "run_code",
    Export: "export",
    HiddenConfounder: "bounds",
    Help: "help",
    Answer: "answer",
}
KIND_OF = {action.__name__: kind for action, kind in ACTIONS.items()}


def state_summary(state: dict, pending: dict | None) -> dict:
    """What the model may know of the analysis: names, choices and results, no rows."""
    estimation = state.get("estimation") or {}
    return {
        "columns": [
            c["name"]
            for c in ((state.get("dataset") or {}).get("profile") or {}).get("columns", [])
        ],
        "treatment": state.get("treatment"),
        "outcome": state.get("outcome"),
        "graph_edges": [
            [e["cause"], e["effect"]] for e in (state.get("graph") or {}).get("edges", [])
        ],
        "adjustment_set": (state.get("identification") or {}).get("adjustment_set"),
        "estimate": estimation.get("estimate"),
        "bounds_reading": (state.get("bounds") or {}).get("reading"),
        "estimate_reading": estimation.get("reading"),
        "refutations": [
            [r["name"], r["status"]] for r in (state.get("refutation") or {}).get("refutations", [])
        ],
        "waiting_for": pending["question"] if pending else None,
    }


def _arguments(kind: str, args: dict) -> dict:
    """Tool arguments as the offline parser would give them for the same intent."""
    values = {k: str(v) for k, v in args.items() if v is not None}
    if kind == "plot" and values.get("kind") == "distribution":
        return {"column": values.get("column", "")}
    if kind == "plot":
        values.pop("column", None)
    return values


class LLMRouter:
    def __init__(self, settings: Settings, chat_model: BaseChatModel | None = None) -> None:
        self.chat_model = chat_model or make_chat_model(settings)

    def route(self, text: str, state: dict, pending: dict | None) -> Intent:
        task = render_prompt(
            "router",
            message=json.dumps(text, ensure_ascii=False),
            state=data_block(state_summary(state, pending)),
        )
        try:
            reply = self.chat_model.bind_tools(list(ACTIONS)).invoke(
                [SystemMessage(prompts.load("system")), HumanMessage(task)]
            )
        except Exception as exc:  # any model failure: the offline path answers
            return Intent(
                kind="unknown",
                args={"text": text, "note": f"the LLM could not be reached ({type(exc).__name__})"},
            )
        calls = [c for c in reply.tool_calls if c["name"] in KIND_OF]
        if calls:
            kind = KIND_OF[calls[0]["name"]]
            return Intent(kind=kind, args=_arguments(kind, calls[0]["args"]))
        if isinstance(reply.content, str) and reply.content.strip():
            return Intent(kind="answer", args={"text": reply.content.strip()})
        return Intent(kind="unknown", args={"text": text, "note": "the LLM gave no usable answer"})
