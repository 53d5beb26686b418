"""The front door: mediators that carry all of the effect and share no hidden cause with the
treatment identify it despite unmeasured confounding of treatment and outcome.

Identification and estimation are today's DoWhy tools, wrapped by
``graph_path.GraphDesign``; only the graph can show a front door.
"""

from typing import ClassVar

from causal_assistant.tools.designs import register
from causal_assistant.tools.designs.base import (
    Assumption,
    DesignEvidence,
    DesignKind,
    DesignSpec,
)
from causal_assistant.tools.designs.graph_path import GraphDesign
from causal_assistant.tools.identify.adjustment import backdoor_set
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.model.instruments import frontdoor_sets


class FrontdoorDesign(GraphDesign):
    kind: ClassVar[DesignKind] = DesignKind.FRONTDOOR

    def detect_graph(
        self, graph: CausalGraph, treatment: str, outcome: str
    ) -> DesignEvidence | None:
        """A front-door set when no backdoor set exists."""
        if backdoor_set(graph, treatment, outcome) is not None:
            return None
        found = frontdoor_sets(graph, treatment, outcome)
        if not found:
            return None
        return DesignEvidence(
            kind=self.kind,
            strength="strong",
            source="graph",
            reading=f"In the graph no measured set blocks the confounding, but "
            f"{', '.join(found[0])} carries all of {treatment}'s effect on {outcome} and "
            "shares no hidden cause with it: a front door",
        )

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        return [
            Assumption(
                name="full mediation",
                testable="no",
                reading=f"Every effect of {spec.treatment} on {spec.outcome} passes through "
                "the mediators.",
            ),
            Assumption(
                name="unconfounded mediators",
                testable="no",
                reading="No hidden cause is shared by the treatment and the mediators, and "
                "the treatment blocks every backdoor path from mediators to outcome.",
            ),
        ]


FRONTDOOR = register(FrontdoorDesign())
