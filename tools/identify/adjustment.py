"""Backdoor adjustment sets read off a graph by d-separation.

Shared by identification (which set to adjust for), critique (is the user's set valid)
and instruments (which variables come before the treatment); pure graph logic, no data.
"""

from collections.abc import Sequence

import networkx as nx

from causal_assistant.tools.model.graphs import CausalGraph


def blocks_backdoor(
    graph: nx.DiGraph, treatment: str, outcome: str, adjustment: Sequence[str]
) -> bool:
    """Does ``adjustment`` block every backdoor path (d-separation once the treatment's
    outgoing edges are cut)? Descendants of the treatment are checked separately."""
    cut = graph.copy()
    cut.remove_edges_from(list(graph.out_edges(treatment)))
    return nx.is_d_separator(cut, {treatment}, {outcome}, set(adjustment))


def backdoor_set(graph: CausalGraph, treatment: str, outcome: str) -> list[str] | None:
    """A valid adjustment set read off the graph, or None when no observed set is one.

    First choice is the optimal set (Henckel, Perkovic and Maathuis): the parents of the
    outcome and of the mediators, minus the treatment's effects. It leaves instruments out
    and keeps outcome predictors, so it has the smallest variance among valid sets when
    every variable is observed. With latent variables it may fail; then the observed
    ancestors of treatment or outcome that the treatment does not affect (valid whenever
    any set is), less those that reach the outcome only through the treatment.
    """
    nxg = graph.to_networkx()
    causal = nx.descendants(nxg, treatment) & (nx.ancestors(nxg, outcome) | {outcome})
    forbidden = {treatment}.union(*(nx.descendants(nxg, c) | {c} for c in causal))
    # Variables the user marked as measured after the treatment are never adjusted for,
    # whatever the edges say.
    excluded = set(graph.unobserved) | set(graph.post_treatment)
    optimal = sorted({p for c in causal for p in nxg.predecessors(c)} - forbidden - excluded)
    if causal and blocks_backdoor(nxg, treatment, outcome, optimal):
        return optimal
    after = nx.descendants(nxg, treatment) | {treatment, outcome}
    ancestors = nx.ancestors(nxg, treatment) | nx.ancestors(nxg, outcome)
    chosen = sorted(ancestors - after - excluded)
    if not blocks_backdoor(nxg, treatment, outcome, chosen):
        return None
    cut = nxg.copy()
    cut.remove_edges_from(list(nxg.out_edges(treatment)))
    for name in [n for n in chosen if not nx.has_path(cut, n, outcome)]:
        rest = [c for c in chosen if c != name]
        if blocks_backdoor(nxg, treatment, outcome, rest):
            chosen = rest
    return chosen


def structural_role(graph: nx.DiGraph, name: str, treatment: str, outcome: str) -> str:
    """The role the graph's edges give ``name`` (confounder, instrument, mediator, ...), so
    roles read off an edited graph agree with its edges."""
    if name in nx.descendants(graph, treatment):
        if name in nx.descendants(graph, outcome):
            return "collider"
        return "mediator" if outcome in nx.descendants(graph, name) else "descendant"
    without_treatment = graph.copy()
    without_treatment.remove_node(treatment)
    causes_outcome = name in nx.ancestors(without_treatment, outcome)
    if name in nx.ancestors(graph, treatment):
        return "confounder" if causes_outcome else "instrument"
    if causes_outcome:
        return "outcome_predictor"
    return "descendant" if name in nx.descendants(graph, outcome) else "unrelated"
