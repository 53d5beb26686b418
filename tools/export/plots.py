"""Pictures people would rather look at than read, drawn with matplotlib only.

No system Graphviz: causal graphs are laid out in layers by role (causes on the left,
treatment, then mediators, outcome on the right) so the picture reads left to right.
"""

import io
from collections.abc import Mapping, Sequence
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from causal_assistant.tools.model.graphs import CausalGraph  # noqa: E402

# Where each role sits: the treatment on the left and the outcome on the right of one
# line, common causes fanned out above between them (so their arrows run down to either
# end without crossing a box), instruments left of the treatment, outcome predictors right
# of the outcome, mediators on the line, and what comes after both below it.
PLACE = {
    "instrument": "left",
    "confounder": "above",
    "unobserved": "above",
    "cluster": "above",
    "unrelated": "right",
    "outcome_predictor": "right",
    "treatment": "treatment",
    "mediator": "between",
    "outcome": "outcome",
    "collider": "below",
    "descendant": "below",
    "post_treatment": "below",
    "excluded": "below",
}
COLOUR = {
    "treatment": "#f4a261",
    "outcome": "#2a9d8f",
    "confounder": "#e9c46a",
    "outcome_predictor": "#cdb4db",
    "instrument": "#8ab17d",
    "mediator": "#a8dadc",
    "collider": "#e76f51",
    "descendant": "#f2cc8f",
    "post_treatment": "#d4a5a5",
    "unobserved": "#dddddd",
    "unrelated": "#f1f1f1",
    "cluster": "#b5c99a",
    "excluded": "#f1f1f1",
}
ROLE_NAMES = {
    "outcome_predictor": "outcome predictor",
    "post_treatment": "post-treatment (marked)",
    "descendant": "changed by treatment",
}
EDGE_STYLE: dict[str, Literal["solid", "dashed", "dotted"]] = {
    "data": "solid",
    "user": "solid",
    "llm": "dotted",
    "heuristic": "dashed",
    "default": "dashed",
}
STYLE_NAMES = {"solid": "data test or you", "dashed": "assumption", "dotted": "LLM"}
PER_COLUMN = 8  # a group wraps into another column beyond this many nodes
COLUMN_GAP, ROW_GAP = 1.7, 0.75


def _node_role(graph: CausalGraph, roles: Mapping[str, str], node: str) -> str:
    if node in graph.post_treatment:
        return "post_treatment"
    if node in graph.unobserved:
        return "unobserved"
    return roles.get(node, "confounder")


def _column_block(
    nodes: list[str], centre_x: float, first_y: float, step: float
) -> dict[str, tuple[float, float]]:
    """Nodes in columns of PER_COLUMN centred on ``centre_x``, rows from ``first_y``."""
    columns = [nodes[i : i + PER_COLUMN] for i in range(0, len(nodes), PER_COLUMN)]
    left = centre_x - COLUMN_GAP * (len(columns) - 1) / 2
    return {
        node: (left + COLUMN_GAP * c, first_y + step * r)
        for c, column in enumerate(columns)
        for r, node in enumerate(column)
    }


