"""The estimators the designs run, written to be copied verbatim into the exported script.

Each function imports what it needs inside its body and calls only functions defined here,
so ``snippet`` can paste their source ahead of a call and the downloaded script computes
the very numbers the assistant reported (same rows, same columns, same library call). They
return plain dicts whose ``value``/``ci_low``/``ci_high``/``ci_method`` keys the script
prints. The trial's balance check and the IV checks are here too, so ``--refute`` judges
them with the same code (a robust joint test, standardised differences).
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


def robust_joint_test(y, tested, held=None):
    """(Wald chi-square, p-value) that all coefficients on ``tested`` are zero in the OLS
    of ``y`` on a constant, ``held`` and ``tested``, with HC1 errors."""
    import warnings

    import numpy as np
    import statsmodels.api as sm
    from scipy import stats
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning, ValueWarning

    base = np.ones((len(y), 1)) if held is None else np.column_stack([np.ones(len(y)), held])
    k = tested.shape[1]
    restriction = np.zeros((k, base.shape[1] + k))
    restriction[:, base.shape[1] :] = np.eye(k)
    with warnings.catch_warnings():  # collinear columns: the rank below sets the df
        warnings.simplefilter("ignore", ValueWarning)
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = sm.OLS(y, np.column_stack([base, tested])).fit(cov_type="HC1")
        wald = fit.wald_test(restriction, scalar=True)
    statistic = float(wald.statistic)
    return statistic, float(stats.chi2.sf(statistic, max(1, np.linalg.matrix_rank(tested))))


def standardised_differences(x, treated):
    """Difference in means over the pooled standard deviation, per covariate column."""
    import numpy as np

    on, off = x[treated == 1], x[treated == 0]
    pooled = np.sqrt((on.var() + off.var()) / 2).replace(0, np.nan)
    return ((on.mean() - off.mean()) / pooled).fillna(0.0)


def balance_table(frame, treated, covariates):
    """Standardised differences and the joint test that the covariates do not predict
    the treatment (a linear probability model; randomisation implies it holds)."""
    x = covariate_matrix(frame, covariates)
    differences = standardised_differences(x, treated)
    if x.shape[1] == 0:
        return differences, 0.0, 1.0
    statistic, p_value = robust_joint_test(treated, x.to_numpy())
    return differences, statistic, p_value


def balance_check(df, treatment, covariates, max_difference):
    """The trial's balance check: fail when the covariates jointly predict the treatment
    (p < 0.01) and some standardised difference reaches ``max_difference``; warn when
    either happens (p < 0.05 for the test)."""
    name = "covariate_balance"
    if not covariates:
        return {"name": name, "status": "warn", "statistic": None, "p_value": None}
    data = df[[treatment, *covariates]].dropna()
    treated, _ = treated_indicator(data[treatment])
    differences, statistic, p_value = balance_table(data, treated, covariates)
    largest = differences.abs().sort_values(ascending=False)
    imbalanced = list(largest[largest >= max_difference].index)
    if p_value < 0.01 and imbalanced:
        status = "fail"
    elif p_value < 0.05 or imbalanced:
        status = "warn"
    else:
        status = "pass"
    return {
        "name": name,
        "status": status,
        "statistic": statistic,
        "p_value": p_value,
        "differences": differences,
        "imbalanced": imbalanced,
    }


def iv_checks(numbers, weak_f):
    """First-stage strength (fail when the instruments do not move the treatment at 5%,
    warn below ``weak_f``) and, with several instruments, the overidentification test
    (fail at p < 0.01, warn at p < 0.05), from ``iv_fit``'s numbers."""
    f, p = numbers["first_stage_f"], numbers["first_stage_p"]
    checks = [
        {
            "name": "first_stage_strength",
            "status": "fail" if p >= 0.05 else "warn" if f < weak_f else "pass",
            "statistic": f,
            "p_value": p,
        }
    ]
    overid = numbers.get("overid")
    if overid:
        q = overid["p_value"]
        checks.append(
            {
                "name": "overidentification",
                "status": "fail" if q < 0.01 else "warn" if q < 0.05 else "pass",
                "statistic": overid["statistic"],
                "p_value": q,
            }
        )
    return checks


def reduced_form_placebo(df, candidates, instruments, covariates):
    """Variables the graph says cannot depend on the instruments (given the covariates)
    must not be predicted by them: the robust joint test for each numeric one, the
    smallest p-value Bonferroni-adjusted (fail below 0.01, warn below 0.05). None when no
    candidate is a numeric column of ``df``."""
    import pandas as pd

    testable = [
        name
        for name in candidates
        if name in df.columns and pd.api.types.is_numeric_dtype(df[name])
    ]
    if not testable:
        return None
    p_values = {}
    for name in testable:
        data = df[[name, *instruments, *covariates]].dropna()
        _, p_values[name] = robust_joint_test(
            data[name].to_numpy(dtype=float),
            covariate_matrix(data, instruments).to_numpy(),
            covariate_matrix(data, covariates).to_numpy() if covariates else None,
        )
    worst = min(p_values, key=lambda name: p_values[name])
    adjusted = min(1.0, p_values[worst] * len(p_values))
    return {
        "name": "reduced_form_placebo",
        "status": "fail" if adjusted < 0.01 else "warn" if adjusted < 0.05 else "pass",
        "statistic": None,
        "p_value": adjusted,
        "p_values": p_values,
        "worst": worst,
        "testable": testable,
    }


def snippet(functions: tuple[Callable, ...], call: str, name: str = "numbers") -> str:
    """Self-contained code: the functions' source, then ``<name> = <call>``."""
    sources = "\n\n".join(inspect.getsource(fn) for fn in functions)
    return f"{sources}\n\n{name} = {call}\n"
