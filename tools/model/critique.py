"""Critique of a causal graph against the data, whoever drew it.

A graph is a set of claims; some can be checked. Every missing edge claims an
independence (each variable is independent of its non-descendants given its parents), so
those are tested, as many as fit a budget and corrected for multiple testing, and a
contradiction names the variables. The chosen adjustment is checked too: variables the
graph leaves out but the data tie strongly to both treatment and outcome, adjustment for
something downstream of the treatment, poor overlap of propensity scores, and samples too
small to support the model.
"""

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel

from causal_assistant.tools.data.intake import UNUSABLE_KINDS, DatasetProfile
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.estimate.estimation import SMALL_SAMPLE_ROWS
from causal_assistant.tools.estimate.overlap import check_overlap
from causal_assistant.tools.identify.adjustment import backdoor_set, blocks_backdoor
from causal_assistant.tools.model.discovery import (
    BlockMatrix,
    DiscreteAwareTests,
    encode,
    format_p,
)
from causal_assistant.tools.model.graphs import CausalGraph
from causal_assistant.tools.model.independence import ALPHA as INDEPENDENCE_ALPHA
from causal_assistant.tools.model.independence import contradicted, holm
from causal_assistant.tools.refute.portable_refute import implied_independences
from causal_assistant.tools.results import ToolResult, WarningCode

ALPHA = 0.05
MAX_TESTS = 40
TEST_ROWS = 20_000
STRONG_R = 0.1
MIN_SCREEN_R = 0.05
SCREEN_RATIO = 1 / 3
ROWS_PER_COLUMN = 10
MAX_SCREENED_COLUMNS = 200


class Finding(BaseModel):
    code: WarningCode
    variables: list[str]
    statistic: str
    message: str


class IndependenceTest(BaseModel):
    """One implied independence: x independent of y given ``given``, per the graph."""

    x: str
    y: str
    given: list[str]
    test: str
    r: float
    statistic: float
    p_value: float
    p_adjusted: float = 1.0
    conflict: bool = False


class CritiqueResult(ToolResult):
    findings: list[Finding] = []
    tests: list[IndependenceTest] = []
    n_implied: int = 0
    n_rows: int = 0
    adjustment_set: list[str] = []

    def add(self, code: WarningCode, variables: list[str], statistic: str, message: str) -> None:
        self.findings.append(
            Finding(code=code, variables=variables, statistic=statistic, message=message)
        )
        self.warn(code, message)


# --------------------------------------------------------------------------- shared checks


def screened_off(
    matrix: BlockMatrix | DiscreteAwareTests,
    name: str,
    anchor: str,
    given: list[str],
    alpha: float = 0.01,
) -> str | None:
    """Evidence that ``name`` is downstream of ``given[0]`` (the treatment): ``anchor``, a
    known cause of it, is associated with ``name`` but not once ``given`` is held fixed (the
    association drops to a third or less and is no longer significant), so it runs through
    the treatment. A confounder fails this: holding the treatment fixed leaves it tied to
    the treatment's other causes. None when not shown."""
    if anchor == name or name in given or anchor in given:
        return None
    marginal = matrix.test(anchor, name)
    if marginal.p_value >= alpha or abs(marginal.r) < MIN_SCREEN_R:
        return None
    held = matrix.test(anchor, name, given)
    vanished = held.p_value > alpha or abs(held.r) < MIN_SCREEN_R
    if not vanished or abs(held.r) > SCREEN_RATIO * abs(marginal.r):
        return None
    fixed = given[0] + (f" (with {', '.join(given[1:])})" if len(given) > 1 else "")
    return (
        f"{anchor} (a cause of {given[0]}) is associated with it ({marginal.describe()}) "
        f"but not once {fixed} is held fixed ({held.describe()})"
    )


def across(
    matrix: BlockMatrix | DiscreteAwareTests,
    name: str,
    anchor: str,
    treatment: str,
    outcome: str,
    others: Sequence[str] = (),
) -> tuple[str, bool] | None:
    """Evidence that the treatment separates ``anchor`` from ``name``: holding it fixed (or
    it and the outcome) removes their association. With ``anchor`` a cause of the
    treatment, ``name`` is then downstream of it; the flag says the outcome had to be held
    fixed too, so ``name`` depends on the outcome as well (a collider).

    ``others``, further causes of the treatment, are held fixed as well: holding the
    treatment fixed ties its causes together, which would hide a mediator that shares a
    cause with the treatment. A direct cause of the treatment still fails the test, as
    the treatment itself keeps it tied to ``anchor``.
    """
    rest = [o for o in others if o not in (name, anchor, treatment, outcome)]
    for given in ([treatment, *rest], [treatment, outcome, *rest]):
        found = screened_off(matrix, name, anchor, given)
        if found:
            return found, outcome in given
    return None


