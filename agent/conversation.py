"""Answering one chat message: route its intent to an answer, an edit, a re-run or export.

Every handler returns either new state (a stage re-ran) or reply text that is appended to
the conversation's messages in the checkpointer, so nothing said is lost on restart.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from causal_assistant.agent.commands import HELP, Intent, design_request, stage_for
from causal_assistant.agent.partial import hidden_confounder_answer
from causal_assistant.agent.reasoners.wording import find_columns
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

if TYPE_CHECKING:
    from causal_assistant.agent.session import Session

EDITS: dict[str, Callable[..., CausalGraph]] = {
    "add": add_edge,
    "remove": remove_edge,
    "delete": remove_edge,
    "drop": remove_edge,
    "reverse": reverse_edge,
    "flip": reverse_edge,
}


class Reply(Exception):
    """Raised by a handler to answer in words without touching the analysis."""

    def __init__(self, text: str, **extra: object) -> None:
        super().__init__(text)
        self.text, self.extra = text, extra


def handle(session: "Session", intent: Intent, text: str) -> dict:
    """Apply ``intent``; return the new state, having recorded any reply in it."""
    handler = HANDLERS.get(intent.kind, unknown)
    try:
        return handler(session, intent, text)
    except Reply as reply:
        return session.record(text, reply.text, **reply.extra)
    except InputError as exc:
        return session.record(text, str(exc))


def _columns(state: dict) -> list[str]:
    return [c["name"] for c in state["dataset"]["profile"]["columns"]]


def _need(state: dict, key: str, what: str) -> dict:
    if not state.get(key):
        raise Reply(f"There is no {what} yet; upload a dataset and ask a question first.")
    return state[key]


def approve(session: "Session", intent: Intent, text: str) -> dict:
    pending = session.pending()
    if not pending or pending["kind"] != "approve_graph":
        raise Reply("Nothing is waiting for approval right now.")
    return session.resume({"action": "approve"}, user_text=text)


def accept(session: "Session", intent: Intent, text: str) -> dict:
    pending = session.pending()
    if not pending or pending["kind"] != "review_refutation":
        raise Reply("There is no failed refutation waiting for a decision.")
    return session.resume({"action": "accept"}, user_text=text)


def edit_graph(session: "Session", intent: Intent, text: str) -> dict:
    state = session.values
    graph = CausalGraph.model_validate(_need(state, "graph", "graph"))
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
    payload = {"action": "edit", "graph": edited.model_dump(mode="json"), "note": note}
    if session.pending() and session.pending()["kind"] == "approve_graph":
        return session.resume(payload, user_text=text)
    return session.rerun("critique", user_text=text, graph=payload["graph"])


def _graph_name(name: str, graph: CausalGraph, columns: list[str]) -> str:
    """A node of the graph, or a data column that the edit will add to it."""
    try:
        return resolve_column(name, graph.nodes)
    except InputError:
        return resolve_column(name, columns)


def set_target(session: "Session", intent: Intent, text: str) -> dict:
    _need(session.values, "identification", "identified effect")
    return session.rerun("estimation", user_text=text, target=intent.args["target"].lower())


def ask(session: "Session", intent: Intent, text: str) -> dict:
    """A new causal question about the same data, at any point of the conversation."""
    _need_dataset(session.values)
    return session.rerun(
        "question",
        user_text=text,
        question=intent.args["question"],
        treatment=None,
        outcome=None,
        target=None,
        graph_text=None,
        adjustment=None,
        design=None,
        design_request=None,
        method=None,
    )


def set_variable(session: "Session", intent: Intent, text: str) -> dict:
    state = session.values
    column = resolve_column(intent.args["column"], _columns(_need_dataset(state)))
    return session.rerun(
        "question",
        user_text=text,
        **{intent.args["which"].lower(): column},
        graph_text=None,
        adjustment=None,
        design=None,
        method=None,
    )


def _need_dataset(state: dict) -> dict:
    _need(state, "dataset", "dataset")
    return state


def use_estimator(session: "Session", intent: Intent, text: str) -> dict:
    _need(session.values, "identification", "identified effect")
    spec = spec_for(intent.args["method"])
    return session.rerun("identification", user_text=text, method=spec.method, design=spec.estimand)


def set_design(session: "Session", intent: Intent, text: str) -> dict:
    """The user names the study design (and its columns); re-run from the design step,
    keeping the graph."""
    state = _need_dataset(session.values)
    if not state.get("treatment"):
        raise Reply("Ask a question first (e.g. `effect of X on Y`), then choose the design.")
    request, columns = design_request(intent.args), _columns(state)
    request["columns"] = {
        role: [resolve_column(n, columns) for n in value]
        if isinstance(value, list)
        else resolve_column(value, columns)
        if isinstance(value, str)
        else value
        for role, value in request["columns"].items()
    }
    return session.rerun("design", user_text=text, design_request=request, method=None, design=None)


def rerun(session: "Session", intent: Intent, text: str) -> dict:
    stage = stage_for(intent.args["stage"])
    if stage is None:
        raise Reply(
            f"I don't know the stage {intent.args['stage']!r}; stages are intake, "
            "question, modeling, identification, estimation, refutation, report."
        )
    _need(session.values, "dataset", "dataset")
    return session.rerun(stage, user_text=text)


def show(session: "Session", intent: Intent, text: str) -> dict:
    state, what = session.values, intent.args["what"].lower()
    if what == "warnings":
        from causal_assistant.agent.result import collect_warnings

        items = collect_warnings(state)
        raise Reply(
            "\n".join(f"- `{w['code']}`: {w['message']}" for w in items) or "No warnings so far."
        )
    key = {
        "graph": "modeling",
        "estimate": "estimation",
        "refutations": "refutation",
        "data": "dataset",
    }[what]
    value = _need(state, key, what)
    if what == "data":
        raise Reply(value["profile"]["reading"])
    if what == "graph":
        edges = "\n".join(
            f"- {e['cause']} -> {e['effect']} ({e['source']}: {e['note']})"
            for e in state["graph"]["edges"]
        )
        raise Reply(f"{value['reading']}\n{edges}")
    raise Reply(value["reading"])


def why(session: "Session", intent: Intent, text: str) -> dict:
    """Answer from provenance: the role, the edges and the adjustment decision."""
    state = session.values
    graph = CausalGraph.model_validate(_need(state, "graph", "graph"))
    names = list(dict.fromkeys(graph.nodes + _columns(state)))
    mentioned = find_columns(intent.args["subject"], names)
    if not mentioned:
        raise Reply("Which variable? For example `why age?` or `why did you adjust for age?`.")
    subject = mentioned[-1]
    lines = []
    role = next((r for r in state.get("roles") or [] if r["name"] == subject), None)
    if role:
        lines.append(f"{subject} is a **{role['role']}** ({role['source']}: {role['evidence']}).")
    for edge in graph.edges:
        if subject in (edge.cause, edge.effect):
            lines.append(
                f"- edge {edge.cause} -> {edge.effect}: {edge.source}"
                + (f" — {edge.note}" if edge.note else "")
            )
    ident = state.get("identification") or {}
    if subject in ident.get("adjustment_set", []):
        lines.append(
            f"It is in the adjustment set because it opens a backdoor path from "
            f"{state['treatment']} to {state['outcome']}."
        )
    elif ident:
        lines.append(
            "It is not adjusted for: no backdoor path needs it (or adjusting would "
            "bias the total effect)."
        )
    if subject not in graph.nodes:
        lines.append(f"{subject} is not in the graph.")
    raise Reply("\n".join(lines))


LLM_CODE_MARK = "# Written by the LLM in the chat; you confirmed it ran and asked to keep it."


def run_code(session: "Session", intent: Intent, text: str) -> dict:
    """Code the user typed runs at once (it is theirs); code the LLM wrote waits for them."""
    _need_user_code(session)
    state = _need_dataset(session.values)
    if intent.args.get("by_llm"):
        return _propose(intent.args["code"])
    return _sandboxed(session, text, intent.args["code"], state, keep=True)


def _need_user_code(session: "Session") -> None:
    if not session.settings.user_code:
        raise Reply(
            "Running your own code is switched off on this shared deployment "
            "(CAUSAL_ASSISTANT_USER_CODE); the built-in plots and tables still work."
        )


def _propose(code: str) -> dict:
    """Show the LLM's code without running it: it runs only after the user says so."""
    raise Reply(
        "The LLM wrote this code to answer you. It has **not** run: read it, then say "
        "`run it` to run it in the sandbox, or ignore it.",
        code=code,
        code_label="Code proposed by the LLM (not run)",
        proposed_code={"code": code, "ran": False},
    )


