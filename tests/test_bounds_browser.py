"""An unidentified effect in a real browser (issue 15): the user marks the only confounder
unobserved, approves, and the chat ends with a range instead of a number — the bounds under
each set of assumptions, the assumptions named in words, and the bounds picture. The
no-assumption range shown must be the one ``bound_effect`` computes from the same data.
Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.identify.bounds import bound_effect, format_effect
from tests import test_ui_browser as ui

# The chat app and the browser of the existing browser tests, started once for this module.
app_url, browser = ui.app_url, ui.browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _confounded_trial(n: int = 600, seed: int = 15) -> pd.DataFrame:
    """Yes/no treatment and outcome, both driven by a yes/no ``severity``: once severity
    is unobserved the effect is not point-identified."""
    rng = np.random.default_rng(seed)
    severity = rng.binomial(1, 0.5, n)
    treated = rng.binomial(1, 0.2 + 0.6 * severity)
    recovered = rng.binomial(1, 0.15 + 0.2 * treated + 0.4 * severity)
    return pd.DataFrame({"treated": treated, "recovered": recovered, "severity": severity})


def test_unobserved_confounder_ends_with_bounds_assumptions_and_picture(app_url, browser, tmp_path):
    frame = _confounded_trial()
    data = tmp_path / "confounded_trial.csv"
    frame.to_csv(data, index=False)
    expected = bound_effect(frame, "treated", "recovered")
    assert [b.kind for b in expected.bounds] == ["no_assumption", "mtr", "mts", "mtr_mts"]
    manski = expected.bounds[0]  # for a yes/no outcome the no-assumption range is 1 wide
    assert manski.high - manski.low == pytest.approx(1.0)
    context, page = ui._open_chat(browser, app_url)
    try:
        ui._send(page, "Does treated raise recovered?", attachment=data)
        page.get_by_role("button", name="Approve graph").wait_for(timeout=ui.GRAPH_TIMEOUT_MS)
        assert "Confounders: severity" in ui._last_message_with(page, "Proposed causal graph")

        ui._send(page, "mark severity unobserved")
        page.get_by_text("Your edit: marked severity as unobserved").wait_for(
            timeout=ui.GRAPH_TIMEOUT_MS
        )
        page.get_by_role("button", name="Approve graph").last.click()
        heading = "Effect of treated on recovered: a range, not a point"
        page.get_by_text(heading).wait_for(timeout=ui.ANSWER_TIMEOUT_MS)
        answer = ui._last_message_with(page, heading)

        for bound in expected.bounds:  # each range as bound_effect computes it, rounded
            span = f"{format_effect(bound.low, True)} to {format_effect(bound.high, True)}"
            assert span in answer, (bound.kind, span)
        for words in (
            "the unobserved severity",  # why there is no point estimate
            "both monotone",
            "What each range assumes",
            "the treatment treated never lowers anyone's recovered",
            "those who got treated would have had higher recovered on average",
        ):
            assert words in answer, words
        assert "Exact value:" not in answer, "no point estimate for an unidentified effect"
        picture = page.locator("div.step", has_text=heading).last.locator("img[alt='bounds']")
        # The picture loads lazily: below the fold it has no size (Playwright calls it
        # hidden) until someone scrolls to it, so scroll to it as a reader would.
        picture.wait_for(state="attached", timeout=30_000)
        picture.evaluate("img => img.scrollIntoView({block: 'center'})")
        picture.wait_for(state="visible", timeout=30_000)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
        )
        assert page.evaluate("(img) => img.naturalWidth", picture.element_handle()) > 300
        page.set_viewport_size({"width": 1280, "height": 2400})
        page.wait_for_timeout(1000)
        ui._shot(page, "15_bounds_answer.png")
    finally:
        context.close()
