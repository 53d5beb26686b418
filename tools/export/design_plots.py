"""The pictures of the panel and discontinuity designs: the event study and the RD plot.

Pure functions: numbers in, PNG bytes out, drawn on a fresh ``Figure`` (no pyplot state),
so sessions can draw at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from causal_assistant.tools.export.plots import CONTROL_COLOUR, TREATED_COLOUR, _png


def event_study_plot(
    rows: Sequence[Mapping[str, float]], outcome: str = "outcome", title: str = ""
) -> bytes:
    """Effect by period relative to adoption (``rel``, ``estimate``, ``ci_low``,
    ``ci_high``), with the reference period (-1) drawn at zero. Points left of the dashed
    line are the pre-trend: under parallel trends they hover around zero."""
    rel = np.array([r["rel"] for r in rows] + [-1], dtype=float)
    est = np.array([r["estimate"] for r in rows] + [0.0])
    low = np.array([r["ci_low"] for r in rows] + [0.0])
    high = np.array([r["ci_high"] for r in rows] + [0.0])
    order = np.argsort(rel)
    rel, est, low, high = rel[order], est[order], low[order], high[order]
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    colours = [TREATED_COLOUR if r >= 0 else CONTROL_COLOUR for r in rel]
    ax.vlines(rel, low, high, colors=colours, linewidth=1.5)
    ax.scatter(rel, est, c=colours, zorder=3, s=22)
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.axvline(-0.5, color="#555555", linewidth=0.8, linestyle="--")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("periods since adoption (reference: -1)")
    ax.set_ylabel(f"effect on {outcome} (95% interval)")
    ax.set_title(title or "Event study")
    return _png(fig)


def rd_plot(
    x: Sequence[float],
    y: Sequence[float],
    cutoff: float,
    *,
    bins: int = 20,
    order: int = 4,
    xlabel: str = "running variable",
    ylabel: str = "outcome",
    title: str = "",
) -> bytes:
    """Binned means of ``y`` (``bins`` equal-width bins on each side of the cutoff) and a
    global polynomial of degree ``order`` fitted separately on each side, as rdplot
    draws it; a jump at the dashed line is the discontinuity."""
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x_arr) & np.isfinite(y_arr)
    x_arr, y_arr = x_arr[keep], y_arr[keep]
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for side, colour in ((x_arr < cutoff, CONTROL_COLOUR), (x_arr >= cutoff, TREATED_COLOUR)):
        xs, ys = x_arr[side], y_arr[side]
        if xs.size < 2:
            continue
        edges = np.linspace(xs.min(), xs.max(), bins + 1)
        which = np.clip(np.digitize(xs, edges) - 1, 0, bins - 1)
        counts = np.bincount(which, minlength=bins)
        filled = counts > 0
        means = np.bincount(which, weights=ys, minlength=bins)[filled] / counts[filled]
        centres = ((edges[:-1] + edges[1:]) / 2)[filled]
        ax.scatter(centres, means, color=colour, s=18, zorder=3)
        degree = min(order, np.unique(xs).size - 1)
        grid = np.linspace(xs.min(), xs.max(), 200)
        fit = np.polynomial.Polynomial.fit(xs, ys, degree)
        ax.plot(grid, fit(grid), color=colour, linewidth=1.8)
    ax.axvline(cutoff, color="#555555", linestyle="--", linewidth=0.9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"Discontinuity at {cutoff:g}")
    return _png(fig)
