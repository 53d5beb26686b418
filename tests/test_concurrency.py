"""Twenty conversations at once in one process, sharing one CAUSAL_ASSISTANT_HOME.

The chat server runs every user's conversation in the same process and the same SQLite
checkpointer, so anything cached per process (frames, model data, the saver, DoWhy's global
state) could leak one user's columns, messages or numbers into another's. Each thread here
analyses its own dataset with its own column names and its own true effect; every result
must match its own truth, and no message may mention another conversation's columns.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session

N_CONVERSATIONS = 20
ROWS = 300


def names(i: int) -> dict[str, str]:
    """Column names no other conversation uses (zero-padded: 'age_01' is not in 'age_10')."""
    return {key: f"{key}_{i:02d}" for key in ("treat", "outcome", "age", "score")}


def true_effect(i: int) -> float:
    return 1.0 + 2.0 * i


def dataset(i: int, folder: Path) -> Path:
    """Both covariates confound (they drive treatment and outcome), so the backdoor set is
    {age, score} and regression adjustment recovers ``true_effect(i)``."""
    rng = np.random.default_rng(100 + i)
    age = rng.normal(40, 10, ROWS)
    score = rng.normal(0, 1, ROWS)
    treat = (rng.random(ROWS) < 1 / (1 + np.exp(-(0.05 * (age - 40) + 0.8 * score)))).astype(int)
    outcome = true_effect(i) * treat + 0.1 * age + 1.5 * score + rng.normal(0, 1, ROWS)
    n = names(i)
    path = folder / f"conversation_{i:02d}.csv"
    pd.DataFrame(
        {
            n["age"]: age.round(3),
            n["score"]: score.round(4),
            n["treat"]: treat,
            n["outcome"]: outcome.round(4),
        }
    ).to_csv(path, index=False)
    return path


def converse(i: int, path: Path, home: Path, started: threading.Barrier) -> dict:
    """One user's whole conversation: analyse headless, then ask about a covariate."""
    n = names(i)
    session = Session(Settings.from_env(home=home, llm_mode="off", refutation_budget_s=2))
    started.wait(timeout=120)
    session.start(path, question=f"Does {n['treat']} raise {n['outcome']}?", auto_approve=True)
    state = session.send(f"why {n['age']}?")
    return {"thread_id": session.thread_id, "state": state, "result": session.result()}


@pytest.mark.slow
def test_twenty_conversations_at_once_share_nothing(tmp_path, isolated_home) -> None:
    paths = [dataset(i, tmp_path) for i in range(N_CONVERSATIONS)]
    barrier = threading.Barrier(N_CONVERSATIONS)
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=N_CONVERSATIONS) as pool:
        futures = [
            pool.submit(converse, i, paths[i], isolated_home, barrier)
            for i in range(N_CONVERSATIONS)
        ]
        outcomes = [future.result(timeout=600) for future in futures]
    elapsed = time.monotonic() - began

    assert len({o["thread_id"] for o in outcomes}) == N_CONVERSATIONS
    for i, outcome in enumerate(outcomes):
        n, state, result = names(i), outcome["state"], outcome["result"]
        assert not state.get("error"), (i, state.get("error"))
        assert (result["treatment"], result["outcome"]) == (n["treat"], n["outcome"])
        assert set(result["graph"]["nodes"]) <= set(n.values())
        assert set(result["identification"]["adjustment_set"]) == {n["age"], n["score"]}
        # within 0.6 (about 5 standard errors; the truths are 2 apart, so a mix-up shows),
        # not "inside the 95% interval", which one run in twenty misses by design
        estimate = result["estimate"]
        assert abs(estimate["value"] - true_effect(i)) < 0.6, (i, estimate)
        assert estimate["ci_low"] < estimate["value"] < estimate["ci_high"]
        assert state["dataset"]["name"] == paths[i].name

        said = "\n".join(m["content"] for m in state["messages"])
        assert n["age"] in state["messages"][-1]["content"]
        for j in range(N_CONVERSATIONS):
            if j != i:
                leaked = [name for name in names(j).values() if name in said]
                assert not leaked, f"conversation {i} mentions {leaked} of conversation {j}"

    # the checkpointer kept each thread apart too: reopen every conversation from disk
    for i, outcome in enumerate(outcomes):
        reopened = Session(
            Settings.from_env(home=isolated_home, llm_mode="off"), thread_id=outcome["thread_id"]
        )
        assert reopened.values["treatment"] == names(i)["treat"]
        assert reopened.values["messages"] == outcome["state"]["messages"]
    print(f"{N_CONVERSATIONS} conversations in {elapsed:.1f} s")
