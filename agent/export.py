"""Write the analysis out: result.json, analysis.py and its helper module, analysis.ipynb
(run, outputs saved), report.md, its pictures, the data, and analysis.zip holding them all.

Files are written to a temporary name and renamed into place, so an interrupted export
never leaves a half-written file behind.
"""

import ast
import json
import math
import os
import shutil
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from causal_assistant.agent.reasoners.explain import graph_roles
from causal_assistant.agent.state import AnalysisState, Stage, present
from causal_assistant.agent.study import own_design
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.export import (
    draw_bounds_result,
    draw_contours,
    draw_graph,
    execute_notebook,
)
from causal_assistant.tools.export.scriptgen import (
    HELPER_MODULE,
    REPORT_LINES,
    ScriptPlan,
    ScriptStage,
    render_helpers,
    render_notebook,
    render_script,
)
from causal_assistant.tools.identify.bounds import LABELS, BoundsResult, format_effect
from causal_assistant.tools.model import CausalGraph
from causal_assistant.tools.text import escape_markdown, neutralize, table_cell

PORTABLE_MODULES = [
    "causal_assistant.tools.portable",
    "causal_assistant.tools.refute.sensitivity",
    "causal_assistant.tools.model.independence",
    "causal_assistant.tools.refute.portable_refute",
]
BUNDLE = "analysis.zip"
MANIFEST = ".causal-assistant-outputs.json"  # what the last export put in its folder
HELPERS = f"{HELPER_MODULE}.py"
# Data up to this size travels in the bundle beside the script; larger data stays out (a
# download of hundreds of megabytes per answer helps nobody) and the script then requires
# its path as an argument.
DATA_IN_BUNDLE_MAX_MB = 25
STAGE_ABOUT = {
    "model": "prepare the data and build the causal graph",
    "identify": "find the estimand the graph identifies",
    "estimate": "estimate the effect with its 95% interval",
    "refute": "re-run the checks and print the report's table of checks",
}


CHECKS_TABLE_LINE = "print(checks_table(refutations, REPORTED_CHECKS))\n"
# a design's checks also print their statistics and p-values in full, to compare exactly
CHECK_NUMBERS_LINE = "print(json.dumps(refutations, indent=2))\n"
PROXIMAL_MODULE = "causal_assistant.tools.identify.portable_proximal"
BOUNDS_REPORT = (
    "numbers = {'bounds': bounds, 'intervals': intervals}\nprint(json.dumps(numbers, indent=2))\n"
)


def _model_and_identify(code: str) -> tuple[str, str]:
    """The identification stage's code starts with the model (the prepared frame and the
    graph); the statements from the first call of ``identify`` on are the identification."""
    if not code.strip():
        return "", ""
    tree = ast.parse(code)
    calls = [
        n.lineno
        for n in tree.body
        if any(
            isinstance(c, ast.Call) and getattr(c.func, "id", None) == "identify"
            for c in ast.walk(n)
        )
    ]
    if not calls:
        return "", code
    lines = code.splitlines(keepends=True)
    return "".join(lines[: calls[0] - 1]), "".join(lines[calls[0] - 1 :])


def _data_file(dataset: dict) -> tuple[str, bool]:
    """The data's name beside the script when it is small enough to ship; otherwise the
    path the analysis read."""
    stored = Path(dataset["path"])
    if stored.stat().st_size <= DATA_IN_BUNDLE_MAX_MB * 2**20:
        return Path(dataset.get("name") or stored.name).name, True
    return dataset.get("source_path") or dataset["path"], False


