"""The export travels: one zip that, unzipped anywhere, reruns the analysis.

One seeded chat analysis of the example is exported once for the module; the fast tests
read the bundle (contents, PEP 723 header, the --refute table against the report, the
saved notebook outputs), the slow one unzips it into an empty folder, installs the
header's pinned libraries into a fresh venv (from the local wheels, no network) and runs
``analysis.py`` there.
"""

import ast
import json
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.export import DATA_IN_BUNDLE_MAX_MB, script_plan
from causal_assistant.agent.session import Session
from causal_assistant.tools.export.notebook_run import (
    SKIP_TAG,
    _run_in_process,
    execute_notebook,
    warm_runner,
)
from causal_assistant.tools.export.scriptgen import render_notebook

BUNDLED = {
    "analysis.py",
    "causal_helpers.py",
    "analysis.ipynb",
    "report.md",
    "graph.png",
    "bounds.png",  # the bounds that hold without the no-hidden-confounder assumption
    "sensitivity.png",  # the Cinelli–Hazlett contours of the linear estimate
    "training.csv",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, training_csv) -> tuple[Session, dict, dict[str, Path]]:
    home = tmp_path_factory.mktemp("home")
    session = Session(
        Settings.from_env(home=home, llm_mode="off", refutation_simulations=20),
        thread_id="bundle",
    )
    session.start(training_csv, treatment="treat", outcome="earnings_after", auto_approve=True)
    written = session.export(home / "out")
    return session, json.loads(written["result.json"].read_text()), written


@pytest.fixture(scope="module")
def unzipped(exported, tmp_path_factory) -> Path:
    """The bundle extracted into an empty folder, far from the export folder."""
    folder = tmp_path_factory.mktemp("elsewhere") / "bundle"
    zipfile.ZipFile(exported[2]["analysis.zip"]).extractall(folder)
    return folder


