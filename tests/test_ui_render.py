"""Unit tests of ``ui/render.py``: what the chat shows, built from plain state, no browser.

Also the plot functions the chat uses from ``tools/plots.py`` (they must return PNG bytes
and refuse empty input) and the upload rules the app applies before any analysis runs.
"""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.estimate import overlap
from causal_assistant.tools.export import plots
from causal_assistant.ui import render

PNG = b"\x89PNG\r\n\x1a\n"

GRAPH = {
    "nodes": ["age", "treat", "earnings_after", "region"],
    "edges": [
        {"cause": "age", "effect": "treat", "source": "data", "note": "partial corr +0.13"},
        {"cause": "age", "effect": "earnings_after", "source": "heuristic", "note": "a | b"},
        {"cause": "treat", "effect": "earnings_after", "source": "default", "note": ""},
        {"cause": "region", "effect": "earnings_after", "source": "data", "note": ""},
    ],
    "unobserved": [],
    "post_treatment": [],
}
ROLES = [
    {"name": "treat", "role": "treatment", "source": "user", "evidence": "chosen"},
    {"name": "earnings_after", "role": "outcome", "source": "user", "evidence": "chosen"},
    {"name": "age", "role": "confounder", "source": "data", "evidence": "tied to both"},
    {"name": "region", "role": "outcome_predictor", "source": "data", "evidence": "outcome"},
]
PROFILE = {
    "n_rows": 400,
    "n_columns": 3,
    "profiled_rows": 400,
    "reading": "400 rows and 3 columns.",
    "columns": [
        {
            "name": "age",
            "kind": "count",
            "dtype": "int64",
            "missing_share": 0.0,
            "n_unique": 42,
            "mean": 39.3,
            "min": 18.0,
            "max": 59.0,
            "levels": [],
        },
        {
            "name": "region",
            "kind": "categorical",
            "dtype": "object",
            "missing_share": 0.25,
            "n_unique": 4,
            "levels": ["north", "south", "east", "west"],
        },
        {
            "name": "participant id",
            "kind": "identifier",
            "dtype": "object",
            "missing_share": 0.0,
            "n_unique": 400,
            "levels": [],
        },
    ],
}
ESTIMATION = {
    "reading": "By linear regression adjustment, being treated changes earnings_after by 1520.",
    "estimate": {
        "method": "backdoor.linear_regression",
        "label": "linear regression adjustment",
        "target": "ate",
        "value": 1519.6515209856407,
        "ci_low": 1371.5,
        "ci_high": 1656.6,
    },
    "alternatives": [
        {
            "method": "backdoor.propensity_score_weighting",
            "label": "inverse propensity weighting",
            "target": "ate",
            "value": 1368.2,
            "ci_low": None,
            "ci_high": None,
        }
    ],
}
REFUTATION = {
    "reading": "One check failed.",
    "refutations": [
        {
            "name": "placebo_treatment",
            "status": "pass",
            "new_effect": 4.2,
            "p_value": 0.81,
            "reading": "no effect of a fake treatment",
            "details": {"effects": [1.0, -2.0, 3.5], "reference": 0.0},
        },
        {
            "name": "data_subset",
            "status": "fail",
            "new_effect": 900.0,
            "p_value": 0.01,
            "reading": "the estimate moved",
            "details": {"effects": [1.0], "reference": 1519.0},
        },
    ],
}


def _state(**extra) -> dict:
    return {
        "treatment": "treat",
        "outcome": "earnings_after",
        "graph": GRAPH,
        "roles": ROLES,
        "dataset": {"name": "training.csv", "profile": PROFILE},
        **extra,
    }


def _result(**extra) -> dict:
    return {
        "treatment": "treat",
        "outcome": "earnings_after",
        "estimate": ESTIMATION["estimate"],
        "alternatives": ESTIMATION["alternatives"],
        "identification": {"estimand": "backdoor", "adjustment_set": ["age"]},
        "warnings": [],
        **extra,
    }


# --------------------------------------------------------------------------- tables


