"""Write the analysis out: result.json, analysis.py, analysis.ipynb, report.md, graph.png.

Files are written to a temporary name and renamed into place, so an interrupted export
never leaves a half-written file behind.
"""

import json
import math
import os
import shutil
import time
import uuid
from pathlib import Path

import nbformat

from causal_assistant.agent.state import AnalysisState
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.export.bounds_plot import draw_bounds_result
from causal_assistant.tools.export.plots import draw_graph
from causal_assistant.tools.export.scriptgen import ScriptPlan, render_notebook, render_script
from causal_assistant.tools.identify.bounds import LABELS, BoundsResult, format_effect
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.text import escape_markdown, neutralize, table_cell

PORTABLE_MODULES = [
    "causal_assistant.tools.portable",
    "causal_assistant.tools.refute.sensitivity",
    "causal_assistant.tools.refute.portable_refute",
]


def script_plan(state: AnalysisState) -> ScriptPlan:
    if not state.get("estimation"):
        raise InputError("There is no estimate to export yet; run the analysis first.")
    codes = state.get("stage_code") or {}
    dataset = state["dataset"]
    return ScriptPlan(
        title=f"Effect of {state['treatment']} on {state['outcome']}",
        data_path=dataset.get("source_path") or dataset["path"],
        load_code=dataset["load_code"],
        analysis_code=codes.get("identification", "") + codes.get("estimation", ""),
        refutation_code=codes.get("refutation", "") if state.get("refutation") else "",
        custom_code=state.get("custom_code") or [],
        modules=PORTABLE_MODULES,
    )


OUTPUT_NAMES = ("result.json", "graph.png", "analysis.py", "analysis.ipynb", "report.md")


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
    reading, the total since then).
    """
    began = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.new-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        names = list(_write_outputs(state, result, staging))
        timings = result.setdefault("timings_s", {})
        timings["export"] = round(time.perf_counter() - began, 4)
        if started is not None:
            timings["total"] = round(time.perf_counter() - started, 4)
        _write(
            staging / "result.json",
            json.dumps(_finite(result), indent=2, default=str, allow_nan=False),
        )
        _put_in_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: out_dir / name for name in [*names, "result.json"]}


def _write_outputs(state: AnalysisState, result: dict, out_dir: Path) -> dict[str, Path]:
    if state.get("estimation"):
        return _write_analysis(state, result, out_dir)
    if state.get("bounds"):
        return _export_bounds(state, result, out_dir)
    return {}


def _write_analysis(state: AnalysisState, result: dict, out_dir: Path) -> dict[str, Path]:
    written = {}
    plan = script_plan(state)
    written["graph.png"] = _graph_picture(state, out_dir)
    written["analysis.py"] = _write(out_dir / "analysis.py", render_script(plan))
    written["analysis.ipynb"] = _write(
        out_dir / "analysis.ipynb", nbformat.writes(render_notebook(plan))
    )
    picture = (state.get("estimation") or {}).get("picture")
    if picture and Path(picture).is_file():
        written["design.png"] = _write(out_dir / "design.png", Path(picture).read_bytes())
    written["report.md"] = _write(out_dir / "report.md", render_report(state, result))
    return written


def _put_in_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if out_dir.is_dir() and {p.name for p in out_dir.iterdir()} <= set(OUTPUT_NAMES):
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
    for name in OUTPUT_NAMES:  # a folder with other files: swap ours one by one
        if (staging / name).exists():
            os.replace(staging / name, out_dir / name)
        else:
            (out_dir / name).unlink(missing_ok=True)


def _graph_picture(state: AnalysisState, out_dir: Path) -> Path:
    roles = {r["name"]: r["role"] for r in state.get("roles") or []}
    graph = CausalGraph.model_validate(state["graph"])
    return _write(out_dir / "graph.png", draw_graph(graph, roles))


def _export_bounds(state: AnalysisState, result: dict, out_dir: Path) -> dict[str, Path]:
    """A run that ends with bounds: the graph, the picture of the bounds and the report."""
    picture = draw_bounds_result(BoundsResult.model_validate(state["bounds"]))
    return {
        "graph.png": _graph_picture(state, out_dir),
        "bounds.png": _write(out_dir / "bounds.png", picture),
        "report.md": _write(out_dir / "report.md", render_report(state, result)),
    }


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
    bounds = state["bounds"]

    binary = bounds["range_source"] == "binary"

    def _effect(value: float | None) -> str:
        return "empty" if value is None else format_effect(value, binary)

    lines = [
        "## Answer: a range, not a point",
        "",
        "The effect is not point-identified under this graph; the data still bound it. "
        + neutralize(bounds["reading"]),
        "",
        "![bounds under each set of assumptions](bounds.png)",
        "",
        "| assumptions | low | high | sign | what you must accept |",
        "|---|---|---|---|---|",
    ]
    for b in bounds["bounds"]:
        lines.append(
            _row(
                LABELS[b["kind"]],
                _effect(b["low"]),
                _effect(b["high"]),
                b["sign"],
                b["assumptions"],
            )
        )
    lines += [
        "",
        "To reproduce the bounds, run this with the functions "
        "of `causal_assistant.tools.identify.portable_bounds` and `df` the data:",
        "",
        "```python",
        bounds["code"].rstrip(),
        "```",
    ]
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
        "Run `python analysis.py` in this folder (pass another "
        "data path as its argument, `--refute` to re-run the refuters).",
        "",
    ]
    return "\n".join(lines)