def script_plan(state: AnalysisState, result: dict | None = None) -> ScriptPlan:
    if not state.get("estimation"):
        if state.get("bounds"):
            return bounds_plan(state)
        raise InputError("There is no estimate to export yet; run the analysis first.")
    codes = state.get("stage_code") or {}
    stages = [
        *_model_and_identify_stages(state),
        ScriptStage(
            name="estimate",
            about=STAGE_ABOUT["estimate"],
            code=codes.get(Stage.ESTIMATION, "") + REPORT_LINES,
        ),
    ]
    constants: dict[str, object] = {}
    if state.get("refutation") and codes.get(Stage.REFUTATION):
        stages.append(
            ScriptStage(
                name="refute",
                about=STAGE_ABOUT["refute"],
                code=codes[Stage.REFUTATION]
                + CHECKS_TABLE_LINE
                + (CHECK_NUMBERS_LINE if own_design(state) else ""),
                option="refute",
            )
        )
        constants["REPORTED_CHECKS"] = [
            _finite({k: r.get(k) for k in ("name", "status", "new_effect", "p_value", "reading")})
            for r in (result or {}).get("refutations") or []
        ]
    title = f"Effect of {state['treatment']} on {state['outcome']}"
    return _plan(state, title, stages, PORTABLE_MODULES, constants)


def bounds_plan(state: AnalysisState) -> ScriptPlan:
    """The script of a run that ends with bounds: it recomputes each bound and its
    interval (and the proximal estimate, when proxies were marked) and prints them."""
    report = BOUNDS_REPORT + (
        "print(json.dumps(proximal, indent=2))\n" if state.get("proximal") else ""
    )
    title = f"Bounds on the effect of {state['treatment']} on {state['outcome']}"
    modules = [*PORTABLE_MODULES, "causal_assistant.tools.identify.portable_bounds"]
    return _plan(state, title, _model_and_identify_stages(state, report), modules)


def _model_and_identify_stages(state: AnalysisState, after: str = "") -> list[ScriptStage]:
    """The model and identify sections, from the identification stage's code; ``after``
    ends the identify section (what a bounds-only script prints)."""
    code = (state.get("stage_code") or {}).get(Stage.IDENTIFICATION, "")
    model, identify = _model_and_identify(code)
    return [
        ScriptStage(name="model", about=STAGE_ABOUT["model"], code=model),
        ScriptStage(name="identify", about=STAGE_ABOUT["identify"], code=identify + after),
    ]


def _plan(
    state: AnalysisState,
    title: str,
    stages: list[ScriptStage],
    modules: list[str],
    constants: dict[str, object] | None = None,
) -> ScriptPlan:
    """What every exported script shares: the data beside it, its loading, the user's own
    code, and the proximal module when proxies were marked; empty sections are left out."""
    dataset = state["dataset"]
    data_file, beside = _data_file(dataset)
    return ScriptPlan(
        title=title,
        data_file=data_file,
        data_beside=beside,
        load_code=dataset["load_code"],
        stages=[stage for stage in stages if stage.code.strip()],
        custom_code=state.get("custom_code") or [],
        modules=[*modules, *([PROXIMAL_MODULE] if state.get("proximal") else [])],
        constants=constants or {},
    )


OUTPUT_NAMES = (
    "result.json",
    "graph.png",
    "design.png",
    "bounds.png",
    "analysis.py",
    HELPERS,
    "analysis.ipynb",
    "report.md",
    BUNDLE,
    "sensitivity.png",
)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def export_analysis(
    state: AnalysisState, result: dict, out_dir: Path, started: float | None = None
) -> dict[str, Path]:
    """Write the outputs into a new sibling folder, then put it in place of ``out_dir``.

    A re-run therefore never leaves the previous run's script or report beside a new
    result (an interrupted export leaves the old folder whole). A folder that holds files
    of its own besides our outputs is not swapped away: our outputs in it are replaced,
    and those this run did not write are removed. result.json is written last so its
    timings include the export's own seconds (and, given ``started``, a ``perf_counter``
    reading, the total since then). Everything but result.json also goes into one zip,
    the download that travels.
    """
    began = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.new-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        written, beside = _write_outputs(state, result, staging, out_dir)
        if written:
            written[BUNDLE] = _bundle(staging, {**written, **beside})
        timings = result.setdefault("timings_s", {})
        timings["export"] = round(time.perf_counter() - began, 4)
        if started is not None:
            timings["total"] = round(time.perf_counter() - started, 4)
        _write(
            staging / "result.json",
            json.dumps(_finite(result), indent=2, default=str, allow_nan=False),
        )
        names = [*written, "result.json"]
        if written:
            _write(staging / MANIFEST, json.dumps(names))
            names.append(MANIFEST)
        _put_in_place(staging, out_dir, names, keep=set(beside))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: out_dir / name for name in [*written, "result.json"]}


