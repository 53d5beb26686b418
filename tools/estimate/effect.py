"""One effect estimate with its interval: its own module because estimation, the scale
of the answer and the subgroups all read it, and estimation uses the other two."""

import numpy as np
from pydantic import BaseModel

from causal_assistant.tools.estimate.estimators import Target


class EffectEstimate(BaseModel):
    method: str
    label: str
    target: Target
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    se: float | None = None
    se_type: str | None = None  # "HC1", "clustered by village (40 groups)", "bootstrap"
    params: dict = {}

    @property
    def interval(self) -> tuple[float, float] | None:
        """(low, high) when both limits are finite numbers, else None."""
        if self.ci_low is None or self.ci_high is None:
            return None
        if not np.isfinite([self.ci_low, self.ci_high]).all():
            return None
        return self.ci_low, self.ci_high

    def interval_known(self) -> bool:
        return self.interval is not None
