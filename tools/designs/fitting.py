"""The estimators the designs run, written to be copied verbatim into the exported script.

Each function imports what it needs inside its body and calls only functions defined here,
so ``snippet`` can paste their source ahead of a call and the downloaded script computes
the very numbers the assistant reported (same rows, same columns, same library call). They
return plain dicts whose ``value``/``ci_low``/``ci_high``/``ci_method`` keys the script
prints.
"""

import inspect
from collections.abc import Callable


def treated_indicator(values):
    """1.0 for the treated level (the larger of two, as in the backdoor path), else 0.0."""
    levels = sorted(values.dropna().unique().tolist())
    if len(levels) != 2:
        raise ValueError(f"{values.name!r} has {len(levels)} values; a two-group design needs 2")
    return (values == levels[-1]).astype(float).to_numpy(), levels[-1]


def covariate_matrix(data, covariates):
    """Covariates as floats, categories as indicator columns, constant columns dropped."""
    import pandas as pd

    if not covariates:
        return pd.DataFrame(index=data.index)
    matrix = pd.get_dummies(data[list(covariates)], drop_first=True).astype(float)
    return matrix.loc[:, matrix.std() > 0]


def rct_fit(df, treatment, outcome, covariates, target="ate"):
    """Difference in means and Lin's (2013) regression adjustment: the outcome on the
    treatment, covariates centred at the target group's mean and their interactions with
    the treatment; HC2 errors. The primary estimate is Lin's when covariates exist and the
    sample is large enough for the interacted model, else the difference in means."""
    import numpy as np
    import statsmodels.api as sm

    data = df[list(dict.fromkeys([treatment, outcome, *covariates]))].dropna()
    t, treated_level = treated_indicator(data[treatment])
    y = data[outcome].astype(float).to_numpy()
    x = covariate_matrix(data, covariates).to_numpy()
    group = {"ate": np.ones(len(t), bool), "att": t == 1, "atc": t == 0}[target]

    def summary(fit, method):
        low, high = fit.conf_int()[1]
        return {
            "method": method,
            "value": float(fit.params[1]),
            "se": float(fit.bse[1]),
            "ci_low": float(low),
            "ci_high": float(high),
            "ci_method": "HC2 robust standard error, normal 95% interval",
        }

    simple = summary(
        sm.OLS(y, np.column_stack([np.ones(len(y)), t])).fit(cov_type="HC2"),
        "difference_in_means",
    )
    result = {"alternatives": [], "n_rows": len(y), "treated_level": treated_level}
    if x.shape[1] and len(y) > 2 * (2 * x.shape[1] + 2):
        centred = x - x[group].mean(axis=0)
        design = np.column_stack([np.ones(len(y)), t, centred, centred * t[:, None]])
        lin = summary(sm.OLS(y, design).fit(cov_type="HC2"), "lin_interacted_regression")
        return {**result, **lin, "alternatives": [simple]}
    return {**result, **simple}


def iv_fit(
    df, treatment, outcome, instruments, covariates, cluster=None, estimator="auto", weak_f=10.0
):
    """Two-stage least squares with covariates (linearmodels), robust or clustered errors;
    with ``estimator="auto"`` LIML replaces 2SLS when the first-stage F is below ``weak_f``
    (10, Staiger and Stock), as LIML
    is median-unbiased with weak instruments. The first-stage F is the robust (or
    clustered) Wald statistic divided by the number of instruments, which for one
    instrument is the effective F of Montiel Olea and Pflueger."""
    import pandas as pd
    from linearmodels.iv import IV2SLS, IVLIML

    used = [treatment, outcome, *instruments, *covariates, *([cluster] if cluster else [])]
    data = df[list(dict.fromkeys(used))].dropna()
    if pd.api.types.is_numeric_dtype(data[treatment]) and data[treatment].nunique() > 2:
        endog = data[[treatment]].astype(float)
    else:
        endog = pd.DataFrame({treatment: treated_indicator(data[treatment])[0]}, data.index)
    exog = covariate_matrix(data, covariates)
    exog.insert(0, "const", 1.0)
    instr = covariate_matrix(data, instruments)
    dependent = data[outcome].astype(float)
    if cluster:
        options = {
            "cov_type": "clustered",
            "clusters": pd.Series(pd.factorize(data[cluster])[0], data.index),
        }
        se_type = f"clustered by {cluster}"
    else:
        options, se_type = {"cov_type": "robust"}, "robust (HC0)"

    def fitted(model):
        return model(dependent, exog, endog, instr).fit(**options)

    tsls = fitted(IV2SLS)
    diagnostics = tsls.first_stage.diagnostics.loc[treatment]
    first_f = float(diagnostics["f.stat"]) / instr.shape[1]
    use_liml = estimator == "liml" or (estimator == "auto" and first_f < weak_f)
    fit = fitted(IVLIML) if use_liml else tsls
    low, high = fit.conf_int().loc[treatment]
    overid = None
    if instr.shape[1] > 1:
        test = tsls.wooldridge_overid  # score test, robust to heteroskedasticity
        overid = {"statistic": float(test.stat), "p_value": float(test.pval)}
    return {
        "method": "iv.liml" if use_liml else "iv.2sls",
        "value": float(fit.params[treatment]),
        "se": float(fit.std_errors[treatment]),
        "se_type": se_type,
        "ci_low": float(low),
        "ci_high": float(high),
        "ci_method": f"{se_type} standard error, normal 95% interval",
        "n_rows": len(data),
        "first_stage_f": first_f,
        "first_stage_p": float(diagnostics["f.pval"]),
        "partial_r2": float(diagnostics["partial.rsquared"]),
        "overid": overid,
        "alternatives": []
        if not use_liml
        else [
            {
                "method": "iv.2sls",
                "value": float(tsls.params[treatment]),
                "ci_low": float(tsls.conf_int().loc[treatment].iloc[0]),
                "ci_high": float(tsls.conf_int().loc[treatment].iloc[1]),
            }
        ],
    }


def snippet(functions: tuple[Callable, ...], call: str) -> str:
    """Self-contained code: the functions' source, then ``numbers = <call>``."""
    sources = "\n\n".join(inspect.getsource(fn) for fn in functions)
    return f"{sources}\n\nnumbers = {call}\n"
