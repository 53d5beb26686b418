"""The LangGraph state machine: one node per stage, in DoWhy's order, every edge written out.

A stage that hits a user-fixable problem sets ``error`` and the run stops there (an edge to
END), with the state checkpointed, so the conversation can fix the input and re-run from
that stage. Two nodes wait for the user (LangGraph ``interrupt``) and route themselves with
``Command(goto=...)``: graph approval, which goes back to the critique while the user edits,
and the review of a failed refutation, which may send the user back to the graph.
"""

from collections.abc import Callable

from langgraph.graph import END, START, StateGraph

from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.stages import Stages, guarded
from causal_assistant.agent.state import WORKING_STAGES, AnalysisState, Stage


def _entry(state: AnalysisState) -> str:
    """A new analysis starts at intake, a re-run at the stage it goes back to."""
    return state.get("entry") or Stage.INTAKE


def _then(following: Stage) -> Callable[[AnalysisState], str]:
    """Go on to ``following`` unless the stage stopped with a problem for the user."""

    def route(state: AnalysisState) -> str:
        return END if state.get("error") else following

    return route


def _after_design(state: AnalysisState) -> str:
    if state.get("error"):
        return END
    if state.get("entry") == Stage.DESIGN and state.get("graph"):
        return Stage.IDENTIFICATION  # a changed design keeps the graph the user has
    return Stage.MODELING


def _after_identification(state: AnalysisState) -> str:
    if state.get("error"):
        return END
    if state.get("bounds"):
        return Stage.REPORT  # not point-identified: the bounds are the answer
    return Stage.ESTIMATION


def build_graph(context: AgentContext, checkpointer=None):
    """Compile the pipeline; ``entry`` in the input state may start it at a later stage."""
    stages = Stages(context)
    builder = StateGraph(AnalysisState)
    for stage in WORKING_STAGES:
        builder.add_node(stage, guarded(stage, getattr(stages, stage)))
    builder.add_node(
        Stage.APPROVE_GRAPH,
        guarded(Stage.APPROVE_GRAPH, stages.approve_graph),
        destinations=(Stage.IDENTIFICATION, Stage.CRITIQUE, END),
    )
    builder.add_node(
        Stage.REVIEW_REFUTATION,
        guarded(Stage.REVIEW_REFUTATION, stages.review_refutation),
        destinations=(Stage.REPORT, Stage.APPROVE_GRAPH, END),
    )
    builder.add_conditional_edges(START, _entry, list(WORKING_STAGES))
    builder.add_conditional_edges(Stage.INTAKE, _then(Stage.QUESTION), [Stage.QUESTION, END])
    builder.add_conditional_edges(Stage.QUESTION, _then(Stage.DESIGN), [Stage.DESIGN, END])
    builder.add_conditional_edges(
        Stage.DESIGN, _after_design, [Stage.MODELING, Stage.IDENTIFICATION, END]
    )
    builder.add_conditional_edges(Stage.MODELING, _then(Stage.CRITIQUE), [Stage.CRITIQUE, END])
    builder.add_conditional_edges(
        Stage.CRITIQUE, _then(Stage.APPROVE_GRAPH), [Stage.APPROVE_GRAPH, END]
    )
    # APPROVE_GRAPH routes itself: to IDENTIFICATION, back to CRITIQUE, or END
    builder.add_conditional_edges(
        Stage.IDENTIFICATION, _after_identification, [Stage.ESTIMATION, Stage.REPORT, END]
    )
    builder.add_conditional_edges(
        Stage.ESTIMATION, _then(Stage.REFUTATION), [Stage.REFUTATION, END]
    )
    builder.add_conditional_edges(
        Stage.REFUTATION, _then(Stage.REVIEW_REFUTATION), [Stage.REVIEW_REFUTATION, END]
    )
    # REVIEW_REFUTATION routes itself: to REPORT, back to APPROVE_GRAPH, or END
    builder.add_edge(Stage.REPORT, END)
    return builder.compile(checkpointer=checkpointer)
