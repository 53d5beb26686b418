"""Study designs on the protocol: detection, RCT and IV estimates against known truths and
a published result, the reproducing snippets, and bad input."""

import numpy as np
import pandas as pd
import pytest
from linearmodels.datasets import mroz
from linearmodels.iv import IV2SLS

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.designs import (
    DesignColumns,
    DesignKind,
    DesignSpec,
    load_designs,
)
from causal_assistant.tools.designs.choice import choose_design, detect_designs
from causal_assistant.tools.designs.defining import (
    defines_treatment,
    treatment_defining_columns,
)
from causal_assistant.tools.designs.iv import conditioning_set
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.results import WarningCode
from tests.design_data import LATE, RCT_EFFECT, confounded, instrumented, randomised

REGISTRY = load_designs()
RCT, IV = REGISTRY[DesignKind.RCT], REGISTRY[DesignKind.IV]
IV_GRAPH = CausalGraph(
    nodes=["region", "offer", "treat", "outcome", "u"],
    edges=CausalGraph.from_edges(
        [
            ("region", "offer"),
            ("region", "outcome"),
            ("offer", "treat"),
            ("treat", "outcome"),
            ("u", "treat"),
            ("u", "outcome"),
        ],
        source="user",
    ).edges,
    unobserved=["u"],
)


def chosen(frame, context=None, graph=None, **flags):
    evidence, _ = detect_designs(frame, profile_table(frame), "treat", "outcome", context, graph)
    return choose_design(evidence, flags.pop("design", None), DesignColumns(**flags))


def settled(design, frame, spec):
    """The spec with the columns identification settled on, as the agent passes it on."""
    ident = design.identify(frame, spec)
    return ident, spec.model_copy(update={"columns": ident.columns or spec.columns})


@pytest.mark.parametrize("seed", range(5))
def test_detection_table(seed):
    """Experiments are found as such, observational and IV data are not; the user's
    instrument and the graph's make an IV design."""
    assert chosen(randomised(seed=seed)).kind == DesignKind.RCT
    assert chosen(confounded(seed=seed)).kind == DesignKind.BACKDOOR
    assert chosen(instrumented(seed=seed)).kind == DesignKind.BACKDOOR
    assert chosen(instrumented(seed=seed), instruments=["offer"]).kind == DesignKind.IV
    by_graph = chosen(instrumented(seed=seed), graph=IV_GRAPH)
    assert by_graph.kind == DesignKind.IV
    assert by_graph.columns.instruments == ["offer"]
    assert by_graph.columns.covariates == ["region"]


def test_context_says_randomised_and_negations():
    frame = confounded()
    said = chosen(frame, context="Participants were randomly assigned to the programme.")
    assert (said.kind, said.strength, said.source) == (DesignKind.RCT, "strong", "context")
    assert any(w.code == WarningCode.DESIGN_DETECTED for w in said.warnings)
    assert chosen(frame, context="This was not a randomised study.").kind == "backdoor"
    assert chosen(frame, context="A natural experiment in 1990.").kind == "backdoor"


def test_user_override_and_unknown_design():
    frame = randomised()
    forced = chosen(frame, design="backdoor")
    assert (forced.kind, forced.source) == (DesignKind.BACKDOOR, "user")
    assert "Also seen" in forced.why
    with pytest.raises(InputError, match="choose one of"):
        chosen(frame, design="synthetic_control")


def test_defining_columns():
    rng = np.random.default_rng(1)
    x = pd.Series(rng.normal(size=200))
    treat = (x > 0.3).astype(int)
    assert defines_treatment(x, treat)
    assert not defines_treatment(pd.Series(rng.normal(size=200)), treat)
    amount = treat * rng.choice([10, 20], 200)
    frame = pd.DataFrame({"x": x, "amount": amount, "noise": rng.normal(size=200), "t": treat})
    assert treatment_defining_columns(frame, "t") == ["x", "amount"]


