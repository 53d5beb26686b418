"""Causal discovery on the data, under background knowledge, on a seeded sample.

Discovery is evidence for the modeller, not the answer: it says which variables stay
dependent whatever else is held fixed (adjacency) and, where the data can tell, which way
an edge points. The algorithm and its conditional-independence test follow the data
(discrete, continuous, mixed with categories; size; non-Gaussian noise; possible hidden
causes), and what is known from names and the question (tiers, required and forbidden
edges) constrains it. Large tables are cut to a seeded sample whose size is reported, and
the depth of conditioning is capped, so a proposal stays interactive.
"""

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from causallearn.graph.GraphNode import GraphNode
from causallearn.utils.cit import NO_SPECIFIED_PARAMETERS_MSG, CIT_Base, register_ci_test
from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge
from pydantic import BaseModel
from scipy import stats

import causal_assistant.tools.model.independence as independence
from causal_assistant.tools.results import ToolResult, WarningCode

Algorithm = Literal["pc", "fci", "ges", "lingam"]
EdgeKind = Literal["directed", "undirected", "bidirected", "partial", "nondirected"]

MAX_ROWS = 2000
ALPHA = 0.01
MAX_DEPTH = 2
DISCRETE_KINDS = ("binary", "categorical", "count")
MAX_DISCRETE_LEVELS = 8
MAX_DUMMIES = 19
GES_MAX_VARS = 8
GES_MAX_ROWS = 1000
LINGAM_MAX_VARS = 12
LINGAM_MIN_WEIGHT = 0.05
GAUSSIAN_P = 0.001
BLOCK_TEST = independence.CANONICAL_TEST


# --------------------------------------------------------------------------- encoding


def encode(df: pd.DataFrame, kinds: Mapping[str, str]) -> dict[str, np.ndarray]:
    """One numeric block per column: the value itself, or one indicator per category.

    Categories get an indicator for each of their most common levels but the most common
    one, so a category enters every test and regression as a whole, never as arbitrary codes.
    """
    blocks = {}
    for name, kind in kinds.items():
        values = df[name]
        numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        if kind in ("continuous", "count"):
            blocks[name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)[:, None]
        elif kind == "binary" and numeric:
            blocks[name] = values.to_numpy(dtype=float).reshape(-1, 1)
        else:
            text = values.astype(str).to_numpy()
            levels = pd.Series(text).value_counts().index[1 : MAX_DUMMIES + 1]
            columns = [text == level for level in levels] or [np.zeros(len(text), dtype=bool)]
            blocks[name] = np.column_stack(columns).astype(float)
    return blocks


