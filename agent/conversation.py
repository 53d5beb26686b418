"""Answering one chat message: route its intent to an answer, an edit, a re-run or export.

A handler reads a ``Turn`` (the state, what the analysis waits on, the stages' context) and
returns an ``Action``: a ``Reply`` in words, a ``Resume`` of the waiting stage, a ``Rerun``
from a stage, or an ``Export``. ``Session`` applies it, recording every reply in the
checkpointed messages so nothing said is lost on restart; this module never reaches back
into the session.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from causal_assistant.agent.commands import HELP, Intent, design_request, stage_for
from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.datastore import save_figures
from causal_assistant.agent.partial import hidden_confounder_answer, parse_proxies
from causal_assistant.agent.reasoners.explain import why_answer
from causal_assistant.agent.reasoners.wording import find_columns
from causal_assistant.agent.result import collect_warnings
from causal_assistant.agent.state import RERUN_STAGES, AnalysisState, Stage
from causal_assistant.agent.templates import template_code
from causal_assistant.tools.data.intake import resolve_column
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimators import spec_for
from causal_assistant.tools.model.graphs import (
    CausalGraph,
    add_edge,
    mark_post_treatment,
    mark_unobserved,
    remove_edge,
    reverse_edge,
)
from causal_assistant.tools.sandbox import SandboxLimits, run_in_sandbox
from causal_assistant.tools.text import code_block

EDITS: dict[str, Callable[..., CausalGraph]] = {
    "add": add_edge,
    "remove": remove_edge,
    "delete": remove_edge,
    "drop": remove_edge,
    "reverse": reverse_edge,
    "flip": reverse_edge,
}


@dataclass(frozen=True)
class Turn:
    """What a handler may read: the state, the question the analysis waits on (if any),
    the stages' context (settings, reasoner, cached data) and where figures go."""

    state: AnalysisState
    pending: dict | None
    context: AgentContext
    figures_dir: Path

    def waits_for(self, stage: Stage) -> bool:
        return bool(self.pending and self.pending["kind"] == stage)


@dataclass(frozen=True)
class Reply:
    """Answer in words without touching the analysis; ``extra`` rides on the message
    (code, images, files) or updates state (custom_code, proposed_code)."""

    text: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resume:
    """Answer the question the analysis waits on (approve, accept, an edited graph)."""

    answer: dict


@dataclass(frozen=True)
class Rerun:
    """Go back to ``entry`` with changed inputs and run on from there."""

    entry: Stage
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Export:
    """Write the script, notebook and report, and say where."""


Action = Reply | Resume | Rerun | Export
Handler = Callable[[Turn, Intent], Action]


def respond(turn: Turn, intent: Intent) -> Action:
    """The action for ``intent``; a user-fixable problem becomes a one-line reply."""
    try:
        return HANDLERS.get(intent.kind, unknown)(turn, intent)
    except InputError as exc:
        return Reply(str(exc))


def _columns(state: Mapping[str, Any]) -> list[str]:
    return [c["name"] for c in state["dataset"]["profile"]["columns"]]


def _missing(state: Mapping[str, Any], key: str, what: str) -> Reply | None:
    """The reply when the analysis has not got as far as ``key`` yet, else None."""
    if state.get(key):
        return None
    return Reply(f"There is no {what} yet; upload a dataset and ask a question first.")


def approve(turn: Turn, intent: Intent) -> Action:
    if not turn.waits_for(Stage.APPROVE_GRAPH):
        return Reply("Nothing is waiting for approval right now.")
    return Resume({"action": "approve"})


def accept(turn: Turn, intent: Intent) -> Action:
    if not turn.waits_for(Stage.REVIEW_REFUTATION):
        return Reply("There is no failed refutation waiting for a decision.")
    return Resume({"action": "accept"})


def edit_graph(turn: Turn, intent: Intent) -> Action:
    state = turn.state
    if missing := _missing(state, "graph", "graph"):
        return missing
    graph = CausalGraph.model_validate(state["graph"])
    columns = _columns(state)
    if intent.kind == "mark":
        node = resolve_column(intent.args["node"], graph.nodes)
        marker = (
            mark_unobserved
            if intent.args["what"].lower() in ("unobserved", "latent")
            else mark_post_treatment
        )
        edited, note = marker(graph, node), f"Marked {node} as {intent.args['what']}."
    else:
        cause = _graph_name(intent.args["cause"], graph, columns)
        effect = _graph_name(intent.args["effect"], graph, columns)
        operation = EDITS[intent.args["op"].lower()]
        edited = operation(graph, cause, effect)
        note = f"{intent.args['op'].capitalize()} edge {cause} -> {effect}."
    if _same(edited, graph):
        return Reply(f"Nothing changed: the graph already says that ({note[:-1]}).")
    payload = {"action": "edit", "graph": edited.model_dump(mode="json"), "note": note}
    if turn.waits_for(Stage.APPROVE_GRAPH):
        return Resume(payload)
    return Rerun(Stage.CRITIQUE, {"graph": payload["graph"]})


