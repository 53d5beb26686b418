"""Causal graphs: three text formats, validation against the data, and the edit operations."""

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_assistant.tools.errors import GraphError
from causal_assistant.tools.model.graphs import (
    CausalGraph,
    Edge,
    add_edge,
    find_cycle,
    mark_post_treatment,
    mark_unobserved,
    parse_graph,
    read_graph,
    remove_edge,
    reverse_edge,
    validate_graph,
)


def pairs(graph: CausalGraph) -> set[tuple[str, str]]:
    return {(e.cause, e.effect) for e in graph.edges}


@pytest.fixture
def tricky() -> CausalGraph:
    """Names with spaces, quotes, backslashes and non-ASCII, plus markings and provenance."""
    graph = CausalGraph.from_edges(
        [("job training", 'say "yes"'), ('say "yes"', "earnings 1978"), ("U\\x", "earnings 1978")],
        source="heuristic",
        nodes=["lonely", "café"],
    )
    graph = add_edge(graph, "café", "earnings 1978", source="llm", note="prices -> wages")
    return mark_post_treatment(mark_unobserved(graph, "U\\x"), 'say "yes"')


# --------------------------------------------------------------------------- model


def test_graph_completes_nodes_and_drops_duplicate_edges():
    graph = CausalGraph(
        nodes=["a"],
        edges=[Edge(cause="a", effect="b"), Edge(cause="a", effect="b", source="llm")],
        unobserved=["u", "u"],
    )
    assert graph.nodes == ["a", "b", "u"]
    assert graph.edges == [Edge(cause="a", effect="b")]
    assert graph.unobserved == ["u"]


def test_queries_and_networkx(tricky):
    assert tricky.parents("earnings 1978") == ['say "yes"', "U\\x", "café"]
    assert tricky.children("job training") == ['say "yes"']
    assert tricky.edge("café", "earnings 1978").source == "llm"
    assert tricky.edge("earnings 1978", "café") is None
    g = tricky.to_networkx()
    assert isinstance(g, nx.DiGraph)
    assert g.nodes["U\\x"]["observed"] == "no"
    assert "observed" not in g.nodes["café"]
    assert g.edges["job training", 'say "yes"'] == {"source": "heuristic", "note": ""}
    assert set(g.nodes) == set(tricky.nodes)


# --------------------------------------------------------------------------- round trips


def test_dot_round_trip_keeps_everything(tricky):
    assert parse_graph(tricky.to_dot()) == tricky


def test_gml_round_trip_keeps_everything_but_edge_order(tricky):
    back = parse_graph(tricky.to_gml())
    assert set(back.edges) == set(tricky.edges)  # networkx writes edges grouped by cause
    assert back.model_dump(exclude={"edges"}) == tricky.model_dump(exclude={"edges"})


def test_edge_list_round_trip_keeps_nodes_and_edges(tricky):
    back = parse_graph(tricky.to_edge_list())
    assert set(back.nodes) == set(tricky.nodes)
    assert pairs(back) == pairs(tricky)
    assert '"job training" -> "say \\"yes\\""' in tricky.to_edge_list()


def test_formats_are_sniffed(tricky):
    for text in (tricky.to_dot(), tricky.to_gml(), tricky.to_edge_list()):
        assert pairs(parse_graph(text)) == pairs(tricky)
    assert parse_graph("// about\n/* more */\n# and\n  digraph { a -> b }").nodes == ["a", "b"]
    assert parse_graph('Creator "me"\ngraph [ directed 1 node [ id 0 label "x" ] ]').nodes == ["x"]


def test_parse_source_is_the_default_provenance():
    graph = parse_graph(
        'digraph { a -> b; b -> c [source="data"]; c -> d [source="odd"] }', source="llm"
    )
    assert [e.source for e in graph.edges] == ["llm", "data", "llm"]


# --------------------------------------------------------------------------- DOT


