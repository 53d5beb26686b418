"""Refutation on synthetic data with known effects, through real DoWhy.

Each broken analysis is checked against the refuter that can catch it, and the tests say
which ones cannot: a placebo never sees leakage, and a random common cause or a data subset
never sees confounding the analysis ignores, since they only re-run the same estimator.
"""

import math
import multiprocessing
import time

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools import portable
from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimation import estimate_effect
from causal_assistant.tools.estimate.estimators import spec_for
from causal_assistant.tools.export.scriptgen import library_code
from causal_assistant.tools.identify.identification import identify_effect
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.refute import portable_refute
from causal_assistant.tools.refute.refutation import (
    MIN_SIMULATIONS,
    REFUTERS,
    RefutationPlan,
    _outcome,
    plan_refutations,
    refute_estimate,
    simulation_count,
)

LINEAR = "backdoor.linear_regression"
GRAPH = [("w", "t"), ("w", "y"), ("t", "y"), ("z", "t"), ("region", "t"), ("region", "y")]
# Few simulations, in-process (workers take seconds to start); the count is the setting.
FAST = {"simulations": MIN_SIMULATIONS, "n_jobs": 1}


def synthetic(
    effect: float = 1.5,
    confounding: float = 0.5,
    hidden: float = 0.0,
    leak: bool = False,
    n: int = 1000,
    seed: int = 1,
) -> pd.DataFrame:
    """w and a three-level region confound t -> y; z moves only t; ``hidden`` is the
    strength of a confounder left out of the data; ``leak`` adds a noisy copy of y."""
    rng = np.random.default_rng(seed)
    w, z, u = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], n)
    bonus = pd.Series(region).map({"north": 0.3, "south": -0.2, "east": 0.0}).to_numpy()
    t = confounding * w + 0.8 * z + hidden * u + bonus + rng.normal(size=n) > 0
    y = effect * t + confounding * w + hidden * u + bonus + rng.normal(size=n)
    df = pd.DataFrame({"w": w, "z": z, "region": region, "t": t.astype(int), "y": y})
    if leak:
        df["leak"] = y + 0.5 * rng.normal(size=n)
    return df


def analyse(df: pd.DataFrame, edges=tuple(GRAPH), adjustment=None, method=None):
    data = build_model_data(df, CausalGraph.from_edges(edges), "t", "y")
    ident = identify_effect(data, adjustment=adjustment)
    return data, ident, estimate_effect(data, ident, method=method, seed=0)


def by_name(result) -> dict:
    return {o.name: o for o in result.refutations}


@pytest.fixture(scope="module")
def correct():
    return analyse(synthetic())


def test_correct_analysis_passes_every_refuter(correct):
    seen: list[tuple[str, float]] = []
    result = refute_estimate(
        *correct, progress=lambda name, done: seen.append((name, done)), **FAST
    )
    assert [o.name for o in result.refutations] == list(REFUTERS)
    assert {o.name: o.status for o in result.refutations} == dict.fromkeys(REFUTERS, "pass")
    assert not result.warnings and result.reading.startswith("All 6 checks passed")
    for outcome in result.refutations:
        assert outcome.rule and outcome.reading.count(". ") >= 1
        assert outcome.p_value is None or 0 <= outcome.p_value <= 1
        # progress runs from 0 to 1 for every refuter, never backwards
        fractions = [done for name, done in seen if name == outcome.name]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    placebo = by_name(result)["placebo_treatment"]
    assert len(placebo.details["effects"]) == placebo.simulations == MIN_SIMULATIONS
    assert abs(placebo.new_effect) < 0.1 * correct[2].estimate.value
    assert "p = " in placebo.reading and "as it should be" in placebo.reading
    # the categorical region is tested as one variable, never its indicators against each other
    tested = {(t["x"], t["y"]) for t in by_name(result)["graph_falsification"].details["tests"]}
    assert all("region_" not in x + y for x, y in tested)


def test_correct_graph_fits_better_than_shuffled_ones(correct):
    data = correct[0]
    checked = portable_refute.falsify_graph(
        data.frame, data.graph, data.column_map, n_permutations=30, seed=0
    )
    assert checked["status"] == "pass" and len(checked["details"]["baseline_shares"]) == 30
    assert checked["details"]["baseline_worse"] > 0.5