def confirm_code(session: "Session", intent: Intent, text: str) -> dict:
    """``run it``: run the code the LLM proposed, now that the user has read it."""
    _need_user_code(session)
    state = _need_dataset(session.values)
    proposal = state.get("proposed_code")
    if not proposal or proposal.get("ran"):
        raise Reply("There is no code from the LLM waiting to run.")
    return _sandboxed(session, text, proposal["code"], state, keep=False)


def keep_code(session: "Session", intent: Intent, text: str) -> dict:
    """``keep the code``: the LLM's code that ran enters the export, marked as the LLM's."""
    proposal = session.values.get("proposed_code")
    if not proposal or not proposal.get("ran"):
        raise Reply("There is no code from the LLM that ran and could be kept; nothing changed.")
    raise Reply(
        "Added the LLM's code to the exported script and notebook, marked as written by the LLM.",
        custom_code=[f"{LLM_CODE_MARK}\n{proposal['code']}"],
        proposed_code=None,
    )


def template(session: "Session", intent: Intent, text: str) -> dict:
    state = _need_dataset(session.values)
    code = template_code(intent, state)
    return _sandboxed(session, text, code, state, keep=True)


def _sandboxed(session: "Session", text: str, code: str, state: dict, keep: bool) -> dict:
    """Run ``code`` in the sandbox; ``keep`` adds it to the export when it succeeds, else
    (the LLM's code) the user is told how to keep it."""
    settings = session.settings
    limits = SandboxLimits(
        wall_seconds=settings.sandbox_seconds,
        cpu_seconds=max(1, int(settings.sandbox_seconds)),
        memory_mb=settings.sandbox_memory_mb,
    )
    outcome = run_in_sandbox(code, state["dataset"]["path"], limits)
    figures = session.save_figures([f.png_base64 for f in outcome.figures])
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
    raise Reply(body, **extra)


