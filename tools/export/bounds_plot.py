"""The picture of partial identification: one interval per set of assumptions, zero marked.

A reader sees at a glance how each assumption narrows the range and whether it leaves
zero inside, which is the question a decision usually turns on.
"""

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from causal_assistant.tools.identify.bounds import LABELS, Bound, BoundsResult  # noqa: E402

SIGNED = "#2a9d8f"  # the interval excludes zero
UNSIGNED = "#8d99ae"
EMPTY = "#e76f51"


def draw_bounds(
    bounds: Sequence[Bound],
    *,
    treatment: str,
    outcome: str,
    scale: str = "outcome units",
    naive: float | None = None,
    estimate: float | None = None,
) -> bytes:
    """PNG bytes: a horizontal bar per bound (green when its sign is determined by the data,
    grey otherwise, a red note when the data contradict it), a line at zero, and the raw
    difference and any point estimate for reference."""
    factor = 100.0 if scale == "percentage points" else 1.0
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.55 * len(bounds)))
    for row, bound in enumerate(reversed(bounds)):
        if bound.low is None or bound.high is None:
            ax.text(0, row, "contradicted by the data", color=EMPTY, va="center", ha="center")
            continue
        low, high = bound.low * factor, bound.high * factor
        colour = SIGNED if bound.sign_determined else UNSIGNED
        ax.plot([low, high], [row, row], color=colour, linewidth=8, solid_capstyle="butt")
        for value, align in ((low, "right"), (high, "left")):
            pad = " " if align == "left" else ""
            ax.text(
                value,
                row + 0.28,
                f"{pad}{value:.3g}{' ' if align == 'right' else ''}",
                ha=align,
                va="bottom",
                fontsize=8,
            )
    ax.axvline(0, color="black", linewidth=1)
    for line, style, label in ((naive, ":", "raw difference"), (estimate, "--", "estimate")):
        if line is not None:
            ax.axvline(line * factor, color="#e9c46a", linestyle=style, label=label)
    ax.set_yticks(range(len(bounds)), [LABELS[b.kind] for b in reversed(bounds)])
    ax.set_ylim(-0.7, len(bounds) - 0.2)
    ax.set_xlabel(f"average effect of {treatment} on {outcome} ({scale})")
    ax.set_title("What the data say under each set of assumptions", fontsize=10)
    if naive is not None or estimate is not None:
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def draw_bounds_result(result: BoundsResult) -> bytes:
    """The picture of a ``bound_effect`` result, with its raw difference marked."""
    return draw_bounds(
        result.bounds,
        treatment=result.treatment,
        outcome=result.outcome,
        scale=result.scale,
        naive=result.naive_difference,
    )
