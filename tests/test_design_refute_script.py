"""``analysis.py --refute`` of a study design re-runs the design's own checks (density
test, placebo cutoffs, pre-trends, first-stage strength, balance, ...) and prints the
report's table of checks, then each check's status, statistic and p-value in full, which
must equal result.json's."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.tools.designs import DesignColumns, DesignSpec
from causal_assistant.tools.designs.iv import IV
from causal_assistant.tools.model.graphs import CausalGraph
from tests.design_data import iv_style, panel_single, randomised, sharp_rd


def exported(tmp_path: Path, frame, treatment: str, outcome: str, **request) -> Path:
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    session = Session(Settings.from_env(home=tmp_path / "home", llm_mode="off"))
    session.start(
        data, treatment=treatment, outcome=outcome, auto_approve=True, design_request=request
    )
    session.export(tmp_path / "out")
    return tmp_path / "out"


def refuted(out: Path) -> tuple[str, dict]:
    """The script's --refute output: the table, and the numbers printed after it."""
    run = subprocess.run(
        [sys.executable, "analysis.py", "--refute"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table, numbers = run.stdout.split("\n{", 1)
    return table, json.loads("{" + numbers)


@pytest.mark.parametrize(
    ("make", "columns", "request_", "report_only"),
    [
        pytest.param(
            lambda: sharp_rd(3)[0],
            ("award", "gpa"),
            {"kind": "rdd"},
            set(),
            marks=pytest.mark.slow,
        ),
        pytest.param(
            lambda: panel_single(3)[0],
            ("policy", "y"),
            {"kind": "did"},
            set(),
            marks=pytest.mark.slow,
        ),
        (lambda: randomised(n=800, seed=4), ("treat", "outcome"), {"kind": "rct"}, set()),
        pytest.param(
            lambda: iv_style(3)[0],  # a numeric covariate: the exclusion sensitivity runs
            ("take", "y"),
            {"kind": "iv", "columns": {"instruments": ["lottery"]}},
            set(),
            marks=pytest.mark.slow,
        ),
    ],
    ids=["rdd", "did", "rct", "iv"],
)  # each exports a whole analysis and runs its script: the trial's is the quickest
def test_refute_reruns_the_designs_checks(tmp_path, make, columns, request_, report_only) -> None:
    out = exported(tmp_path, make(), *columns, **request_)
    result = json.loads((out / "result.json").read_text())
    assert result["design"]["kind"] == request_["kind"]
    table, numbers = refuted(out)
    names = [r["name"] for r in result["refutations"]]
    assert [n for n in names if n not in report_only] == list(numbers)
    flat = " ".join(table.split())
    for check in result["refutations"]:
        if check["name"] in report_only:
            assert f"{check['name']} {check['status']}" in flat
            continue
        again = numbers[check["name"]]
        assert again["status"] == check["status"]
        for key in ("statistic", "p_value"):
            assert again[key] == pytest.approx(check[key], abs=1e-6, nan_ok=False)
        row = next(line for line in table.splitlines() if line.startswith(check["name"] + " "))
        assert row.split()[1] == check["status"]
        assert " ".join(check["reading"].split()) in flat
    assert "Differs from the report" not in table
    assert table.count("Not re-run by this script") == len(report_only & set(names))


def test_the_scripts_iv_checks_include_the_graphs_reduced_form_placebo() -> None:
    """With a graph that makes ``distance`` independent of the lottery, the reduced-form
    placebo runs; the exported estimate and check code give every check the same verdict
    and numbers as the design (no agent, no subprocess: the code itself, executed)."""
    frame = iv_style(3)[0]
    graph = CausalGraph(
        nodes=["lottery", "distance", "take", "y"],
        edges=CausalGraph.from_edges(
            [("lottery", "take"), ("distance", "take"), ("take", "y")], source="user"
        ).edges,
    )
    spec = DesignSpec(
        kind="iv",
        treatment="take",
        outcome="y",
        columns=DesignColumns(instruments=["lottery"]),
        graph=graph.model_dump(mode="json"),
    )
    checks = {c.name: c for c in IV.checks(frame, spec, IV.estimate(frame, spec))}
    namespace: dict = {"df": frame}
    exec(IV.code(spec) + IV.check_code(spec), namespace)  # noqa: S102 (our own exported code)
    again = namespace["refutations"]
    assert "reduced_form_placebo" in checks and list(again) == list(checks)
    for name, check in checks.items():
        assert again[name]["status"] == check.status
        for key in ("statistic", "p_value"):
            assert again[name][key] == pytest.approx(getattr(check, key), abs=1e-12)