def export(session: "Session", intent: Intent, text: str) -> dict:
    if not session.values.get("bounds"):  # bounds alone are an answer worth exporting
        _need(session.values, "estimation", "estimate")
    written = session.export(session.export_dir())
    names = ", ".join(sorted(written))
    raise Reply(f"Exported {names}.", files=[str(p) for p in written.values()])


def hidden_confounder(session: "Session", intent: Intent, text: str) -> dict:
    """Bounds (from the run, or computed now) and the sensitivity analysis."""
    state = session.values
    _need(state, "identification", "analysis")
    raise Reply(hidden_confounder_answer(session.context, state))


def show_help(session: "Session", intent: Intent, text: str) -> dict:
    raise Reply(HELP)


def unknown(session: "Session", intent: Intent, text: str) -> dict:
    pending = session.pending()
    hint = f" {pending['question']}" if pending else ""
    note = f" ({intent.args['note']}.)" if intent.args.get("note") else ""
    raise Reply(
        f"I did not understand that.{note}{hint} Say `help` to see what I can do, "
        "for example `why age?`, `add edge age -> treat`, `use matching` or `export`."
    )


def answer(session: "Session", intent: Intent, text: str) -> dict:
    """The LLM's answer to a question about the analysis, marked as such."""
    raise Reply(f"{intent.args['text']}\n\n*(answered by the LLM from the analysis state)*")


HANDLERS: dict[str, Callable[["Session", Intent, str], dict]] = {
    "approve": approve,
    "accept": accept,
    "edit": edit_graph,
    "mark": edit_graph,
    "target": set_target,
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
    "help": show_help,
    "unknown": unknown,
    "answer": answer,
}
