"""Detection of panels and discontinuities over datasets of every design: each detector
fires on its own design only (the table in the README comes from this test, run with -s)."""

import importlib.resources

import pandas as pd
from linearmodels.datasets import wage_panel
from rdrobust import rdrobust_RDsenate

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.designs import Design, load_designs
from tests.design_data import DETECTION_CASES, fuzzy_rd

REGISTRY = load_designs()

SEEDS = range(4)


def _generated():
    for kind, generator, treatment, outcome in DETECTION_CASES:
        for seed in SEEDS:
            frame, truth = generator(seed)
            yield kind, seed, frame, treatment, outcome, truth


def _packaged():
    senate = rdrobust_RDsenate().assign(dem_win=lambda d: (d["margin"] >= 0).astype(int))
    yield "sharp RD (rdrobust Senate)", "-", senate, "dem_win", "vote", {"cutoff": 0}
    yield "panel, on and off (wage_panel union)", "-", wage_panel.load(), "union", "lwage", {}
    het = pd.read_csv(importlib.resources.files("pyfixest").joinpath("did/data/df_het.csv"))
    yield "panel staggered (pyfixest df_het)", "-", het, "treat", "dep_var", {}


def _check_table(rows) -> int:
    """Assert each detector fires on its own design only; print the table; count rows."""
    lines = ["| dataset | seed | did.detect | rdd.detect |", "|---|---|---|---|"]
    for kind, seed, frame, treatment, outcome, truth in rows:
        profile = profile_table(frame)
        did = REGISTRY["did"].detect(frame, profile, treatment, outcome)
        rdd = REGISTRY["rdd"].detect(frame, profile, treatment, outcome)
        assert (did is not None) == kind.startswith("panel "), (kind, seed, did)
        assert (rdd is not None) == ("RD" in kind), (kind, seed, rdd)
        if did is not None:
            assert did.facts["staggered"] == ("staggered" in kind)
            assert did.strength == "strong"
        if rdd is not None:
            assert rdd.facts["kind"] == ("sharp" if "sharp" in kind else "fuzzy")
            assert rdd.columns.cutoff == truth["cutoff"]
        lines.append(f"| {kind} | {seed} | {_cell(did)} | {_cell(rdd)} |")
    print("\n".join(lines))
    return len(lines) - 2


def test_each_detector_fires_on_its_own_design_only():
    assert _check_table(_generated()) >= 30


def test_packaged_datasets_are_detected_as_their_design():
    assert _check_table(_packaged()) == 3


def _cell(evidence) -> str:
    if evidence is None:
        return "-"
    columns = evidence.columns
    if evidence.kind == "did":
        timing = "staggered" if evidence.facts["staggered"] else "one date"
        return f"{evidence.strength}: {columns.unit} x {columns.time}, {timing}"
    return (
        f"{evidence.strength}: {evidence.facts['kind']} at {columns.running} = {columns.cutoff:g}"
    )


def test_designs_follow_the_protocol_and_context_raises_strength():
    for name in ("did", "rdd"):
        assert isinstance(REGISTRY[name], Design)
    frame, _ = fuzzy_rd(seed=0)
    profile = profile_table(frame)
    plain = REGISTRY["rdd"].detect(frame, profile, "enrolled", "earnings")
    told = REGISTRY["rdd"].detect(
        frame, profile, "enrolled", "earnings", "Eligibility requires an income score above 0."
    )
    assert (plain.strength, told.strength) == ("moderate", "strong")
    assert "cutoff or threshold" in told.reading
