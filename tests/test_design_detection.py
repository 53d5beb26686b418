"""Detection of panels and discontinuities over datasets of every design: each detector
fires on its own design only (the table in the README comes from this test, run with -s)."""

from linearmodels.datasets import wage_panel
from rdrobust import rdrobust_RDsenate

from causal_assistant.tools.data.intake import profile_table
from causal_assistant.tools.designs import REGISTRY, Design
from tests.design_data import DETECTION_CASES, fuzzy_rd

SEEDS = range(4)


def _detections():
    rows = []
    for kind, generator, treatment, outcome in DETECTION_CASES:
        for seed in SEEDS:
            frame, truth = generator(seed)
            rows.append((kind, seed, frame, treatment, outcome, truth))
    senate = rdrobust_RDsenate().assign(dem_win=lambda d: (d["margin"] >= 0).astype(int))
    rows.append(("sharp RD (rdrobust Senate)", "-", senate, "dem_win", "vote", {"cutoff": 0}))
    rows.append(
        ("panel, on and off (wage_panel union)", "-", wage_panel.load(), "union", "lwage", {})
    )
    for kind, seed, frame, treatment, outcome, truth in rows:
        profile = profile_table(frame)
        found = {
            name: REGISTRY[name].detect(frame, profile, treatment, outcome)
            for name in ("did", "rdd")
        }
        yield kind, seed, truth, found


def test_each_detector_fires_on_its_own_design_only():
    lines = ["| dataset | seed | did.detect | rdd.detect |", "|---|---|---|---|"]
    for kind, seed, truth, found in _detections():
        did, rdd = found["did"], found["rdd"]
        assert (did is not None) == kind.startswith("panel "), (kind, seed, did)
        assert (rdd is not None) == ("RD" in kind), (kind, seed, rdd)
        if did is not None:
            assert did.facts["staggered"] == ("staggered" in kind)
            assert did.strength == "strong"
        if rdd is not None:
            assert rdd.facts["kind"] == ("sharp" if "sharp" in kind else "fuzzy")
            assert rdd.columns.cutoff == truth["cutoff"]
        lines.append(f"| {kind} | {seed} | {_cell(did)} | {_cell(rdd)} |")
    assert len(lines) - 2 >= 30
    print("\n".join(lines))


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