def settle_anchors(
    matrix: BlockMatrix, treatment: str, outcome: str, trusted: list[str], found: list[str]
) -> tuple[list[str], list[str]]:
    """Which supposed causes of the treatment to test other columns against.

    The test is symmetric: it shows two columns are on opposite sides of the treatment, or
    both after it, never both before. So ``found`` causes (from a graph or discovery) that
    the data put across the treatment from the others are dropped, those at odds with the
    most first (all of them on a tie), until none is at odds; ``trusted`` ones are kept.
    Returns (kept, dropped).
    """
    found, dropped = [a for a in found if a not in trusted], []
    while found:
        at_odds = {
            a: sum(
                bool(across(matrix, a, b, treatment, outcome)) for b in trusted + found if b != a
            )
            for a in found
        }
        worst = max(at_odds.values())
        if not worst:
            break
        losers = [a for a in found if at_odds[a] == worst]
        dropped += losers
        found = [a for a in found if a not in losers]
    return trusted + found, dropped


# --------------------------------------------------------------------------- critique


def critique_graph(
    df: pd.DataFrame,
    profile: DatasetProfile,
    graph: CausalGraph,
    treatment: str,
    outcome: str,
    adjustment_set: list[str] | None = None,
    *,
    seed: int = 0,
    alpha: float = INDEPENDENCE_ALPHA,
    max_tests: int = MAX_TESTS,
) -> CritiqueResult:
    """Test what ``graph`` implies on ``df`` and check the adjustment for the effect of
    ``treatment`` on ``outcome`` (the graph's own backdoor set when none is given)."""
    for node in (treatment, outcome):
        if node not in graph.nodes or node not in df.columns:
            raise InputError(f"{node!r} must be both a column and a node of the graph; add it.")
    unknown = [a for a in adjustment_set or [] if a not in df.columns]
    if unknown:
        raise InputError(
            f"The adjustment set names {unknown[0]!r}, which is not a column; "
            "remove it or check the spelling."
        )
    result = CritiqueResult()
    kinds = {c.name: c.kind for c in profile.columns if c.kind not in UNUSABLE_KINDS}
    observed = [n for n in graph.nodes if n not in graph.unobserved and n in kinds]
    frame = df[observed].dropna()
    if len(frame) > TEST_ROWS:
        frame = frame.sample(n=TEST_ROWS, random_state=seed)
    result.n_rows = len(frame)
    matrix = BlockMatrix(encode(frame, {n: kinds[n] for n in observed}))
    nxg = graph.to_networkx()
    _test_implied(result, matrix, nxg, observed, treatment, outcome, alpha, max_tests)
    chosen = (
        backdoor_set(graph, treatment, outcome) if adjustment_set is None else list(adjustment_set)
    )
    result.adjustment_set = chosen or []
    parents = [p for p in nxg.predecessors(treatment) if p in matrix.columns]
    anchors, _ = settle_anchors(matrix, treatment, outcome, [], parents)
    _check_adjustment(result, graph, nxg, matrix, treatment, outcome, chosen, anchors)
    flagged = {
        v
        for f in result.findings
        for v in f.variables
        if f.code in (WarningCode.POST_TREATMENT_ADJUSTMENT, WarningCode.GRAPH_DATA_CONFLICT)
    }
    _check_unadjusted(
        result,
        df,
        kinds,
        graph,
        nxg,
        treatment,
        outcome,
        [a for a in result.adjustment_set if a not in flagged],
        [a for a in anchors if a not in flagged],
        seed,
        adjusted=result.adjustment_set,
    )
    _check_support(result, df, kinds, treatment, result.adjustment_set, seed)
    result.reading = _reading(result, treatment, outcome, adjustment_set is None, chosen)
    result.code = (
        "from causal_assistant.tools.model.critique import critique_graph\n"
        "from causal_assistant.tools.data.intake import profile_table\n"
        f"critique = critique_graph(df, profile_table(df), graph, {treatment!r}, {outcome!r}, "
        f"{adjustment_set!r}, seed={seed})\n"
    )
    return result


def _implied(graph: nx.DiGraph, observed: list[str]) -> list[tuple[str, str, list[str]]]:
    """Local Markov statements over the observed columns (the refuter's own derivation,
    with every node outside ``observed`` treated as latent)."""
    marked = graph.copy()
    for node in marked.nodes:
        if node not in observed:
            marked.nodes[node]["observed"] = "no"
    return [(x, y, list(given)) for x, y, given in implied_independences(marked)]