def graph_layout(graph: CausalGraph, roles: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """Positions by role (see PLACE); groups wrap into columns, so thirty nodes still leave
    every label room."""
    groups: dict[str, list[str]] = {}
    for node in graph.nodes:
        groups.setdefault(PLACE.get(_node_role(graph, roles, node), "above"), []).append(node)
    above = groups.get("above", [])
    width = max(4.0, COLUMN_GAP * (-(-len(above) // PER_COLUMN) + 1.5))
    between = groups.get("between", [])
    pos = {n: (0.0, 0.0) for n in groups.get("treatment", [])[:1]}
    pos.update({n: (width, 0.0) for n in groups.get("outcome", [])[:1]})
    for extra in groups.get("treatment", [])[1:] + groups.get("outcome", [])[1:]:
        groups.setdefault("below", []).append(extra)
    pos.update(_column_block(above, width / 2, ROW_GAP * 1.4, ROW_GAP))
    pos.update(
        {
            n: (width * (i + 1) / (len(between) + 1), -ROW_GAP * (1 + i % 2))
            for i, n in enumerate(between)
        }
    )
    for side, x in (("left", -COLUMN_GAP), ("right", width + COLUMN_GAP)):
        nodes = groups.get(side, [])
        top = ROW_GAP * (min(len(nodes), PER_COLUMN) - 1) / 2
        sign = -1 if side == "left" else 1
        pos.update(
            _column_block(
                nodes, x + sign * COLUMN_GAP * (len(nodes) - 1) // PER_COLUMN / 2, -top, ROW_GAP
            )
        )
    lowest = min([y for _, y in pos.values()] + [0.0])
    pos.update(_column_block(groups.get("below", []), width / 2, lowest - ROW_GAP * 1.4, -ROW_GAP))
    return pos


def _boundary(
    box: tuple[float, float, float, float], towards: tuple[float, float]
) -> tuple[float, float]:
    """Where the line from the box's centre towards ``towards`` leaves the box."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = towards[0] - cx, towards[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (x1 - x0) / 2 / abs(dx) if dx else float("inf"),
        (y1 - y0) / 2 / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def draw_graph(graph: CausalGraph, roles: dict[str, str] | None = None, title: str = "") -> bytes:
    """PNG bytes of the graph: each label inside its box, arrows ending at the box's edge
    (never over a label), colour for the role and line style for the edge's source, both
    explained in a legend."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Patch

    roles = roles or {}
    pos = graph_layout(graph, roles)
    xs, ys = [p[0] for p in pos.values()] or [0.0], [p[1] for p in pos.values()] or [0.0]
    span_x, span_y = max(xs) - min(xs) + 1.6, max(ys) - min(ys) + 1.2
    fig = Figure(figsize=(max(5.0, 1.25 * span_x), max(2.6, 0.95 * span_y) + 0.6), dpi=110)
    ax = fig.subplots()
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    labels = {}
    for node, (x, y) in pos.items():
        role = _node_role(graph, roles, node)
        labels[node] = ax.text(
            x,
            y,
            node if len(node) <= 22 else node[:20] + "…",
            ha="center",
            va="center",
            fontsize=9,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.35",
                "facecolor": COLOUR.get(role, COLOUR["confounder"]),
                "edgecolor": "#333333",
                "linestyle": "--" if role == "unobserved" else "-",
                "linewidth": 1.6 if role in ("treatment", "outcome") else 0.8,
            },
        )
    fig.draw_without_rendering()  # sizes the label boxes, which the arrows end at
    to_data = ax.transData.inverted()
    boxes = {}
    for node, label in labels.items():
        patch = label.get_bbox_patch()
        assert patch is not None  # every label is drawn with a box
        extent = patch.get_window_extent()
        (x0, y0), (x1, y1) = to_data.transform([[extent.x0, extent.y0], [extent.x1, extent.y1]])
        boxes[node] = (x0 - 0.03, y0 - 0.03, x1 + 0.03, y1 + 0.03)
    for edge in graph.edges:
        start = _boundary(boxes[edge.cause], pos[edge.effect])
        end = _boundary(boxes[edge.effect], pos[edge.cause])
        same_column = pos[edge.cause][0] == pos[edge.effect][0]
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=13,
                color="#444444",
                linewidth=1.0,
                linestyle=EDGE_STYLE.get(edge.source, "dashed"),
                shrinkA=0,
                shrinkB=0,
                zorder=2,  # under the boxes: a line crossing a node never hides its label
                # edges within a column bow out so they do not run through the boxes between
                connectionstyle=f"arc3,rad={0.45 if same_column else 0.0}",
            )
        )
    present = list(dict.fromkeys(_node_role(graph, roles, n) for n in graph.nodes))
    handles: list = [
        Patch(
            facecolor=COLOUR.get(r, COLOUR["confounder"]),
            edgecolor="#333333",
            label=ROLE_NAMES.get(r, r.replace("_", " ")),
        )
        for r in present
    ]
    styles = dict.fromkeys(EDGE_STYLE.get(e.source, "dashed") for e in graph.edges)
    handles += [
        Line2D([], [], color="#444444", linestyle=style, label=f"edge: {STYLE_NAMES[style]}")
        for style in styles
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(5, len(handles)),
        fontsize=8,
        frameon=False,
    )
    ax.set_title(title or "Causal graph", fontsize=10)
    return _png(fig)


SCENE_ROW_PX, SCENE_MARGIN_PX, SCENE_BOX_H_PX = 64.0, 24.0, 28.0
SCENE_CHAR_PX, SCENE_LABEL_CHARS = 7.4, 22


def _label(node: str) -> str:
    return node if len(node) <= SCENE_LABEL_CHARS else node[: SCENE_LABEL_CHARS - 2] + "…"


def _bow(
    cause: str,
    effect: str,
    pos: Mapping[str, tuple[float, float]],
    boxes: Mapping[str, tuple[float, float, float, float]],
) -> str:
    """An edge within a column, from the right side of one box to the other's, bowed out
    far enough to pass every box between them rather than run hidden under them."""
    x0, y0 = boxes[cause][2], (boxes[cause][1] + boxes[cause][3]) / 2
    x1, y1 = boxes[effect][2], (boxes[effect][1] + boxes[effect][3]) / 2
    low, high = sorted((pos[cause][1], pos[effect][1]))
    right = max(
        box[2]
        for n, box in boxes.items()
        if pos[n][0] == pos[cause][0] and low <= pos[n][1] <= high
    )
    control = 2 * (right + 14.0) - (x0 + x1) / 2  # the curve's middle lies 14 px past them
    return f"M {x0:.1f} {y0:.1f} Q {control:.1f} {(y0 + y1) / 2:.1f} {x1:.1f} {y1:.1f}"


def graph_scene(graph: CausalGraph, roles: Mapping[str, str] | None = None) -> dict:
    """The picture ``draw_graph`` draws, as plain numbers for the chat's interactive
    element: pixel boxes on the same layout, each edge's path ending at the boxes' edges,
    and the legend. Names are data; the element shows them as text, never as markup."""
    roles = roles or {}
    pos = graph_layout(graph, roles)
    widths = {n: max(44.0, SCENE_CHAR_PX * len(_label(n)) + 18.0) for n in graph.nodes}
    per_unit_x = max(100.0, (max(widths.values(), default=44.0) + 16.0) / COLUMN_GAP)
    xs, ys = [p[0] for p in pos.values()] or [0.0], [p[1] for p in pos.values()] or [0.0]
    left = min(xs) * per_unit_x - max(widths.values(), default=44.0) / 2 - SCENE_MARGIN_PX
    top = max(ys)

    def pixel(node: str) -> tuple[float, float]:
        x, y = pos[node]
        return x * per_unit_x - left, (top - y) * SCENE_ROW_PX + SCENE_MARGIN_PX + 14.0

    centres = {n: pixel(n) for n in graph.nodes}
    boxes = {
        n: (x - widths[n] / 2, y - SCENE_BOX_H_PX / 2, x + widths[n] / 2, y + SCENE_BOX_H_PX / 2)
        for n, (x, y) in centres.items()
    }
    nodes = [
        {
            "name": n,
            "label": _label(n),
            "role": _node_role(graph, roles, n),
            "colour": COLOUR.get(_node_role(graph, roles, n), COLOUR["confounder"]),
            "x": round(centres[n][0], 1),
            "y": round(centres[n][1], 1),
            "w": round(widths[n], 1),
            "h": SCENE_BOX_H_PX,
        }
        for n in graph.nodes
    ]
    edges = []
    for edge in graph.edges:
        if pos[edge.cause][0] == pos[edge.effect][0]:
            path = _bow(edge.cause, edge.effect, pos, boxes)
        else:
            (x0, y0), (x1, y1) = (
                _boundary(boxes[edge.cause], centres[edge.effect]),
                _boundary(boxes[edge.effect], centres[edge.cause]),
            )
            path = f"M {x0:.1f} {y0:.1f} L {x1:.1f} {y1:.1f}"
        style = EDGE_STYLE.get(edge.source, "dashed")
        edges.append({"cause": edge.cause, "effect": edge.effect, "style": style, "path": path})
    present = list(dict.fromkeys(_node_role(graph, roles, n) for n in graph.nodes))
    return {
        "width": round(max((b[2] for b in boxes.values()), default=0.0) + SCENE_MARGIN_PX, 1),
        "height": round(max((b[3] for b in boxes.values()), default=0.0) + SCENE_MARGIN_PX, 1),
        "nodes": nodes,
        "edges": edges,
        "legend": [
            {
                "role": r,
                "label": ROLE_NAMES.get(r, r.replace("_", " ")),
                "colour": COLOUR.get(r, COLOUR["confounder"]),
            }
            for r in present
        ],
        "edge_styles": [
            {"style": style, "label": STYLE_NAMES[style]}
            for style in dict.fromkeys(EDGE_STYLE.get(e.source, "dashed") for e in graph.edges)
        ],
    }


# --------------------------------------------------------------------------- diagnostics
# The functions below draw on a fresh ``Figure`` (not pyplot's global figure registry), so
# two chat sessions can draw at the same time from worker threads without sharing state.

TREATED_COLOUR, CONTROL_COLOUR = "#f4a261", "#2a9d8f"
BALANCE_THRESHOLD = 0.1


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def overlap_plot(
    scores: Sequence[float],
    treated: Sequence[bool | int],
    title: str = "Overlap of propensity scores",
) -> bytes:
    """PNG histogram of propensity scores by group: where one group has no counterpart,
    the estimate there is an extrapolation, which a picture shows faster than a share."""
    scores_arr = np.asarray(scores, dtype=float)
    mask = np.asarray(treated).astype(bool)
    if scores_arr.shape != mask.shape or scores_arr.size == 0:
        raise ValueError("scores and treated must be non-empty and of equal length")
    fig = Figure(figsize=(6, 3.4))
    ax = fig.subplots()
    bins = np.linspace(0.0, 1.0, 31).tolist()
    ax.hist(
        scores_arr[mask],
        bins=bins,
        alpha=0.6,
        density=True,
        color=TREATED_COLOUR,
        label=f"treated (n={int(mask.sum())})",
    )
    ax.hist(
        scores_arr[~mask],
        bins=bins,
        alpha=0.6,
        density=True,
        color=CONTROL_COLOUR,
        label=f"untreated (n={int((~mask).sum())})",
    )
    for edge in (0.05, 0.95):
        ax.axvline(edge, ls="--", lw=0.8, color="#777777")
    ax.set_xlim(0, 1)
    ax.set_xlabel("propensity score (probability of treatment given the covariates)")
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def balance_plot(
    before: Mapping[str, float],
    after: Mapping[str, float] | None = None,
    threshold: float = BALANCE_THRESHOLD,
) -> bytes:
    """PNG 'love plot' of standardised differences before (and after) weighting: the
    adjustment is only credible if the groups end up alike on what was adjusted for."""
    if not before:
        raise ValueError("no covariates to show")
    names = sorted(before, key=lambda n: abs(before[n]))
    y = np.arange(len(names))
    fig = Figure(figsize=(6, 1.2 + 0.32 * len(names)))
    ax = fig.subplots()
    ax.scatter([before[n] for n in names], y, color="#e76f51", label="before adjustment", zorder=3)
    if after:
        ax.scatter(
            [after.get(n, np.nan) for n in names],
            y,
            color="#264653",
            marker="s",
            label="after weighting",
            zorder=3,
        )
    for edge in (-threshold, threshold):
        ax.axvline(edge, ls="--", lw=0.8, color="#777777")
    ax.axvline(0, lw=0.8, color="#333333")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("standardised mean difference (treated - untreated)")
    ax.set_title("Covariate balance", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def _refuter_axes(
    ax: Axes, name: str, simulated: Sequence[float], estimate: float, expected: float | None
) -> None:
    values = np.asarray([v for v in simulated if v is not None and np.isfinite(v)], dtype=float)
    if values.size == 0:
        raise ValueError(f"no simulated effects to draw for {name}")
    ax.hist(values, bins=min(30, max(5, values.size // 3)), color="#a8dadc", edgecolor="#457b9d")
    ax.axvline(estimate, color="#e76f51", lw=2, label=f"estimate {estimate:.4g}")
    if expected is not None:
        ax.axvline(
            expected, color="#264653", ls="--", lw=1.5, label=f"expected if sound {expected:.4g}"
        )
    ax.set_xlabel("effect in the simulated runs", fontsize=8)
    ax.set_ylabel("runs", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"{name.replace('_', ' ')} ({values.size} runs)", fontsize=9)
    ax.legend(fontsize=7)


def refuter_plot(
    name: str, simulated: Sequence[float], estimate: float, expected: float | None = None
) -> bytes:
    """PNG histogram of the effects a refuter simulated, with the original estimate (and
    what the refuter expects if the estimate is sound) marked for comparison."""
    fig = Figure(figsize=(6, 3.2))
    _refuter_axes(fig.subplots(), name, simulated, estimate, expected)
    return _png(fig)


def refuter_panel(
    runs: Sequence[tuple[str, Sequence[float], float | None]], estimate: float
) -> bytes:
    """All simulation refuters in one PNG, two per row: one picture to scan instead of a
    long scroll of near-identical histograms. ``runs`` holds (name, effects, expected)."""
    if not runs:
        raise ValueError("no refuters to draw")
    columns = 1 if len(runs) == 1 else 2
    rows = -(-len(runs) // columns)
    fig = Figure(figsize=(5.2 * columns, 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax, (name, simulated, expected) in zip(axes, runs, strict=False):
        _refuter_axes(ax, name, simulated, estimate, expected)
    for ax in axes[len(runs) :]:
        ax.axis("off")
    fig.suptitle("Refuters: where the estimate falls among the simulated runs", fontsize=10)
    return _png(fig)
