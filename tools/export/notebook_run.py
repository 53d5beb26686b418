"""Run the exported notebook once at export time so it travels with its outputs saved.

With nbclient and a Python kernel installed (the development extras), the notebook runs
in a real kernel. A plain install has neither, so the cells then run in order in one
separate Python process that keeps each cell's printed text, its last expression's value
(text and HTML, as a kernel would show it) and an error, stored through nbformat. Either
way the folder is the notebook's own, so it reads the data and the helper module beside it.
A headless run can start that process early (``warm_runner``): it imports the analysis
libraries while the analysis runs, then runs the cells when the export hands them over,
so the notebook costs the export its cells' own time only. Cells tagged ``SKIP_TAG`` (the
checks, which re-run every refuter the analysis has just run) are left unrun, so they
carry no outputs rather than copied ones.
"""

import atexit
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

SKIP_TAG = "skip-execution"  # the tag Jupyter Book and MyST-NB also leave unrun

RUNNER = r"""
import ast, contextlib, io, json, os, sys, traceback

def run(path):
    cells, namespace, results = json.load(open(path)), {"__name__": "__main__"}, []
    for source in cells:
        stream, outputs = io.StringIO(), []
        try:
            tree = ast.parse(source)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                exec(compile(tree, "<cell>", "exec"), namespace)
                value = None
                if last:
                    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if stream.getvalue():
                outputs.append({"output_type": "stream", "name": "stdout",
                                "text": stream.getvalue()})
            if value is not None:
                data = {"text/plain": repr(value)}
                if hasattr(value, "_repr_html_"):
                    data["text/html"] = value._repr_html_()
                outputs.append({"output_type": "execute_result", "data": data})
        except Exception as exc:
            if stream.getvalue():
                outputs.append({"output_type": "stream", "name": "stdout",
                                "text": stream.getvalue()})
            outputs.append({"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc),
                            "traceback": traceback.format_exception(exc)})
            results.append(outputs)
            break
        results.append(outputs)
    json.dump(results, sys.stdout)
"""
COLD_RUN = RUNNER + "run(sys.argv[1])\n"
# A warm runner imports these first (what every exported notebook imports, and most of its
# start-up), then waits for one request on stdin: the cells' file and the folder.
WARM_IMPORTS = "import numpy, pandas, scipy.stats, sklearn.linear_model, statsmodels.api, dowhy\n"
WARM_RUN = (
    WARM_IMPORTS
    + RUNNER
    + "request = json.loads(sys.stdin.readline())\n"
    + "os.chdir(request['folder'])\n"
    + "run(request['cells'])\n"
)
_warm: list[subprocess.Popen] = []  # at most one waiting runner


def warm_runner() -> None:
    """Start the process that will run the next exported notebook's cells, so it imports
    the analysis libraries while the analysis runs (a headless run exports once); it is
    ended at exit if no export takes it."""
    if _warm:
        return
    runner = subprocess.Popen(
        [sys.executable, "-c", WARM_RUN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    _warm.append(runner)
    atexit.register(_end, runner)


def _end(runner: subprocess.Popen) -> None:
    if runner.poll() is None:
        runner.kill()
        runner.communicate()


def execute_notebook(
    notebook: nbformat.NotebookNode, folder: Path, timeout: float = 600
) -> nbformat.NotebookNode:
    """Run every code cell but those tagged ``SKIP_TAG`` with ``folder`` as the working
    directory: in the warm runner when one waits, else in a kernel when one is installed,
    else in a fresh process. Outputs are stored in the notebook (an error stops the run
    and is kept as the failing cell's output)."""
    runnable = [c for c in notebook.cells if SKIP_TAG not in c.metadata.get("tags", [])]
    part = nbformat.v4.new_notebook(cells=runnable, metadata=notebook.metadata)
    if _warm:
        ran = _run_in_process(part, folder, timeout, _warm.pop())
    elif _has_kernel():
        import nbclient

        client = nbclient.NotebookClient(
            part,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        )
        # the kernel's own start-up chatter would otherwise reach the user's terminal
        ran = client.execute(stderr=subprocess.DEVNULL)
    else:
        ran = _run_in_process(part, folder, timeout)
    for cell, done in zip(runnable, ran.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = done.outputs, done.execution_count
    return notebook


def _has_kernel() -> bool:
    try:
        import nbclient  # noqa: F401
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        return False
    return "python3" in KernelSpecManager().find_kernel_specs()


def _run_in_process(
    notebook: nbformat.NotebookNode,
    folder: Path,
    timeout: float,
    runner: subprocess.Popen | None = None,
) -> nbformat.NotebookNode:
    """The cells in one Python process: ``runner`` (a warm one, waiting) or a new one."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    with tempfile.TemporaryDirectory() as scratch:
        sources = Path(scratch) / "cells.json"
        sources.write_text(json.dumps([cell.source for cell in code_cells]), encoding="utf-8")
        if runner is None:
            runner = subprocess.Popen(
                [sys.executable, "-c", COLD_RUN, str(sources)],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "MPLBACKEND": "Agg"},
            )
            request = None
        else:
            request = json.dumps({"cells": str(sources), "folder": str(folder)}) + "\n"
        try:
            stdout, stderr = runner.communicate(request, timeout=timeout)
        finally:
            _end(runner)
    if runner.returncode != 0:
        raise RuntimeError(f"the notebook's cells could not run: {stderr[-500:]}")
    # an error stops the run, so later cells have no outputs
    for count, (cell, outputs) in enumerate(
        zip(code_cells, json.loads(stdout), strict=False), start=1
    ):
        cell.execution_count = count
        cell.outputs = [nbformat.from_dict(_numbered(o, count)) for o in outputs]
    return notebook


def _numbered(output: dict, count: int) -> dict:
    if output["output_type"] == "execute_result":
        return {**output, "execution_count": count, "metadata": {}}
    return output
