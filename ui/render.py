"""Turn the agent's state into what the chat shows: markdown, pictures and button specs.

Everything here is a pure function of plain state dictionaries (the checkpointed
``AnalysisState`` and the ``result.json`` shape), so it is unit-tested without a browser and
``ui/app.py`` only has to wrap the outputs in Chainlit elements. Nothing here decides an
analysis: values come from state, and the diagnostic pictures (with the propensity scores
and balance they show) from ``tools.estimate.overlap`` and ``tools.export.plots``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from causal_assistant.agent.reasoners.explain import adjustment_of, graph_roles
from causal_assistant.agent.state import Stage
from causal_assistant.agent.study import assumptions_of
from causal_assistant.tools.data.context import MARKDOWN_SUFFIXES
from causal_assistant.tools.data.intake import SUPPORTED_SUFFIXES
from causal_assistant.tools.text import code_block, neutralize, table_cell

STAGE_TITLES: dict[str, str] = {
    Stage.INTAKE: "Intake",
    Stage.QUESTION: "Question",
    Stage.DESIGN: "Study design",
    Stage.MODELING: "Modeling",
    Stage.CRITIQUE: "Critique of the graph",
    Stage.APPROVE_GRAPH: "Graph approval",
    Stage.IDENTIFICATION: "Identification",
    Stage.ESTIMATION: "Estimation",
    Stage.REFUTATION: "Refutation",
    Stage.REVIEW_REFUTATION: "Refutation review",
    Stage.REPORT: "Report",
}

# Browsers label the same CSV differently (Windows with Excel installed says
# application/vnd.ms-excel, some say text/plain or nothing at all), so the upload filter
# accepts every type a supported file may arrive as and then checks the file's extension.
UPLOAD_MIME_TYPES: tuple[str, ...] = (
    "text/csv",
    "application/csv",
    "text/x-csv",
    "application/x-csv",
    "text/comma-separated-values",
    "text/tab-separated-values",
    "text/plain",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.apache.parquet",
    "application/x-parquet",
    "application/parquet",
    "application/octet-stream",
)
# One download: the zip holds the script, its helpers, the notebook, the report, its
# pictures and the data (agent.export writes it).
EXPORT_FILES: tuple[str, ...] = ("analysis.zip",)
MAX_TABLE_ROWS = 40
# Words, not emoji: the status must read the same in a terminal, a report and a browser
# without an emoji font.
STATUS_MARK = {
    "pass": "pass",
    "warn": "**warn**",
    "fail": "**FAIL**",
    "skip": "skipped",
    "error": "**error**",
}


@dataclass
class Picture:
    """A PNG to show: bytes drawn now or a file a stage saved (sandbox figures)."""

    name: str
    png: bytes | None = None
    path: str | None = None


@dataclass
class ButtonSpec:
    """A Chainlit action without the Chainlit object, so button choices are testable."""

    name: str
    label: str
    payload: dict = field(default_factory=dict)
    tooltip: str = ""
    icon: str | None = None


@dataclass
class StageView:
    """What one finished stage shows as a step: what went in and what came out."""

    stage: str
    title: str
    input: str
    output: str
    pictures: list[Picture] = field(default_factory=list)


# --------------------------------------------------------------------------- formatting


def number(value: Any, digits: int = 4) -> str:
    """Short human number; blanks for missing values so tables never show 'None'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def exact(value: float | None) -> str:
    """The full-precision number (Python's shortest round-trip form): the exported script
    prints ``repr`` of the same float, so a reader can check they match to the last digit."""
    return "" if value is None else repr(float(value))


def _cell(value: Any) -> str:
    """A table cell: one line, its pipes escaped, nothing in it a link, image or HTML."""
    return table_cell(number(value) if isinstance(value, (int, float)) else str(value or ""))


def markdown_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    headers: Sequence[str] | None = None,
    max_rows: int = MAX_TABLE_ROWS,
) -> str:
    """A GitHub-style table; long tables are cut with a note saying how many rows are hidden."""
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    headers = list(headers or columns)
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(columns)]
    for row in rows[:max_rows]:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    if len(rows) > max_rows:
        lines.append(f"\n*{len(rows) - max_rows} more rows not shown.*")
    return "\n".join(lines)


