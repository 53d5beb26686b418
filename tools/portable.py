"""Analysis steps whose source is copied verbatim into the exported ``analysis.py``.

The tools call these functions to produce every number the user sees, and the exporter
embeds their source (via ``inspect``) into the script the user downloads, so the script
recomputes the numbers with the very same code. Hence the rules for this module: it imports
only numpy, pandas, networkx, joblib and dowhy (and DoWhy's own dependencies scipy and
statsmodels); every function is self-contained (no helper from elsewhere in the package,
no module-level state); and ``PORTABLE_FUNCTIONS`` lists
them in dependency order for the exporter.
"""

import logging
import re
import warnings

import joblib
import networkx as nx
import numpy as np
import pandas as pd


def safe_names(columns):
    """Map each column to a name DoWhy's formulas accept (letters, digits, underscores;
    never a Python keyword such as ``if`` or ``True``, nor a word like ``inf`` or ``nan``
    that a formula reads as a number)."""
    import keyword

    mapping, taken = {}, set()
    for column in columns:
        base = re.sub(r"\W+", "_", str(column), flags=re.ASCII).strip("_") or "col"
        if (
            base[0].isdigit()
            or keyword.iskeyword(base)
            or base.lower() in ("inf", "infinity", "nan")
        ):
            base = "v_" + base
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        mapping[column] = name
        taken.add(name)
    return mapping


