"""Bounds on an effect the data cannot pin down: what is known, and under which assumption.

When a hidden confounder leaves the effect unidentified, a range is still an answer. With
no assumption beyond the outcome's range, the average effect of a yes/no treatment lies in
an interval exactly as wide as that range (Manski 1990); each further assumption the user
can accept in plain words (treatment never hurts; the treated would have done at least as
well anyway; a variable that moves potential outcomes one way) narrows it. Every bound
says whether its sign is determined, and whether the sign comes from the data or from the
assumption itself. The numbers come from ``portable_bounds``, whose source the exported
script carries.
"""

from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

import causal_assistant.tools.identify.portable_bounds as pb
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.results import ToolResult, WarningCode

BoundKind = Literal[
    "no_assumption",
    "mtr",
    "mts",
    "mtr_mts",
    "miv",
    "miv_mtr",
    "iv_manski",
    "balke_pearl",
    "lee",
]
RangeSource = Literal["binary", "stated", "observed"]
LABELS: dict[str, str] = {
    "no_assumption": "no assumption",
    "mtr": "treatment response is monotone",
    "mts": "treatment selection is monotone",
    "mtr_mts": "both monotone",
    "miv": "monotone instrument",
    "miv_mtr": "monotone instrument + response",
    "iv_manski": "instrument (mean independence)",
    "balke_pearl": "instrument (Balke–Pearl)",
    "lee": "trimming for missing outcomes (Lee)",
}
MAX_LEVELS = 10  # an instrument with more distinct values is cut into quintiles


class Bound(BaseModel):
    """One interval for the average effect and the assumptions it rests on, in words."""

    kind: BoundKind
    low: float | None  # None with high: the data contradict these assumptions
    high: float | None
    assumptions: str
    reading: str
    sign: str  # one sentence: is the sign determined, and by the data or the assumption?
    sign_determined: bool
    ci_low: float | None = None  # Imbens–Manski 95% interval around the estimated bounds
    ci_high: float | None = None


class BoundsResult(ToolResult):
    treatment: str
    outcome: str
    bounds: list[Bound]
    outcome_low: float
    outcome_high: float
    range_source: RangeSource
    naive_difference: float  # treated minus untreated mean: the effect if nothing confounded
    treated_share: float
    n: int
    scale: str  # "percentage points" for a yes/no outcome, "outcome units" otherwise
    interval_reps: int = 0  # bootstrap draws behind the bounds' intervals


class Arms(BaseModel):
    """The rows a bound uses: outcome, 0/1 treatment, range, and how they were read."""

    y: list[float]
    t: list[bool]
    low: float
    high: float
    source: RangeSource
    dropped: int
    treated_value: object


