"""The effect within each group of a column, with intervals and a test of their difference.

"Does the effect differ for women?" is answered by one regression with the treatment
interacted with the group (and the adjustment set as in the main analysis): the effect in
group g is the treatment's coefficient plus its interaction with g, its interval uses the
same robust (HC1) or clustered errors as the main estimate, and a Wald test of all
interactions at zero says whether the groups differ by more than chance.
"""

import numpy as np
import pandas as pd
import statsmodels.api as sm
from pydantic import BaseModel
from scipy import stats

from causal_assistant.tools import portable
from causal_assistant.tools.data.intake import categorical_codes, resolve_column
from causal_assistant.tools.data.modeldata import ModelData
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.results import ToolResult

MAX_GROUPS = 10
MIN_GROUP_ROWS = 10


class GroupEffect(BaseModel):
    group: str
    value: float
    ci_low: float
    ci_high: float
    se: float
    n_rows: int


class SubgroupResult(ToolResult):
    by: str
    groups: list[GroupEffect]
    difference_statistic: float
    difference_dof: int
    difference_p: float
    se_type: str


def _labels(values: pd.Series) -> pd.Series:
    """Group labels: the levels of a column with few, else below/above its median."""
    if values.nunique() <= MAX_GROUPS or not pd.api.types.is_numeric_dtype(values):
        return values.astype(str)
    cut = float(values.median())
    return pd.Series(np.where(values <= cut, f"<= {cut:.4g}", f"> {cut:.4g}"), index=values.index)


def effects_by_group(
    df: pd.DataFrame, data: ModelData, adjustment: list[str], by: str
) -> SubgroupResult:
    """The effect of ``data``'s treatment within each group of ``by``, adjusted for
    ``adjustment`` (original column names), with a test that the effects are equal."""
    by = resolve_column(by, list(df.columns))
    if by in (data.treatment, data.outcome):
        raise InputError(f"--by {by!r} is the treatment or the outcome; give another column.")
    covariates = [a for a in adjustment if a != by]
    used = list(dict.fromkeys([data.treatment, data.outcome, *covariates, by]))
    kept = used + ([data.cluster] if data.cluster and data.cluster not in used else [])
    rows = df[kept].replace([np.inf, -np.inf], np.nan).dropna()
    frame, column_map, _ = portable.prepare_frame(
        df,
        data.treatment,
        data.outcome,
        [*covariates, by],
        data.treated_level,
        categorical_codes(df, covariates),
        data.cluster,
    )
    labels = _labels(rows[by]).to_numpy()
    levels = sorted(set(labels), key=lambda v: (-(labels == v).sum(), v))
    small = [lv for lv in levels if (labels == lv).sum() < MIN_GROUP_ROWS]
    if len(levels) < 2 or len(levels) > MAX_GROUPS or small:
        raise InputError(
            f"--by {by!r} needs 2 to {MAX_GROUPS} groups of at least {MIN_GROUP_ROWS} rows; "
            f"it has {len(levels)} groups" + (f" ({small[0]!r} is too small)." if small else ".")
        )
    t, y = column_map[data.treatment][0], column_map[data.outcome][0]
    x = frame[[t] + [c for n in covariates for c in column_map[n]]].astype(float)
    for level in levels[1:]:
        indicator = (labels == level).astype(float)
        x[f"_g_{level}"] = indicator
        x[f"_tg_{level}"] = indicator * frame[t].astype(float)
    x = sm.add_constant(x, has_constant="add")
    model = sm.OLS(frame[y].astype(float), x)
    if data.cluster:
        groups = frame["_cluster"].to_numpy()
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        dof = len(np.unique(groups)) - 1
        se_type = f"clustered by {data.cluster} ({len(np.unique(groups))} groups)"
    else:
        fit = model.fit(cov_type="HC1")
        dof, se_type = len(frame) - x.shape[1], "HC1"
    q = float(stats.t.ppf(0.975, max(dof, 1)))
    cov = fit.cov_params()
    effects = []
    for level in levels:
        weights = pd.Series(0.0, index=x.columns)
        weights[t] = 1.0
        if level != levels[0]:
            weights[f"_tg_{level}"] = 1.0
        value = float(weights @ fit.params)
        se = float(np.sqrt(weights @ cov @ weights))
        effects.append(
            GroupEffect(
                group=str(level),
                value=value,
                ci_low=value - q * se,
                ci_high=value + q * se,
                se=se,
                n_rows=int((labels == level).sum()),
            )
        )
    inter = [f"_tg_{level}" for level in levels[1:]]
    b = fit.params[inter].to_numpy()
    v = cov.loc[inter, inter].to_numpy()
    statistic = float(b @ np.linalg.pinv(v) @ b)
    p_value = float(stats.chi2.sf(statistic, len(inter)))
    result = SubgroupResult(
        by=by,
        groups=effects,
        difference_statistic=statistic,
        difference_dof=len(inter),
        difference_p=p_value,
        se_type=se_type,
    )
    shown = "; ".join(
        f"{by} = {e.group}: {e.value:.4g} ({e.ci_low:.4g} to {e.ci_high:.4g}, {e.n_rows} rows)"
        for e in effects
    )
    verdict = (
        "the effects differ by more than chance"
        if p_value < 0.05
        else "the data cannot tell the groups' effects apart"
    )
    result.reading = (
        f"Effect of {data.treatment} on {data.outcome} by {by} (regression with interactions, "
        f"{se_type} errors): {shown}. Test of equal effects: chi2 {statistic:.2f} on "
        f"{len(inter)} df, p = {p_value:.3g}; {verdict}."
    )
    return result
