"""Partial identification in the agent: an unidentified effect ends with bounds, and the
chat answers "what if there is a hidden confounder?" from the results."""

from pathlib import Path

import pytest

from causal_assistant.agent.commands import parse_command
from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.ui import render

LATENT = 'digraph { U [observed="no"]; U -> treat; U -> earnings_after; treat -> earnings_after; }'


def new_session(home: Path) -> Session:
    return Session(Settings.from_env(home=home, refutation_budget_s=3))


@pytest.mark.parametrize(
    "text",
    [
        "what if there is a hidden confounder?",
        "What if there is a confounder we did not measure?",
        "what do you need to assume to get a sign?",
        "show the bounds",
        "how sensitive is the estimate?",
    ],
)
def test_hidden_confounder_questions_are_understood(text: str) -> None:
    assert parse_command(text).kind == "bounds"


def test_a_causal_question_is_still_a_new_analysis() -> None:
    assert parse_command("does training raise earnings?").kind == "ask"


def test_unidentified_run_ends_with_bounds_and_the_chat_explains_them(
    isolated_home, training_csv, tmp_path
) -> None:
    session = new_session(isolated_home)
    state = session.start(
        training_csv,
        treatment="treat",
        outcome="earnings_after",
        graph_text=LATENT,
        auto_approve=True,
    )
    assert not state.get("error") and not state.get("estimation")
    assert state["stage"] == "report"
    result = session.result()
    assert result["estimate"] is None
    assert [b["kind"] for b in result["bounds"]] == ["no_assumption", "mtr", "mts", "mtr_mts"]
    assert "unidentifiable" in {w["code"] for w in result["warnings"]}

    text, picture = render.bounds_answer(state)  # what the browser shows
    assert "a range, not a point" in text and "the unobserved U" in text
    assert "| both monotone |" in text
    assert picture.png[:4] == b"\x89PNG"

    reply = session.send("what do you need to assume to get a sign?")["messages"][-1]["content"]
    assert "no assumption" in reply and "treatment response is monotone" in reply
    assert "No assumption listed here gives a sign from the data" in reply

    state = session.send("export")
    files = {Path(f).name for f in state["messages"][-1]["files"]}
    assert {"result.json", "report.md", "bounds.png"} <= files


@pytest.mark.slow
def test_identified_run_answers_with_bounds_and_sensitivity(isolated_home, training_csv) -> None:
    session = new_session(isolated_home)
    state = session.start(
        training_csv, treatment="treat", outcome="earnings_after", auto_approve=True
    )
    assert state["estimation"] and not state.get("bounds")
    reply = session.send("what if there is a hidden confounder?")["messages"][-1]["content"]
    assert "With no assumption about the hidden confounding" in reply
    assert "Sensitivity of the estimate" in reply and "Rule:" in reply
    files = {Path(f).name: Path(f) for f in session.send("export")["messages"][-1]["files"]}
    assert {"sensitivity.png", "bounds.png"} <= set(files)
    report = files["report.md"].read_text()
    assert "## Bounds and sensitivity" in report and "(sensitivity.png)" in report
    assert "(bounds.png)" in report and "95% interval" in report
