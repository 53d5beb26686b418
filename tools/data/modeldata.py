"""Turn a dataset and a graph over its columns into the frame and graph DoWhy will see.

DoWhy chokes on column names with spaces or dots and on string categories, so every
analysis runs on a prepared copy; ``ModelData`` keeps the map back to the user's names so
readings and results always speak in the user's terms.
"""

from dataclasses import dataclass
from typing import Literal

import networkx as nx
import pandas as pd

from causal_assistant.tools import portable
from causal_assistant.tools.data.intake import categorical_codes, resolve_column
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.results import ToolResult, WarningCode

MAX_LEVELS = 100
MAX_LEVELS_SHARE = 0.1


@dataclass
class ModelData:
    frame: pd.DataFrame
    column_map: dict[str, list[str]]
    graph: nx.DiGraph
    treatment: str
    outcome: str
    model_treatment: str
    model_outcome: str
    treatment_kind: Literal["binary", "continuous"]
    treated_level: object
    n_dropped: int
    result: ToolResult
    post_treatment: list[str]
    latent: dict[str, str]  # unobserved variable -> its node name in the model graph
    cluster: str | None = None  # the user's grouping column standard errors cluster by
    cluster_column: str | None = None  # its group codes in ``frame``

    def originals(self, model_columns: list[str]) -> list[str]:
        """The user's variable names behind some model columns, in first-seen order."""
        owner = {col: name for name, cols in self.column_map.items() for col in cols}
        owner.update({safe: name for name, safe in self.latent.items()})
        return list(dict.fromkeys(owner.get(c, c) for c in model_columns))

    def model_columns(self, names: list[str]) -> list[str]:
        return [col for name in names for col in self.column_map.get(name, [])]

    @property
    def unobserved(self) -> list[str]:
        return [n for n, d in self.graph.nodes(data=True) if d.get("observed") == "no"]


def treatment_kind(values: pd.Series, name: str) -> Literal["binary", "continuous"]:
    """Binary or continuous; anything else is refused with what to do instead."""
    levels = values.dropna().unique()
    if len(levels) == 0:
        raise InputError(
            f"The treatment {name!r} has no values (every row is missing); "
            "choose a column with data."
        )
    if len(levels) < 2:
        raise InputError(
            f"The treatment {name!r} has a single value in the data, so there is "
            "nothing to compare; choose a column that varies."
        )
    if len(levels) == 2:
        return "binary"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "continuous"
    raise InputError(
        f"The treatment {name!r} has {len(levels)} categories; recode it as two "
        "groups (treated vs not) or use a numeric dose."
    )


def check_outcome(values: pd.Series, name: str) -> None:
    """Only numbers (or booleans) can be averaged; say which cells stop a column being one."""
    numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    present = values.dropna()
    if not numeric:
        as_numbers = pd.to_numeric(present, errors="coerce")
        stray = present[as_numbers.isna()].astype(str).unique()
        if as_numbers.notna().mean() >= 0.5:
            shown = ", ".join(repr(s) for s in stray[:3])
            raise InputError(
                f"The outcome {name!r} is mostly numbers but has text in some "
                f"cells ({shown}); fix those cells or leave them empty (empty "
                "cells are dropped), then load the file again."
            )
        if present.nunique() == 2:
            low, high = sorted(present.astype(str).unique())
            raise InputError(
                f"The outcome {name!r} is text with two values ({low!r}, "
                f"{high!r}); recode it as 1 and 0 (1 for the result you are "
                "counting) and load the file again."
            )
        raise InputError(
            f"The outcome {name!r} is text; choose a numeric or 0/1 outcome, "
            "or recode it as numbers."
        )
    if present.nunique() < 2:
        raise InputError(
            f"The outcome {name!r} has a single value, so no effect on it can be "
            "measured; choose another outcome."
        )


def wide_categories(df: pd.DataFrame, names: list[str]) -> dict[str, int]:
    """Text columns with so many levels that their indicators would swamp the model frame.

    A category enters the model as one indicator per level; a zip code with thousands of
    levels turns a few columns into thousands, every DoWhy fit and refuter crawls, and the
    adjustment overfits. Past ``MAX_LEVELS`` levels and a tenth of the rows, it is too wide.
    """
    wide = {}
    for name in names:
        values = df[name]
        if (
            pd.api.types.is_bool_dtype(values)
            or pd.api.types.is_numeric_dtype(values)
            or pd.api.types.is_datetime64_any_dtype(values)
        ):
            continue
        count = int(values.dropna().astype(str).nunique())
        if count > MAX_LEVELS and count > MAX_LEVELS_SHARE * len(df):
            wide[name] = count
    return wide


