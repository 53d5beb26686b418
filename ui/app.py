"""The Chainlit app: renders the agent's state and forwards chat, uploads and clicks.

No analysis logic lives here: every turn goes through ``agent.session.Session`` (one per
browser session, kept in ``cl.user_session`` so two users never share an analysis), and
everything shown is built by ``ui.render`` from the state the turn returns. The agent runs
in a worker thread; its stage and progress events come back through an asyncio queue so
each stage appears as a step, and the refuters' progress as live bars, while it runs.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.config import SpontaneousFileUploadFeature, config
from chainlit.context import local_steps
from chainlit.types import ThreadDict
from chainlit.utils import utc_now

from causal_assistant.agent.config import Settings
from causal_assistant.agent.context import RunCancelled
from causal_assistant.agent.datastore import private_dir, write_private
from causal_assistant.agent.session import Session
from causal_assistant.agent.state import Stage
from causal_assistant.agent.views import AnalysisView
from causal_assistant.tools.data.context import clean_context, is_description, read_context
from causal_assistant.tools.errors import InputError
from causal_assistant.ui import guard, render

log = logging.getLogger("causal_assistant.ui")

SETTINGS = Settings.from_env()
APP_NAME = "Causal Assistant"
EXAMPLE_DATA = Path(__file__).with_name("public") / "training.csv"
EXAMPLE_QUESTION = "Does treat raise earnings_after?"
EXAMPLE_PROMPT = f"{EXAMPLE_QUESTION} (use the example dataset)"
OWN_DATA_PROMPT = "I want to analyse my own data."
HELP_PROMPT = "What can you do?"
PROGRESS_INTERVAL_S = 0.3
STAGE_TICK_S = 0.5
RESUME_DELAY_S = 0.5
ASK_TIMEOUT_S = 900
_BACKGROUND: set[asyncio.Task] = set()
README = f"""# {APP_NAME}

Upload a table (CSV, TSV, Parquet or Excel) and ask a causal question such as
*does treat raise earnings_after?* The assistant walks DoWhy's four stages — **model,
identify, estimate, refute** — shows each as a step, asks you to approve the causal graph,
and gives you `analysis.py`, `analysis.ipynb` and `report.md` that reproduce every number.

Uploads are limited to {SETTINGS.max_upload_mb} MB. Type `help` at any point for the
commands (edit the graph, ask *why*, change the estimator, export).
"""
HELP = (
    "Attach a dataset (CSV, TSV, Parquet or Excel, up to "
    f"{SETTINGS.max_upload_mb} MB) to a message that asks your question, for example "
    f"*{EXAMPLE_QUESTION}* — or type *example* to try the bundled one. I will profile "
    "the data, "
    "propose a causal graph for you to approve or edit, estimate the effect with an "
    "interval and alternatives, stress-test it, and give you a script that reproduces it. "
    "Once a dataset is loaded, type `help` for every command."
)


PUBLIC = Path(__file__).with_name("public")
PUBLIC_ASSETS = (
    "logo_light.svg",
    "logo_dark.svg",
    "favicon.svg",
    "causal.css",
    f"elements/{render.GRAPH_ELEMENT}.jsx",
)
WELCOME = [
    f"{APP_NAME} answers “does X cause Y, and by how much?” from a table of data.",
    "Upload a CSV, TSV, Parquet or Excel file (up to "
    f"{SETTINGS.max_upload_mb} MB) with your question, for example “{EXAMPLE_QUESTION}”. "
    "I propose a causal graph for you to approve or edit, estimate the effect with an "
    "interval, stress-test it, and give you a script that reproduces every number. "
    "No data? Try the example dataset below.",
]


def disclaimer(settings: Settings) -> str:
    """The line under the message box: none when no LLM is configured (every answer then
    comes from tested code), one line naming the model when one is."""
    if not settings.use_llm:
        return ""
    return (
        f"An LLM ({settings.model}) helps read questions and propose graphs and can be "
        "wrong; every number comes from the data."
    )


def _configure_chainlit() -> None:
    """Settings Chainlit would otherwise read from a generated config.toml, set here so the
    upload limit follows CAUSAL_ASSISTANT_MAX_UPLOAD_MB and nothing needs committing; the
    logo, styles, welcome and disclaimer go into the app root Chainlit serves them from."""
    config.ui.name = APP_NAME
    config.ui.description = "Does X cause Y, and by how much?"
    config.ui.cot = "full"
    config.ui.default_theme = "light"
    config.ui.language = "en-US"  # the app speaks English; one translation file to adjust
    config.ui.custom_css = "/public/causal.css"
    config.ui.custom_js = "/public/welcome.js"
    config.features.spontaneous_file_upload = SpontaneousFileUploadFeature(
        enabled=True, accept=render.upload_accept(), max_files=2, max_size_mb=SETTINGS.max_upload_mb
    )
    root = Path(config.root)
    readme = root / "chainlit.md"
    try:
        if not readme.exists() or "Welcome to Chainlit!" in readme.read_text(encoding="utf-8"):
            readme.write_text(README, encoding="utf-8")
        public = root / "public"
        public.mkdir(exist_ok=True)
        for name in PUBLIC_ASSETS:
            (public / name).parent.mkdir(exist_ok=True)
            (public / name).write_bytes((PUBLIC / name).read_bytes())
        script = (PUBLIC / "welcome.js").read_text(encoding="utf-8")
        welcome = script.replace("__WELCOME__", json.dumps(WELCOME, ensure_ascii=False))
        (public / "welcome.js").write_text(welcome, encoding="utf-8")
        _set_disclaimer(root / ".chainlit" / "translations" / "en-US.json", disclaimer(SETTINGS))
    except OSError:  # a read-only app root keeps Chainlit's own welcome, logo and text
        log.warning("could not write the app's assets under %s", root, exc_info=True)


def _set_disclaimer(path: Path, text: str) -> None:
    """Chainlit's footer line ('LLMs can make mistakes...') is its ``chat.watermark``."""
    if not path.is_file():
        return
    translation = json.loads(path.read_text(encoding="utf-8"))
    translation.setdefault("chat", {})["watermark"] = text
    path.write_text(json.dumps(translation, indent=2, ensure_ascii=False), encoding="utf-8")


