"""The offline library of analysis code: plots and tables people ask for by name.

Each template is plain pandas/matplotlib code that runs in the sandbox against ``df``,
parameterised only with column names passed through ``repr`` so a hostile column name
stays a string literal and never becomes code.
"""

from collections.abc import Mapping
from typing import Any

from causal_assistant.agent.commands import Intent
from causal_assistant.tools.data import resolve_column
from causal_assistant.tools.errors import InputError

OVERLAP = """\
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression

treatment, covariates = {treatment!r}, {covariates!r}
data = df[[treatment, *covariates]].dropna()
x = pd.get_dummies(data[covariates], drop_first=True).astype(float)
x = (x - x.mean()) / x.std().replace(0, 1)
treated = data[treatment] == {treated_level!r}
score = LogisticRegression(max_iter=1000).fit(x, treated).predict_proba(x)[:, 1]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(score[treated], bins=30, alpha=0.6, density=True, label="treated")
ax.hist(score[~treated], bins=30, alpha=0.6, density=True, label="untreated")
ax.set_xlabel("propensity score"); ax.set_ylabel("density"); ax.legend()
ax.set_title("Overlap of propensity scores")
print(f"propensity range treated {{score[treated].min():.3f}}-{{score[treated].max():.3f}}, "
      f"untreated {{score[~treated].min():.3f}}-{{score[~treated].max():.3f}}")
"""

BALANCE = """\
import matplotlib.pyplot as plt
import pandas as pd

treatment, covariates = {treatment!r}, {covariates!r}
data = df[[treatment, *covariates]].dropna()
x = pd.get_dummies(data[covariates], drop_first=True).astype(float)
treated = data[treatment] == {treated_level!r}
pooled_sd = ((x[treated].var() + x[~treated].var()) / 2) ** 0.5
smd = ((x[treated].mean() - x[~treated].mean()) / pooled_sd.replace(0, 1)).sort_values()
fig, ax = plt.subplots(figsize=(6, 0.35 * len(smd) + 1.2))
ax.barh(smd.index.astype(str), smd.values)
ax.axvline(0.1, ls="--", c="grey"); ax.axvline(-0.1, ls="--", c="grey")
ax.set_xlabel("standardised mean difference (treated - untreated)")
ax.set_title("Covariate balance before adjustment")
result = smd.rename("smd").to_frame()
print(f"{{int((smd.abs() > 0.1).sum())}} of {{len(smd)}} covariates differ by more than 0.1 SD")
"""

DISTRIBUTION = """\
import matplotlib.pyplot as plt

column, treatment = {column!r}, {treatment!r}
fig, ax = plt.subplots(figsize=(6, 3.5))
if treatment and df[treatment].nunique() == 2:
    for level, group in df.groupby(treatment):
        ax.hist(group[column].dropna(), bins=30, alpha=0.6, label=f"{{treatment}} = {{level}}")
    ax.legend()
else:
    ax.hist(df[column].dropna(), bins=30)
ax.set_xlabel(column); ax.set_title(f"Distribution of {{column}}")
print(df[column].describe().to_string())
"""

TABLE = """\
column, group = {column!r}, {group!r}
result = df.groupby(group)[column].describe().reset_index()
print(result.to_string(index=False))
"""


def template_code(intent: Intent, state: Mapping[str, Any]) -> str:
    """Fill the template the intent names with the analysis' columns."""
    columns = [c["name"] for c in state["dataset"]["profile"]["columns"]]
    treatment = state.get("treatment")
    if intent.kind == "table":
        return TABLE.format(
            column=resolve_column(intent.args["column"], columns),
            group=resolve_column(intent.args["group"], columns),
        )
    if "column" in intent.args:
        return DISTRIBUTION.format(
            column=resolve_column(intent.args["column"], columns), treatment=treatment
        )
    if not state.get("estimation") or not state.get("identification"):
        raise InputError("Overlap and balance need an estimated effect; run the analysis first.")
    covariates = state["identification"]["adjustment_set"]
    if not covariates:
        raise InputError("There is no adjustment set, so there is no overlap or balance to check.")
    level = state["estimation"].get("treated_level")
    kind = intent.args["kind"].lower()
    template = OVERLAP if kind == "overlap" else BALANCE
    return template.format(treatment=treatment, covariates=covariates, treated_level=level)
