"""First contact: tables as pandas and R write them, files that are not tables, questions
in plain words (CLI and chat), and the user's description of the data."""

import json

import numpy as np
import pandas as pd
import pytest

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.tools.data.context import is_description, read_context
from causal_assistant.tools.data.intake import load_code, load_table, profile_table
from causal_assistant.tools.errors import InputError
from causal_assistant.ui.cli import main


def test_a_written_row_index_is_read_as_the_index_and_said(tmp_path):
    frame = pd.DataFrame({"dose": [0, 1, 1, 0], "y": [1.0, 2.5, 3.0, 0.5]})
    for name, index in (("numbered.csv", None), ("labelled.csv", ["a", "b", "c", "d"])):
        path = tmp_path / name
        frame.set_axis(index or frame.index).to_csv(path)  # header row starts with ""
        loaded = load_table(path)
        assert list(loaded.columns) == ["dose", "y"]
        assert "row labels" in profile_table(loaded).reading
        namespace = {"pd": pd, "DATA_PATH": path}
        exec(load_code(path), namespace)  # the exported script reads the same frame
        pd.testing.assert_frame_equal(namespace["df"], loaded)


def test_a_repeating_unnamed_first_column_is_not_an_index(tmp_path):
    path = tmp_path / "repeats.csv"
    path.write_text(",dose,y\n1,0,1.0\n1,1,2.0\n")
    with pytest.raises(InputError, match="values repeat"):
        load_table(path)


@pytest.mark.parametrize(
    "content, found",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01", "PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG picture"),
        (
            b"The study followed workers for two years, after which earnings were recorded.\n"
            b"Participants were assigned by lottery, and those who won were offered training.\n",
            "prose",
        ),
    ],
)
def test_a_file_that_is_not_a_table_is_refused_saying_what_it_is(tmp_path, content, found):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=found) as caught:
        load_table(path)
    assert "\n" not in str(caught.value)


def test_cli_plain_question_with_context_is_recorded(tmp_path, training_csv, capsys):
    context = tmp_path / "codebook.md"
    context.write_text("treat: took part in the job training programme\n")
    out = tmp_path / "out"
    code = main(
        [
            "analyze",
            str(training_csv),
            "--question",
            "Did the job training raise earnings?",
            "--context",
            str(context),
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    assert (result["treatment"], result["outcome"]) == ("treat", "earnings_after")
    assert "job training programme" in result["context"]


def test_cli_refusal_lists_candidates_and_flags(tmp_path, training_csv, capsys):
    code = main(
        [
            "analyze",
            str(training_csv),
            "--question",
            "Tell me about this",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "treat" in err and "--treatment COLUMN" in err and "Traceback" not in err


def test_chat_asks_with_choices_then_takes_a_new_question_at_any_point(isolated_home):
    rng = np.random.default_rng(0)
    n = 400
    age = rng.normal(40, 10, n)
    exercise = (rng.random(n) < 1 / (1 + np.exp((age - 40) / 10))).astype(int)
    frame = pd.DataFrame(
        {
            "age": age,
            "exercise": exercise,
            "weight": 70 + 0.2 * age - 3 * exercise + rng.normal(0, 2, n),
            "sleep": rng.normal(7, 1, n),
        }
    )
    path = isolated_home.parent / "health.csv"
    frame.to_csv(path, index=False)
    session = Session(Settings.from_env(refutation_budget_s=5))

    state = session.start(path, question="What can you tell me?")
    assert state["error"] and state["choices"]["treatment"][0] == "exercise"
    state = session.rerun("question", treatment="exercise", user_text="treatment exercise")
    assert state["choices"] and "weight" in state["choices"]["outcome"]
    state = session.rerun("question", outcome="weight", user_text="outcome weight")
    assert (state["treatment"], state["outcome"]) == ("exercise", "weight")
    assert session.pending()["kind"] == "approve_graph"

    state = session.send("Is sleep affected by exercise?")  # mid-conversation, new question
    assert (state["treatment"], state["outcome"]) == ("exercise", "sleep")
    assert not state.get("error")


def test_a_codebook_upload_is_kept_as_the_description_not_read_as_data(tmp_path, training_csv):
    """In the chat a .md codebook, or a .txt of sentences, is the description of the data;
    a .txt that holds a table is data."""
    codebook = tmp_path / "codebook.md"
    codebook.write_text("# Codebook\n\n- treat: randomly assigned to the programme\n")
    prose = tmp_path / "notes.txt"
    prose.write_text(
        "The programme was offered by lottery in 2019, and earnings were measured two years "
        "later, after the programme had ended for everyone who took part in it.\n" * 3
    )
    table = tmp_path / "table.txt"
    table.write_text(training_csv.read_text())
    assert is_description(codebook) and is_description(prose)
    assert not is_description(table) and not is_description(training_csv)
    assert "randomly assigned" in read_context(codebook)
    session = Session(Settings.from_env())
    state = session.start(training_csv, question="Does treat raise earnings_after?")
    state = session.rerun("question", context=read_context(prose))
    assert state["context"].startswith("The programme was offered by lottery")
    assert state["treatment"] == "treat" and state["graph"]
