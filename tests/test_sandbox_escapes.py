"""Real escape attempts against the sandbox: what the issue found, each now held.

Each test runs code an attacker would write (read the app's secrets, reach the checkpoint
database, write outside, hand the parent a FIFO or a link, outgrow the memory limit with
children) and checks the outcome on the host, not what the sandbox says about itself.
"""

import os
from pathlib import Path

import pytest

from causal_assistant.tools.sandbox import SandboxLimits, run_in_sandbox

pytestmark = pytest.mark.timeout(90)


def test_code_cannot_see_the_apps_secrets_files_or_processes(monkeypatch, tmp_path):
    secret = "sk-test-do-not-leak-7731"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    home = tmp_path / "home"
    home.mkdir()
    (home / "checkpoints.sqlite").write_text("every thread of every user")
    code = (
        "import os, glob\n"
        "leaks = []\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try:\n"
        f"        if {secret!r} in open(path, errors='replace').read(): leaks.append(path)\n"
        "    except OSError: pass\n"
        f"print(len(leaks), os.path.exists('/etc/shadow'), os.path.exists({str(home)!r}),"
        " os.getuid(), len(glob.glob('/proc/[0-9]*')))\n"
    )
    result = run_in_sandbox(code)
    assert result.ok, result.stderr
    leaks, shadow, home_seen, uid, n_processes = result.stdout.split()
    assert (leaks, shadow, home_seen) == ("0", "False", "False")
    assert uid == "65534" and int(n_processes) < 10  # its own PID namespace


def test_code_cannot_write_outside_its_folder(tmp_path):
    target = tmp_path / "planted.txt"
    code = (
        "import os\n"
        "done = []\n"
        f"for path in ({str(target)!r}, '/usr/planted.txt'):\n"
        "    try:\n"
        "        open(path, 'w').write('x'); done.append(path)\n"
        "    except OSError: pass\n"
        "print(len(done))\n"
    )
    result = run_in_sandbox(code)
    assert result.stdout.strip() == "0"
    assert not target.exists() and not Path("/usr/planted.txt").exists()


def test_fifo_and_links_in_the_output_folder_neither_hang_nor_leak(tmp_path):
    code = (
        "import os, sys\n"
        "out = sys.argv[3]\n"
        "import matplotlib.pyplot as plt\n"
        "os.mkfifo(os.path.join(out, 'table.json'))\n"
        "os.symlink('/dev/zero', os.path.join(out, 'figure_1.png'))\n"
        "os.symlink('/etc/hostname', os.path.join(out, 'status.json'))\n"
        "os._exit(0)\n"
    )
    result = run_in_sandbox(code, limits=SandboxLimits(wall_seconds=10))
    assert result.figures == [] and result.table is None
    assert result.duration_s < 10


def test_memory_limit_binds_the_whole_process_tree():
    if (
        not Path("/sys/fs/cgroup/memory").is_dir()
        and not Path("/sys/fs/cgroup/cgroup.controllers").exists()
    ):
        pytest.skip("no memory cgroup controller on this kernel")
    code = (
        "import multiprocessing as mp\n"
        "def hold(q):\n"
        "    block = bytearray(b'x') * (300 * 1024 * 1024)\n"
        "    q.put(len(block))\n"
        "    import time; time.sleep(3)\n"
        "if __name__ == '__main__':\n"
        "    q = mp.Queue()\n"
        "    kids = [mp.Process(target=hold, args=(q,)) for _ in range(5)]\n"
        "    [k.start() for k in kids]\n"
        "    [k.join() for k in kids]\n"
        "    print(sum(k.exitcode == 0 for k in kids))\n"
    )
    result = run_in_sandbox(code, limits=SandboxLimits(memory_mb=700, wall_seconds=40))
    held = int(result.stdout.split()[-1]) if result.stdout.strip() else 0
    assert held <= 2, result.stdout  # five children of 300 MB do not fit in 700 MB together
    assert os.getpid()  # the parent survived
