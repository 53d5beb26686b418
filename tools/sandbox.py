"""Run untrusted analysis code (written by an LLM or a template) in a locked-down process.

Generated code can loop forever, eat memory, flood output, fork without end, write huge
files or try to phone home with the user's data, so it never runs in the assistant's own
interpreter. Each run gets a separate ``python -I`` process in a fresh temporary directory
holding a copy of the data, an environment with nothing inherited from ours (no API keys),
kernel resource limits, a new network namespace when ``unshare --net`` works, and a
wall-clock watchdog that kills the whole process group.

The scrubbed environment keeps secrets out of ``os.environ``; it is not a boundary against
code running as the same user reading files or ``/proc/<pid>/environ``. Deployments that
need that boundary run the app as an unprivileged user or inside a container.
"""

import base64
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, Field

from causal_assistant.tools.data.intake import load_code
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.results import ToolResult

Stop = Literal["time_limit", "memory_limit", "output_limit", "error"]

TABLE_ROWS = 200
# Output this many times past the byte limit is a flood: nobody reads it, so stop the code.
_FLOOD_FACTOR = 10
_POLL_SECONDS = 0.02
# Pids-controller mounts: cgroup v1 first, then the v2 unified root.
_PIDS_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
_MEMORY_MARKERS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")

_RUNNER = '''\
"""Sandbox prelude and epilogue: predefine DATA_PATH and df, run the code, keep its outputs."""
import json
import linecache
import sys
import traceback
from pathlib import Path

code_path, data_path, out = sys.argv[1], sys.argv[2] or None, Path(sys.argv[3])
source = Path(code_path).read_text(encoding="utf-8")
# Registering the source lets tracebacks quote the user's lines under the name <code>.
linecache.cache["<code>"] = (len(source), None, source.splitlines(True), "<code>")
namespace = {"__name__": "__main__", "DATA_PATH": data_path}
status = {}


def load(path, loader_path):
    """Read the data exactly as intake did: the loader is intake's own pandas call."""
    import pandas as pd

    scope = {"pd": pd, "DATA_PATH": path}
    exec(Path(loader_path).read_text(encoding="utf-8"), scope)
    return scope["df"]


try:
    if data_path:
        namespace["df"] = load(data_path, sys.argv[4])
    exec(compile(source, "<code>", "exec"), namespace)
except SystemExit:
    raise
except BaseException as exc:
    # Drop this runner's own frame so the traceback starts in the user's code.
    traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
    status["error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()
    status["error_type"] = type(exc).__name__
finally:
    try:
        pyplot = sys.modules.get("matplotlib.pyplot")
        for number in pyplot.get_fignums() if pyplot else []:
            pyplot.figure(number).savefig(out / f"figure_{number}.png", dpi=100)
        pandas = sys.modules.get("pandas")
        result = namespace.get("result")
        if pandas is not None and isinstance(result, pandas.DataFrame):
            frame = result.head(TABLE_ROWS)
            if any(name is not None for name in frame.index.names):
                frame = frame.reset_index()
            records = frame.to_json(orient="records", date_format="iso", default_handler=str)
            (out / "table.json").write_text(records, encoding="utf-8")
            status["table_rows"] = len(result)
    except Exception as exc:
        print(f"[sandbox] could not collect figures or the result table: {exc!r}", file=sys.stderr)
    (out / "status.json").write_text(json.dumps(status), encoding="utf-8")
if "error" in status:
    sys.exit(1)
'''.replace("TABLE_ROWS", str(TABLE_ROWS))


class SandboxLimits(BaseModel):
    """Resource caps for one run; defaults suit an interactive analysis step."""

    wall_seconds: float = Field(30.0, gt=0)
    cpu_seconds: int = Field(30, gt=0)
    memory_mb: int = Field(1024, gt=0)
    output_bytes: int = Field(100_000, gt=0)
    file_mb: int = Field(50, gt=0)
    max_processes: int = Field(64, gt=0)


class SandboxFigure(BaseModel):
    """A matplotlib figure the code left open, as a PNG the UI can show directly."""

    name: str
    png_base64: str


