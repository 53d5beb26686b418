"""Screens for bad controls: columns no referee would adjust for when estimating a total effect.

Each screen looks at the data (and, for constructs, the names) and returns the reason a
column must stay out of the adjustment set, or None. The reasons are written for the user,
because they end up as the column's role evidence:

- a column that defines the treatment or that the treatment defines (the amount of which
  the treatment is "amount > 0", a dose that is zero for every untreated row, one of the
  conditions of "treated = any of ...", a transform of a continuous treatment, a column
  computed from the treatment and other columns): adjusting for it leaves no comparison
  or removes the effect itself;
- a transform or function of the outcome (its log or levels, an indicator of its zero, the
  same construct under another name): adjusting for it explains the outcome by itself.
"""

import re

import numpy as np
import pandas as pd

MIN_SUPPORT = 5
MONOTONE_RHO = 0.98
EXACT_R2 = 0.999
EXACT_SHARE = 0.05
# words that change the scale or summary of a construct but not what it measures
SCALE_WORDS = {
    "log",
    "ln",
    "lg",
    "sq",
    "squared",
    "sqrt",
    "std",
    "z",
    "pct",
    "percent",
    "share",
    "per",
    "cap",
    "capita",
    "total",
    "tot",
    "sum",
    "mean",
    "avg",
    "ratio",
    "rate",
    "level",
    "levels",
    "real",
    "nominal",
    "raw",
    "adj",
    "change",
    "diff",
    "delta",
    "growth",
    "any",
    "has",
    "is",
    "num",
    "n",
}


def _tokens(name: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def stem(name: str) -> str:
    """What a column measures, without scale words and periods: 'lwage', 'log_wage' and
    'wage' share the stem 'wage'; 're78' and 're75' share 're'."""
    words = [t for t in _tokens(name) if not t.isdigit() and t not in SCALE_WORDS]
    if len(words) == 1 and len(words[0]) > 3:
        for prefix in ("ln", "log", "l"):
            if words[0].startswith(prefix) and len(words[0]) - len(prefix) >= 3:
                return words[0][len(prefix) :]
    return "_".join(words)


def _numeric(values: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float)
    return None


def _pairs(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    return df[[a, b]].dropna()


def _separates(levels: np.ndarray, values: np.ndarray) -> str | None:
    """'> cut' or '< cut' when the two groups of a 0/1 ``levels`` do not overlap on
    ``values`` (the 1s lie above or below every 0), else None."""
    on, off = values[levels == 1], values[levels == 0]
    if len(on) < MIN_SUPPORT or len(off) < MIN_SUPPORT:
        return None
    if off.max() < on.min():
        return f"> {off.max():.4g}"
    if off.min() > on.max():
        return f"< {off.min():.4g}"
    return None


def _binary(values: pd.Series) -> np.ndarray | None:
    """0/1 for a two-valued column (the larger value is 1), else None."""
    levels = sorted(values.unique(), key=str)
    if len(levels) != 2:
        return None
    try:
        high = max(levels)
    except TypeError:
        high = levels[1]
    return (values == high).to_numpy(dtype=int)


def treatment_function(df: pd.DataFrame, treatment: str, name: str) -> str | None:
    """Why ``name`` defines the treatment or is defined by it, or None."""
    data = _pairs(df, treatment, name)
    if len(data) < 2 * MIN_SUPPORT:
        return None
    t = _binary(data[treatment])
    x = _numeric(data[name])
    if t is not None:
        if x is not None and data[name].nunique() > 2:
            if side := _separates(t, x):
                return (
                    f"the treatment is a function of it ({treatment} is on exactly when "
                    f"{name} {side}): it defines the treatment, so adjusting for it "
                    "leaves no comparison"
                )
            off, on = x[t == 0], x[t == 1]
            if np.unique(off).size == 1 and np.unique(on).size > 1:
                return (
                    f"a dose or amount of the treatment: it is {off[0]:.4g} for every "
                    f"untreated row and varies among the treated, so it is set by {treatment}"
                )
        c = _binary(data[name])
        if c is not None and (c == 1).sum() >= MIN_SUPPORT and (t[c == 1] == 1).all():
            if (t[c == 0] == 0).all():
                return f"a recoding of the treatment (equal to {treatment} on every row)"
            return (
                f"part of the treatment's definition: every row with {name} on is treated "
                f"(treated = any of several conditions), so adjusting for it leaves no "
                "comparison at that level"
            )
        if x is None and data[name].nunique() >= 3:
            fixed = data.groupby(name)[treatment].nunique()
            if (fixed == 1).all() and data[treatment].nunique() > 1:
                return (
                    f"{treatment} is fixed within each of its levels (assigned by {name}), so "
                    "adjusting for it leaves no comparison; use it as a cluster or design column"
                )
        return None
    tx = _numeric(data[treatment])
    if tx is None or x is None:
        return None
    rho = _rank_corr(tx, x)
    if abs(rho) >= MONOTONE_RHO:
        return f"a transform of the treatment (rank correlation {rho:+.3f})"
    zero_t, zero_x = tx == 0, x == 0
    if zero_t.sum() >= MIN_SUPPORT and (zero_t == zero_x).all() and zero_t.mean() < 1:
        return f"zero exactly where {treatment} is zero: an amount set by the treatment"
    return None


def computed_from_treatment(
    df: pd.DataFrame, treatment: str, name: str, others: list[str]
) -> str | None:
    """Why ``name`` is an exact linear function of the treatment and other numeric columns
    (experience = age - schooling - 6), or None; the treatment must carry a real part."""
    cols = [c for c in others if c != name and _numeric(df[c]) is not None]
    data = df[[treatment, name, *cols]].dropna()
    if len(data) < 10 * MIN_SUPPORT or _numeric(data[treatment]) is None:
        return None
    y = data[name].to_numpy(dtype=float)
    if y.std() == 0:
        return None
    x = np.column_stack([np.ones(len(data)), data[[treatment, *cols]].to_numpy(dtype=float)])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    r2 = 1 - np.var(y - x @ beta) / np.var(y)
    share = abs(beta[1]) * x[:, 1].std() / y.std()
    if r2 < EXACT_R2 or share < EXACT_SHARE:
        return None
    parts = [
        c for c, b in zip(cols, beta[2:], strict=True) if abs(b) * data[c].std() > 1e-6 * y.std()
    ]
    used = ", ".join([treatment, *parts])
    return (
        f"computed from the treatment: {name} is an exact function of {used} "
        f"(R² {r2:.4f}), so it moves whenever {treatment} does"
    )


def outcome_function(df: pd.DataFrame, outcome: str, name: str) -> str | None:
    """Why ``name`` is a transform or indicator of the outcome, or None."""
    data = _pairs(df, outcome, name)
    if len(data) < 2 * MIN_SUPPORT:
        return None
    y, x = _numeric(data[outcome]), _numeric(data[name])
    if y is None or x is None:
        return None
    if data[name].nunique() > 2 and data[outcome].nunique() > 2:
        rho = _rank_corr(y, x)
        if abs(rho) >= MONOTONE_RHO:
            return (
                "a near-copy or transform of the outcome, such as its log or levels "
                f"(rank correlation {rho:+.3f})"
            )
        return None
    c = _binary(data[name])
    if c is not None and data[outcome].nunique() > 2:
        if side := _separates(c, y):
            return f"a function of the outcome: {name} is on exactly when {outcome} {side}"
    return None


def same_construct(outcome: str, name: str) -> bool:
    """Same stem as the outcome (log/levels, totals, shares of one construct)."""
    a, b = stem(outcome), stem(name)
    return bool(a) and a == b


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])