def test_omitted_confounder_is_caught_by_the_sensitivity_analysis():
    """A hidden confounder weaker than the measured w, and a true effect of -0.2 whose
    estimate is null (its interval spans zero). There is nothing to explain away, so the
    check does not fail, but it warns: a confounder weaker than w could mask an effect as
    large as the interval allows. The graph cannot show it here (nothing in the data is
    left out of the graph), and the test says so."""
    data, ident, est = analyse(synthetic(effect=-0.2, confounding=0.8, hidden=0.5))
    assert est.estimate.ci_low < 0 < est.estimate.ci_high
    result = refute_estimate(
        data, ident, est, which=["unobserved_confounder", "graph_falsification"], **FAST
    )
    outcomes = by_name(result)
    sensitivity = outcomes["unobserved_confounder"]
    assert sensitivity.status == "warn"
    assert sensitivity.details["worst"]["strength_to_mask"] < 1
    assert sensitivity.reading.startswith("The interval includes zero, so there is nothing")
    assert "as strong as 'w'" in sensitivity.reading and "risk ratio" in sensitivity.reading
    assert "never fails" in sensitivity.rule
    assert outcomes["graph_falsification"].status == "pass"
    assert not result.warnings


def test_leakage_variable_fails_graph_falsification_but_not_the_placebo():
    """A noisy copy of y declared a confounder: the graph says leak is independent of w, z
    and region, the data say otherwise. A shuffled treatment still has no effect, so the
    placebo passes; it cannot see this mistake."""
    edges = (*GRAPH, ("leak", "t"), ("leak", "y"))
    data, ident, est = analyse(synthetic(leak=True), edges=edges)
    assert "leak" in ident.adjustment_set
    result = refute_estimate(
        data, ident, est, which=["placebo_treatment", "graph_falsification"], **FAST
    )
    outcomes = by_name(result)
    graph = outcomes["graph_falsification"]
    assert graph.status == "fail" and graph.p_value < 1e-6
    assert "'leak'" in graph.reading and "partial correlation" in graph.reading
    assert outcomes["placebo_treatment"].status == "pass"
    assert "graph falsification" in result.warnings[0].message


def test_ignored_confounding_is_caught_by_sensitivity_not_by_subset_or_random_cause():
    """Adjustment forced empty while w confounds (true effect -0.3, estimate positive).
    Re-running the same biased estimator on subsets or with noise added reproduces the same
    bias, and the graph itself is right; only the benchmark against w, measured but not
    adjusted for, shows that a confounder like it erases the estimate."""
    data, ident, est = analyse(synthetic(effect=-0.3, confounding=0.8), adjustment=[])
    assert est.estimate.value > 0
    result = refute_estimate(
        data,
        ident,
        est,
        which=[
            "random_common_cause",
            "data_subset",
            "unobserved_confounder",
            "graph_falsification",
        ],
        **FAST,
    )
    statuses = {o.name: o.status for o in result.refutations}
    assert statuses == {
        "random_common_cause": "pass",
        "data_subset": "pass",
        "unobserved_confounder": "fail",
        "graph_falsification": "pass",
    }
    sensitivity = by_name(result)["unobserved_confounder"]
    assert sensitivity.details["worst"]["name"] == "w"
    assert "measured, but not adjusted for" in sensitivity.reading
    assert sensitivity.new_effect < 0 < est.estimate.value


def test_same_seed_gives_identical_results_whatever_n_jobs(correct):
    which = ["placebo_treatment", "bootstrap"]
    one, two = (
        refute_estimate(*correct, seed=3, which=which, simulations=20, n_jobs=jobs)
        for jobs in (1, 2)
    )
    assert (one.plan.n_jobs, two.plan.n_jobs) == (1, 2)

    def numbers(result):
        return [
            (o.status, o.new_effect, o.p_value, o.details["effects"]) for o in result.refutations
        ]

    assert numbers(one) == numbers(two)
    other = refute_estimate(*correct, seed=4, which=which, **FAST)
    assert numbers(other) != numbers(one)


def test_placebo_refits_propensity_scores_from_scratch():
    """DoWhy#1728: reused propensity scores made the placebo effect track the real one. With
    weighting re-fitted on each shuffled treatment the placebo effect is near zero."""
    data, ident, est = analyse(synthetic(), method="backdoor.propensity_score_weighting")
    result = refute_estimate(data, ident, est, which=["placebo_treatment"], **FAST)
    placebo = result.refutations[0]
    assert placebo.status == "pass"
    assert abs(placebo.new_effect) < 0.1 * abs(est.estimate.value)


