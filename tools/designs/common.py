"""What several designs share: which columns may serve as pre-treatment covariates, the
user's graph as networkx, a robust joint test of a block of regressors, the scale an effect
is read on, check verdicts, and the exported snippet built from a portable module.

A covariate is something measured before the treatment: never the outcome, an identifier,
a date, a constant, a column the treatment is a function of, or (when the graph says so) a
descendant of the treatment.
"""

import inspect
import re
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import SingularMatrixWarning, ValueWarning

from causal_assistant.tools.designs.base import CheckStatus, DesignCheck, DesignSpec
from causal_assistant.tools.designs.defining import treatment_defining_columns
from causal_assistant.tools.designs.fitting import covariate_matrix
from causal_assistant.tools.export.scriptgen import library_code
from causal_assistant.tools.model.graphs import CausalGraph

MAX_LEVELS = 20  # a text column with more distinct values is a label, not a covariate
MAX_MISSING_SHARE = 0.5
_ID_WORDS = {"id", "uuid", "guid", "key", "index"}


def spec_graph(spec: DesignSpec) -> CausalGraph | None:
    return CausalGraph.model_validate(spec.graph) if spec.graph else None


def after_treatment(spec: DesignSpec) -> set[str]:
    """Variables the graph places after the treatment (or the user marked so)."""
    graph = spec_graph(spec)
    if graph is None or spec.treatment not in graph.nodes:
        return set()
    return nx.descendants(graph.to_networkx(), spec.treatment) | set(graph.post_treatment)


def _usable(column: pd.Series) -> bool:
    present = column.dropna()
    if present.nunique() < 2 or column.isna().mean() > MAX_MISSING_SHARE:
        return False
    if pd.api.types.is_datetime64_any_dtype(column):
        return False
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        words = set(str(column.name).lower().replace("-", "_").split("_"))
        looks_like_id = bool(words & _ID_WORDS) and present.nunique() == len(present)
        return not looks_like_id
    return present.nunique() <= MAX_LEVELS


def covariate_candidates(
    frame: pd.DataFrame, spec: DesignSpec, exclude: list[str] | tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """(usable pre-treatment covariates, columns left out because they define the
    treatment). ``exclude`` holds the design's own columns (instruments, unit, time, ...)."""
    own = {spec.treatment, spec.outcome, *exclude, *after_treatment(spec)}
    names = [c for c in frame.columns if c not in own and _usable(frame[c])]
    defining = treatment_defining_columns(frame, spec.treatment, names)
    return [c for c in names if c not in defining], defining


def robust_joint_test(
    y: np.ndarray, tested: np.ndarray, held: np.ndarray | None = None
) -> tuple[float, float]:
    """(Wald chi-square, p-value) that all coefficients on ``tested`` are zero in the OLS
    of ``y`` on a constant, ``held`` and ``tested``, with HC1 errors."""
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


def standardised_differences(x: pd.DataFrame, treated: np.ndarray) -> pd.Series:
    """Difference in means over the pooled standard deviation, per covariate column."""
    on, off = x[treated == 1], x[treated == 0]
    pooled = np.sqrt((on.var() + off.var()) / 2).replace(0, np.nan)
    return ((on.mean() - off.mean()) / pooled).fillna(0.0)


def balance_table(
    frame: pd.DataFrame, treated: np.ndarray, covariates: list[str]
) -> tuple[pd.Series, float, float]:
    """Standardised differences and the joint test that the covariates do not predict
    the treatment (a linear probability model; randomisation implies it holds)."""
    x = covariate_matrix(frame, covariates)
    differences = standardised_differences(x, treated)
    if x.shape[1] == 0:
        return differences, 0.0, 1.0
    statistic, p_value = robust_joint_test(treated, x.to_numpy())
    return differences, statistic, p_value


_NEGATIONS = re.compile(r"\b(?:not|non|no|never|quasi|natural|without)[\s-]+(?:\w+[\s-]+)?$", re.I)


def context_says(context: str | None, pattern: str) -> str | None:
    """The first sentence of the context that matches ``pattern`` without a negation or
    qualifier right before it ("not randomised", "a natural experiment"), else None."""
    for sentence in re.split(r"(?<=[.!?;])\s+|\n", context or ""):
        for match in re.finditer(pattern, sentence, re.I):
            if not _NEGATIONS.search(sentence[: match.start()]):
                return sentence.strip()
    return None


def outcome_scale(values: pd.Series, outcome: str) -> str:
    """What one unit of the effect means: proportions for a yes/no outcome."""
    present = values.dropna()
    if present.nunique() == 2 and set(present.unique()) <= {0, 1}:
        return "difference in proportions (x100 = percentage points)"
    return f"units of {outcome}"


# words that name a time column (year, month, rel_year, SurveyWave, ...)
TIME_WORDS = {"year", "yr", "period", "time", "date", "quarter", "qtr", "month", "week"}
TIME_WORDS |= {"wave", "round", "day", "t", "semester", "season"}


def words(name: str) -> list[str]:
    """The lower-case words of a column name, split at underscores, case and digits."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def portable_snippet(module: ModuleType, call: str) -> str:
    """Self-contained code: the portable module's imports and function sources, then
    ``call`` (which reads the table from a variable ``df`` and sets ``numbers``)."""
    return library_code([module.__name__]) + "\n\n\n" + inspect.cleandoc(call) + "\n"


def p_status(p_value: float | None, material: bool = True) -> CheckStatus:
    """pass at p >= 0.10; warn at 0.05 <= p < 0.10, or below 0.05 when the departure is
    too small to matter (``material`` false); fail below 0.05 when it matters."""
    if p_value is None or p_value >= 0.10:
        return "pass"
    return "fail" if p_value < 0.05 and material else "warn"


def judged_check(
    name: str,
    p_value: float | None,
    material: bool,
    verdicts: Mapping[CheckStatus, str],
    reading: str,
    **fields: Any,
) -> DesignCheck:
    """A check whose status follows ``p_status`` and whose reading (what would be
    worrying, what was seen) ends with the verdict for that status."""
    status = p_status(p_value, material)
    reading = f"{reading}: {verdicts[status]}."
    return DesignCheck(name=name, status=status, p_value=p_value, reading=reading, **fields)
