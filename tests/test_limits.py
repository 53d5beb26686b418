"""Inputs far under the upload limit must not exhaust the machine (issue 13).

Each test is an attack from the issue, refused with one line the user can act on, before
the work it would cause: a wide table, a Parquet file whose few MB unpack into tens of
millions of rows, a DOT graph that expands into a million edges, text that made the GML
detection backtrack, and a run whose user left.
"""

from __future__ import annotations

import time

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.context import RunCancelled
from causal_assistant.agent.session import Session
from causal_assistant.tools.data.intake import MAX_CELLS, load_table
from causal_assistant.tools.errors import GraphError, InputError
from causal_assistant.tools.model.graphs import MAX_GRAPH_EDGES, _sniff_format, parse_graph

pytestmark = pytest.mark.timeout(120)


def _refused_fast(call, *words: str, seconds: float = 5.0) -> str:
    started = time.monotonic()
    with pytest.raises((InputError, GraphError)) as refused:
        call()
    assert time.monotonic() - started < seconds
    message = str(refused.value)
    assert "\n" not in message and all(w in message for w in words), message
    return message


def test_a_thousand_column_table_is_refused_at_intake(tmp_path):
    wide = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(200, 1000)), columns=[f"x{i}" for i in range(1000)]).to_csv(
        wide, index=False
    )
    assert wide.stat().st_size < 5 * 2**20
    _refused_fast(lambda: load_table(wide), "1,000 columns", "CAUSAL_ASSISTANT_MAX_COLUMNS")
    state = Session(Settings.from_env(llm_mode="off")).start(wide, question="effect of x1 on x2")
    assert "CAUSAL_ASSISTANT_MAX_COLUMNS" in state["error"]


def test_parquet_rows_are_checked_from_metadata_before_reading(tmp_path):
    bomb = tmp_path / "bomb.parquet"
    block = pa.table({"a": pa.array(np.zeros(1_000_000, dtype=np.int8))})
    with pq.ParquetWriter(bomb, block.schema, compression="zstd") as writer:
        for _ in range(MAX_CELLS // 1_000_000 + 1):
            writer.write_table(block)
    assert bomb.stat().st_size < 3 * 2**20
    _refused_fast(lambda: load_table(bomb), "by its metadata", "CAUSAL_ASSISTANT_MAX_CELLS")


def test_text_and_excel_cells_are_bounded_before_reading(tmp_path, training_csv):
    _refused_fast(lambda: load_table(training_csv, max_cells=1000), "CAUSAL_ASSISTANT_MAX_CELLS")
    assert len(load_table(training_csv, max_cells=10**7)) > 0
    sheet = tmp_path / "sheet.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["a", "b", "c"])
    for row in range(300):
        book.active.append([row, row * 2, row % 2])
    book.save(sheet)
    _refused_fast(lambda: load_table(sheet, max_cells=100), "CAUSAL_ASSISTANT_MAX_CELLS")
    assert load_table(sheet).shape == (300, 3)


def test_proposing_a_graph_has_a_variable_cap(training_csv):
    session = Session(Settings.from_env(llm_mode="off", max_model_variables=2))
    state = session.start(training_csv, treatment="treat", outcome="earnings_after")
    assert "CAUSAL_ASSISTANT_MAX_MODEL_VARIABLES" in state["error"] and not state.get("graph")


def test_dot_edge_expansion_is_refused_before_it_is_built():
    left = " ".join(f"a{i}" for i in range(1000))
    right = " ".join(f"b{i}" for i in range(1000))
    dot = f"digraph {{ {{{left}}} -> {{{right}}} }}"
    assert len(dot) < 20_000
    _refused_fast(lambda: parse_graph(dot), "1,000,000 edges", f"{MAX_GRAPH_EDGES:,}", seconds=2)
    _refused_fast(lambda: parse_graph("a -> b\n" * 400_000), "limit")


def test_format_detection_is_linear_on_text_that_made_the_gml_regex_backtrack():
    for text in ("a " * 100_000, 'k "' * 50_000, "word value " * 50_000 + "grap"):
        started = time.monotonic()
        assert _sniff_format(text) == "edges"
        assert time.monotonic() - started < 1
    assert _sniff_format('Creator "me" Version 2\ngraph [ directed 1 ]') == "gml"


def test_a_run_whose_user_left_stops_at_its_next_step(training_csv):
    session = Session(Settings.from_env(llm_mode="off"))
    seen: list[str] = []

    def on_event(mode, event):
        if mode == "updates":
            seen.extend(event)
            if "intake" in event:
                session.cancel()  # the browser disconnected while intake ran

    with pytest.raises(RunCancelled):
        session.start(training_csv, treatment="treat", outcome="earnings_after", on_event=on_event)
    assert seen == ["intake"]
    state = session.values
    assert state.get("dataset") and not state.get("graph") and not state.get("estimation")
    with pytest.raises(RunCancelled):
        session.proceed()
    # Stop is not the end of the analysis: the same thread picks up from its checkpoint
    again = Session(session.settings, thread_id=session.thread_id)
    assert again.values["dataset"] == state["dataset"]
    again.proceed()
    assert again.values.get("graph"), "the analysis went on past intake"
