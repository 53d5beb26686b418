"""Typed reads of the state (agent.views) for the CLI and the app."""

import pytest
from pydantic import ValidationError

from causal_assistant.agent.views import AnalysisView


def test_an_empty_state_reads_as_nothing_yet() -> None:
    view = AnalysisView.of({})
    assert not view.has_dataset
    assert view.estimate is None and view.bounds is None and view.graph is None
    assert view.refutations == [] and view.timings_s == {}


def test_a_finished_state_reads_as_typed_fields() -> None:
    state = {
        "dataset": {"path": "x.csv", "hash": "h"},
        "treatment": "treat",
        "outcome": "re78",
        "graph": {
            "nodes": ["age", "treat", "re78"],
            "edges": [{"cause": "age", "effect": "treat"}, {"cause": "treat", "effect": "re78"}],
        },
        "study_design": {"kind": "backdoor"},
        "estimation": {
            "estimate": {
                "method": "backdoor.linear_regression",
                "value": 1.5,
                "ci_low": 0.5,
                "ci_high": 2.5,
                "label": "regression",
            }
        },
        "refutation": {
            "refutations": [
                {"name": "placebo_treatment", "status": "pass", "new_effect": 0.0},
                {"name": "data_subset", "status": "fail", "new_effect": 9.0},
            ]
        },
        "timings_s": {"intake": 0.25, "estimation": 1.0},
    }
    view = AnalysisView.of(state)
    assert view.has_dataset and view.design_kind == "backdoor"
    assert view.graph.edges[0].cause == "age" and view.graph.nodes == ["age", "treat", "re78"]
    assert view.estimate.value == 1.5 and view.estimate.ci_high == 2.5
    assert view.failed_refuters == ["data_subset"]
    assert sum(view.timings_s.values()) == 1.25


def test_a_malformed_estimate_is_refused() -> None:
    with pytest.raises(ValidationError):
        AnalysisView.of({"estimation": {"estimate": {"value": 1.0}}})  # no method
