"""Causal graphs: the model the analyst approves, with the provenance of every edge.

Graphs arrive as DOT, GML or plain edge lists from users, reasoners and files, and are
edited one step at a time in the chat. Every way in is parsed here into one ``CausalGraph``,
and every edit returns a new graph or refuses with a ``GraphError`` that says which edge or
line is wrong, so the agent never holds a cyclic or half-parsed graph.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn, get_args

import networkx as nx
from pydantic import BaseModel, ConfigDict, model_validator

from causal_assistant.tools.errors import GraphError

EdgeSource = Literal["data", "heuristic", "llm", "user", "default"]
GraphFormat = Literal["dot", "gml", "edges"]
_SOURCES: tuple[str, ...] = get_args(EdgeSource)
_NO = {"no", "false", "0"}
_YES = {"yes", "true", "1"}
_MAX_DEPTH = 50
_GML_SOURCE = "origin"


class Edge(BaseModel):
    """A directed edge and where it came from (data test, heuristic, LLM, user, default).

    Frozen, so graphs returned by the edit functions can share edges safely.
    """

    model_config = ConfigDict(frozen=True)

    cause: str
    effect: str
    source: EdgeSource = "user"
    note: str = ""


class CausalGraph(BaseModel):
    """Nodes, edges and the user's markings; nodes are column names unless unobserved."""

    nodes: list[str]
    edges: list[Edge] = []
    unobserved: list[str] = []
    post_treatment: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> CausalGraph:
        """Every endpoint and marked node is a node, once; an edge appears once."""
        self.nodes = _unique(
            [*self.nodes, *_endpoints(self.edges), *self.unobserved, *self.post_treatment]
        )
        self.unobserved = _unique(self.unobserved)
        self.post_treatment = _unique(self.post_treatment)
        seen: set[tuple[str, str]] = set()
        edges = []
        for edge in self.edges:
            if (edge.cause, edge.effect) not in seen:
                seen.add((edge.cause, edge.effect))
                edges.append(edge)
        self.edges = edges
        return self

    @classmethod
    def from_edges(
        cls,
        pairs: Iterable[tuple[str, str]],
        source: EdgeSource = "default",
        nodes: Iterable[str] = (),
    ) -> CausalGraph:
        edges = [Edge(cause=cause, effect=effect, source=source) for cause, effect in pairs]
        return cls(nodes=list(nodes), edges=edges)

    def to_networkx(self) -> nx.DiGraph:
        """The graph as DoWhy reads it: unobserved nodes carry ``observed="no"``."""
        graph = nx.DiGraph()
        for node in self.nodes:
            graph.add_node(node, **({"observed": "no"} if node in self.unobserved else {}))
        for edge in self.edges:
            graph.add_edge(edge.cause, edge.effect, source=edge.source, note=edge.note)
        return graph

    def edge(self, cause: str, effect: str) -> Edge | None:
        return next((e for e in self.edges if e.cause == cause and e.effect == effect), None)

    def parents(self, node: str) -> list[str]:
        return [e.cause for e in self.edges if e.effect == node]

    def children(self, node: str) -> list[str]:
        return [e.effect for e in self.edges if e.cause == node]

    def to_dot(self) -> str:
        """DOT with markings and provenance as attributes, so ``parse_graph`` restores them."""
        lines = ["digraph {"]
        for node in self.nodes:
            attrs = {}
            if node in self.unobserved:
                attrs["observed"] = "no"
            if node in self.post_treatment:
                attrs["post_treatment"] = "yes"
            lines.append(f"  {_quote(node)}{_dot_attrs(attrs)};")
        for edge in self.edges:
            attrs = {"source": edge.source, **({"note": edge.note} if edge.note else {})}
            lines.append(f"  {_quote(edge.cause)} -> {_quote(edge.effect)}{_dot_attrs(attrs)};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_gml(self) -> str:
        """GML via networkx; provenance goes in ``origin``, as GML's ``source`` is the cause."""
        graph = self.to_networkx()
        for node in self.post_treatment:
            graph.nodes[node]["post_treatment"] = "yes"
        for _, _, data in graph.edges(data=True):
            data[_GML_SOURCE] = data.pop("source")
        return "\n".join(nx.generate_gml(graph)) + "\n"

    def to_edge_list(self) -> str:
        """One ``a -> b`` per line, then nodes without edges; markings are not carried."""
        lines = [f"{_edge_list_name(e.cause)} -> {_edge_list_name(e.effect)}" for e in self.edges]
        linked = set(_endpoints(self.edges))
        lines += [_edge_list_name(node) for node in self.nodes if node not in linked]
        return "\n".join(lines) + ("\n" if lines else "")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _endpoints(edges: Iterable[Edge]) -> Iterator[str]:
    for edge in edges:
        yield edge.cause
        yield edge.effect


# --------------------------------------------------------------------------- parsing


def parse_graph(
    text: str, fmt: GraphFormat | None = None, *, source: EdgeSource = "user"
) -> CausalGraph:
    """Parse DOT, GML or an edge list; ``fmt=None`` tells them apart from the text."""
    _check_size(text)
    fmt = fmt or _sniff_format(text)
    if fmt == "dot":
        return _DotParser(text, source).parse()
    if fmt == "gml":
        return _parse_gml(text, source)
    return _parse_edge_list(text, source)


def read_graph(path: str | Path) -> CausalGraph:
    """Read a graph file: .dot/.gv as DOT, .gml as GML, anything else as an edge list."""
    path = Path(path)
    if not path.is_file():
        raise GraphError(f"Graph file '{path}' does not exist; check the path.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise GraphError(f"Graph file '{path.name}' is not UTF-8 text; save it as UTF-8.") from None
    formats: dict[str, GraphFormat] = {".dot": "dot", ".gv": "dot", ".gml": "gml"}
    return parse_graph(text, formats.get(path.suffix.lower(), "edges"))


_LEADING_COMMENTS = re.compile(r"\A(?:\s+|//[^\n]*|#[^\n]*|/\*.*?\*/)*", re.DOTALL)
_DOT_START = re.compile(r"(?:strict\s+)?(?:di)?graph\b[^\[{]*\{", re.IGNORECASE)
# GML may open with top-level "key value" pairs (Creator "x", Version 1) before "graph [".
# One pair per match, stepped through in a loop: a single regex with a repeated group
# backtracks exponentially on a long line of words that never reaches "graph [".
_GML_GRAPH = re.compile(r"graph\s*\[", re.IGNORECASE)
_GML_PAIR = re.compile(r'\w+\s+(?:"[^"]*"|\S+)\s+')
_GML_MAX_HEADER_PAIRS = 50
MAX_GRAPH_CHARS = 1_000_000
MAX_GRAPH_NODES = 2_000
MAX_GRAPH_EDGES = 20_000


def _sniff_format(text: str) -> GraphFormat:
    """DOT, GML or an edge list, in time linear in the text."""
    leading = _LEADING_COMMENTS.match(text)
    body = text[leading.end() :] if leading else text
    if _DOT_START.match(body):
        return "dot"
    position = 0
    for _ in range(_GML_MAX_HEADER_PAIRS):
        if _GML_GRAPH.match(body, position):
            return "gml"
        pair = _GML_PAIR.match(body, position)
        if pair is None:
            break
        position = pair.end()
    return "edges"


def _check_size(text: str) -> None:
    if len(text) > MAX_GRAPH_CHARS:
        raise GraphError(
            f"The graph text has {len(text):,} characters, over the {MAX_GRAPH_CHARS:,} limit; "
            "a causal graph over the data's columns is far smaller."
        )


def _check_counts(nodes: int, edges: int) -> None:
    """Refuse a graph too big to analyse before it is built (``{a b ...} -> {c d ...}`` in
    DOT makes every pair an edge, so a few KB of text can ask for millions)."""
    if nodes > MAX_GRAPH_NODES or edges > MAX_GRAPH_EDGES:
        raise GraphError(
            f"The graph would have {nodes:,} nodes and {edges:,} edges, over the limits of "
            f"{MAX_GRAPH_NODES:,} nodes and {MAX_GRAPH_EDGES:,} edges; give a smaller graph."
        )


def _build(
    nodes: Iterable[str],
    edges: Iterable[tuple[str, str, dict[str, str]]],
    source: EdgeSource,
    unobserved: Iterable[str] = (),
    post_treatment: Iterable[str] = (),
) -> CausalGraph:
    """Assemble a parsed graph; an edge's own ``source``/``note`` attributes win."""
    built = []
    for cause, effect, attrs in edges:
        edge_source = attrs.get("source", source)
        built.append(
            Edge(
                cause=cause,
                effect=effect,
                note=attrs.get("note", ""),
                source=edge_source if edge_source in _SOURCES else source,
            )
        )
    return CausalGraph(
        nodes=list(nodes),
        edges=built,
        unobserved=list(unobserved),
        post_treatment=list(post_treatment),
    )


def _parse_gml(text: str, source: EdgeSource) -> CausalGraph:
    graph = _read_gml(text)
    _check_counts(graph.number_of_nodes(), graph.number_of_edges())
    if not graph.is_directed():
        raise GraphError(
            "The GML graph is undirected; add 'directed 1' inside 'graph [' so "
            "each edge has a direction."
        )
    nodes = {
        str(n): {str(k): str(v) for k, v in data.items()} for n, data in graph.nodes(data=True)
    }
    edges = []
    for cause, effect, data in graph.edges(data=True):
        attrs = {str(k): str(v) for k, v in data.items()}
        if _GML_SOURCE in attrs:
            attrs["source"] = attrs[_GML_SOURCE]
        edges.append((str(cause), str(effect), attrs))
    return _build(
        nodes,
        edges,
        source,
        unobserved=[n for n, a in nodes.items() if a.get("observed", "").lower() in _NO],
        post_treatment=[n for n, a in nodes.items() if a.get("post_treatment", "").lower() in _YES],
    )


def _read_gml(text: str) -> nx.Graph:
    """Nodes named by their labels, or by their ids when the GML has no labels."""
    try:
        return nx.parse_gml(text, label="label")
    except Exception as exc:  # networkx raises many types on bad GML; all are the user's text
        problem = exc
        if "label" in str(exc):
            try:
                return nx.parse_gml(text, label="id")
            except Exception as again:  # same reason as above
                problem = again
    raise GraphError(
        f"The GML text could not be parsed ({_first_line(problem)}); check its brackets and quotes."
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


# --------------------------------------------------------------------------- edge lists

_EDGE_TOKEN = re.compile(
    r"""\s+|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<arrow>->|→)|(?P<undirected>--)|(?P<back><-)"""
    r"""|(?P<comma>,)|(?P<comment>\#.*)|(?P<open>")|(?P<word>(?:[^\s",#\-<→]|-(?![->])|<(?!-))+)"""
)
_PLAIN_NAME = re.compile(r"[\w.]+")


def _parse_edge_list(text: str, source: EdgeSource) -> CausalGraph:
    nodes: list[str] = []
    edges: list[tuple[str, str, dict[str, str]]] = []
    # split on newlines only: str.splitlines would also break quoted names at \x0b, \x1c...
    for number, line in enumerate(re.split(r"\r?\n", text), start=1):
        names = _edge_line(line, number)
        nodes += names
        edges += [(cause, effect, {}) for cause, effect in zip(names, names[1:], strict=False)]
    _check_counts(len(set(nodes)), len(edges))
    return _build(nodes, edges, source)


def _edge_line(line: str, number: int) -> list[str]:
    """The node names on one line, in edge order: one name is a node, two or more a chain."""
    segments: list[list[tuple[str, str]]] = [[]]
    separator = ""
    position = 0
    while position < len(line):
        match = _EDGE_TOKEN.match(line, position)
        assert match is not None  # the last alternative takes any character left over
        position = match.end()
        kind = match.lastgroup
        if kind is None:
            continue
        if kind == "comment" and (match.start() == 0 or line[match.start() - 1].isspace()):
            break
        if kind in ("undirected", "back", "open", "comment"):
            raise GraphError(_edge_line_problem(kind, line, number))
        if kind in ("arrow", "comma"):
            if separator and kind != separator:
                raise GraphError(
                    f"Line {number} ('{line.strip()}') mixes ',' and '->'; "
                    "write one edge per line as 'cause -> effect'."
                )
            separator = kind
            segments.append([])
        else:
            segments[-1].append((kind, match.group()))
    if segments == [[]]:
        return []
    if not separator:
        if len(segments[0]) > 2:
            raise GraphError(
                f"Line {number} ('{line.strip()}') has more than two names; "
                "write it as 'cause -> effect' (quote names that contain spaces)."
            )
        segments = [[token] for token in segments[0]]  # "a b": two tokens are an edge
    names = [_segment_name(segment, line, number) for segment in segments]
    if separator == "comma" and len(names) != 2:
        raise GraphError(
            f"Line {number} ('{line.strip()}') has more than one comma; "
            "write one edge per line as 'cause, effect'."
        )
    return names


def _edge_line_problem(kind: str, line: str, number: int) -> str:
    shown = f"Line {number} ('{line.strip()}')"
    if kind == "undirected":
        return f"{shown} has an undirected edge '--'; use 'cause -> effect' to give its direction."
    if kind == "back":
        return f"{shown} uses '<-'; write edges forwards as 'cause -> effect'."
    if kind == "open":
        return f"{shown} has a quote that is never closed; close it or remove it."
    return f"{shown} has '#' inside a name; put the name in double quotes."


def _segment_name(segment: list[tuple[str, str]], line: str, number: int) -> str:
    kinds = {kind for kind, _ in segment}
    if not segment or (kinds == {"quoted"} and len(segment) > 1) or len(kinds) > 1:
        raise GraphError(
            f"Line {number} ('{line.strip()}') is not an edge; write one per line "
            "as 'cause -> effect' (quote names that contain special characters)."
        )
    if kinds == {"quoted"}:
        name = _unescape(segment[0][1][1:-1])
        if not name:
            raise GraphError(
                f"Line {number} ('{line.strip()}') has an empty name; remove the empty quotes."
            )
        return name
    return " ".join(word for _, word in segment)  # unquoted names: words joined by one space


def _edge_list_name(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) else _quote(name)


# --------------------------------------------------------------------------- DOT
# Our own parser, not pydot: measured with pydot 4.0.1 (2 shared cores), 100 edges take
# 0.19 s (0.003 s here) and 100 edges in ``to_dot``'s form, with attributes, 0.44 s
# (0.005 s); and pydot's pyparsing grammar is exponential in brace nesting: 50 characters
# of ``{ { ... a -> b ... } }`` 8 deep take 2.0 s, 10 deep 22 s. A pre-check could cap the
# nesting, but a realistic graph alone is over the 0.3 s an interactive edit can spend.


@dataclass(frozen=True)
class _Token:
    kind: str  # "id", "quoted", "arrow", "undirected", a punctuation character, or "eof"
    text: str
    line: int


_DOT_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\f\v]+)|(?P<newline>\n)|(?P<comment>//[^\n]*|\#[^\n]*)"""
    r"""|(?P<block>/\*.*?\*/)|(?P<quoted>"(?:[^"\\]|\\.)*")"""
    r"""|(?P<arrow>->)|(?P<undirected>--)"""
    r"""|(?P<id>[\w\x80-\U0010ffff.]+|-(?:\.\d+|\d+(?:\.\d*)?))"""
    r"""|(?P<punct>[{}\[\];,=:])""",
    re.DOTALL,
)
_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}


