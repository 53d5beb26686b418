"""The estimation stage: the estimator catalogue, effect estimation with intervals, overlap."""
