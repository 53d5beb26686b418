"""Refutation: can the estimate survive checks designed to break it, and how fast.

Runs DoWhy-style refuters (placebo treatment, random common cause, data subset, bootstrap),
a sensitivity analysis for an unmeasured confounder and a falsification test of the graph,
each with a pass/warn/fail verdict whose rule is stated in words and a reading that gets the
p-value right. The computations live in ``tools.refute.portable_refute`` so the exported script
re-runs them; this module sizes the work to a time budget, reports progress, and explains.
"""

import os
import time
from collections.abc import Callable
from typing import Literal, get_args

import joblib
import networkx as nx
import numpy as np
from pydantic import BaseModel

from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimation import EstimationResult
from causal_assistant.tools.identify.identification import IdentificationResult
from causal_assistant.tools.refute import portable_refute, sensitivity
from causal_assistant.tools.results import ToolResult, WarningCode

RefuterName = Literal[
    "placebo_treatment",
    "random_common_cause",
    "data_subset",
    "bootstrap",
    "unobserved_confounder",
    "graph_falsification",
]
Status = Literal["pass", "warn", "fail"]
Progress = Callable[[str, float], None]

REFUTERS: tuple[RefuterName, ...] = get_args(RefuterName)
# Cost of one simulation relative to one fit of the primary estimator.
SIMULATION_COST: dict[str, float] = {
    "placebo_treatment": 1.0,
    "random_common_cause": 1.05,
    "data_subset": 0.8,
    "bootstrap": 1.0,
}
MIN_SIMULATIONS, MAX_SIMULATIONS = 20, 100
MIN_PERMUTATIONS, MAX_PERMUTATIONS = 20, 100
BASELINE_SHARE = 0.15  # of the budget, at most, for the graph's permutation baseline
# Measured on 2 idle cores: loky workers start and import DoWhy in about 2.5 s, then run
# fits about 2x faster than one process; threads were 1.3-1.6x slower than one process, as
# DoWhy's fits hold the GIL. So simulations go to processes only when that start-up is
# repaid, on cores that are idle: with the cores busy with other work, processes ran the
# same fits 2x slower than one process.
PROCESS_START_S = 3.0
PARALLEL_EFFICIENCY = 0.9
SENSITIVITY_S = 0.3
LINEAR = "backdoor.linear_regression"
LABELS = {
    "placebo_treatment": "placebo treatment",
    "random_common_cause": "random common cause",
    "data_subset": "data subset",
    "bootstrap": "bootstrap",
    "unobserved_confounder": "unobserved confounder",
    "graph_falsification": "graph falsification",
}
STABILITY_RULE = (
    "pass if the estimate lies inside the middle 95% of the {what} (p ≥ 0.05) "
    "and their average is within chance of it or within 10% of it; fail if it "
    "lies outside that band; warn otherwise"
)
RULES = {
    "placebo_treatment": "pass if the average placebo effect is within chance of zero "
    "(p ≥ 0.05) or below 10% of |estimate|; fail if zero lies outside the "
    "middle 95% of the placebo effects; warn otherwise",
    "random_common_cause": STABILITY_RULE.format(
        what="re-estimates with a random common cause added"
    ),
    "data_subset": STABILITY_RULE.format(what="re-estimates on random 80% subsets"),
    "bootstrap": STABILITY_RULE.format(what="re-estimates on bootstrap resamples"),
    "graph_falsification": "pass if the data contradict none of the conditional "
    "independences the graph implies (Holm-adjusted p < 0.01 with a "
    "partial correlation of at least 0.05); warn if up to 10% of them "
    "are contradicted; fail if more",
}


class RefutationOutcome(BaseModel):
    name: RefuterName
    status: Status
    new_effect: float | None = None
    p_value: float | None = None
    rule: str
    reading: str
    simulations: int = 0
    details: dict = {}


class RefutationPlan(BaseModel):
    refuters: list[RefuterName]
    simulations: dict[str, int]
    estimated_seconds: float
    n_jobs: int = 1  # worker processes the simulations will use
    fit_seconds: float = 0.0  # the timed fit of the primary estimator the plan is sized on


class RefutationResult(ToolResult):
    refutations: list[RefutationOutcome]
    plan: RefutationPlan
    seconds: float


