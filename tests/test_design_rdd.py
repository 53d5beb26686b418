"""Regression discontinuity against rdrobust's published Senate example and known jumps."""

import numpy as np
import pandas as pd
import pytest
from rdrobust import rdrobust, rdrobust_RDsenate

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.designs import DesignColumns, DesignSpec, load_designs
from causal_assistant.tools.errors import InputError
from tests.design_data import fuzzy_rd, sharp_rd

REGISTRY = load_designs()

rdd = REGISTRY["rdd"]


def _detected_spec(frame, treatment, outcome, covariates=()):
    evidence = rdd.detect(frame, profile_table(frame), treatment, outcome)
    columns = evidence.columns.model_copy(update={"covariates": list(covariates)})
    return evidence, DesignSpec(kind="rdd", treatment=treatment, outcome=outcome, columns=columns)


def test_senate_reproduces_rdrobust_and_its_published_estimate():
    """Cattaneo, Frandsen and Titiunik's Senate data: incumbency advantage of 7.414
    percentage points (conventional), robust 95% interval [4.094, 10.919]."""
    data = rdrobust_RDsenate().assign(dem_win=lambda d: (d["margin"] >= 0).astype(int))
    evidence, spec = _detected_spec(data, "dem_win", "vote", ["demvoteshlag1", "population"])
    assert evidence.facts["kind"] == "sharp" and evidence.strength == "strong"
    assert (spec.columns.running, spec.columns.cutoff) == ("margin", 0.0)
    result = rdd.estimate(data, spec)
    direct = rdrobust(data["vote"], data["margin"])
    assert result.value == pytest.approx(direct.coef.loc["Conventional"].iloc[0], abs=1e-6)
    assert result.ci_low == pytest.approx(direct.ci.loc["Robust", "CI Lower"], abs=1e-6)
    assert result.ci_high == pytest.approx(direct.ci.loc["Robust", "CI Upper"], abs=1e-6)
    assert result.value == pytest.approx(7.414, abs=1e-3)
    assert (result.ci_low, result.ci_high) == pytest.approx((4.094, 10.919), abs=1e-3)
    assert result.estimand == "effect at the cutoff"
    namespace = {"df": data}
    exec(result.code, namespace)  # noqa: S102  (the exported snippet, run as the user would)
    assert namespace["numbers"]["value"] == pytest.approx(result.value, abs=1e-6)
    assert namespace["numbers"]["ci_high"] == pytest.approx(result.ci_high, abs=1e-6)
    checks = {c.name: c for c in rdd.checks(data, spec, result)}
    # rddensity on the Senate margin: T = -0.875, p = 0.381 (no manipulation)
    assert checks["manipulation_test"].p_value == pytest.approx(0.3814, abs=1e-3)
    assert checks["manipulation_test"].status == "pass"
    assert checks["covariate_continuity"].status == "pass"
    assert checks["bandwidth_sensitivity"].status == "pass"


def test_sharp_jump_is_covered_and_checks_pass():
    frame, truth = sharp_rd(seed=2)
    evidence, spec = _detected_spec(frame, "award", "gpa", ["age"])
    assert spec.columns.cutoff == truth["cutoff"]
    result = rdd.estimate(frame, spec)
    assert result.ci_low < truth["effect"] < result.ci_high
    checks = {c.name: c.status for c in rdd.checks(frame, spec, result)}
    assert set(checks.values()) == {"pass"}, checks
    assert rdd.picture(frame, spec, result).startswith(b"\x89PNG")


def test_treatment_below_the_cutoff_keeps_the_effect_sign():
    frame, truth = sharp_rd(seed=3)
    frame["award"] = 1 - frame["award"]
    frame["gpa"] += 2 * truth["effect"] * (frame["award"] - 0.5)  # effect of award: +3
    _, spec = _detected_spec(frame, "award", "gpa")
    result = rdd.estimate(frame, spec)
    assert result.details["side"] == -1
    assert result.ci_low < truth["effect"] < result.ci_high


def test_fuzzy_late_is_covered_and_code_reproduces_it():
    frame, truth = fuzzy_rd(seed=4)
    evidence, spec = _detected_spec(frame, "enrolled", "earnings")
    assert evidence.facts["kind"] == "fuzzy" and spec.columns.cutoff == truth["cutoff"]
    result = rdd.estimate(frame, spec)
    assert result.estimand == "LATE at the cutoff for compliers"
    assert result.ci_low < truth["effect"] < result.ci_high
    assert result.details["first_stage"] == pytest.approx(0.6, abs=0.15)
    namespace = {"df": frame}
    exec(result.code, namespace)  # noqa: S102
    assert namespace["numbers"]["value"] == pytest.approx(result.value, abs=1e-6)


@pytest.mark.parametrize(
    ("generator", "treatment", "outcome"),
    [
        (sharp_rd, "award", "gpa"),
        (fuzzy_rd, "enrolled", "earnings"),
    ],
)
def test_intervals_cover_in_repeated_samples(generator, treatment, outcome):
    covered = 0
    for seed in range(20):
        frame, truth = generator(seed=100 + seed, n=1000)
        spec = DesignSpec(
            kind="rdd",
            treatment=treatment,
            outcome=outcome,
            columns=DesignColumns(running=frame.columns[0], cutoff=truth["cutoff"]),
        )
        result = rdd.estimate(frame, spec)
        covered += result.ci_low < truth["effect"] < result.ci_high
    assert covered >= 17  # nominal 95%; 17 of 20 or more happens with probability 0.98


def test_sorting_and_imbalance_fail_their_checks():
    frame, truth = sharp_rd(seed=5)
    rng = np.random.default_rng(5)
    # twice as many units again pile up within 3 points above the cutoff; age jumps too
    near = frame[(frame["score"] >= 50) & (frame["score"] < 53)]
    piled = pd.concat([near, near]).assign(score=lambda d: 50 + rng.uniform(0, 3, len(d)))
    frame = pd.concat([frame, piled], ignore_index=True)
    frame["award"] = (frame["score"] >= 50).astype(int)
    frame["age"] += 2.0 * frame["award"]
    _, spec = _detected_spec(frame, "award", "gpa", ["age"])
    result = rdd.estimate(frame, spec)
    checks = {c.name: c for c in rdd.checks(frame, spec, result)}
    assert checks["manipulation_test"].status == "fail"
    assert checks["covariate_continuity"].status == "fail"
    assert "jumps at the cutoff" in checks["covariate_continuity"].reading


def test_a_cutoff_with_no_data_on_one_side_gets_a_one_line_reason():
    frame, _ = sharp_rd(seed=1)
    spec = DesignSpec(
        kind="rdd",
        treatment="award",
        outcome="gpa",
        columns=DesignColumns(running="score", cutoff=150),
    )
    with pytest.raises(InputError, match=r"Only 0 rows of 'score' lie at or above the cutoff 150"):
        rdd.estimate(frame, spec)
    assert rdd.identify(frame, spec).identified is False