def test_markdown_table_escapes_pipes_and_says_how_many_rows_are_hidden():
    rows = [{"a": f"x|{i}", "b": i} for i in range(5)]
    table = render.markdown_table(rows, max_rows=3)
    lines = table.splitlines()
    assert lines[0] == "| a | b |"
    assert "x\\|0" in table, "a pipe inside a cell must not split the column"
    assert "x\\|3" not in table
    assert "2 more rows not shown" in table


def test_markdown_table_of_nothing_is_empty():
    assert render.markdown_table([]) == ""


def test_number_is_short_and_blank_for_missing():
    assert render.number(1519.6515209856407) == "1520"
    assert render.number(None) == ""
    assert render.number(float("nan")) == ""
    assert render.number(7) == "7"


def test_exact_is_the_repr_the_script_prints():
    value = 1519.6515209856407
    assert float(render.exact(value)) == value
    assert render.exact(value) == repr(value)


def test_profile_table_has_a_row_per_column_with_kind_missing_and_summary():
    table = render.profile_table(PROFILE)
    assert "| `age` | count | 0% | 42 | mean 39.3, range 18–59 |" in table
    assert "25%" in table, "missing share of region"
    assert "north, south, east, west" in table
    summary = render.dataset_summary({"name": "training.csv", "profile": PROFILE})
    assert summary.startswith("**training.csv**: 400 rows × 3 columns")


def test_edge_table_shows_every_edge_with_its_source():
    table = render.edge_table(GRAPH)
    for edge in GRAPH["edges"]:
        assert f"| {edge['cause']} | {edge['effect']} | {edge['source']} |" in table
    assert "a \\| b" in table
    marked = render.edge_table({**GRAPH, "unobserved": ["U"], "post_treatment": ["job"]})
    assert "Unobserved: U" in marked and "Post-treatment: job" in marked


def test_roles_summary_groups_variables_by_role():
    summary = render.roles_summary(ROLES)
    assert "- Confounders: age" in summary
    assert "- Outcome predictors: region" in summary
    assert "treatment" not in summary.lower(), "treatment and outcome are said elsewhere"


def test_approval_markdown_names_the_question_the_provenance_link_and_the_prompt():
    pending = {"kind": "approve_graph", "question": "Does this graph match what you know?"}
    text = render.approval_markdown(_state(), pending)
    assert "**treat**" in text and "**earnings_after**" in text
    assert "4 variables, 4 edges" in text
    assert render.PROVENANCE in text, "the side panel is linked by its element name"
    assert text.endswith("Does this graph match what you know?")


def test_graph_picture_is_a_png_of_the_state_graph():
    picture = render.graph_picture(_state())
    assert picture is not None and picture.png.startswith(PNG)
    assert render.graph_picture({}) is None


# --------------------------------------------------------------------------- stages


def test_stage_view_of_intake_shows_the_file_and_the_profile():
    update = {
        "dataset": {"name": "training.csv", "profile": PROFILE},
        "messages": [{"role": "assistant", "content": "400 rows and 3 columns."}],
    }
    view = render.stage_view("intake", update, {"data_path": "/tmp/up/training.csv"})
    assert view.title == "Intake"
    assert view.input == "File `training.csv`"
    assert "| `age` |" in view.output


def test_stage_view_of_modeling_draws_the_graph_and_lists_edges():
    update = {
        "graph": GRAPH,
        "roles": ROLES,
        "messages": [{"role": "assistant", "content": "Roles come from the data."}],
    }
    view = render.stage_view("modeling", update, _state(graph=None, roles=None))
    assert view.output.startswith("Roles come from the data.")
    assert "| age | treat | data |" in view.output
    assert len(view.pictures) == 1 and view.pictures[0].png.startswith(PNG)


def test_stage_view_of_estimation_tabulates_primary_and_alternatives():
    state = _state(identification={"estimand": "backdoor", "adjustment_set": ["age"]}, target="ate")
    view = render.stage_view("estimation", {"estimation": ESTIMATION, "messages": []}, state)
    assert view.input == "Estimand backdoor, target ATE"
    assert "| linear regression adjustment | primary | ATE | 1520 | 1372 to 1657 |" in view.output
    assert "| inverse propensity weighting | alternative | ATE | 1368 |  |" in view.output


