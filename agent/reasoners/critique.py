"""The reasoner's critique of a graph: offline heuristics, latent confounders, disagreements.

The data critique (``tools/model/critique``) tests what the graph implies. A reasoner adds
what the data cannot see: a variable measured after the treatment that the graph puts
before it, selection into the sample, and (with an LLM) common causes that are not in the
data at all. The two are shown side by side; where they disagree, the disagreement is
listed for the analyst rather than settled here.
"""

import re

import networkx as nx
import pandas as pd
from pydantic import BaseModel

from causal_assistant.agent.reasoners.base import (
    CritiquePoint,
    DomainProposals,
    GraphCritique,
    LatentConfounder,
    Reasoner,
)
from causal_assistant.agent.reasoners.wording import (
    LATER,
    codebook_lines,
    find_columns,
    split_words,
)
from causal_assistant.tools.data.intake import UNUSABLE_KINDS, DatasetProfile
from causal_assistant.tools.model import (
    CausalGraph,
    CritiqueResult,
    DomainCheckResult,
    Edge,
    check_proposals,
)
from causal_assistant.tools.model.discovery import BlockMatrix, encode
from causal_assistant.tools.results import AnalysisWarning, WarningCode

MIN_LATENT_CONFIDENCE = 0.5
NO_ASSOCIATION_P = 0.05
STRONG_P = 0.001
MAX_ROWS = 20_000
MIN_ROWS = 30
MISSING_OUTCOME_SHARE = 0.05
MAX_QUOTE = 160
_TIMING = re.compile(
    r"\b(after|following|post[- ]?(?:treatment|programme|program|intervention|enrol\w*)|"
    r"follow[- ]?up|at the end|later|subsequent(?:ly)?)\b",
    re.IGNORECASE,
)
_SELECTION = re.compile(
    r"\b(only (?:those|participants|people|respondents|patients|firms|users|customers)|"
    r"survivors?|who (?:completed|finished|stayed|remained|responded|returned)|"
    r"dropped out|lost to follow[- ]?up|were excluded|self[- ]selected)\b",
    re.IGNORECASE,
)
_FINDING_KIND = {
    WarningCode.UNADJUSTED_CONFOUNDER: "missing_confounder",
    WarningCode.POST_TREATMENT_ADJUSTMENT: "bad_control",
    WarningCode.GRAPH_DATA_CONFLICT: "missing_edge",
}


# --------------------------------------------------------------------------- offline


def offline_critique(
    data: CritiqueResult,
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    context: str | None,
) -> GraphCritique:
    """Points from the data critique's screens (source ``data``) and from names and the
    description's wording (source ``heuristic``). Offline nothing outside the columns can
    be named, so unmeasured confounders are left to the sensitivity analysis."""
    points = [
        CritiquePoint(
            kind=_FINDING_KIND[f.code],
            variables=f.variables,
            claim=f.message,
            confidence=0.8,
            check=f"Look at {', '.join(f.variables)} and the test behind it ({f.statistic}).",
            source="data",
        )
        for f in data.findings
        if f.code in _FINDING_KIND
    ]
    points += _timing_points(profile, graph, treatment, outcome, context)
    points += _selection_points(profile, outcome, context)
    kinds = sorted({p.kind for p in points})
    reading = (
        f"Offline critique: {len(points)} point(s) ({', '.join(kinds)}) from the data "
        "screens, the column names and the description."
        if points
        else "Offline critique: nothing in the data screens, the column names or the "
        "description argues against the graph."
    ) + (
        " Common causes outside the data cannot be named offline; the sensitivity "
        "analysis says how strong one would have to be."
    )
    return GraphCritique(points=points, reading=reading, source="heuristic")


