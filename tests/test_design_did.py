"""Difference in differences against known truths and the packages' own data."""

import importlib.resources

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from linearmodels import PanelOLS
from linearmodels.datasets import wage_panel

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.designs import DesignColumns, DesignSpec, load_designs
from causal_assistant.tools.designs import did_portable as portable
from causal_assistant.tools.errors import InputError
from tests.design_data import panel_single, panel_staggered

REGISTRY = load_designs()

did = REGISTRY["did"]


def _spec(frame, treatment, outcome, **columns):
    detected = columns or did.detect(frame, profile_table(frame), treatment, outcome).columns
    return DesignSpec(
        kind="did",
        treatment=treatment,
        outcome=outcome,
        columns=DesignColumns.model_validate(
            detected if isinstance(detected, dict) else detected.model_dump()
        ),
    )


def test_single_adoption_date_twfe_covers_the_effect_and_code_reproduces_it():
    frame, truth = panel_single(seed=3)
    spec = _spec(frame, "policy", "y")
    assert (spec.columns.unit, spec.columns.time) == ("state", "year")
    result = did.estimate(frame, spec)
    assert result.estimand == "ATT" and "two-way" in result.method
    assert result.ci_low < truth["att"] < result.ci_high
    assert result.se_type == "clustered by state"
    namespace = {"df": frame}
    exec(result.code, namespace)  # noqa: S102  (the exported snippet, run as the user would)
    assert namespace["numbers"]["value"] == pytest.approx(result.value, abs=1e-6)
    assert namespace["numbers"]["ci_low"] == pytest.approx(result.ci_low, abs=1e-6)
    checks = {c.name: c for c in did.checks(frame, spec, result)}
    assert checks["pre_trends"].status == "pass"
    assert checks["placebo_period"].status == "pass"
    assert did.picture(frame, spec, result).startswith(b"\x89PNG")


def test_staggered_adoption_is_unbiased_where_twfe_is_not():
    frame, truth = panel_staggered(seed=5)
    spec = _spec(frame, "treated", "sales")
    result = did.estimate(frame, spec)
    assert result.estimand == "ATT (averaged over adoption cohorts)"
    assert result.ci_low < truth["att"] < result.ci_high
    twfe = result.details["twfe_value"]
    assert not result.ci_low < twfe < result.ci_high and abs(twfe - truth["att"]) > 1
    namespace = {"df": frame}
    exec(result.code, namespace)  # noqa: S102
    assert namespace["numbers"]["value"] == pytest.approx(result.value, abs=1e-6)


def test_diverging_trends_fail_the_pre_trend_and_placebo_checks():
    frame, _ = panel_single(seed=4)
    treated_unit = frame["state"] < "S060"
    frame["y"] += 0.8 * (frame["year"] - 2010) * treated_unit
    spec = _spec(frame, "policy", "y")
    result = did.estimate(frame, spec)
    checks = {c.name: c for c in did.checks(frame, spec, result)}
    assert checks["pre_trends"].status == "fail"
    assert checks["placebo_period"].status == "fail"
    assert "diverging" in checks["placebo_period"].reading
    # trends drift 0.8 a year: the largest pre-adoption change (with noise) is at least that
    trends = checks["parallel_trends_sensitivity"]
    assert trends.details["max_pre_change"] > 0.8
    assert "Rule: warn when" in trends.reading


def test_fixed_effects_match_linearmodels_on_wage_panel():
    """The union premium with worker and year effects (Vella and Verbeek's panel)."""
    data = wage_panel.load()
    reference = PanelOLS.from_formula(
        "lwage ~ union + EntityEffects + TimeEffects", data.set_index(["nr", "year"])
    ).fit(cov_type="clustered", cluster_entity=True)
    panel = pd.DataFrame(
        {
            "y": data["lwage"],
            "d": data["union"],
            "unit": data["nr"].astype(str),
            "period": data["year"],
            "cluster": data["nr"].astype(str),
            "cohort": 0.0,
        }
    )
    ours = portable.did_effect(panel)
    assert ours["value"] == pytest.approx(reference.params["union"], abs=1e-6)
    # same clustering; the two packages count degrees of freedom differently (pyfixest
    # does not charge worker effects nested in clusters), hence only a loose match
    assert ours["se"] == pytest.approx(reference.std_errors["union"], rel=0.1)
    spec = _spec(data, "union", "lwage", unit="nr", time="year")
    with pytest.raises(InputError, match="switches off again"):
        did.estimate(data, spec)