def test_stage_view_marks_a_stop_and_skips_silent_bookkeeping():
    view = render.stage_view(
        "question", {"error": "Could not tell which column is the treatment."}, {"question": "hm"}
    )
    assert "**Stopped:** Could not tell" in view.output
    assert render.stage_view("approve_graph", {}, {}) is None


def test_refutations_table_reads_status_in_words():
    table = render.refutations_table(REFUTATION)
    assert "| placebo treatment | pass | 4.2 | 0.81 |" in table
    assert "**FAIL**" in table


def test_progress_markdown_draws_one_bounded_bar_per_refuter():
    text = render.progress_markdown({"placebo_treatment": 0.5, "bootstrap": 1.7}, width=10)
    assert "`█████░░░░░`  50% placebo treatment" in text
    assert "`██████████` 100% bootstrap" in text, "fractions are clipped to [0, 1]"
    assert render.progress_markdown({}) == "Running the refuters…"


# --------------------------------------------------------------------------- answer


def test_final_answer_leads_with_number_naive_and_the_caveats_that_matter():
    warnings = [
        {"code": "poor_overlap", "message": "12% of units have extreme scores."},
        {"code": "excluded_column", "message": "'id' left out: identifier column."},
    ]
    naive = {"value": 2301.0, "ci_low": 2000.0, "ci_high": 2600.0}
    text = render.final_answer(
        _state(estimation=ESTIMATION, refutation=REFUTATION),
        _result(warnings=warnings, naive=naive),
    )
    head, details = text.split("**Details**")
    assert head.index("**1520 units of earnings_after**, 95% interval 1372 to 1657") < head.index(
        "Naive comparison, adjusting for nothing: 2301 (95% interval 2000 to 2600)"
    )
    assert "- **data subset check failed**: the estimate moved" in head
    assert "- **poor overlap**: 12% of units have extreme scores." in head
    assert "identifier column" not in head, "bookkeeping notes go below the details"
    assert "identifier column" in details and text.count("12% of units") == 1
    assert ESTIMATION["reading"] in details
    assert "Exact value: `1519.6515209856407`" in details
    assert "adjusting for age" in details
    assert "**Stress tests**" in details and "data subset" in details


def test_final_answer_without_warnings_still_states_the_core_assumption():
    text = render.final_answer(_state(estimation=ESTIMATION), _result())
    assert "no unmeasured common cause" in text


def test_approval_lists_assumptions_adjustment_and_every_decisive_warning():
    critique = {"checks": {"tests": [{"conflict": True}, {"conflict": False}]}}
    overlap = "80% of units have a propensity score below 0.05 or above 0.95."
    state = _state(
        critique=critique,
        stage_warnings={
            "critique": [{"code": "poor_overlap", "message": overlap}],
            "modeling": [{"code": "excluded_column", "message": "'id' left out"}],
        },
    )
    text = render.approval_markdown(state, {"kind": "approve_graph", "question": "Approve?"})
    assert "**Adjustment set:** age, region" in text
    assert "No hidden common cause" in text and "age, region" in text
    assert "Overlap" in text and "No interference" in text
    assert "1 of 2 tested independences the graph implies is contradicted by the data" in text
    assert overlap in text
    assert "'id' left out" not in text
    assert text.index(overlap) < text.index("Approve?")


def test_an_edit_redraws_roles_and_adjustment_and_says_what_changed():
    before = _state()
    edges = [e for e in GRAPH["edges"] if (e["cause"], e["effect"]) != ("age", "treat")]
    after = _state(graph={**GRAPH, "edges": edges, "post_treatment": ["age"]})
    text = render.approval_markdown(after, {"question": "Approve?"}, before)
    assert text.startswith("**Your edit:** removed the edge age → treat; marked age as")
    assert "marked age as post-treatment" in text
    assert "age is now post-treatment (was a confounder)" in text
    assert "Adjustment set now: region (was age, region)" in text
    assert "Confounders: age" not in text
    marked = _state(graph={**GRAPH, "post_treatment": ["region"]})
    text = render.approval_markdown(marked, None, _state())
    assert "marked region as post-treatment" in text
    assert "Measured after the treatment (not adjusted for): region" in text
    assert not render.edit_summary(_state(), _state()), "no edit, nothing to report"


