"""The sandbox against real misbehaving code: each limit must actually stop a real process."""

import base64
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from causal_assistant.tools.errors import InputError
from causal_assistant.tools.sandbox import SandboxLimits, limits_from_env, run_in_sandbox

# A hang in the sandbox must fail one test, not stall the suite.
pytestmark = pytest.mark.timeout(60)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _running(pid: int) -> bool:
    """Whether a process still runs; a zombie has already let go of every resource."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _host_processes_with(marker: str) -> list[int]:
    """Live host processes whose command line holds ``marker`` (the sandbox has its own
    PID namespace, so the pids it prints mean nothing out here)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and _running(int(entry.name)):
                found.append(int(entry.name))
    return found


def test_wall_clock_limit_stops_an_infinite_loop_and_its_children() -> None:
    code = (
        "import os, subprocess\n"
        "child = subprocess.Popen(['sleep', '61.2345'])\n"
        "print(os.getcwd(), child.pid, flush=True)\n"
        "while True:\n"
        "    pass\n"
    )
    started = time.monotonic()
    result = run_in_sandbox(code, limits=SandboxLimits(wall_seconds=2, cpu_seconds=30))
    elapsed = time.monotonic() - started

    assert result.stopped == "time_limit" and not result.ok
    assert elapsed < 2 + 3
    assert "time limit" in result.reading
    cwd, _ = result.stdout.split()
    assert not _host_processes_with("sleep 61.2345")
    assert not Path(cwd).exists()


def test_cpu_limit_stops_a_busy_loop_before_the_wall_clock() -> None:
    result = run_in_sandbox(
        "while True:\n    pass\n", limits=SandboxLimits(wall_seconds=20, cpu_seconds=1)
    )

    assert result.stopped == "time_limit"
    assert result.duration_s < 5


def test_memory_limit_stops_a_huge_allocation() -> None:
    result = run_in_sandbox(
        "x = bytearray(4 * 1024**3)\nprint('allocated')", limits=SandboxLimits(memory_mb=256)
    )

    assert result.stopped == "memory_limit" and not result.ok
    assert "allocated" not in result.stdout
    assert "MemoryError" in result.stderr
    assert "256 MB" in result.reading


def test_output_flood_is_truncated_and_stopped() -> None:
    limits = SandboxLimits(output_bytes=10_000, wall_seconds=20)
    result = run_in_sandbox("while True:\n    print('x' * 1000)\n", limits=limits)

    assert result.stopped == "output_limit"
    assert result.duration_s < 10
    assert len(result.stdout) < 10_000 + 200
    assert "[output truncated: showing the first 10000 of" in result.stdout


def test_long_output_is_truncated_with_a_note_but_the_run_succeeds() -> None:
    result = run_in_sandbox("print('y' * 50_000)", limits=SandboxLimits(output_bytes=10_000))

    assert result.ok and result.stopped is None
    assert result.stdout.startswith("y" * 10_000)
    assert "[output truncated: showing the first 10000 of 50001 bytes]" in result.stdout


def test_environment_carries_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "secret-value-123")
    monkeypatch.setenv("CAUSAL_ASSISTANT_TEST_TOKEN", "another-secret")
    code = "import json, os\nprint(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd()}))"

    result = run_in_sandbox(code)
    seen = json.loads(result.stdout)

    assert result.ok
    assert "OPENAI_API_KEY" not in seen["env"]
    assert "secret" not in result.stdout
    assert seen["env"]["HOME"] == seen["cwd"]
    inherited = {k for k, v in seen["env"].items() if os.environ.get(k) == v}
    assert inherited <= {"PATH", "LANG"}


def test_working_directory_is_an_isolated_temporary_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n")
    parent = tmp_path / "parent"
    parent.mkdir()
    monkeypatch.chdir(parent)
    code = (
        "import json, os\n"
        "print(json.dumps([os.getcwd(), DATA_PATH, sorted(os.listdir('.'))]))\n"
        "open('made_here.txt', 'w').write('x')\n"
        "try:\n"
        "    open(DATA_PATH, 'a').write('9,9\\n')\n"
        "except OSError as exc:\n"
        "    print(exc.errno == 30)\n"
    )

    result = run_in_sandbox(code, data)
    first, read_only = result.stdout.splitlines()
    cwd, data_copy, listing = json.loads(first)
    assert read_only == "True"  # the data copy is read-only

    assert result.ok, result.stderr
    assert Path(cwd) != parent and parent not in Path(cwd).parents
    assert Path(data_copy) == Path(cwd) / "data.csv"
    assert listing == ["data.csv"]
    assert list(parent.iterdir()) == []
    assert data.read_text() == "x,y\n1,2\n"
    assert not Path(cwd).exists() and not Path(cwd).parent.exists()