_configure_chainlit()


# --------------------------------------------------------------------------- login


def allowed_users(spec: str | None) -> dict[str, str]:
    """``user:password,user2:password2`` (CAUSAL_ASSISTANT_USERS) as a mapping."""
    users = {}
    for item in (spec or "").split(","):
        name, sep, password = item.strip().partition(":")
        if sep and name.strip() and password:
            users[name.strip()] = password
    return users


def check_password(users: dict[str, str], username: str, password: str) -> bool:
    """Constant-time comparison, also for unknown users, so timing reveals no names."""
    expected = users.get(username)
    matched = hmac.compare_digest((expected or "\0invalid").encode(), password.encode())
    return expected is not None and matched


if SETTINGS.login:

    @cl.password_auth_callback
    async def password_login(username: str, password: str) -> cl.User | None:
        """Shared deployments: only the users listed in CAUSAL_ASSISTANT_USERS get in."""
        if check_password(allowed_users(SETTINGS.users), username, password):
            return cl.User(identifier=username, metadata={"provider": "credentials"})
        return None


# --------------------------------------------------------------------------- history

# Chainlit's SQLAlchemy data layer expects these tables; this is its documented schema in
# SQLite's dialect (JSON and arrays are stored as text). Tags stay unset by this app.
CHAINLIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS users ("id" TEXT PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE,
    "metadata" TEXT NOT NULL, "createdAt" TEXT);
