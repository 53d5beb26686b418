"""Run untrusted analysis code (written by an LLM or a template) in a locked-down process.

Generated code can loop forever, eat memory, flood output, fork without end, write huge
files, read the app's secrets or phone home with the user's data, so it never runs in the
assistant's own interpreter. Each run gets a separate ``python -I`` process under
bubblewrap: its own user (nobody) and user, PID, network, IPC and mount namespaces, so it
sees only the system's read-only program files, a read-only copy of the data and its own
working folder; not the parent's ``/proc``, not the checkpoint database, not other users'
uploads, and nothing of it outlives the run. An environment built from scratch (no API
keys), kernel resource limits, pids and memory cgroups for the whole process tree where the
kernel offers them, and a wall-clock watchdog complete it. Without bubblewrap there is no
such boundary, so user code is refused with the reason rather than run unprotected.

Nothing the code writes is trusted: the parent reads only regular files of bounded size and
number from the output folder, never following links, and parses them as JSON or PNG bytes.
"""

import base64
import json
import math
import os
import re
import resource
import shutil
import signal
import stat
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
# Controller mounts, cgroup v1 first, then the v2 unified root: (root, limit file).
_CGROUPS = {
    "pids": (("/sys/fs/cgroup/pids", "pids.max"), ("/sys/fs/cgroup", "pids.max")),
    "memory": (
        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
        ("/sys/fs/cgroup", "memory.max"),
    ),
}
MAX_FIGURES = 20
MAX_OUTPUT_FILE_BYTES = 20 * 1024 * 1024
# Read-only program files the child may see; everything else of the machine is absent.
_SYSTEM_PATHS = (
    "/usr",
    "/bin",
    "/lib",
    "/lib64",
    "/lib32",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/fonts",
)
NO_ISOLATION = (
    "Running your own code is off: this machine has no working bubblewrap sandbox "
    "(install it with 'apt-get install bubblewrap'), and without it the code could read "
    "the app's secrets and other users' data."
)
_MEMORY_MARKERS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")