@pytest.mark.slow
def test_pyfixest_df_het_staggered_data():
    """pyfixest's bundled staggered-adoption panel: true effects are in te + te_dynamic."""
    path = importlib.resources.files("pyfixest").joinpath("did/data/df_het.csv")
    data = pd.read_csv(path)
    truth = float((data["te"] + data["te_dynamic"])[data["treat"]].mean())
    spec = _spec(data, "treat", "dep_var", unit="unit", time="year", cluster="state")
    result = did.estimate(data, spec)
    documented = pf.did2s(
        data,
        yname="dep_var",
        first_stage="~ 0 | unit + year",
        second_stage="~ i(treat)",
        treatment="treat",
        cluster="state",
    ).tidy()
    assert result.value == pytest.approx(documented["Estimate"].iloc[0], abs=1e-6)
    assert result.ci_low == pytest.approx(documented["2.5%"].iloc[0], abs=1e-6)
    assert result.ci_low < truth < result.ci_high
    assert not result.ci_low < result.details["twfe_value"] < result.ci_high


def test_bad_panels_get_one_line_reasons():
    frame, _ = panel_single(seed=1)
    spec = _spec(frame, "policy", "y")
    doubled = pd.concat([frame, frame.iloc[:7]])
    with pytest.raises(InputError, match=r"7 rows repeat a \(state, year\) pair") as exc:
        did.estimate(doubled, spec)
    assert "\n" not in str(exc.value)
    fixed = frame.assign(policy=(frame["state"] < "S060").astype(int))
    with pytest.raises(InputError, match="never changes within any unit"):
        did.estimate(fixed, spec)
    assert did.identify(fixed, spec).identified is False
    everyone = frame.assign(policy=(frame["year"] >= 2015).astype(int))
    with pytest.raises(InputError, match="no unit is left untreated"):
        did.estimate(everyone, spec)


def test_no_never_treated_units_uses_the_last_cohort_as_comparison():
    frame, _ = panel_staggered(seed=2)
    adopters = frame[frame.groupby("firm_id")["treated"].transform("max")].copy()
    spec = _spec(adopters, "treated", "sales")
    result = did.estimate(adopters, spec)
    assert result.details["never_treated_units"] == 0
    assert "not yet treated" in result.reading
    # the last cohort (period 9) only serves as comparison: effects of cohorts 3 and 6
    # observed before period 9
    truth = adopters[(adopters["quarter"] < 9) & adopters["treated"]]
    cohort = truth.groupby("firm_id")["quarter"].transform(
        lambda q: q.min()  # first treated quarter of the unit
    )
    effect = np.where(cohort == 3, 3.0, 2.0) + 0.5 * (truth["quarter"] - cohort)
    assert result.ci_low < effect.mean() < result.ci_high


def test_text_dates_and_a_covariate():
    frame, truth = panel_single(seed=6)
    rng = np.random.default_rng(6)
    frame["rainfall"] = rng.normal(0, 1, len(frame)) + 0.1 * (frame["year"] - 2010)
    frame["y"] += 1.5 * frame["rainfall"]
    frame["month"] = "Jun " + frame.pop("year").astype(str)
    spec = _spec(frame, "policy", "y")
    assert spec.columns.time == "month"
    spec.columns.covariates = ["rainfall"]
    result = did.estimate(frame, spec)
    assert result.details["cohorts"] == ["2015-06-01"]
    assert result.ci_low < truth["att"] < result.ci_high
    namespace = {"df": frame}
    exec(result.code, namespace)  # noqa: S102
    assert namespace["numbers"]["value"] == pytest.approx(result.value, abs=1e-6)