def _test_implied(
    result: CritiqueResult,
    matrix: BlockMatrix,
    graph: nx.DiGraph,
    observed: list[str],
    treatment: str,
    outcome: str,
    alpha: float,
    max_tests: int,
) -> None:
    """Test the implied independences most likely to fail first: the pairs most
    associated in the data, and those involving treatment or outcome."""
    implied = _implied(graph, observed)
    result.n_implied = len(implied)

    def priority(item: tuple[str, str, list[str]]) -> float:
        x, y, _ = item
        return abs(matrix.test(x, y).r) + 0.1 * len({x, y} & {treatment, outcome})

    chosen = sorted(implied, key=priority, reverse=True)[:max_tests]
    tests = []
    for x, y, given in chosen:
        found = matrix.independence(x, y, given)
        tests.append(
            IndependenceTest(
                x=x,
                y=y,
                given=given,
                test=found.test,
                r=found.r,
                statistic=found.statistic,
                p_value=found.p_value,
            )
        )
    for test, adjusted in zip(tests, holm([t.p_value for t in tests]), strict=True):
        test.p_adjusted = float(adjusted)
        test.conflict = contradicted(test.p_adjusted, test.r, alpha)
        if test.conflict:
            held = f" given {', '.join(test.given)}" if test.given else ""
            what = "partial corr" if test.test != "gsq" else "G-test effect"
            statistic = (
                f"{what} {test.r:+.2f}, {format_p(test.p_value)} "
                f"(Holm-adjusted {format_p(test.p_adjusted)}, {test.test})"
            )
            result.add(
                WarningCode.GRAPH_DATA_CONFLICT,
                [test.x, test.y],
                statistic,
                f"The graph implies {test.x} and {test.y} are independent{held}, but "
                f"the data show dependence ({statistic}): an edge between them or a "
                "common cause is missing.",
            )
    result.tests = tests


def _check_adjustment(
    result: CritiqueResult,
    graph: CausalGraph,
    nxg: nx.DiGraph,
    matrix: BlockMatrix,
    treatment: str,
    outcome: str,
    chosen: list[str] | None,
    anchors: list[str],
) -> None:
    """Adjusting for what the treatment changes, or for a collider that opens a path, biases
    the total effect; so does a set that leaves a backdoor path open."""
    if not chosen:
        return
    after = nx.descendants(nxg, treatment) | set(graph.post_treatment)
    for name in chosen:
        if name in after:
            result.add(
                WarningCode.POST_TREATMENT_ADJUSTMENT,
                [name],
                "graph",
                f"{name} is downstream of {treatment} in the graph; adjusting for it "
                "removes part of the effect or opens a false path.",
            )
    if not blocks_backdoor(nxg, treatment, outcome, chosen):
        for name in chosen:
            rest = [c for c in chosen if c != name]
            if name not in after and blocks_backdoor(nxg, treatment, outcome, rest):
                result.add(
                    WarningCode.POST_TREATMENT_ADJUSTMENT,
                    [name],
                    "graph",
                    f"Adjusting for {name} opens a path between {treatment} and "
                    f"{outcome} through a collider; leave it out.",
                )
    for name in chosen:
        if name in after or name not in matrix.columns:
            continue
        found = next(
            (
                e[0]
                for a in anchors
                if a != name and (e := across(matrix, name, a, treatment, outcome, anchors))
            ),
            None,
        )
        if found:
            # the graph places it before the treatment and it is adjusted for: a conflict
            # between graph and data to settle, not a post-treatment adjustment made
            result.add(
                WarningCode.GRAPH_DATA_CONFLICT,
                [name],
                found,
                f"The data suggest {name} may be downstream of {treatment} ({found}), while "
                f"the graph places it before {treatment} and adjusts for it; if it was "
                "measured after the treatment, mark it post-treatment to leave it out.",
            )


def _screen_frame(df: pd.DataFrame, columns: list[str], seed: int) -> pd.DataFrame:
    frame = df[columns].dropna()
    return frame.sample(n=TEST_ROWS, random_state=seed) if len(frame) > TEST_ROWS else frame


