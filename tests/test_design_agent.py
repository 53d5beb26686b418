"""Study designs through the agent: the CLI's design flags, detection in a headless run, the
chat phrases, result.json's design block, and exported scripts that reproduce."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.ui.cli import main
from tests.design_data import LATE, RCT_EFFECT, confounded, instrumented, randomised
from tests.test_designs import IV_GRAPH


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("designs")
    randomised(n=800, seed=4).to_csv(folder / "trial.csv", index=False)
    instrumented(n=3000, seed=4).to_csv(folder / "encouragement.csv", index=False)
    confounded(n=600, seed=4).to_csv(folder / "observational.csv", index=False)
    (folder / "iv_graph.dot").write_text(IV_GRAPH.to_dot())
    return folder


def analyse(data: Path, out: Path, *flags: str) -> dict:
    code = main(
        ["analyze", str(data), "--treatment", "treat", "--outcome", "outcome", "--out", str(out)]
        + list(flags)
    )
    assert code == 0
    return json.loads((out / "result.json").read_text())


def reproduced(out: Path, data: Path) -> float:
    run = subprocess.run(
        [sys.executable, "analysis.py", str(data)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return float(re.search(r"^estimate: (\S+)$", run.stdout, re.M).group(1))


@pytest.mark.slow
def test_cli_iv_flags_write_design_block_and_script_reproduces(data_dir, tmp_path):
    data = data_dir / "encouragement.csv"
    result = analyse(data, tmp_path, "--design", "iv", "--instrument", "offer")
    design = result["design"]
    assert (design["kind"], design["source"]) == ("iv", "user")
    assert design["columns"]["instruments"] == ["offer"]
    assert design["columns"]["covariates"] == ["region"]  # every pre-treatment covariate
    assert {a["name"] for a in design["assumptions"]} >= {"exclusion restriction", "relevance"}
    assert design["diagnostics"]["first_stage_f"] > 100
    estimate = result["estimate"]
    assert estimate["estimand"] == "LATE for compliers"
    assert estimate["se_type"] == "robust (HC0)" and estimate["se"] > 0
    assert estimate["ci_low"] < LATE < estimate["ci_high"]
    assert [r["name"] for r in result["refutations"]] == ["first_stage_strength"]
    assert "Study design: iv" in (tmp_path / "report.md").read_text()
    assert reproduced(tmp_path, data) == pytest.approx(estimate["value"], abs=1e-6)


def test_cli_detects_experiment_and_script_reproduces(data_dir, tmp_path):
    data = data_dir / "trial.csv"
    result = analyse(data, tmp_path)
    assert result["design"]["kind"] == "rct"
    codes = {w["code"] for w in result["warnings"]}
    assert {"design_detected", "treatment_defining_column"} <= codes
    assert "incentive" not in result["identification"]["adjustment_set"]
    estimate = result["estimate"]
    assert (estimate["estimand"], estimate["se_type"]) == ("ATE", "HC2")
    assert estimate["ci_low"] < RCT_EFFECT < estimate["ci_high"]
    assert result["refutations"][0]["name"] == "covariate_balance"
    assert reproduced(tmp_path, data) == pytest.approx(estimate["value"], abs=1e-6)


def test_cli_graph_with_instrument_uses_conditional_iv(data_dir, tmp_path):
    result = analyse(
        data_dir / "encouragement.csv", tmp_path, "--graph", str(data_dir / "iv_graph.dot")
    )
    assert result["design"]["kind"] == "iv"
    assert result["design"]["source"] == "graph"
    assert result["design"]["columns"]["covariates"] == ["region"]
    assert result["estimate"]["ci_low"] < LATE < result["estimate"]["ci_high"]


def test_cli_copy_of_treatment_as_instrument_exits_2(data_dir, tmp_path, capsys):
    frame = instrumented(n=500)
    frame["treat_copy"] = frame["treat"]
    data = tmp_path / "copy.csv"
    frame.to_csv(data, index=False)
    args = ["analyze", str(data), "--treatment", "treat", "--outcome", "outcome"]
    code = main([*args, "--instrument", "treat_copy", "--out", str(tmp_path / "o")])
    assert code == 2
    error = capsys.readouterr().err
    assert "copy of the treatment" in error and "Traceback" not in error


@pytest.mark.slow
def test_chat_says_randomised_trial(data_dir):
    session = Session(Settings.from_env(refutation_budget_s=5))
    state = session.start(
        data_dir / "observational.csv",
        treatment="treat",
        outcome="outcome",
        auto_approve=True,
    )
    assert state["study_design"]["kind"] == "backdoor"
    assert state["estimation"]["estimate"]["method"].startswith("backdoor.")
    state = session.send("This is a randomised trial")
    assert state["study_design"]["kind"] == "rct"
    assert state["study_design"]["source"] == "user"
    assert state["estimation"]["estimate"]["method"].startswith("rct.")
    assert session.result()["design"]["kind"] == "rct"
    state = session.send("design backdoor")
    assert session.result()["design"]["kind"] == "backdoor"
