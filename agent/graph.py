"""The LangGraph state machine: one node per stage, in DoWhy's order.

A stage that hits a user-fixable problem sets ``error`` and the run stops there, with the
state checkpointed, so the conversation can fix the input and re-run from that stage. Two
nodes wait for the user (LangGraph ``interrupt``): graph approval, which loops while the
user edits, and the review of a failed refutation.
"""

from langgraph.graph import END, START, StateGraph

from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.stages import Stages, guarded
from causal_assistant.agent.state import AnalysisState

PIPELINE = (
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
    "report",
)
WAITING_NODES = ("approve_graph", "review_refutation")


def _route_after(current: str, following: str):
    def route(state: AnalysisState) -> str:
        if state.get("error"):
            return END
        decision = state.get("decision")
        if current == "design" and state.get("entry") == "design" and state.get("graph"):
            return "identification"  # a changed design keeps the graph the user has
        if current == "approve_graph" and decision == "edited":
            return "critique"
        if current == "review_refutation" and decision == "respecify":
            return "approve_graph"
        if current == "identification" and state.get("bounds"):
            return "report"  # not point-identified: the bounds are the answer
        return following

    return route


def build_graph(context: AgentContext, checkpointer=None):
    """Compile the pipeline; ``entry`` in the input state may start it at a later stage."""
    stages = Stages(context)
    builder = StateGraph(AnalysisState)
    for name in PIPELINE:
        builder.add_node(name, guarded(name, getattr(stages, name)))
    builder.add_conditional_edges(START, lambda s: s.get("entry") or PIPELINE[0], list(PIPELINE))
    for current, following in zip(PIPELINE, PIPELINE[1:], strict=False):
        builder.add_conditional_edges(
            current,
            _route_after(current, following),
            sorted({following, "critique", "approve_graph", "identification", "report", END}),
        )
    builder.add_edge(PIPELINE[-1], END)
    return builder.compile(checkpointer=checkpointer)