def prepare_frame(
    df, treatment, outcome, covariates, treated_level=None, categorical=(), cluster=None
):
    """Return the model frame, a map from each original column to its model columns, and
    the number of rows dropped for missing values.

    Rows missing any used value (or holding an infinite number) are dropped; a binary
    treatment becomes a boolean (treated means equal to ``treated_level``, or the larger of
    its two values); a categorical covariate, or a numeric one named in ``categorical``
    (integer codes such as marital status 1-6), becomes one indicator per level but the
    first (named uniquely among all model columns); datetimes become days since the epoch.
    Names are made formula-safe because DoWhy builds formulas from them. A ``cluster``
    column's group codes go to the column ``_cluster`` (no model column starts with '_'),
    outside the column map, so they reach the standard errors but never the model.
    """
    used = list(dict.fromkeys([treatment, outcome, *covariates]))
    kept = used + ([cluster] if cluster is not None and cluster not in used else [])
    data = df[kept].replace([np.inf, -np.inf], np.nan).dropna()
    n_dropped = len(df) - len(data)
    names = safe_names(used)
    taken = set(names.values())
    frame, column_map = pd.DataFrame(index=data.index), {}
    for column in used:
        values, name = data[column], names[column]
        if column == treatment and values.nunique() == 2:
            level = treated_level if treated_level is not None else sorted(values.unique())[1]
            frame[name] = values == level
            column_map[column] = [name]
        elif column not in categorical and (
            pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values)
        ):
            frame[name] = values.astype(float)
            column_map[column] = [name]
        elif pd.api.types.is_datetime64_any_dtype(values):
            frame[name] = (values - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
            column_map[column] = [name]
        elif column == outcome:
            raise ValueError(f"outcome {column!r} is not numeric")
        else:
            levels = sorted(values.astype(str).unique())
            column_map[column] = []
            for level in levels[1:]:
                # unique against every other model column too: level 'b' of 'region'
                # must not overwrite a column that is itself called 'region_b'
                base = dummy = safe_names([f"{name}_{level}"])[f"{name}_{level}"]
                suffix = 2
                while dummy in taken:
                    dummy, suffix = f"{base}_{suffix}", suffix + 1
                taken.add(dummy)
                frame[dummy] = (values.astype(str) == level).astype(float)
                column_map[column].append(dummy)
    if cluster is not None:
        frame["_cluster"] = pd.factorize(data[cluster].astype(str), sort=True)[0]
    return frame.reset_index(drop=True), column_map, n_dropped


def latent_names(column_map, unobserved):
    """Safe names for unobserved variables that never coincide with a measured column."""
    measured = [column for columns in column_map.values() for column in columns]
    names = safe_names([*measured, *unobserved])
    return {node: names[node] for node in unobserved}


def model_graph(edges, column_map, unobserved=()):
    """Expand a graph over original variables into one over model columns.

    A categorical variable stands for its indicator columns, each with the variable's
    edges; an unobserved variable keeps a safe name and DoWhy's ``observed="no"`` mark.
    """
    latent = latent_names(column_map, unobserved)
    graph = nx.DiGraph()
    for node in list(column_map) + list(unobserved):
        for column in column_map.get(node, [latent.get(node)]):
            graph.add_node(column)
    for node in unobserved:
        graph.nodes[latent[node]]["observed"] = "no"
    for cause, effect in edges:
        for source in column_map.get(cause, [latent.get(cause)]):
            for target in column_map.get(effect, [latent.get(effect)]):
                graph.add_edge(source, target)
    return graph


def quiet_dowhy():
    """Silence DoWhy's per-call log lines and library warnings, which drown the output."""
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def identify(frame, graph, treatment, outcome, adjustment=None):
    """Run DoWhy's identification on the model graph and return the identified estimand,
    with ``adjustment`` (model columns) as the backdoor set when one is given."""
    from dowhy import CausalModel

    quiet_dowhy()
    model = CausalModel(data=frame, treatment=treatment, outcome=outcome, graph=graph)
    # DoWhy's default search for a small backdoor set checks up to 10^5 subsets (40 s with
    # 25 covariates); the maximal set is immediate, and the caller passes the set to use.
    estimand = model.identify_effect(
        method_name="maximal-adjustment", proceed_when_unidentifiable=True
    )
    if estimand.estimands.get("backdoor") is not None:
        # DoWhy returns sets in hash order, which differs between processes; sorting keeps
        # the regression's column order, and so the last digits, reproducible.
        chosen = sorted(estimand.get_backdoor_variables() if adjustment is None else adjustment)
        for key in {"backdoor", estimand.default_backdoor_id}:
            estimand.set_backdoor_variables(chosen, key=key)
    return estimand


def regression_interactions(frame, treatment, outcome, covariates, target, cluster=None):
    """Regression with treatment-by-covariate interactions (g-computation): the effect for
    the units the target names (ATE: everyone, ATT: the treated, ATC: the untreated) is the
    treatment's coefficient when the covariates are centred at that group's means, with
    HC1 or clustered errors from ``robust_ols``."""
    data = frame[[treatment, outcome, *covariates]].astype(float)
    chosen = {"att": data[treatment] == 1, "atc": data[treatment] == 0}.get(
        target, np.ones(len(data), dtype=bool)
    )
    columns = []
    for covariate in covariates:
        centred = data[covariate] - data.loc[chosen, covariate].mean()
        data[covariate] = centred
        name = f"{treatment}_x_{covariate}"
        data[name] = data[treatment] * centred
        columns.append(name)
    if cluster is not None:
        data["_cluster"] = frame[cluster].to_numpy()
    return robust_ols(
        data, treatment, outcome, [*covariates, *columns], None if cluster is None else "_cluster"
    )


def fit_effect(frame, graph, treatment, outcome, estimand, method, target, params):
    """One DoWhy estimate, fitted from scratch on a clean copy of the graph's columns: the
    effect of switching a binary treatment from False to True, or of one unit more of a
    continuous one.

    DoWhy's estimators write scratch columns (``propensity_score``, ``ips_weight``, ...)
    into the frame they are given and reuse a ``propensity_score`` they find there, which
    is how a placebo came to be scored with the real treatment's propensities (dowhy#1728);
    a fresh copy re-fits every model.
    """
    from dowhy import CausalModel

    quiet_dowhy()
    if method == "backdoor.regression_interactions":
        from types import SimpleNamespace

        covariates = sorted(estimand.get_backdoor_variables() or [])
        numbers = regression_interactions(frame, treatment, outcome, covariates, target)
        return SimpleNamespace(value=numbers["value"])
    clean = frame[[column for column in frame.columns if column in graph]].copy()
    model = CausalModel(data=clean, treatment=treatment, outcome=outcome, graph=graph)
    is_binary = clean[treatment].dtype == bool
    return model.estimate_effect(
        estimand,
        method_name=method,
        target_units=target,
        method_params=dict(params) or None,
        control_value=False if is_binary else 0,
        treatment_value=True if is_binary else 1,
        # DoWhy would otherwise take every outcome-only cause as an effect modifier and
        # estimate conditional effects for each, which is slow and not what was asked.
        effect_modifiers=[],
    )


def robust_ols(frame, treatment, outcome, covariates, cluster=None):
    """Least squares of the outcome on the treatment and ``covariates`` with standard
    errors that do not assume equal variances: HC1 (White's, with the n/(n-k) correction
    Stata uses), or clustered by the ``cluster`` column's groups (CR1) with t(G-1)
    quantiles, because rows in one village or school share shocks."""
    import statsmodels.api as sm
    from scipy import stats

    x = sm.add_constant(frame[[treatment, *covariates]].astype(float), has_constant="add")
    model = sm.OLS(frame[outcome].astype(float), x)
    if cluster is None:
        fit = model.fit(cov_type="HC1")
        dof, se_type = len(frame) - x.shape[1], "HC1"
    else:
        groups = np.asarray(frame[cluster])
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        dof = len(np.unique(groups)) - 1
        se_type = f"clustered ({len(np.unique(groups))} groups)"
    value, se = float(fit.params[treatment]), float(fit.bse[treatment])
    q = float(stats.t.ppf(0.975, max(dof, 1)))
    return {
        "value": value,
        "se": se,
        "ci_low": value - q * se,
        "ci_high": value + q * se,
        "se_type": se_type,
    }


def propensity_scores(frame, treatment, covariates):
    """Propensity scores from the model DoWhy's propensity estimators fit (scikit-learn's
    default ``LogisticRegression`` on the covariates), so an interval rests on the scores
    the estimate used."""
    from sklearn.linear_model import LogisticRegression

    x = frame[covariates].to_numpy(dtype=float)
    t = frame[treatment].to_numpy(dtype=float)
    return LogisticRegression().fit(x, t).predict_proba(x)[:, 1], x, t


def weighting_se(frame, treatment, outcome, covariates, target, params, cluster=None):
    """Standard error of DoWhy's propensity weighting estimate by M-estimation: the
    influence function of the difference of the two weighted (Hajek) means, including how
    the estimated propensity model moves them (Lunceford and Davidian 2004), so the interval
    is not too wide, as it is when the scores are taken as known.

    DoWhy's schemes (raw, normalized, stabilized) differ by factors constant within each
    group, so the family by target matters: 1/e and 1/(1-e) for the ATE, 1 and e/(1-e) for
    the ATT, (1-e)/e and 1 for the ATC, scores clipped as DoWhy does (a clipped score does
    not move with the model). Rows are summed within clusters when there are any.
    """
    score, x, t = propensity_scores(frame, treatment, covariates)
    y = frame[outcome].to_numpy(dtype=float)
    low, high = params.get("min_ps_score", 0.05), params.get("max_ps_score", 0.95)
    e = np.clip(score, low, high)
    moves = (score > low) & (score < high)
    # weight of each group and its derivative in the logistic model's linear predictor
    w1, d1 = {
        "ate": (1 / e, -(1 - e) / e),
        "att": (np.ones_like(e), np.zeros_like(e)),
        "atc": ((1 - e) / e, -(1 - e) / e),
    }[target]
    w0, d0 = {
        "ate": (1 / (1 - e), e / (1 - e)),
        "att": (e / (1 - e), e / (1 - e)),
        "atc": (np.ones_like(e), np.zeros_like(e)),
    }[target]
    design = np.column_stack([np.ones(len(y)), x])
    fisher = design.T @ (design * (score * (1 - score))[:, None]) / len(y)
    ident = np.linalg.solve(fisher, (design * (t - score)[:, None]).T).T  # propensity model
    pieces = []
    for group, weight, slope in ((t, w1, d1), (1 - t, w0, d0)):
        mean = float((weight * group) @ y / (weight @ group))
        residual = group * (y - mean)
        gradient = design.T @ (residual * slope * moves) / len(y)
        pieces.append((weight * residual + ident @ gradient) / float(np.mean(weight * group)))
    influence = pieces[0] - pieces[1]
    if cluster is not None:
        influence = np.bincount(pd.factorize(np.asarray(frame[cluster]))[0], weights=influence)
    return float(np.sqrt(np.sum(influence**2)) / len(y))


def matching_se(frame, treatment, outcome, covariates, target, neighbours=4):
    """Standard error of DoWhy's one-nearest-neighbour propensity score matching by Abadie
    and Imbens (2006): the spread of the matched differences plus each unit's conditional
    variance (from its nearest neighbour of its own group) times how often it was used as a
    match. That takes the scores as known, which errs on the wide side for the ATE, so the
    ATE's variance subtracts Abadie and Imbens' (2016) term for the estimated logistic
    model, with the covariances of covariates and outcome at each score taken among the
    ``neighbours`` nearest units of each group. For the ATT and ATC the known-score
    variance is kept (the correction there has no sign and is small in simulations)."""
    from sklearn.neighbors import NearestNeighbors

    score, x, t = propensity_scores(frame, treatment, covariates)
    y = frame[outcome].to_numpy(dtype=float)
    on, off = np.flatnonzero(t == 1), np.flatnonzero(t == 0)

    def nearest(pool, queries, k=1):
        tree = NearestNeighbors(n_neighbors=k, algorithm="ball_tree")
        tree.fit(score[pool].reshape(-1, 1))
        return pool[tree.kneighbors(score[queries].reshape(-1, 1))[1]]

    def twins(group):
        """Each unit's nearest other unit of its own group."""
        pair = nearest(group, group, 2)
        return np.where(pair[:, 0] == group, pair[:, 1], pair[:, 0])

    match, twin = np.empty(len(y), dtype=int), np.empty(len(y), dtype=int)
    match[on], match[off] = nearest(off, on)[:, 0], nearest(on, off)[:, 0]
    twin[on], twin[off] = twins(on), twins(off)
    used = np.bincount(match, minlength=len(y)).astype(float)  # K(i): times used as a match
    variance = 0.5 * (y - y[twin]) ** 2
    difference = np.where(t == 1, y - y[match], y[match] - y)
    chosen = {"ate": np.ones(len(y), dtype=bool), "att": t == 1, "atc": t == 0}[target]
    n = chosen.sum()
    tau = difference[chosen].mean()
    spread = np.sum((difference[chosen] - tau) ** 2)
    if target != "ate":  # the other group's units enter only as matches
        other = ~chosen
        reuse = np.sum((used[other] ** 2 - used[other]) * variance[other])
        return float(np.sqrt(spread + reuse) / n)
    known = (spread + np.sum((used**2 + used) * variance)) / n**2
    slope = np.zeros(x.shape[1])  # how the estimate moves with the model's coefficients
    for group, share in ((on, score), (off, 1 - score)):
        near = nearest(group, np.arange(len(y)), min(neighbours, len(group)))
        xs, ys = x[near], y[near]
        ys = ys - ys.mean(axis=1, keepdims=True)
        products = (xs - xs.mean(axis=1, keepdims=True)) * ys[:, :, None]
        covariance = products.sum(axis=1) / (near.shape[1] - 1)
        slope += (covariance * (score * (1 - score) / share)[:, None]).mean(axis=0)
    design = np.column_stack([np.ones(len(y)), x])
    fisher = design.T @ (design * (score * (1 - score))[:, None]) / len(y)
    correction = slope @ np.linalg.solve(
        fisher[1:, 1:] - np.outer(fisher[1:, 0], fisher[0, 1:]) / fisher[0, 0], slope
    )
    return float(np.sqrt(max(known - correction / n, known / 4)))


def stratification_se(frame, treatment, outcome, covariates, target, clipping=10):
    """Standard error of DoWhy's propensity score stratification: the strata DoWhy forms
    (equal-count bins of the score, as many as leave half of them with more than
    ``clipping`` treated and untreated units, starting from n / (2 * clipping)), each
    stratum's difference in means with its sampling variance, weighted as the target
    weights the strata. Strata and scores are taken as fixed, as in the textbook
    stratified estimator (Imbens and Rubin 2015, ch. 17)."""
    score, _, t = propensity_scores(frame, treatment, covariates)
    y = frame[outcome].to_numpy(dtype=float)
    rank = pd.Series(score).rank().to_numpy() / len(y)
    count = 0.5 * len(y) / clipping
    while count >= 2:
        strata = pd.factorize(np.round(rank * count), sort=True)[0]
        n_on = np.bincount(strata, weights=t)
        n_off = np.bincount(strata) - n_on
        kept = np.minimum(n_on, n_off) > clipping
        if kept.any() and kept.sum() >= 0.5 * count:
            break
        count = int(count / 2)
    else:
        raise ValueError("too few units for two strata")
    variances = 0.0
    for arm, size in ((t, n_on), (1 - t, n_off)):
        total = np.bincount(strata, weights=arm * y)[kept]
        squares = np.bincount(strata, weights=arm * y**2)[kept]
        within = (squares - total**2 / size[kept]) / (size[kept] - 1)  # sample variance
        variances = variances + within / size[kept]
    sizes = {"ate": n_on + n_off, "att": n_on, "atc": n_off}[target][kept]
    share = sizes / sizes.sum()
    return float(np.sqrt(share**2 @ variances))


def estimate_with_ci(
    frame,
    graph,
    treatment,
    outcome,
    estimand,
    method,
    target,
    params,
    seed=0,
    n_bootstrap=100,
    n_jobs=1,
    cluster=None,
    interval="bootstrap",
):
    """The estimate with a 95% interval: HC1 or cluster-robust for linear regression, a
    seeded percentile bootstrap otherwise, resampling whole clusters when there are any
    (resamples drawn up front so the interval is the same however many workers run).

    ``interval="analytic"`` replaces the bootstrap with a standard error from theory where
    the estimator has one: M-estimation for weighting (clustered when there are clusters),
    Abadie-Imbens for matching and the stratified variance for stratification (both without
    clusters); other estimators, and those two with clusters, still bootstrap."""
    np.random.seed(seed)
    covariates = sorted(estimand.get_backdoor_variables() or [])
    if method == "backdoor.regression_interactions":  # its fit is the interval's regression
        numbers = regression_interactions(frame, treatment, outcome, covariates, target, cluster)
        value = numbers["value"]
    else:
        estimate = fit_effect(frame, graph, treatment, outcome, estimand, method, target, params)
        value = float(estimate.value)
    if method in ("backdoor.linear_regression", "backdoor.regression_interactions"):
        if method == "backdoor.linear_regression":
            numbers = robust_ols(frame, treatment, outcome, covariates, cluster)
        half = (numbers["ci_high"] - numbers["ci_low"]) / 2
        return {
            "value": value,
            "ci_low": value - half,
            "ci_high": value + half,
            "ci_method": f"regression, {numbers['se_type']} standard errors",
            "se": numbers["se"],
            "se_type": numbers["se_type"],
        }
    analytic = None
    if interval == "analytic" and covariates:
        if method == "backdoor.propensity_score_weighting":
            se = weighting_se(frame, treatment, outcome, covariates, target, params, cluster)
            analytic = (se, "M-estimation (propensity model included)")
        elif method == "backdoor.propensity_score_matching" and cluster is None:
            se = matching_se(frame, treatment, outcome, covariates, target)
            analytic = (se, "Abadie-Imbens")
        elif method == "backdoor.propensity_score_stratification" and cluster is None:
            se = stratification_se(frame, treatment, outcome, covariates, target)
            analytic = (se, "stratified difference in means")
    if analytic is not None:
        from scipy import stats

        se, se_type = analytic
        if cluster is not None:
            se_type += f", clustered ({len(np.unique(frame[cluster]))} groups)"
        half = float(stats.norm.ppf(0.975)) * se
        return {
            "value": value,
            "ci_low": value - half,
            "ci_high": value + half,
            "ci_method": f"{se_type} standard errors",
            "se": se,
            "se_type": se_type,
        }
    rng = np.random.default_rng(seed)
    if cluster is None:
        samples = [rng.integers(0, len(frame), len(frame)) for _ in range(n_bootstrap)]
    else:
        groups = pd.Series(np.arange(len(frame))).groupby(np.asarray(frame[cluster]))
        members = [rows.to_numpy() for _, rows in groups]
        samples = [
            np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
            for _ in range(n_bootstrap)
        ]

    def one(rows):
        sample = frame.iloc[rows].reset_index(drop=True)
        try:
            return float(
                fit_effect(
                    sample, graph, treatment, outcome, estimand, method, target, params
                ).value
            )
        except Exception:
            return float("nan")

    draws = np.asarray(joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(one)(s) for s in samples))
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [2.5, 97.5]) if len(draws) else (np.nan, np.nan)
    unit = "cluster " if cluster is not None else ""
    return {
        "value": value,
        "ci_low": float(low),
        "ci_high": float(high),
        "ci_method": f"{unit}bootstrap ({len(draws)} resamples)",
        "se": float(np.std(draws, ddof=1)) if len(draws) > 1 else None,
        "se_type": f"{unit}bootstrap",
    }


PORTABLE_FUNCTIONS = (
    safe_names,
    prepare_frame,
    latent_names,
    model_graph,
    quiet_dowhy,
    identify,
    robust_ols,
    regression_interactions,
    fit_effect,
    propensity_scores,
    weighting_se,
    matching_se,
    stratification_se,
    estimate_with_ci,
)
