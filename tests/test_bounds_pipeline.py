"""Bounds, proximal inference and design sensitivity end to end, through `analyze` and the
Session: what result.json, report.md and the exported analysis.py hold."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.ui.cli import main
from tests.design_data import iv_style, panel_single

TRUTH = 0.5
LATENT = (
    'digraph { U [observed="no"]; U -> a; U -> y; U -> z; U -> w; x -> a; x -> y; z -> a; a -> y; }'
)


def proxied_csv(folder: Path, seed: int = 0, n: int = 3000) -> Path:
    """A yes/no treatment and outcome confounded by a hidden U, with two proxies of U."""
    rng = np.random.default_rng(seed)
    u, x = rng.standard_normal((2, n))
    z = 0.8 * u + rng.standard_normal(n)
    w = 0.9 * u + rng.standard_normal(n)
    a = (0.8 * u + 0.3 * x + 0.3 * z + rng.standard_normal(n) > 0).astype(int)
    y = TRUTH * a + 0.6 * u + 0.2 * x + 0.2 * rng.standard_normal(n)
    path = folder / "proxied.csv"
    pd.DataFrame({"a": a, "y": y, "z": z, "w": w, "x": x}).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_unidentified_run_with_proxies_exports_a_script_that_reproduces_the_bounds(
    isolated_home, tmp_path
) -> None:
    data = proxied_csv(tmp_path)
    graph = tmp_path / "graph.dot"
    graph.write_text(LATENT)
    out = tmp_path / "out"
    argv = ["analyze", str(data), "--treatment", "a", "--outcome", "y", "--graph", str(graph)]
    assert main([*argv, "--proxies", "z,w", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["estimate"] is None
    proximal = result["proximal"]
    assert proximal["covariates"] == ["x"]
    assert proximal["value"] == pytest.approx(TRUTH, abs=0.1)
    assert proximal["ci_low"] < TRUTH < proximal["ci_high"]
    assert abs(proximal["naive_value"] - TRUTH) > 0.3
    first = result["bounds"][0]
    assert first["ci_low"] < first["low"] <= first["high"] < first["ci_high"]

    report = (out / "report.md").read_text()
    assert "![bounds under each set of assumptions](bounds.png)" in report
    assert "95% interval" in report and "## Proximal estimate" in report
    assert (out / "bounds.png").read_bytes()[:4] == b"\x89PNG"

    run = subprocess.run(
        [sys.executable, "analysis.py"], cwd=out, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout[: run.stdout.rindex("}\n{") + 2])
    for bound in result["bounds"]:
        assert printed["bounds"][bound["kind"]] == pytest.approx([bound["low"], bound["high"]])
        interval = printed["intervals"][bound["kind"]]
        assert interval == pytest.approx([bound["ci_low"], bound["ci_high"]], abs=1e-9)
    assert f'"value": {proximal["value"]!r}'[:20] in run.stdout


def test_the_chat_marks_proxies_and_answers_about_hidden_confounding(
    isolated_home, tmp_path
) -> None:
    session = Session(Settings.from_env(home=isolated_home, refutation_budget_s=3))
    state = session.start(
        proxied_csv(tmp_path), treatment="a", outcome="y", graph_text=LATENT, auto_approve=True
    )
    assert state["bounds"] and not state.get("proximal")
    state = session.send("use proxies z and w")
    assert state["proximal"]["value"] == pytest.approx(TRUTH, abs=0.1)
    reply = session.send("What if there is a confounder we did not measure?")
    text = reply["messages"][-1]["content"]
    assert "With no assumption about the hidden confounding" in text
    assert "Proximal estimate" in text and "negative-control exposure" in text
    sign = session.send("what do you need to assume to get a sign?")["messages"][-1]["content"]
    assert "To get a sign" in sign or "No assumption listed here gives a sign" in sign


def test_iv_and_did_analyses_report_their_sensitivity(isolated_home, tmp_path) -> None:
    """Conley's plausibly-exogenous check in an IV run and Rambachan–Roth's relative
    magnitudes in a DiD run reach result.json and the report."""
    cases = [
        (
            iv_style(0)[0],
            ["--treatment", "take", "--outcome", "y", "--instrument", "lottery"],
            "exclusion_sensitivity",
        ),
        (
            panel_single(0)[0],
            ["--treatment", "policy", "--outcome", "y", "--unit", "state", "--time", "year"],
            "parallel_trends_sensitivity",
        ),
    ]
    for index, (frame, flags, name) in enumerate(cases):
        data = tmp_path / f"data{index}.csv"
        frame.to_csv(data, index=False)
        out = tmp_path / f"out{index}"
        assert main(["analyze", str(data), *flags, "--out", str(out)]) == 0
        result = json.loads((out / "result.json").read_text())
        check = next(r for r in result["refutations"] if r["name"] == name)
        assert check["status"] == "pass", check  # large true effects, no violation
        assert "Rule: warn when" in check["reading"]
        report = (out / "report.md").read_text()
        assert "## Bounds and sensitivity" in report and name.replace("_", " ") in report
