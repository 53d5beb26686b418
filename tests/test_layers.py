"""The layers import downwards only (tools -> agent -> ui), and no module imports itself
back through others: a change then reaches only the layers above it.

Imports inside functions (lazy imports) count like any other. Imports under
``if TYPE_CHECKING:`` are for the type checker alone and do not count for the layers, but
they may not close a cycle either: two modules that need each other's types are one idea
split in two.
"""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"tools": 0, "prompts": 0, "agent": 1, "ui": 2}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return "causal_assistant." + ".".join(parts)


def _runtime_imports(tree: ast.Module, typing: bool = False) -> list[str]:
    """Every ``causal_assistant`` name imported anywhere in the module, functions
    included; ``if TYPE_CHECKING`` blocks only when ``typing``."""
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if not typing and isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    names = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("causal_assistant"):
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("causal_assistant")]
    return names


def _import_graph(typing: bool = False) -> nx.DiGraph:
    modules = {_module(p): p for top in LAYERS for p in (ROOT / top).rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for imported in _runtime_imports(ast.parse(path.read_text()), typing):
            if imported in modules and imported != name:
                graph.add_edge(name, imported)
    return graph


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[1]]


def test_imports_point_down_only():
    upward = [(a, b) for a, b in _import_graph().edges if _layer(b) > _layer(a)]
    assert not upward, upward


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(_import_graph()))
    assert not cycles, cycles


def test_no_import_cycles_even_for_the_type_checker():
    cycles = list(nx.simple_cycles(_import_graph(typing=True)))
    assert not cycles, cycles


def test_lazy_and_type_checking_imports_are_seen():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from causal_assistant.agent.session import Session\n"
        "def handle():\n"
        "    from causal_assistant.agent.conversation import respond\n"
    )
    assert "causal_assistant.agent.conversation.respond" in _runtime_imports(tree)
    assert "causal_assistant.agent.session" not in _runtime_imports(tree)
    assert "causal_assistant.agent.session.Session" in _runtime_imports(tree, typing=True)


def test_session_and_conversation_do_not_import_each_other():
    graph = _import_graph(typing=True)
    session, conversation = "causal_assistant.agent.session", "causal_assistant.agent.conversation"
    assert not nx.has_path(graph, conversation, session)