def run_script(
    folder: Path, *args: str, python: str = sys.executable, script: str = "analysis.py"
) -> str:
    run = subprocess.run(
        [python, script, *args], cwd=folder, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def printed_estimate(stdout: str) -> float:
    return float(re.search(r"^estimate: (\S+)$", stdout, re.M).group(1))


def test_bundle_holds_the_script_its_helpers_notebook_report_pictures_and_data(
    exported, unzipped, training_csv
) -> None:
    _, _, written = exported
    assert {p.name for p in unzipped.iterdir()} == BUNDLED
    assert (unzipped / "training.csv").read_bytes() == training_csv.read_bytes()
    report = (unzipped / "report.md").read_text()
    for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (unzipped / picture).is_file(), picture
    # the script reads top to bottom by stage, calling helpers it imports from beside it
    script = (unzipped / "analysis.py").read_text()
    sections = re.findall(r"^    # \d+\. (\w+):", script, re.M)
    assert sections == ["Model", "Identify", "Estimate", "Refute"]
    assert "def " not in script.split("def main():")[0]
    assert "from causal_helpers import (" in script
    assert "def estimate_with_ci(" in (unzipped / "causal_helpers.py").read_text()
    # the data default is the script's own folder, never the server's upload folder
    assert "HERE / 'training.csv'" in script and str(Path.home()) not in script
    assert written["analysis.zip"].stat().st_size < 2 * 2**20


def test_script_runs_from_another_folder_with_the_data_beside_it(exported, unzipped) -> None:
    _, result, _ = exported
    stdout = run_script(unzipped.parent, script="bundle/analysis.py")
    assert printed_estimate(stdout) == pytest.approx(result["estimate"]["value"], abs=1e-6)


def test_pep723_header_pins_every_library_the_script_imports(unzipped) -> None:
    script = (unzipped / "analysis.py").read_text()
    block = re.match(r"# /// script\n((?:#.*\n)*?)# ///\n", script)
    assert block, script[:300]
    meta = tomllib.loads("".join(line[2:] + "\n" for line in block.group(1).splitlines()))
    pins = dict(pin.split("==") for pin in meta["dependencies"])
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for name in ("analysis.py", "causal_helpers.py")
        for node in ast.walk(ast.parse((unzipped / name).read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    expected = {"numpy", "pandas", "dowhy", "scipy", "statsmodels", "networkx", "joblib"}
    assert expected <= set(pins) and "scikit-learn" in pins
    assert "sklearn" in imported and "causal_assistant" not in imported
    from importlib.metadata import version

    assert all(pins[name] == version(name) for name in pins)
    assert meta["requires-python"].startswith(">=3.")


def test_refute_prints_the_reports_table_of_checks(exported, unzipped) -> None:
    _, result, _ = exported
    stdout = run_script(unzipped, "--refute")
    assert "{" not in stdout, "a plain table, not JSON"
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("check "))
    assert lines[header].split("  ")[0] == "check"
    flat = " ".join(line.strip() for line in lines)
    report = (unzipped / "report.md").read_text()
    assert result["refutations"]
    for check in result["refutations"]:
        row = next(line for line in lines if line.startswith(check["name"] + " "))
        assert row.split()[1] == check["status"], row
        # the report's reading, word for word, and the report's row for that check
        assert " ".join(check["reading"].split()) in flat
        assert f"| {check['name']} | {check['status']} |" in report
    assert "Differs from the report" not in stdout


def test_notebook_is_saved_with_its_outputs(exported, unzipped) -> None:
    _, result, _ = exported
    notebook = nbformat.read(unzipped / "analysis.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    checks = [c for c in code if SKIP_TAG in c.metadata.get("tags", [])]
    # the checks re-run every refuter: left unrun at export, with no made-up output
    assert len(checks) == 1 and "checks_table(" in checks[0].source
    assert checks[0].execution_count is None and not checks[0].outputs
    above = notebook.cells[notebook.cells.index(checks[0]) - 1]
    assert "Not run when this notebook was exported" in above.source
    ran = [c for c in code if c not in checks]
    assert all(c.execution_count for c in ran)
    assert not [o for c in ran for o in c.outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for c in ran for o in c.outputs)
    assert printed_estimate(printed) == pytest.approx(result["estimate"]["value"], abs=1e-6)
    head = code[0].outputs[-1]
    assert head.output_type == "execute_result" and "earnings_after" in head.data["text/plain"]


def test_notebook_runs_without_a_kernel_too(exported, unzipped, tmp_path) -> None:
    """A plain install has no Jupyter kernel: the cells then run in one process, and the
    outputs are the same numbers."""
    session, result, _ = exported
    plan = script_plan(session.values, result)
    plan.stages = [s for s in plan.stages if s.name != "refute"]  # the estimate suffices
    notebook = _run_in_process(render_notebook(plan), unzipped, timeout=300)
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert printed_estimate(printed) == pytest.approx(result["estimate"]["value"], abs=1e-6)
    nbformat.validate(notebook)


def test_a_warm_runner_gives_the_same_outputs(exported, unzipped) -> None:
    """The runner a headless run starts early runs the cells as a fresh process would."""
    session, result, _ = exported
    plan = script_plan(session.values, result)
    warm_runner()
    notebook = execute_notebook(render_notebook(plan), unzipped, timeout=300)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    printed = "".join(o.get("text", "") for c in code for o in c.get("outputs", []))
    assert printed_estimate(printed) == pytest.approx(result["estimate"]["value"], abs=1e-6)
    assert [c.execution_count for c in code] == [1, 2, 3, 4, None]
    nbformat.validate(notebook)


def test_export_is_written_once_per_result(exported) -> None:
    session, _, written = exported
    stamp = written["analysis.zip"].stat().st_mtime_ns
    again = session.export(written["analysis.zip"].parent)
    assert again["analysis.zip"] == written["analysis.zip"]
    assert written["analysis.zip"].stat().st_mtime_ns == stamp


def test_data_too_large_to_ship_becomes_a_required_argument(exported, monkeypatch) -> None:
    session, result, _ = exported
    monkeypatch.setattr("causal_assistant.agent.export.DATA_IN_BUNDLE_MAX_MB", 0)
    plan = script_plan(session.values, result)
    assert not plan.data_beside and Path(plan.data_file).is_absolute()
    assert DATA_IN_BUNDLE_MAX_MB > 0
    from causal_assistant.tools.export.scriptgen import render_script

    script = render_script(plan)
    assert "parser.add_argument('data', help=" in script and "nargs='?'" not in script


def _borrowed_shelf(shelf: Path) -> Path:
    """One folder of links to this environment's installed libraries, without this package.
    An installed (not editable) package sits in site-packages beside the libraries, so
    borrowing whole site-packages folders would hand it to the fresh venv too."""
    shelf.mkdir()
    for folder in (Path(p) for p in sys.path if p.endswith("site-packages")):
        for entry in folder.iterdir():
            link = shelf / entry.name
            if not entry.name.startswith("causal_assistant") and not link.exists():
                link.symlink_to(entry)
    return shelf


@pytest.mark.slow
def test_unzipped_bundle_reruns_in_a_fresh_venv(exported, unzipped, tmp_path) -> None:
    """The bundle is all a colleague needs: a fresh venv, without this package, with the
    header's pinned libraries reproduces the estimate. The pins are installed from a local
    wheelhouse when pip has one (no network in tests); otherwise the venv borrows this
    environment's copies of them (the header test checks they are the pinned versions)
    through one folder of links that leaves this package out (installed or editable), so the
    package stays out of reach."""
    _, result, _ = exported
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    script = (unzipped / "analysis.py").read_text()
    block = re.match(r"# /// script\n((?:#.*\n)*?)# ///\n", script).group(1)
    pins = tomllib.loads("".join(line[2:] + "\n" for line in block.splitlines()))["dependencies"]
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-index", *pins],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if install.returncode != 0:
        site = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        shelf = _borrowed_shelf(tmp_path / "borrowed")
        Path(site, "borrowed.pth").write_text(f"{shelf}\n")
    isolated = subprocess.run([python, "-c", "import causal_assistant"], capture_output=True)
    assert isolated.returncode != 0, "the fresh venv must not see this package"
    stdout = run_script(unzipped, python=python)
    assert printed_estimate(stdout) == pytest.approx(result["estimate"]["value"], abs=1e-6)


@pytest.mark.slow
def test_exporting_into_the_datas_own_folder_leaves_the_data_alone(exported, tmp_path) -> None:
    """`analyze data.csv --out .` beside the data: the bundle carries the data, and neither
    that export nor the next one replaces or removes the file analysed."""
    from causal_assistant.agent.export import export_analysis

    session, result, written = exported
    data = tmp_path / "training.csv"
    data.write_bytes(written["training.csv"].read_bytes())
    (tmp_path / "notes.txt").write_text("mine")
    state = {**session.values}
    state["dataset"] = {**state["dataset"], "source_path": str(data)}
    inode = data.stat().st_ino
    for _ in range(2):
        export_analysis(state, json.loads(json.dumps(result)), tmp_path)
        assert data.stat().st_ino == inode and (tmp_path / "notes.txt").exists()
    assert "training.csv" in zipfile.ZipFile(tmp_path / "analysis.zip").namelist()
    assert printed_estimate(run_script(tmp_path)) == pytest.approx(
        result["estimate"]["value"], abs=1e-6
    )
