"""What leaves the chat follows the user's edits (issue 16): after ``remove edge age ->
treat`` the roles in result.json and report.md, and the colours of the exported graph.png,
are those of the edited graph, not of the proposal."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from make_example import make_training

from causal_assistant.agent.config import Settings
from causal_assistant.agent.session import Session
from causal_assistant.tools.export.plots import draw_graph
from causal_assistant.tools.model.graphs import CausalGraph


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> Iterator[Session]:
    """An analysis of the example whose user removed the confounder edge age -> treat."""
    home = tmp_path_factory.mktemp("edited-home")
    data = home / "training.csv"
    make_training(n=600).to_csv(data, index=False)
    with pytest.MonkeyPatch.context() as env:
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.delenv(name, raising=False)
        env.setenv("CAUSAL_ASSISTANT_LLM", "off")
        env.setenv("CAUSAL_ASSISTANT_REFUTATION_SIMULATIONS", "20")
        session = Session(Settings.from_env(home=home, refutation_budget_s=5))
        session.start(data, treatment="treat", outcome="earnings_after")
        assert session.values["roles"], "the proposal assigned roles"
        session.send("remove edge age -> treat")
        session.send("approve")
        if session.pending():  # the graph's falsification check may fail without the edge
            session.send("accept")
        assert session.pending() is None
        yield session


def _role(roles: list[dict], name: str) -> str:
    return next(r["role"] for r in roles if r["name"] == name)


def test_result_roles_are_those_of_the_edited_graph(edited: Session) -> None:
    proposed = edited.values["roles"]
    assert _role(proposed, "age") == "confounder", "the proposal had age as a confounder"
    roles = edited.result()["roles"]
    assert _role(roles, "age") == "outcome_predictor"
    assert "edited" in next(r["evidence"] for r in roles if r["name"] == "age")
    assert _role(roles, "treat") == "treatment" and _role(roles, "education years") == (
        _role(proposed, "education years")
    ), "untouched roles stay as proposed"


@pytest.mark.slow
def test_exported_graph_and_report_show_the_edited_roles(edited: Session, tmp_path: Path) -> None:
    written = edited.export(tmp_path / "out")
    graph = CausalGraph.model_validate(edited.values["graph"])
    assert not any(e.cause == "age" and e.effect == "treat" for e in graph.edges)
    now = {r["name"]: r["role"] for r in edited.result()["roles"]}
    proposed = {r["name"]: r["role"] for r in edited.values["roles"]}
    png = written["graph.png"].read_bytes()
    assert png == draw_graph(graph, now)
    assert png != draw_graph(graph, proposed)
    report = written["report.md"].read_text(encoding="utf-8")
    assert "| age | outcome_predictor |" in report