def discrete_codes(df: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Integer codes 0..k-1 per column, as the chi-square and G tests need."""
    return np.column_stack([pd.factorize(df[name].astype(str), sort=True)[0] for name in names])


def is_discrete(series: pd.Series, kind: str) -> bool:
    """Few enough levels to cross-tabulate; counts with many values are treated as numbers."""
    return kind in DISCRETE_KINDS and series.nunique() <= MAX_DISCRETE_LEVELS


# --------------------------------------------------------------------------- CI test


class BlockTest(BaseModel):
    """One conditional-independence test: x independent of y given z?"""

    test: str
    r: float  # partial correlation (first canonical correlation for categories)
    statistic: float
    dof: int
    p_value: float
    n: int

    def describe(self) -> str:
        what = "partial corr" if self.test != "gsq" else "G statistic"
        value = f"{self.r:+.2f}" if self.test != "gsq" else f"{self.statistic:.1f}"
        return f"{what} {value}, {format_p(self.p_value)}"


def format_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


class BlockMatrix:
    """Encoded blocks with what their tests share (correlation matrix, level codes), so
    many tests share one computation."""

    def __init__(self, blocks: dict[str, np.ndarray]) -> None:
        self.names = list(blocks)
        self.inputs = independence.ci_inputs(blocks)
        self.columns: dict[str, list[int]] = self.inputs["index"]
        self.corr: np.ndarray = self.inputs["corr"]
        self.n: int = self.inputs["n"]

    def test(self, x: str, y: str, given: Sequence[str] = ()) -> BlockTest:
        """The linear (canonical-correlation) test, whatever the variables' types."""
        z = [c for name in given for c in self.columns[name]]
        return block_test_from_corr(self.corr, self.columns[x], self.columns[y], z, self.n)

    def independence(self, x: str, y: str, given: Sequence[str] = ()) -> BlockTest:
        """The shared conditional-independence test (``tools.model.independence``): the
        G-test for discrete variables, the canonical test otherwise."""
        return BlockTest(**independence.independence_test(self.inputs, x, y, list(given)))


def block_test_from_corr(
    corr: np.ndarray, x: list[int], y: list[int], z: list[int], n: int
) -> BlockTest:
    """Bartlett's test that every canonical correlation of x and y given z is zero."""
    return BlockTest(**independence.canonical_test(corr, x, y, z, n))


class DiscreteAwareTests:
    """``BlockMatrix.independence`` behind ``BlockMatrix.test``'s signature, for the screens."""

    def __init__(self, matrix: BlockMatrix) -> None:
        self.matrix = matrix

    def test(self, x: str, y: str, given: Sequence[str] = ()) -> BlockTest:
        return self.matrix.independence(x, y, given)


class _BlockFisherZ(CIT_Base):  # type: ignore[misc]  # causal-learn ships no types
    """causal-learn adapter: node i of the data stands for the columns ``blocks[i]`` of
    ``expanded``; registered so PC and FCI can run on mixed data with categories."""

    def __init__(
        self,
        data: np.ndarray,
        expanded: np.ndarray,
        blocks: list[list[int]],
        **kwargs: object,
    ) -> None:
        super().__init__(data, **kwargs)
        self.check_cache_method_consistent(BLOCK_TEST, NO_SPECIFIED_PARAMETERS_MSG)
        std = expanded.std(0)
        centred = (expanded - expanded.mean(0)) / np.where(std > 0, std, 1.0)
        self.corr = centred.T @ centred / expanded.shape[0]
        self.rows = self.corr.tolist()
        self.blocks = blocks

    def __call__(self, X: int, Y: int, condition_set: Sequence[int] | None = None) -> float:
        xs, ys, given, key = self.get_formatted_XYZ_and_cachekey(X, Y, condition_set)
        if key not in self.pvalue_cache:
            x, y = self.blocks[xs[0]], self.blocks[ys[0]]
            z = [c for i in given for c in self.blocks[i]]
            self.pvalue_cache[key] = (
                _fisher_z(self.rows, x[0], y[0], z, self.sample_size)
                if len(x) == len(y) == 1 and len(z) == len(given)
                else block_test_from_corr(self.corr, x, y, z, self.sample_size).p_value
            )
        return self.pvalue_cache[key]


def _partial_corr(corr: list[list[float]], x: int, y: int, z: list[int]) -> float:
    """Partial correlation by the recursion formula, without a matrix inverse (up to two
    conditioning variables, which is all PC's capped depth asks for; an inverse beyond)."""
    if not z:
        return corr[x][y]
    if len(z) > 2:
        index = [x, y, *z]
        inverse = np.linalg.pinv(np.asarray(corr)[np.ix_(index, index)])
        return float(-inverse[0, 1] / math.sqrt(abs(inverse[0, 0] * inverse[1, 1]) or 1e-300))
    head, last = z[:-1], z[-1]
    r_xy = _partial_corr(corr, x, y, head)
    r_xz = _partial_corr(corr, x, last, head)
    r_yz = _partial_corr(corr, y, last, head)
    return (r_xy - r_xz * r_yz) / math.sqrt(max((1 - r_xz**2) * (1 - r_yz**2), 1e-300))


def _fisher_z(corr: list[list[float]], x: int, y: int, z: list[int], n: int) -> float:
    """causal-learn's Fisher z test, computed with plain floats: PC runs it tens of
    thousands of times, and numpy's and scipy's per-call overhead was most of PC's time."""
    r = max(min(_partial_corr(corr, x, y, z), 1 - 1e-12), -1 + 1e-12)
    statistic = math.sqrt(max(n - len(z) - 3, 1)) * abs(math.atanh(r))
    return math.erfc(statistic / math.sqrt(2))


register_ci_test(BLOCK_TEST, _BlockFisherZ)


# --------------------------------------------------------------------------- knowledge


class Knowledge(BaseModel):
    """What is known before looking at the data, in column names.

    ``tiers``: earlier tiers cannot be caused by later ones (time order). ``required`` and
    ``forbidden``: single directed edges that must or must not exist.
    """

    tiers: list[list[str]] = []
    required: list[tuple[str, str]] = []
    forbidden: list[tuple[str, str]] = []

    def tier_of(self, name: str) -> int | None:
        return next((i for i, tier in enumerate(self.tiers) if name in tier), None)

    def forbids(self, cause: str, effect: str) -> bool:
        """True when ``cause -> effect`` contradicts the knowledge (a directed path is meant)."""
        if (cause, effect) in self.forbidden:
            return True
        a, b = self.tier_of(cause), self.tier_of(effect)
        return a is not None and b is not None and a > b

    def for_causallearn(self, names: Sequence[str]) -> BackgroundKnowledge:
        known = BackgroundKnowledge()
        nodes = {name: GraphNode(name) for name in names}
        for i, tier in enumerate(self.tiers):
            for name in tier:
                if name in nodes:
                    known.add_node_to_tier(nodes[name], i)
        for cause, effect in self.required:
            if cause in nodes and effect in nodes:
                known.add_required_by_node(nodes[cause], nodes[effect])
        for cause, effect in self.forbidden:
            if cause in nodes and effect in nodes:
                known.add_forbidden_by_node(nodes[cause], nodes[effect])
        return known

    def for_lingam(self, names: Sequence[str]) -> np.ndarray:
        """DirectLiNGAM's prior matrix: entry [j, i] = 0 means no path from i to j."""
        prior = -np.ones((len(names), len(names)), dtype=int)
        for i, cause in enumerate(names):
            for j, effect in enumerate(names):
                if i != j and self.forbids(cause, effect):
                    prior[j, i] = 0
        for cause, effect in self.required:
            if cause in names and effect in names:
                prior[list(names).index(effect), list(names).index(cause)] = 1
        return prior


# --------------------------------------------------------------------------- result


class FoundEdge(BaseModel):
    """An edge between ``a`` and ``b``: ``directed`` is a -> b, ``partial`` is a o-> b."""

    a: str
    b: str
    kind: EdgeKind
    oriented_by: Literal["data", "knowledge", "none"] = "none"
    note: str


class DiscoveryResult(ToolResult):
    algorithm: Algorithm
    ci_test: str | None
    why: str
    alpha: float
    max_depth: int
    variables: list[str]
    n_rows: int
    n_rows_total: int
    seconds: float
    edges: list[FoundEdge]

    def directed(self) -> nx.DiGraph:
        """Only the edges whose direction the data (or knowledge) settled."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.variables)
        graph.add_edges_from((e.a, e.b) for e in self.edges if e.kind == "directed")
        return graph

    def skeleton(self) -> nx.Graph:
        graph = nx.Graph()
        graph.add_nodes_from(self.variables)
        graph.add_edges_from((e.a, e.b) for e in self.edges)
        return graph

    def edge_between(self, u: str, v: str) -> FoundEdge | None:
        return next((e for e in self.edges if {e.a, e.b} == {u, v}), None)


# --------------------------------------------------------------------------- choice


def choose_test(discrete: Sequence[bool], categorical: Sequence[bool]) -> tuple[str, str]:
    """The conditional-independence test that fits the column types, and why."""
    if all(discrete):
        return "gsq", "G-test: every variable is discrete with few levels"
    if any(categorical):
        return BLOCK_TEST, (
            "partial correlation with categories as indicator blocks: "
            "numbers mixed with unordered categories"
        )
    return "fisherz", "Fisher z partial correlation: numeric and binary variables"


def choose_algorithm(
    kinds: Sequence[str], n_rows: int, *, latent: bool = False, non_gaussian: bool = False
) -> tuple[Algorithm, str]:
    """The discovery algorithm for these column kinds and this many rows, and why."""
    continuous = all(kind == "continuous" for kind in kinds)
    if latent:
        return "fci", (
            "FCI: hidden common causes may exist, and FCI allows for them "
            "(edge ends it cannot settle stay open)"
        )
    if continuous and non_gaussian and len(kinds) <= LINGAM_MAX_VARS:
        return "lingam", (
            "DirectLiNGAM: every variable is continuous with non-Gaussian "
            "noise, which lets it orient every edge"
        )
    if continuous and len(kinds) <= GES_MAX_VARS and n_rows <= GES_MAX_ROWS:
        return "ges", (
            "GES (BIC score): few continuous variables and a modest sample, where "
            "a score search is steadier than many tests"
        )
    return "pc", "PC: constraint-based with a capped conditioning depth scales to many columns"


def non_gaussian_noise(data: np.ndarray) -> bool:
    """LiNGAM's premise: each variable's part not explained by the others is non-Gaussian
    (all but at most one, by a Jarque-Bera test)."""
    x = (data - data.mean(0)) / (data.std(0) + 1e-12)
    gaussian = 0
    for i in range(x.shape[1]):
        others = np.delete(x, i, axis=1)
        beta, *_ = np.linalg.lstsq(others, x[:, i], rcond=None)
        gaussian += stats.jarque_bera(x[:, i] - others @ beta).pvalue > GAUSSIAN_P
    return gaussian <= 1


# --------------------------------------------------------------------------- running


def discover(
    df: pd.DataFrame,
    kinds: Mapping[str, str],
    knowledge: Knowledge | None = None,
    *,
    algorithm: Algorithm | Literal["auto"] = "auto",
    latent: bool = False,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
    alpha: float = ALPHA,
    max_depth: int = MAX_DEPTH,
) -> DiscoveryResult:
    """Run discovery over the columns in ``kinds`` (name -> profile kind).

    Rows with a missing value are dropped; above ``max_rows`` a seeded sample is used.
    """
    started = time.perf_counter()
    knowledge = knowledge or Knowledge()
    names = list(kinds)
    complete = df[names].dropna()
    sample = (
        complete.sample(n=max_rows, random_state=seed) if len(complete) > max_rows else complete
    )
    blocks = encode(sample, kinds)
    discrete = [is_discrete(sample[n], kinds[n]) for n in names]
    test, why_test = choose_test(discrete, [blocks[n].shape[1] > 1 for n in names])
    expanded = np.hstack([blocks[n] for n in names])
    numeric = np.column_stack([blocks[n][:, 0] for n in names])
    if algorithm == "auto":
        continuous = all(kinds[n] == "continuous" for n in names)
        algorithm, why = choose_algorithm(
            [kinds[n] for n in names],
            len(sample),
            latent=latent,
            non_gaussian=continuous
            and len(names) <= LINGAM_MAX_VARS
            and non_gaussian_noise(numeric),
        )
    else:
        why = f"{algorithm.upper()}: chosen by the caller"
    test_args: dict = {}
    if test == "gsq":
        data, method = discrete_codes(sample, names), test
    else:
        data, method = numeric, BLOCK_TEST
        starts = np.cumsum([0] + [blocks[n].shape[1] for n in names])
        test_args = {
            "expanded": expanded,
            "blocks": [list(range(starts[i], starts[i + 1])) for i in range(len(names))],
        }
    runner = {"pc": _run_pc, "fci": _run_fci, "ges": _run_ges, "lingam": _run_lingam}[algorithm]
    matrix = runner(data, names, method, knowledge, alpha, max_depth, seed, test_args)
    uses_test = algorithm in ("pc", "fci")
    setting = (
        f"{algorithm.upper()} ({test}, alpha {alpha}, conditioning sets up to {max_depth})"
        if uses_test
        else algorithm.upper()
    )
    edges = _apply_knowledge(
        _edges(matrix, names, knowledge, f"{setting} on {len(sample)} rows"), knowledge
    )
    result = DiscoveryResult(
        algorithm=algorithm,
        ci_test=test if uses_test else None,
        why=why + (f"; {why_test}" if uses_test else ""),
        alpha=alpha,
        max_depth=max_depth,
        variables=names,
        n_rows=len(sample),
        n_rows_total=len(complete),
        seconds=time.perf_counter() - started,
        edges=edges,
    )
    result.reading = (
        f"{setting} on {len(sample):,} of {len(complete):,} complete rows found "
        f"{len(edges)} edges ({sum(e.kind == 'directed' for e in edges)} oriented) "
        f"in {result.seconds:.1f} s. {result.why}."
    )
    result.code = (
        "from causal_assistant.tools.model.discovery import Knowledge, discover\n"
        f"discovery = discover(df, {kinds!r},\n    Knowledge.model_validate("
        f"{knowledge.model_dump()!r}),\n    algorithm={algorithm!r}, seed={seed}, "
        f"max_rows={max_rows}, alpha={alpha}, max_depth={max_depth})\n"
    )
    if len(sample) < len(complete):
        result.warn(
            WarningCode.LARGE_DATA_SAMPLED,
            f"Causal discovery ran on a seeded sample of {len(sample):,} of the "
            f"{len(complete):,} complete rows (seed {seed}); estimation uses every row.",
        )
    return result


def _run_pc(
    data: np.ndarray,
    names: list[str],
    test: str,
    knowledge: Knowledge,
    alpha: float,
    max_depth: int,
    seed: int,
    test_args: dict[str, Any],
) -> np.ndarray:
    from causallearn.search.ConstraintBased.PC import pc

    graph = pc(
        data,
        alpha,
        test,
        stable=True,
        uc_rule=0,
        uc_priority=2,
        background_knowledge=knowledge.for_causallearn(names),
        show_progress=False,
        node_names=names,
        max_k=max_depth,
        **test_args,
    )
    return graph.G.graph


def _run_fci(
    data: np.ndarray,
    names: list[str],
    test: str,
    knowledge: Knowledge,
    alpha: float,
    max_depth: int,
    seed: int,
    test_args: dict[str, Any],
) -> np.ndarray:
    from causallearn.search.ConstraintBased.FCI import fci

    graph, _ = fci(
        data,
        test,
        alpha,
        depth=max_depth,
        show_progress=False,
        background_knowledge=knowledge.for_causallearn(names),
        node_names=names,
        **test_args,
    )
    return graph.graph


def _run_ges(
    data: np.ndarray,
    names: list[str],
    test: str,
    knowledge: Knowledge,
    alpha: float,
    max_depth: int,
    seed: int,
    test_args: dict[str, Any],
) -> np.ndarray:
    from causallearn.search.ScoreBased.GES import ges

    standardised = (data - data.mean(0)) / (data.std(0) + 1e-12)
    return ges(standardised, score_func="local_score_BIC", node_names=names)["G"].graph


def _run_lingam(
    data: np.ndarray,
    names: list[str],
    test: str,
    knowledge: Knowledge,
    alpha: float,
    max_depth: int,
    seed: int,
    test_args: dict[str, Any],
) -> np.ndarray:
    """DirectLiNGAM's weights as causal-learn's endpoint matrix (j -> i when B[i, j] != 0)."""
    from causallearn.search.FCMBased.lingam import DirectLiNGAM

    standardised = (data - data.mean(0)) / (data.std(0) + 1e-12)
    model = DirectLiNGAM(random_state=seed, prior_knowledge=knowledge.for_lingam(names))
    weights = model.fit(standardised).adjacency_matrix_
    matrix = np.zeros_like(weights, dtype=int)
    for i, j in zip(*np.nonzero(np.abs(weights) > LINGAM_MIN_WEIGHT), strict=True):
        matrix[j, i], matrix[i, j] = -1, 1
    return matrix


_MARKS = {
    (-1, 1): "directed",
    (1, -1): "reversed",
    (-1, -1): "undirected",
    (1, 1): "bidirected",
    (2, 1): "partial",
    (1, 2): "partial_reversed",
    (2, 2): "nondirected",
}


def _edges(
    matrix: np.ndarray, names: list[str], knowledge: Knowledge, setting: str
) -> list[FoundEdge]:
    """causal-learn's endpoint matrix ([i, j] is the mark at i: -1 tail, 1 arrow, 2 circle)
    as named edges, each noting what settled it."""
    edges = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            kind = _MARKS.get((int(matrix[i, j]), int(matrix[j, i])))
            if kind is None:
                continue
            a, b = names[i], names[j]
            if kind in ("reversed", "partial_reversed"):
                a, b, kind = b, a, "directed" if kind == "reversed" else "partial"
            by = "none"
            if kind == "directed":
                by = "knowledge" if knowledge.forbids(b, a) else "data"
                how = f"oriented by {'background knowledge' if by == 'knowledge' else 'the data'}"
            elif kind == "undirected":
                how = "direction not determined by the data"
            elif kind == "bidirected":
                how = "a hidden common cause is indicated"
            else:
                how = "edge ends left open (a hidden common cause is possible)"
            edges.append(
                FoundEdge(
                    a=a,
                    b=b,
                    kind=kind,
                    oriented_by=by,
                    note=f"{setting}: dependent under every test; {how}",
                )
            )
    return edges


def _apply_knowledge(edges: list[FoundEdge], knowledge: Knowledge) -> list[FoundEdge]:
    """Score-based and LiNGAM results obey the same knowledge PC is given: an edge against
    the time order is turned round, and a required edge is added if missing."""
    fixed = []
    for edge in edges:
        if edge.kind == "directed" and knowledge.forbids(edge.a, edge.b):
            if knowledge.forbids(edge.b, edge.a):
                continue
            edge = FoundEdge(
                a=edge.b,
                b=edge.a,
                kind="directed",
                oriented_by="knowledge",
                note=edge.note + "; reversed by background knowledge",
            )
        elif edge.kind == "undirected" and (
            knowledge.forbids(edge.a, edge.b) or knowledge.forbids(edge.b, edge.a)
        ):
            a, b = (edge.b, edge.a) if knowledge.forbids(edge.a, edge.b) else (edge.a, edge.b)
            edge = FoundEdge(
                a=a,
                b=b,
                kind="directed",
                oriented_by="knowledge",
                note=edge.note + "; oriented by background knowledge",
            )
        fixed.append(edge)
    present = {frozenset((e.a, e.b)) for e in fixed}
    for cause, effect in knowledge.required:
        if frozenset((cause, effect)) not in present:
            fixed.append(
                FoundEdge(
                    a=cause,
                    b=effect,
                    kind="directed",
                    oriented_by="knowledge",
                    note="required by background knowledge",
                )
            )
    return fixed
