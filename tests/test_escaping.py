"""Text from the data is shown as text: no remote image, link or HTML from a column name,
a category level or a cell, and no broken table (issue 13).

The checks read the Markdown the way a renderer would: outside code blocks and code spans,
an unescaped ``![``, ``](``, ``<tag`` or bare ``http://`` would become an image, a link or
HTML; a row of a table must have as many unescaped ``|`` as its header.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from make_example import make_training

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.tools.text import code_block, escape_markdown, neutralize
from causal_assistant.ui import render

HOSTILE = {
    "education years": "![x](http://evil/x.png)",
    "region": "<img src=x>",
    "prior earnings": "[a](http://x)",
    "age": "a|ge",
}
LEVEL = "![y](http://evil/y.png)"
_CODE = re.compile(r"^ {0,3}```.*?^ {0,3}```[ \t]*$|`[^`\n]*`", re.S | re.M)
_ACTIVE = [
    (re.compile(r"(?<!\\)!\["), "an image"),
    (re.compile(r"(?<!\\)\]\("), "a link"),
    (re.compile(r"(?<!\\)<[A-Za-z/!]"), "HTML or an autolink"),
    (re.compile(r"(?<![\\\w])(?:https?|ftp)://|(?<![\\\w])www\."), "a bare web address"),
]


def assert_inert(markdown: str) -> None:
    prose = _CODE.sub("", markdown)
    for pattern, what in _ACTIVE:
        found = pattern.search(prose)
        assert found is None, f"{what} at {prose[max(0, found.start() - 40) : found.end() + 40]!r}"
    _assert_tables_whole(prose)


def _assert_tables_whole(prose: str) -> None:
    lines = prose.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|(?:-{3,}\|)+", line.strip()):
            width = _pipes(lines[i - 1])
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                assert _pipes(row) == width, f"a broken table row: {row!r}"


def _pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


@pytest.mark.parametrize("text", [*HOSTILE.values(), LEVEL, "see www.evil.example", "a@b.example"])
def test_hostile_text_is_inert_in_prose_and_cells(text):
    for shown in (neutralize(f"**{text}** is adjusted for"), escape_markdown(text)):
        assert_inert(shown)
    table = render.markdown_table([{"column": text, "kind": "binary"}])
    assert_inert(table)


def test_hostile_text_is_caught_by_the_checker():
    with pytest.raises(AssertionError):
        assert_inert("Column ![x](http://evil/x.png) matters.")
    with pytest.raises(AssertionError):
        assert_inert("| a | b |\n|---|---|\n| a|b | c |")


def test_neutralize_keeps_our_markdown_and_code_and_is_idempotent():
    ours = "**Estimate** `[a](b)` and `x <- y`\n\n- age -> treat\n\n```\n<img src=x>\n```\n"
    assert neutralize(ours) == ours
    once = neutralize("[a](http://x) <img src=x> ![x](http://evil/x.png)")
    assert neutralize(once) == once
    assert code_block("````").startswith("`````")


@pytest.mark.slow
def test_hostile_names_and_levels_stay_text_in_chat_report_and_notebook(tmp_path):
    frame = make_training().head(400).rename(columns=HOSTILE)
    region = frame[HOSTILE["region"]]
    frame[HOSTILE["region"]] = region.where(region != sorted(region.unique())[0], LEVEL)
    data = tmp_path / "hostile.csv"
    frame.to_csv(data, index=False)
    session = Session(Settings.from_env(llm_mode="off", refutation_budget_s=3))
    state = session.start(data, treatment="treat", outcome="earnings_after", auto_approve=True)
    assert not state.get("error"), state.get("error")
    assert {HOSTILE["education years"], HOSTILE["prior earnings"]} <= {
        e["cause"] for e in state["graph"]["edges"]
    }

    chat = [
        render.stage_view("intake", {"dataset": state["dataset"]}, {}).output,
        render.stage_view("modeling", {"graph": state["graph"]}, state).output,
        render.graph_details(state),
        render.approval_markdown(state, {"kind": "approve_graph", "question": "Approve?"}),
        render.final_answer(state, session.result()),
        render.message_markdown(session.send(f"why {HOSTILE['prior earnings']}?")["messages"][-1]),
    ]
    for shown in chat:
        assert_inert(shown)
    assert LEVEL in str(state["dataset"]["profile"])  # the level was there to be escaped

    written = session.export(tmp_path / "out")
    report = written["report.md"].read_text()
    ours = [  # the local pictures the report shows, each once; nothing else may be an image
        "![causal graph](graph.png)",
        "![estimate under hidden confounders of each strength](sensitivity.png)",
        "![bounds under each set of assumptions](bounds.png)",
    ]
    for picture in ours:
        assert report.count(picture) == 1
        report = report.replace(picture, "")
    assert_inert(report)
    assert "!\\[x\\](http\\://evil/x.png)" in report  # escaped, not dropped
    notebook = nbformat.read(written["analysis.ipynb"], as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            assert_inert(cell.source)
