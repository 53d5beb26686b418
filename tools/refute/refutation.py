"""Refutation: can the estimate survive checks designed to break it, and how fast.

Runs DoWhy-style refuters (placebo treatment, random common cause, data subset, bootstrap),
a sensitivity analysis for an unmeasured confounder and a falsification test of the graph,
each with a pass/warn/fail verdict whose rule is stated in words and a reading that gets the
p-value right. The computations live in ``tools.refute.portable_refute`` so the exported script
re-runs them; this module plans the work (counts from a setting and the data size, never
the clock), reports progress, and explains.
"""

import os
import time
from collections.abc import Callable
from typing import Literal, get_args

import joblib
import networkx as nx
from pydantic import BaseModel

import causal_assistant.tools.refute.portable_refute as portable_refute
import causal_assistant.tools.refute.sensitivity as sensitivity
from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimation import EstimationResult
from causal_assistant.tools.identify.identification import IdentificationResult
from causal_assistant.tools.model.independence import independence_test
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
SIMULATED: tuple[str, ...] = REFUTERS[:4]
# The number of simulations is a setting (CAUSAL_ASSISTANT_REFUTATION_SIMULATIONS) and a
# rule on the data's size, never the clock: a seeded analysis gives the same draws on any
# machine under any load. Linear regression fits all draws as batched least squares, so it
# always runs the count asked for; estimators re-fitted draw by draw run fewer beyond
# FULL_ROWS rows (proportionally, never below MIN_SIMULATIONS).
DEFAULT_SIMULATIONS = 100
MIN_SIMULATIONS = 20
FULL_ROWS = 100_000
# Shuffled graphs for the falsification baseline: as many as keep rows x tests x graphs
# under PERMUTATION_WORK, at most MAX_PERMUTATIONS, none if fewer than MIN_PERMUTATIONS.
MIN_PERMUTATIONS, MAX_PERMUTATIONS = 20, 100
PERMUTATION_WORK = 3e7
SHUFFLED_GRAPH_COST = 0.1  # of the first pass, measured: most of its tests are cached
TIMING_ROWS = 100_000  # batched simulations are timed on this many rows and scaled
# Measured on 2 idle cores: loky workers start and import DoWhy in about 2.5 s, then run
# fits about 2x faster than one process. Workers change only the speed, never the numbers,
# so the choice may follow the machine's load.
PROCESS_START_S = 3.0
PARALLEL_EFFICIENCY = 0.9
SENSITIVITY_S = 0.3
ALPHA = 0.05  # the level of summarize_simulations, quoted by the readings
LINEAR = "backdoor.linear_regression"
DIRECT = ("backdoor.propensity_score_weighting", "backdoor.propensity_score_matching")
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
    """What will run, decided before anything runs: the counts follow from the setting and
    the data's size only; the seconds are an estimate from one timed simulation, shown so
    the user can ask for fewer (``simulations_within``) and never used to change a count."""

    refuters: list[RefuterName]
    simulations: dict[str, int]
    estimated_seconds: float
    n_jobs: int = 1  # worker processes (or threads, for batched regression)
    path: str = "dowhy"  # how simulations are fitted: batched, direct or dowhy
    seconds_per_simulation: float = 0.0  # the timed simulation the estimate is built on
    fixed_seconds: float = 0.0  # the checks that do not simulate
    budget_seconds: float | None = None  # advisory: what the user is willing to wait
    suggested_simulations: int | None = None  # what would fit that wait, when over it

    def simulations_within(self, seconds: float) -> int:
        """The simulations per refuter that would fit in ``seconds`` by this estimate (at
        least 2): a way to choose fewer, to pass as ``simulations``."""
        simulated = sum(1 for name in self.simulations if name in SIMULATED)
        per_round = self.seconds_per_simulation * simulated / self.n_jobs
        if per_round <= 0:
            return max(self.simulations.get(name, 0) for name in SIMULATED)
        return max(2, int((seconds - self.fixed_seconds) // per_round))


class RefutationResult(ToolResult):
    refutations: list[RefutationOutcome]
    plan: RefutationPlan
    seconds: float


def simulation_count(requested: int, n_rows: int, batched: bool) -> int:
    """Simulations per refuter: the setting, cut in proportion beyond ``FULL_ROWS`` rows
    (never below ``MIN_SIMULATIONS``) for estimators re-fitted draw by draw."""
    if requested < 1:
        raise InputError("The number of refutation simulations must be at least 1.")
    if batched or n_rows <= FULL_ROWS:
        return requested
    return min(requested, max(MIN_SIMULATIONS, requested * FULL_ROWS // n_rows))


def permutation_count(n_rows: int, n_tests: int) -> int:
    """Shuffled graphs for the falsification baseline, from the data's size and the
    number of implied independences only."""
    if not n_tests:
        return 0
    fitting = int(PERMUTATION_WORK // (n_rows * n_tests))
    return min(fitting, MAX_PERMUTATIONS) if fitting >= MIN_PERMUTATIONS else 0


def simulation_path(data: ModelData, ident: IdentificationResult, est: EstimationResult) -> str:
    """How simulations are fitted: ``batched`` least squares for linear regression,
    ``direct`` propensity fits on arrays for weighting and matching, else DoWhy re-fits."""
    backdoor = ident.estimand == "backdoor"
    if backdoor and est.estimate.method == LINEAR:
        return "batched"
    if backdoor and ident.adjustment_set and est.estimate.method in DIRECT:
        return "direct"
    return "dowhy"


def plan_refutations(
    data: ModelData,
    ident: IdentificationResult,
    est: EstimationResult,
    simulations: int = DEFAULT_SIMULATIONS,
    which: list[str] | None = None,
    n_jobs: int | None = None,
    budget_s: float | None = None,
) -> RefutationPlan:
    """Decide the work from the setting and the data's size, then time one simulation to
    say how long it will take and how many workers pay off.

    ``n_jobs=None`` picks: all idle cores as processes when that is faster than one process
    including the workers' start-up, otherwise in-process; any other value is used as given.
    Workers never change the numbers, only the speed. ``budget_s`` is advisory: when the
    estimate exceeds it the plan suggests a count that would fit, and runs the one asked for.
    """
    refuters = _chosen(which, ident)
    simulated = [name for name in refuters if name in SIMULATED]
    path = simulation_path(data, ident, est)
    count = simulation_count(simulations, len(data.frame), path == "batched")
    counts = {name: count for name in simulated}
    per_sim_s = _time_simulation(data, ident, est, count, path) if simulated else 0.0
    graph_s, n_tests = _time_graph(data) if "graph_falsification" in refuters else (0.0, 0)
    if "graph_falsification" in refuters:
        counts["graph_falsification"] = permutation_count(len(data.frame), n_tests)
    fixed_s = graph_s * (1 + SHUFFLED_GRAPH_COST * counts.get("graph_falsification", 0))
    fixed_s += SENSITIVITY_S if "unobserved_confounder" in refuters else 0.0
    serial_s = per_sim_s * count * len(simulated)
    # batched regression is matrix products, already spread over the cores by BLAS:
    # threads only when asked for
    automatic = not simulated or (path == "batched" and n_jobs is None)
    workers = 1 if automatic else _workers(n_jobs, serial_s)
    sims_s = serial_s / (workers * PARALLEL_EFFICIENCY) if workers > 1 else serial_s
    start_s = PROCESS_START_S if workers > 1 and path != "batched" else 0.0
    plan = RefutationPlan(
        refuters=refuters,
        simulations=counts,
        estimated_seconds=round(fixed_s + start_s + sims_s, 2),
        n_jobs=workers,
        path=path,
        seconds_per_simulation=per_sim_s,
        fixed_seconds=round(fixed_s, 3),
        budget_seconds=budget_s,
    )
    if simulated and budget_s is not None and plan.estimated_seconds > budget_s:
        plan.suggested_simulations = min(count, plan.simulations_within(budget_s))
    return plan


def refute_estimate(
    data: ModelData,
    ident: IdentificationResult,
    est: EstimationResult,
    *,
    seed: int = 0,
    simulations: int = DEFAULT_SIMULATIONS,
    n_jobs: int | None = None,
    which: list[str] | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[RefutationPlan], None] | None = None,
    budget_s: float | None = None,
) -> RefutationResult:
    """Run the planned refuters; any failure adds a ``refutation_failed`` warning.
    ``on_plan`` receives the plan (counts and estimated seconds) before anything runs."""
    started = time.perf_counter()
    plan = plan_refutations(data, ident, est, simulations, which, n_jobs, budget_s)
    if on_plan is not None:
        on_plan(plan)
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


def _time_simulation(
    data: ModelData, ident: IdentificationResult, est: EstimationResult, count: int, path: str
) -> float:
    """Seconds per bootstrap simulation (the dearest kind) by the path that will run; the
    batched paths are timed on a batch of up to 10 draws, after a warm-up, as one draw
    alone costs them nearly as much as ten. Batched least squares costs in proportion to
    the rows, so on a larger table it is timed on its first ``TIMING_ROWS`` and scaled."""
    e = est.estimate
    rows = TIMING_ROWS if path == "batched" and len(data.frame) > TIMING_ROWS else None
    args = dict(
        frame=data.frame if rows is None else data.frame.iloc[:rows],
        graph=data.graph,
        treatment=data.model_treatment,
        outcome=data.model_outcome,
        estimand=ident.dowhy_estimand,
        method=e.method,
        target=e.target,
        params=e.params,
        instruments=_instruments(data, ident),
    )
    sample = 1 if path == "dowhy" else min(count, 10)
    if path != "dowhy":  # a first call warms the thread pool and BLAS
        portable_refute.simulate_refuter("bootstrap", n_simulations=1, **args)
    began = time.perf_counter()
    portable_refute.simulate_refuter("bootstrap", n_simulations=sample, **args)
    scale = 1.0 if rows is None else len(data.frame) / rows
    return (time.perf_counter() - began) / sample * scale


def _instruments(data: ModelData, ident: IdentificationResult) -> list[str]:
    return data.model_columns(ident.instruments) if ident.estimand == "iv" else []


def _time_graph(data: ModelData) -> tuple[float, int]:
    """Seconds for one pass over the graph's implied independences (listing and testing),
    and how many there are."""
    began = time.perf_counter()
    folded = portable_refute.variable_graph(data.graph, data.column_map)
    tests = portable_refute.implied_independences(folded)
    if not tests:
        return time.perf_counter() - began, 0
    listed = time.perf_counter()
    inputs = portable_refute.graph_inputs(data.frame, folded, data.column_map)
    sample = tests[:: max(1, len(tests) // 3)][:3]  # conditioning sets differ in size
    for x, y, given in sample:
        independence_test(inputs, x, y, list(given))
    per_test = (time.perf_counter() - listed) / len(sample)
    return (listed - began) + len(tests) * per_test, len(tests)


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
        instruments = _instruments(data, ident)
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
        if name in SIMULATED:
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
            return sensitivity.sensitivity_check(
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
        simulated = {n: c for n, c in self.plan.simulations.items() if n in SIMULATED}
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
                "refutations['unobserved_confounder'] = sensitivity_check(\n    frame, "
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


def _share(value: float, estimate: float) -> str:
    return f"{abs(value) / max(abs(estimate), 1e-12):.0%}"


def _placebo_reading(outcome: RefutationOutcome, data: ModelData, estimate: float) -> str:
    """What was done, then one sentence: what would have been worrying, and whether it
    happened, quoting the p-value the verdict rests on (so p = 0.04 never reads as chance)."""
    # every simulation refuter reports its mean effect and p-value
    assert outcome.new_effect is not None and outcome.p_value is not None
    d, p = outcome.details, _p(outcome.p_value)
    first = (
        f"Replacing {data.treatment} with a random shuffle of itself, which cannot affect "
        f"{data.outcome}, gave an average effect of {_num(outcome.new_effect)} over "
        f"{len(d['effects'])} re-fits{_failed_fits(d)}, against the real estimate of "
        f"{_num(estimate)}."
    )
    worry = (
        "Worrying would have been placebo effects whose middle 95% excludes zero, or an "
        "average off zero beyond chance (p < 0.05) by at least 10% of the estimate"
    )
    share = _share(outcome.new_effect, estimate)
    if outcome.status == "fail":
        return (
            f"{first} {worry}; the first happened ({_p(d['p_band'])} for zero among the "
            "placebo effects), so the estimator finds an effect where there can be none."
        )
    if outcome.status == "warn":
        return (
            f"{first} {worry}; the second happened ({p}, an average {share} of the "
            "estimate), so part of the estimate may be an artefact of the estimator."
        )
    if outcome.p_value < ALPHA:
        return (
            f"{first} {worry}; neither happened: {p} says the average is off zero beyond "
            f"chance, but at {share} of the estimate it is too small to matter."
        )
    return (
        f"{first} {worry}; neither happened: {p}, so an average this far from zero is "
        "common by chance, as it should be for a treatment that cannot work."
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
    assert outcome.new_effect is not None  # every simulation refuter reports its mean effect
    d = outcome.details
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
    worry = (
        "Worrying would have been the estimate outside the middle 95% of the re-estimates, "
        "or their average off it beyond chance (p < 0.05) by at least 10%"
    )
    band, mean_p = _p(d["p_band"]), _p(d["p_mean"])
    shift = _share(outcome.new_effect - estimate, estimate)
    if outcome.status == "fail":
        return (
            f"{first} {worry}; the first happened ({band} for the estimate among them), so "
            f"{cause} changes the answer."
        )
    if outcome.status == "warn":
        return (
            f"{first} {worry}; the second happened ({mean_p}, off by {shift}), so {cause} "
            "moves the estimate more than chance would."
        )
    if d["p_mean"] < ALPHA:
        return (
            f"{first} {worry}; neither happened ({band} for the estimate among them): their "
            f"average is off it beyond chance ({mean_p}) but by only {shift}, too little "
            f"to matter, so {cause} does not move the answer."
        )
    return (
        f"{first} {worry}; neither happened ({band} for the estimate among them, {mean_p} "
        f"for their average), so {cause} does not move it, as it should not."
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
    assert outcome.p_value is not None  # the smallest adjusted p-value of the tests run
    p = _p(outcome.p_value)
    worry = (
        "Worrying would have been a pair the graph calls independent that the data relate "
        "(Holm-adjusted p < 0.01 with a partial correlation of at least 0.05)"
    )
    if outcome.status == "pass":
        strongest = min(d["tests"], key=lambda t: t["p_adjusted"])
        chance = (
            "consistent with chance"
            if strongest["p_adjusted"] >= 0.01
            else f"beyond chance but too weak to matter (partial correlation "
            f"{strongest['partial_r']:.2f})"
        )
        baseline = "."
        if d["baseline_worse"] is not None:
            baseline = (
                f"; the graph fits the data better than {d['baseline_worse']:.0%} of "
                f"{len(d['baseline_shares'])} graphs of the same shape with shuffled "
                "names."
            )
        return (
            f"The graph implies {_independences(d['tested'])}. {worry}; none happened: "
            f"the strongest dependence among them ({p}) is {chance}{baseline}"
        )
    worst = min((t for t in d["tests"] if t["violated"]), key=lambda t: t["p_adjusted"])
    given = f" given {', '.join(worst['given'])}" if worst["given"] else ""
    return (
        f"The graph implies {_independences(d['tested'])}. {worry}; it happened for "
        f"{d['violated']} of them: '{worst['x']}' and '{worst['y']}' are related (partial "
        f"correlation {worst['partial_r']:.2f}, {_p(worst['p_adjusted'])}) although the graph "
        f"says they are independent{given}, so an edge is missing or a variable is "
        f"misplaced (a descendant of {data.outcome} used as a confounder does this)."
    )


PATHS = {
    "batched": "all draws as batched least squares",
    "direct": "propensity re-fitted on every draw",
    "dowhy": "DoWhy re-fits",
}


def _work_done(plan: RefutationPlan) -> str:
    parts = []
    simulated = [n for name, n in plan.simulations.items() if name in SIMULATED]
    if simulated:
        parts.append(f"{simulated[0]} simulations per refuter, {PATHS[plan.path]}")
    if plan.simulations.get("graph_falsification"):
        parts.append(f"{plan.simulations['graph_falsification']} shuffled graphs")
    parts.append(f"planned {plan.estimated_seconds:.1f} s")
    if plan.suggested_simulations is not None:
        parts.append(
            f"more than the {plan.budget_seconds:g} s budget: "
            f"CAUSAL_ASSISTANT_REFUTATION_SIMULATIONS={plan.suggested_simulations} would fit it"
        )
    return f" ({'; '.join(parts)})"


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
