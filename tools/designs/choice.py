"""Which study design to use: every registered design's evidence, then one choice with why.

The user's word comes first (``--design``, or a design's own columns such as an
instrument); otherwise the strongest evidence wins, and among equally strong evidence the
more specific design (a discontinuity or a panel says more about the data than "it is
observational"). Nothing here knows any one design beyond its kind.
"""

import pandas as pd
from pydantic import Field

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.designs import REGISTRY, load_designs
from causal_assistant.tools.designs.base import (
    DesignColumns,
    DesignEvidence,
    DesignKind,
    Strength,
)
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.results import ToolResult, WarningCode

STRENGTH_RANK: dict[str, int] = {"strong": 3, "moderate": 2, "weak": 1}
SOURCE_RANK = {"user": 4, "graph": 3, "context": 2, "data": 1}
SPECIFICITY = [
    DesignKind.RDD,
    DesignKind.DID,
    DesignKind.RCT,
    DesignKind.FRONTDOOR,
    DesignKind.IV,
    DesignKind.BACKDOOR,
]
# A column flag names the design it belongs to when --design is auto.
FLAG_DESIGNS = {
    "instruments": DesignKind.IV,
    "running": DesignKind.RDD,
    "cutoff": DesignKind.RDD,
    "unit": DesignKind.DID,
    "time": DesignKind.DID,
}
# Identified on the graph by DoWhy; the agent runs these through its graph stages.
GRAPH_DESIGNS = frozenset({DesignKind.BACKDOOR, DesignKind.FRONTDOOR})
NAMES = {
    DesignKind.BACKDOOR: "observational data with measured confounders (backdoor adjustment)",
    DesignKind.RCT: "randomised experiment",
    DesignKind.IV: "instrumental variables",
    DesignKind.FRONTDOOR: "front-door mediation",
    DesignKind.DID: "difference in differences (panel)",
    DesignKind.RDD: "regression discontinuity",
}


class DesignChoice(ToolResult):
    kind: DesignKind
    why: str
    strength: Strength
    source: str
    columns: DesignColumns = Field(default_factory=DesignColumns)
    evidence: list[DesignEvidence] = Field(default_factory=list)


def detect_designs(
    frame: pd.DataFrame,
    profile: DatasetProfile,
    treatment: str,
    outcome: str,
    context: str | None = None,
    graph: CausalGraph | None = None,
) -> tuple[list[DesignEvidence], list[str]]:
    """Evidence from every registered design (and its ``detect_graph`` hook when there is
    a graph), plus a note for each detector that could not judge this data."""
    found, notes = [], []
    for kind, design in load_designs().items():
        hooks = [lambda d=design: d.detect(frame, profile, treatment, outcome, context)]
        if graph is not None and hasattr(design, "detect_graph"):
            hooks.append(lambda d=design: d.detect_graph(graph, treatment, outcome))
        for hook in hooks:
            try:
                evidence = hook()
            except Exception as exc:  # one design's detector must not stop the analysis
                notes.append(f"{kind} detection skipped: {exc}")
                continue
            if evidence is not None:
                found.append(evidence)
    return found, notes


def _rank(evidence: DesignEvidence) -> tuple:
    specific = SPECIFICITY.index(evidence.kind) if evidence.kind in SPECIFICITY else 0
    return (-STRENGTH_RANK[evidence.strength], -SOURCE_RANK[evidence.source], specific)


def _describe(evidence: DesignEvidence) -> str:
    return f"{evidence.reading} ({evidence.strength} evidence from the {evidence.source})"


def choose_design(
    evidence: list[DesignEvidence],
    requested: str | None = None,
    user_columns: DesignColumns | None = None,
) -> DesignChoice:
    """The design to use and why; ``requested`` is ``--design`` (None or "auto": decide)."""
    user_columns = user_columns or DesignColumns()
    flagged = user_columns.model_dump(exclude_defaults=True)
    kind, source = None, "data"
    if requested and requested != "auto":
        kind, source = _known(requested), "user"
        how = f"you chose the {NAMES.get(kind, kind)} design"
    else:
        flag_kinds = [FLAG_DESIGNS[f] for f in flagged if f in FLAG_DESIGNS]
        if flag_kinds:
            kind, source = _known(flag_kinds[0]), "user"
            flag = next(f for f in flagged if f in FLAG_DESIGNS)
            how = f"you named its {flag.rstrip('s')} column"
    ranked = sorted(evidence, key=_rank)
    if kind is None:
        if not ranked:
            raise InputError("No study design applies to these data; name one with --design.")
        best = ranked[0]
        kind, source, how = best.kind, best.source, _describe(best)
    own = next((e for e in ranked if e.kind == kind), None)
    merged = (own.columns if own else DesignColumns()).model_copy(update=flagged)
    strength = "strong" if source == "user" or own is None else own.strength
    why = f"{NAMES.get(kind, kind).capitalize()}: {how}."
    if source == "user" and own is not None:
        why += f" The data agree: {_describe(own)}."
    others = [e for e in ranked if e.kind not in (kind, DesignKind.BACKDOOR)]
    if others:
        why += " Also seen: " + "; ".join(_describe(e) for e in others) + "."
    choice = DesignChoice(
        kind=kind,
        why=why,
        strength=strength,
        source=source,
        columns=merged,
        evidence=ranked,
        reading=why,
    )
    for seen in ranked:
        if seen.kind != DesignKind.BACKDOOR:
            choice.warn(
                WarningCode.DESIGN_DETECTED,
                f"{NAMES.get(seen.kind, seen.kind).capitalize()} detected "
                f"({seen.strength}, from the {seen.source}): {seen.reading}.",
            )
    return choice


def _known(kind: str | DesignKind) -> DesignKind:
    load_designs()
    try:
        found = DesignKind(str(kind).lower())
    except ValueError:
        found = None
    if found is None or found not in REGISTRY:
        available = ", ".join(["auto", *sorted(k.value for k in REGISTRY)])
        raise InputError(f"No {kind!r} design is available here; choose one of {available}.")
    return found
