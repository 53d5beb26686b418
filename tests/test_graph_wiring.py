"""The compiled LangGraph holds exactly the transitions a run can take, no generated extras."""

from langgraph.graph import END, START

from causal_assistant.agent.config import Settings
from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.graph import build_graph
from causal_assistant.agent.reasoners.offline import OfflineReasoner

# (from, to): every forward step, every loop back, every stop with a problem for the user,
# and every stage a run may start (or re-run) at.
EXPECTED = {
    *(
        (START, entry)
        for entry in (
            "intake",
            "question",
            "design",
            "modeling",
            "critique",
            "identification",
            "estimation",
            "refutation",
            "report",
        )
    ),
    ("intake", "question"),
    ("question", "design"),
    ("design", "modeling"),
    ("design", "identification"),  # a changed design keeps the user's graph
    ("modeling", "critique"),
    ("critique", "approve_graph"),
    ("approve_graph", "identification"),
    ("approve_graph", "critique"),  # an edited graph is critiqued again
    ("identification", "estimation"),
    ("identification", "report"),  # not point-identified: bounds are the answer
    ("estimation", "refutation"),
    ("refutation", "review_refutation"),
    ("review_refutation", "report"),
    ("review_refutation", "approve_graph"),  # the user re-specifies the graph
    ("report", END),
    *(
        (stage, END)
        for stage in (
            "intake",
            "question",
            "design",
            "modeling",
            "critique",
            "approve_graph",
            "identification",
            "estimation",
            "refutation",
            "review_refutation",
        )
    ),
}


def test_compiled_graph_has_exactly_the_real_transitions(tmp_path) -> None:
    context = AgentContext(Settings(home=tmp_path), OfflineReasoner())
    edges = build_graph(context).get_graph().edges
    found = [(str(e.source), str(e.target)) for e in edges]
    assert len(found) == len(set(found)) == 34
    assert set(found) == EXPECTED