@pytest.mark.parametrize("target", ["ate", "att"])
def test_rct_estimate_covers_truth_and_skips_defining_column(target):
    frame = randomised(seed=2)
    spec = DesignSpec(kind="rct", treatment="treat", outcome="outcome", target=target)
    ident, spec = settled(RCT, frame, spec)
    assert "incentive" not in spec.columns.covariates
    assert set(spec.columns.covariates) == {"age", "score", "region"}
    assert WarningCode.TREATMENT_DEFINING_COLUMN in {w.code for w in ident.warnings}
    estimate = RCT.estimate(frame, spec)
    assert estimate.estimand == target.upper()
    assert estimate.ci_low < RCT_EFFECT < estimate.ci_high
    plain = estimate.details["alternatives"][0]
    assert plain["method"] == "rct.difference_in_means"
    assert estimate.se < plain["se"]  # adjustment for outcome predictors buys precision
    (balance,) = RCT.checks(frame, spec, estimate)
    assert balance.status == "pass"


def test_rct_coverage_over_seeds():
    covered = 0
    for seed in range(20):
        frame = randomised(n=400, seed=100 + seed)
        _, spec = settled(RCT, frame, DesignSpec(kind="rct", treatment="treat", outcome="outcome"))
        e = RCT.estimate(frame, spec)
        covered += e.ci_low < RCT_EFFECT < e.ci_high
    assert covered >= 17  # 95% intervals: 19 of 20 expected; 17 allows binomial noise


def test_rct_balance_fails_on_confounded_data():
    frame = confounded()
    spec = DesignSpec(
        kind="rct",
        treatment="treat",
        outcome="outcome",
        columns=DesignColumns(covariates=["age", "income"]),
    )
    ident, spec = settled(RCT, frame, spec)
    (balance,) = RCT.checks(frame, spec, RCT.estimate(frame, spec))
    assert balance.status == "fail"


def test_mroz_2sls_reproduces_wooldridge():
    """Wooldridge, Example 15.5: 2SLS return to education 0.0614 (se 0.0314)."""
    frame = mroz.load()
    working = frame.dropna(subset=["lwage"])
    published = IV2SLS.from_formula(
        "lwage ~ 1 + exper + expersq + [educ ~ motheduc + fatheduc]", working
    ).fit(cov_type="unadjusted", debiased=True)
    assert published.params["educ"] == pytest.approx(0.0614, abs=5e-5)
    assert published.std_errors["educ"] == pytest.approx(0.0314, abs=5e-5)
    spec = DesignSpec(
        kind="iv",
        treatment="educ",
        outcome="lwage",
        columns=DesignColumns(
            instruments=["motheduc", "fatheduc"], covariates=["exper", "expersq"]
        ),
    )
    ident, spec = settled(IV, frame, spec)
    assert ident.estimand == "IV estimand (linear)"
    estimate = IV.estimate(frame, spec)
    assert estimate.value == pytest.approx(0.0614, abs=1e-3)
    assert estimate.n_rows == 428
    robust = IV2SLS.from_formula(
        "lwage ~ 1 + exper + expersq + [educ ~ motheduc + fatheduc]", working
    ).fit(cov_type="robust")
    assert estimate.se == pytest.approx(robust.std_errors["educ"], rel=1e-9)
    checks = {c.name: c for c in IV.checks(frame, spec, estimate)}
    assert checks["first_stage_strength"].status == "pass"
    assert checks["overidentification"].status == "pass"  # Wooldridge: Sargan p = .54


def test_conditional_instrument_recovers_late():
    frame = instrumented(seed=3)
    assert conditioning_set(IV_GRAPH, "treat", "outcome", ["offer"]) == ["region"]
    spec = DesignSpec(
        kind="iv",
        treatment="treat",
        outcome="outcome",
        columns=DesignColumns(instruments=["offer"]),
        graph=IV_GRAPH.model_dump(),
    )
    ident, spec = settled(IV, frame, spec)
    assert ident.estimand == "LATE for compliers"
    assert spec.columns.covariates == ["region"]
    estimate = IV.estimate(frame, spec)
    assert estimate.ci_low < LATE < estimate.ci_high
    unconditional = IV.estimate(
        frame, spec.model_copy(update={"columns": DesignColumns(instruments=["offer"])})
    )
    assert not unconditional.ci_low < LATE < unconditional.ci_high  # region matters


