"""The chat app in a real browser: upload, ask, approve, see the estimate, download, rerun.

The app is started the way a user starts it (``causal-assistant chat``), offline, and driven
with Debian's Chromium through Playwright. The downloaded zip's ``analysis.py`` must print the
estimate the chat showed, and two simultaneous browser sessions must not see each other's
data or messages. Screenshots go to ``tests/artifacts/`` for a human to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from make_example import make_training

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "Does treat raise earnings_after?"
# Small samples keep the bootstrap intervals quick on two cores; the analysis is the same.
ROWS = 300
START_TIMEOUT_S = 120
GRAPH_TIMEOUT_MS = 90_000
ANSWER_TIMEOUT_MS = 240_000


def _need_browser() -> None:
    """Browser tests need Chromium and Playwright: in CI their absence is a failure (the
    setup line installs them), on a laptop it is a skip."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing (pip install -e '.[dev]')"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command() -> list[str]:
    script = Path(sys.executable).with_name("causal-assistant")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "causal_assistant.ui.cli"]


@contextlib.contextmanager
def _chat_app(home: Path, **extra_env: str) -> Iterator[str]:
    """``causal-assistant chat`` on a free port with its own home; yields the address."""
    log_path = home / "chat.log"
    env = {
        **os.environ,
        "CAUSAL_ASSISTANT_HOME": str(home),
        "CAUSAL_ASSISTANT_LLM": "off",
        "CAUSAL_ASSISTANT_REFUTATION_BUDGET": "5",
        "PYTHONUNBUFFERED": "1",
    }
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CHAINLIT_AUTH_SECRET",
        "CAUSAL_ASSISTANT_USERS",
        "DATABASE_URL",
        "LITERAL_API_KEY",
    ):
        env.pop(name, None)
    env.update(extra_env)
    port = _free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*_command(), "chat", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=home,
            start_new_session=True,
        )
    try:
        yield _wait_for_address(process, log_path)
    finally:
        if process.poll() is None:  # the CLI and the Chainlit server it started
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / f"{home.name}.log")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    _need_browser()
    with _chat_app(tmp_path_factory.mktemp("chat-home")) as url:
        yield url


