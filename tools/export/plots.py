"""Pictures people would rather look at than read, drawn with matplotlib only.

No system Graphviz: causal graphs are laid out in layers by role (causes on the left,
treatment, then mediators, outcome on the right) so the picture reads left to right.
"""

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from causal_assistant.tools.model.graphs import CausalGraph  # noqa: E402

LAYER = {
    "instrument": 0,
    "confounder": 0,
    "outcome_predictor": 0,
    "treatment": 1,
    "mediator": 2,
    "outcome": 3,
    "collider": 4,
    "excluded": 4,
}
COLOUR = {
    "treatment": "#f4a261",
    "outcome": "#2a9d8f",
    "confounder": "#e9c46a",
    "instrument": "#8ab17d",
    "mediator": "#a8dadc",
    "collider": "#e76f51",
    "outcome_predictor": "#cdb4db",
}
EDGE_STYLE = {
    "data": "solid",
    "user": "solid",
    "llm": "dotted",
    "heuristic": "dashed",
    "default": "dashed",
}


def draw_graph(graph: CausalGraph, roles: dict[str, str] | None = None, title: str = "") -> bytes:
    """PNG bytes of the graph; node colour shows the role, line style the edge's source."""
    roles = roles or {}
    g = graph.to_networkx()
    for node in g.nodes:
        role = roles.get(node, "confounder")
        g.nodes[node]["layer"] = 2.5 if node in graph.unobserved else LAYER.get(role, 0)
    pos = nx.multipartite_layout(g, subset_key="layer", align="vertical")
    width = 3 + 2 * len({d["layer"] for _, d in g.nodes(data=True)})
    height = 2 + 0.6 * max(
        1,
        max(
            sum(1 for _, d in g.nodes(data=True) if d["layer"] == layer)
            for layer in {d["layer"] for _, d in g.nodes(data=True)}
        ),
    )
    fig, ax = plt.subplots(figsize=(width, min(height, 14)))
    colours = [
        "#dddddd" if n in graph.unobserved else COLOUR.get(roles.get(n, ""), "#e9c46a")
        for n in g.nodes
    ]
    nx.draw_networkx_nodes(g, pos, node_color=colours, node_size=1400, ax=ax, edgecolors="#333333")
    nx.draw_networkx_labels(g, pos, font_size=8, ax=ax)
    for style in set(EDGE_STYLE.values()):
        edges = [
            (u, v)
            for u, v, d in g.edges(data=True)
            if EDGE_STYLE.get(d.get("source", "default")) == style
        ]
        nx.draw_networkx_edges(
            g,
            pos,
            edgelist=edges,
            style=style,
            arrows=True,
            arrowsize=14,
            node_size=1400,
            ax=ax,
            edge_color="#555555",
        )
    ax.set_title(
        title or "Causal graph (solid: data or you; dashed: assumption; dotted: LLM)", fontsize=9
    )
    ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


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
    bins = np.linspace(0.0, 1.0, 31)
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


def standardized_differences(
    covariates: pd.DataFrame, treated: Sequence[bool | int], weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Standardised mean difference (treated minus untreated) of every covariate, optionally
    weighted; the pooled unweighted SD is the scale, so before and after are comparable."""
    x = covariates.astype(float)
    mask = np.asarray(treated).astype(bool)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    out: dict[str, float] = {}
    for column in x.columns:
        values = x[column].to_numpy()
        scale = np.sqrt((values[mask].var() + values[~mask].var()) / 2) or 1.0
        difference = np.average(values[mask], weights=w[mask]) - np.average(
            values[~mask], weights=w[~mask]
        )
        out[str(column)] = float(difference / scale)
    return out


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
    ax, name: str, simulated: Sequence[float], estimate: float, expected: float | None
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
