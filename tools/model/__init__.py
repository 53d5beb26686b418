"""The modeling stage: causal graphs, discovery, roles, critique of a graph against the
data, instrument screens."""

from causal_assistant.tools.lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from causal_assistant.tools.model.critique import CritiqueResult as CritiqueResult
    from causal_assistant.tools.model.critique import critique_graph as critique_graph
    from causal_assistant.tools.model.discovery import DiscoveryResult as DiscoveryResult
    from causal_assistant.tools.model.discovery import discover as discover
    from causal_assistant.tools.model.domain_checks import DomainCheckResult as DomainCheckResult
    from causal_assistant.tools.model.domain_checks import check_proposals as check_proposals
    from causal_assistant.tools.model.graphs import CausalGraph as CausalGraph
    from causal_assistant.tools.model.graphs import Edge as Edge
    from causal_assistant.tools.model.graphs import find_cycle as find_cycle
    from causal_assistant.tools.model.graphs import parse_graph as parse_graph
    from causal_assistant.tools.model.graphs import read_graph as read_graph
    from causal_assistant.tools.model.graphs import validate_graph as validate_graph
    from causal_assistant.tools.model.independence import independence_test as independence_test
    from causal_assistant.tools.model.instruments import InstrumentResult as InstrumentResult
    from causal_assistant.tools.model.instruments import suggest_instruments as suggest_instruments
    from causal_assistant.tools.model.modeling import ModelingResult as ModelingResult
    from causal_assistant.tools.model.modeling import exclusion_reason as exclusion_reason
    from causal_assistant.tools.model.modeling import propose_graph as propose_graph

__getattr__ = lazy_exports(__name__, __file__)