def test_buttons_follow_what_the_analysis_waits_for():
    names = [b.name for b in render.buttons_for(_state(), {"kind": "approve_graph"})]
    assert names == ["approve", "edit_graph"]
    names = [
        b.name
        for b in render.buttons_for(_state(estimation=ESTIMATION), {"kind": "review_refutation"})
    ]
    assert names == ["accept", "respecify", "export"]
    assert [b.name for b in render.buttons_for(_state(estimation=ESTIMATION), None)] == ["export"]
    assert render.buttons_for(_state(), None) == []


def test_pending_prompt_names_the_failed_checks():
    text = render.pending_prompt(
        {"kind": "review_refutation", "failed": ["data_subset"], "question": "Accept?"}
    )
    assert "data_subset" in text and text.endswith("Accept?")
    assert render.pending_prompt(None) == ""


def test_edit_help_uses_an_edge_of_this_graph():
    assert "`remove edge age -> treat`" in render.edit_help(_state())
    assert "add edge" in render.edit_help({})


# --------------------------------------------------------------------------- replies


def test_new_replies_skips_user_messages_and_texts_already_shown_in_steps():
    messages = [
        {"role": "user", "content": "approve"},
        {"role": "assistant", "content": "Graph approved."},
        {"role": "assistant", "content": "Graph approved."},
        {"role": "assistant", "content": "Exported.", "files": ["/x/analysis.py"]},
    ]
    replies = render.new_replies(messages, shown=["Graph approved."])
    assert [r["content"] for r in replies] == ["Graph approved.", "Exported."]


def test_message_markdown_adds_the_table_and_the_code(tmp_path):
    figure = tmp_path / "fig.png"
    figure.write_bytes(PNG)
    message = {
        "content": "Done.",
        "table": [{"region": "north", "mean": 1.5}],
        "code": "print(df.shape)",
        "images": [str(figure), str(tmp_path / "gone.png")],
        "files": [str(figure)],
    }
    text = render.message_markdown(message)
    assert text.startswith("Done.")
    assert "| region | mean |" in text and "| north | 1.5 |" in text
    assert "```python\nprint(df.shape)\n```" in text
    assert [p.path for p in render.message_pictures(message)] == [str(figure)]
    assert render.message_files(message) == [figure]


# --------------------------------------------------------------------------- uploads


@pytest.mark.parametrize("name", ["data.csv", "DATA.TSV", "x.parquet", "book.xlsx", "a.txt"])
def test_supported_uploads_pass(name):
    assert render.upload_problem(name, 1024, limit_mb=1) is None


def test_unsupported_and_oversized_uploads_are_refused_with_a_reason():
    refusal = render.upload_problem("notes.pdf", 10, limit_mb=1)
    assert refusal and "notes.pdf" in refusal and "CSV, TSV, Parquet or Excel" in refusal
    too_big = render.upload_problem("big.csv", 3 * 1024 * 1024, limit_mb=2)
    assert too_big and "3.0 MB" in too_big and "2 MB" in too_big
    assert "CAUSAL_ASSISTANT_MAX_UPLOAD_MB" in too_big


def test_safe_filename_keeps_the_extension_and_drops_paths():
    assert render.safe_filename("../../etc/passwd.csv") == "passwd.csv"
    assert render.safe_filename("C:\\Users\\me\\my data (v2).xlsx") == "my data _v2_.xlsx"
    assert render.safe_filename("...") == "data"