def _dot_tokens(text: str) -> list[_Token]:
    tokens = []
    line = 1
    position = 0
    while position < len(text):
        if text[position] == "<":
            end = _html_end(text, position)
            tokens.append(_Token("quoted", text[position + 1 : end - 1], line))
            line += text.count("\n", position, end)
            position = end
            continue
        match = _DOT_TOKEN.match(text, position)
        if match is None:
            raise GraphError(_dot_character_problem(text[position:], line))
        kind, value = match.lastgroup, match.group()
        if kind == "quoted":
            tokens.append(_Token("quoted", _unescape(value[1:-1]), line))
        elif kind == "punct":
            tokens.append(_Token(value, value, line))
        elif kind in ("id", "arrow", "undirected"):
            tokens.append(_Token(kind, value, line))
        line += value.count("\n")
        position = match.end()
    tokens.append(_Token("eof", "", line))
    return tokens


def _html_end(text: str, start: int) -> int:
    """End of an HTML-like ID ``<...>``, whose angle brackets nest (``<<b>x</b>>``)."""
    depth = 0
    for position in range(start, len(text)):
        depth += {"<": 1, ">": -1}.get(text[position], 0)
        if depth == 0:
            return position + 1
    line = text.count("\n", 0, start) + 1
    raise GraphError(f"DOT line {line}: a '<' is never closed; add the matching '>'.")