def test_dot_statements_chains_groups_and_attributes():
    text = """
    strict digraph "Lalonde study" {
        graph [rankdir=LR]; node [shape=box]; edge [color=grey]
        rankdir = "TB"
        age -> treat -> re78 [note="main path", source=data]
        age -> {educ "married status"}
        { black hispanic } -> re74
        subgraph cluster_0 { re74 -> re75 }
        "nodeg";
        U [observed="no", label="unmeasured ability"]
        V [observed=FALSE]; W [observed="yes"]
        U -> educ; V -> treat
        port:n -> re78:s
        1.5 -> -2
    }
    """
    graph = parse_graph(text)
    assert pairs(graph) == {
        ("age", "treat"), ("treat", "re78"), ("age", "educ"), ("age", "married status"),
        ("black", "re74"), ("hispanic", "re74"), ("re74", "re75"), ("U", "educ"),
        ("V", "treat"), ("port", "re78"), ("1.5", "-2"),
    }  # fmt: skip
    assert graph.edge("age", "treat").note == "main path"
    assert graph.edge("age", "treat").source == "data"
    assert graph.unobserved == ["U", "V"]
    assert "nodeg" in graph.nodes and "W" in graph.nodes


def test_dot_quoted_names_escapes_comments_and_newlines():
    text = (
        "digraph {\n"
        '  "a \\"quoted\\" name" -> "back\\\\slash" // trailing comment\n'
        '  /* a block\n comment */ "long \\\nname" -> x # hash comment\n'
        '  "Digraph" -> "node"\n'
        "  <<b>html</b>> -> x [label=<<i>a</i>>]\n"
        "}\n"
    )
    graph = parse_graph(text)
    assert pairs(graph) == {
        ('a "quoted" name', "back\\slash"), ("long name", "x"), ("Digraph", "node"),
        ("<b>html</b>", "x"),
    }  # fmt: skip


def test_dot_without_separators_and_unicode_ids():
    graph = parse_graph("digraph{a->b c->d ñandú->b}")
    assert pairs(graph) == {("a", "b"), ("c", "d"), ("ñandú", "b")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("graph { a -- b }", "undirected ('graph'); write 'digraph'"),
        ("digraph { a -- b }", "DOT line 1 has an undirected edge '--'"),
        ('digraph {\n a -> "b\n}', "DOT line 2: a quoted name is never closed"),
        ("digraph { a /* open", "'/*' comment is never closed"),
        ("digraph { a -> b", "expected '}' to close the graph but found the end of the text"),
        ("digraph { a -> }", "DOT line 1: expected a name but found '}'"),
        ("digraph { a @ b }", "unexpected character '@'"),
        ("digraph { a } extra", "expected the end after the closing '}'"),
        ('digraph { "" -> b }', "a node name is empty"),
        ("digraph { node -> b }", "'node' is a DOT keyword; put it in double quotes"),
        ("digraph { a [label] }", "expected '='"),
        ("a -> b {", "expected 'digraph'"),
        ("digraph " + "{" * 60 + "}" * 60, "nested too deeply"),
        ("digraph { <a<b> }", "DOT line 1: a '<' is never closed"),
    ],
)
def test_dot_errors_are_one_line(text, expected):
    with pytest.raises(GraphError) as caught:
        parse_graph(text, "dot")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- GML


def test_gml_from_networkx_and_without_labels():
    g = nx.DiGraph([("x", "y")])
    g.nodes["x"]["observed"] = "no"
    graph = parse_graph("\n".join(nx.generate_gml(g)))
    assert (pairs(graph), graph.unobserved) == ({("x", "y")}, ["x"])
    unlabelled = "graph [ directed 1 node [ id 1 ] node [ id 2 ] edge [ source 1 target 2 ] ]"
    assert pairs(parse_graph(unlabelled, "gml")) == {("1", "2")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('graph [ node [ id 0 label "a" ] ]', "undirected; add 'directed 1'"),
        ('graph [ directed 1 node [ id 0 label "a" ', "could not be parsed"),
        ("graph [ directed 1 edge [ source 0 target 9 ] ]", "could not be parsed"),
    ],
)
def test_gml_errors(text, expected):
    with pytest.raises(GraphError, match=expected):
        parse_graph(text, "gml")


# --------------------------------------------------------------------------- edge lists


