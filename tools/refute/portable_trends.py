"""Rambachan & Roth's relative-magnitudes bounds as plain numbers, copied verbatim into the
exported script (the rules of ``causal_assistant.tools.portable``: numpy and scipy only,
self-contained functions, ``PORTABLE_FUNCTIONS`` in dependency order).
``tools.refute.parallel_trends`` reads them for the chat and the report.
"""

import numpy as np
from scipy import stats


def max_pre_change(pre_estimates):
    """Largest change between consecutive pre-treatment coefficients, ending at the
    reference period (normalized to zero)."""
    path = np.append(np.asarray(pre_estimates, dtype=float), 0.0)
    return float(np.max(np.abs(np.diff(path)))) if len(path) > 1 else 0.0


def trend_bounds(post_estimates, post_se, pre_estimates, m_bar=1.0, alpha=0.05):
    """The largest pre-treatment change D, and for each post-treatment period k the
    estimate, its bounds when trends may diverge by up to ``m_bar`` times D per period
    ((k + 1) M D, widened by the usual interval) and its breakdown M (None when D = 0)."""
    d = max_pre_change(pre_estimates)
    z = stats.norm.ppf(1 - alpha / 2)
    periods = []
    for k, (estimate, se) in enumerate(zip(post_estimates, post_se, strict=True)):
        slack = (k + 1) * m_bar * d
        margin = abs(estimate) - z * se
        breakdown = max(margin, 0.0) / ((k + 1) * d) if d > 0 else None
        periods.append(
            {
                "period": k,
                "estimate": float(estimate),
                "low": float(estimate - slack - z * se),
                "high": float(estimate + slack + z * se),
                "breakdown_m": None if breakdown is None else float(breakdown),
            }
        )
    return d, periods


def event_trend_sensitivity(events, m_bar=1.0):
    """The check on an event-study table (``rel``, ``estimate``, ``ci_low``, ``ci_high``):
    warn when a drift of ``m_bar`` times the largest pre-adoption change could put zero
    inside the first post-adoption interval that excludes it; the statistic is that
    period's breakdown M. None without two pre-adoption periods or any after adoption."""
    pre = events[events["rel"] < -1].sort_values("rel")
    post = events[events["rel"] >= 0].sort_values("rel")
    if pre.empty or post.empty:
        return None
    se = ((post["ci_high"] - post["ci_low"]) / (2 * 1.959963984540054)).tolist()
    inputs = (post["estimate"].tolist(), se, pre["estimate"].tolist())
    breakdown = trend_bounds(*inputs, m_bar)[1][0]["breakdown_m"]
    null = breakdown == 0
    robust = breakdown is None or breakdown >= 1
    return {
        "name": "parallel_trends_sensitivity",
        "status": "pass" if null or robust else "warn",
        "statistic": breakdown,
        "p_value": None,
        "null": null,
        "inputs": inputs,
    }


PORTABLE_FUNCTIONS = (max_pre_change, trend_bounds, event_trend_sensitivity)