def _dot_character_problem(rest: str, line: int) -> str:
    if rest.startswith('"'):
        return f"DOT line {line}: a quoted name is never closed; add the closing '\"'."
    if rest.startswith("/*"):
        return f"DOT line {line}: a '/*' comment is never closed; add the closing '*/'."
    return (
        f"DOT line {line}: unexpected character '{rest[0]}'; put names that contain it "
        "in double quotes."
    )


class _DotParser:
    """Recursive descent over the DOT grammar, minus the parts a causal graph cannot use."""

    def __init__(self, text: str, source: EdgeSource) -> None:
        self.tokens = _dot_tokens(text)
        self.position = 0
        self.source = source
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []

    def parse(self) -> CausalGraph:
        if self._keyword("strict"):
            self._next()
        if self._keyword("graph"):
            raise GraphError(
                "The DOT graph is undirected ('graph'); write 'digraph' and "
                "'->' so each edge has a direction."
            )
        if not self._keyword("digraph"):
            self._fail("expected 'digraph'")
        self._next()
        if self._peek().kind in ("id", "quoted"):
            self._next()
        self._statements(depth=0)
        if self._peek().kind != "eof":
            self._fail("expected the end after the closing '}'")
        return _build(
            self.nodes,
            self.edges,
            self.source,
            unobserved=[n for n, a in self.nodes.items() if a.get("observed", "").lower() in _NO],
            post_treatment=[
                n for n, a in self.nodes.items() if a.get("post_treatment", "").lower() in _YES
            ],
        )

    def _statements(self, depth: int) -> list[str]:
        """Parse ``{ stmt* }`` and return the nodes it mentions (an edge operand's nodes)."""
        if depth > _MAX_DEPTH:
            self._fail("braces are nested too deeply")
        self._expect("{")
        mentioned: list[str] = []
        while self._peek().kind != "}":
            if self._peek().kind == "eof":
                self._fail("expected '}' to close the graph")
            mentioned += self._statement(depth)
            if self._peek().kind in (";", ","):
                self._next()
        self._next()
        return _unique(mentioned)

    def _statement(self, depth: int) -> list[str]:
        token = self._peek()
        default = token.kind == "id" and token.text.lower() in ("graph", "node", "edge")
        if default and self._peek(1).kind == "[":
            self._next()  # default attributes: nothing a causal graph needs
            self._attributes()
            return []
        if token.kind in ("id", "quoted") and self._peek(1).kind == "=":
            self._next()  # a graph attribute such as rankdir=LR
            self._next()
            self._identifier()
            return []
        operand = self._operand(depth)
        if self._peek().kind not in ("arrow", "undirected"):
            attrs = self._attributes() if self._peek().kind == "[" else {}
            for node in operand:
                self.nodes.setdefault(node, {}).update(attrs)
            return operand
        operands = [operand]
        while self._peek().kind in ("arrow", "undirected"):
            if self._peek().kind == "undirected":
                raise GraphError(
                    f"DOT line {self._peek().line} has an undirected edge '--'; "
                    "use '->' so each edge has a direction."
                )
            self._next()
            operands.append(self._operand(depth))
        attrs = self._attributes() if self._peek().kind == "[" else {}
        for causes, effects in zip(operands, operands[1:], strict=False):
            _check_counts(len(self.nodes), len(self.edges) + len(causes) * len(effects))
            self.edges += [(c, e, dict(attrs)) for c in causes for e in effects]
        return _unique(node for operand in operands for node in operand)

    def _operand(self, depth: int) -> list[str]:
        if self._keyword("subgraph"):
            self._next()
            if self._peek().kind in ("id", "quoted"):
                self._next()
            return self._statements(depth + 1)
        if self._peek().kind == "{":
            return self._statements(depth + 1)
        name = self._node_name()
        self.nodes.setdefault(name, {})
        if len(self.nodes) > MAX_GRAPH_NODES:
            _check_counts(len(self.nodes), len(self.edges))
        return [name]

    def _node_name(self) -> str:
        token = self._peek()
        if token.kind == "id" and token.text.lower() in _KEYWORDS:
            raise GraphError(
                f"DOT line {token.line}: '{token.text}' is a DOT keyword; put it in double "
                "quotes to use it as a name."
            )
        name = self._identifier()
        if not name:
            raise GraphError(
                f"DOT line {token.line}: a node name is empty; remove the empty quotes."
            )
        while self._peek().kind == ":":  # ports (a:n) say where an arrow attaches; ignore
            self._next()
            self._identifier()
        return name

    def _attributes(self) -> dict[str, str]:
        attrs: dict[str, str] = {}
        while self._peek().kind == "[":
            self._next()
            while self._peek().kind != "]":
                key = self._identifier()
                self._expect("=")
                attrs[key] = self._identifier()
                if self._peek().kind in (";", ","):
                    self._next()
            self._next()
        return attrs

    def _identifier(self) -> str:
        token = self._peek()
        if token.kind not in ("id", "quoted"):
            self._fail("expected a name")
        self._next()
        return token.text

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        return token.kind == "id" and token.text.lower() == word

    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.position + ahead, len(self.tokens) - 1)]

    def _next(self) -> _Token:
        token = self._peek()
        self.position = min(self.position + 1, len(self.tokens) - 1)
        return token

    def _expect(self, kind: str) -> None:
        if self._peek().kind != kind:
            self._fail(f"expected '{kind}'")
        self._next()

    def _fail(self, problem: str) -> NoReturn:
        token = self._peek()
        found = "the end of the text" if token.kind == "eof" else f"'{token.text}'"
        raise GraphError(
            f"DOT line {token.line}: {problem} but found {found}; fix the DOT syntax there."
        )


