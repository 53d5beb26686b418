"""The chat's decisions in a real browser (issue 16): the landing page, the approval
message that carries the assumptions and warnings, an edit that removes a confounder and
is acknowledged and redrawn, a plain why-answer, progress while stages run, and an answer
that leads with the number. Screenshots go to ``tests/artifacts/`` for a human to look at.
"""

from __future__ import annotations

import re

import pytest
from make_example import make_training

from tests import test_ui_browser as ui_browser
from tests.test_ui_browser import (
    ANSWER_TIMEOUT_MS,
    GRAPH_TIMEOUT_MS,
    QUESTION,
    _last_message_with,
    _open_chat,
    _send,
    _shot,
)

# The chat app and the browser of the existing browser tests, started once for this module.
app_url = ui_browser.app_url
browser = ui_browser.browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_landing_says_what_to_upload_with_logo_example_button_and_no_disclaimer(app_url, browser):
    context, page = _open_chat(browser, app_url)
    try:
        welcome = page.locator("#ca-welcome")
        welcome.wait_for(timeout=30_000)
        text = welcome.inner_text()
        assert "does X cause Y" in text and "CSV, TSV, Parquet or Excel" in text
        assert page.get_by_role("button", name=re.compile("Try the example dataset")).count() == 1
        logo = page.locator("#welcome-screen img").first
        assert "logo" in (logo.get_attribute("src") or "")
        assert page.evaluate("() => document.querySelector('#welcome-screen img').naturalWidth")
        served = page.request.get(app_url.split("?")[0] + "logo?theme=light")
        assert b"Causal Assistant" in served.body(), "our logo, not the framework's"
        assert "LLMs can make mistakes" not in page.locator("body").inner_text()
        _shot(page, "16_landing.png")
    finally:
        context.close()


def test_approval_edit_why_progress_and_answer(app_url, browser, tmp_path):
    """The approval message states the decision; removing the edge age -> treat is said,
    redrawn and brings the new warning into the approval message; 'why' is plain; an
    unchanged edit says why; the answer leads with number, naive comparison and caveats."""
    data = tmp_path / "training.csv"
    make_training(n=1500).to_csv(data, index=False)
    context, page = _open_chat(browser, app_url)
    try:
        _send(page, QUESTION, attachment=data)
        approve = page.get_by_role("button", name="Approve graph")
        approve.wait_for(timeout=GRAPH_TIMEOUT_MS)
        first = _last_message_with(page, "Proposed causal graph")
        for said in (
            "Confounders: age",
            "Adjustment set: age",
            "No hidden common cause",
            "Overlap",
            "No interference",
            "Warnings that could change the answer",
            "tested independences",
        ):
            assert said in first, said
        assert "Approve graph" in first and "Edit graph" in first, "buttons under the message"
        box = approve.bounding_box()
        assert box and box["height"] >= 36, "a clear button, not a small link"
        graph = page.locator("img[alt='causal graph']").last
        assert page.evaluate("(img) => img.naturalWidth", graph.element_handle()) > 300
        _shot(page, "16_approval.png")

        _send(page, "why age?")
        page.get_by_text("comparing units with the same age blocks that path").wait_for(
            timeout=60_000
        )
        why = _last_message_with(page, "comparing units with the same age")
        plain, evidence = why.split("Evidence")
        assert "backdoor path treat ← age → earnings_after" in plain
        assert "opens a backdoor" not in why
        assert "edge age → treat: data" in evidence, "the evidence comes after the words"

        _send(page, "remove edge age -> treat")
        page.get_by_text("Your edit: removed the edge age → treat").wait_for(
            timeout=GRAPH_TIMEOUT_MS
        )
        edited = _last_message_with(page, "Your edit:")
        assert "age is now an outcome predictor (was a confounder)" in edited
        assert "Confounders: age" not in edited and "Outcome predictors: age" in edited
        assert "graph data conflict" in edited and "treat and age are independent" in edited
        assert edited.index("treat and age are independent") < edited.index("Approve graph")
        _shot(page, "16_after_edit.png")

        page.get_by_role("button", name="Approve graph").last.click()
        # without age -> treat the graph falsification check fails and the chat asks
        accept = page.get_by_role("button", name="Accept with caveat")
        try:
            accept.wait_for(timeout=ANSWER_TIMEOUT_MS)
        finally:
            _shot(page, "16_refutation_review.png")
        accept.click()
        page.get_by_text(re.compile("Exact value:")).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
        answer = _last_message_with(page, "Exact value:")
        head = answer.split("Details")[0]
        assert re.search(r"-?[\d.]+ units of earnings_after \(treated minus untreated\)", head)
        assert head.index("95% interval") < head.index("Naive comparison")
        assert "Caveats that could change this conclusion" in head
        assert "graph falsification check failed" in head, "the failed check leads, once"
        assert answer.count("graph falsification check failed") == 1
        page.set_viewport_size({"width": 1280, "height": 2400})
        page.wait_for_timeout(1000)
        _shot(page, "16_answer.png")

        # after the answer an edit re-opens the graph; one that changes nothing says so
        _send(page, "mark region post-treatment")
        page.get_by_text("Your edit: marked region as post-treatment").wait_for(
            timeout=GRAPH_TIMEOUT_MS
        )
        marked = _last_message_with(page, "marked region as post-treatment")
        assert "Measured after the treatment (not adjusted for): region" in marked
        _send(page, "mark region post-treatment")
        page.get_by_text("Nothing changed: the graph already says that").wait_for(timeout=60_000)
        _send(page, "add edge age -> treat")
        page.get_by_text("Your edit: added the edge age → treat").wait_for(timeout=GRAPH_TIMEOUT_MS)

    finally:
        context.close()
