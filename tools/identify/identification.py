"""Identification: can the graph's assumptions turn the data into a causal effect, and how.

Wraps DoWhy's identifier and says, in the user's variable names, which design applies
(backdoor adjustment, front door, instrumental variables), with which variables, and when
nothing applies, why and what would fix it.
"""

from typing import Literal, get_args

import networkx as nx
from pydantic import PrivateAttr

from causal_assistant.tools import portable
from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.identify.adjustment import backdoor_set
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.results import ToolResult, WarningCode

Design = Literal["backdoor", "frontdoor", "iv", "none"]
DESIGNS: tuple[Design, ...] = get_args(Design)


class IdentificationResult(ToolResult):
    estimand: Design
    adjustment_set: list[str] = []
    instruments: list[str] = []
    frontdoor: list[str] = []
    available: list[Design] = []
    _estimand: object = PrivateAttr(default=None)

    @property
    def dowhy_estimand(self) -> object:
        return self._estimand


def identify_effect(
    data: ModelData, adjustment: list[str] | None = None, prefer: Design | None = None
) -> IdentificationResult:
    """Identify the effect of the treatment on the outcome in ``data.graph``.

    ``adjustment`` (user variable names) overrides DoWhy's backdoor set; ``prefer`` picks a
    design among those identified (the backdoor one otherwise, as it uses the most data).
    """
    if adjustment is None:
        model_adjustment = _optimal_adjustment(data)
    else:
        model_adjustment = data.model_columns(adjustment)
    estimand = portable.identify(
        data.frame, data.graph, data.model_treatment, data.model_outcome, model_adjustment
    )
    found = {
        "backdoor": estimand.estimands.get("backdoor") is not None and model_adjustment is not None,
        "frontdoor": bool(estimand.frontdoor_variables),
        "iv": bool(estimand.instrumental_variables),
    }
    available = [d for d in ("backdoor", "frontdoor", "iv") if found[d]]
    design = prefer if prefer in available else (available[0] if available else "none")
    result = IdentificationResult(
        estimand=design,
        adjustment_set=data.originals(estimand.get_backdoor_variables())
        if found["backdoor"]
        else [],
        instruments=data.originals(list(estimand.instrumental_variables or [])),
        frontdoor=data.originals(list(estimand.frontdoor_variables or [])),
        available=available,
    )
    result._estimand = estimand
    result.reading = _reading(result, data)
    result.code = (
        f"estimand = identify(frame, graph, {data.model_treatment!r}, "
        f"{data.model_outcome!r}, {model_adjustment!r})\n"
    )
    if design == "none":
        result.warn(WarningCode.UNIDENTIFIABLE, result.reading)
    return result


def _optimal_adjustment(data: ModelData) -> list[str] | None:
    """The smallest-variance valid backdoor set of the model graph (None: no valid set)."""
    graph = CausalGraph(
        nodes=list(data.graph.nodes),
        unobserved=data.unobserved,
        post_treatment=data.post_treatment,
        edges=CausalGraph.from_edges(data.graph.edges).edges,
    )
    return backdoor_set(graph, data.model_treatment, data.model_outcome)


def _reading(result: IdentificationResult, data: ModelData) -> str:
    t, y = data.treatment, data.outcome
    if result.estimand == "backdoor":
        if not result.adjustment_set:
            return (
                f"No variable in the graph opens a backdoor path from {t} to {y}, so the "
                "plain comparison is causal under this graph."
            )
        return (
            f"Adjusting for {', '.join(result.adjustment_set)} blocks every backdoor path "
            f"from {t} to {y}, so the effect is identified by backdoor adjustment."
        )
    if result.estimand == "frontdoor":
        return (
            f"{', '.join(result.frontdoor)} carries all of {t}'s effect on {y} and is not "
            "confounded with it, so the effect is identified by the front-door formula."
        )
    if result.estimand == "iv":
        return (
            f"{', '.join(result.instruments)} moves {t} and reaches {y} only through it "
            "(an untestable assumption you must own), so the effect is identified by "
            "instrumental variables."
        )
    return _why_not(data)


def _why_not(data: ModelData) -> str:
    """Name the unobserved confounders and say what would fix the design."""
    graph, t, y = data.graph, data.model_treatment, data.model_outcome
    latent = [n for n in data.unobserved if nx.has_path(graph, n, t) and nx.has_path(graph, n, y)]
    culprit = (
        f"the unobserved {', '.join(data.originals(latent))} affects both "
        f"{data.treatment} and {data.outcome}"
        if latent
        else f"a backdoor path from {data.treatment} to {data.outcome} cannot be blocked"
    )
    return (
        f"The effect is not identified: {culprit}, and the graph has no instrument or "
        "front-door mediator. Measure the confounder, or add an instrument (a variable "
        "that moves the treatment and reaches the outcome only through it)."
    )