def _unescape(body: str) -> str:
    """DOT-style quoted text: \\" is a quote, \\\\ a backslash, backslash-newline continues."""
    return re.sub(r"\\(\n|\\|\")", lambda m: "" if m.group(1) == "\n" else m.group(1), body)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_attrs(attrs: dict[str, str]) -> str:
    if not attrs:
        return ""
    return " [" + ", ".join(f"{key}={_quote(value)}" for key, value in attrs.items()) + "]"


# --------------------------------------------------------------------------- checks and edits


def find_cycle(graph: CausalGraph) -> list[str] | None:
    """A directed cycle as a closed path, e.g. ``["a", "b", "c", "a"]``, or None."""
    try:
        cycle = nx.find_cycle(graph.to_networkx(), orientation="original")
    except nx.NetworkXNoCycle:
        return None
    return [cycle[0][0], *(edge[1] for edge in cycle)]


def validate_graph(graph: CausalGraph, columns: Iterable[str] | None = None) -> None:
    """Refuse graphs DoWhy cannot use: self loops, cycles, nodes that are not in the data."""
    for edge in graph.edges:
        if edge.cause == edge.effect:
            raise GraphError(
                f"The graph has an edge from '{edge.cause}' to itself; "
                f"remove '{edge.cause} -> {edge.effect}'."
            )
    cycle = find_cycle(graph)
    if cycle:
        raise GraphError(
            f"The graph has a cycle: {' -> '.join(cycle)}; remove or reverse one of these edges."
        )
    if columns is None:
        return
    columns = [str(c) for c in columns]
    known = set(columns)
    unknown = [n for n in graph.nodes if n not in known and n not in graph.unobserved]
    if not unknown:
        return
    suggestions = {n: difflib.get_close_matches(n, columns, n=1, cutoff=0.6) for n in unknown}
    names = ", ".join(f"'{n}'" for n in unknown)
    if len(unknown) == 1:
        close = suggestions[unknown[0]]
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise GraphError(
            f"Node {names} is not a column in the data{hint}; "
            "rename it to a column or mark it unobserved."
        )
    hints = [f"'{close[0]}' for '{n}'" for n, close in suggestions.items() if close]
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    raise GraphError(
        f"Nodes {names} are not columns in the data{hint}; "
        "rename them to columns or mark them unobserved."
    )


