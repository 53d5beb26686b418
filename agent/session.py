"""The Python API the CLI and the UI share: start, resume, re-run, inspect, export.

A ``Session`` is one conversation, i.e. one LangGraph thread in the SQLite checkpointer
under ``CAUSAL_ASSISTANT_HOME``; constructing a Session with an existing ``thread_id`` after
a restart picks the conversation up where it stopped.
"""

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from causal_assistant.agent.commands import parse_command
from causal_assistant.agent.config import Settings
from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.conversation import (
    Action,
    Export,
    Reply,
    Rerun,
    Resume,
    Turn,
    respond,
)
from causal_assistant.agent.datastore import private_dir, save_figures
from causal_assistant.agent.export import export_analysis
from causal_assistant.agent.graph import build_graph
from causal_assistant.agent.reasoners.offline import OfflineReasoner
from causal_assistant.agent.result import build_result
from causal_assistant.agent.state import RESET, WAITING_STAGES, AnalysisState, Stage
from causal_assistant.tools.estimate.estimators import spec_for

EventHandler = Callable[[str, Any], None]
_SAVERS: dict[Path, SqliteSaver] = {}
_SAVERS_LOCK = threading.Lock()


def checkpointer_for(settings: Settings) -> SqliteSaver:
    """One saver per database file per process; SQLite serialises the writers."""
    path = settings.checkpoint_path
    with _SAVERS_LOCK:
        if path not in _SAVERS:
            private_dir(path.parent)
            path.touch(mode=0o600)  # every thread of every user: for this user's eyes only
            connection = sqlite3.connect(path, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            _SAVERS[path] = SqliteSaver(connection, serde=strict_serializer())
        return _SAVERS[path]


def strict_serializer() -> JsonPlusSerializer:
    """Checkpoints hold plain JSON-able state only: no type named in a checkpoint is ever
    imported or called on load (the default would rebuild any object, so a tampered
    checkpoint could run code in the app), and no pickle."""
    return JsonPlusSerializer(
        pickle_fallback=False, allowed_json_modules=None, allowed_msgpack_modules=None
    )


def make_reasoner(settings: Settings):
    """The LLM reasoner when an endpoint is configured and allowed, else the offline one."""
    offline = OfflineReasoner()
    if not settings.use_llm:
        return offline
    from causal_assistant.agent.reasoners.llm import LLMReasoner

    return LLMReasoner(settings, fallback=offline)


def _said(role: str, content: str, **extra: Any) -> dict:
    return {"role": role, "content": content, **{k: v for k, v in extra.items() if v}}


def make_router(settings: Settings):
    """The LLM router for free-text messages when an endpoint is configured, else None."""
    if not settings.use_llm:
        return None
    from causal_assistant.agent.router import LLMRouter

    return LLMRouter(settings)


class Session:
    def __init__(
        self,
        settings: Settings | None = None,
        thread_id: str | None = None,
        reasoner=None,
        router=None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.thread_id = thread_id or uuid.uuid4().hex
        self.context = AgentContext(self.settings, reasoner or make_reasoner(self.settings))
        self.router = router or make_router(self.settings)
        self.graph = build_graph(self.context, checkpointer_for(self.settings))
        self.config = {"configurable": {"thread_id": self.thread_id}}
        self._exported: dict[str, tuple[str, dict[str, Path], list[tuple[int, int] | None]]] = {}

    def start(
        self,
        data_path: str | Path,
        *,
        question: str | None = None,
        treatment: str | None = None,
        outcome: str | None = None,
        target: str | None = None,
        method: str | None = None,
        graph_text: str | None = None,
        context: str | None = None,
        seed: int = 0,
        auto_approve: bool = False,
        design_request: dict | None = None,
        on_event: EventHandler | None = None,
        by: str | None = None,
        proxies: dict | None = None,
    ) -> dict:
        """Run a new analysis from intake until it finishes or needs the user.

        ``design_request`` is the user's study design: ``{"kind": "auto" or a design kind,
        "columns": {"instruments": [...], "unit": ..., ...}}`` (DesignColumns fields)."""
        inputs = {
            "data_path": str(data_path),
            "question": question,
            "treatment": treatment,
            "outcome": outcome,
            "target": target,
            "method": method,
            "graph_text": graph_text,
            "context": context,
            "seed": seed,
            "auto_approve": auto_approve,
            "design_request": design_request,
            "by": by,
            "proxies": proxies,
            "entry": Stage.INTAKE.value,
            "error": None,
            "choices": None,
            # a new analysis replaces everything the previous one in this thread made
            **dict.fromkeys(
                (
                    "dataset",
                    "graph",
                    "roles",
                    "study_design",
                    "modeling",
                    "critique",
                    "identification",
                    "estimation",
                    "refutation",
                    "bounds",
                    "proximal",
                    "hidden_bounds",
                    "stage",
                )
            ),
            "stage_warnings": {RESET: True},
            "timings_s": {RESET: True},
            "stage_code": {RESET: True},
            "custom_code": [RESET],
            "proposed_code": None,
            "adjustment": None,
            "design": spec_for(method).estimand if method else None,
            "messages": [_said("user", question or f"Analyse {Path(data_path).name}")],
        }
        return self._run(inputs, on_event)

    def resume(
        self, answer: Any, on_event: EventHandler | None = None, user_text: str | None = None
    ) -> dict:
        """Answer the question the analysis stopped at (e.g. approve the graph)."""
        if user_text:
            self.graph.update_state(self.config, {"messages": [_said("user", user_text)]})
        return self._run(Command(resume=answer), on_event)

    def rerun(
        self,
        entry: Stage | str,
        on_event: EventHandler | None = None,
        user_text: str | None = None,
        **changes: Any,
    ) -> dict:
        """Go back to a stage with changed inputs and run on from there."""
        said = [_said("user", user_text)] if user_text else []
        return self._run(
            {
                **changes,
                "entry": Stage(entry).value,
                "error": None,
                "choices": None,
                "messages": said,
            },
            on_event,
        )

    def proceed(self, on_event: EventHandler | None = None) -> dict:
        """Continue from the last checkpoint, e.g. after the process died mid-analysis."""
        return self._run(None, on_event)

    def send(self, text: str, on_event: EventHandler | None = None) -> dict:
        """Answer one chat message: a question, an edit, a re-run, code to run, or export."""
        intent = parse_command(text)
        if intent.kind == "unknown" and self.router is not None:
            intent = self.router.route(text, self.values, self.pending())
            if intent.kind == "run_code":  # the LLM wrote it: shown first, run on request
                intent = intent.model_copy(update={"args": {**intent.args, "by_llm": True}})
        turn = Turn(self.state, self.pending(), self.context, self.figures_dir())
        return self.apply(respond(turn, intent), text, on_event)

    def apply(self, action: Action, text: str, on_event: EventHandler | None = None) -> dict:
        """Carry out what the conversation decided for the message ``text``."""
        match action:
            case Resume(answer=answer):
                return self.resume(answer, on_event, user_text=text)
            case Rerun(entry=entry, changes=changes):
                return self.rerun(entry, on_event, user_text=text, **changes)
            case Export():
                written = self.export(self.export_dir())
                files = [str(p) for p in written.values()]
                return self.record(text, f"Exported {', '.join(sorted(written))}.", files=files)
            case Reply(text=reply, extra=extra):
                return self.record(text, reply, **extra)
        raise TypeError(f"not a conversation action: {action!r}")

    def record(self, user_text: str, reply: str, **extra: Any) -> dict:
        """Keep a question and its answer in the conversation without running a stage."""
        custom = extra.pop("custom_code", None)
        proposal = {"proposed_code": extra.pop("proposed_code")} if "proposed_code" in extra else {}
        update: dict = {
            "messages": [_said("user", user_text), _said("assistant", reply, **extra)],
            **proposal,
        }
        if custom:
            update["custom_code"] = custom
        self.graph.update_state(self.config, update)
        return self.values

    @property
    def cancelled(self) -> bool:
        return self.context.cancelled.is_set()

    def cancel(self) -> None:
        """The user left or pressed Stop: stop the running analysis at its next stage or
        progress step and refuse any later run of this object, so an abandoned chat does not
        keep a core busy (the UI resumes the thread from its checkpoint in a new Session)."""
        self.context.cancelled.set()

    def _run(self, payload: Any, on_event: EventHandler | None) -> dict:
        handler = on_event
        # "sync" durability: each stage's checkpoint is on disk before the next stage starts,
        # so a killed process loses at most the stage it was running.
        for mode, event in self.graph.stream(
            payload, self.config, durability="sync", stream_mode=["updates", "custom", "tasks"]
        ):
            self.context.check_cancelled()
            if handler:
                handler(mode, event)
        return self.values

    @property
    def values(self) -> dict:
        """The state as a plain dict, for the UI to read."""
        return dict(self.graph.get_state(self.config).values)

    @property
    def state(self) -> AnalysisState:
        """The state as the stages type it."""
        # the graph is built on AnalysisState; LangGraph types a snapshot's values as a dict
        return cast(AnalysisState, self.values)

    def pending(self) -> dict | None:
        """What the analysis is waiting for the user to answer, if anything.

        Rebuilt from the node the thread is paused at rather than read from the interrupt,
        because a question answered meanwhile (a state update) hides the interrupt value.
        """
        from causal_assistant.agent.stages import waiting_question

        snapshot = self.graph.get_state(self.config)
        for node in snapshot.next:
            if node in WAITING_STAGES:
                return waiting_question(Stage(node), snapshot.values)
        return None

    def model_data(self):
        """The prepared frame behind the current analysis (for plots the UI draws)."""
        return self.context.model_data(self.state)

    def figures_dir(self) -> Path:
        return self.settings.home / "figures" / self.thread_id

    def save_figures(self, pngs_base64: list[str]) -> list[str]:
        """Keep sandbox figures as files; state holds only their paths."""
        return save_figures(self.figures_dir(), pngs_base64)

    def export_dir(self) -> Path:
        return self.settings.home / "exports" / self.thread_id

    def result(self) -> dict:
        return build_result(self.state)

    def export(
        self,
        out_dir: str | Path,
        timings: dict[str, float] | None = None,
        started: float | None = None,
    ) -> dict[str, Path]:
        """Write result.json, analysis.py, analysis.ipynb and report.md into ``out_dir``,
        once per result: asked again for the same result and folder (each chat answer
        offers the files), the files already written are returned as they are.

        ``timings`` (start-up, checkpoints) join the stages' in result.json, with the
        export's own seconds and, given ``started`` (a ``perf_counter`` reading), the total.
        """
        values = self.state
        result = build_result(values)
        key = json.dumps(
            [str(out_dir), result, values.get("stage_code"), values.get("custom_code")],
            sort_keys=True,
            default=str,
        )
        cached = self._exported.get(str(out_dir))
        if cached and cached[0] == key and cached[2] == _stamp(cached[1]):
            return cached[1]
        result["timings_s"].update({k: round(v, 4) for k, v in (timings or {}).items()})
        written = export_analysis(values, result, Path(out_dir), started=started)
        self._exported[str(out_dir)] = (key, written, _stamp(written))
        return written


def _stamp(written: dict[str, Path]) -> list[tuple[int, int] | None]:
    """Which file versions an export left: another export into the same folder (another
    thread's, or this one's before a re-run) replaces them, and then the cache is stale."""
    stamps: list[tuple[int, int] | None] = []
    for path in written.values():
        try:
            info = path.stat()
        except OSError:
            stamps.append(None)
            continue
        stamps.append((info.st_ino, info.st_mtime_ns))
    return stamps
