"""The linear proximal estimator, whose source is copied verbatim into the exported script.

Same rules as ``tools.portable``: self-contained functions over a DataFrame, listed in
``PORTABLE_FUNCTIONS``. ``tools.identify.proximal`` wraps the numbers in readings.

Notation: A the treatment, Y the outcome, Z a negative-control exposure and W a
negative-control outcome (two proxies of a hidden confounder U), X measured covariates.
"""

import numpy as np
import pandas as pd


def proximal_fit(frame, outcome, treatment, nc_exposure, nc_outcome, covariates=()):
    """Proximal two-stage least squares (Tchetgen Tchetgen et al. 2020; Miao et al. 2018).

    Stage 1 regresses W on A, Z and X; stage 2 regresses Y on A, the predicted W and X,
    and the coefficient on A is the effect. That is two-stage least squares of Y on A, W
    and X with W instrumented by Z, so the interval comes from the 2SLS sandwich
    (heteroskedasticity-robust, small-sample corrected), which uses the residual with the
    observed W and thereby accounts for W having been predicted. Also returns the
    estimate with no proxy (OLS of Y on A and X) and the first-stage F of Z on W.
    linearmodels is imported here, when proxies are used, not by every run.
    """
    from linearmodels.iv import IV2SLS

    columns = list(dict.fromkeys([outcome, treatment, nc_exposure, nc_outcome, *covariates]))
    rows = frame[columns].dropna().astype(float)
    exog = pd.concat(
        [pd.Series(1.0, index=rows.index, name="const"), rows[[treatment, *covariates]]], axis=1
    )
    fit = IV2SLS(rows[outcome], exog, rows[[nc_outcome]], rows[[nc_exposure]]).fit(
        cov_type="robust", debiased=True
    )
    low, high = fit.conf_int().loc[treatment]
    naive = IV2SLS(rows[outcome], exog, None, None).fit(cov_type="robust", debiased=True)
    naive_low, naive_high = naive.conf_int().loc[treatment]
    first = fit.first_stage.diagnostics.loc[nc_outcome]  # type: ignore[attr-defined]  # IV2SLS.fit is typed as returning OLSResults
    return {
        "value": float(fit.params[treatment]),
        "se": float(fit.std_errors[treatment]),
        "ci_low": float(low),
        "ci_high": float(high),
        "naive_value": float(naive.params[treatment]),
        "naive_ci_low": float(naive_low),
        "naive_ci_high": float(naive_high),
        "first_stage_f": float(first["f.stat"]),
        "first_stage_p": float(first["f.pval"]),
        "n_rows": int(len(rows)),
    }


def proximal_two_stage(frame, outcome, treatment, nc_exposure, nc_outcome, covariates=()):
    """The same point estimate by the two regressions spelled out (no interval): the
    readable form of ``proximal_fit``."""
    columns = list(dict.fromkeys([outcome, treatment, nc_exposure, nc_outcome, *covariates]))
    rows = frame[columns].dropna().astype(float)
    ones = np.ones((len(rows), 1))
    given = rows[[treatment, *covariates]].to_numpy()
    first = np.hstack([ones, given, rows[[nc_exposure]].to_numpy()])
    w = rows[nc_outcome].to_numpy()
    w_hat = first @ np.linalg.lstsq(first, w, rcond=None)[0]
    second = np.hstack([ones, given, w_hat[:, None]])
    return float(np.linalg.lstsq(second, rows[outcome].to_numpy(), rcond=None)[0][1])


PORTABLE_FUNCTIONS = (proximal_fit, proximal_two_stage)