def plan_refutations(
    data: ModelData,
    ident: IdentificationResult,
    est: EstimationResult,
    time_budget_s: float = 30.0,
    which: list[str] | None = None,
    n_jobs: int | None = None,
) -> RefutationPlan:
    """Size the simulations to the budget from one timed fit of the primary estimator.

    ``n_jobs=None`` picks: all cores as processes when that is faster than one process
    including the workers' start-up, otherwise in-process; any other value is used as given.
    """
    refuters = _chosen(which, ident)
    simulated = [name for name in refuters if name in SIMULATION_COST]
    fit_s = _time_fit(data, ident, est) if simulated else 0.0
    graph_s, n_tests = _time_graph(data) if "graph_falsification" in refuters else (0.0, 0)
    permutations = _permutations(graph_s, time_budget_s) if n_tests else 0
    fixed_s = graph_s * (1 + permutations)
    fixed_s += SENSITIVITY_S if "unobserved_confounder" in refuters else 0.0
    round_s = fit_s * sum(SIMULATION_COST[name] for name in simulated)
    available = time_budget_s - fixed_s
    count = _simulations(available, round_s)
    workers = _workers(n_jobs, count * round_s) if simulated else 1
    start_s = PROCESS_START_S if workers > 1 else 0.0
    if workers > 1:
        count = _simulations((available - start_s) * workers * PARALLEL_EFFICIENCY, round_s)
    sims_s = count * round_s / (workers * PARALLEL_EFFICIENCY if workers > 1 else 1)
    simulations = {name: count for name in simulated}
    if "graph_falsification" in refuters:
        simulations["graph_falsification"] = permutations
    return RefutationPlan(
        refuters=refuters,
        simulations=simulations,
        estimated_seconds=round(fixed_s + start_s + sims_s, 2),
        n_jobs=workers,
        fit_seconds=fit_s,
    )


def refute_estimate(
    data: ModelData,
    ident: IdentificationResult,
    est: EstimationResult,
    *,
    seed: int = 0,
    time_budget_s: float = 30.0,
    n_jobs: int | None = None,
    which: list[str] | None = None,
    progress: Progress | None = None,
) -> RefutationResult:
    """Run the planned refuters; any failure adds a ``refutation_failed`` warning."""
    started = time.perf_counter()
    plan = plan_refutations(data, ident, est, time_budget_s, which, n_jobs)
    calls = _Calls(data, ident, est, plan, seed)
    outcomes = []
    for name in plan.refuters:
        tick = _ticker(progress, name)
        tick(0.0)
        began = time.perf_counter()
        raw = calls.run(name, tick)
        tick(1.0)
        outcome = _outcome(name, raw, plan, data, est)
        outcome.details["seconds"] = round(time.perf_counter() - began, 3)
        outcomes.append(outcome)
    result = RefutationResult(
        refutations=outcomes, plan=plan, seconds=round(time.perf_counter() - started, 3)
    )
    for outcome in outcomes:
        if outcome.status == "fail":
            result.warn(
                WarningCode.REFUTATION_FAILED,
                f"The {LABELS[outcome.name]} check failed: {outcome.reading}",
            )
    result.reading = _overall_reading(result)
    result.code = calls.code()
    return result


def _chosen(which: list[str] | None, ident: IdentificationResult) -> list[RefuterName]:
    """The refuters to run, in canonical order; a random common cause means nothing to an
    instrument or front-door design, so it runs for those only when asked for."""
    if which is None:
        return [n for n in REFUTERS if ident.estimand == "backdoor" or n != "random_common_cause"]
    unknown = [name for name in which if name not in REFUTERS]
    if unknown:
        raise InputError(f"Unknown refuter {unknown[0]!r}; choose from {', '.join(REFUTERS)}.")
    return [name for name in REFUTERS if name in which]


def _time_fit(data: ModelData, ident: IdentificationResult, est: EstimationResult) -> float:
    e = est.estimate
    began = time.perf_counter()
    portable_refute.fit_value(
        data.frame,
        data.graph,
        data.model_treatment,
        data.model_outcome,
        ident.dowhy_estimand,
        e.method,
        e.target,
        e.params,
    )
    return time.perf_counter() - began


def _time_graph(data: ModelData) -> tuple[float, int]:
    """Seconds for one pass over the graph's implied independences (listing and testing),
    and how many there are."""
    began = time.perf_counter()
    folded = portable_refute.variable_graph(data.graph, data.column_map)
    tests = portable_refute.implied_independences(folded)
    if not tests:
        return time.perf_counter() - began, 0
    listed = time.perf_counter()
    x, y, given = tests[0]
    portable_refute.ci_test(
        data.frame,
        data.column_map.get(x, [x]),
        data.column_map.get(y, [y]),
        data.model_columns(list(given)),
    )
    return (listed - began) + len(tests) * (time.perf_counter() - listed), len(tests)