class SandboxResult(ToolResult):
    """What the code did: exit status, captured output, figures, an optional table."""

    ok: bool
    returncode: int | None
    stdout: str
    stderr: str
    figures: list[SandboxFigure]
    table: list[dict] | None = None
    stopped: Stop | None = None
    network_isolated: bool = False
    duration_s: float


def limits_from_env() -> SandboxLimits:
    """Let deployments tune the two limits users notice, time and memory, without code."""
    seconds = os.environ.get("CAUSAL_ASSISTANT_SANDBOX_SECONDS")
    memory = os.environ.get("CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB")
    values: dict[str, float | int] = {}
    try:
        if seconds:
            values["wall_seconds"] = float(seconds)
            values["cpu_seconds"] = max(1, math.ceil(float(seconds)))
        if memory:
            values["memory_mb"] = int(memory)
        return SandboxLimits.model_validate(values)
    except ValueError as exc:
        raise InputError(
            f"CAUSAL_ASSISTANT_SANDBOX_SECONDS={seconds!r} and "
            f"CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB={memory!r} must be positive numbers."
        ) from exc


@cache
def _network_prefix() -> tuple[str, ...]:
    """Command prefix that gives the child an empty network namespace, or () if unavailable.

    Probed once per process: ``unshare --net`` needs privileges or user namespaces, which
    many containers lack, and then we run without network isolation rather than not at all.
    """
    if shutil.which("unshare") is None:
        return ()
    try:
        probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return ("unshare", "--net") if probe.returncode == 0 else ()


def _user_task_count() -> int:
    """Threads the real user already runs: RLIMIT_NPROC counts them all, not only ours."""
    uid = str(os.getuid())
    count = 0
    for status_file in Path("/proc").glob("[0-9]*/status"):
        with suppress(OSError):
            fields = dict(
                line.split(":", 1) for line in status_file.read_text().splitlines() if ":" in line
            )
            if fields.get("Uid", "").split()[:1] == [uid]:
                count += int(fields.get("Threads", "1"))
    return count


@contextmanager
def _pids_cgroup(max_processes: int) -> Iterator[Path | None]:
    """A pids cgroup capping the run's process count; yields its procs file or None.

    RLIMIT_NPROC does not apply to root, so as root a fork bomb is only contained by the
    cgroup pids controller. The cgroup also finds every leftover process at the end, even
    ones that left the process group. Without a writable controller we yield None.
    """
    group = None
    for root in _PIDS_CGROUP_ROOTS:
        candidate = Path(root) / f"causal-sandbox-{uuid.uuid4().hex}"
        try:
            candidate.mkdir()
        except OSError:
            continue
        limit_file = candidate / "pids.max"
        # A plain directory (e.g. on a tmpfs) has no control files: it is not a cgroup.
        with suppress(OSError):
            if limit_file.exists():
                limit_file.write_text(str(max_processes))
                group = candidate
                break
        candidate.rmdir()
    try:
        yield group / "cgroup.procs" if group else None
    finally:
        if group is not None:
            _empty_cgroup(group)


def _empty_cgroup(group: Path) -> None:
    """Kill what is left in the cgroup and remove it; a cgroup only goes once it is empty."""
    for _ in range(100):
        with suppress(OSError):
            pids = (group / "cgroup.procs").read_text().split()
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            group.rmdir()
            return
        time.sleep(_POLL_SECONDS)