def _bundle(folder: Path, files: dict[str, Path]) -> Path:
    """One zip of the files, at its root, so unzipping into an empty folder gives a folder
    where ``python analysis.py`` runs."""
    with zipfile.ZipFile(folder / BUNDLE, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, path in files.items():
            bundle.write(path, name)
    return folder / BUNDLE


Written = tuple[dict[str, Path], dict[str, Path]]


def _write_outputs(state: AnalysisState, result: dict, staging: Path, out_dir: Path) -> Written:
    """The files written into ``staging``, and files for the bundle only: the data, when
    the output folder already holds the very file analysed (never copied over itself)."""
    if state.get("estimation"):
        return _write_analysis(state, result, staging, out_dir)
    if state.get("bounds"):
        return _export_bounds(state, result, staging, out_dir)
    return {}, {}


def _script_files(state: AnalysisState, plan: ScriptPlan, staging: Path, out_dir: Path) -> Written:
    """The script, its helper module and the data it reads beside it (or, when the output
    folder already holds the very file analysed, that file for the bundle only)."""
    written, beside = _helpers_and_data(state, plan, staging, out_dir)
    written["analysis.py"] = _write(staging / "analysis.py", render_script(plan))
    return written, beside


def _helpers_and_data(
    state: AnalysisState, plan: ScriptPlan, staging: Path, out_dir: Path
) -> Written:
    """What the notebook needs beside it: the helper module and the data."""
    written, beside = {}, {}
    if plan.data_beside:
        there = out_dir / plan.data_file
        source = Path(state["dataset"].get("source_path") or state["dataset"]["path"])
        if there.exists() and there.resolve() == source.resolve():
            beside[plan.data_file] = there
        else:
            written[plan.data_file] = staging / plan.data_file
            shutil.copyfile(state["dataset"]["path"], written[plan.data_file])
    written[HELPERS] = _write(staging / HELPERS, render_helpers(plan))
    return written, beside


def _write_analysis(state: AnalysisState, result: dict, staging: Path, out_dir: Path) -> Written:
    plan = script_plan(state, result)
    written, beside = _helpers_and_data(state, plan, staging, out_dir)
    for name, path in beside.items():  # the notebook reads the data beside it
        os.symlink(path.resolve(), staging / name)
    # the notebook runs in its own process (kernel): the script, pictures and report are
    # written meanwhile, not after it
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(execute_notebook, render_notebook(plan), staging)
        written["analysis.py"] = _write(staging / "analysis.py", render_script(plan))
        written.update(_pictures_and_report(state, result, staging))
        notebook = running.result()
    for name in beside:
        (staging / name).unlink()
    written["analysis.ipynb"] = _write(staging / "analysis.ipynb", nbformat.writes(notebook))
    return written, beside


def _pictures_and_report(state: AnalysisState, result: dict, staging: Path) -> dict[str, Path]:
    written = {"graph.png": _graph_picture(state, staging)}
    picture = (state.get("estimation") or {}).get("picture")
    if picture and Path(picture).is_file():
        written["design.png"] = _write(staging / "design.png", Path(picture).read_bytes())
    if state.get("hidden_bounds"):
        picture = draw_bounds_result(BoundsResult.model_validate(state["hidden_bounds"]))
        written["bounds.png"] = _write(staging / "bounds.png", picture)
    linear = _linear_sensitivity(state)
    if linear:
        contours = draw_contours(linear, state["treatment"], state["outcome"])
        written["sensitivity.png"] = _write(staging / "sensitivity.png", contours)
    written["report.md"] = _write(staging / "report.md", render_report(state, result))
    return written


def _sensitivity_check(state: AnalysisState) -> dict | None:
    return next(
        (
            r
            for r in (state.get("refutation") or {}).get("refutations", [])
            if r["name"] == "unobserved_confounder"
        ),
        None,
    )


def _linear_sensitivity(state: AnalysisState) -> dict | None:
    """Cinelli–Hazlett numbers of a linear-regression estimate, when the check made them."""
    return ((_sensitivity_check(state) or {}).get("details") or {}).get("linear")


def _put_in_place(staging: Path, out_dir: Path, written: list[str], keep: set[str]) -> None:
    """``keep``: files of the folder this export must leave alone (the data analysed)."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    ours = {*OUTPUT_NAMES, MANIFEST, *_previous_outputs(out_dir)} - keep
    if out_dir.is_dir() and {p.name for p in out_dir.iterdir()} <= ours:
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        out_dir.rename(old)
        try:
            staging.rename(out_dir)
        except OSError:
            old.rename(out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    if not out_dir.is_dir():
        raise InputError(f"{out_dir} is a file, not a folder; choose another --out folder.")
    for name in dict.fromkeys([*written, *sorted(ours)]):  # other files there: ours one by one
        if (staging / name).exists():
            os.replace(staging / name, out_dir / name)
        else:
            (out_dir / name).unlink(missing_ok=True)


def _previous_outputs(out_dir: Path) -> list[str]:
    """The names an earlier export put in the folder (the data copy's name varies), from
    its manifest; none when there is no readable one."""
    try:
        names = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Path(n).name for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _graph_picture(state: AnalysisState, out_dir: Path) -> Path:
    """The graph as approved: roles are read off its edges, so an edit shows in colour."""
    roles = {r["name"]: r["role"] for r in graph_roles(state)}
    graph = CausalGraph.model_validate(state["graph"])
    return _write(out_dir / "graph.png", draw_graph(graph, roles))


def _export_bounds(state: AnalysisState, result: dict, staging: Path, out_dir: Path) -> Written:
    """A run that ends with bounds: the script that recomputes them, the graph, the
    picture of the bounds and the report."""
    plan = bounds_plan(state)
    written, beside = _script_files(state, plan, staging, out_dir)
    picture = draw_bounds_result(BoundsResult.model_validate(state["bounds"]))
    written["graph.png"] = _graph_picture(state, staging)
    written["bounds.png"] = _write(staging / "bounds.png", picture)
    notebook = nbformat.writes(render_notebook(plan))
    written["analysis.ipynb"] = _write(staging / "analysis.ipynb", notebook)
    written["report.md"] = _write(staging / "report.md", render_report(state, result))
    return written, beside


def _finite(value: object) -> object:
    """NaN and infinity are not JSON; other programs read result.json, so they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _number(value: object) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _critique_lines(critique: dict) -> list[str]:
    """The data's critique and the reasoner's side by side, disagreements listed."""
    reasoner = critique.get("reasoner") or {}
    if not (critique.get("data") or reasoner):
        return []
    lines = ["", "## Critique of the graph", "", f"From the data: {critique.get('data') or ''}"]
    if reasoner:
        lines += ["", f"From the {reasoner['source']} reasoner: {reasoner['reading']}", ""]
        lines += [
            f"- {p['kind']} ({p['source']}, confidence {p['confidence']:.1f}): {p['claim']} "
            f"Check: {p['check']}"
            for p in reasoner["points"]
        ]
        lines += [
            f"- unmeasured common cause {u['name']} ({u['source']}, confidence "
            f"{u['confidence']:.1f}{', added as a latent node' if u['added'] else ''}): "
            f"{u['rationale']}"
            for u in reasoner["latents"]
        ]
    if critique.get("disagreements"):
        lines += ["", "Where the two critiques disagree:", ""]
        lines += [f"- {d}" for d in critique["disagreements"]]
    if critique.get("proposals"):
        lines += ["", "Proposed instruments and negative controls, checked in the data:", ""]
        lines += [
            f"- {p['kind']} {p['name']} ({p['source']}): {p.get('status', 'unchecked')}. "
            f"{p.get('reading', '')} Argument: {p['argument']}"
            for p in critique["proposals"]
        ]
    # names come from the data and claims from an LLM: shown as text, never as links
    return [neutralize(" ".join(line.split())) for line in lines]


def _design_lines(design: dict | None) -> list[str]:
    """The study design: which, why, what it assumes, and its diagnostics."""
    if not design:
        return []
    lines = ["", f"## Study design: {design['kind']}", "", neutralize(design["why"])]
    if design["columns"]:
        named = ", ".join(f"{k} = {v}" for k, v in design["columns"].items())
        lines += ["", "Columns: " + escape_markdown(named)]
    if design["diagnostics"]:
        lines += [
            "",
            "Diagnostics: "
            + ", ".join(
                f"{k.replace('_', ' ')} {_number(v)}" for k, v in design["diagnostics"].items()
            ),
        ]
    if design["assumptions"]:
        lines += ["", "| assumption | testable | reading |", "|---|---|---|"]
        lines += [_row(a["name"], a["testable"], a["reading"]) for a in design["assumptions"]]
    return lines


def _answer(state: AnalysisState, result: dict) -> list[str]:
    lines = [
        "## Answer",
        "",
        neutralize(state["estimation"]["reading"]),
        "",
        *([neutralize(result["explanation"]), ""] if result.get("explanation") else []),
        "| estimator | estimand | estimate | 95% low | 95% high |",
        "|---|---|---|---|---|",
    ]
    lines += [
        _row(
            row["label"] or row["method"],
            row["estimand"],
            _number(row["value"]),
            _number(row["ci_low"]),
            _number(row["ci_high"]),
        )
        for row in [result["estimate"], *result["alternatives"]]
    ]
    return lines


def _bounds_answer(state: AnalysisState) -> list[str]:
    """The answer when only bounds exist: the range under each set of assumptions."""
    bounds = present(state.get("bounds"), "bounds")
    lines = [
        "## Answer: a range, not a point",
        "",
        "The effect is not point-identified under this graph; the data still bound it. "
        + neutralize(bounds["reading"]),
        "",
        "![bounds under each set of assumptions](bounds.png)",
        "",
        *_bounds_table(bounds),
    ]
    lines += [
        "",
        "To reproduce the bounds and their 95% intervals (Imbens–Manski, "
        f"{bounds.get('interval_reps', 0)} seeded bootstrap draws), run `python analysis.py` "
        "in this folder; its core is:",
        "",
        "```python",
        bounds["code"].rstrip(),
        "```",
    ]
    return lines


def _sensitivity_lines(state: AnalysisState, result: dict) -> list[str]:
    """Bounds and sensitivity beside an estimate: what a hidden confounder could do."""
    check, bounds = _sensitivity_check(state), state.get("hidden_bounds")
    proximal = result.get("proximal")
    design_checks = [
        r
        for r in result["refutations"]
        if r["name"] in ("exclusion_sensitivity", "parallel_trends_sensitivity")
    ]
    if not (check or bounds or proximal or design_checks):
        return []
    lines = ["", "## Bounds and sensitivity: what if a confounder was not measured?"]
    if check:
        lines += ["", neutralize(f"Sensitivity ({check['status']}): {check['reading']}")]
        if check.get("rule"):
            lines += ["", neutralize(f"Rule: {check['rule']}.")]
        if _linear_sensitivity(state):
            lines += ["", "![estimate under hidden confounders of each strength](sensitivity.png)"]
    for r in design_checks:
        lines += ["", neutralize(f"{r['name'].replace('_', ' ')} ({r['status']}): {r['reading']}")]
    if bounds:
        lines += ["", neutralize(bounds["reading"]), "", *_bounds_table(bounds)]
        lines += ["", "![bounds under each set of assumptions](bounds.png)"]
    if proximal:
        lines += ["", "Proximal estimate: " + neutralize(proximal["reading"])]
    return lines


def _bounds_table(bounds: dict) -> list[str]:
    binary = bounds["range_source"] == "binary"

    def _effect(value: float | None) -> str:
        return "empty" if value is None else format_effect(value, binary)

    lines = [
        "| assumptions | low | high | 95% interval | sign | what you must accept |",
        "|---|---|---|---|---|---|",
    ]
    for b in bounds["bounds"]:
        interval = (
            "" if b.get("ci_low") is None else f"{_effect(b['ci_low'])} to {_effect(b['ci_high'])}"
        )
        lines.append(
            _row(
                LABELS[b["kind"]],
                _effect(b["low"]),
                _effect(b["high"]),
                interval,
                b["sign"],
                b["assumptions"],
            )
        )
    return lines


def _row(*cells: object) -> str:
    return "| " + " | ".join(table_cell(cell) for cell in cells) + " |"


def render_report(state: AnalysisState, result: dict) -> str:
    """The report a colleague can read: answer first, then every assumption behind it.

    Names, levels and notes come from the data (or an LLM), so each is escaped: a column
    named like a link or an image tag stays text, and a '|' cannot break a table.
    """
    estimate = result["estimate"]
    treatment, outcome = escape_markdown(result["treatment"]), escape_markdown(result["outcome"])
    lines = [f"# Effect of {treatment} on {outcome}", ""]
    if result.get("question"):
        lines += [f"Question: *{escape_markdown(result['question'])}*", ""]
    lines += _answer(state, result) if estimate else _bounds_answer(state)
    if estimate:
        lines += _sensitivity_lines(state, result)
    elif result.get("proximal"):
        lines += ["", "## Proximal estimate", "", neutralize(result["proximal"]["reading"])]
    lines += _design_lines(result.get("design"))
    if (state.get("estimation") or {}).get("picture"):
        lines += ["", "![the design's own picture](design.png)"]
    lines += [
        "",
        "## Causal graph",
        "",
        "![causal graph](graph.png)",
        "",
        "| cause | effect | source | note |",
        "|---|---|---|---|",
    ]
    lines += [
        _row(e["cause"], e["effect"], e["source"], e["note"]) for e in result["graph"]["edges"]
    ]
    if result["roles"]:
        lines += [
            "",
            "## Roles of the variables",
            "",
            "| variable | role | source | evidence |",
            "|---|---|---|---|",
        ]
        lines += [_row(r["name"], r["role"], r["source"], r["evidence"]) for r in result["roles"]]
    lines += _critique_lines(result.get("critique") or {})
    lines += ["", "## Identification", "", neutralize(result["identification"]["reading"] or "")]
    if result["refutations"]:
        lines += [
            "",
            "## Refutations",
            "",
            "| check | status | effect under check | p-value | reading |",
            "|---|---|---|---|---|",
        ]
        lines += [
            _row(
                r["name"],
                r["status"],
                _number(r["new_effect"]),
                _number(r["p_value"]),
                r["reading"],
            )
            for r in result["refutations"]
        ]
    if result["warnings"]:
        lines += ["", "## Warnings", ""]
        lines += [
            neutralize(f"- `{w['code']}` ({w['stage']}): {' '.join(str(w['message']).split())}")
            for w in result["warnings"]
        ]
    if not estimate:  # the bounds' code is under the answer
        return "\n".join([*lines, ""])
    lines += [
        "",
        "## Reproduce",
        "",
        "Run `python analysis.py` in this folder, or `uv run analysis.py` to install the "
        "libraries its header pins first (pass another data path as its argument, "
        "`--refute` to re-run the checks and print their table).",
        "",
    ]
    return "\n".join(lines)