# --------------------------------------------------------------------------- data and graph


def profile_table(profile: Mapping[str, Any]) -> str:
    """One row per column: what kind it is, how much is missing, and a short summary."""
    rows = []
    for column in profile.get("columns", []):
        if column.get("mean") is not None:
            summary = (
                f"mean {number(column['mean'])}, range {number(column.get('min'))}"
                f"–{number(column.get('max'))}"
            )
        elif column.get("levels"):
            levels = [str(level) for level in column["levels"]]
            summary = ", ".join(levels[:6]) + (" …" if len(levels) > 6 else "")
        else:
            summary = ""
        rows.append(
            {
                "column": f"`{column['name']}`",
                "kind": column.get("kind", ""),
                "missing": f"{column.get('missing_share', 0):.0%}",
                "distinct": column.get("n_unique", ""),
                "summary": summary,
            }
        )
    return markdown_table(rows)


def dataset_summary(dataset: Mapping[str, Any]) -> str:
    """The profile a user checks first: is this the file I meant, read the way I meant?"""
    profile = dataset.get("profile") or {}
    head = (
        f"**{dataset.get('name', 'Dataset')}**: {profile.get('n_rows', '?')} rows × "
        f"{profile.get('n_columns', '?')} columns"
    )
    if profile.get("profiled_rows") and profile.get("profiled_rows") != profile.get("n_rows"):
        head += f" (profiled on a sample of {profile['profiled_rows']})"
    parts = [head, profile.get("reading", ""), profile_table(profile)]
    return "\n\n".join(p for p in parts if p)


