"""Multi-turn conversations offline: approval, edits, why-questions, re-runs, code, memory."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_assistant.agent.commands import parse_command
from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session


def new_session(home: Path, thread_id: str | None = None) -> Session:
    return Session(Settings.from_env(home=home, refutation_budget_s=5), thread_id=thread_id)


def last_reply(state: dict) -> str:
    return state["messages"][-1]["content"]


@pytest.mark.parametrize(
    "text, kind, args",
    [
        ("add edge age -> treat", "edit", {"op": "add", "cause": "age", "effect": "treat"}),
        (
            "remove edge 'prior earnings' -> treat",
            "edit",
            {"op": "remove", "cause": "prior earnings", "effect": "treat"},
        ),
        ("reverse edge a → b", "edit", {"op": "reverse", "cause": "a", "effect": "b"}),
        ("mark income unobserved", "mark", {"node": "income", "what": "unobserved"}),
        ("why did you adjust for income?", "why", {"subject": "did you adjust for income"}),
        ("why age", "why", {"subject": "age"}),
        ("use matching", "use", {"method": "matching"}),
        ("target att", "target", {"target": "att"}),
        ("the effect among those who received it", "target", {"target": "those who received it"}),
        ("how does the effect differ for women?", "by_group", {"group": "women"}),
        ("effect by sex", "by_group", {"group": "sex"}),
        ("by region", "by_group", {"group": "region"}),
        ("outcome is re78", "set_variable", {"which": "outcome", "column": "re78"}),
        ("go back to modeling", "rerun", {"stage": "modeling"}),
        ("plot overlap", "plot", {"kind": "overlap"}),
        ("plot distribution of age", "plot", {"column": "age"}),
        ("table earnings by region", "table", {"column": "earnings", "group": "region"}),
        ("show refutations", "show", {"what": "refutations"}),
        ("run: print(1)", "run_code", {"code": "print(1)"}),
        ("approve", "approve", {}),
        ("export", "export", {}),
        ("help", "help", {}),
        ("what is the meaning of life", "unknown", {"text": "what is the meaning of life"}),
    ],
)
def test_command_language(text: str, kind: str, args: dict) -> None:
    intent = parse_command(text)
    assert intent.kind == kind
    assert intent.args == args


@pytest.mark.slow
def test_approve_edit_why_and_rerun(isolated_home, training_csv, true_effect) -> None:
    session = new_session(isolated_home)
    state = session.start(training_csv, question="Does treat raise earnings_after?")
    assert session.pending()["kind"] == "approve_graph"
    assert not state.get("estimation")

    reply = last_reply(session.send("why did you adjust for age?"))
    assert "age" in reply and "confounder" in reply
    assert session.pending()["kind"] == "approve_graph"

    state = session.send("remove edge region -> earnings_after")
    assert not any(
        e["cause"] == "region" and e["effect"] == "earnings_after" for e in state["graph"]["edges"]
    )
    assert session.pending()["kind"] == "approve_graph"
    assert "cycle" in last_reply(session.send("add edge earnings_after -> age"))

    state = session.send("add edge region -> earnings_after")
    state = session.send("approve")
    assert session.pending() is None
    estimate = state["estimation"]["estimate"]
    assert estimate["ci_low"] <= true_effect <= estimate["ci_high"]
    assert state["refutation"]["refutations"]

    state = session.send("use matching")
    assert state["estimation"]["estimate"]["method"] == "backdoor.propensity_score_matching"
    state = session.send("target att")
    assert state["estimation"]["estimate"]["target"] == "att"
    assert "help" in last_reply(session.send("what is the meaning of life"))


@pytest.mark.slow
def test_code_runs_in_sandbox_and_joins_the_export(isolated_home, training_csv, tmp_path) -> None:
    session = new_session(isolated_home)
    session.start(training_csv, treatment="treat", outcome="earnings_after", auto_approve=True)
    state = session.send("plot overlap")
    message = state["messages"][-1]
    assert message["images"] and Path(message["images"][0]).read_bytes()[:4] == b"\x89PNG"
    state = session.send("run: print(df['age'].mean() > 18)")
    assert "True" in last_reply(state)
    assert state["custom_code"][-1] == "print(df['age'].mean() > 18)"
    state = session.send("run: import os; print(os.environ.get('OPENAI_API_KEY'))")
    assert "None" in last_reply(state)
    state = session.send("run: while True: pass")
    assert "time" in last_reply(state).lower()
    assert not any("while True" in c for c in state["custom_code"])
    state = session.send("export")
    files = state["messages"][-1]["files"]
    script = next(Path(f) for f in files if f.endswith("analysis.py"))
    assert "df['age'].mean() > 18" in script.read_text()
    # the files are written once per result: asking again (every answer offers them) does
    # not rewrite them
    stamp = script.stat().st_mtime_ns
    assert session.export(session.export_dir())["analysis.py"] == script
    assert script.stat().st_mtime_ns == stamp


def test_conversation_survives_a_restart(isolated_home, training_csv) -> None:
    first = new_session(isolated_home)
    first.start(training_csv, question="effect of treat on earnings_after")
    assert first.pending()["kind"] == "approve_graph"
    again = new_session(isolated_home, thread_id=first.thread_id)
    assert again.pending()["kind"] == "approve_graph"
    state = again.send("approve")
    assert state["estimation"]["estimate"]["value"] > 0
    assert [m["role"] for m in state["messages"]].count("user") == 2


@pytest.mark.slow
def test_killed_mid_analysis_resumes_with_nothing_lost(isolated_home, training_csv) -> None:
    """Kill -9 the process during refutation; a new process finishes from the checkpoint."""
    program = textwrap.dedent(f"""
        import sys
        from causal_assistant.agent.config import Settings
        from causal_assistant.agent.session import Session
        session = Session(Settings.from_env(refutation_budget_s=120), thread_id="crash")
        def on_event(mode, event):
            if mode == "custom" and "progress" in event:   # refutation is under way
                print("REFUTING", flush=True)
        session.start({str(training_csv)!r}, treatment="treat", outcome="earnings_after",
                      auto_approve=True, on_event=on_event)
        print("FINISHED", flush=True)
    """)
    env = {**os.environ, "CAUSAL_ASSISTANT_HOME": str(isolated_home)}
    process = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parents[1],
    )
    for line in process.stdout:
        if line.strip() == "REFUTING":
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    session = new_session(isolated_home, thread_id="crash")
    before = session.values
    assert before["estimation"]["estimate"]["value"] > 0
    assert not before.get("refutation")
    state = session.proceed()
    assert state["refutation"]["refutations"]
    assert state["stage"] == "report"
    assert state["estimation"] == before["estimation"]


@pytest.mark.slow
def test_effects_by_group_in_the_chat(isolated_home, tmp_path) -> None:
    """ "How does the effect differ for women?" finds the sex column by its levels and
    answers with each group's effect, its interval and a test of the difference."""
    rng = np.random.default_rng(4)
    n = 2000
    sex = rng.choice(["female", "male"], n)
    age = rng.normal(40, 10, n)
    treat = (rng.uniform(size=n) < 1 / (1 + np.exp(-(age - 40) / 10))).astype(int)
    y = 0.05 * age + np.where(sex == "female", 1.0, 2.0) * treat + rng.normal(size=n)
    path = tmp_path / "programme.csv"
    pd.DataFrame({"sex": sex, "age": age, "treat": treat, "y": y}).to_csv(path, index=False)
    session = new_session(isolated_home)
    session.start(path, treatment="treat", outcome="y", auto_approve=True)
    state = session.send("how does the effect differ for women?")
    found = {g["group"]: g for g in state["estimation"]["by_group"]["groups"]}
    assert found["female"]["ci_low"] < 1.0 < found["female"]["ci_high"]
    assert found["male"]["ci_low"] < 2.0 < found["male"]["ci_high"]
    assert session.result()["by_group"]["difference_p"] < 0.001
    assert "differ by more than chance" in state["estimation"]["reading"]
    state = session.send("the effect among those who received it")
    assert state["estimation"]["estimate"]["target"] == "att"
    assert "could not tell which column" in last_reply(session.send("effect by planet"))
