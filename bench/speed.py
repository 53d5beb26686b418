"""Speed: the agent against its own exported script and against plain DoWhy.

`causal-assistant analyze` runs every stage through LangGraph with checkpoints; the
exported `analysis.py --refute` recomputes the same estimate and refutations with no agent
around it. The ratio is the price of the assistant (goal: at most 1.3). The second table
runs the whole `analyze` on 50,000 rows x 10 columns beside the script a DoWhy user writes
by hand: the four stages and DoWhy's four default refuters (100 simulations each), each in
a fresh process (goal: at most half of DoWhy's time).
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import analyze_command, offline_env, table


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


PLAIN_DOWHY_REFUTERS = (
    "placebo_treatment_refuter",
    "random_common_cause",
    "data_subset_refuter",
    "bootstrap_refuter",
)


def plain_dowhy_pipeline(path: str, treatment: str, outcome: str) -> None:
    """What a DoWhy user runs by hand: model (every other column a common cause), identify,
    estimate by linear regression, then the four refuters at their defaults."""
    import logging
    import warnings

    import pandas as pd
    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    data = pd.read_parquet(path)
    data[treatment] = data[treatment].astype(bool)
    data = pd.get_dummies(data, drop_first=True, dtype=float)
    others = [c for c in data.columns if c not in (treatment, outcome)]
    model = CausalModel(data=data, treatment=treatment, outcome=outcome, common_causes=others)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(
        estimand, method_name="backdoor.linear_regression", confidence_intervals=True
    )
    for name in PLAIN_DOWHY_REFUTERS:
        model.refute_estimate(estimand, estimate, method_name=name)


def versus_dowhy(n_rows: int = 50_000, n_columns: int = 10) -> str:
    from bench.scale import make_data

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.parquet"
        make_data(n_rows, n_columns=n_columns).to_parquet(data)
        env = offline_env(Path(tmp))
        ours = timed(analyze_command(data, "treat", "y", Path(tmp) / "out"), root, env)
        call = f"from bench.speed import plain_dowhy_pipeline as p; p({str(data)!r}, 'treat', 'y')"
        theirs = timed([sys.executable, "-c", call], root, env)
    row = {
        "data": f"{n_rows:,} rows x {n_columns} columns",
        "plain DoWhy s": theirs,
        "analyze s": ours,
        "analyze / DoWhy": ours / theirs,
        "target": "<= 0.5: " + ("met" if ours / theirs <= 0.5 else "NOT met"),
    }
    return table([row], "Whole analysis: `analyze` vs plain DoWhy's four stages and four refuters")


def run(data: Path | None = None, repeats: int = 2, with_dowhy: bool = True) -> str:
    root = Path(__file__).resolve().parents[1]
    data = data or root / "examples" / "training.csv"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        env = offline_env(Path(tmp))
        analyze = analyze_command(data, "treat", "earnings_after", out)
        for attempt in range(1, repeats + 1):
            agent = timed(analyze, root, env)
            script_only = timed([sys.executable, "analysis.py"], out, env)
            script_refute = timed([sys.executable, "analysis.py", "--refute"], out, env)
            rows.append(
                {
                    "run": attempt,
                    "analyze s": agent,
                    "analysis.py s": script_only,
                    "analysis.py --refute s": script_refute,
                    "overhead ratio": agent / script_refute,
                }
            )
    own = table(rows, f"Speed: agent vs its exported script ({data.name}; target ratio <= 1.3)")
    return own + "\n" + versus_dowhy() if with_dowhy else own


if __name__ == "__main__":
    print(run())