def test_edge_list_forms():
    text = """
    # the LaLonde graph
    age -> treat
    age → re78
    educ, re78
    married re78

    treat -> re78 -> happiness   # chains are fine
    income level -> re78
    "a, b" -> "c # d"
    lonely
    "solo node"
    """
    graph = parse_graph(text)
    assert pairs(graph) == {
        ("age", "treat"), ("age", "re78"), ("educ", "re78"), ("married", "re78"),
        ("treat", "re78"), ("re78", "happiness"), ("income level", "re78"), ("a, b", "c # d"),
    }  # fmt: skip
    assert {"lonely", "solo node"} <= set(graph.nodes)
    assert all(e.source == "user" for e in graph.edges)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a -> b\nc -- d", "Line 2 ('c -- d') has an undirected edge '--'"),
        ("a <- b", "uses '<-'"),
        ("a b c", "has more than two names"),
        ("a -> b, c", "mixes ',' and '->'"),
        ("a, b, c", "more than one comma"),
        ("a ->", "is not an edge"),
        ('"a -> b', "quote that is never closed"),
        ('"" -> b', "empty name"),
        ("a#b -> c", "'#' inside a name"),
        ('"a" b -> c', "is not an edge"),
    ],
)
def test_edge_list_errors_name_the_line(text, expected):
    with pytest.raises(GraphError) as caught:
        parse_graph(text, "edges")
    assert expected in str(caught.value)


def test_read_graph_by_suffix(tmp_path, tricky):
    (tmp_path / "g.gv").write_text(tricky.to_dot())
    (tmp_path / "g.gml").write_text(tricky.to_gml())
    (tmp_path / "g.txt").write_text(tricky.to_edge_list())
    (tmp_path / "bom.dot").write_bytes(b"\xef\xbb\xbfdigraph { a -> b }")
    assert read_graph(tmp_path / "g.gv") == tricky
    assert set(read_graph(tmp_path / "g.gml").edges) == set(tricky.edges)
    assert pairs(read_graph(tmp_path / "g.txt")) == pairs(tricky)
    assert pairs(read_graph(tmp_path / "bom.dot")) == {("a", "b")}
    with pytest.raises(GraphError, match="does not exist"):
        read_graph(tmp_path / "missing.dot")
    (tmp_path / "bin.dot").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(GraphError, match="not UTF-8"):
        read_graph(tmp_path / "bin.dot")


# --------------------------------------------------------------------------- validation


def test_find_cycle():
    assert find_cycle(parse_graph("a -> b\nb -> c")) is None
    assert find_cycle(parse_graph("a -> b\nb -> c\nc -> a")) == ["a", "b", "c", "a"]
    assert find_cycle(parse_graph("a -> a")) == ["a", "a"]


def test_validate_graph():
    good = parse_graph("age -> treat\nage -> re78\ntreat -> re78\nU -> re78")
    validate_graph(mark_unobserved(good, "U"), ["age", "treat", "re78"])
    validate_graph(good)
    with pytest.raises(GraphError) as caught:
        validate_graph(parse_graph("a -> b\nb -> c\nc -> a"))
    assert str(caught.value) == (
        "The graph has a cycle: a -> b -> c -> a; remove or reverse one of these edges."
    )
    with pytest.raises(GraphError, match="edge from 'a' to itself; remove 'a -> a'"):
        validate_graph(parse_graph("a -> a"))
    with pytest.raises(GraphError) as caught:
        validate_graph(mark_unobserved(good, "U"), ["age", "treatment", "re78"])
    assert str(caught.value) == (
        "Node 'treat' is not a column in the data (did you mean 'treatment'?); "
        "rename it to a column or mark it unobserved."
    )
    with pytest.raises(GraphError) as caught:
        validate_graph(good, ["age", "treatment", "re78"])
    assert str(caught.value) == (
        "Nodes 'treat', 'U' are not columns in the data (did you mean 'treatment' for "
        "'treat'?); rename them to columns or mark them unobserved."
    )


# --------------------------------------------------------------------------- edits


def test_add_edge_returns_a_new_graph_and_adds_nodes():
    graph = CausalGraph(nodes=["a", "b"], edges=[Edge(cause="a", effect="b", source="llm")])
    added = add_edge(graph, "b", "c", note="why")
    assert pairs(graph) == {("a", "b")} and graph.nodes == ["a", "b"]
    assert pairs(added) == {("a", "b"), ("b", "c")} and added.nodes == ["a", "b", "c"]
    assert added.edge("b", "c") == Edge(cause="b", effect="c", source="user", note="why")
    again = add_edge(added, "a", "b", source="user", note="confirmed")
    assert again.edges[0] == Edge(cause="a", effect="b", source="user", note="confirmed")


