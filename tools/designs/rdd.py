"""Regression discontinuity: treatment (or its probability) jumps at a value of one column.

Sharp: treatment is exactly a step function of the running column at the cutoff. Fuzzy:
the share treated jumps there but not from 0 to 1; the jump in the outcome divided by the
jump in take-up is the effect for compliers at the cutoff (the IV analogue). Estimation is
rdrobust's local polynomial with its MSE-optimal bandwidth and robust bias-corrected
interval; the manipulation test is rddensity's. The numbers come from ``rdd_portable``,
whose source is what ``code`` exports.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.designs import (
    Assumption,
    DesignCheck,
    DesignColumns,
    DesignEstimate,
    DesignEvidence,
    DesignIdentification,
    DesignKind,
    DesignSpec,
    checks_portable,
    register,
)
from causal_assistant.tools.designs import rdd_portable as portable
from causal_assistant.tools.designs.base import Strength
from causal_assistant.tools.designs.common import (
    TIME_WORDS,
    outcome_scale,
    portable_snippet,
    read_check,
    words,
)
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.export.design_plots import rd_plot
from causal_assistant.tools.results import WarningCode

_CONTEXT_WORDS = re.compile(
    r"cut-?off|threshold|eligib|discontinu|\bscore\b|at least|above|below|\bRD\b|\bRDD\b",
    re.IGNORECASE,
)
_MIN_DISTINCT = 20  # a running variable takes many values
_MIN_SIDE_ROWS = 10
_MIN_SIDE_DISTINCT = 5
_MAX_GAP_SHARE = 0.05  # the empty stretch at a sharp cutoff, as a share of the 10-90% range
_FUZZY_MIN_JUMP = 0.2  # smallest jump in the share treated read as a discontinuity
_FUZZY_MIN_T = 5.0  # its t-statistic, high because many candidate cutoffs are scanned
_NEAR_BEST = 0.8  # candidates within this share of the largest jump compete on roundness
_MATERIAL_SHARE = 0.25
_SHARP = {"kind": "sharp", "side": 1}  # a jump in the outcome itself (placebos, covariates)
_MIN_PLACEBO_SIDE = 40  # rows on one side needed to fit a placebo discontinuity within it
_MATERIAL_SD = 0.2  # a covariate jump this many standard deviations matters
_WEAK_FIRST_STAGE_T = math.sqrt(10)  # first-stage F below 10
_CHECK_RULES = {
    "min_placebo_side": _MIN_PLACEBO_SIDE,
    "material_share": _MATERIAL_SHARE,
    "material_sd": _MATERIAL_SD,
}


class RegressionDiscontinuity:
    kind: ClassVar[DesignKind] = DesignKind.RDD

    # ------------------------------------------------------------------ detection

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence | None:
        """A sharp step of the treatment in one column, else the clearest jump in the
        share treated (see ``_fuzzy_cutoff`` for the scanning rule). Columns named like
        time (year, period, rel_year) are not scanned: treatment switching on at a date is
        a panel's adoption, for difference in differences; a discontinuity in time is
        still available by naming the running column."""
        if treatment not in frame or frame[treatment].dropna().nunique() != 2:
            return None
        levels = sorted(pd.unique(frame[treatment].dropna()))
        treated = frame[treatment] == levels[1]
        said = bool(context and _CONTEXT_WORDS.search(context))
        candidates = [
            c.name
            for c in profile.columns
            if c.name not in (treatment, outcome)
            and c.name in frame
            and c.kind in ("continuous", "count")
            and c.n_unique >= _MIN_DISTINCT
            and not TIME_WORDS & set(words(c.name))
        ]
        fuzzy: list[tuple[float, str, dict[str, Any]]] = []
        for name in candidates:
            keep = (
                np.isfinite(pd.to_numeric(frame[name], errors="coerce")) & frame[treatment].notna()
            )
            x, d = frame.loc[keep, name].astype(float), treated[keep].astype(int)
            sharp = _sharp_cutoff(x, d)
            if sharp is not None:
                return self._evidence(name, treatment, sharp, "strong", said)
            found = _fuzzy_cutoff(x.to_numpy(), d.to_numpy())
            if found is not None:
                fuzzy.append((abs(found["t"]), name, found))
        if not fuzzy:
            return None
        _, name, found = max(fuzzy, key=lambda item: item[0])
        strength: Strength = "strong" if said else "moderate"
        return self._evidence(name, treatment, found, strength, said)

    def _evidence(
        self, running: str, treatment: str, facts: dict[str, Any], strength: Strength, said: bool
    ) -> DesignEvidence:
        cutoff = facts["cutoff"]
        if facts["kind"] == "sharp":
            where = "at or above" if facts["side"] == 1 else "below"
            reading = (
                f"'{treatment}' is exactly a step in '{running}': every row {where} "
                f"{cutoff:g} is treated and no other (sharp discontinuity)."
            )
        else:
            reading = (
                f"The share with '{treatment}' jumps by {facts['jump']:+.2f} at "
                f"'{running}' = {cutoff:g} (from {facts['share_below']:.0%} just below to "
                f"{facts['share_above']:.0%} just above) but not from 0 to 100% (fuzzy "
                "discontinuity)."
            )
        if said:
            reading += " The description of the data speaks of a cutoff or threshold too."
        return DesignEvidence(
            kind=self.kind,
            strength=strength,
            reading=reading + " Units just either side of the cutoff are compared.",
            columns=DesignColumns(running=running, cutoff=cutoff),
            source="data",
            facts=facts,
        )

    # ------------------------------------------------------------------ assumptions

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        running = spec.columns.running or "the running variable"
        found = [
            Assumption(
                name="continuity at the cutoff",
                testable="partly",
                reading=(
                    f"Without treatment, the outcome would change smoothly with {running} "
                    "through the cutoff; pre-treatment covariates that jump there would "
                    "contradict it."
                ),
            ),
            Assumption(
                name="no manipulation of the running variable",
                testable="partly",
                reading=(
                    f"Units cannot place themselves just above or below the cutoff of "
                    f"{running}; a pile-up on one side (density test) would contradict it."
                ),
            ),
            Assumption(
                name="local effect",
                testable="no",
                reading=(
                    "The estimate holds for units near the cutoff; away from it the effect "
                    "may differ."
                ),
            ),
        ]
        found.append(
            Assumption(
                name="exclusion and monotone take-up (fuzzy designs)",
                testable="no",
                reading=(
                    "Where crossing the cutoff only raises the chance of treatment, it "
                    "changes the outcome only through the treatment, and nobody is pushed "
                    "away from treatment by crossing it."
                ),
            )
        )
        return found

    # ------------------------------------------------------------------ identify / estimate

    def identify(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignIdentification:
        try:
            _, design = _rd_frame(frame, spec)
        except InputError as exc:
            return DesignIdentification(
                identified=False, estimand="effect at the cutoff", reading=str(exc)
            )
        estimand = _estimand(design)
        return DesignIdentification(
            identified=True,
            estimand=estimand,
            assumptions=self.assumptions(spec),
            reading=(
                f"The {estimand} is identified by comparing units just below and just above "
                f"{spec.columns.cutoff:g} on '{spec.columns.running}', if nothing else "
                "changes abruptly there."
            ),
            code=self.code(spec),
        )

    def estimate(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignEstimate:
        data, design = _rd_frame(frame, spec)
        cutoff = float(spec.columns.cutoff)  # type: ignore[arg-type]  # checked in _rd_frame
        numbers = _effect(data, cutoff, design)
        result = DesignEstimate(
            method=f"rdrobust local linear ({design['kind']} RD)",
            estimand=_estimand(design),
            value=numbers["value"],
            ci_low=numbers["ci_low"],
            ci_high=numbers["ci_high"],
            se=numbers["se"],
            se_type="robust bias-corrected"
            + (f", clustered by {spec.columns.cluster}" if spec.columns.cluster else ""),
            scale=outcome_scale(frame[spec.outcome], spec.outcome),
            n_rows=len(data),
            details={**design, **numbers, "cutoff": cutoff},
            code=self.code(spec),
        )
        result.reading = _estimate_reading(result, spec, design, numbers)
        if design["n_dropped_missing"]:
            result.warn(
                WarningCode.MISSING_VALUES_DROPPED,
                f"{design['n_dropped_missing']} rows with missing values were left out.",
            )
        if min(numbers["n_effective"]) < 50:
            result.warn(
                WarningCode.SMALL_SAMPLE,
                f"Only {min(numbers['n_effective'])} rows on one side fall within the "
                "bandwidth; the interval rests on few units near the cutoff.",
            )
        if design["kind"] == "fuzzy":
            t = abs(numbers["first_stage"]) / numbers["first_stage_se"]
            if t < _WEAK_FIRST_STAGE_T:
                result.warn(
                    WarningCode.WEAK_INSTRUMENT,
                    f"The jump in take-up at the cutoff is weak (t = {t:.1f}, F below 10): "
                    "the fuzzy estimate and its interval are unreliable.",
                )
        return result

    # ------------------------------------------------------------------ checks

    def checks(
        self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate
    ) -> list[DesignCheck]:
        data, design = _rd_frame(frame, spec)
        found = {
            c["name"]: c
            for c in portable.rd_checks(
                frame,
                data,
                design,
                spec.columns.running,
                float(spec.columns.cutoff),  # type: ignore[arg-type]
                spec.columns.covariates,
                _effect_numbers(estimate),
                _CHECK_RULES,
            )
        }
        return [
            _density_check(found["manipulation_test"], spec.columns),
            _placebo_cutoffs_check(found["placebo_cutoffs"]),
            _covariate_check(found["covariate_continuity"]),
            _bandwidth_check(found["bandwidth_sensitivity"], estimate),
        ]

    def check_code(self, spec: DesignSpec) -> str:
        """The checks in the exported script, after ``code``'s estimate (``numbers``)."""
        c = spec.columns
        call = f"""
            refutations = check_numbers(rd_checks(
                df, rd_data, rd_design, {c.running!r}, {c.cutoff!r}, {c.covariates!r},
                numbers, {_CHECK_RULES!r},
            ))
            """
        return portable_snippet(portable, call, checks_portable)

    # ------------------------------------------------------------------ picture

    def picture(self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate) -> bytes:
        """The RD plot as PNG bytes (an extra beyond the protocol, for the report)."""
        data, _ = _rd_frame(frame, spec)
        return rd_plot(
            data["x"],
            data["y"],
            float(estimate.details["cutoff"]),
            xlabel=str(spec.columns.running),
            ylabel=spec.outcome,
        )

    # ------------------------------------------------------------------ export

    def code(self, spec: DesignSpec) -> str:
        c = spec.columns
        call = f"""
            rd_data, rd_design = rd_frame(
                df, {spec.treatment!r}, {spec.outcome!r}, running={c.running!r},
                cutoff={c.cutoff!r}, cluster={c.cluster!r},
            )
            numbers = rd_effect(rd_data, {c.cutoff!r}, rd_design)
            print("effect at the cutoff:", numbers["value"],
                  "robust 95% interval:", numbers["ci_low"], numbers["ci_high"])
            """
        return portable_snippet(portable, call)