def _same(one: CausalGraph, other: CausalGraph) -> bool:
    """Same edges and markings, whatever the edges' provenance."""
    edges = [{(e.cause, e.effect) for e in g.edges} for g in (one, other)]
    marks = [(set(g.unobserved), set(g.post_treatment)) for g in (one, other)]
    return edges[0] == edges[1] and marks[0] == marks[1]


def _graph_name(name: str, graph: CausalGraph, columns: list[str]) -> str:
    """A node of the graph, or a data column that the edit will add to it."""
    try:
        return resolve_column(name, graph.nodes)
    except InputError:
        return resolve_column(name, columns)


def set_target(turn: Turn, intent: Intent) -> Action:
    if missing := _missing(turn.state, "identification", "identified effect"):
        return missing
    said = intent.args["target"].lower()
    target = {"treated": "att", "untreated": "atc"}.get(said, "att" if "who" in said else said)
    return Rerun(Stage.ESTIMATION, {"target": target})


SEX_WORDS = {
    "women",
    "woman",
    "men",
    "man",
    "female",
    "females",
    "male",
    "males",
    "girls",
    "girl",
    "boys",
    "boy",
    "sex",
    "gender",
}
SEX_COLUMN_WORDS = {"sex", "gender", "female", "male", "woman", "women", "girl", "boy"}
SEX_LEVELS = {"female", "male", "f", "m", "women", "men", "woman", "man"}


def group_column(phrase: str, columns: list[dict], exclude: set[str]) -> str | Reply:
    """The column a subgroup question names: by name ("by region"), by what it means
    ("for women" -> sex, female, gender), or by one of its levels ("in urban areas")."""
    names = [c["name"] for c in columns if c["name"] not in exclude]
    named = find_columns(phrase, names)
    if named:
        return named[0]
    words = set(re.findall(r"[a-z]+", phrase.lower()))
    if words & SEX_WORDS:
        for column in columns:
            tokens = set(re.findall(r"[a-z]+", column["name"].lower()))
            levels = {str(v).lower() for v in column.get("levels") or []}
            if column["name"] not in exclude and (tokens & SEX_COLUMN_WORDS or levels & SEX_LEVELS):
                return column["name"]
    for column in columns:
        levels = {str(v).lower() for v in column.get("levels") or []}
        if column["name"] not in exclude and words & levels:
            return column["name"]
    return Reply(
        f"I could not tell which column {phrase!r} refers to; say `effect by COLUMN` with "
        f"one of: {', '.join(names)}."
    )


def by_group(turn: Turn, intent: Intent) -> Action:
    """The effect within each group of a column, with a test of their difference."""
    values = turn.state
    if missing := _missing(values, "identification", "identified effect"):
        return missing
    columns = values["dataset"]["profile"]["columns"]
    column = group_column(intent.args["group"], columns, {values["treatment"], values["outcome"]})
    if isinstance(column, Reply):
        return column
    return Rerun(Stage.ESTIMATION, {"by": column})


def ask(turn: Turn, intent: Intent) -> Action:
    """A new causal question about the same data, at any point of the conversation."""
    if missing := _missing(turn.state, "dataset", "dataset"):
        return missing
    forgotten = ("treatment", "outcome", "target", "graph_text", "adjustment", "design")
    return Rerun(
        Stage.QUESTION,
        {
            "question": intent.args["question"],
            **dict.fromkeys(forgotten),
            "design_request": None,
            "method": None,
        },
    )


def set_variable(turn: Turn, intent: Intent) -> Action:
    if missing := _missing(turn.state, "dataset", "dataset"):
        return missing
    column = resolve_column(intent.args["column"], _columns(turn.state))
    return Rerun(
        Stage.QUESTION,
        {
            intent.args["which"].lower(): column,
            **dict.fromkeys(("graph_text", "adjustment", "design", "method")),
        },
    )