def _capped_limit(kind: int, value: int) -> tuple[int, int]:
    """(soft, hard) no higher than the current hard limit, which we may not raise."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    return value, value


def _restrict_child(limits: SandboxLimits, cgroup_procs: Path | None, nproc: int) -> None:
    """Runs in the forked child before exec, so every limit binds the code and its children."""
    if cgroup_procs is not None:
        cgroup_procs.write_text(str(os.getpid()))
    mb = 1024 * 1024
    caps = {
        resource.RLIMIT_AS: limits.memory_mb * mb,
        resource.RLIMIT_FSIZE: limits.file_mb * mb,
        resource.RLIMIT_NPROC: nproc,
        resource.RLIMIT_CORE: 0,
    }
    for kind, value in caps.items():
        resource.setrlimit(kind, _capped_limit(kind, value))
    # SIGXCPU at the soft limit ends the run; the hard limit's SIGKILL is the backstop.
    _, cpu_hard = _capped_limit(resource.RLIMIT_CPU, limits.cpu_seconds + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (min(limits.cpu_seconds, cpu_hard), cpu_hard))


def _child_env(work: Path, private: Path) -> dict[str, str]:
    """A fresh environment built from scratch, so no secret of ours can leak into it."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        # Keep matplotlib's cache and any temp files inside the directory we delete.
        "MPLCONFIGDIR": str(private / "mpl"),
        "TMPDIR": str(private / "tmp"),
        # Every BLAS thread counts against the process and address-space limits.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _kill_group(pid: int) -> None:
    """SIGKILL the code and every process it started that stayed in its process group."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _supervise(
    process: subprocess.Popen[bytes], limits: SandboxLimits, outputs: list[IO[bytes]]
) -> Stop | None:
    """Wait for the code to exit, stopping it on the wall-clock or output-flood limit.

    The exit is observed without reaping (WNOWAIT), so the process-group id stays ours
    while we kill any children the code left running.
    """
    deadline = time.monotonic() + limits.wall_seconds
    flood = _FLOOD_FACTOR * limits.output_bytes
    stopped: Stop | None = None
    while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            stopped = "time_limit"
        elif any(os.fstat(stream.fileno()).st_size > flood for stream in outputs):
            stopped = "output_limit"
        if stopped:
            break
        time.sleep(_POLL_SECONDS)
    _kill_group(process.pid)
    process.wait()
    return stopped


def _read_capped(stream: IO[bytes], limit: int) -> str:
    """The first ``limit`` bytes as text, with a note saying how much was cut."""
    total = os.fstat(stream.fileno()).st_size
    stream.seek(0)
    text = stream.read(limit).decode("utf-8", errors="replace")
    if total > limit:
        text += f"\n[output truncated: showing the first {limit} of {total} bytes]\n"
    return text


def _classify(supervised: Stop | None, returncode: int, status: dict, stderr: str) -> Stop | None:
    """Why the run ended badly, if it did."""
    if supervised is not None:
        return supervised
    if returncode == 0:
        return None
    if status.get("error_type") == "MemoryError":
        return "memory_limit"
    if returncode == -signal.SIGXCPU:
        return "time_limit"
    # An outside SIGKILL is the kernel's OOM killer; C extensions report failed allocations.
    if "error" not in status and (
        returncode == -signal.SIGKILL or any(marker in stderr for marker in _MEMORY_MARKERS)
    ):
        return "memory_limit"
    return "error"


def _reading(
    stopped: Stop | None,
    returncode: int,
    status: dict,
    stdout: str,
    figures: int,
    limits: SandboxLimits,
    duration: float,
) -> str:
    """One or two plain sentences a non-programmer can act on."""
    after = f"The code was stopped after {duration:.1f} s"
    if stopped == "time_limit":
        return f"{after}: it ran past the time limit. Make it do less work or raise the limit."
    if stopped == "memory_limit":
        return (
            f"{after}: it needed more than the {limits.memory_mb} MB memory limit. "
            "Work on a sample or smaller objects, or raise the limit."
        )
    if stopped == "output_limit":
        return (
            f"{after}: it printed far more than the {limits.output_bytes}-byte output limit. "
            "Print summaries instead of whole tables."
        )
    if stopped == "error":
        if "error" in status:
            return f"The code failed with {status['error'].splitlines()[0][:300]}."
        if returncode < 0:
            return f"The code was killed by signal {signal.Signals(-returncode).name}."
        return f"The code exited with status {returncode}."
    lines = len(stdout.splitlines())
    text = f"The code ran in {duration:.1f} s and printed {lines} line{'s' * (lines != 1)}."
    extras = []
    if figures:
        extras.append(f"drew {figures} figure{'s' * (figures != 1)}")
    if "table_rows" in status:
        rows = status["table_rows"]
        kept = f" (the first {TABLE_ROWS} are kept)" if rows > TABLE_ROWS else ""
        extras.append(f"returned a table of {rows} rows{kept}")
    return text + (f" It {' and '.join(extras)}." if extras else "")


def _read_json(path: Path) -> object:
    """The runner's JSON output, or None if the code died before writing it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_table(out: Path) -> list[dict] | None:
    """The records the runner wrote, if they are the list of rows it promises."""
    table = _read_json(out / "table.json")
    if isinstance(table, list) and all(isinstance(row, dict) for row in table):
        return table
    return None