def role_map(roles: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {r["name"]: r["role"] for r in roles or [] if r.get("name") and r.get("role")}


def edge_table(graph: Mapping[str, Any]) -> str:
    """Provenance of every edge: an analyst approves assumptions, so each says its source."""
    rows = [
        {
            "cause": e["cause"],
            "effect": e["effect"],
            "source": e.get("source", ""),
            "note": e.get("note", ""),
        }
        for e in graph.get("edges", [])
    ]
    table = markdown_table(rows, headers=["cause", "effect", "source", "why"])
    extras = []
    if graph.get("unobserved"):
        extras.append("Unobserved: " + ", ".join(graph["unobserved"]))
    if graph.get("post_treatment"):
        extras.append("Post-treatment: " + ", ".join(graph["post_treatment"]))
    return "\n\n".join([table or "*The graph has no edges.*", *extras])


def roles_table(roles: Sequence[Mapping[str, Any]] | None) -> str:
    rows = [
        {
            "variable": r.get("name"),
            "role": r.get("role"),
            "source": r.get("source", ""),
            "evidence": r.get("evidence", ""),
        }
        for r in roles or []
    ]
    return markdown_table(rows)


def graph_picture(state: Mapping[str, Any]) -> Picture | None:
    """The causal graph drawn with node colours for roles and line styles for provenance."""
    if not state.get("graph"):
        return None
    from causal_assistant.tools.export.plots import draw_graph
    from causal_assistant.tools.model.graphs import CausalGraph

    graph = CausalGraph.model_validate(state["graph"])
    roles = role_map(graph_roles(state))
    return Picture(name="causal graph", png=draw_graph(graph, roles))


GRAPH_ELEMENT = "CausalGraph"  # ui/public/elements/CausalGraph.jsx


def graph_element_props(state: Mapping[str, Any]) -> dict | None:
    """What the chat's interactive graph draws: the picture's layout and legend, plus how
    to write each node in a typed edit command, so a click sends ``remove edge a -> b``
    through the same path as typing it (which checks the names against the data)."""
    if not state.get("graph"):
        return None
    from causal_assistant.agent.commands import node_ref
    from causal_assistant.tools.export.plots import graph_scene
    from causal_assistant.tools.model.graphs import CausalGraph

    graph = CausalGraph.model_validate(state["graph"])
    scene = graph_scene(graph, role_map(graph_roles(state)))
    for node in scene["nodes"]:
        node["ref"] = node_ref(node["name"])
    return scene


ROLE_LABELS = {
    "confounder": "Confounders",
    "outcome_predictor": "Outcome predictors",
    "instrument": "Instruments",
    "mediator": "Mediators",
    "collider": "Colliders (not adjusted for)",
    "descendant": "Changed by the treatment (not adjusted for)",
    "post_treatment": "Measured after the treatment (not adjusted for)",
    "unobserved": "Unobserved",
    "excluded": "Left out",
}
PROVENANCE = "edge provenance"
# Warnings about the analysis itself, not about what could change its answer.
BOOKKEEPING_CODES = ("design_detected", "large_data_sampled", "excluded_column")
APPROVAL_STAGES = ("intake", "question", "design", "modeling", "critique")
SHARED_ASSUMPTIONS = ("no unmeasured confounding", "overlap", "no interference")


def roles_summary(roles: Sequence[Mapping[str, Any]] | None) -> str:
    """One line per role, so the graph's story reads before its edge list."""
    groups: dict[str, list[str]] = {}
    for role in roles or []:
        if role.get("role") in ROLE_LABELS:
            groups.setdefault(role["role"], []).append(str(role.get("name")))
    return "\n".join(
        f"- {ROLE_LABELS[r]}: {', '.join(names)}"
        for r in ROLE_LABELS
        for names in [groups.get(r)]
        if names
    )


def adjustment_line(state: Mapping[str, Any]) -> str:
    adjusted = adjustment_of(state)
    if adjusted is None:
        return (
            "**Adjustment set:** none works: no measured set blocks every backdoor path, so "
            "the answer will be a range (bounds), not a number."
        )
    return "**Adjustment set:** " + (", ".join(adjusted) or "nothing (no backdoor path to block)")


def approval_assumptions(state: Mapping[str, Any]) -> str:
    """What approving the graph takes for granted, in plain words, the design's own last."""
    t, y = state.get("treatment"), state.get("outcome")
    nodes = (state.get("graph") or {}).get("nodes") or []
    listed = [n for n in nodes if n not in (t, y)]
    lines = [
        f"- **No hidden common cause**: nothing besides the variables in the graph "
        f"({', '.join(listed) or 'none'}) affects both {t} and {y}.",
        f"- **Overlap**: units like each other in the adjusted variables are found both with "
        f"and without {t}.",
        f"- **No interference**: one unit's {t} does not change another unit's {y}.",
    ]
    for item in assumptions_of(state):  # type: ignore[arg-type]
        if item.get("name") not in SHARED_ASSUMPTIONS:
            lines.append(f"- **{str(item['name']).capitalize()}**: {item.get('reading', '')}")
    return "**What approving means you assume**\n\n" + "\n".join(lines)


def approval_warnings(state: Mapping[str, Any]) -> list[str]:
    """Every warning raised so far that could change the answer, each once."""
    checks = (state.get("critique") or {}).get("checks") or {}
    out = []
    conflicts = sum(1 for t in checks.get("tests") or [] if t.get("conflict"))
    if checks.get("tests"):
        out.append(
            f"{conflicts} of {len(checks['tests'])} tested independences the graph implies "
            f"{'is' if conflicts == 1 else 'are'} contradicted by the data."
            if conflicts
            else f"None of the {len(checks['tests'])} tested independences the graph implies "
            "is contradicted by the data."
        )
    seen = set()
    for stage in APPROVAL_STAGES:
        for warning in (state.get("stage_warnings") or {}).get(stage) or []:
            if warning["code"] in BOOKKEEPING_CODES or warning["message"] in seen:
                continue
            seen.add(warning["message"])
            out.append(f"**{str(warning['code']).replace('_', ' ')}**: {warning['message']}")
    return out


def edit_summary(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    """What an edit changed: the edges and markings, then the roles and the adjustment set
    they imply; empty when nothing changed (or there was no graph before)."""
    if not before or not before.get("graph") or not after.get("graph"):
        return ""
    old, new = before["graph"], after["graph"]
    old_edges = {(e["cause"], e["effect"]) for e in old.get("edges", [])}
    new_edges = {(e["cause"], e["effect"]) for e in new.get("edges", [])}
    changes = [f"removed the edge {a} → {b}" for a, b in sorted(old_edges - new_edges)]
    changes += [f"added the edge {a} → {b}" for a, b in sorted(new_edges - old_edges)]
    for key, what in (("unobserved", "unobserved"), ("post_treatment", "post-treatment")):
        for name in sorted(set(new.get(key) or []) - set(old.get(key) or [])):
            changes.append(f"marked {name} as {what}")
    if not changes:
        return ""
    old_roles = role_map(graph_roles(before))
    moved = [
        f"{name} is now {_role_words(role)} (was {_role_words(old_roles[name])})"
        for name, role in role_map(graph_roles(after)).items()
        if name in old_roles and old_roles[name] != role
    ]
    parts = ["**Your edit:** " + "; ".join(changes) + "."]
    if moved:
        parts.append("Roles: " + "; ".join(moved) + ".")
    was, now = adjustment_of(before), adjustment_of(after)
    if was != now:
        parts.append(
            f"Adjustment set now: {', '.join(now or []) or 'nothing'} "
            f"(was {', '.join(was or []) or 'nothing'})."
            if now is not None
            else "No measured adjustment set works any more."
        )
    else:
        parts.append("The adjustment set is unchanged.")
    return " ".join(parts)


def _role_words(role: str) -> str:
    return {
        "outcome_predictor": "an outcome predictor",
        "post_treatment": "post-treatment",
        "unrelated": "unrelated to treatment and outcome",
        "descendant": "changed by the treatment",
        "instrument": "an instrument",
        "unobserved": "unobserved",
        "excluded": "left out",
    }.get(role, f"a {role.replace('_', ' ')}")


def approval_markdown(
    state: Mapping[str, Any],
    pending: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None = None,
) -> str:
    """The graph approval prompt is the decision: what changed, what the graph claims, what
    it will adjust for, what approving assumes, and every warning that could change the
    answer, all before the buttons."""
    graph = state.get("graph") or {}
    warnings = approval_warnings(state)
    parts = [
        edit_summary(before, state),
        f"**Proposed causal graph** for the effect of **{state.get('treatment')}** on "
        f"**{state.get('outcome')}** ({len(graph.get('nodes', []))} variables, "
        f"{len(graph.get('edges', []))} edges).",
        roles_summary(graph_roles(state)),
        adjustment_line(state),
        approval_assumptions(state),
        "**Warnings that could change the answer**\n\n"
        + ("\n".join(f"- {w}" for w in warnings) if warnings else "- none so far"),
        f"Where each edge came from (data test, name heuristic, LLM or you): "
        f"{PROVENANCE} (opens beside the chat).",
        pending_prompt(pending),
    ]
    return neutralize("\n\n".join(p for p in parts if p))


def graph_details(state: Mapping[str, Any]) -> str:
    """Roles and the edge table under the graph picture."""
    parts = []
    if state.get("treatment") and state.get("outcome"):
        parts.append(f"Effect of **{state['treatment']}** on **{state['outcome']}**.")
    roles = roles_table(graph_roles(state))
    if roles:
        parts.append("**Roles**\n\n" + roles)
    parts.append("**Edges and where they came from**\n\n" + edge_table(state.get("graph") or {}))
    return neutralize("\n\n".join(parts))


# --------------------------------------------------------------------------- stages


def _messages_text(update: Mapping[str, Any]) -> str:
    return "\n\n".join(
        m["content"]
        for m in update.get("messages") or []
        if m.get("role") == "assistant" and m.get("content")
    )


def estimates_table(estimation: Mapping[str, Any]) -> str:
    primary = estimation.get("estimate") or {}
    rows = []
    for entry, role in [
        (primary, "primary"),
        *[(a, "alternative") for a in estimation.get("alternatives", [])],
    ]:
        interval = ""
        if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
            interval = f"{number(entry['ci_low'])} to {number(entry['ci_high'])}"
        rows.append(
            {
                "estimator": entry.get("label") or entry.get("method"),
                "role": role,
                "target": str(entry.get("target", "")).upper(),
                "estimate": number(entry.get("value")),
                "interval": interval,
            }
        )
    return markdown_table(rows, headers=["estimator", "role", "target", "estimate", "95% interval"])


def refutations_table(refutation: Mapping[str, Any]) -> str:
    rows = [
        {
            "check": r.get("name", "").replace("_", " "),
            "status": STATUS_MARK.get(r.get("status", ""), r.get("status", "")),
            "effect under check": number(r.get("new_effect")),
            "p-value": number(r.get("p_value"), 3),
            "reading": r.get("reading", ""),
        }
        for r in refutation.get("refutations", [])
    ]
    return markdown_table(rows)


def stage_view(
    stage: str, update: Mapping[str, Any] | None, state: Mapping[str, Any]
) -> StageView | None:
    """The step shown when ``stage`` finishes; ``state`` fills in the stage's inputs.

    Returns None for bookkeeping updates that say nothing (an approval that was skipped).
    """
    update = update or {}
    said = _messages_text(update)
    title = STAGE_TITLES.get(stage, stage.replace("_", " ").title())
    merged = {**state, **update}
    pictures: list[Picture] = []
    if stage == Stage.INTAKE:
        source = merged.get("data_path") or ""
        inputs = f"File `{Path(source).name}`" if source else ""
        dataset = update.get("dataset")
        output = dataset_summary(dataset) if dataset else said
    elif stage == Stage.QUESTION:
        inputs = f"Question: *{merged.get('question') or '(none given)'}*"
        output = said
    elif stage == Stage.MODELING:
        inputs = (
            f"Treatment `{merged.get('treatment')}`, outcome `{merged.get('outcome')}`, "
            f"{len(((merged.get('dataset') or {}).get('profile') or {}).get('columns', []))}"
            " columns"
        )
        output = said
        if update.get("graph"):
            output = "\n\n".join(p for p in [said, graph_details(merged)] if p)
            picture = graph_picture(merged)
            pictures = [picture] if picture else []
    elif stage == Stage.IDENTIFICATION:
        graph = merged.get("graph") or {}
        inputs = (
            f"Graph with {len(graph.get('nodes', []))} variables and "
            f"{len(graph.get('edges', []))} edges"
        )
        ident = update.get("identification") or {}
        lines = [said]
        if ident:
            lines.append(
                f"Estimand: **{ident.get('estimand')}**; adjustment set: "
                + (", ".join(f"`{c}`" for c in ident.get("adjustment_set", [])) or "none")
            )
        output = "\n\n".join(line for line in lines if line)
    elif stage == Stage.ESTIMATION:
        ident = merged.get("identification") or {}
        inputs = (
            f"Estimand {ident.get('estimand', '?')}, target "
            f"{str(merged.get('target') or 'ate').upper()}"
            + (f", method {merged['method']}" if merged.get("method") else "")
        )
        estimation = update.get("estimation") or {}
        output = "\n\n".join(p for p in [said, estimates_table(estimation)] if p)
    elif stage == Stage.REFUTATION:
        estimate = (merged.get("estimation") or {}).get("estimate") or {}
        inputs = f"Estimate {number(estimate.get('value'))} by {estimate.get('label') or '?'}"
        output = "\n\n".join(
            p for p in [said, refutations_table(update.get("refutation") or {})] if p
        )
    else:
        if not said and not update.get("error"):
            return None
        inputs, output = "", said
    if update.get("error") and update["error"] not in output:
        output = "\n\n".join(p for p in [output, f"**Stopped:** {update['error']}"] if p)
    return StageView(
        stage=stage,
        title=title,
        input=neutralize(inputs),
        output=neutralize(output),
        pictures=pictures,
    )


def progress_markdown(progress: Mapping[str, float], width: int = 20) -> str:
    """Text progress bars, one per refuter: they render everywhere, even in a saved thread."""
    lines = []
    for name, done in progress.items():
        done = min(max(float(done), 0.0), 1.0)
        filled = round(done * width)
        lines.append(
            f"`{'█' * filled}{'░' * (width - filled)}` {done:4.0%} {name.replace('_', ' ')}"
        )
    return "Running the refuters…\n\n" + "\n\n".join(lines) if lines else "Running the refuters…"


# --------------------------------------------------------------------------- answers


def bounds_answer(state: Mapping[str, Any]) -> tuple[str, Picture]:
    """When only bounds exist: why, the range under each set of assumptions, the picture."""
    from causal_assistant.tools.export.bounds_plot import draw_bounds_result
    from causal_assistant.tools.identify.bounds import LABELS, BoundsResult, format_effect

    bounds = BoundsResult.model_validate(state["bounds"])
    binary = bounds.range_source == "binary"
    rows = [
        {
            "assumptions": LABELS[b.kind],
            "range": "contradicted by the data"
            if b.low is None or b.high is None
            else f"{format_effect(b.low, binary)} to {format_effect(b.high, binary)}",
            "sign": b.sign,
        }
        for b in bounds.bounds
    ]
    assumed = "\n".join(f"- **{LABELS[b.kind]}**: {b.assumptions}" for b in bounds.bounds)
    text = "\n\n".join(
        [
            f"## Effect of {bounds.treatment} on {bounds.outcome}: a range, not a point",
            (state.get("identification") or {}).get("reading", ""),
            bounds.reading,
            markdown_table(rows, headers=["assumptions", "range", "sign"]),
            "What each range assumes:\n" + assumed,
            "Ask `what do you need to assume to get a sign?` for which assumption gives one.",
        ]
    )
    picture = draw_bounds_result(bounds)
    return text, Picture(name="bounds", png=picture)


# Warnings that can change what the answer means; the rest are notes under the details.
DECISIVE_CODES = (
    "refutation_failed",
    "estimators_disagree",
    "poor_overlap",
    "missing_values_dropped",
    "graph_data_conflict",
    "small_sample",
    "weak_instrument",
    "unadjusted_confounder",
    "post_treatment_adjustment",
    "unidentifiable",
    "treatment_defining_column",
    "outcome_copy",
)


def _interval(entry: Mapping[str, Any], digits: int = 4) -> str:
    if entry.get("ci_low") is None or entry.get("ci_high") is None:
        return ""
    return f"95% interval {number(entry['ci_low'], digits)} to {number(entry['ci_high'], digits)}"


def headline(result: Mapping[str, Any]) -> str:
    """The number with its unit and interval, and the unadjusted comparison beside it."""
    estimate = result.get("estimate") or {}
    unit = estimate.get("scale") or f"units of {result.get('outcome')}"
    line = f"**{number(estimate.get('value'))} {unit}**"
    interval = _interval(estimate)
    line += f", {interval}" if interval else " (no interval)"
    line += f" ({estimate.get('estimand') or str(estimate.get('target', 'ate')).upper()})."
    naive = result.get("naive")
    if naive and naive.get("value") is not None:
        line += f" Naive comparison, adjusting for nothing: {number(naive['value'])}"
        line += f" ({_interval(naive)})." if _interval(naive) else "."
    return line


def caveats(state: Mapping[str, Any], result: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(caveats that could change the conclusion, other notes), each said once: failed or
    doubtful checks first, then the decisive warnings."""
    decisive: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for check in (state.get("refutation") or {}).get("refutations", []):
        if check.get("status") in ("warn", "fail"):
            label = "failed" if check["status"] == "fail" else "doubtful"
            decisive.append(
                f"**{check['name'].replace('_', ' ')} check {label}**: {check.get('reading', '')}"
            )
            seen.add(check.get("reading", ""))
    for warning in result.get("warnings") or []:
        message = warning.get("message", "")
        if message in seen or (warning.get("code") == "refutation_failed" and decisive):
            continue
        seen.add(message)
        text = f"**{str(warning.get('code')).replace('_', ' ')}**: {message}"
        (decisive if warning.get("code") in DECISIVE_CODES else notes).append(text)
    return decisive, notes


def final_answer(state: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """The number with unit, interval and the naive comparison; then what could change the
    conclusion, each caveat once; then the details (reading, exact value, identification,
    alternatives, checks, other notes)."""
    estimation = state.get("estimation") or {}
    estimate = result.get("estimate") or estimation.get("estimate") or {}
    ident = result.get("identification") or {}
    decisive, notes = caveats(state, result)
    parts = [f"## Effect of {result.get('treatment')} on {result.get('outcome')}", headline(result)]
    if decisive:
        parts.append(
            "**Caveats that could change this conclusion**\n\n"
            + "\n".join(f"- {c}" for c in decisive)
        )
    else:
        parts.append(
            "**Caveats**: no check failed and no warning was raised; the estimate still "
            "rests on the graph being right (no unmeasured common cause)."
        )
    parts += ["---", "**Details**", estimation.get("reading", "")]
    parts.append(
        f"Estimated by {estimate.get('label') or estimate.get('method')}. "
        f"Exact value: `{exact(estimate.get('value'))}`"
    )
    if ident.get("estimand"):
        adjusted = ", ".join(ident.get("adjustment_set") or []) or "nothing"
        parts.append(f"Identified by **{ident['estimand']}**, adjusting for {adjusted}.")
    if estimation.get("alternatives"):
        parts.append("**Triangulation**\n\n" + estimates_table(estimation))
    refutation = state.get("refutation") or {}
    if refutation.get("refutations"):
        parts.append("**Stress tests**\n\n" + refutations_table(refutation))
    if notes:
        parts.append("**Other notes**\n\n" + "\n".join(f"- {n}" for n in notes))
    parts.append(
        "Download the script, notebook and report below; `python analysis.py` "
        "reproduces the estimate."
    )
    return neutralize("\n\n".join(p for p in parts if p))


def pending_prompt(pending: Mapping[str, Any] | None) -> str:
    if not pending:
        return ""
    if pending.get("kind") == Stage.REVIEW_REFUTATION:
        failed = ", ".join(pending.get("failed") or [])
        return neutralize(f"**A stress test failed** ({failed}). {pending.get('question', '')}")
    return neutralize(pending.get("question", ""))


def buttons_for(state: Mapping[str, Any], pending: Mapping[str, Any] | None) -> list[ButtonSpec]:
    """The buttons that make sense now: approve/edit while the graph waits, accept or
    re-specify after a failed refutation, export once there is an estimate."""
    kind = (pending or {}).get("kind")
    buttons: list[ButtonSpec] = []
    if kind == Stage.APPROVE_GRAPH:
        buttons += [
            ButtonSpec(
                "approve",
                "Approve graph",
                tooltip="Accept this graph and estimate the effect",
                icon="check",
            ),
            ButtonSpec(
                "edit_graph", "Edit graph", tooltip="Add, remove or reverse an edge", icon="pencil"
            ),
        ]
    elif kind == Stage.REVIEW_REFUTATION:
        buttons += [
            ButtonSpec("accept", "Accept with caveat", icon="check"),
            ButtonSpec("respecify", "Re-specify graph", icon="pencil"),
        ]
    if state.get("estimation"):
        buttons.append(
            ButtonSpec(
                "export",
                "Export",
                tooltip="Download analysis.py, analysis.ipynb and report.md",
                icon="download",
            )
        )
    return buttons


def edit_help(state: Mapping[str, Any]) -> str:
    edges = (state.get("graph") or {}).get("edges", [])
    example = (
        f"`remove edge {edges[0]['cause']} -> {edges[0]['effect']}`"
        if edges
        else "`add edge age -> treat`"
    )
    return neutralize(
        "Click the graph (a node, then another, adds an edge; an edge can be removed or "
        "reversed), or type an edit and send it, for example " + example + ", "
        "`add edge A -> B`, "
        "`reverse edge A -> B`, `mark X unobserved` or `mark X post-treatment`. "
        "Ask `why X?` to see where an edge came from; say `approve` when it is right."
    )


# --------------------------------------------------------------------------- messages


def message_table(table: Sequence[Mapping[str, Any]] | None) -> str:
    return markdown_table(list(table or []))


def message_markdown(message: Mapping[str, Any]) -> str:
    """A reply with its extras: a returned table and the code that produced it."""
    parts = [message.get("content", "")]
    if message.get("table"):
        parts.append(message_table(message["table"]))
    if message.get("code"):
        label = message.get("code_label") or "Code run"
        parts.append(f"{label}:\n\n" + code_block(message["code"]))
    return neutralize("\n\n".join(p for p in parts if p))


def message_pictures(message: Mapping[str, Any]) -> list[Picture]:
    return [
        Picture(name=Path(p).name, path=p) for p in message.get("images") or [] if Path(p).is_file()
    ]


def message_files(message: Mapping[str, Any]) -> list[Path]:
    return [Path(p) for p in message.get("files") or [] if Path(p).is_file()]


def new_replies(messages: Sequence[Mapping[str, Any]], shown: Sequence[str]) -> list[dict]:
    """Assistant messages of a turn not already shown inside a stage's step.

    ``shown`` holds the texts the steps displayed; each is consumed once, so a reply that
    happens to repeat a stage's words is still shown.
    """
    remaining = list(shown)
    out = []
    for message in messages:
        if message.get("role") != "assistant":
            continue
        if message.get("content") in remaining:
            remaining.remove(message["content"])
            continue
        out.append(dict(message))
    return out


# --------------------------------------------------------------------------- uploads


def upload_problem(name: str, size: int | None, limit_mb: int) -> str | None:
    """Why an upload cannot be used, in a sentence the user can act on; None if it can."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES + MARKDOWN_SUFFIXES:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        return (
            f"I can't read `{name}`: upload a table as {kinds} (CSV, TSV, Parquet or Excel), "
            "or a description of the data as .txt or .md."
        )
    if size is not None and size > limit_mb * 1024 * 1024:
        return (
            f"`{name}` is {size / 2**20:.1f} MB, over the {limit_mb} MB upload limit "
            "(CAUSAL_ASSISTANT_MAX_UPLOAD_MB). Upload a smaller extract or raise the limit."
        )
    return None


def safe_filename(name: str) -> str:
    """The uploaded file's own name, made safe as a file name; the extension is kept
    because it decides how the table is read."""
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "data"
    return cleaned[:120]


UPLOAD_MIME_PATTERNS: tuple[str, ...] = ("text/*", "application/*")


def upload_accept() -> dict[str, list[str]]:
    """Chainlit's accept spec: MIME patterns covering every type in ``UPLOAD_MIME_TYPES``,
    each limited to the extensions we can read (the server checks type and extension).
    Patterns rather than the list keep the browser's refusal message readable."""
    return {
        pattern: list(SUPPORTED_SUFFIXES + MARKDOWN_SUFFIXES) for pattern in UPLOAD_MIME_PATTERNS
    }


# --------------------------------------------------------------------------- diagnostics


def _simulated(entry: Mapping[str, Any]) -> list[float] | None:
    """The effects a simulation refuter produced (``details.effects``), if it kept them."""
    values = (entry.get("details") or {}).get("effects")
    if isinstance(values, list) and len(values) > 1:
        return [float(v) for v in values if isinstance(v, (int, float))]
    return None


def refuter_pictures(state: Mapping[str, Any]) -> list[Picture]:
    """One panel of histograms, a cell per simulation refuter that kept its runs, with the
    estimate and, where it differs (the placebo's zero), what the refuter expects."""
    from causal_assistant.tools.export.plots import refuter_panel

    estimate = (((state.get("estimation") or {}).get("estimate")) or {}).get("value")
    if estimate is None:
        return []
    runs = []
    for entry in (state.get("refutation") or {}).get("refutations", []):
        simulated = _simulated(entry)
        if not simulated or not any(math.isfinite(v) for v in simulated):
            continue
        expected = (entry.get("details") or {}).get("reference")
        if expected is not None and math.isclose(expected, estimate):
            expected = None
        runs.append((entry.get("name", "refuter"), simulated, expected))
    if not runs:
        return []
    return [Picture(name="refuters", png=refuter_panel(runs, float(estimate)))]


def balance_pictures(model_data: Any, state: Mapping[str, Any]) -> list[Picture]:
    """Overlap and balance plots for a binary treatment with a backdoor adjustment set.

    ``model_data`` is the agent's prepared frame (``tools.data.modeldata.ModelData``); the
    numbers come from ``tools.estimate.overlap``, the pictures from ``tools.export.plots``.
    """
    from causal_assistant.tools.estimate.overlap import balance_diagnostics
    from causal_assistant.tools.export.plots import balance_plot, overlap_plot

    ident = state.get("identification") or {}
    if model_data is None or ident.get("estimand") != "backdoor":
        return []
    found = balance_diagnostics(model_data, ident.get("adjustment_set") or [])
    if found is None:
        return []
    return [
        Picture(name="overlap", png=overlap_plot(found.scores, found.treated)),
        Picture(name="balance", png=balance_plot(found.before, found.after)),
    ]