def use_estimator(turn: Turn, intent: Intent) -> Action:
    if missing := _missing(turn.state, "identification", "identified effect"):
        return missing
    spec = spec_for(intent.args["method"])
    return Rerun(Stage.IDENTIFICATION, {"method": spec.method, "design": spec.estimand})


def set_design(turn: Turn, intent: Intent) -> Action:
    """The user names the study design (and its columns); re-run from the design step,
    keeping the graph."""
    state = turn.state
    if missing := _missing(state, "dataset", "dataset"):
        return missing
    if not state.get("treatment"):
        return Reply("Ask a question first (e.g. `effect of X on Y`), then choose the design.")
    request, columns = design_request(intent.args), _columns(state)
    request["columns"] = {
        role: [resolve_column(n, columns) for n in value]
        if isinstance(value, list)
        else resolve_column(value, columns)
        if isinstance(value, str)
        else value
        for role, value in request["columns"].items()
    }
    return Rerun(Stage.DESIGN, {"design_request": request, "method": None, "design": None})


def rerun(turn: Turn, intent: Intent) -> Action:
    stage = stage_for(intent.args["stage"])
    if stage is None:
        return Reply(
            f"I don't know the stage {intent.args['stage']!r}; stages are "
            + ", ".join(RERUN_STAGES)
            + "."
        )
    return _missing(turn.state, "dataset", "dataset") or Rerun(stage)


# what ``show X`` shows: the state key holding its reading
SHOWN: dict[str, Literal["modeling", "estimation", "refutation", "dataset"]] = {
    "graph": "modeling",
    "estimate": "estimation",
    "refutations": "refutation",
    "data": "dataset",
}


def show(turn: Turn, intent: Intent) -> Action:
    state, what = turn.state, intent.args["what"].lower()
    if what == "warnings":
        items = collect_warnings(state)
        return Reply(
            "\n".join(f"- `{w['code']}`: {w['message']}" for w in items) or "No warnings so far."
        )
    if missing := _missing(state, SHOWN[what], what):
        return missing
    value = state[SHOWN[what]]
    if what == "data":
        return Reply(value["profile"]["reading"])
    if what == "graph":
        edges = "\n".join(
            f"- {e['cause']} -> {e['effect']} ({e['source']}: {e['note']})"
            for e in state["graph"]["edges"]
        )
        return Reply(f"{value['reading']}\n{edges}")
    return Reply(value["reading"])


def why(turn: Turn, intent: Intent) -> Action:
    """Plain words first (the role and the adjustment decision), the provenance after."""
    state = turn.state
    if missing := _missing(state, "graph", "graph"):
        return missing
    graph = CausalGraph.model_validate(state["graph"])
    names = list(dict.fromkeys(graph.nodes + _columns(state)))
    mentioned = find_columns(intent.args["subject"], names)
    if not mentioned:
        return Reply("Which variable? For example `why age?` or `why did you adjust for age?`.")
    return Reply(why_answer(state, mentioned[-1]))


LLM_CODE_MARK = "# Written by the LLM in the chat; you confirmed it ran and asked to keep it."


def run_code(turn: Turn, intent: Intent) -> Action:
    """Code the user typed runs at once (it is theirs); code the LLM wrote waits for them."""
    if refused := _no_user_code(turn) or _missing(turn.state, "dataset", "dataset"):
        return refused
    if intent.args.get("by_llm"):
        return _propose(intent.args["code"])
    return _sandboxed(turn, intent.args["code"], keep=True)


def _no_user_code(turn: Turn) -> Reply | None:
    if turn.context.settings.user_code:
        return None
    return Reply(
        "Running your own code is switched off on this shared deployment "
        "(CAUSAL_ASSISTANT_USER_CODE); the built-in plots and tables still work."
    )


def _propose(code: str) -> Reply:
    """Show the LLM's code without running it: it runs only after the user says so."""
    return Reply(
        "The LLM wrote this code to answer you. It has **not** run: read it, then say "
        "`run it` to run it in the sandbox, or ignore it.",
        {
            "code": code,
            "code_label": "Code proposed by the LLM (not run)",
            "proposed_code": {"code": code, "ran": False},
        },
    )


def confirm_code(turn: Turn, intent: Intent) -> Action:
    """``run it``: run the code the LLM proposed, now that the user has read it."""
    if refused := _no_user_code(turn) or _missing(turn.state, "dataset", "dataset"):
        return refused
    proposal = turn.state.get("proposed_code")
    if not proposal or proposal.get("ran"):
        return Reply("There is no code from the LLM waiting to run.")
    return _sandboxed(turn, proposal["code"], keep=False)


