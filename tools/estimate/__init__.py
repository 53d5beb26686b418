"""The estimation stage: the estimator catalogue, effect estimation with intervals, overlap."""

from causal_assistant.tools.lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from causal_assistant.tools.estimate.estimation import EstimationResult as EstimationResult
    from causal_assistant.tools.estimate.estimation import estimate_effect as estimate_effect
    from causal_assistant.tools.estimate.estimators import spec_for as spec_for
    from causal_assistant.tools.estimate.overlap import balance_diagnostics as balance_diagnostics
    from causal_assistant.tools.estimate.overlap import check_overlap as check_overlap
    from causal_assistant.tools.estimate.subgroups import effects_by_group as effects_by_group

__getattr__ = lazy_exports(__name__, __file__)