def test_writing_past_the_file_size_limit_fails() -> None:
    code = "open('big.bin', 'wb').write(b'0' * 2 * 1024 * 1024)\nprint('written')"

    result = run_in_sandbox(code, limits=SandboxLimits(file_mb=1))

    assert not result.ok and result.stopped == "error"
    assert "written" not in result.stdout
    assert "File too large" in result.stderr


def test_fork_bomb_is_contained_by_the_process_limit() -> None:
    """Holds even when the user's other processes end while the code runs.

    The limit set from outside counts every process of the real user, so it must leave room
    for the ones alive at the start; those that then end would hand their room to the code
    unless the limit is also set inside the sandbox's own user namespace.
    """
    code = (
        "import os, time\n"
        "time.sleep(1.5)\n"
        "pids, failure = [], 'none'\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as exc:\n"
        "        failure = type(exc).__name__\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    pids.append(pid)\n"
        "print(failure, *pids)\n"
    )

    ending = [subprocess.Popen(["sleep", "0.2"]) for _ in range(10)]
    result = run_in_sandbox(code, limits=SandboxLimits(max_processes=16, wall_seconds=20))
    for process in ending:
        process.wait()
    failure, *pids = result.stdout.split()

    assert failure == "BlockingIOError"
    # The limit counts the code's own process and bubblewrap's init beside the children.
    assert 0 < len(pids) + 2 <= 16
    assert not _host_processes_with("causal-sandbox-")


def test_open_figures_come_back_as_png() -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3])\n"
        "plt.figure()\n"
        "plt.bar(['a', 'b'], [3, 1])\n"
    )

    result = run_in_sandbox(code)

    assert result.ok, result.stderr
    assert [f.name for f in result.figures] == ["figure_1.png", "figure_2.png"]
    for figure in result.figures:
        assert base64.b64decode(figure.png_base64).startswith(PNG_MAGIC)
    assert "2 figures" in result.reading


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_df_is_preloaded_from_the_data_file(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    data = tmp_path / f"data{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(data)
    else:
        frame.to_csv(data, sep="\t" if suffix == ".tsv" else ",", index=False)

    result = run_in_sandbox(
        "print(type(df).__name__, df.shape, list(df.columns), df.y.sum())", data
    )

    assert result.stdout.strip() == "DataFrame (3, 2) ['x', 'y'] 4.5"


def test_result_dataframe_comes_back_as_capped_records() -> None:
    code = (
        "import pandas as pd\n"
        "result = pd.DataFrame({'n': range(500)}, index=pd.Index(range(500), name='id'))\n"
    )

    result = run_in_sandbox(code)

    assert result.table is not None and len(result.table) == 200
    assert result.table[0] == {"id": 0, "n": 0} and result.table[-1] == {"id": 199, "n": 199}
    assert "table of 500 rows" in result.reading


def test_user_exception_is_reported_with_its_own_traceback() -> None:
    code = "def pick():\n    raise ValueError('no column named wage')\n\npick()\n"

    result = run_in_sandbox(code)

    assert not result.ok and result.stopped == "error" and result.returncode == 1
    assert result.reading == "The code failed with ValueError: no column named wage."
    assert "raise ValueError('no column named wage')" in result.stderr
    assert "runner.py" not in result.stderr
    assert result.code == code


def test_network_is_blocked_when_isolated() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('blocked', type(exc).__name__)\n"
        )
        result = run_in_sandbox(code)

    assert result.ok, result.stderr
    assert result.network_isolated
    assert result.stdout.startswith("blocked")


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUSAL_ASSISTANT_SANDBOX_SECONDS", "7.5")
    monkeypatch.setenv("CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB", "300")
    limits = limits_from_env()
    assert (limits.wall_seconds, limits.cpu_seconds, limits.memory_mb) == (7.5, 8, 300)

    monkeypatch.setenv("CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB", "lots")
    with pytest.raises(InputError, match="CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB"):
        limits_from_env()


def test_missing_data_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        run_in_sandbox("print(1)", tmp_path / "missing.csv")