def test_plan_counts_come_from_the_setting(correct):
    plan = plan_refutations(*correct, n_jobs=1)
    assert set(plan.simulations) == set(REFUTERS) - {"unobserved_confounder"}
    assert plan.simulations["placebo_treatment"] == 100  # the default setting
    assert plan.simulations["graph_falsification"] == 100  # 1,000 rows: the full baseline
    assert plan.estimated_seconds > 0 and plan.seconds_per_simulation > 0
    only_graph = plan_refutations(*correct, which=["graph_falsification"])
    assert only_graph.seconds_per_simulation == 0 and only_graph.n_jobs == 1
    with pytest.raises(InputError, match="Unknown refuter 'placebo'"):
        plan_refutations(*correct, which=["placebo"])


def test_code_reproduces_the_refutations(correct):
    """The snippet, run on the portable functions as the exported script runs it, gives the
    same verdicts and numbers as the tool (in-process here; any n_jobs gives the same)."""
    data, ident, est = correct
    result = refute_estimate(data, ident, est, seed=5, simulations=30, n_jobs=1)
    script = {"frame": data.frame, "graph": data.graph, "column_map": data.column_map}
    exec(
        library_code(
            [
                "causal_assistant.tools.portable",
                "causal_assistant.tools.refute.sensitivity",
                "causal_assistant.tools.model.independence",
                "causal_assistant.tools.refute.portable_refute",
            ]
        ),
        script,
    )
    exec(ident.code + est.code + result.code.replace("n_jobs=-1", "n_jobs=1"), script)
    for outcome in result.refutations:
        rerun = script["refutations"][outcome.name]
        assert rerun["status"] == outcome.status
        assert rerun["new_effect"] == pytest.approx(outcome.new_effect, nan_ok=True)
        assert rerun["p_value"] == pytest.approx(outcome.p_value, nan_ok=True)


def test_portable_functions_are_listed_for_the_exporter():
    names = {fn.__name__ for fn in portable_refute.PORTABLE_FUNCTIONS}
    public = {
        name
        for name, value in vars(portable_refute).items()
        if callable(value) and getattr(value, "__module__", "") == portable_refute.__name__
    }
    assert names == public
    assert not names & {fn.__name__ for fn in portable.PORTABLE_FUNCTIONS}


# --- deterministic, fast, read right (issue 19) -------------------------------------------


def _draw_by_draw(kind, data, ident, est, seeds):
    """The straightforward way: one DoWhy fit per simulated dataset."""
    e = est.estimate
    return [
        portable_refute.simulate_once(
            kind,
            data.frame,
            data.graph,
            data.model_treatment,
            data.model_outcome,
            ident.dowhy_estimand,
            e.method,
            e.target,
            e.params,
            s,
        )
        for s in seeds
    ]


def _arrays(data, ident):
    covariates = sorted(ident.dowhy_estimand.get_backdoor_variables())
    return (
        data.frame[data.model_treatment].to_numpy(dtype=float),
        data.frame[data.model_outcome].to_numpy(dtype=float),
        data.frame[covariates].to_numpy(dtype=float),
    )


@pytest.mark.parametrize("kind", REFUTERS[:4])
def test_batched_least_squares_equal_one_dowhy_fit_per_draw(correct, kind):
    """Frisch-Waugh for placebo and random common cause, weighted normal equations for
    subsets and resamples: the same treatment coefficients as re-fitting DoWhy's linear
    regression on each simulated dataset, to 1e-8 (a categorical covariate included)."""
    data, ident, est = correct
    seeds = portable_refute.simulation_seeds(kind, 7, 4)
    batched = portable_refute.linear_effects(kind, *_arrays(data, ident), seeds)
    assert batched == pytest.approx(_draw_by_draw(kind, data, ident, est, seeds), rel=1e-8)
    assert len(set(batched)) == len(seeds)  # the draws differ


@pytest.mark.parametrize(
    ("method", "target", "tolerance"),
    [
        # weighting: Newton's exact optimum of the same objective; lbfgs stops near it
        ("backdoor.propensity_score_weighting", "ate", 1e-3),
        ("backdoor.propensity_score_weighting", "att", 1e-3),
        # matching: scikit-learn's own fit, as a neighbour jumps with a score's last digits
        ("backdoor.propensity_score_matching", "ate", 1e-10),
        ("backdoor.propensity_score_matching", "atc", 1e-10),
    ],
)
def test_propensity_refits_on_arrays_equal_dowhy(method, target, tolerance):
    """Weighting and matching re-fitted on arrays give DoWhy's own estimate on every kind
    of simulated dataset (the propensity model is re-fitted on each, dowhy#1728)."""
    data, ident, est = analyse(synthetic(n=400))  # a regression: no bootstrap interval
    est.estimate.method, est.estimate.target = method, target
    est.estimate.params = spec_for(method).params
    for kind in REFUTERS[:4]:
        seeds = portable_refute.simulation_seeds(kind, 1, 3)
        ours = portable_refute.propensity_effects(
            kind, *_arrays(data, ident), method, target, est.estimate.params, seeds
        )
        dowhy = _draw_by_draw(kind, data, ident, est, seeds)
        assert ours == pytest.approx(dowhy, abs=tolerance, rel=tolerance), kind


