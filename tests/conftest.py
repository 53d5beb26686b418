"""Shared fixtures: an isolated home folder, offline settings, and the example dataset."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from make_example import TRUE_EFFECT, make_training  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own CAUSAL_ASSISTANT_HOME and no LLM credentials."""
    home = tmp_path / "home"
    monkeypatch.setenv("CAUSAL_ASSISTANT_HOME", str(home))
    monkeypatch.setenv("CAUSAL_ASSISTANT_LLM", "off")
    monkeypatch.setenv("CAUSAL_ASSISTANT_REFUTATION_SIMULATIONS", "20")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def training_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "training.csv"
    make_training().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def true_effect() -> float:
    return TRUE_EFFECT
