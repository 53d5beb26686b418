"""The headless contract: `causal-assistant analyze`, its outputs and its exit codes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_assistant.ui.cli import main

PYTHON = sys.executable
WARNING_CODES = {
    "poor_overlap",
    "small_sample",
    "missing_values_dropped",
    "weak_instrument",
    "graph_data_conflict",
    "post_treatment_adjustment",
    "unidentifiable",
    "refutation_failed",
    "llm_fallback",
    "estimators_disagree",
    "treatment_defining_column",
    "outcome_copy",
}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, training_csv) -> tuple[Path, subprocess.CompletedProcess]:
    """One real run of the installed console script on the example dataset."""
    out = tmp_path_factory.mktemp("out")
    env = {
        **os.environ,
        "CAUSAL_ASSISTANT_HOME": str(out / "home"),
        "CAUSAL_ASSISTANT_LLM": "off",
        "CAUSAL_ASSISTANT_REFUTATION_BUDGET": "10",
    }
    script = Path(PYTHON).with_name("causal-assistant")
    run = subprocess.run(
        [
            str(script),
            "analyze",
            str(training_csv),
            "--question",
            "Does treat raise earnings_after?",
            "--out",
            str(out),
            "--seed",
            "3",
            "--by",
            "region",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return out, run


def test_analyze_writes_the_contract(analysed, true_effect) -> None:
    out, run = analysed
    assert run.returncode == 0, run.stderr
    assert {"result.json", "analysis.py", "analysis.ipynb", "report.md"} <= {
        p.name for p in out.iterdir()
    }
    result = json.loads((out / "result.json").read_text())
    assert (result["treatment"], result["outcome"]) == ("treat", "earnings_after")
    assert "participant id" not in result["graph"]["nodes"]
    assert {"cause", "effect", "source", "note"} <= set(result["graph"]["edges"][0])
    assert result["identification"]["estimand"] == "backdoor"
    assert set(result["identification"]["adjustment_set"]) == {
        "age",
        "education years",
        "prior earnings",
        "region",
    }
    estimate = result["estimate"]
    assert estimate["ci_low"] <= true_effect <= estimate["ci_high"]
    assert estimate["value"] == pytest.approx(true_effect, rel=0.1)
    assert result["alternatives"], "alternatives for triangulation are missing"
    assert all(a["ci_low"] < a["value"] < a["ci_high"] for a in result["alternatives"])
    assert (estimate["se_type"], estimate["estimand"]) == ("HC1", "ATE") and estimate["se"] > 0
    assert result["naive"]["ci_low"] < result["naive"]["ci_high"]
    by_group = result["by_group"]
    # the simulated effect is the same in every region, so the test of difference is calm
    assert by_group["by"] == "region" and by_group["difference_p"] > 0.001
    assert {g["group"] for g in by_group["groups"]} == {"north", "south", "east", "west"}
    assert all(g["ci_low"] < g["value"] < g["ci_high"] for g in by_group["groups"])
    names = {r["name"] for r in result["refutations"]}
    assert {"placebo_treatment", "random_common_cause"} <= names
    assert all(r["status"] in ("pass", "warn", "fail") for r in result["refutations"])
    assert {w["code"] for w in result["warnings"]} <= WARNING_CODES | {
        "excluded_column",
        "unadjusted_confounder",
        "large_data_sampled",
    }
    assert set(result["timings_s"]) >= {
        "intake",
        "modeling",
        "identification",
        "estimation",
        "refutation",
        "startup",
        "checkpoints",
        "export",
        "total",
    }
    # the entries account for the whole wall time: the parts add up to the total
    timings = result["timings_s"]
    parts = sum(seconds for name, seconds in timings.items() if name != "total")
    assert parts == pytest.approx(timings["total"], rel=0.02, abs=0.05)
    assert f"{estimate['value']:.6g}" in run.stdout


def test_exported_script_reproduces_the_estimate(analysed) -> None:
    out, _ = analysed
    expected = json.loads((out / "result.json").read_text())["estimate"]
    run = subprocess.run(
        [PYTHON, "analysis.py"], cwd=out, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    value = float(re.search(r"^estimate: (\S+)$", run.stdout, re.M).group(1))
    assert value == pytest.approx(expected["value"], abs=1e-6)
    low, high = map(float, re.search(r"^95% interval: (\S+) to (\S+) ", run.stdout, re.M).groups())
    assert (low, high) == pytest.approx((expected["ci_low"], expected["ci_high"]), abs=1e-6)


def test_exported_notebook_executes(analysed) -> None:
    import nbclient
    import nbformat

    out, _ = analysed
    notebook = nbformat.read(out / "analysis.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(out)}}
    ).execute()
    printed = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
    )
    expected = json.loads((out / "result.json").read_text())["estimate"]["value"]
    value = float(re.search(r"estimate: (\S+)", printed).group(1))
    assert value == pytest.approx(expected, abs=1e-6)


def test_report_explains_the_analysis(analysed) -> None:
    out, _ = analysed
    report = (out / "report.md").read_text()
    for heading in ("## Answer", "## Causal graph", "## Identification", "## Refutations"):
        assert heading in report
    assert (out / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def one_line_reason(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_unreadable_file_exits_2(tmp_path, capsys) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    code, err = run_cli(
        ["analyze", str(junk), "--treatment", "a", "--outcome", "b", "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 2
    assert one_line_reason(err).startswith("causal-assistant: ")


def test_missing_file_exits_2(tmp_path, capsys) -> None:
    code, err = run_cli(
        ["analyze", str(tmp_path / "nope.csv"), "--treatment", "a", "--outcome", "b"], capsys
    )
    assert code == 2
    assert "nope.csv" in one_line_reason(err)


def test_missing_column_exits_2_with_suggestion(training_csv, tmp_path, capsys) -> None:
    code, err = run_cli(
        [
            "analyze",
            str(training_csv),
            "--treatment",
            "treatmnt",
            "--outcome",
            "earnings_after",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2
    reason = one_line_reason(err)
    assert "treatmnt" in reason and "treat" in reason


def test_constant_treatment_exits_2(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "constant.csv"
    frame = pd.DataFrame({"t": 1, "x": rng.normal(size=50), "y": rng.normal(size=50)})
    frame.to_csv(path, index=False)
    code, err = run_cli(
        ["analyze", str(path), "--treatment", "t", "--outcome", "y", "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 2
    assert "single value" in one_line_reason(err)


def test_question_without_columns_exits_2(training_csv, tmp_path, capsys) -> None:
    code, err = run_cli(
        [
            "analyze",
            str(training_csv),
            "--question",
            "is it worth it?",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2
    assert "treatment" in one_line_reason(err)


def test_cyclic_graph_exits_2_naming_the_cycle(training_csv, tmp_path, capsys) -> None:
    graph = tmp_path / "g.txt"
    graph.write_text("age -> treat\ntreat -> earnings_after\nearnings_after -> age\n")
    code, err = run_cli(
        [
            "analyze",
            str(training_csv),
            "--treatment",
            "treat",
            "--outcome",
            "earnings_after",
            "--graph",
            str(graph),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2
    assert "cycle" in one_line_reason(err)


def test_unidentifiable_graph_ends_with_bounds(training_csv, tmp_path, capsys) -> None:
    """A hidden confounder with no instrument or front door: a range is the answer (exit 0,
    estimate null, bounds with their assumptions, the unidentifiable warning, a picture)."""
    graph = tmp_path / "g.dot"
    graph.write_text(
        'digraph { U [observed="no"]; U -> treat; U -> earnings_after; treat -> earnings_after; }'
    )
    code = main(
        [
            "analyze",
            str(training_csv),
            "--treatment",
            "treat",
            "--outcome",
            "earnings_after",
            "--graph",
            str(graph),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and "Not point-identified" in printed and "no_assumption" in printed
    assert "assumes: " in printed  # each range says what it rests on, in words
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert result["estimate"] is None and result["error"] is None
    assert "unidentifiable" in {w["code"] for w in result["warnings"]}
    assert "U" in result["identification"]["reading"]
    kinds = [b["kind"] for b in result["bounds"]]
    assert kinds[0] == "no_assumption" and {"mtr", "mts", "mtr_mts"} <= set(kinds)
    for bound in result["bounds"]:
        assert bound["low"] <= bound["high"] and bound["assumptions"] and bound["reading"]
    report = (tmp_path / "o" / "report.md").read_text()
    assert "## Answer: a range, not a point" in report and "](bounds.png)" in report
    assert (tmp_path / "o" / "bounds.png").read_bytes()[:4] == b"\x89PNG"


def test_shipped_example_matches_its_generator(tmp_path) -> None:
    """The committed example (and the app's copy of it) are exactly what the script makes."""
    from make_example import make_training

    root = Path(__file__).resolve().parents[1]
    fresh = tmp_path / "training.csv"
    make_training().to_csv(fresh, index=False)
    assert (root / "examples" / "training.csv").read_bytes() == fresh.read_bytes()
    assert (root / "ui" / "public" / "training.csv").read_bytes() == fresh.read_bytes()