_RUNNER = '''\
"""Sandbox prelude and epilogue: predefine DATA_PATH and df, run the code, keep its outputs."""
import json
import linecache
import resource
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


def cap_processes(limit):
    """Bind the process count inside our own user namespace, where only the sandbox counts.

    The limit set from outside must leave room for the real user's other processes (the
    kernel counts them too), so on its own it can let the code start a few more; here the
    count is the sandbox's alone.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


try:
    if data_path:
        namespace["df"] = load(data_path, sys.argv[4])
    cap_processes(int(sys.argv[5]))
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


def _readable_paths() -> list[str]:
    """The Python that runs the code and its packages, besides the system's files."""
    paths = {sys.prefix, sys.base_prefix, str(Path(os.path.realpath(sys.executable)).parent)}
    return sorted(p for p in paths if not any(p.startswith(s + "/") for s in _SYSTEM_PATHS))


def _mounts(binds: list[tuple[str, str]]) -> list[str]:
    """bubblewrap options for (kind, path) pairs; a merged-/usr symlink stays a symlink."""
    options: list[str] = []
    for kind, path in binds:
        if os.path.islink(path) and kind == "ro":
            options += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            options += ["--ro-bind" if kind == "ro" else "--bind", path, path]
    return options


def isolation_prefix(root: Path, work: Path, data: str) -> list[str]:
    """The bubblewrap command that gives the code its own user and view of the machine."""
    readable = [("ro", p) for p in (*_SYSTEM_PATHS, *_readable_paths())]
    return [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--die-with-parent",
        "--new-session",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        *_mounts([*readable, ("rw", str(root))]),
        *_mounts([("ro", data)] if data else []),
        "--chdir",
        str(work),
        "--",
    ]


@cache
def isolation_available() -> bool:
    """Whether bubblewrap runs here (it needs user namespaces); probed once per process."""
    if shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="causal-sandbox-probe-") as root:
        command = [*isolation_prefix(Path(root), Path(root), ""), sys.executable, "-I", "-c", ""]
        try:
            probe = subprocess.run(command, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return probe.returncode == 0


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
def _cgroups(limits: SandboxLimits) -> Iterator[list[Path]]:
    """Pids and memory cgroups for the whole process tree; yields their procs files.

    RLIMIT_NPROC does not apply to root and RLIMIT_AS is per process (five children could
    each take the full limit), so the tree is bounded by the kernel's controllers where
    they are writable; the cgroups also find every leftover process at the end.
    """
    values = {"pids": str(limits.max_processes), "memory": str(limits.memory_mb * 1024 * 1024)}
    groups = [g for kind in _CGROUPS if (g := _make_cgroup(kind, values[kind])) is not None]
    try:
        yield [group / "cgroup.procs" for group in groups]
    finally:
        for group in groups:
            _empty_cgroup(group)


def _make_cgroup(kind: str, value: str) -> Path | None:
    for root, limit_name in _CGROUPS[kind]:
        candidate = Path(root) / f"causal-sandbox-{uuid.uuid4().hex}"
        try:
            candidate.mkdir()
        except OSError:
            continue
        # A plain directory (e.g. on a tmpfs) has no control files: it is not a cgroup.
        with suppress(OSError):
            if (candidate / limit_name).exists():
                (candidate / limit_name).write_text(value)
                return candidate
        with suppress(OSError):
            candidate.rmdir()
    return None


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


def _restrict_child(limits: SandboxLimits, cgroup_procs: list[Path], nproc: int) -> None:
    """Runs in the forked child before exec, so every limit binds the code and its children."""
    for procs in cgroup_procs:
        procs.write_text(str(os.getpid()))
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


def _tree_memory(root: int) -> int:
    """Bytes the process tree under ``root`` holds: the sum of each process's proportional
    share (PSS, so pages a fork shares are counted once), or its resident set where the
    kernel does not show PSS."""
    total, pending, seen = 0, [root], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        with suppress(OSError, ValueError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        total += _process_memory(pid)
    return total


def _process_memory(pid: int) -> int:
    with suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    with suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * resource.getpagesize()
    return 0


def _supervise(
    process: subprocess.Popen[bytes],
    limits: SandboxLimits,
    outputs: list[IO[bytes]],
    watch_memory: bool,
) -> Stop | None:
    """Wait for the code to exit, stopping it on the wall-clock or output-flood limit, and
    on the memory limit for the whole tree when no memory cgroup enforces it (a non-root
    user cannot make one; each process's own RLIMIT_AS bounds the overshoot between polls).

    The exit is observed without reaping (WNOWAIT), so the process-group id stays ours
    while we kill any children the code left running.
    """
    deadline = time.monotonic() + limits.wall_seconds
    flood = _FLOOD_FACTOR * limits.output_bytes
    memory = limits.memory_mb * 1024 * 1024
    stopped: Stop | None = None
    while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            stopped = "time_limit"
        elif any(os.fstat(stream.fileno()).st_size > flood for stream in outputs):
            stopped = "output_limit"
        elif watch_memory and _tree_memory(process.pid) > memory:
            stopped = "memory_limit"
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


def _signal_of(returncode: int) -> int | None:
    """The signal that ended the code: bubblewrap reports its child's death by signal N
    as exit status 128 + N, a direct child as -N."""
    if returncode < 0:
        return -returncode
    return returncode - 128 if 128 < returncode < 160 else None


def _classify(supervised: Stop | None, returncode: int, status: dict, stderr: str) -> Stop | None:
    """Why the run ended badly, if it did."""
    if supervised is not None:
        return supervised
    if returncode == 0:
        return None
    if status.get("error_type") == "MemoryError":
        return "memory_limit"
    killed_by = _signal_of(returncode)
    if killed_by == signal.SIGXCPU:
        return "time_limit"
    # An outside SIGKILL is the kernel's OOM killer; C extensions report failed allocations.
    if "error" not in status and (
        killed_by == signal.SIGKILL or any(marker in stderr for marker in _MEMORY_MARKERS)
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


def read_untrusted(path: Path, limit: int = MAX_OUTPUT_FILE_BYTES) -> bytes | None:
    """A file the sandbox wrote, only if it is a regular file (no link, FIFO or device)
    no larger than ``limit``; opened without following links and without blocking."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(handle, "rb", closefd=False) as stream:
            return stream.read(limit + 1)[:limit]
    finally:
        os.close(handle)


def _read_json(path: Path) -> object:
    """The runner's JSON output, or None if the code died before writing it."""
    raw = read_untrusted(path)
    try:
        return json.loads(raw.decode("utf-8")) if raw is not None else None
    except ValueError:
        return None


def _read_table(out: Path) -> list[dict] | None:
    """The records the runner wrote, if they are the list of rows it promises."""
    table = _read_json(out / "table.json")
    if isinstance(table, list) and all(isinstance(row, dict) for row in table):
        return table[:TABLE_ROWS]
    return None


def _collect_figures(out: Path) -> list[SandboxFigure]:
    # Name length first puts figure_10 after figure_9 without trusting the names to parse.
    names = sorted(
        (p.name for p in out.iterdir() if re.fullmatch(r"figure_\d{1,4}\.png", p.name)),
        key=lambda name: (len(name), name),
    )[:MAX_FIGURES]
    figures = []
    for name in names:
        png = read_untrusted(out / name)
        if png is not None and png.startswith(b"\x89PNG"):
            figures.append(
                SandboxFigure(name=name, png_base64=base64.b64encode(png).decode("ascii"))
            )
    return figures


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
    if not isolation_available():
        raise InputError(NO_ISOLATION)
    nproc = limits.max_processes + (_user_task_count() if os.geteuid() != 0 else 0)
    with (
        tempfile.TemporaryDirectory(prefix="causal-sandbox-") as root,
        _cgroups(limits) as cgroup_procs,
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
            *isolation_prefix(Path(root), work, data_copy),
            sys.executable,
            "-I",
            str(private / "runner.py"),
            str(private / "code.py"),
            data_copy,
            str(out),
            str(private / "loader.py"),
            str(limits.max_processes),
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
        memory_cgroup = any(
            (procs.parent / limit).exists()
            for procs in cgroup_procs
            for _, limit in _CGROUPS["memory"]
        )
        supervised = _supervise(
            process, limits, [stdout_file, stderr_file], watch_memory=not memory_cgroup
        )
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
        network_isolated=True,
        duration_s=round(duration, 3),
        reading=_reading(
            stopped, process.returncode, status, stdout, len(figures), limits, duration
        ),
        code=code,
    )