# ---------------------------------------------------------------------- preparation


def _rd_frame(frame: pd.DataFrame, spec: DesignSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    c = spec.columns
    if not c.running or c.cutoff is None:
        raise InputError(
            "A discontinuity design needs the running column and its cutoff; name them "
            "with --running and --cutoff."
        )
    missing = [
        name
        for name in [spec.treatment, spec.outcome, c.running, c.cluster, *c.covariates]
        if name and name not in frame
    ]
    if missing:
        raise InputError(f"Column {missing[0]!r} is not in the table.")
    try:
        return portable.rd_frame(
            frame, spec.treatment, spec.outcome, c.running, float(c.cutoff), c.cluster
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _estimand(design: dict[str, Any]) -> str:
    if design["kind"] == "sharp":
        return "effect at the cutoff"
    return "LATE at the cutoff for compliers"


def _effect(
    data: pd.DataFrame, cutoff: float, design: dict[str, Any], h: float | None = None
) -> dict[str, Any]:
    """``rd_effect``, with rdrobust's refusals (too few distinct values near the cutoff,
    a singular fit) turned into a one-line reason."""
    try:
        return portable.rd_effect(data, cutoff, design, h)
    except (ValueError, np.linalg.LinAlgError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"rdrobust cannot fit the discontinuity at {cutoff:g}: {reason}") from None


def _effects(runs: list[tuple[dict[str, Any], dict]]) -> tuple[list[dict[str, Any]], int]:
    """Fit each (label, arguments-for-_effect) pair; the fits, and how many could not be fitted."""
    fitted, failed = [], 0
    for label, arguments in runs:
        try:
            fitted.append({**label, **_effect(**arguments)})
        except InputError:
            failed += 1
    return fitted, failed


# ---------------------------------------------------------------------- detection helpers


def _roundest(low: float, high: float) -> float:
    """The roundest number in (low, high]: a multiple of the largest power of ten that
    has one there (0 before 10, 10 before 5, 50 before 49.9), else ``high``."""
    if low < 0 <= high:
        return 0.0
    span = max(abs(low), abs(high), 1e-12)
    for k in range(int(math.floor(math.log10(span))), -7, -1):
        step = 10.0**k
        for unit in (step, step / 2):
            candidate = math.floor(high / unit) * unit
            if low < candidate <= high:
                return float(round(candidate, 7 - k if k < 7 else 0))
    return float(high)


def _sharp_cutoff(x: pd.Series, d: pd.Series) -> dict[str, Any] | None:
    """Treatment is exactly ``x >= c`` (or ``x < c``) with data and spread on both sides
    and no wide empty stretch at the cutoff (which would be two groups, not one scale)."""
    treated, control = x[d == 1], x[d == 0]
    if treated.empty or control.empty:
        return None
    if control.max() < treated.min():
        low, high, side = float(control.max()), float(treated.min()), 1
    elif treated.max() < control.min():
        low, high, side = float(treated.max()), float(control.min()), -1
    else:
        return None
    for group in (treated, control):
        if len(group) < _MIN_SIDE_ROWS or group.nunique() < _MIN_SIDE_DISTINCT:
            return None
    spread = float(x.quantile(0.9) - x.quantile(0.1))
    if spread <= 0 or high - low > _MAX_GAP_SHARE * spread:
        return None
    return {
        "kind": "sharp",
        "side": side,
        "cutoff": _roundest(low, high),
        "n_treated": int(len(treated)),
        "n_control": int(len(control)),
    }


def _local_jump(x: np.ndarray, d: np.ndarray, cutoff: float, k: int) -> tuple[float, float, float]:
    """Jump in the share treated at ``cutoff`` from straight lines fitted to the ``k``
    nearest points on each side (so a smooth slope is not mistaken for a jump), its
    standard error, and the fitted share just below. ``x`` is sorted and distinct (from
    ``np.unique``), so the nearest points of a side are a slice next to the cutoff, taken
    nearest first; no sort per cutoff. The line is least squares in centred form (its
    intercept at the cutoff and that intercept's variance), a few passes over the slice
    instead of a factorisation per side and cutoff."""
    ends, variances = [], []
    at = int(np.searchsorted(x, cutoff, side="left"))
    for lo, hi in ((max(at - k, 0), at), (at, at + k)):
        xs, ds = x[lo:hi] - cutoff, d[lo:hi]
        x_mean, d_mean = float(xs.mean()), float(ds.mean())
        xc = xs - x_mean
        spread = float(xc @ xc)
        slope = float(xc @ (ds - d_mean)) / spread if spread > 0 else 0.0
        intercept = d_mean - slope * x_mean
        resid = ds - intercept - slope * xs
        sigma2 = max(float(resid @ resid) / max(len(ds) - 2, 1), 1e-4)
        leverage = 1 / len(ds) + (x_mean**2 / spread if spread > 0 else 0.0)
        ends.append(intercept)
        variances.append(sigma2 * leverage)
    return ends[1] - ends[0], math.sqrt(sum(variances)), ends[0]


def _fuzzy_cutoff(x: np.ndarray, d: np.ndarray) -> dict[str, Any] | None:
    """Scan candidate cutoffs between the 10th and 90th percentile (every 2.5 percentiles
    plus the round numbers there) for the jump in the share treated. A discontinuity is
    declared when the largest jump is at least 0.2 with t >= 5; among candidates within
    80% of that jump the roundest number is the cutoff (cutoffs are set by people).
    Lines are fitted to the share treated at each distinct value (the nearest tenth of
    them, at least 15, per side), so rows that share a value (a unit's repeated rows, a
    heaped score) count once and do not inflate the t-statistic."""
    values, inverse = np.unique(x, return_inverse=True)
    shares = np.bincount(inverse, weights=d) / np.bincount(inverse)
    k = max(15, len(values) // 10)
    if len(values) < max(4 * k, _MIN_DISTINCT):
        return None
    low, high = np.quantile(x, [0.1, 0.9])
    step = 10.0 ** math.floor(math.log10(max(high - low, 1e-12) / 4))
    grid = set(np.quantile(x, np.arange(0.1, 0.9001, 0.025)).tolist())
    grid |= set((np.arange(math.ceil(low / step), math.floor(high / step) + 1) * step).tolist())
    scanned = []
    for cutoff in sorted(grid):
        if min((values < cutoff).sum(), (values >= cutoff).sum()) < k:
            continue
        jump, se, below = _local_jump(values, shares, cutoff, k)
        scanned.append((cutoff, jump, jump / se, below))
    if not scanned:
        return None
    best = max(scanned, key=lambda s: abs(s[1]))
    if abs(best[1]) < _FUZZY_MIN_JUMP or abs(best[2]) < _FUZZY_MIN_T:
        return None
    near = [s for s in scanned if abs(s[1]) >= _NEAR_BEST * abs(best[1]) and s[1] * best[1] > 0]
    cutoff, jump, t, below = max(near, key=lambda s: (_roundness(s[0]), abs(s[2])))
    return {
        "kind": "fuzzy",
        "side": 1,
        "cutoff": float(cutoff),
        "jump": jump,
        "t": t,
        "share_below": min(max(below, 0.0), 1.0),
        "share_above": min(max(below + jump, 0.0), 1.0),
    }


def _roundness(value: float) -> int:
    """How many trailing decimal zeros ``value`` has (0 counts as roundest)."""
    if value == 0:
        return 99
    for k in range(6, -7, -1):
        if abs(value / 10.0**k - round(value / 10.0**k)) < 1e-9:
            return k
    return -7


# ---------------------------------------------------------------------- readings and checks


def _estimate_reading(
    result: DesignEstimate, spec: DesignSpec, design: dict[str, Any], numbers: dict[str, Any]
) -> str:
    c = spec.columns
    where = (
        f"within {numbers['h']:.3g} of the cutoff ({numbers['n_effective'][0]} rows below, "
        f"{numbers['n_effective'][1]} above)"
    )
    interval = f"robust 95% interval {result.ci_low:.4g} to {result.ci_high:.4g}"
    if design["kind"] == "sharp":
        return (
            f"Just at the cutoff {c.cutoff:g} of '{c.running}', '{spec.outcome}' jumps by "
            f"{result.value:.4g} ({result.scale}; {interval}) when '{spec.treatment}' "
            f"switches on. It is the effect for units near the cutoff, estimated {where} "
            "with a local linear fit on each side."
        )
    return (
        f"Crossing {c.cutoff:g} on '{c.running}' changes the share with "
        f"'{spec.treatment}' by {numbers['first_stage']:.3g}; scaling the outcome's jump by "
        f"it gives {result.value:.4g} ({result.scale}; {interval}), the effect for "
        f"compliers (units treated because they crossed the cutoff), estimated {where}."
    )


def _effect_numbers(estimate: DesignEstimate) -> dict[str, Any]:
    """The estimate as ``rd_effect`` gives it to the exported script's checks."""
    return {
        **estimate.details,
        "value": estimate.value,
        "ci_low": estimate.ci_low,
        "ci_high": estimate.ci_high,
    }


def _density_check(test: dict[str, Any], columns: DesignColumns) -> DesignCheck:
    return read_check(
        test,
        {
            "pass": "no sign of units sorting themselves across the cutoff",
            "warn": "weak sign of sorting at the cutoff",
            "fail": "units pile up on one side, so those just above and below may differ",
        },
        f"Worrying would be more units just on one side of {columns.cutoff:g} than the "
        f"density of '{columns.running}' elsewhere suggests. The density test (rddensity) "
        f"gives T = {test['statistic']:.3g}, p = {test['p_value']:.3g}",
    )


def _placebo_cutoffs_check(check: dict[str, Any]) -> DesignCheck:
    """At the median of each side, within that side only, nothing should jump."""
    runs = check["runs"]
    if not runs:
        return DesignCheck(
            name="placebo_cutoffs",
            status="warn",
            reading="Too few rows on each side to try placebo cutoffs.",
        )
    described = "; ".join(
        f"at {r['cutoff']:.3g}: {r['value']:.3g} (p = {r['p_value']:.3g})" for r in runs
    )
    return read_check(
        check,
        {
            "pass": "no jumps where nothing changes",
            "warn": "a small jump where nothing changes",
            "fail": "the outcome also jumps where nothing changes, so the real jump may be "
            "an artefact of the fit",
        },
        "Worrying would be jumps at cutoffs where treatment does not change (the median of "
        f"each side, using that side only): {described}; the verdict uses the smallest p "
        "times the number of tests",
        details={"placebos": runs},
    )


def _covariate_check(check: dict[str, Any]) -> DesignCheck:
    runs = check["runs"]
    if not check["named"]:
        return DesignCheck(
            name="covariate_continuity",
            status="warn",
            reading="No pre-treatment covariates were named, so whether units just either "
            "side of the cutoff are alike was not checked.",
        )
    if not runs:
        return DesignCheck(
            name="covariate_continuity",
            status="warn",
            reading="None of the named covariates could be fitted either side of the cutoff.",
        )
    described = "; ".join(
        f"'{r['covariate']}' {r['value']:+.3g} (p = {r['p_value']:.3g})" for r in runs
    )
    return read_check(
        check,
        {
            "pass": "units either side of the cutoff look alike",
            "warn": "a small imbalance at the cutoff",
            "fail": "a pre-treatment characteristic jumps at the cutoff, so the outcome's "
            "jump may come from it",
        },
        "Worrying would be a pre-treatment characteristic that jumps at the cutoff. Jumps: "
        f"{described}; the verdict uses the smallest p times the number of tests",
        details={"covariates": runs},
    )


def _bandwidth_check(check: dict[str, Any], estimate: DesignEstimate) -> DesignCheck:
    h, runs = estimate.details["h"], check["runs"]
    if check["failed"]:
        return DesignCheck(
            name="bandwidth_sensitivity",
            status="warn",
            reading=f"Halving or doubling the bandwidth ({h:.3g}) left too few distinct values "
            "near the cutoff to refit, so sensitivity to the bandwidth was not checked.",
        )
    verdict = {
        "pass": "the estimate does not hinge on the bandwidth",
        "warn": "the estimate moves with the bandwidth; read it with care",
        "fail": "a different bandwidth reverses the conclusion",
    }[check["status"]]
    described = "; ".join(f"h = {r['h']:.3g}: {r['value']:.4g}" for r in runs)
    return DesignCheck(
        name="bandwidth_sensitivity",
        status=check["status"],
        reading=(
            "Worrying would be an estimate that leaves the primary interval when the "
            f"bandwidth is halved or doubled. {described} (primary h = {h:.3g}: "
            f"{estimate.value:.4g}): {verdict}."
        ),
        details={"runs": runs},
    )


rdd = register(RegressionDiscontinuity())
