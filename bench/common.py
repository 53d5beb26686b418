"""Shared pieces of the benchmarks: timing, tables, and the two analysis paths compared.

"Assistant" is our automatic offline path (graph proposal, identification, estimator
choice); "plain DoWhy" is the script an analyst would write without it: every other column
a common cause, linear regression.
"""

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


def analyze_command(data: Path, treatment: str, outcome: str, out: Path) -> list[str]:
    """``causal-assistant analyze`` in a fresh interpreter, as a user runs it."""
    return [
        sys.executable,
        "-m",
        "causal_assistant.ui.cli",
        "analyze",
        str(data),
        "--treatment",
        treatment,
        "--outcome",
        outcome,
        "--out",
        str(out),
    ]


def offline_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmark run: a home of its own, no LLM."""
    return {
        **os.environ,
        "CAUSAL_ASSISTANT_HOME": str(workdir / "home"),
        "CAUSAL_ASSISTANT_LLM": "off",
        **extra,
    }


def table(rows: list[dict], title: str) -> str:
    """A Markdown table, so the printed output can be pasted into README as is."""
    if not rows:
        return f"### {title}\n\n(no rows)\n"
    columns = list(rows[0])
    lines = [f"### {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


@contextmanager
def stopwatch(into: dict, key: str):
    started = time.perf_counter()
    yield
    into[key] = time.perf_counter() - started


def assistant_estimate(df: pd.DataFrame, treatment: str, outcome: str, target: str = "ate") -> dict:
    """Our automatic offline choices, end to end through the tools layer."""
    from causal_assistant.tools.data.intake import profile_table
    from causal_assistant.tools.data.modeldata import build_model_data
    from causal_assistant.tools.estimate.estimation import estimate_effect
    from causal_assistant.tools.identify.identification import identify_effect
    from causal_assistant.tools.model.modeling import propose_graph

    profile = profile_table(df)
    graph = propose_graph(df, profile, treatment, outcome).graph
    data = build_model_data(df, graph, treatment, outcome)
    ident = identify_effect(data)
    estimate = estimate_effect(data, ident, target=target, seed=0, n_bootstrap=100).estimate
    return {
        "value": estimate.value,
        "ci_low": estimate.ci_low,
        "ci_high": estimate.ci_high,
        "method": estimate.method,
    }


def plain_dowhy_estimate(df: pd.DataFrame, treatment: str, outcome: str) -> dict:
    """What a DoWhy user writes by hand: adjust for every other column."""
    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    data = df.copy()
    data.columns = [str(c).replace(".", "_").replace(" ", "_") for c in data.columns]
    treatment, outcome = treatment.replace(".", "_"), outcome.replace(".", "_")
    others = [c for c in data.columns if c not in (treatment, outcome)]
    if data[treatment].nunique() == 2:
        data[treatment] = data[treatment].astype(bool)
    model = CausalModel(data=data, treatment=treatment, outcome=outcome, common_causes=others)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(
        estimand, method_name="backdoor.linear_regression", confidence_intervals=True
    )
    low, high = estimate.get_confidence_intervals().ravel()[:2]
    return {
        "value": float(estimate.value),
        "ci_low": float(low),
        "ci_high": float(high),
        "method": "backdoor.linear_regression",
    }


def score(estimates: list[dict], truths: list[float]) -> dict:
    errors = [abs(e["value"] - t) for e, t in zip(estimates, truths, strict=True)]
    covered = [e["ci_low"] <= t <= e["ci_high"] for e, t in zip(estimates, truths, strict=True)]
    return {
        "mean abs error": sum(errors) / len(errors),
        "max abs error": max(errors),
        "coverage": sum(covered) / len(covered),
    }


Case = Callable[[int], tuple[pd.DataFrame, str, str, float, str]]
