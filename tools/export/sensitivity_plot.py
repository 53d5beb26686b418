"""Cinelli & Hazlett's contour plot: the estimate a hidden confounder of each strength
would leave, with the measured covariates placed on it as yardsticks.

The horizontal axis is the share of the treatment's leftover variation a confounder
explains, the vertical its share of the outcome's; the red line is where the estimate
reaches zero. A covariate's marker far from that line says a confounder as strong as it
would not overturn the answer.
"""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from causal_assistant.tools.refute.sensitivity import (  # noqa: E402
    benchmark_strength,
    confounder_bias,
)

MULTIPLES = (1.0, 2.0, 3.0)


def draw_contours(linear: dict, treatment: str, outcome: str) -> bytes:
    """PNG bytes of the adjusted-estimate contours for an ``ols_sensitivity`` result."""
    estimate, se, dof = linear["estimate"], linear["se"], linear["dof"]
    points = []
    for row in linear["benchmarks"]:
        for k in MULTIPLES:
            r2_dz, r2_yz = benchmark_strength(
                k, row["r2_treatment"], row["r2_outcome"], row["in_model"]
            )
            if r2_dz < 0.99:
                points.append((k, row["name"], r2_dz, r2_yz))
    reach = max([0.4, 1.25 * linear["robustness_value"], *(max(p[2], p[3]) * 1.2 for p in points)])
    reach = min(reach, 0.99)
    grid = np.linspace(0, reach, 120)
    r2_d, r2_y = np.meshgrid(grid, grid)
    bias = np.vectorize(lambda d, y: confounder_bias(d, y, se, dof))(r2_d, r2_y)
    adjusted = np.sign(estimate) * (abs(estimate) - bias)
    fig, ax = plt.subplots(figsize=(6, 5))
    levels = [v for v in np.linspace(-abs(estimate), abs(estimate), 9) if abs(v) > 1e-12]
    lines = ax.contour(r2_d, r2_y, adjusted, levels=levels, colors="#6c757d", linewidths=0.8)
    ax.clabel(lines, fontsize=7, fmt="%.3g")
    if adjusted.min() < 0 < adjusted.max():
        ax.contour(r2_d, r2_y, adjusted, levels=[0], colors="#e63946", linewidths=2)
    ax.plot([0], [0], marker="^", color="black")
    ax.annotate(
        f"estimate {estimate:.3g}", (0, 0), xytext=(6, 6), textcoords="offset points", fontsize=8
    )
    for k, name, r2_dz, r2_yz in points:
        ax.plot([r2_dz], [r2_yz], marker="D", color="#e76f51", markersize=5)
        ax.annotate(
            f"{k:g}× {name}", (r2_dz, r2_yz), xytext=(4, 4), textcoords="offset points", fontsize=7
        )
    ax.set_xlim(0, reach)
    ax.set_ylim(0, reach)
    ax.set_xlabel(f"share of {treatment}'s leftover variation the confounder explains")
    ax.set_ylabel(f"share of {outcome}'s leftover variation it explains")
    ax.set_title("Estimate after adjusting for a hidden confounder (red: zero)", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