def test_add_edge_refuses_cycles_with_the_path():
    graph = parse_graph("a -> b\nb -> c")
    with pytest.raises(GraphError) as caught:
        add_edge(graph, "c", "a")
    assert str(caught.value) == (
        "Adding 'c -> a' would create a cycle: c -> a -> b -> c; remove or reverse one of "
        "those edges first."
    )
    with pytest.raises(GraphError, match="to itself"):
        add_edge(graph, "a", "a")
    with pytest.raises(GraphError, match="name is empty"):
        add_edge(graph, " ", "a")


def test_remove_edge():
    graph = parse_graph("a -> b\nb -> c")
    removed = remove_edge(graph, "a", "b")
    assert pairs(removed) == {("b", "c")} and removed.nodes == ["a", "b", "c"]
    with pytest.raises(GraphError, match="no edge 'b -> a' \\(there is 'a -> b'\\)"):
        remove_edge(graph, "b", "a")
    with pytest.raises(GraphError, match="no edge 'x -> y'; check the names"):
        remove_edge(graph, "x", "y")


def test_reverse_edge():
    graph = parse_graph("a -> b\nb -> c\na -> c", source="llm")
    flipped = reverse_edge(graph, "a", "b")
    assert pairs(flipped) == {("b", "a"), ("b", "c"), ("a", "c")}
    assert flipped.edge("b", "a") == Edge(
        cause="b", effect="a", source="user", note="reversed from 'a -> b'"
    )
    with pytest.raises(
        GraphError, match="Reversing it to 'c -> a' would create a cycle: c -> a -> b -> c"
    ):
        reverse_edge(graph, "a", "c")
    with pytest.raises(GraphError, match="no edge"):
        reverse_edge(graph, "c", "b")


def test_markings():
    graph = parse_graph("a -> b\nb -> c")
    marked = mark_post_treatment(mark_unobserved(mark_unobserved(graph, "a"), "a"), "c")
    assert (marked.unobserved, marked.post_treatment) == (["a"], ["c"])
    assert (graph.unobserved, graph.post_treatment) == ([], [])
    with pytest.raises(GraphError, match="'bb' is not a node of the graph; did you mean 'b'"):
        mark_unobserved(graph, "bb")
    with pytest.raises(GraphError, match="add an edge to it first"):
        mark_post_treatment(graph, "zzz")


# --------------------------------------------------------------------------- properties

NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    min_size=1,
    max_size=10,
)


@st.composite
def dags(draw) -> CausalGraph:
    """Random DAGs: edges only point forward in a random order of unique names."""
    nodes = draw(st.lists(NAMES, min_size=1, max_size=8, unique=True))
    edges = [
        (nodes[i], nodes[j])
        for i in range(len(nodes))
        for j in range(i + 1, len(nodes))
        if draw(st.booleans())
    ]
    return CausalGraph.from_edges(edges, nodes=nodes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_every_format_round_trips_random_dags(graph):
    for text in (graph.to_dot(), graph.to_gml(), graph.to_edge_list()):
        back = parse_graph(text)
        assert set(back.nodes) == set(graph.nodes)
        assert pairs(back) == pairs(graph)
        assert find_cycle(back) is None


DOT_PIECES = st.sampled_from(
    ["digraph", "graph", "strict", "subgraph", "node", "edge", "{", "}", "[", "]", "=", ";",
     ",", ":", "->", "--", "<-", "→", '"a b"', '"', "\\", "x", "y", "1.5", "-", "#", "//",
     "/*", "*/", "\n", " ", "<b>", "observed", "no", "[", "label"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(st.text(max_size=60), st.lists(DOT_PIECES, max_size=25).map(" ".join)),
    st.sampled_from([None, "dot", "gml", "edges"]),
)
def test_random_text_raises_only_graph_errors(text, fmt):
    try:
        graph = parse_graph(text, fmt)
    except GraphError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(graph, CausalGraph)
