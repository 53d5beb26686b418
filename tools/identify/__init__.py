"""The identification stage: adjustment sets and DoWhy identification of the estimand."""

from causal_assistant.tools.lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from causal_assistant.tools.identify.adjustment import backdoor_set as backdoor_set
    from causal_assistant.tools.identify.adjustment import structural_role as structural_role
    from causal_assistant.tools.identify.bounds import BoundsResult as BoundsResult
    from causal_assistant.tools.identify.bounds import bound_effect as bound_effect
    from causal_assistant.tools.identify.identification import (
        IdentificationResult as IdentificationResult,
    )
    from causal_assistant.tools.identify.identification import identify_effect as identify_effect
    from causal_assistant.tools.identify.proximal import proximal_effect as proximal_effect
    from causal_assistant.tools.identify.proximal import suggest_proxies as suggest_proxies

__getattr__ = lazy_exports(__name__, __file__)
