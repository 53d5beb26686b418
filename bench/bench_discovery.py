"""Structure recovery on pgmpy's bundled example networks: our proposal next to plain PC.

The networks ship inside pgmpy (``pgmpy/utils/example_models``), so nothing is downloaded;
data are simulated from each network's own parameters with pgmpy's sampler. For every
network a treatment and an outcome with mediators between them are fixed, and two graphs
are scored against the true DAG on the same seeded sample:

- ours: ``propose_graph`` (name hints, screens, PC under background knowledge on at most
  2,000 rows, depth 2, alpha 0.01, confirmation tests);
- PC alone: causal-learn's ``pc`` with its defaults (alpha 0.05, no depth cap, no
  knowledge), G-test for discrete and Fisher z for Gaussian data.

Adjacency and arrowhead precision/recall, SHD (missing + extra + wrongly or not oriented
edges), and whether the adjustment each graph implies is a valid backdoor set in the true
DAG: for ours the set ``tools.identify.adjustment.backdoor_set`` reads off the proposal, for PC the
treatment's neighbours not oriented away from it. Run: ``python bench/bench_discovery.py``.
"""

import sys
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import table  # noqa: E402
from causal_assistant.tools.data.intake import profile_table  # noqa: E402
from causal_assistant.tools.identify.adjustment import backdoor_set, blocks_backdoor  # noqa: E402
from causal_assistant.tools.model.discovery import discrete_codes  # noqa: E402
from causal_assistant.tools.model.modeling import propose_graph  # noqa: E402

CASES = (  # network, treatment, outcome
    ("asia", "smoke", "dysp"),
    ("sachs", "PKA", "Akt"),
    ("child", "LungParench", "Grunting"),
    ("alarm", "VENTLUNG", "SAO2"),
    ("ecoli70", "lacA", "ftsJ"),
)
ROWS = 2000
SEED = 0


def simulate(name: str) -> tuple[nx.DiGraph, pd.DataFrame, bool]:
    """The true DAG, a seeded sample, and whether the network is discrete."""
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.utils import get_example_model

    model = get_example_model(name)
    discrete = isinstance(model, DiscreteBayesianNetwork)
    kwargs = {"show_progress": False} if discrete else {}
    data = model.simulate(n_samples=ROWS, seed=SEED, **kwargs)
    data = data.astype(str) if discrete else data
    return nx.DiGraph(model.edges()), data[list(model.nodes())], discrete


def ours(data: pd.DataFrame, treatment: str, outcome: str) -> tuple[dict, list[str] | None]:
    proposal = propose_graph(data, profile_table(data), treatment, outcome, seed=SEED)
    edges = {(e.cause, e.effect): "directed" for e in proposal.graph.edges}
    return edges, backdoor_set(proposal.graph, treatment, outcome)


def pc_alone(data: pd.DataFrame, discrete: bool, treatment: str) -> tuple[dict, list[str]]:
    from causallearn.search.ConstraintBased.PC import pc

    names = list(data.columns)
    values = discrete_codes(data, names) if discrete else data.to_numpy(dtype=float)
    graph = pc(
        values, 0.05, "gsq" if discrete else "fisherz", show_progress=False, node_names=names
    ).G.graph
    edges = {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            marks = (graph[i, j], graph[j, i])
            if marks == (-1, 1):
                edges[(names[i], names[j])] = "directed"
            elif marks == (1, -1):
                edges[(names[j], names[i])] = "directed"
            elif marks != (0, 0):
                edges[(names[i], names[j])] = "undirected"
    adjustment = [
        a if b == treatment else b
        for (a, b), kind in edges.items()
        if treatment in (a, b) and not (kind == "directed" and a == treatment)
    ]
    return edges, adjustment


def score(truth: nx.DiGraph, edges: dict) -> dict:
    true_pairs = {frozenset(e) for e in truth.edges}
    found_pairs = {frozenset(e) for e in edges}
    directed = {e for e, kind in edges.items() if kind == "directed"}
    right_way = directed & set(truth.edges)
    wrong_orientation = sum(
        1
        for e, kind in edges.items()
        if frozenset(e) in true_pairs and (kind != "directed" or e not in truth.edges)
    )
    return {
        "adj P": len(true_pairs & found_pairs) / max(len(found_pairs), 1),
        "adj R": len(true_pairs & found_pairs) / len(true_pairs),
        "dir P": len(right_way) / max(len(directed), 1),
        "dir R": len(right_way) / len(true_pairs),
        "SHD": len(true_pairs - found_pairs) + len(found_pairs - true_pairs) + wrong_orientation,
    }


def valid(truth: nx.DiGraph, treatment: str, outcome: str, adjustment: list[str] | None) -> str:
    if adjustment is None:
        return "none found"
    if set(adjustment) & nx.descendants(truth, treatment):
        return "no (descendant)"
    return "yes" if blocks_backdoor(truth, treatment, outcome, adjustment) else "no (open path)"


def run() -> str:
    warnings.filterwarnings("ignore")
    np.seterr(all="ignore")
    rows = []
    for name, treatment, outcome in CASES:
        truth, data, discrete = simulate(name)
        for method in ("ours", "PC alone"):
            started = time.perf_counter()
            edges, adjustment = (
                ours(data, treatment, outcome)
                if method == "ours"
                else pc_alone(data, discrete, treatment)
            )
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "network": f"{name} ({len(truth)}/{len(truth.edges)})",
                    "T -> Y": f"{treatment} -> {outcome}",
                    "method": method,
                    **score(truth, edges),
                    "valid adjustment": valid(truth, treatment, outcome, adjustment),
                    "seconds": seconds,
                }
            )
    return table(
        rows,
        f"Structure recovery on pgmpy networks ({ROWS} simulated rows, seed "
        f"{SEED}; network (nodes/edges))",
    )


if __name__ == "__main__":
    print(run())