def _arms(
    frame: pd.DataFrame,
    treatment: str,
    outcome: str,
    treated_level: object = None,
    outcome_range: tuple[float, float] | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[Arms, pd.DataFrame]:
    for column in (treatment, outcome, *extra):
        if column not in frame.columns:
            raise InputError(f"No column {column!r} in the data; check the name.")
    if set(extra) & {treatment, outcome}:
        raise InputError("An instrument must be a column other than the treatment and outcome.")
    rows = frame[list(dict.fromkeys([treatment, outcome, *extra]))].dropna()
    values = pd.unique(rows[treatment])
    if len(values) != 2:
        raise InputError(
            f"Bounds need a yes/no treatment; {treatment!r} takes {len(values)} values. "
            "Compare two of its levels (e.g. a column that is 1 for one level, 0 for another)."
        )
    treated_value = treated_level if treated_level is not None else max(values)
    treated_value = getattr(treated_value, "item", lambda: treated_value)()  # numpy -> Python
    if treated_value not in values:
        raise InputError(f"{treatment!r} never equals {treated_level!r}; name a level it takes.")
    try:
        y = rows[outcome].astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Bounds need a numeric outcome; {outcome!r} is not.") from exc
    t = rows[treatment] == treated_value
    if t.all() or not t.any():
        raise InputError(f"Every row has the same {treatment!r}; bounds need both groups.")
    low, high, source = _outcome_range(y, outcome, outcome_range)
    arms = Arms(
        y=y.tolist(),
        t=t.tolist(),
        low=low,
        high=high,
        source=source,
        dropped=len(frame) - len(rows),
        treated_value=treated_value,
    )
    return arms, rows


def _outcome_range(
    y: pd.Series, outcome: str, stated: tuple[float, float] | None
) -> tuple[float, float, RangeSource]:
    if stated is not None:
        low, high = float(stated[0]), float(stated[1])
        if not low < high:
            raise InputError(f"The stated range of {outcome!r} must run from low to high.")
        if y.min() < low or y.max() > high:
            raise InputError(
                f"{outcome!r} has values outside the stated range {low:g} to {high:g}; "
                "widen the range or check the data."
            )
        return low, high, "stated"
    if set(np.unique(y)) <= {0.0, 1.0}:
        return 0.0, 1.0, "binary"
    if y.min() == y.max():
        raise InputError(f"{outcome!r} never varies; there is no effect to bound.")
    return float(y.min()), float(y.max()), "observed"


def format_effect(value: float, binary: bool) -> str:
    """An effect as people read it: percentage points for a yes/no outcome, thousands
    separators from 1,000 up, three significant digits otherwise."""
    if binary:
        return f"{100 * value:+.1f} percentage points"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _range_words(arms: Arms, outcome: str) -> str:
    low, high = format_effect(arms.low, False), format_effect(arms.high, False)
    return {
        "binary": f"the outcome {outcome} is yes/no (0 or 1)",
        "stated": f"the outcome {outcome} lies between {low} and {high} (the range you stated)",
        "observed": (
            f"the outcome {outcome} lies between {low} and {high}, the smallest and largest values "
            "observed (no unit could have fallen outside them under the other treatment)"
        ),
    }[arms.source]


def _assumption_words(
    kind: str, treatment: str, outcome: str, mtr: int, mts: int, instrument: str | None
) -> str:
    more = "at least" if mtr >= 0 else "at most"
    response = (
        f"the treatment {treatment} never {'lowers' if mtr >= 0 else 'raises'} anyone's "
        f"{outcome}: each "
        f"unit's {outcome} with it is {more} what it would be without it (monotone "
        "treatment response)"
    )
    higher = "higher" if mts >= 0 else "lower"
    selection = (
        f"those who got {treatment} would have had {higher} {outcome} on average than "
        f"those who did not, both with and without it, as when the better-off select into "
        f"{treatment} (monotone treatment selection)"
    )
    words = {
        "mtr": response,
        "mts": selection,
        "mtr_mts": f"{response}; and {selection}",
        "miv": (
            f"the average {outcome} each unit would have, with or without {treatment}, does "
            f"not {'fall' if mts >= 0 else 'rise'} as {instrument} rises (monotone "
            "instrumental variable)"
        ),
        "iv_manski": (
            f"the instrument {instrument} does not change the average {outcome} units would "
            "have with or "
            f"without {treatment} (mean independence: an instrument)"
        ),
        "balke_pearl": (
            f"the instrument {instrument} is as good as randomly assigned and reaches "
            f"{outcome} only "
            f"through {treatment}; all three are yes/no (Balke–Pearl)"
        ),
        "lee": (
            f"the treatment {treatment} is as good as randomly assigned, and it changes "
            f"whether {outcome} "
            "is recorded in one direction only (it never makes a unit that would have been "
            "recorded go missing, or never the reverse)"
        ),
    }
    words["miv_mtr"] = f"{words['miv']}; and {response}"
    return words[kind]


def _sign(kind: str, low: float | None, high: float | None, binary: bool, mtr: int) -> tuple:
    if low is None or high is None:
        return (
            "The data contradict these assumptions (the range is empty), so at least one "
            "of them is false.",
            False,
        )
    if kind in ("mtr", "mtr_mts", "miv_mtr") and (low == 0.0 if mtr > 0 else high == 0.0):
        side, other = ("negative", high) if mtr > 0 else ("positive", low)
        return (
            f"The sign (never {side}) comes from the assumption, not from the data; the data "
            f"add that the effect is at most {format_effect(abs(other), binary).lstrip('+')} "
            "in size.",
            False,
        )
    if low > 0 or high < 0:
        side, limit = ("positive (at least", low) if low > 0 else ("negative (at most", high)
        return (
            f"The sign is determined: the effect is {side} {format_effect(limit, binary)}).",
            True,
        )
    return (
        f"The sign is not determined: the range runs from {format_effect(low, binary)} to "
        f"{format_effect(high, binary)} and includes zero.",
        False,
    )


def make_bound(
    kind: str,
    pair: tuple[float, float] | None,
    treatment: str,
    outcome: str,
    premise: str,
    binary: bool,
    mtr: int = 0,
    mts: int = 0,
    instrument: str | None = None,
) -> Bound:
    """Wrap a (low, high) pair in its assumptions, reading and sign sentence."""
    low, high = (None, None) if pair is None else (float(pair[0]), float(pair[1]))
    parts = [premise] if premise else []
    if kind != "no_assumption":
        parts.append(_assumption_words(kind, treatment, outcome, mtr, mts, instrument))
    assumptions = "; ".join(parts)
    sign, determined = _sign(kind, low, high, binary, mtr)
    if low is None or high is None:
        reading = f"Under '{LABELS[kind]}' no effect fits the data. {sign}"
    else:
        premises = " and ".join(parts)
        reading = (
            f"If {premises[0].lower() + premises[1:]}, the average effect of "
            f"{treatment} on {outcome} lies between {format_effect(low, binary)} and "
            f"{format_effect(high, binary)}. {sign}"
        )
    return Bound(
        kind=kind,
        low=low,
        high=high,
        assumptions=assumptions[0].upper() + assumptions[1:] + ".",
        reading=reading,
        sign=sign,
        sign_determined=determined,
    )


def _levels(z: pd.Series) -> tuple[np.ndarray, str]:
    if z.nunique() <= MAX_LEVELS:
        return z.to_numpy(), ""
    codes = pd.qcut(z, 5, labels=False, duplicates="drop").to_numpy()
    return codes, " (its values cut into quintiles)"


def bound_effect(
    frame: pd.DataFrame,
    treatment: str,
    outcome: str,
    *,
    treated_level: object = None,
    outcome_range: tuple[float, float] | None = None,
    mtr_direction: int | None = None,
    mts_direction: int | None = None,
    instrument: str | None = None,
    monotone_instrument: str | None = None,
    miv_direction: int = 1,
    interval_reps: int = 200,
    seed: int = 0,
) -> BoundsResult:
    """Bounds on the average effect of a yes/no ``treatment`` on a bounded ``outcome``.

    Always: no-assumption (Manski) bounds, then monotone treatment response, monotone
    treatment selection, and both (Manski & Pepper 2000). Their directions default to the
    sign of the raw difference between the groups (so "both" reads "between zero and the
    raw difference"), which the readings say. ``monotone_instrument`` adds MIV bounds (alone
    and with MTR); ``instrument`` adds Manski's mean-independence IV bounds and, when it,
    the treatment and the outcome are all yes/no, Balke & Pearl's sharp bounds.

    Each bound also gets Imbens & Manski's (2004) 95% interval (``ci_low``, ``ci_high``):
    bootstrap standard errors of its two limits (``interval_reps`` seeded draws; 0 skips
    them), widened so the interval covers the true effect wherever it lies in the bounds.
    For bounds built from maxima and minima over levels (MIV, IV) the limits are not
    smooth in the data, so there the interval is a guide rather than exact.
    """
    extra = tuple(c for c in (instrument, monotone_instrument) if c)
    arms, rows = _arms(frame, treatment, outcome, treated_level, outcome_range, extra)
    y, t = np.array(arms.y), np.array(arms.t)
    naive = float(y[t].mean() - y[~t].mean())
    mtr = mtr_direction or (1 if naive >= 0 else -1)
    mts = mts_direction or (1 if naive >= 0 else -1)
    binary = arms.source == "binary"
    premise = _range_words(arms, outcome)
    notes = []
    levels: dict[str, np.ndarray | None] = {"miv": None, "iv": None}
    for key, column in (("miv", monotone_instrument), ("iv", instrument)):
        if column:
            levels[key], note = _levels(rows[column])
            notes.append(note and f"{column}{note}")

    compute = partial(
        pb.bounds_on_rows,
        y=y,
        t=t,
        low=arms.low,
        high=arms.high,
        mtr=mtr,
        mts=mts,
        miv=levels["miv"],
        iv=levels["iv"],
        miv_direction=miv_direction,
        balke_pearl=binary,
    )
    pairs = compute(np.arange(len(y)))
    spreads = pb.bootstrap_bound_se(compute, len(y), interval_reps, seed) if interval_reps else {}
    words: dict[str, dict[str, Any]] = {
        "mtr": {"mtr": mtr},
        "mts": {"mts": mts},
        "mtr_mts": {"mtr": mtr, "mts": mts},
        "miv": {"mts": miv_direction, "instrument": monotone_instrument},
        "miv_mtr": {"mtr": mtr, "mts": miv_direction, "instrument": monotone_instrument},
        "iv_manski": {"instrument": instrument},
        "balke_pearl": {"instrument": instrument},
    }
    bounds = []
    for kind, pair in pairs.items():
        bound = make_bound(kind, pair, treatment, outcome, premise, binary, **words.get(kind, {}))
        if pair is not None and kind in spreads:
            bound.ci_low, bound.ci_high = pb.imbens_manski(*pair, *spreads[kind])
        bounds.append(bound)
    result = BoundsResult(
        treatment=treatment,
        outcome=outcome,
        bounds=bounds,
        outcome_low=arms.low,
        outcome_high=arms.high,
        range_source=arms.source,
        naive_difference=naive,
        treated_share=float(t.mean()),
        n=len(y),
        scale="percentage points" if binary else "outcome units",
        interval_reps=interval_reps,
    )
    if arms.dropped:
        result.warn(
            WarningCode.MISSING_VALUES_DROPPED,
            f"{arms.dropped} rows with a missing {treatment}, {outcome} or instrument were "
            "left out of the bounds.",
        )
    result.reading = _overall_reading(result, [n for n in notes if n])
    result.code = _code(
        treatment,
        outcome,
        arms,
        {"mtr": mtr, "mts": mts, "miv_direction": miv_direction, "balke_pearl": binary},
        instrument,
        monotone_instrument,
        (interval_reps, seed),
    )
    return result


def _overall_reading(result: BoundsResult, notes: list[str]) -> str:
    binary = result.range_source == "binary"
    first = result.bounds[0]
    assert first.low is not None and first.high is not None  # no assumption: never empty
    text = (
        f"With no assumption about the hidden confounding, only that "
        f"{first.assumptions[0].lower() + first.assumptions[1:-1]}, the average effect of "
        f"{result.treatment} on {result.outcome} lies between "
        f"{format_effect(first.low, binary)} and {format_effect(first.high, binary)} (the "
        "raw difference between the groups is "
        f"{format_effect(result.naive_difference, binary)})."
    )
    by_data = [b for b in result.bounds if b.sign_determined]
    if by_data:
        names = ", ".join(f"'{LABELS[b.kind]}'" for b in by_data)
        text += f" The sign is determined under {names}."
    else:
        text += (
            " No set of assumptions here determines the sign from the data; the monotone "
            "response bounds fix it only by assuming it."
        )
    empty = [b for b in result.bounds if b.low is None]
    if empty:
        names = ", ".join(f"'{LABELS[b.kind]}'" for b in empty)
        text += f" The data contradict {names}."
    if notes:
        text += f" Note: {'; '.join(notes)}."
    return text


def _code(
    treatment: str,
    outcome: str,
    arms: Arms,
    directions: dict,
    instrument: str | None,
    monotone: str | None,
    interval: tuple[int, int],
) -> str:
    """The calls that recompute the bounds and their intervals in the exported script
    (``df`` is the data)."""
    columns = list(dict.fromkeys([treatment, outcome, *(c for c in (instrument, monotone) if c)]))
    lines = [
        "from functools import partial",
        "",
        f"rows = df[{columns!r}].dropna()",
        f"t = (rows[{treatment!r}] == {arms.treated_value!r}).to_numpy()",
        f"y = rows[{outcome!r}].astype(float).to_numpy()",
        f"low, high = {arms.low!r}, {arms.high!r}",
        "levels = {}",
    ]
    for key, column in (("miv", monotone), ("iv", instrument)):
        if column:
            lines += [
                f"z = rows[{column!r}]",
                f"if z.nunique() > {MAX_LEVELS}:",
                "    z = pd.qcut(z, 5, labels=False, duplicates='drop')",
                f"levels[{key!r}] = z.to_numpy()",
            ]
    lines += [
        "",
        "",
        "compute = partial(",
        "    bounds_on_rows, y=y, t=t, low=low, high=high,",
        f"    mtr={directions['mtr']}, mts={directions['mts']},",
        "    miv=levels.get('miv'), iv=levels.get('iv'),",
        f"    miv_direction={directions['miv_direction']},",
        f"    balke_pearl={directions['balke_pearl']},",
        ")",
        "bounds = compute(np.arange(len(y)))",
    ]
    reps, seed = interval
    if reps:
        lines += [
            f"spreads = bootstrap_bound_se(compute, len(y), {reps}, {seed})",
            "intervals = {k: imbens_manski(*bounds[k], *spreads[k]) for k in spreads "
            "if bounds[k] is not None}",
        ]
    return "\n".join(lines) + "\n"


def lee_effect_bounds(
    frame: pd.DataFrame, treatment: str, outcome: str, *, treated_level: object = None
) -> Bound:
    """Lee (2009) bounds when ``outcome`` is missing for some units (attrition): for the
    units whose outcome would be recorded under either treatment, trimming the group with
    more recorded outcomes by the excess share, from the top and from the bottom."""
    for column in (treatment, outcome):
        if column not in frame.columns:
            raise InputError(f"No column {column!r} in the data; check the name.")
    rows = frame[frame[treatment].notna()]
    recorded = rows[outcome].notna()
    if recorded.all():
        raise InputError(f"No {outcome!r} is missing, so there is nothing for Lee bounds to trim.")
    arms, _ = _arms(rows[recorded], treatment, outcome, treated_level)
    t = (rows[treatment] == arms.treated_value).to_numpy()
    y = rows[outcome].astype(float).fillna(0.0).to_numpy()
    low, high, share, arm = pb.lee_bounds(y, t, recorded.to_numpy())
    binary = arms.source == "binary"
    bound = make_bound("lee", (low, high), treatment, outcome, "", binary)
    trimmed = "treated" if arm == 1 else "untreated"
    bound.reading += (
        f" {share:.1%} of the {trimmed} group's recorded outcomes were trimmed (the excess "
        "share recorded in that group); the range is for units whose outcome would be "
        "recorded with or without treatment."
    )
    return bound