def test_instrument_copy_of_treatment_is_refused():
    frame = instrumented()
    frame["offer_copy"] = frame["treat"]
    spec = DesignSpec(
        kind="iv",
        treatment="treat",
        outcome="outcome",
        columns=DesignColumns(instruments=["offer_copy"]),
    )
    with pytest.raises(InputError, match="copy of the treatment"):
        IV.identify(frame, spec)


def test_weak_instrument_switches_to_liml():
    rng = np.random.default_rng(5)
    n = 500
    z = rng.normal(size=n)
    u = rng.normal(size=n)
    t = 0.05 * z + u + rng.normal(size=n)
    frame = pd.DataFrame({"z": z, "treat": t, "outcome": t + u + rng.normal(size=n)})
    spec = DesignSpec(
        kind="iv", treatment="treat", outcome="outcome", columns=DesignColumns(instruments=["z"])
    )
    _, spec = settled(IV, frame, spec)
    estimate = IV.estimate(frame, spec)
    assert estimate.method == "iv.liml"
    assert WarningCode.WEAK_INSTRUMENT in {w.code for w in estimate.warnings}
    strength = IV.checks(frame, spec, estimate)[0]
    assert strength.status in ("warn", "fail")


@pytest.mark.parametrize("kind", ["rct", "iv"])
def test_code_reproduces_estimate(kind):
    frame = randomised() if kind == "rct" else instrumented()
    design = REGISTRY[DesignKind(kind)]
    columns = (
        DesignColumns(instruments=["offer"], covariates=["region"])
        if kind == "iv"
        else DesignColumns()
    )
    _, spec = settled(
        design, frame, DesignSpec(kind=kind, treatment="treat", outcome="outcome", columns=columns)
    )
    namespace = {"df": frame.copy()}
    exec(design.code(spec), namespace)  # noqa: S102 - the snippet the export runs
    assert namespace["numbers"]["value"] == pytest.approx(
        design.estimate(frame, spec).value, abs=1e-9
    )


def test_backdoor_wrapper_gives_todays_numbers():
    """The backdoor design calls today's identification and estimation as they are."""
    from causal_assistant.tools.data.modeldata import build_model_data
    from causal_assistant.tools.estimate.estimation import estimate_effect
    from causal_assistant.tools.identify.identification import identify_effect

    frame = confounded(n=400)
    graph = CausalGraph.from_edges(
        [
            ("age", "treat"),
            ("income", "treat"),
            ("age", "outcome"),
            ("income", "outcome"),
            ("treat", "outcome"),
        ],
        source="user",
    )
    data = build_model_data(frame, graph, "treat", "outcome")
    today = estimate_effect(data, identify_effect(data), seed=0)
    spec = DesignSpec(
        kind="backdoor", treatment="treat", outcome="outcome", graph=graph.model_dump()
    )
    backdoor = REGISTRY[DesignKind.BACKDOOR]
    ident, spec = settled(backdoor, frame, spec)
    assert ident.identified and set(spec.columns.covariates) == {"age", "income"}
    wrapped = backdoor.estimate(frame, spec)
    assert wrapped.value == today.estimate.value
    assert (wrapped.ci_low, wrapped.ci_high) == (today.estimate.ci_low, today.estimate.ci_high)
    assert "estimate_with_ci" in wrapped.code and "def estimate_with_ci" in wrapped.code


def test_context_names_an_instrument():
    said = chosen(instrumented(n=800), context="The offer letter serves as an instrument: offer.")
    assert (said.kind, said.source) == (DesignKind.IV, "context")
    assert said.columns.instruments == ["offer"]
