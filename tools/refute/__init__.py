"""The refutation stage: refuters, sensitivity and graph falsification."""

from causal_assistant.tools.lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from causal_assistant.tools.refute.refutation import RefutationResult as RefutationResult
    from causal_assistant.tools.refute.refutation import plan_refutations as plan_refutations
    from causal_assistant.tools.refute.refutation import refute_estimate as refute_estimate
    from causal_assistant.tools.refute.sensitivity import sensitivity_check as sensitivity_check

__getattr__ = lazy_exports(__name__, __file__)
