"""The graph designs (backdoor and front door) on the protocol, wrapping today's tools.

Both are identified by DoWhy on the user's (or proposed) graph and estimated by
``estimate_effect``; this module calls those functions as they are, so the design protocol
and the agent's graph path give the same numbers. The agent itself keeps running these two
through its graph stages (critique, DoWhy refuters); the wrappers serve library users and
detection.
"""

from typing import ClassVar, cast

import pandas as pd

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.data.modeldata import ModelData, build_model_data
from causal_assistant.tools.designs.base import (
    Assumption,
    DesignCheck,
    DesignEstimate,
    DesignEvidence,
    DesignIdentification,
    DesignKind,
    DesignSpec,
)
from causal_assistant.tools.designs.common import spec_graph
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimation import EstimationResult, estimate_effect
from causal_assistant.tools.export.scriptgen import library_code
from causal_assistant.tools.identify.identification import (
    Design,
    IdentificationResult,
    identify_effect,
)
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.refute.refutation import refute_estimate

PORTABLE_MODULES = ["causal_assistant.tools.portable"]
CHECK_BUDGET_S = 30.0


class GraphDesign:
    """Shared by backdoor and front door; subclasses name the kind and the assumptions."""

    kind: ClassVar[DesignKind]

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence | None:
        return None

    def detect_graph(
        self, graph: CausalGraph, treatment: str, outcome: str
    ) -> DesignEvidence | None:
        return None

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        raise NotImplementedError

    def _prepared(
        self, frame: pd.DataFrame, spec: DesignSpec
    ) -> tuple[ModelData, IdentificationResult]:
        graph = spec_graph(spec)
        if graph is None:
            raise InputError(
                f"The {self.kind} design reads its adjustment off a causal graph; supply "
                "one (--graph) or let the assistant propose it."
            )
        data = build_model_data(frame, graph, spec.treatment, spec.outcome)
        return data, identify_effect(data, None, cast(Design, self.kind.value))

    def identify(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignIdentification:
        data, ident = self._prepared(frame, spec)
        identified = ident.estimand == self.kind.value
        result = DesignIdentification(
            identified=identified,
            estimand=spec.target.upper() if identified else "none",
            assumptions=self.assumptions(spec),
            reading=ident.reading,
            warnings=[*data.result.warnings, *ident.warnings],
            code=data.result.code + ident.code,
        )
        if identified:
            result.columns = spec.columns.model_copy(
                update={"covariates": ident.adjustment_set or ident.frontdoor}
            )
        return result

    def _estimated(
        self, frame: pd.DataFrame, spec: DesignSpec
    ) -> tuple[ModelData, IdentificationResult, EstimationResult]:
        data, ident = self._prepared(frame, spec)
        if ident.estimand != self.kind.value:
            raise InputError(
                f"The graph does not identify the effect by {self.kind}: {ident.reading}"
            )
        return data, ident, estimate_effect(data, ident, target=spec.target, seed=spec.seed)

    def estimate(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignEstimate:
        data, ident, est = self._estimated(frame, spec)
        primary = est.estimate.model_dump()
        return DesignEstimate(
            method=primary["method"],
            estimand=primary["target"].upper(),
            value=primary["value"],
            ci_low=primary["ci_low"],
            ci_high=primary["ci_high"],
            se=primary.get("se"),
            se_type=primary.get("se_type"),
            scale=primary.get("scale"),
            n_rows=est.n_rows,
            details={"alternatives": [a.model_dump() for a in est.alternatives]},
            reading=est.reading,
            warnings=est.warnings,
            code=self.code(spec) + data.result.code + ident.code + est.code,
        )

    def checks(
        self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate
    ) -> list[DesignCheck]:
        """DoWhy's refuters (placebo, random common cause, subsets, ...) on this graph."""
        data, ident, est = self._estimated(frame, spec)
        refuted = refute_estimate(data, ident, est, seed=spec.seed, budget_s=CHECK_BUDGET_S)
        return [
            DesignCheck(
                name=r.name,
                status=r.status,
                reading=r.reading,
                statistic=r.new_effect,
                p_value=r.p_value,
                details=r.details,
            )
            for r in refuted.refutations
        ]

    def code(self, spec: DesignSpec) -> str:
        """The portable functions the graph path's calls use; ``estimate(...).code``
        appends the calls themselves (which depend on the data's columns), so that one
        is the self-contained snippet."""
        return library_code(PORTABLE_MODULES) + "\n\n"