def test_upload_accept_takes_every_way_a_table_arrives_but_only_readable_extensions():
    accept = render.upload_accept()
    mimes = set(render.UPLOAD_MIME_TYPES)
    assert {
        "text/csv",
        "application/csv",
        "text/plain",
        "application/vnd.ms-excel",
        "text/tab-separated-values",
        "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    } <= mimes
    for mime in mimes:  # Chainlit's server matches the type with fnmatch, then the extension
        patterns = [p for p in accept if fnmatch.fnmatch(mime, p)]
        assert patterns, mime
        assert {".csv", ".tsv", ".parquet", ".xlsx"} <= set(accept[patterns[0]])
    assert not any(fnmatch.fnmatch("image/png", p) for p in accept)
    assert ".pdf" not in {ext for exts in accept.values() for ext in exts}


# --------------------------------------------------------------------------- plots


def test_overlap_plot_is_a_png_and_checks_its_input():
    rng = np.random.default_rng(0)
    treated = rng.random(200) < 0.4
    assert plots.overlap_plot(rng.random(200), treated).startswith(PNG)
    with pytest.raises(ValueError):
        plots.overlap_plot([0.5, 0.2], [1])


def test_standardized_differences_before_and_after_weighting():
    x = pd.DataFrame({"a": [0.0, 0.0, 1.0, 1.0], "b": [1.0, 2.0, 1.0, 2.0]})
    treated = [0, 0, 1, 1]
    smd = overlap.standardized_differences(x, treated)
    assert smd["b"] == pytest.approx(0.0)
    assert smd["a"] > 0
    weighted = overlap.standardized_differences(x, treated, weights=[1, 1, 1, 1])
    assert weighted == pytest.approx(smd)
    assert plots.balance_plot(smd, weighted).startswith(PNG)
    with pytest.raises(ValueError):
        plots.balance_plot({})


def test_refuter_plot_draws_finite_runs_and_refuses_none():
    png = plots.refuter_plot("placebo_treatment", [1.0, float("nan"), 2.0, 3.0], 1500.0, 0.0)
    assert png.startswith(PNG)
    with pytest.raises(ValueError):
        plots.refuter_plot("placebo_treatment", [float("nan")], 1.0)


def test_refuter_panel_lays_out_every_refuter_and_refuses_none():
    runs = [(f"r{i}", [1.0, 2.0, 3.0], 0.0 if i == 0 else None) for i in range(3)]
    assert plots.refuter_panel(runs, 2.0).startswith(PNG)
    with pytest.raises(ValueError):
        plots.refuter_panel([], 1.0)


def test_refuter_pictures_only_for_refuters_that_kept_their_runs():
    pictures = render.refuter_pictures(_state(estimation=ESTIMATION, refutation=REFUTATION))
    assert [p.name for p in pictures] == ["refuters"]
    assert pictures[0].png.startswith(PNG)
    assert render.refuter_pictures(_state(estimation=ESTIMATION)) == []


def test_graph_layout_keeps_thirty_nodes_apart_and_in_role_order():
    roles = {"t": "treatment", "y": "outcome"}
    pairs = [("t", "y")]
    for i in range(22):
        roles[f"confounder_{i}"] = "confounder"
        pairs += [(f"confounder_{i}", "t"), (f"confounder_{i}", "y")]
    for name, role, pair in (
        ("z1", "instrument", ("z1", "t")),
        ("z2", "instrument", ("z2", "t")),
        ("m", "mediator", ("t", "m")),
        ("c", "collider", ("y", "c")),
        ("p", "outcome_predictor", ("p", "y")),
    ):
        roles[name] = role
        pairs.append(pair)
    graph = plots.CausalGraph.from_edges(pairs + [("m", "y"), ("t", "c")])
    assert len(graph.nodes) == 29
    pos = plots.graph_layout(graph, roles)
    points = np.array(list(pos.values()))
    gaps = np.abs(points[:, None, :] - points[None, :, :])
    apart = (gaps[..., 0] >= plots.COLUMN_GAP * 0.9) | (gaps[..., 1] >= plots.ROW_GAP * 0.9)
    assert apart[~np.eye(len(points), dtype=bool)].all(), "no two labels on top of each other"
    assert pos["z1"][0] < pos["t"][0] < pos["m"][0] < pos["y"][0] < pos["p"][0]
    assert min(pos[f"confounder_{i}"][1] for i in range(22)) > pos["t"][1] > pos["c"][1]
    assert plots.draw_graph(graph, roles).startswith(PNG)