def test_batched_logistic_reaches_scikit_learns_optimum():
    """The batched Newton fit solves scikit-learn's default objective (L2, C = 1, intercept
    free, rows counted by weight): with lbfgs run to a tight tolerance they coincide."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    t = (x @ [1.0, -0.5, 0.2] + rng.logistic(size=300) > 0).astype(float)
    counts = rng.integers(0, 3, size=300).astype(float)
    design = np.column_stack([np.ones(300), x])
    ours = portable_refute.logistic_batch(design[None], t[None], counts[None])[0]
    tight = LogisticRegression(tol=1e-12, max_iter=10_000).fit(x, t, sample_weight=counts)
    assert ours == pytest.approx(tight.predict_proba(x)[:, 1], abs=1e-7)


def test_simulation_count_follows_the_setting_and_size_only(correct, monkeypatch):
    """The clock cannot change a count: a plan made while every timer reads 100x slower
    asks for the same simulations; only the estimated seconds change."""
    plan = plan_refutations(*correct, simulations=40, n_jobs=1)
    assert plan.path == "batched"
    assert {plan.simulations[n] for n in REFUTERS[:4]} == {40}
    clock = iter(range(0, 10**9, 100))
    monkeypatch.setattr("time.perf_counter", lambda: float(next(clock)))
    slow = plan_refutations(*correct, simulations=40, n_jobs=1)
    assert slow.simulations == plan.simulations
    assert slow.estimated_seconds > 100 * plan.estimated_seconds
    assert 2 <= slow.simulations_within(slow.estimated_seconds / 2) < 40
    # a budget is advice: the plan suggests fewer and keeps the count asked for
    advised = plan_refutations(*correct, simulations=40, n_jobs=1, budget_s=1e-6)
    assert advised.simulations == plan.simulations and advised.suggested_simulations == 2
    # estimators re-fitted per draw run fewer on very large data; batched ones never do
    assert simulation_count(100, 1_000_000, batched=False) == MIN_SIMULATIONS
    assert simulation_count(100, 200_000, batched=False) == 50
    assert simulation_count(100, 1_000_000, batched=True) == 100
    assert simulation_count(10, 1_000_000, batched=False) == 10
    with pytest.raises(InputError):
        simulation_count(0, 10, batched=True)


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.slow
def test_same_seed_same_results_under_load_and_any_workers():
    """The same seeded refutation twice: in-process on a quiet machine, then on two worker
    processes while another process burns a core. Every draw, p-value and verdict agree.
    Stratification re-fits through DoWhy one draw per task, so the draws really are
    spread over the workers (the batched paths cut draws into batches by data size)."""
    data, ident, est = analyse(synthetic(n=600))
    est.estimate.method = "backdoor.propensity_score_stratification"
    which = ["placebo_treatment", "bootstrap"]
    quiet = refute_estimate(data, ident, est, seed=11, simulations=8, which=which, n_jobs=1)
    burner = multiprocessing.get_context("spawn").Process(target=_burn, args=(60.0,))
    burner.start()
    try:
        loaded = refute_estimate(data, ident, est, seed=11, simulations=8, which=which, n_jobs=2)
    finally:
        burner.terminate()
        burner.join()
    assert (quiet.plan.n_jobs, loaded.plan.n_jobs) == (1, 2)
    assert _numbers(quiet) == _numbers(loaded)


def _numbers(result) -> list:
    return [
        (o.name, o.status, o.new_effect, o.p_value, o.details["effects"], o.reading)
        for o in result.refutations
    ]


def test_batched_regression_same_results_with_any_workers(correct):
    one, two = (
        refute_estimate(*correct, seed=2, simulations=30, which=list(REFUTERS[:4]), n_jobs=j)
        for j in (1, 2)
    )
    assert _numbers(one) == _numbers(two)


def _summary(kind, effects, estimate, data, est):
    raw = portable_refute.summarize_simulations(kind, effects, estimate)
    plan = RefutationPlan(refuters=[kind], simulations={kind: len(effects)}, estimated_seconds=0)
    est = est.model_copy(deep=True)
    est.estimate.value = estimate
    return _outcome(kind, raw, plan, data, est)


def _effects(mean: float, sd: float, n: int = 100) -> list[float]:
    """Simulated effects with exactly this mean and standard deviation."""
    z = np.random.default_rng(0).standard_normal(n)
    return list(mean + sd * (z - z.mean()) / z.std(ddof=1))


@pytest.mark.parametrize(
    ("t_stat", "estimate", "status", "says"),
    [
        (1.9, 10.0, "pass", "common by chance, as it should be"),  # p = 0.06
        (2.1, 10.0, "pass", "too small to matter"),  # p = 0.04, average 1% of the estimate
        (2.1, 0.5, "warn", "the second happened"),  # p = 0.04, average 20% of the estimate
        (2.1, 1.05, "pass", "too small to matter"),  # just under 10% of the estimate
        (2.1, 0.95, "warn", "the second happened"),  # just over 10%
    ],
)
def test_placebo_reading_agrees_with_its_p_value(correct, t_stat, estimate, status, says):
    data, _, est = correct
    # mean 0.1 with a one-sample t statistic against zero of exactly t_stat (100 draws)
    effects = _effects(0.1, 0.1 * math.sqrt(100) / t_stat)
    outcome = _summary("placebo_treatment", effects, estimate, data, est)
    assert outcome.status == status
    assert (outcome.p_value < 0.05) == (t_stat > 1.99)
    assert says in outcome.reading and _p_text(outcome.p_value) in outcome.reading
    if outcome.p_value < 0.05:
        assert "by chance, as it should be" not in outcome.reading
    assert "Worrying would have been" in outcome.reading


def _p_text(p: float) -> str:
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def test_stability_and_placebo_failures_read_as_failures(correct):
    data, _, est = correct
    shifted = _summary("placebo_treatment", list(np.linspace(0.5, 1.5, 50)), 2.0, data, est)
    assert shifted.status == "fail" and "the first happened" in shifted.reading
    assert "as it should be" not in shifted.reading
    away = _summary("bootstrap", list(np.linspace(2.0, 3.0, 50)), 1.0, data, est)
    assert away.status == "fail" and "changes the answer" in away.reading
    # estimate inside the band (p_band >= 0.05) but the average reliably 20% off: warn
    drift = _summary("data_subset", _effects(1.2, 0.5), 1.0, data, est)
    assert drift.status == "warn" and drift.details["p_band"] >= 0.05
    assert "the second happened" in drift.reading and "off by 20%" in drift.reading
    steady = _summary("data_subset", _effects(1.0, 0.5), 1.0, data, est)
    assert steady.status == "pass" and "as it should not" in steady.reading


def test_dowhy_refuters_agree_on_the_same_seeded_data(correct):
    """DoWhy's own placebo (permute), random common cause and data subset refuters on the
    same data and estimate reach the same verdicts, and their new effects agree with ours
    within their simulation noise (the methods are the same; the draws are each library's).
    """
    from dowhy import CausalModel

    data, ident, est = correct
    frame = data.frame[[c for c in data.frame.columns if c in data.graph]].copy()
    model = CausalModel(
        data=frame, treatment=data.model_treatment, outcome=data.model_outcome, graph=data.graph
    )
    estimate = model.estimate_effect(
        ident.dowhy_estimand,
        method_name=LINEAR,
        control_value=False,
        treatment_value=True,
        effect_modifiers=[],
    )
    assert estimate.value == pytest.approx(est.estimate.value, rel=1e-10)
    theirs = {
        "placebo_treatment": ("placebo_treatment_refuter", {"placebo_type": "permute"}),
        "random_common_cause": ("random_common_cause", {}),
        "data_subset": ("data_subset_refuter", {}),
    }
    ours = by_name(refute_estimate(*correct, seed=0, simulations=30, which=list(theirs), n_jobs=1))
    for name, (method, kwargs) in theirs.items():
        refutation = model.refute_estimate(
            ident.dowhy_estimand,
            estimate,
            method_name=method,
            num_simulations=30,
            # a generator, not an int: DoWhy's subset refuter would draw one subset 30 times
            random_state=np.random.RandomState(0),
            **kwargs,
        )
        failed = bool(refutation.refutation_result["is_statistically_significant"])
        assert failed == (ours[name].status == "fail"), name
        spread = np.std(ours[name].details["effects"]) + 1e-9
        assert abs(refutation.new_effect - ours[name].new_effect) < 3 * spread, name