def _wait_for_address(process: subprocess.Popen, log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = re.search(r"serving at (http://\S+)", log_path.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.25)
    pytest.fail(
        "the chat app did not print its address:\n" + log_path.read_text(errors="replace")[-3000:]
    )


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open_chat(browser, url: str):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(url)
    # The starters are enabled once the websocket session exists; an upload before that
    # is refused by the server ("Session not found").
    page.locator("#starters button:enabled").first.wait_for(timeout=60_000)
    return context, page


def _send(page, text: str, attachment: Path | None = None) -> None:
    """Type (and optionally attach) and send, as a user would from the composer."""
    if attachment is not None:
        page.set_input_files("#upload-button-input", str(attachment))
        page.locator("#attachments").get_by_text(attachment.name).wait_for(timeout=30_000)
    page.locator("#chat-input").fill(text)
    submit = page.locator("#chat-submit")
    deadline = time.monotonic() + 30
    while submit.is_disabled() and time.monotonic() < deadline:  # upload still running
        time.sleep(0.2)
    submit.click()


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _chat_text(page) -> str:
    return page.locator("body").inner_text()


def _last_message_with(page, text: str) -> str:
    """The inner text of the last chat message containing ``text``."""
    found = page.locator("div.step", has_text=text)
    return found.last.inner_text()


def test_upload_ask_approve_and_download_reproducing_script(app_url, browser, tmp_path):
    data = tmp_path / "training.csv"
    make_training(n=ROWS).to_csv(data, index=False)
    context, page = _open_chat(browser, app_url)
    try:
        _send(page, QUESTION, attachment=data)
        approve = page.get_by_role("button", name="Approve graph")
        approve.wait_for(timeout=GRAPH_TIMEOUT_MS)
        text = _chat_text(page)
        assert f"{ROWS} rows" in text, "the dataset profile is shown"
        assert page.locator("img[alt='causal graph']").count() >= 1, "the graph is drawn"
        _shot(page, "01_graph_proposed.png")

        approve.click()
        exact = page.get_by_text(re.compile(r"Exact value:"))
        exact.first.wait_for(timeout=ANSWER_TIMEOUT_MS)
        found = re.search(r"Exact value:\s*`?(-?[\d.]+(?:e[-+]?\d+)?)", _chat_text(page))
        assert found, "the answer states the estimate to full precision"
        shown = float(found.group(1))
        assert "Caveats" in _chat_text(page)
        link = page.locator("a[download='analysis.zip']").first
        link.wait_for(timeout=30_000)
        # Chainlit scrolls inside the page, so a tall window is what captures the answer.
        page.set_viewport_size({"width": 1280, "height": 2400})
        page.wait_for_timeout(1500)  # let the plots finish loading for the screenshot
        page.get_by_role("heading", name="Effect of treat on earnings_after").evaluate(
            "heading => heading.scrollIntoView({block: 'start'})"
        )
        page.wait_for_timeout(500)
        _shot(page, "02_answer.png")

        with page.expect_download() as download_info:
            link.click()
        bundle, unzipped = tmp_path / "analysis.zip", tmp_path / "unzipped"
        download_info.value.save_as(bundle)
        zipfile.ZipFile(bundle).extractall(unzipped)  # the zip carries the data beside it
        run = subprocess.run(
            [sys.executable, "analysis.py"],
            cwd=unzipped,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        printed = re.search(r"estimate:\s*(\S+)", run.stdout)
        assert printed, run.stdout
        assert abs(float(printed.group(1)) - shown) <= 1e-6
    finally:
        context.close()


def test_plain_words_then_a_column_picked_from_the_buttons(app_url, browser, tmp_path):
    """A question that names the outcome only loosely: the chat offers the candidate
    columns as buttons, one click settles it and the analysis goes on to the graph."""
    data = tmp_path / "training.csv"
    make_training(n=ROWS).to_csv(data, index=False)
    context, page = _open_chat(browser, app_url)
    try:
        _send(page, "Does the training programme change anything?", attachment=data)
        page.get_by_text("Which column is the").first.wait_for(timeout=GRAPH_TIMEOUT_MS)
        _shot(page, "03_choose_column.png")
        page.get_by_role("button", name="earnings_after", exact=True).first.click()
        page.get_by_role("button", name="Approve graph").wait_for(timeout=GRAPH_TIMEOUT_MS)
        approval = _chat_text(page).split("Which column is the")[-1]
        assert "the effect of treat on earnings_after" in approval
    finally:
        context.close()


def test_two_browser_sessions_do_not_share_data_or_messages(app_url, browser, tmp_path):
    alpha = tmp_path / "alpha_trial.csv"
    make_training(n=300, seed=1).to_csv(alpha, index=False)
    beta = tmp_path / "beta_cohort.csv"
    renamed = {"treat": "programme", "earnings_after": "wage_later", "age": "years_old"}
    make_training(n=300, seed=2).rename(columns=renamed).to_csv(beta, index=False)

    first, page_a = _open_chat(browser, app_url)
    second, page_b = _open_chat(browser, app_url)
    try:
        # A attaches the file to the question; B asks first and is asked for the file.
        _send(page_a, QUESTION, attachment=alpha)
        _send(page_b, "Does programme raise wage_later?")
        page_b.locator("#ask-button-input").wait_for(state="attached", timeout=30_000)
        page_b.set_input_files("#ask-button-input", str(beta))
        for page in (page_a, page_b):
            page.get_by_role("button", name="Approve graph").wait_for(timeout=GRAPH_TIMEOUT_MS)
        text_a, text_b = _chat_text(page_a), _chat_text(page_b)
        _shot(page_a, "03_session_a.png")
        _shot(page_b, "04_session_b.png")
    finally:
        first.close()
        second.close()
    assert "alpha_trial.csv" in text_a and "earnings_after" in text_a
    assert "beta_cohort.csv" in text_b and "wage_later" in text_b
    for leaked in ("beta_cohort", "wage_later", "programme", "years_old"):
        assert leaked not in text_a
    for leaked in ("alpha_trial", "earnings_after", QUESTION):
        assert leaked not in text_b


def test_password_login_and_resuming_a_conversation(browser, tmp_path_factory, tmp_path):
    """With CHAINLIT_AUTH_SECRET set only listed users get in, and a signed-in user can
    reopen a conversation later and carry on where the analysis stopped."""
    pytest.importorskip("sqlalchemy", reason="chat history needs SQLAlchemy")
    data = tmp_path / "training.csv"
    make_training(n=300).to_csv(data, index=False)
    home = tmp_path_factory.mktemp("auth-home")
    env = {
        "CHAINLIT_AUTH_SECRET": "test-secret-" + "x" * 40,
        "CAUSAL_ASSISTANT_USERS": "alice:wonderland,bob:builder",
    }
    with _chat_app(home, **env) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        try:
            _login(page, url, "alice", "wrong password")
            refused = page.get_by_text(re.compile("unable to sign in", re.I))
            refused.first.wait_for(timeout=15_000)
            assert "/login" in page.url
            _login(page, url, "alice", "wonderland")
            page.locator("#starters button:enabled").first.wait_for(timeout=60_000)
            _send(page, QUESTION, attachment=data)
            page.get_by_role("button", name="Approve graph").wait_for(timeout=GRAPH_TIMEOUT_MS)
            page.wait_for_url(re.compile(r"/thread/"), timeout=15_000)
            thread_url = page.url
        finally:
            context.close()  # the browser session ends; the conversation is kept

        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        try:
            _login(page, url, "alice", "wonderland")
            page.locator("#chat-input").wait_for(timeout=60_000)
            page.get_by_text(QUESTION).first.wait_for(timeout=15_000)  # in the history
            page.goto(thread_url)
            approve = page.get_by_role("button", name="Approve graph")
            approve.wait_for(timeout=30_000)
            assert page.locator("img[alt='causal graph']").count() >= 1
            _shot(page, "05_resumed.png")
            assert approve.count() == 1, "one snapshot of the analysis, not one per resume"
        finally:
            context.close()


def _login(page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.locator("#email").wait_for(timeout=30_000)
    page.fill("#email", user)
    page.fill("#password", password)
    page.keyboard.press("Enter")
