"""Scale: time per stage and peak memory for 10k, 100k and 1M rows by 20 columns.

Each size runs `causal-assistant analyze` in a fresh process (offline), so the peak RSS is
the whole product's, and the stage timings come from its result.json.
"""

import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import analyze_command, offline_env, table

N_COLUMNS = 20
TRUE_EFFECT = 2.0


def make_data(n_rows: int, seed: int = 0, n_columns: int = N_COLUMNS) -> pd.DataFrame:
    """n_columns - 3 confounders, a three-level segment, a binary treatment and an outcome."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, n_columns - 3))
    logit = x[:, :5] @ np.linspace(0.4, -0.4, 5)[: x.shape[1]]
    treat = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    y = TRUE_EFFECT * treat + x @ np.linspace(1, 0.1, n_columns - 3) + rng.normal(size=n_rows)
    frame = pd.DataFrame(x, columns=[f"x{i:02d}" for i in range(n_columns - 3)])
    frame["segment"] = rng.choice(["a", "b", "c"], n_rows)
    frame["treat"], frame["y"] = treat, y
    return frame


def run_one(n_rows: int, workdir: Path) -> dict:
    data = workdir / f"scale_{n_rows}.parquet"
    make_data(n_rows).to_parquet(data)
    out = workdir / f"out_{n_rows}"
    env = offline_env(workdir, CAUSAL_ASSISTANT_MAX_UPLOAD_MB="4000")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        analyze_command(data, "treat", "y", out), check=True, env=env, capture_output=True
    )
    wall = time.perf_counter() - started
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    result = json.loads((out / "result.json").read_text())
    row = {
        "rows": f"{n_rows:,}",
        "wall s": wall,
        "peak MB": peak_mb,
        "estimate": result["estimate"]["value"],
        "truth": TRUE_EFFECT,
    }
    row.update({f"{stage} s": seconds for stage, seconds in result["timings_s"].items()})
    return row


def run(sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_one(n, Path(tmp)) for n in sizes]
    note = (
        "peak MB is the largest resident set of any analysis process so far (ru_maxrss "
        "of children), so read it per row in increasing size"
    )
    return table(rows, f"Scale: offline analysis of N rows x {N_COLUMNS} columns") + f"\n{note}\n"


if __name__ == "__main__":
    print(run())