def _collect_figures(out: Path) -> list[SandboxFigure]:
    # Name length first puts figure_10 after figure_9 without trusting the names to parse.
    paths = sorted(out.glob("figure_*.png"), key=lambda p: (len(p.name), p.name))
    return [
        SandboxFigure(name=p.name, png_base64=base64.b64encode(p.read_bytes()).decode("ascii"))
        for p in paths
    ]


def run_in_sandbox(
    code: str, data_path: str | Path | None = None, limits: SandboxLimits | None = None
) -> SandboxResult:
    """Run ``code`` in a fresh, limited process and report what it printed, drew and returned.

    The code sees ``DATA_PATH`` (its own copy of the data file, in its working directory)
    and ``df`` (that file loaded with pandas) when ``data_path`` is given. Open matplotlib
    figures come back as PNGs and a DataFrame left in ``result`` as records. The temporary
    directory is removed before returning, whatever the code did.
    """
    limits = limits or limits_from_env()
    source = Path(data_path) if data_path is not None else None
    if source is not None and not source.is_file():
        raise InputError(f"The data file {source} does not exist.")
    prefix = _network_prefix()
    nproc = limits.max_processes + (_user_task_count() if os.geteuid() != 0 else 0)
    with (
        tempfile.TemporaryDirectory(prefix="causal-sandbox-") as root,
        _pids_cgroup(limits.max_processes) as cgroup_procs,
        tempfile.TemporaryFile() as stdout_file,
        tempfile.TemporaryFile() as stderr_file,
    ):
        work, private = Path(root) / "work", Path(root) / "sandbox"
        out = private / "out"
        for folder in (work, out, private / "mpl", private / "tmp"):
            folder.mkdir(parents=True)
        data_copy = ""
        if source is not None:
            data_copy = str(work / source.name)
            shutil.copyfile(source, data_copy)
        (private / "runner.py").write_text(_RUNNER, encoding="utf-8")
        (private / "code.py").write_text(code, encoding="utf-8")
        (private / "loader.py").write_text(
            load_code(Path(data_copy)) if data_copy else "", encoding="utf-8"
        )
        command = [
            *prefix,
            sys.executable,
            "-I",
            str(private / "runner.py"),
            str(private / "code.py"),
            data_copy,
            str(out),
            str(private / "loader.py"),
        ]
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=work,
            env=_child_env(work, private),
            stdin=subprocess.DEVNULL,
            stdout=stdout_file,
            stderr=stderr_file,
            start_new_session=True,
            preexec_fn=lambda: _restrict_child(limits, cgroup_procs, nproc),
        )
        supervised = _supervise(process, limits, [stdout_file, stderr_file])
        duration = time.monotonic() - started
        stdout = _read_capped(stdout_file, limits.output_bytes)
        stderr = _read_capped(stderr_file, limits.output_bytes)
        status = _read_json(out / "status.json")
        status = status if isinstance(status, dict) else {}
        table = _read_table(out) if "table_rows" in status else None
        figures = _collect_figures(out)
    stopped = _classify(supervised, process.returncode, status, stderr)
    return SandboxResult(
        ok=stopped is None,
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        figures=figures,
        table=table,
        stopped=stopped,
        network_isolated=bool(prefix),
        duration_s=round(duration, 3),
        reading=_reading(
            stopped, process.returncode, status, stdout, len(figures), limits, duration
        ),
        code=code,
    )