def _timing_points(
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    context: str | None,
) -> list[CritiquePoint]:
    """Columns the graph puts before the treatment whose name or description says they
    were measured after something (``after``, ``post``, ``follow-up``)."""
    network = graph.to_networkx()
    after = nx.descendants(network, treatment) if treatment in network else set()
    before = [
        n
        for n in graph.nodes
        if n not in after
        and n not in (treatment, outcome)
        and n not in graph.unobserved
        and n in profile.names()
        and (network.has_edge(n, treatment) or network.has_edge(n, outcome))
    ]
    described = {**_sentences(context, before), **codebook_lines(context, before)}
    points = []
    for name in before:
        hint = sorted(LATER & set(split_words(name)) - {"outcome"})
        said = described.get(name, "")
        if hint:
            claim = f"The name {name!r} ({', '.join(hint)}) suggests it was measured later"
        elif _TIMING.search(said):
            claim = f"The description says of {name!r}: {_quote(said)}"
        else:
            continue
        points.append(
            CritiquePoint(
                kind="timing",
                variables=[name],
                claim=f"{claim}, but the graph treats it as fixed before {treatment}.",
                confidence=0.5,
                check=f"Find out when {name} was measured; if after {treatment}, do not "
                "adjust for it.",
                source="heuristic",
            )
        )
    return points


def _selection_points(
    profile: DatasetProfile, outcome: str, context: str | None
) -> list[CritiquePoint]:
    points = []
    missing = profile.column(outcome).missing_share
    if missing > MISSING_OUTCOME_SHARE:
        points.append(
            CritiquePoint(
                kind="selection",
                variables=[outcome],
                claim=f"{missing:.0%} of {outcome} is missing; if whether it is missing "
                "depends on the treatment, the complete rows are a selected sample.",
                confidence=0.5,
                check=f"Compare the share missing of {outcome} between treated and untreated.",
                source="data",
            )
        )
    for sentence in _split_sentences(context):
        if _SELECTION.search(sentence):
            points.append(
                CritiquePoint(
                    kind="selection",
                    variables=[],
                    claim=f"The description suggests selection into the data: {_quote(sentence)}",
                    confidence=0.4,
                    check="Ask whether being in the data could depend on the treatment or "
                    "the outcome; if so, the estimate holds only for those kept.",
                    source="heuristic",
                )
            )
    return points


def _split_sentences(context: str | None) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", context or "") if s.strip()]


def _sentences(context: str | None, names: list[str]) -> dict[str, str]:
    """The first sentence of a prose description that names each column."""
    found: dict[str, str] = {}
    for sentence in _split_sentences(context):
        for name in find_columns(sentence, names):
            found.setdefault(name, sentence)
    return found


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…")


# --------------------------------------------------------------------------- latents


def with_latents(graph: CausalGraph, critique: GraphCritique) -> tuple[CausalGraph, GraphCritique]:
    """The graph with each confident hidden confounder as an unobserved node and an edge
    (source ``llm``, its rationale as the note) to everything it affects; the critique
    marks which latents were added."""
    edges, unobserved, latents = list(graph.edges), list(graph.unobserved), []
    for latent in critique.latents:
        add = latent.confidence >= MIN_LATENT_CONFIDENCE and (
            latent.name not in graph.nodes or latent.name in graph.unobserved
        )
        if add:
            unobserved.append(latent.name)
            edges += [
                Edge(
                    cause=latent.name,
                    effect=name,
                    source=latent.source,
                    note=f"unmeasured common cause ({latent.confidence:.1f}): {latent.rationale}",
                )
                for name in latent.affects
                if graph.edge(latent.name, name) is None
            ]
        latents.append(latent.model_copy(update={"added": add}))
    updated = graph.model_copy(update={"edges": edges, "unobserved": unobserved})
    return CausalGraph.model_validate(updated.model_dump()), critique.model_copy(
        update={"latents": latents}
    )


# --------------------------------------------------------------------------- disagreements


def disagreements(
    critique: GraphCritique,
    data: CritiqueResult,
    df: pd.DataFrame,
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    seed: int = 0,
) -> list[str]:
    """Where the reasoner's critique and the data critique disagree, in words: what the
    data flag and the reasoner does not mention, and what the reasoner claims that the
    data contradict. Nothing is dropped or resolved here."""
    mentioned = {v for p in critique.points for v in p.variables} | {
        v for latent in critique.latents for v in latent.affects
    }
    mentioned -= {treatment, outcome}
    found = [
        f"The data critique flags {', '.join(f.variables)} ({f.code.value}: {f.message}); "
        f"the {critique.source} critique does not mention it."
        for f in data.findings
        if f.code in _FINDING_KIND and not (set(f.variables) - {treatment, outcome}) & mentioned
    ]
    if critique.source != "llm":
        return found
    matrix = _matrix(df, profile, seed)
    if matrix is None:
        return found
    for point in critique.points:
        if point.kind == "missing_confounder":
            for name in point.variables:
                if name in (treatment, outcome) or name not in matrix.columns:
                    continue
                for end in (treatment, outcome):
                    test = matrix.test(name, end)
                    if test.p_value > NO_ASSOCIATION_P:
                        found.append(
                            f"The LLM names {name} as a missing common cause, but the data "
                            f"show no association of {name} with {end} ({test.describe()})."
                        )
        elif point.kind == "doubtful_edge":
            cause, effect = point.variables
            given = [p for p in graph.parents(effect) if p != cause and p in matrix.columns]
            if cause in matrix.columns and effect in matrix.columns:
                test = matrix.test(cause, effect, given)
                if test.p_value < STRONG_P:
                    found.append(
                        f"The LLM doubts the edge {cause} -> {effect}, but the data tie "
                        f"them strongly ({test.describe()})."
                    )
    return found


