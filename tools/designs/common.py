"""What several designs share: which columns may serve as pre-treatment covariates, the
user's graph as networkx, the scale an effect is read on, the reading of a check judged by
portable code, and the exported snippet built from portable modules.

A covariate is something measured before the treatment: never the outcome, an identifier,
a date, a constant, a column the treatment is a function of, or (when the graph says so) a
descendant of the treatment.
"""

import inspect
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import networkx as nx
import pandas as pd

from causal_assistant.tools.designs.base import CheckStatus, DesignCheck, DesignSpec
from causal_assistant.tools.designs.defining import treatment_defining_columns
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
    # "any value unlike the first" rather than counting distinct values: one comparison
    # instead of hashing every value (a second per million-row column)
    varies = len(present) > 0 and bool((present != present.iloc[0]).any())
    if not varies or column.isna().mean() > MAX_MISSING_SHARE:
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


def portable_snippet(module: ModuleType, call: str, *more: ModuleType) -> str:
    """Self-contained code: the portable modules' imports and function sources, then
    ``call`` (which reads the table from a variable ``df`` and sets ``numbers``)."""
    names = [m.__name__ for m in (module, *more)]
    return library_code(names) + "\n\n\n" + inspect.cleandoc(call) + "\n"


def read_check(
    check: Mapping[str, Any],
    verdicts: Mapping[CheckStatus, str],
    reading: str,
    **fields: Any,
) -> DesignCheck:
    """A check judged by portable code (a dict with its name, status, statistic and
    p-value), its reading (what would be worrying, what was seen) ending with the verdict."""
    return DesignCheck(
        name=check["name"],
        status=check["status"],
        statistic=check.get("statistic"),
        p_value=check.get("p_value"),
        reading=f"{reading}: {verdicts[check['status']]}.",
        **fields,
    )


def read_sensitivity(check: Mapping[str, Any], result: Any, rule: str, threat: str) -> DesignCheck:
    """A design's sensitivity check (judged by portable code) with its model's reading and
    rule; for an interval that already includes zero, the reading says there is nothing to
    overturn and what the range shows instead (how large an effect ``threat`` could mask)."""
    reading = f"{result.reading} {rule}"
    if check["null"]:
        reading += (
            " The interval already includes zero, so there is nothing to explain away; the "
            f"range shows how large an effect {threat} could be masking."
        )
    return DesignCheck(
        name=check["name"],
        status=check["status"],
        statistic=check["statistic"],
        reading=reading,
        details=result.model_dump(mode="json"),
    )
