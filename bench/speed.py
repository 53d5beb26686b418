"""Speed: the agent's overhead over its own exported script, on the same data and machine.

`causal-assistant analyze` runs every stage through LangGraph with checkpoints; the
exported `analysis.py --refute` recomputes the same estimate and refutations with no agent
around it. The ratio is the price of the assistant (goal: at most 1.3).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import table


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run(data: Path | None = None, repeats: int = 2) -> str:
    root = Path(__file__).resolve().parents[1]
    data = data or root / "examples" / "training.csv"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        env = {
            **os.environ,
            "CAUSAL_ASSISTANT_HOME": str(Path(tmp) / "home"),
            "CAUSAL_ASSISTANT_LLM": "off",
        }
        analyze = [
            sys.executable,
            "-m",
            "causal_assistant.ui.cli",
            "analyze",
            str(data),
            "--treatment",
            "treat",
            "--outcome",
            "earnings_after",
            "--out",
            str(out),
        ]
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
    return table(rows, f"Speed: agent vs its exported script ({data.name})")


if __name__ == "__main__":
    print(run())
