"""Columns that define the treatment: never adjust for them, never use them as instruments.

An experiment's data often hold the quantity the assignment was made from (the incentive
amount, where treated means an amount above zero; the score whose threshold decides
eligibility). Adjusting for such a column removes every comparison between treated and
untreated units, and an "instrument" that is one is the treatment itself. A column defines
the treatment when the treatment is a deterministic function of it: each of its values
goes with one treatment value (a few distinct values), or, sorted by it, the treatment
switches exactly once (a threshold on a column with many values).
"""

import pandas as pd

MIN_ROWS = 20  # below this a perfect association happens by chance too often
FEW_VALUES_SHARE = 0.2  # a column with fewer distinct values than this share of rows


def defines_treatment(column: pd.Series, treatment: pd.Series) -> bool:
    """True when ``treatment`` is a deterministic function of ``column`` on their common
    non-missing rows (and the treatment varies there)."""
    pair = pd.DataFrame({"x": column, "t": treatment}).dropna()
    if len(pair) < MIN_ROWS or pair["t"].nunique() < 2:
        return False
    levels = pair["x"].nunique()
    if levels <= max(2, FEW_VALUES_SHARE * len(pair)):
        return bool((pair.groupby("x")["t"].nunique() == 1).all())
    if not pd.api.types.is_numeric_dtype(pair["x"]):
        return False
    # Sorted by the column, the treatment switches exactly once (one treatment per value)
    # just when it takes two values whose ranges of the column do not overlap: a check in
    # one pass instead of grouping a million distinct values.
    two = pd.unique(pair["t"])
    if len(two) != 2:
        return False
    first = (pair["t"] == two[0]).to_numpy()
    x = pair["x"].to_numpy()
    low, high = x[first], x[~first]
    return bool(low.max() < high.min() or high.max() < low.min())


def treatment_defining_columns(
    frame: pd.DataFrame, treatment: str, candidates: list[str] | None = None
) -> list[str]:
    """The candidate columns (all others by default) the treatment is a function of."""
    names = candidates if candidates is not None else list(frame.columns)
    return [
        name
        for name in names
        if name != treatment and defines_treatment(frame[name], frame[treatment])
    ]
