"""Refutation on synthetic data with known effects, through real DoWhy.

Each broken analysis is checked against the refuter that can catch it, and the tests say
which ones cannot: a placebo never sees leakage, and a random common cause or a data subset
never sees confounding the analysis ignores, since they only re-run the same estimator.
"""

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools import portable
from causal_assistant.tools.data.modeldata import build_model_data
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimation import estimate_effect
from causal_assistant.tools.export.scriptgen import library_code
from causal_assistant.tools.identify.identification import identify_effect
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.refute import portable_refute
from causal_assistant.tools.refute.refutation import (
    MAX_SIMULATIONS,
    MIN_SIMULATIONS,
    REFUTERS,
    plan_refutations,
    refute_estimate,
)

GRAPH = [("w", "t"), ("w", "y"), ("t", "y"), ("z", "t"), ("region", "t"), ("region", "y")]
# A budget this small always gets the minimum of 20 simulations, so the number of draws does
# not depend on how fast this machine happens to fit; in-process, as workers take seconds to start.
FAST = {"time_budget_s": 0.5, "n_jobs": 1}


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
    # A budget this small pins both runs to the minimum number of simulations, so only the
    # number of workers differs (a larger budget is sized from a timed fit, which varies).
    one, two = (
        refute_estimate(*correct, seed=3, which=which, time_budget_s=1e-3, n_jobs=jobs)
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


def test_plan_sizes_simulations_to_the_budget(correct):
    tight = plan_refutations(*correct, time_budget_s=0.1, n_jobs=1)
    roomy = plan_refutations(*correct, time_budget_s=1000.0, n_jobs=1)
    assert set(tight.simulations) == set(REFUTERS) - {"unobserved_confounder"}
    assert tight.simulations["placebo_treatment"] == MIN_SIMULATIONS
    assert roomy.simulations["placebo_treatment"] == MAX_SIMULATIONS
    assert 0 < tight.estimated_seconds < roomy.estimated_seconds
    assert tight.fit_seconds > 0
    only_graph = plan_refutations(*correct, which=["graph_falsification"])
    assert only_graph.fit_seconds == 0 and only_graph.n_jobs == 1
    with pytest.raises(InputError, match="Unknown refuter 'placebo'"):
        plan_refutations(*correct, which=["placebo"])


def test_code_reproduces_the_refutations(correct):
    """The snippet, run on the portable functions as the exported script runs it, gives the
    same verdicts and numbers as the tool (in-process here; any n_jobs gives the same)."""
    data, ident, est = correct
    result = refute_estimate(data, ident, est, seed=5, time_budget_s=3.0, n_jobs=1)
    script = {"frame": data.frame, "graph": data.graph, "column_map": data.column_map}
    exec(
        library_code(
            [
                "causal_assistant.tools.portable",
                "causal_assistant.tools.refute.sensitivity",
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