def build_model_data(
    df: pd.DataFrame,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    treated_level: object = None,
    cluster: str | None = None,
) -> ModelData:
    """Prepare the model frame for the observed nodes of ``graph``; ``cluster`` names the
    column whose groups the standard errors are clustered by."""
    treatment = resolve_column(treatment, list(df.columns))
    outcome = resolve_column(outcome, list(df.columns))
    if treatment == outcome:
        raise InputError("Treatment and outcome are the same column; choose two different ones.")
    kind = treatment_kind(df[treatment], treatment)
    check_outcome(df[outcome], outcome)
    levels = sorted(df[treatment].dropna().unique(), key=str) if kind == "binary" else []
    if kind == "binary" and treated_level is None:
        treated_level = max(levels) if _orderable(levels) else levels[1]
    treated_level = _plain(treated_level)
    observed = [n for n in graph.nodes if n not in graph.unobserved]
    missing = [n for n in observed if n not in df.columns]
    if missing:
        raise InputError(
            f"The graph names {missing[0]!r}, which is not a column; mark it "
            "unobserved or remove it from the graph."
        )
    covariates = [n for n in observed if n not in (treatment, outcome)]
    wide = wide_categories(df, covariates)
    linked = {node for edge in graph.edges for node in (edge.cause, edge.effect)}
    for name, count in wide.items():
        if name in linked:
            raise InputError(
                f"The covariate {name!r} has {count} categories, too many to "
                f"adjust for with {len(df)} rows; group its levels into fewer "
                "(e.g. regions instead of zip codes) or remove its edges from "
                "the graph."
            )
    # an isolated node needs no adjustment: leave it out rather than build its indicators
    covariates = [n for n in covariates if n not in wide]
    coded = categorical_codes(df, covariates)
    if cluster is not None:
        cluster = resolve_column(cluster, list(df.columns))
    try:
        frame, column_map, n_dropped = portable.prepare_frame(
            df, treatment, outcome, covariates, treated_level, coded, cluster
        )
    except ValueError as exc:
        raise InputError(f"Cannot prepare the data: {exc}.") from exc
    if len(frame) == 0 or frame[column_map[treatment][0]].nunique() < 2:
        raise InputError(
            "After dropping rows with missing values the treatment no longer "
            "varies; fill in or drop the columns with many missing values."
        )
    edges = [(e.cause, e.effect) for e in graph.edges]
    model = portable.model_graph(edges, column_map, graph.unobserved)
    result = ToolResult(
        reading=_reading(len(frame), n_dropped, kind, treatment, treated_level),
        code=(
            f"frame, column_map, n_dropped = prepare_frame(\n    df, {treatment!r}, {outcome!r}, "
            f"{covariates!r},\n    treated_level={treated_level!r}, categorical={coded!r}, "
            f"cluster={cluster!r})\n"
            f"graph = model_graph({edges!r},\n    column_map, {list(graph.unobserved)!r})\n"
        ),
    )
    for name, count in wide.items():
        result.warn(
            WarningCode.EXCLUDED_COLUMN,
            f"{name!r} left out of the model: {count} categories and no edges in the graph.",
        )
    if n_dropped:
        share = n_dropped / len(df)
        result.warn(
            WarningCode.MISSING_VALUES_DROPPED,
            f"{n_dropped} of {len(df)} rows ({share:.0%}) had missing values in the "
            "analysed columns and were dropped.",
        )
    return ModelData(
        frame=frame,
        column_map=column_map,
        graph=model,
        treatment=treatment,
        outcome=outcome,
        model_treatment=column_map[treatment][0],
        model_outcome=column_map[outcome][0],
        treatment_kind=kind,
        treated_level=treated_level,
        n_dropped=n_dropped,
        result=result,
        post_treatment=[c for n in graph.post_treatment for c in column_map.get(n, [])],
        latent=portable.latent_names(column_map, graph.unobserved),
        cluster=cluster,
        cluster_column="_cluster" if cluster is not None else None,
    )


def _orderable(levels: list) -> bool:
    try:
        sorted(levels)
    except TypeError:
        return False
    return True


def _plain(value: object) -> object:
    """numpy scalars to Python ones, so the level prints and serialises as the user wrote it."""
    return value.item() if hasattr(value, "item") else value


def _reading(n_rows: int, n_dropped: int, kind: str, treatment: str, level: object) -> str:
    text = f"{n_rows} rows enter the analysis"
    text += f" ({n_dropped} dropped for missing values)." if n_dropped else "."
    if kind == "binary":
        text += f" 'Treated' means {treatment} = {level!r}."
    else:
        text += f" {treatment} is a continuous treatment: effects are per one unit more."
    return text