def _matrix(df: pd.DataFrame, profile: DatasetProfile, seed: int) -> BlockMatrix | None:
    kinds = {c.name: c.kind for c in profile.columns if c.kind not in UNUSABLE_KINDS}
    frame = df[list(kinds)].dropna()
    if len(frame) > MAX_ROWS:
        frame = frame.sample(n=MAX_ROWS, random_state=seed)
    if len(frame) < MIN_ROWS:
        return None
    return BlockMatrix(encode(frame, kinds))


def latent_summary(latents: list[LatentConfounder]) -> str:
    added = [latent for latent in latents if latent.added]
    if not added:
        return ""
    return (
        " Unmeasured common causes added to the graph as latent nodes: "
        + "; ".join(
            f"{latent.name} (affects {', '.join(latent.affects)}: {latent.rationale})"
            for latent in added
        )
        + "."
    )


# --------------------------------------------------------------------------- the review


class GraphReview(BaseModel):
    """The reasoner's side of the critique stage: its critique, where it disagrees with
    the data's, its proposed instruments and negative controls with their data checks, and
    the graph with the latent confounders and usable instruments added."""

    critique: GraphCritique
    disagreements: list[str] = []
    proposals: DomainProposals
    checks: DomainCheckResult
    used_instruments: list[str] = []
    graph: CausalGraph
    reading: str = ""
    warnings: list[AnalysisWarning] = []

    def summary(self) -> dict:
        """What the state and result.json keep (the graph is kept on its own)."""
        return self.model_dump(mode="json", exclude={"graph", "warnings"})


def review_graph(
    reasoner: Reasoner,
    df: pd.DataFrame,
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    data: CritiqueResult,
    seed: int = 0,
    context: str | None = None,
) -> GraphReview:
    critique = reasoner.critique_graph(
        df, profile, graph, treatment, outcome, seed, context, data_critique=data
    )
    disputes = disagreements(critique, data, df, profile, graph, treatment, outcome, seed)
    updated, critique = with_latents(graph, critique)
    proposals = reasoner.propose_checks(df, profile, updated, treatment, outcome, seed, context)
    checks = check_proposals(
        df, profile, updated, treatment, outcome, [(p.kind, p.name) for p in proposals.proposals]
    )
    arguments = {p.name: p.argument for p in proposals.proposals if p.kind == "instrument"}
    used = [
        name
        for name in checks.passing("instrument")
        if updated.edge(name, outcome) is None and updated.edge(name, treatment) is None
    ]
    updated = CausalGraph.model_validate(
        updated.model_copy(
            update={
                "edges": [
                    *updated.edges,
                    *(
                        Edge(
                            cause=name,
                            effect=treatment,
                            source=proposals.source,
                            note=f"proposed instrument; exclusion argument (yours to "
                            f"defend): {arguments[name]}",
                        )
                        for name in used
                    ),
                ]
            }
        ).model_dump()
    )
    parts = [critique.reading + latent_summary(critique.latents), proposals.reading]
    parts += [checks.reading] if checks.reading else []
    if disputes:
        parts.append(
            f"The {critique.source} critique and the data critique disagree in "
            f"{len(disputes)} place(s); both are shown."
        )
    return GraphReview(
        critique=critique,
        disagreements=disputes,
        proposals=proposals,
        checks=checks,
        used_instruments=used,
        graph=updated,
        reading=" ".join(p for p in parts if p),
        warnings=[*critique.warnings, *proposals.warnings, *checks.warnings],
    )
