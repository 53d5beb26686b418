"""What the stages need besides state: settings, the reasoner, and cached model data.

None of this is checkpointed; it is rebuilt per process from configuration, which is why a
resumed conversation behaves exactly as the original one.
"""

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from causal_assistant.agent.config import Settings
from causal_assistant.agent.datastore import load_frame
from causal_assistant.agent.reasoners.base import Reasoner
from causal_assistant.agent.state import AnalysisState, one_of
from causal_assistant.tools.data import ModelData, build_model_data
from causal_assistant.tools.identify.identification import (
    DESIGNS,
    IdentificationResult,
    identify_effect,
)
from causal_assistant.tools.model import CausalGraph

CACHE_SIZE = 8


class RunCancelled(Exception):
    """The user a run was for has left; raised between stages and refuter steps so that
    nothing more runs for nobody."""


@dataclass
class AgentContext:
    settings: Settings
    reasoner: Reasoner
    _cache: OrderedDict = field(default_factory=OrderedDict)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise RunCancelled("the analysis was cancelled: its user left")

    def frame(self, state: AnalysisState):
        dataset, settings = state["dataset"], self.settings
        return load_frame(
            dataset["path"],
            dataset["hash"],
            max_columns=settings.max_columns,
            max_cells=settings.max_cells,
        )

    def model_data(self, state: AnalysisState) -> ModelData:
        """Prepared data for the state's graph, built once per (data, graph, variables)."""
        return self._cached(
            self._key(state),
            lambda: build_model_data(
                self.frame(state),
                CausalGraph.model_validate(state["graph"]),
                state["treatment"],
                state["outcome"],
                state.get("treated_level"),
                cluster_of(state),
            ),
        )

    def identified(self, state: AnalysisState) -> tuple[ModelData, IdentificationResult]:
        """Prepared data and its identification, computed once for the identification,
        estimation and refutation stages of a run."""
        data = self.model_data(state)
        design = state.get("design")
        prefer = one_of(design, DESIGNS, "design") if design else None
        key = self._key(state, state.get("adjustment"), prefer)
        ident = self._cached(key, lambda: identify_effect(data, state.get("adjustment"), prefer))
        return data, ident

    @staticmethod
    def _key(state: AnalysisState, *extra: object) -> str:
        return json.dumps(
            [
                state["dataset"]["hash"],
                state["graph"],
                state["treatment"],
                state["outcome"],
                state.get("treated_level"),
                *extra,
            ],
            sort_keys=True,
            default=str,
        )

    def _cached(self, key: str, build):
        if key not in self._cache:
            self._cache[key] = build()
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return self._cache[key]


def cluster_of(state: AnalysisState) -> str | None:
    """The column standard errors cluster by: the user's, else the modeller's choice."""
    requested = ((state.get("design_request") or {}).get("columns") or {}).get("cluster")
    return requested or state.get("cluster") or (state.get("modeling") or {}).get("cluster")
