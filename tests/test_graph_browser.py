"""The interactive graph in a real browser (issue 16): clicking the element's nodes and
edges sends the same edit commands as typing them, so the chat acknowledges the edit, the
approval message lists the warning it brings and the element is redrawn without the edge;
and a stage that runs for more than a second shows a live step while it runs.
Screenshots go to ``tests/artifacts/`` for a human to look at.
"""

from __future__ import annotations

import re

import pytest
from make_example import make_training

from tests import test_ui_browser as ui

# The chat app and the browser of the existing browser tests, started once for this module.
app_url, browser = ui.app_url, ui.browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Records every live "Running the <stage>… N s" step and refuter progress bar the page
# shows, however briefly: each is replaced by the stage's output when it finishes.
RECORD_RUNNING = """() => {
  window.__running = [];
  const live = /Running the [^\\n…]+… \\d+ s|[█░]+\\s+\\d+% [\\w ]+/g;
  new MutationObserver(() => {
    for (const found of document.body.innerText.matchAll(live)) {
      if (!window.__running.includes(found[0])) window.__running.push(found[0]);
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_clicks_in_the_graph_remove_a_confounder_edge_like_the_typed_command(
    app_url, browser, tmp_path
):
    data = tmp_path / "training.csv"
    # 40,000 rows so estimation runs about 3 s (0.4 s at 1,500): long enough for its live step
    make_training(n=40_000).to_csv(data, index=False)
    context, page = ui._open_chat(browser, app_url)
    try:
        page.evaluate(RECORD_RUNNING)
        ui._send(page, ui.QUESTION, attachment=data)
        page.get_by_role("button", name="Approve graph").wait_for(timeout=ui.GRAPH_TIMEOUT_MS)
        graph = page.get_by_test_id("causal-graph").last
        graph.wait_for(timeout=30_000)
        assert graph.locator('[data-edge="age -> treat"]').count() == 1
        legend = graph.locator(".ca-graph-legend").inner_text()
        for role in ("treatment", "outcome", "confounder"):
            assert role in legend, role
        assert page.locator("img[alt='causal graph']").count() >= 1, "the PNG stays too"
        # one node, then another that it already points to, picks that edge
        graph.locator('[data-node="age"]').click()
        assert "Arrow from age" in graph.inner_text()
        graph.locator('[data-node="treat"]').click()
        assert "Edge age → treat" in graph.inner_text()
        ui._shot(page, "17_graph_edge_chosen.png")
        graph.get_by_test_id("graph-remove").click()

        page.get_by_text("Your edit: removed the edge age → treat").wait_for(
            timeout=ui.GRAPH_TIMEOUT_MS
        )
        said = page.locator("[data-step-type='user_message']").last.inner_text()
        assert said.strip() == "remove edge age -> treat", "the click is the typed command"
        edited = ui._last_message_with(page, "Your edit:")
        assert "age is now an outcome predictor (was a confounder)" in edited
        assert "treat and age are independent" in edited, "the new warning is listed"
        assert edited.index("treat and age are independent") < edited.index("Approve graph")
        # Chainlit opens its side panel on every side element of the conversation, earliest
        # first: only the edited graph's roles may be there, not the proposal's as well
        panel = page.locator("#side-view-content")
        panel.filter(has_text="outcome_predictor").wait_for(timeout=15_000)
        assert panel.inner_text().count("Roles") == 1, "one provenance panel, the latest"
        redrawn = page.get_by_test_id("causal-graph").last
        redrawn.locator('[data-node="age"]').wait_for(timeout=30_000)
        assert redrawn.locator('[data-edge="age -> treat"]').count() == 0
        assert redrawn.locator('[data-edge="age -> earnings_after"]').count() == 1
        assert "outcome predictor" in redrawn.locator(".ca-graph-legend").inner_text()
        earlier = page.locator("[data-testid='causal-graph'][data-stale='true']")
        earlier.first.wait_for(timeout=15_000)
        assert earlier.count() == 1 and "earlier version" in earlier.inner_text()
        assert redrawn.get_attribute("data-stale") == "false", "only the latest takes clicks"
        redrawn.scroll_into_view_if_needed()
        ui._shot(page, "17_graph_after_click_edit.png")

        # a click the command path refuses (a cycle) is answered, and the graph stays live
        redrawn.locator('[data-node="earnings_after"]').click()
        redrawn.locator('[data-node="age"]').click()
        page.get_by_text(re.compile("cycle")).last.wait_for(timeout=30_000)
        said = page.locator("[data-step-type='user_message']").last.inner_text()
        assert said.strip() == "add edge earnings_after -> age"
        assert redrawn.get_attribute("data-stale") == "false"
        assert redrawn.locator('[data-edge="earnings_after -> age"]').count() == 0

        # estimation takes about 3 s on these rows; refutation reports its progress
        page.get_by_role("button", name="Approve graph").last.click()
        page.get_by_role("button", name="Accept with caveat").wait_for(timeout=ui.GRAPH_TIMEOUT_MS)
        running = page.evaluate("() => window.__running")
        assert any(re.fullmatch(r"Running the estimation… \d+ s", r) for r in running), running
        assert any(re.search(r"\d+% \w+", r) for r in running), "refuter progress bars"
    finally:
        context.close()