def add_edge(
    graph: CausalGraph, cause: str, effect: str, source: EdgeSource = "user", note: str = ""
) -> CausalGraph:
    """A new graph with ``cause -> effect`` (replacing its provenance if already present)."""
    if not cause.strip() or not effect.strip():
        raise GraphError("A node name is empty; give both ends of the edge a name.")
    if cause == effect:
        raise GraphError(f"An edge from '{cause}' to itself is a cycle; pick two different nodes.")
    _refuse_cycle(graph, cause, effect, verb="Adding")
    edge = Edge(cause=cause, effect=effect, source=source, note=note)
    existing = graph.edge(cause, effect)
    if existing is None:
        return _with(graph, edges=[*graph.edges, edge])
    return _with(graph, edges=[edge if e is existing else e for e in graph.edges])


def remove_edge(graph: CausalGraph, cause: str, effect: str) -> CausalGraph:
    """A new graph without ``cause -> effect``; its nodes stay."""
    existing = _existing_edge(graph, cause, effect)
    return _with(graph, edges=[e for e in graph.edges if e is not existing])


def reverse_edge(graph: CausalGraph, cause: str, effect: str) -> CausalGraph:
    """A new graph with ``effect -> cause`` in place of ``cause -> effect``, set by the user."""
    existing = _existing_edge(graph, cause, effect)
    _refuse_cycle(remove_edge(graph, cause, effect), effect, cause, verb="Reversing it to")
    flipped = Edge(
        cause=effect, effect=cause, source="user", note=f"reversed from '{cause} -> {effect}'"
    )
    return _with(graph, edges=[flipped if e is existing else e for e in graph.edges])