def keep_code(turn: Turn, intent: Intent) -> Action:
    """``keep the code``: the LLM's code that ran enters the export, marked as the LLM's."""
    proposal = turn.state.get("proposed_code")
    if not proposal or not proposal.get("ran"):
        return Reply("There is no code from the LLM that ran and could be kept; nothing changed.")
    return Reply(
        "Added the LLM's code to the exported script and notebook, marked as written by the LLM.",
        {"custom_code": [f"{LLM_CODE_MARK}\n{proposal['code']}"], "proposed_code": None},
    )


def template(turn: Turn, intent: Intent) -> Action:
    if missing := _missing(turn.state, "dataset", "dataset"):
        return missing
    return _sandboxed(turn, template_code(intent, turn.state), keep=True)


def _sandboxed(turn: Turn, code: str, keep: bool) -> Reply:
    """Run ``code`` in the sandbox; ``keep`` adds it to the export when it succeeds, else
    (the LLM's code) the user is told how to keep it."""
    settings = turn.context.settings
    limits = SandboxLimits(
        wall_seconds=settings.sandbox_seconds,
        cpu_seconds=max(1, int(settings.sandbox_seconds)),
        memory_mb=settings.sandbox_memory_mb,
    )
    outcome = run_in_sandbox(code, turn.state["dataset"]["path"], limits)
    figures = save_figures(turn.figures_dir, [f.png_base64 for f in outcome.figures])
    body = outcome.reading
    if outcome.stdout.strip():
        body += "\n" + code_block(outcome.stdout.strip()[:4000], "")
    if not outcome.ok and outcome.stderr.strip():
        body += "\n" + code_block(outcome.stderr.strip()[-2000:], "")
    extra: dict = {"images": figures, "table": outcome.table, "code": code}
    if keep and outcome.ok:
        extra["custom_code"] = [code]
    elif not keep:
        extra["proposed_code"] = {"code": code, "ran": outcome.ok}
        if outcome.ok:
            body += (
                "\n\nThis was the LLM's code; it is not in the exported script. Say "
                "`keep the code` to add it there, marked as the LLM's."
            )
    return Reply(body, extra)


def export(turn: Turn, intent: Intent) -> Action:
    if turn.state.get("bounds"):  # bounds alone are an answer worth exporting
        return Export()
    return _missing(turn.state, "estimation", "estimate") or Export()


def hidden_confounder(turn: Turn, intent: Intent) -> Action:
    """Bounds (from the run, or computed now) and the sensitivity analysis."""
    if missing := _missing(turn.state, "identification", "analysis"):
        return missing
    return Reply(hidden_confounder_answer(turn.context, turn.state))


def use_proxies(turn: Turn, intent: Intent) -> Action:
    """Mark two proxies of a hidden confounder and re-identify with them."""
    state = turn.state
    if missing := _missing(state, "graph", "graph"):
        return missing
    proxies = parse_proxies(intent.args["names"])
    columns = _columns(state)
    proxies = {k: resolve_column(v, columns) for k, v in proxies.items()}
    return Rerun(Stage.IDENTIFICATION, {"proxies": proxies})


def show_help(turn: Turn, intent: Intent) -> Action:
    return Reply(HELP)


def unknown(turn: Turn, intent: Intent) -> Action:
    hint = f" {turn.pending['question']}" if turn.pending else ""
    note = f" ({intent.args['note']}.)" if intent.args.get("note") else ""
    return Reply(
        f"I did not understand that.{note}{hint} Say `help` to see what I can do, "
        "for example `why age?`, `add edge age -> treat`, `use matching` or `export`."
    )


def answer(turn: Turn, intent: Intent) -> Action:
    """The LLM's answer to a question about the analysis, marked as such."""
    return Reply(f"{intent.args['text']}\n\n*(answered by the LLM from the analysis state)*")


HANDLERS: dict[str, Handler] = {
    "approve": approve,
    "accept": accept,
    "edit": edit_graph,
    "mark": edit_graph,
    "target": set_target,
    "by_group": by_group,
    "set_variable": set_variable,
    "ask": ask,
    "use": use_estimator,
    "design": set_design,
    "rerun": rerun,
    "show": show,
    "why": why,
    "run_code": run_code,
    "confirm_code": confirm_code,
    "keep_code": keep_code,
    "plot": template,
    "table": template,
    "export": export,
    "bounds": hidden_confounder,
    "proxies": use_proxies,
    "help": show_help,
    "unknown": unknown,
    "answer": answer,
}
