"""Backdoor adjustment: observational data whose confounders are measured (the default).

The graph says which variables open backdoor paths from the treatment to the outcome;
adjusting for a set that blocks them all identifies the effect. Identification, estimation
and the refuters are today's tools (``identify_effect``, ``estimate_effect``,
``refute_estimate``), wrapped by ``graph_path.GraphDesign``.
"""

from typing import ClassVar

import pandas as pd

from causal_assistant.tools.data.intake import DatasetProfile
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


class BackdoorDesign(GraphDesign):
    kind: ClassVar[DesignKind] = DesignKind.BACKDOOR

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence:
        """Always applies, weakly: the fallback when nothing more specific is seen."""
        return DesignEvidence(
            kind=self.kind,
            strength="weak",
            reading="Observational data: the effect is identified only if the measured "
            "variables include every common cause of treatment and outcome",
        )

    def detect_graph(
        self, graph: CausalGraph, treatment: str, outcome: str
    ) -> DesignEvidence | None:
        adjustment = backdoor_set(graph, treatment, outcome)
        if adjustment is None:
            return None
        blocks = f"adjusting for {', '.join(adjustment)}" if adjustment else "no adjustment"
        return DesignEvidence(
            kind=self.kind,
            strength="moderate",
            source="graph",
            reading=f"In the graph, {blocks} blocks every backdoor path from {treatment} "
            f"to {outcome}",
        )

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        return [
            Assumption(
                name="no unmeasured confounding",
                testable="no",
                reading=f"Every common cause of {spec.treatment} and {spec.outcome} is "
                "measured and in the graph (the sensitivity analysis says how strong a "
                "missing one would have to be).",
            ),
            Assumption(
                name="the graph",
                testable="partly",
                reading="The graph's missing edges are true independences (the critique "
                "tests those the data can).",
            ),
            Assumption(
                name="overlap",
                testable="yes",
                reading="Units with every covariate profile can be treated or untreated.",
            ),
        ]


BACKDOOR = register(BackdoorDesign())
