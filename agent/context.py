"""What the stages need besides state: settings, the reasoner, and cached model data.

None of this is checkpointed; it is rebuilt per process from configuration, which is why a
resumed conversation behaves exactly as the original one.
"""

import json
from collections import OrderedDict
from dataclasses import dataclass, field

from agent.config import Settings
from agent.datastore import load_frame
from agent.reasoners.base import Reasoner
from agent.state import AnalysisState
from tools.graphs import CausalGraph
from tools.modeldata import ModelData, build_model_data

MODEL_DATA_CACHE = 4


@dataclass
class AgentContext:
    settings: Settings
    reasoner: Reasoner
    _model_data: OrderedDict = field(default_factory=OrderedDict)

    def frame(self, state: AnalysisState):
        dataset = state["dataset"]
        return load_frame(dataset["path"], dataset["hash"])

    def model_data(self, state: AnalysisState) -> ModelData:
        """Prepared data for the state's graph, built once per (data, graph, variables)."""
        key = json.dumps([state["dataset"]["hash"], state["graph"], state["treatment"],
                          state["outcome"], state.get("treated_level")], sort_keys=True,
                         default=str)
        if key not in self._model_data:
            graph = CausalGraph.model_validate(state["graph"])
            self._model_data[key] = build_model_data(
                self.frame(state), graph, state["treatment"], state["outcome"],
                state.get("treated_level"))
            while len(self._model_data) > MODEL_DATA_CACHE:
                self._model_data.popitem(last=False)
        return self._model_data[key]
