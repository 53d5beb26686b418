"""The built wheel is the product: it installs, and its CLI works from any directory.

A green suite once hid a broken `pip install .` because tests imported the checkout; this
test builds the wheel from the checkout, installs it (without its dependencies, which the
test environment already has) into a folder of its own that shadows any other copy, and
runs the console script from a directory outside the clone.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GENERIC_TOP_LEVEL = {"tools", "ui", "agent", "prompts"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=out,
        timeout=300,
    )
    (built,) = out.glob("causal_assistant-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_wheel_holds_one_namespace_with_prompts_and_ui_assets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if "dist-info" not in name}
    assert top == {"causal_assistant"}, top
    assert not top & GENERIC_TOP_LEVEL
    assert any(n.startswith("causal_assistant/prompts/") and n.endswith(".md") for n in names)
    assert "causal_assistant/agent/reasoners/offline.py" in names


def test_installed_cli_analyses_the_example_from_outside_the_clone(installed, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(installed),
        "CAUSAL_ASSISTANT_HOME": str(tmp_path / "home"),
        "CAUSAL_ASSISTANT_LLM": "off",
        "CAUSAL_ASSISTANT_REFUTATION_BUDGET": "10",
    }
    where = subprocess.run(
        [sys.executable, "-c", "import causal_assistant.agent as a; print(a.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert where.stdout.startswith(str(installed)), where.stdout
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "causal_assistant.ui.cli",
            "analyze",
            str(REPO / "examples" / "training.csv"),
            "--question",
            "Does the training programme raise earnings?",
            "--out",
            "out",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert (result["treatment"], result["outcome"]) == ("treat", "earnings_after")
    assert 1200 < result["estimate"]["value"] < 1800  # the example's true effect is 1500