def _check_unadjusted(
    result: CritiqueResult,
    df: pd.DataFrame,
    kinds: Mapping[str, str],
    graph: CausalGraph,
    nxg: nx.DiGraph,
    treatment: str,
    outcome: str,
    adjustment: list[str],
    anchors: list[str],
    seed: int,
    adjusted: Sequence[str] = (),
) -> None:
    """Columns outside the adjustment set that the data tie strongly to both treatment
    (given the set less any flagged member) and outcome (given treatment and that set),
    unless they are downstream of the treatment by the graph or by the data. Every member
    of ``adjusted`` is skipped: nothing calls an adjusted variable "not adjusted for"."""
    after = nx.descendants(nxg, treatment) | set(graph.post_treatment)
    skip = {treatment, outcome, *adjustment, *adjusted, *after}
    columns = [c for c in kinds if c not in skip][:MAX_SCREENED_COLUMNS]
    anchors = [a for a in anchors if a in adjustment]
    limit = ALPHA / max(len(columns), 1)
    for name in columns:
        used = [treatment, outcome, *adjustment, name]
        frame = _screen_frame(df, used, seed)
        if len(frame) < SMALL_SAMPLE_ROWS:
            continue
        matrix = BlockMatrix(encode(frame, {n: kinds[n] for n in used}))
        if abs(matrix.test(name, outcome).r) > 0.98:
            continue
        with_t = matrix.test(name, treatment, adjustment)
        with_y = matrix.test(name, outcome, [treatment, *adjustment])
        strong = all(t.p_value < limit and abs(t.r) >= STRONG_R for t in (with_t, with_y))
        if not strong:
            continue
        if any(across(matrix, name, a, treatment, outcome, anchors) for a in anchors):
            continue
        statistic = (
            f"with {treatment}: {with_t.describe()}; with {outcome} given "
            f"{treatment}: {with_y.describe()}"
        )
        result.add(
            WarningCode.UNADJUSTED_CONFOUNDER,
            [name],
            statistic,
            f"{name} is not adjusted for, yet the data tie it to both {treatment} and "
            f"{outcome} ({statistic}); if it is measured before treatment, add it as a "
            "common cause.",
        )


def _check_support(
    result: CritiqueResult,
    df: pd.DataFrame,
    kinds: Mapping[str, str],
    treatment: str,
    adjustment: list[str],
    seed: int,
) -> None:
    """Enough rows for the adjustment model, and treated and untreated units that overlap."""
    used = [treatment, *[a for a in adjustment if a in kinds]]
    frame = df[used].dropna()
    blocks = encode(frame, {n: kinds.get(n, "continuous") for n in used})
    width = sum(blocks[n].shape[1] for n in used[1:])
    if len(frame) < max(SMALL_SAMPLE_ROWS, ROWS_PER_COLUMN * (width + 2)):
        result.add(
            WarningCode.SMALL_SAMPLE,
            adjustment,
            f"{len(frame)} rows",
            f"Only {len(frame)} complete rows for {width} adjustment columns: estimates "
            f"need at least {SMALL_SAMPLE_ROWS} rows and about {ROWS_PER_COLUMN} per "
            "column.",
        )
    if kinds.get(treatment) != "binary" or not width or len(frame) < 2:
        return
    if len(frame) > TEST_ROWS:
        chosen = frame.sample(n=TEST_ROWS, random_state=seed).index
        blocks = {n: b[frame.index.get_indexer(chosen)] for n, b in blocks.items()}
    check = check_overlap(np.hstack([blocks[n] for n in used[1:]]), blocks[treatment][:, 0] > 0)
    if check.poor:
        result.add(
            WarningCode.POOR_OVERLAP,
            [treatment, *adjustment],
            f"{check.extreme_share:.0%} extreme propensity scores",
            check.message,
        )


def _reading(
    result: CritiqueResult, treatment: str, outcome: str, derived: bool, chosen: list[str] | None
) -> str:
    conflicts = [f for f in result.findings if f.code == WarningCode.GRAPH_DATA_CONFLICT]
    text = (
        f"Tested {len(result.tests)} of the {result.n_implied} independences the graph "
        f"implies on {result.n_rows:,} rows (Holm-corrected): "
    )
    text += (
        f"{len(conflicts)} contradicted by the data."
        if conflicts
        else "none contradicted by the data."
    )
    if chosen is None:
        text += (
            f" No observed set blocks every backdoor path from {treatment} to {outcome} "
            "in this graph, so adjustment alone cannot identify the effect."
        )
    else:
        source = "the graph's backdoor set" if derived else "the given adjustment set"
        text += f" Checked {source}: {', '.join(chosen) or 'nothing to adjust for'}."
    others = [f for f in result.findings if f.code != WarningCode.GRAPH_DATA_CONFLICT]
    if others:
        text += " " + " ".join(f.message for f in others)
    elif chosen is not None:
        text += " No adjustment problem found."
    return text