CREATE TABLE IF NOT EXISTS threads ("id" TEXT PRIMARY KEY, "createdAt" TEXT, "name" TEXT,
    "userId" TEXT, "userIdentifier" TEXT, "tags" TEXT, "metadata" TEXT,
    FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS steps ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL,
    "type" TEXT NOT NULL, "threadId" TEXT NOT NULL, "parentId" TEXT, "streaming" BOOLEAN,
    "waitForAnswer" BOOLEAN, "isError" BOOLEAN, "metadata" TEXT, "tags" TEXT, "input" TEXT,
    "output" TEXT, "createdAt" TEXT, "command" TEXT, "start" TEXT, "end" TEXT,
    "generation" TEXT, "showInput" TEXT, "language" TEXT, "indent" INT,
    "defaultOpen" BOOLEAN, "autoCollapse" BOOLEAN, "modes" TEXT, "icon" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS elements ("id" TEXT PRIMARY KEY, "threadId" TEXT, "type" TEXT,
    "url" TEXT, "chainlitKey" TEXT, "name" TEXT NOT NULL, "display" TEXT, "objectKey" TEXT,
    "size" TEXT, "page" INT, "language" TEXT, "forId" TEXT, "mime" TEXT, "props" TEXT,
    "autoPlay" BOOLEAN, "playerConfig" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS feedbacks ("id" TEXT PRIMARY KEY, "forId" TEXT NOT NULL,
    "threadId" TEXT NOT NULL, "value" INT NOT NULL, "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
"""


def history_database(home: Path) -> Path:
    """The chat history database under CAUSAL_ASSISTANT_HOME, created on first use."""
    path = home / "chainlit.sqlite"
    private_dir(path.parent)
    path.touch(mode=0o600)
    with sqlite3.connect(path) as db:
        db.executescript(CHAINLIT_SCHEMA)
    return path


# Thread history needs a signed-in user, and Chainlit's Postgres layer wins when
# DATABASE_URL is set; otherwise conversations are kept in SQLite if SQLAlchemy is there.
if (
    SETTINGS.login
    and not SETTINGS.database_url
    and importlib.util.find_spec("sqlalchemy")
    and importlib.util.find_spec("aiosqlite")
):

    @cl.data_layer
    def sqlite_history():
        from chainlit.data.sql_alchemy import SQLAlchemyDataLayer

        return SQLAlchemyDataLayer(
            conninfo=f"sqlite+aiosqlite:///{history_database(SETTINGS.home)}"
        )


# --------------------------------------------------------------------------- sessions


def current_session() -> Session | None:
    """This browser's analysis; one cancelled (the socket dropped, or Stop was pressed) is
    picked up again from its checkpoint if the same browser session comes back."""
    session: Session | None = cl.user_session.get("session")
    if session is not None and session.cancelled:
        session = new_session(session.thread_id)
    return session


def new_session(thread_id: str | None = None) -> Session:
    """A fresh analysis thread for this browser session; its id is kept in the user
    session (JSON-safe, so Chainlit's data layer can persist it for resuming)."""
    session = Session(SETTINGS, thread_id=thread_id)
    cl.user_session.set("session", session)
    cl.user_session.set("analysis_thread", session.thread_id)
    return session


def _lock() -> asyncio.Lock:
    lock = cl.user_session.get("lock")
    if lock is None:
        lock = asyncio.Lock()
        cl.user_session.set("lock", lock)
    return lock


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    return [
        cl.Starter(label="Try the example dataset", message=EXAMPLE_PROMPT),
        cl.Starter(label="Analyse my own data", message=OWN_DATA_PROMPT),
        cl.Starter(label="What can you do?", message=HELP_PROMPT),
    ]


@cl.on_chat_start
async def on_chat_start() -> None:
    cl.user_session.set("session", None)
    _lock()


@cl.on_chat_end
async def on_chat_end() -> None:
    """The browser left: stop its running analysis rather than finish it for nobody."""
    session: Session | None = cl.user_session.get("session")
    if session is not None:
        session.cancel()


@cl.on_stop
async def on_stop() -> None:
    """The user pressed Stop: Chainlit drops the reply, and the analysis running in its
    worker thread stops at its next stage or progress step instead of finishing unseen. The
    next message picks the analysis up from its last checkpoint (``current_session``)."""
    session: Session | None = cl.user_session.get("session")
    if session is not None:
        session.cancel()


@cl.on_chat_resume
async def on_chat_resume(thread: ThreadDict) -> None:
    """Reattach the analysis (kept by the agent's own checkpointer) to a resumed thread.

    Chainlit replays the saved messages (text only: pictures, files and buttons are not
    stored) right after this hook returns, replacing whatever the hook sent; so the
    current picture of the analysis is sent just after that replay, and the snapshot sent
    at the previous resume is removed so snapshots do not pile up.
    """
    _lock()
    thread_id = cl.user_session.get("analysis_thread")
    if thread_id:
        new_session(thread_id)
        task = asyncio.create_task(_show_after_replay())
        _BACKGROUND.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(_BACKGROUND.discard)


async def _show_after_replay() -> None:
    await asyncio.sleep(RESUME_DELAY_S)
    session = current_session()
    if session is None:
        return
    previous = cl.user_session.get("snapshot_id")
    if previous:
        await cl.Message(content="", id=previous).remove()
    state = await cl.make_async(lambda: session.values)()
    view = AnalysisView.of(state)
    if not view.has_dataset:
        return
    ran = {Stage.ESTIMATION} if view.estimate is not None else {Stage.INTAKE}
    shown = await show_outcome(session, state, ran=ran, errors=[])
    cl.user_session.set("snapshot_id", shown.id if shown else None)


# --------------------------------------------------------------------------- uploads


async def store_upload(name: str, path: str, size: int | None) -> Path | None:
    """Copy an upload under CAUSAL_ASSISTANT_HOME with its own file name, or refuse it.

    Chainlit saves uploads under a random name with an extension guessed from the MIME
    type (a CSV sent as application/vnd.ms-excel becomes .xls), and deletes them when the
    browser session ends; the analysis and its exported script need a stable path whose
    extension says how to read it.
    """
    size = size if size is not None else Path(path).stat().st_size
    problem = render.upload_problem(name, size, SETTINGS.max_upload_mb)
    if problem:
        await cl.Message(content=render.neutralize(problem), author=APP_NAME).send()
        return None
    target = SETTINGS.home / "uploads" / uuid.uuid4().hex[:16] / render.safe_filename(name)
    return await cl.make_async(write_private)(Path(path), target)


async def ask_for_file() -> Path | None:
    answer = await cl.AskFileMessage(
        content="Which dataset should I use? Upload a CSV, TSV, Parquet or Excel file "
        f"(up to {SETTINGS.max_upload_mb} MB).",
        accept=render.upload_accept(),
        max_size_mb=SETTINGS.max_upload_mb,
        max_files=1,
        timeout=ASK_TIMEOUT_S,
        author=APP_NAME,
    ).send()
    if not answer:
        await cl.Message(
            content="No file arrived; attach one to a message whenever you are ready.",
            author=APP_NAME,
        ).send()
        return None
    return await store_upload(answer[0].name, answer[0].path, answer[0].size)


async def ask_for_question() -> str | None:
    answer = await cl.AskUserMessage(
        content="What would you like to know? For example: *does treat raise "
        "earnings_after?* or *effect of X on Y*.",
        timeout=ASK_TIMEOUT_S,
        author=APP_NAME,
    ).send()
    return (answer or {}).get("output") or None


# --------------------------------------------------------------------------- turns


class Turn:
    """Shows one agent run as it happens: a step for every stage still running after a
    second (with its elapsed time, and live bars while the refuters run), filled in with
    the stage's output when it finishes; then the outcome (replies, approval prompt or
    final answer)."""

    def __init__(self, state: dict) -> None:
        self.state = dict(state)
        self.initial = dict(state)
        self.ran: set[str] = set()
        self.shown: list[str] = []
        self.errors: list[str] = []
        self.progress: dict[str, float] = {}
        self.progress_step: cl.Step | None = None
        self.last_progress = 0.0
        self.running: dict[str, float] = {}
        self.live: dict[str, cl.Step] = {}

    async def handle(self, mode: str, event: Any) -> None:
        if mode == "custom" and isinstance(event, dict) and "progress" in event:
            await self.on_progress(event["progress"])
        elif mode == "tasks" and isinstance(event, dict) and event.get("name"):
            if "result" in event or "error" in event:
                self.running.pop(event["name"], None)
            elif not str(event["name"]).startswith("__"):
                self.running[event["name"]] = time.monotonic()
        elif mode == "updates" and isinstance(event, dict):
            for node, update in event.items():
                if not node.startswith("__"):
                    await self.on_stage(node, update or {})

    async def tick(self) -> None:
        """Every stage running for more than a second gets its step, with the seconds."""
        while True:
            await asyncio.sleep(STAGE_TICK_S)
            for stage, started in list(self.running.items()):
                elapsed = time.monotonic() - started
                if elapsed < 1.0 or (stage == "refutation" and self.progress_step is not None):
                    continue
                title = render.STAGE_TITLES.get(stage, stage.replace("_", " ").title())
                text = f"Running the {title.lower()}… {elapsed:.0f} s"
                step = self.live.get(stage)
                if step is None:
                    step = self.live[stage] = cl.Step(
                        name=title, type="tool", default_open=True, parent_id=_parent_id()
                    )
                    step.start, step.output = utc_now(), text
                    await step.send()
                elif step.output != text:
                    step.output = text
                    await step.update()

    async def finish(self) -> None:
        """A stage that stopped to wait for the user leaves no 'running' step behind."""
        for step in self.live.values():
            await step.remove()
        self.live.clear()

    async def on_progress(self, progress: dict) -> None:
        name, done = str(progress.get("refuter")), float(progress.get("done") or 0.0)
        # A new refuter or a finished one is always shown; in-between steps are throttled.
        milestone = name not in self.progress or done >= 1.0
        self.progress[name] = done
        if self.progress_step is None:
            live = self.live.pop(Stage.REFUTATION, None)
            self.progress_step = live or cl.Step(
                name=render.STAGE_TITLES[Stage.REFUTATION],
                type="tool",
                show_input=True,
                default_open=True,
                parent_id=_parent_id(),
            )
            self.progress_step.output = render.progress_markdown(self.progress)
            self.last_progress = time.monotonic()
            if live is not None:
                await live.update()
                return
            self.progress_step.start = utc_now()
            await self.progress_step.send()
            return
        if milestone or time.monotonic() - self.last_progress >= PROGRESS_INTERVAL_S:
            self.last_progress = time.monotonic()
            self.progress_step.output = render.progress_markdown(self.progress)
            await self.progress_step.update()

    async def on_stage(self, stage: str, update: dict) -> None:
        self.ran.add(stage)
        before = self.state
        self.state = {**self.state, **{k: v for k, v in update.items() if k != "messages"}}
        if update.get("error"):
            self.errors.append(update["error"])
        self.shown += [
            m["content"] for m in update.get("messages") or [] if m.get("role") == "assistant"
        ]
        self.running.pop(stage, None)
        live = self.live.pop(stage, None)
        view = await cl.make_async(render.stage_view)(stage, update, before)
        if view is None:
            if live is not None:
                await live.remove()
            return
        images: list[cl.Element] = [picture_element(p) for p in view.pictures]
        if stage == Stage.REFUTATION and self.progress_step is not None:
            step, self.progress_step = self.progress_step, None
        elif live is not None:
            step = live
            step.show_input = True
        else:
            step = cl.Step(
                name=view.title,
                type="tool",
                show_input=True,
                default_open=stage == Stage.INTAKE,
                parent_id=_parent_id(),
            )
            step.start = utc_now()
        step.input = view.input
        step.output = view.output
        step.elements = images
        step.end = utc_now()
        step.is_error = bool(update.get("error"))
        if step.persisted:
            await step.update()
        else:
            await step.send()


def _parent_id() -> str | None:
    """The step Chainlit nests this turn's messages under (the user's message); steps must
    share it, or the browser shows them after the turn's replies instead of before."""
    steps = local_steps.get() or []
    return steps[-1].id if steps else None


def picture_element(picture: render.Picture) -> cl.Image:
    if picture.png is not None:
        return cl.Image(
            name=picture.name, content=picture.png, display="inline", size="large", mime="image/png"
        )
    return cl.Image(name=picture.name, path=picture.path, display="inline", size="large")


def action_elements(state: dict, pending: dict | None) -> list[cl.Action]:
    """The buttons, with ids the app's style sheet (public/causal.css) draws as buttons."""
    return [
        cl.Action(
            id=f"ca-action-{b.name}-{uuid.uuid4().hex[:12]}",
            name=b.name,
            label=b.label,
            payload=b.payload,
            tooltip=b.tooltip,
            icon=b.icon,
        )
        for b in render.buttons_for(state, pending)
    ]


async def run_turn(
    session: Session, call: Callable[..., dict], *args: Any, **kwargs: Any
) -> dict | None:
    """Run one agent call in a worker thread while its events are rendered here."""
    lock = _lock()
    if lock.locked():
        await cl.Message(
            content="Still working on the previous request; wait for it to finish.", author=APP_NAME
        ).send()
        return None
    async with lock:
        initial = await cl.make_async(lambda: session.values)()
        n_before = len(initial.get("messages") or [])
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()

        def on_event(mode: str, event: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (mode, event))

        work = asyncio.ensure_future(cl.make_async(call)(*args, on_event=on_event, **kwargs))
        turn = Turn(initial)
        ticker = asyncio.ensure_future(turn.tick())
        while True:
            getter = asyncio.ensure_future(events.get())
            done, _ = await asyncio.wait({work, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await turn.handle(*getter.result())
                continue
            getter.cancel()
            while not events.empty():
                await turn.handle(*events.get_nowait())
            break
        ticker.cancel()
        await turn.finish()
        try:
            state = work.result()
        except RunCancelled:  # the user left; there is nobody to tell
            log.info("analysis %s cancelled after its user left", session.thread_id)
            return None
        except Exception as exc:  # our fault: say so in one line and keep the trace in the log
            log.exception("agent turn failed")
            await cl.ErrorMessage(
                content=render.neutralize(f"Internal error: {type(exc).__name__}: {exc}"),
                author=APP_NAME,
            ).send()
            return None
        if turn.ran:  # the analysis moved on, so the old question's buttons are stale
            await clear_pending_buttons()
        for reply in render.new_replies((state.get("messages") or [])[n_before:], turn.shown):
            await send_reply(reply)
        await show_outcome(session, state, turn.ran, turn.errors, before=turn.initial)
        return state


async def send_reply(reply: dict) -> None:
    elements: list = [picture_element(p) for p in render.message_pictures(reply)]
    elements += [
        cl.File(name=p.name, path=str(p), display="inline") for p in render.message_files(reply)
    ]
    await cl.Message(
        content=render.message_markdown(reply), elements=elements, author=APP_NAME
    ).send()


async def clear_pending_buttons() -> None:
    """Approve/accept buttons answer one question; once a stage has run they go (a mere
    question such as 'why age?' leaves them in place)."""
    message: cl.Message | None = cl.user_session.get("buttons_message")
    if message is not None:
        cl.user_session.set("buttons_message", None)
        try:
            await message.remove_actions()
        except Exception:  # the browser may have gone; nothing to clean up then
            log.debug("could not remove actions", exc_info=True)


async def show_outcome(
    session: Session,
    state: dict,
    ran: set[str] | set[Stage],
    errors: list[str],
    before: dict | None = None,
) -> cl.Message | None:
    """After a run: the error, the question the analysis waits on, or the final answer;
    ``before`` is the state the run started from, so an edit can say what it changed."""
    view = AnalysisView.of(state)
    if errors and view.choices:
        return await show_choices(view.choices)
    for error in errors:
        await cl.Message(
            content=render.neutralize(f"**I had to stop:** {error}"), author=APP_NAME
        ).send()
    pending = await cl.make_async(session.pending)()
    if pending and ran & {
        Stage.MODELING,
        Stage.CRITIQUE,
        Stage.APPROVE_GRAPH,
        Stage.REFUTATION,
        Stage.REVIEW_REFUTATION,
        Stage.INTAKE,
    }:
        return await show_pending(state, pending, before)
    if view.estimate is not None and ran & {
        Stage.ESTIMATION,
        Stage.REFUTATION,
        Stage.REVIEW_REFUTATION,
        Stage.REPORT,
    }:
        return await show_answer(session, state)
    if view.bounds and Stage.REPORT in ran:  # not point-identified: bounds answer
        text, picture = await cl.make_async(render.bounds_answer)(state)
        message = cl.Message(content=text, elements=[picture_element(picture)], author=APP_NAME)
        await message.send()
        return message
    return None


async def show_choices(choices: dict[str, list[str]]) -> cl.Message:
    """Ask for one open role at a time, the candidate columns as buttons plus "other"."""
    role, columns = next(iter(choices.items()))
    actions = [
        cl.Action(name="choose_column", label=column, payload={"role": role, "column": column})
        for column in columns
    ]
    actions.append(cl.Action(name="choose_column", label="other", payload={"role": role}))
    message = cl.Message(
        content=f"Which column is the **{role}**?", actions=actions, author=APP_NAME
    )
    await message.send()
    cl.user_session.set("buttons_message", message)
    return message


async def show_pending(state: dict, pending: dict, before: dict | None = None) -> cl.Message:
    elements: list[cl.Element] = []
    if pending.get("kind") == Stage.APPROVE_GRAPH:
        picture = await cl.make_async(render.graph_picture)(state)
        elements = [picture_element(picture)] if picture else []
        props = await cl.make_async(render.graph_element_props)(state)
        if props:
            elements.append(await new_graph_element(props))
        elements.append(await new_provenance_element(state))
        content = render.approval_markdown(state, pending, before)
    else:
        content = "\n\n".join(
            [
                render.refutations_table(state.get("refutation") or {}),
                render.pending_prompt(pending),
            ]
        )
    message = cl.Message(
        content=content, elements=elements, actions=action_elements(state, pending), author=APP_NAME
    )
    await message.send()
    cl.user_session.set("buttons_message", message)
    return message


async def new_graph_element(props: dict) -> cl.CustomElement:
    """The clickable graph for a new approval message; the one shown before it is marked
    as an earlier version, so only the latest graph takes clicks."""
    previous: cl.CustomElement | None = cl.user_session.get("graph_element")
    if previous is not None:
        previous.props = {**previous.props, "stale": True}
        try:
            await previous.update()
        except Exception:  # the browser may have gone; the new graph is what matters
            log.debug("could not mark the earlier graph", exc_info=True)
    element = cl.CustomElement(name=render.GRAPH_ELEMENT, props=props)
    cl.user_session.set("graph_element", element)
    return element


async def new_provenance_element(state: dict) -> cl.Text:
    """The roles and edge provenance beside the chat, for a new approval message. Chainlit
    stacks every side element of the conversation in its side panel, earliest first, so
    after an edit the panel would open on the proposal's roles: the earlier one is removed
    (its graph is already marked as an earlier version)."""
    previous: cl.Text | None = cl.user_session.get("provenance_element")
    if previous is not None:
        try:
            await previous.remove()
        except Exception:  # the browser may have gone; the new panel is what matters
            log.debug("could not remove the earlier provenance", exc_info=True)
    element = cl.Text(name=render.PROVENANCE, content=render.graph_details(state), display="side")
    cl.user_session.set("provenance_element", element)
    return element


def _diagnostics(session: Session, state: dict) -> list[render.Picture]:
    """Overlap, balance and refuter pictures; a plot that cannot be drawn is left out
    rather than failing the answer it illustrates."""
    pictures: list[render.Picture] = []
    try:
        pictures += render.balance_pictures(session.model_data(), state)
    except Exception:
        log.warning("overlap/balance plots failed", exc_info=True)
    try:
        pictures += render.refuter_pictures(state)
    except Exception:
        log.warning("refuter plots failed", exc_info=True)
    return pictures


async def show_answer(session: Session, state: dict) -> cl.Message:
    result = await cl.make_async(session.result)()
    pictures = await cl.make_async(_diagnostics)(session, state)
    files = await export_files(session)
    message = cl.Message(
        content=render.final_answer(state, result),
        elements=[picture_element(p) for p in pictures] + files,
        actions=action_elements(state, None),
        author=APP_NAME,
    )
    await message.send()
    return message


async def export_files(session: Session) -> list[cl.File]:
    """The analysis bundle (analysis.zip) as a download, written from the current state so
    it matches what the chat shows (once per result: the session caches the export)."""
    try:
        written = await cl.make_async(session.export)(session.export_dir())
    except Exception as exc:
        log.exception("export failed")
        await cl.Message(
            content=render.neutralize(f"Could not export: {exc}"), author=APP_NAME
        ).send()
        return []
    return [
        cl.File(name=name, path=str(written[name]), display="inline")
        for name in render.EXPORT_FILES
        if name in written
    ]


# --------------------------------------------------------------------------- chat


@cl.on_message
async def on_message(message: cl.Message) -> None:
    text = (message.content or "").strip()
    description = _pasted_description(text)
    if description is not None:
        await keep_description(description)
        return
    stored_files = []
    for upload in message.elements or []:
        path, size = getattr(upload, "path", None), getattr(upload, "size", None)
        if not path:
            continue
        stored = await store_upload(upload.name, path, size if isinstance(size, int) else None)
        if stored is None:
            return
        stored_files.append(stored)
    tables, descriptions = [], []
    for stored in stored_files:
        if not await cl.make_async(is_description)(stored):
            tables.append(stored)
            continue
        try:
            descriptions.append(await cl.make_async(read_context)(stored))
        except InputError as exc:
            await cl.Message(content=render.neutralize(str(exc)), author=APP_NAME).send()
            return
    if descriptions:
        cl.user_session.set("context", "\n\n".join(descriptions))
    if tables:
        await start_analysis(tables[0], text or await ask_for_question())
    elif descriptions:
        await keep_description(cl.user_session.get("context"))
    if stored_files:
        return
    session = current_session()
    values = await cl.make_async(lambda: session.values)() if session else {}
    if session is None or not AnalysisView.of(values).has_dataset:
        await without_data(text)
        return
    await run_turn(session, session.send, text)


async def without_data(text: str) -> None:
    """Before any dataset: the example, help, or a question that needs a file."""
    if text == EXAMPLE_PROMPT or text.lower().strip(" .!") in (
        "example",
        "use the example",
        "try the example",
    ):
        await start_analysis(EXAMPLE_DATA, EXAMPLE_QUESTION)
        return
    if text == HELP_PROMPT or text.lower().strip(" ?!.") in ("help", "commands"):
        await cl.Message(content=HELP, author=APP_NAME).send()
        return
    stored = await ask_for_file()
    if stored is None:
        return
    question = text if text and text != OWN_DATA_PROMPT else await ask_for_question()
    await start_analysis(stored, question)


async def start_analysis(data_path: Path, question: str | None) -> None:
    """Every new dataset starts a new analysis thread, so nothing of an earlier one leaks
    into it; the user's description of the data (if any) goes with it."""
    session = new_session()
    await save_link()
    await run_turn(
        session, session.start, data_path, question=question, context=cl.user_session.get("context")
    )


DESCRIPTION_PREFIXES = ("context:", "about the data:", "codebook:", "description:")


def _pasted_description(text: str) -> str | None:
    """A message such as 'context: treat was randomly assigned ...' describes the data."""
    lowered = text.lower()
    prefix = next((p for p in DESCRIPTION_PREFIXES if lowered.startswith(p)), None)
    return clean_context(text[len(prefix) :]) if prefix else None


async def keep_description(description: str) -> None:
    """Keep the description for this chat; with a dataset loaded, re-run the analysis from
    the question so that the description informs the design, roles and graph."""
    cl.user_session.set("context", description)
    session = current_session()
    values = await cl.make_async(lambda: session.values)() if session else {}
    if session is not None and AnalysisView.of(values).has_dataset:
        await run_turn(
            session,
            session.rerun,
            Stage.QUESTION,
            user_text=f"(description of the data, {len(description)} characters)",
            context=description,
        )
    else:
        await cl.Message(
            content=f"Kept your description of the data ({len(description)} characters); "
            "now upload the data table and ask your question.",
            author=APP_NAME,
        ).send()


async def save_link() -> None:
    """Store the chat thread's link to its analysis now: Chainlit saves the user session
    only when the socket closes, which a crash or a killed server never does."""
    from chainlit.context import context
    from chainlit.data import get_data_layer
    from chainlit.socket import persist_user_session

    socket = context.session
    if get_data_layer() is None or not getattr(socket, "thread_id", None):
        return
    try:
        await persist_user_session(socket.thread_id, socket.to_persistable())
    except Exception:  # the history store is optional; the analysis runs without it
        log.warning("could not save the chat's link to its analysis", exc_info=True)


# --------------------------------------------------------------------------- buttons


async def _with_session(action: cl.Action) -> Session | None:
    session = current_session()
    if session is None:
        await cl.Message(
            content="There is no analysis in this chat yet; upload a dataset first.",
            author=APP_NAME,
        ).send()
    return session


@cl.action_callback("choose_column")
async def on_choose_column(action: cl.Action) -> None:
    role, column = action.payload.get("role"), action.payload.get("column")
    if role not in ("treatment", "outcome"):
        return
    if not column:
        await cl.Message(
            content=f"Type `{role} <column name>` with the column you mean.", author=APP_NAME
        ).send()
        return
    if session := await _with_session(action):
        await clear_pending_buttons()
        await run_turn(
            session, session.rerun, Stage.QUESTION, user_text=f"{role} {column}", **{role: column}
        )


@cl.action_callback("approve")
async def on_approve(action: cl.Action) -> None:
    if session := await _with_session(action):
        await run_turn(session, session.send, "approve")


@cl.action_callback("accept")
async def on_accept(action: cl.Action) -> None:
    if session := await _with_session(action):
        await run_turn(session, session.send, "accept")


@cl.action_callback("respecify")
async def on_respecify(action: cl.Action) -> None:
    if session := await _with_session(action):
        await run_turn(session, session.resume, {"action": "respecify"}, user_text="respecify")


@cl.action_callback("edit_graph")
async def on_edit(action: cl.Action) -> None:
    if session := await _with_session(action):
        state = await cl.make_async(lambda: session.values)()
        await cl.Message(content=render.edit_help(state), author=APP_NAME).send()


@cl.action_callback("export")
async def on_export(action: cl.Action) -> None:
    if session := await _with_session(action):
        files = await export_files(session)
        if files:
            await cl.Message(
                content="Here is the analysis as one zip: script, notebook, report, "
                "pictures and data; unzipped, `python analysis.py` reproduces the estimate.",
                elements=files,
                author=APP_NAME,
            ).send()


# --------------------------------------------------------------------------- web guard


def _install_guard() -> None:
    """Put ``ui.guard`` in front of Chainlit's routes and websocket before it serves.

    Without login the app answers only on loopback and only with the per-launch token the
    CLI passes in CAUSAL_ASSISTANT_CHAT_TOKEN (run straight under ``chainlit run``, the app
    makes its own and prints the address); a public host without login stops the start.
    """
    from chainlit.auth import require_login
    from chainlit.server import app as server

    login = require_login()
    problem = guard.public_host_problem(config.run.host, login)
    if problem:
        raise SystemExit(f"causal-assistant: {problem}")
    token = None
    if not login:
        # the CLI hands its per-launch token to this process in the environment
        token = os.environ.pop(guard.TOKEN_ENV, None)
        if not token:
            token = guard.new_token()
            print(
                f"{APP_NAME} answers at http://{config.run.host}:{config.run.port}/?token={token}",
                flush=True,
            )
    extra = SETTINGS.allowed_origins
    server.add_middleware(
        guard.OriginGuard,
        host=config.run.host,
        port=config.run.port,
        token=token,
        extra_origins=tuple(o.strip() for o in extra),
    )


if config.run.module_name:  # started by ``chainlit run``, not imported by a test
    _install_guard()