def _permutations(graph_s: float, budget_s: float) -> int:
    """Shuffled graphs for the baseline: as many as fit its share of the budget, or none."""
    fitting = int(BASELINE_SHARE * budget_s / max(graph_s, 1e-6))
    return min(fitting, MAX_PERMUTATIONS) if fitting >= MIN_PERMUTATIONS else 0


def _simulations(seconds: float, round_s: float) -> int:
    if round_s <= 0:
        return MAX_SIMULATIONS
    return int(np.clip(seconds // round_s, MIN_SIMULATIONS, MAX_SIMULATIONS))


def _workers(n_jobs: int | None, serial_s: float) -> int:
    cores = joblib.cpu_count()
    if n_jobs is None:
        idle = _idle_cores(cores)
        parallel_s = PROCESS_START_S + serial_s / (idle * PARALLEL_EFFICIENCY)
        return idle if idle > 1 and parallel_s < serial_s else 1
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return max(1, n_jobs)


def _idle_cores(cores: int) -> int:
    """Cores not busy with other work: on a shared machine whose cores are taken, worker
    processes only queue behind that work (measured: slower than in-process). This process
    counts in the load average but waits while workers run, hence the + 1."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): assume idle
        return cores
    return int(min(cores, max(1, round(cores - load + 1))))


def _ticker(progress: Progress | None, name: str) -> Callable[[float], None]:
    def tick(fraction: float) -> None:
        if progress is not None:
            progress(name, fraction)

    return tick


class _Calls:
    """The portable calls behind each refuter: ``run`` makes them with the tool's values and
    ``code`` writes them with the script's variable names, from the same arguments, so the
    exported script reproduces exactly what the tool reported."""

    def __init__(
        self,
        data: ModelData,
        ident: IdentificationResult,
        est: EstimationResult,
        plan: RefutationPlan,
        seed: int,
    ) -> None:
        self.data, self.estimand, self.estimate = data, ident.dowhy_estimand, est.estimate
        self.plan, self.seed = plan, seed
        instruments = data.model_columns(ident.instruments) if ident.estimand == "iv" else []
        self.shared = {
            "treatment": data.model_treatment,
            "outcome": data.model_outcome,
            "method": est.estimate.method,
            "target": est.estimate.target,
            "params": est.estimate.params,
            "seed": seed,
            "instruments": instruments,
        }
        self.sensitivity = {"adjustment": None, "others": None}
        if est.estimate.method == LINEAR and ident.estimand == "backdoor":
            self.sensitivity = _benchmarks(data, ident)

    def run(self, name: str, tick: Callable[[float], None]) -> dict:
        data, e = self.data, self.estimate
        if name in SIMULATION_COST:
            effects = portable_refute.simulate_refuter(
                name,
                frame=data.frame,
                graph=data.graph,
                estimand=self.estimand,
                n_simulations=self.plan.simulations[name],
                n_jobs=self.plan.n_jobs,
                progress=tick,
                **self.shared,
            )
            return portable_refute.summarize_simulations(name, effects, e.value)
        if name == "unobserved_confounder":
            return portable_refute.unobserved_confounder(
                data.frame,
                data.model_treatment,
                data.model_outcome,
                e.value,
                e.ci_low,
                e.ci_high,
                **self.sensitivity,
            )
        return portable_refute.falsify_graph(
            data.frame,
            data.graph,
            data.column_map,
            n_permutations=self.plan.simulations["graph_falsification"],
            seed=self.seed,
            progress=tick,
        )

    def code(self) -> str:
        simulated = {n: c for n, c in self.plan.simulations.items() if n in SIMULATION_COST}
        lines = ["refutations = {}"]
        if simulated:
            lines += [
                f"shared = {self.shared!r}",
                f"for kind, n in {simulated!r}.items():",
                "    effects = simulate_refuter(kind, frame=frame, graph=graph, "
                "estimand=estimand,\n                               n_simulations=n, "
                "n_jobs=-1, **shared)",
                "    refutations[kind] = summarize_simulations(kind, effects, numbers['value'])",
            ]
        if "unobserved_confounder" in self.plan.refuters:
            lines.append(
                "refutations['unobserved_confounder'] = unobserved_confounder(\n    frame, "
                f"{self.data.model_treatment!r}, {self.data.model_outcome!r}, numbers['value'], "
                "numbers['ci_low'], numbers['ci_high'],\n    adjustment="
                f"{self.sensitivity['adjustment']!r}, others={self.sensitivity['others']!r})"
            )
        if "graph_falsification" in self.plan.refuters:
            lines.append(
                "refutations['graph_falsification'] = falsify_graph(\n    frame, graph, "
                f"column_map, n_permutations={self.plan.simulations['graph_falsification']}, "
                f"seed={self.seed})"
            )
        return "\n".join(lines) + "\n"


def _benchmarks(data: ModelData, ident: IdentificationResult) -> dict:
    """Benchmark variables for the sensitivity analysis: the adjustment set, and measured
    variables left out of it that reach the outcome other than through the treatment and
    are not downstream of either (a confounder the graph or the user chose not to adjust
    for is exactly the threat; an instrument is no template for a confounder, and scaling
    its strong tie to the treatment would make any estimate look fragile)."""
    folded = portable_refute.variable_graph(data.graph, data.column_map)
    downstream = nx.descendants(folded, data.treatment) | nx.descendants(folded, data.outcome)
    bypass = folded.copy()
    bypass.remove_node(data.treatment)
    reaches_outcome = nx.ancestors(bypass, data.outcome)
    adjustment = {name: data.column_map[name] for name in ident.adjustment_set}
    others = {
        name: columns
        for name, columns in data.column_map.items()
        if name in reaches_outcome and name not in (*adjustment, *downstream)
    }
    return {"adjustment": adjustment, "others": others}


def _outcome(
    name: RefuterName, raw: dict, plan: RefutationPlan, data: ModelData, est: EstimationResult
) -> RefutationOutcome:
    rule = RULES.get(name) or sensitivity.RULES[raw["details"]["rule"]]
    outcome = RefutationOutcome(
        name=name,
        status=raw["status"],
        new_effect=raw["new_effect"],
        p_value=raw["p_value"],
        rule=rule,
        reading="",
        simulations=plan.simulations.get(name, 0),
        details=raw["details"],
    )
    outcome.reading = _reading(outcome, data, est.estimate.value)
    return outcome


def _reading(outcome: RefutationOutcome, data: ModelData, estimate: float) -> str:
    if outcome.name == "unobserved_confounder":
        return _sensitivity_reading(outcome, data)
    if outcome.name == "graph_falsification":
        return _graph_reading(outcome, data)
    if outcome.new_effect is None:
        d = outcome.details
        return (
            f"The estimator failed on {d['failed_fits']} of {len(d['effects'])} simulated "
            "datasets, so this check could not be judged. Look at why the estimator is so "
            "fragile before trusting the estimate."
        )
    if outcome.name == "placebo_treatment":
        return _placebo_reading(outcome, data, estimate)
    return _stability_reading(outcome, estimate)


def _num(value: float) -> str:
    """Three significant digits, but whole numbers with thousands separators from 1,000 up,
    as "1.52e+03" means nothing to most readers."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _p(value: float) -> str:
    if value < 0.001:
        return "p < 0.001"
    return f"p = {value:.3f}" if value < 0.01 else f"p = {value:.2f}"


def _failed_fits(details: dict) -> str:
    failed = details["failed_fits"]
    return f" ({failed} re-fits failed and are left out)" if failed else ""


def _placebo_reading(outcome: RefutationOutcome, data: ModelData, estimate: float) -> str:
    d, p = outcome.details, _p(outcome.p_value)
    first = (
        f"Replacing {data.treatment} with a random shuffle of itself, which cannot affect "
        f"{data.outcome}, gave an average effect of {_num(outcome.new_effect)} over "
        f"{len(d['effects'])} re-fits{_failed_fits(d)}, against the real estimate of "
        f"{_num(estimate)}."
    )
    if outcome.status == "pass":
        share = d["as_large_as_estimate"]
        large = "none" if share == 0 else f"{share:.0%}"
        return (
            f"{first} {p}: an average placebo effect this far from zero is common by "
            f"chance, as it should be, and {large} of the shuffles gave an effect as large "
            "as the real one."
        )
    if outcome.status == "warn":
        return (
            f"{first} {p}: an average this far from zero is unusual by chance, so part of "
            "the estimate may be an artefact of the estimator rather than of the treatment."
        )
    return (
        f"{first} {p}: even the spread of placebo effects excludes zero, so the estimator "
        "finds an effect where there can be none."
    )


STABILITY_TEXT = {
    "random_common_cause": (
        "Adding a made-up random variable as an extra common cause moved "
        "the estimate from {est} to {mean} on average over {n} re-fits{f}.",
        "noise that cannot matter",
    ),
    "data_subset": (
        "Re-estimating on {n} random 80% subsets of the rows{f} gave {mean} on "
        "average (middle 95%: {low} to {high}) against {est} on all rows.",
        "which rows are used",
    ),
    "bootstrap": (
        "Re-estimating on {n} bootstrap resamples{f} gave {mean} on average (middle "
        "95%: {low} to {high}), the sign flipping in {flips} of them.",
        "sampling noise",
    ),
}


def _stability_reading(outcome: RefutationOutcome, estimate: float) -> str:
    d, p = outcome.details, _p(outcome.p_value)
    template, cause = STABILITY_TEXT[outcome.name]
    first = template.format(
        est=_num(estimate),
        mean=_num(outcome.new_effect),
        n=len(d["effects"]),
        f=_failed_fits(d),
        low=_num(d["band"][0]),
        high=_num(d["band"][1]),
        flips=f"{d['sign_flips']:.0%}",
    )
    if outcome.status == "pass":
        return (
            f"{first} {p}: the original estimate is typical of these re-estimates, as it "
            f"should be, so {cause} does not move it."
        )
    if outcome.status == "warn":
        shift = abs(outcome.new_effect - estimate) / max(abs(estimate), 1e-12)
        return (
            f"{first} {p}: the re-estimates are consistently off by {shift:.0%} of the "
            f"estimate, so {cause} moves it more than chance would."
        )
    return (
        f"{first} {p}: the original estimate falls outside the middle 95% of the "
        f"re-estimates, so {cause} changes the answer."
    )


def _sensitivity_reading(outcome: RefutationOutcome, data: ModelData) -> str:
    return sensitivity.sensitivity_reading(
        outcome.status, outcome.details, data.treatment, data.outcome
    )


def _independences(count: int) -> str:
    return f"{count} conditional independence" + ("" if count == 1 else "s")


def _graph_reading(outcome: RefutationOutcome, data: ModelData) -> str:
    d = outcome.details
    if not d["tested"]:
        return (
            "The graph implies no conditional independence among the measured variables, "
            "so the data cannot contradict it. Only knowledge of the subject can support it."
        )
    p = _p(outcome.p_value)
    if outcome.status == "pass":
        baseline = "."
        if d["baseline_worse"] is not None:
            baseline = (
                f", and the graph fits the data better than {d['baseline_worse']:.0%} of "
                f"{len(d['baseline_shares'])} graphs of the same shape with shuffled "
                "names."
            )
        return (
            f"The graph implies {_independences(d['tested'])} and the data contradict "
            f"none of them. {p}: even the strongest dependence among them is "
            f"consistent with chance{baseline}"
        )
    worst = min((t for t in d["tests"] if t["violated"]), key=lambda t: t["p_adjusted"])
    given = f" given {', '.join(worst['given'])}" if worst["given"] else ""
    return (
        f"The data contradict {d['violated']} of the {_independences(d['tested'])} the "
        f"graph implies: '{worst['x']}' and '{worst['y']}' are related (partial correlation "
        f"{worst['partial_r']:.2f}) although the graph says they are independent{given}. "
        f"{p}: a link this strong is very unlikely by chance, so an edge is missing or a "
        f"variable is misplaced (a descendant of {data.outcome} used as a confounder does "
        "this)."
    )


def _work_done(plan: RefutationPlan) -> str:
    parts = []
    simulated = [n for name, n in plan.simulations.items() if name in SIMULATION_COST]
    if simulated:
        parts.append(f"{simulated[0]} simulations per refuter")
    if plan.simulations.get("graph_falsification"):
        parts.append(f"{plan.simulations['graph_falsification']} shuffled graphs")
    return f" ({', '.join(parts)})" if parts else ""


def _overall_reading(result: RefutationResult) -> str:
    outcomes = result.refutations
    by_status = {
        s: [LABELS[o.name] for o in outcomes if o.status == s] for s in ("pass", "warn", "fail")
    }
    runs = _work_done(result.plan)
    if len(by_status["pass"]) == len(outcomes):
        return f"All {len(outcomes)} checks passed in {result.seconds:.1f} s{runs}."
    text = (
        f"{len(by_status['pass'])} of {len(outcomes)} checks passed in "
        f"{result.seconds:.1f} s{runs}."
    )
    if by_status["warn"]:
        text += f" Warnings: {', '.join(by_status['warn'])}."
    if by_status["fail"]:
        first = next(o for o in outcomes if o.status == "fail")
        headline = first.reading.split(". ")[0].rstrip(".")
        text += (
            f" Failed: {', '.join(by_status['fail'])}. {headline}. Revisit the graph, the "
            "adjustment or the estimator before trusting the estimate."
        )
    return text