def mark_unobserved(graph: CausalGraph, node: str) -> CausalGraph:
    """A new graph where ``node`` is latent: DoWhy may not adjust for it."""
    _check_node(graph, node)
    return _with(graph, unobserved=[*graph.unobserved, node])


def mark_post_treatment(graph: CausalGraph, node: str) -> CausalGraph:
    """A new graph where ``node`` is flagged as measured after treatment (never adjusted for)."""
    _check_node(graph, node)
    return _with(graph, post_treatment=[*graph.post_treatment, node])


def _with(graph: CausalGraph, **changes: list[str] | list[Edge]) -> CausalGraph:
    """A revalidated copy, so edits get the same completion and de-duplication as parsing."""
    fields = {name: list(getattr(graph, name)) for name in CausalGraph.model_fields}
    return CausalGraph(**{**fields, **changes})


def _refuse_cycle(graph: CausalGraph, cause: str, effect: str, verb: str) -> None:
    nx_graph = graph.to_networkx()
    if effect in nx_graph and cause in nx_graph and nx.has_path(nx_graph, effect, cause):
        path = nx.shortest_path(nx_graph, effect, cause)
        loop = " -> ".join([cause, *path])
        raise GraphError(
            f"{verb} '{cause} -> {effect}' would create a cycle: {loop}; remove "
            "or reverse one of those edges first."
        )


def _existing_edge(graph: CausalGraph, cause: str, effect: str) -> Edge:
    existing = graph.edge(cause, effect)
    if existing is None:
        hint = f" (there is '{effect} -> {cause}')" if graph.edge(effect, cause) else ""
        raise GraphError(
            f"The graph has no edge '{cause} -> {effect}'{hint}; check the names and direction."
        )
    return existing


def _check_node(graph: CausalGraph, node: str) -> None:
    if node not in graph.nodes:
        close = difflib.get_close_matches(node, graph.nodes, n=1, cutoff=0.6)
        hint = (
            f"; did you mean '{close[0]}'?"
            if close
            else "; add an edge to it first or check the name."
        )
        raise GraphError(f"'{node}' is not a node of the graph{hint}")
