"""Diagrams: DOT text (no program needed) and SVG, PNG, PDF drawn by the real `dot`."""

import itertools
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gates import AddGate, LinearGate, MaxGate, MultiplyGate, ReLUGate, SumGate
from graph import ComputationalGraph, GraphvizNotFoundError
from graph.views.diagram import render, to_dot, to_svg
from models import lecture

SVG = "{http://www.w3.org/2000/svg}"


# -- the lecture's circuits ---------------------------------------------------------------


def first_circuit(run: str = "backward") -> ComputationalGraph:
    """The lecture's f = (x + y) z, run as far as ``run`` says."""
    g = lecture.first_circuit(run=False)
    if run in ("forward", "backward"):
        g.forward(lecture.FIRST_CIRCUIT_FEEDS)
    if run == "backward":
        g.backward()
    return g


def layered(sizes=(3, 4, 2), batch: int = 5) -> ComputationalGraph:
    """A small MLP whose layers sit in scopes ``net/layer1``, ``net/layer2``, then ``loss``."""
    rng = np.random.default_rng(0)
    g = ComputationalGraph()
    activations = g.input("X", requires_grad=False)
    with g.scope("net"):
        for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
            with g.scope(f"layer{index}"):
                weight = g.parameter(f"W{index}", rng.normal(size=(n_out, n_in)))
                bias = g.parameter(f"b{index}", np.zeros(n_out))
                activations = g.add_gate(LinearGate(), activations, weight, bias, name=f"Z{index}")
                activations = g.add_gate(ReLUGate(), activations, name=f"A{index}")
    with g.scope("loss"):
        g.add_gate(SumGate(), activations, name="L")
    g.forward(X=rng.normal(size=(batch, sizes[0])))
    g.backward()
    return g


# -- reading DOT text back -------------------------------------------------------------------


def parse(source: str):
    """Nodes by DOT id (name, shape, label) and the drawn edges as (tail name, head name, values, grads).

    An edge with a label is drawn through a label node ``e<k>``: ``tail -> e<k>:w`` and ``e<k>:e -> head``.
    """
    nodes = {}
    halves: dict[str, list[str]] = {}
    for match in re.finditer(r"^\t+(\w+) \[label=(<.*>|\"\") (.*)\]$", source, re.M):
        node_id, label, rest = match.groups()
        tooltip = re.search(r'tooltip="([^"\\]*(?:\\.[^"\\]*)*)"', rest)
        shape = re.search(r"shape=(\w+)", rest)
        name = tooltip.group(1).split(": ")[0] if tooltip else node_id
        nodes[node_id] = {"name": name, "shape": shape.group(1) if shape else None, "label": label}
        if node_id.startswith("e"):
            halves[node_id] = label
    into, out_of = {}, {}
    plain = []
    for tail, head in re.findall(r"^\t+(\w+(?::\w)?) -> (\w+(?::\w)?)", source, re.M):
        if head.endswith(":w"):
            into[head[:-2]] = tail
        elif tail.endswith(":e"):
            out_of[tail[:-2]] = head
        else:
            plain.append((tail, head))
    edges = []
    for middle, tail in into.items():
        label = halves[middle]
        values = re.findall(r'<font color="#1a7f1a">([^<]*)</font>', label)
        grads = re.findall(r'<font color="#c8102e">([^<]*)</font>', label)
        edges.append((nodes[tail]["name"], nodes[out_of[middle]]["name"], values, grads))
    edges += [(nodes[tail]["name"], nodes[head]["name"], [], []) for tail, head in plain]
    return nodes, edges


def edge(edges, tail: str, head: str):
    (found,) = [(values, grads) for t, h, values, grads in edges if (t, h) == (tail, head)]
    return found


# -- DOT text --------------------------------------------------------------------------------------


def test_before_forward_only_the_structure_is_drawn():
    g = first_circuit(run="none")
    nodes, edges = parse(to_dot(g).source)
    assert sorted(n["name"] for n in nodes.values() if not n["name"].startswith("out")) == ["f", "q", "x", "y", "z"]
    assert {(t, h) for t, h, _, _ in edges} >= {("x", "q"), ("y", "q"), ("q", "f"), ("z", "f")}
    assert all(not values and not grads for _, _, values, grads in edges)
    assert "#1a7f1a" not in to_dot(g).source and "#c8102e" not in to_dot(g).source


def test_after_forward_edges_carry_values_but_no_gradients():
    _, edges = parse(to_dot(first_circuit(run="forward")).source)
    assert edge(edges, "x", "q") == (["-2"], [])
    assert edge(edges, "q", "f") == (["3"], [])
    assert edge(edges, "f", "out0") == (["-12"], [])


def test_after_backward_each_edge_has_its_value_above_and_gradient_below():
    source = to_dot(first_circuit()).source
    nodes, edges = parse(source)
    assert edge(edges, "x", "q") == (["-2"], ["-4"])
    assert edge(edges, "y", "q") == (["5"], ["-4"])
    assert edge(edges, "q", "f") == (["3"], ["-4"])
    assert edge(edges, "z", "f") == (["-4"], ["3"])
    assert edge(edges, "f", "out0") == (["-12"], ["1"])  # the output and its seed
    # above and below: the value's half comes before the rule, the gradient's after it
    label = next(n["label"] for n in nodes.values() if n["label"].count(">-12<"))
    assert label.index(">-12<") < label.index("<hr/>") < label.index(">1<")


def test_values_and_grads_can_be_switched_off():
    g = first_circuit()
    assert all(not grads for *_, grads in parse(to_dot(g, grads=False).source)[1])
    assert all(values == [] for _, _, values, _ in parse(to_dot(g, values=False).source)[1])
    assert parse(to_dot(g, values=False, grads=False).source)[1] == parse(to_dot(first_circuit("none")).source)[1]


def test_inputs_parameters_constants_and_gates_have_distinct_shapes():
    g = ComputationalGraph()
    x = g.input("x")
    w = g.parameter("w", 2.0)
    g.add_gate(MultiplyGate(), x * w, 3.0, name="y")
    nodes, _ = parse(to_dot(g).source)
    shapes = {n["name"]: n["shape"] for n in nodes.values()}
    kinds = {"x": shapes["x"], "w": shapes["w"], "const_1": shapes["const_1"], "y": shapes["y"]}
    assert kinds == {"x": "box", "w": "box3d", "const_1": "plaintext", "y": "ellipse"}
    assert len(set(kinds.values())) == 4


def test_a_gate_shows_symbol_name_and_local_gradient():
    source = to_dot(first_circuit()).source
    assert "<b>+</b>" in source and "<b>*</b>" in source
    assert ">q</font>" in source and ">f</font>" in source
    assert "∂f/∂q = z = -4" in source and "∂f/∂z = q = 3" in source and "∂q/∂x = 1" in source
    assert "dz/d" not in source and "∂z/∂x" not in source  # the circuit's own names, never placeholder letters
    assert (
        "∂f/∂q = z = -4</i>" in source
        and "∂f/∂q = z = -4</i>" not in to_dot(first_circuit(), local_gradients=False).source
    )


def test_tooltips_name_the_backward_patterns():
    g = ComputationalGraph()
    x, y, z, w = (g.input(name) for name in "xyzw")
    g.add_gate(AddGate(), g.add_gate(MultiplyGate(), x, y), g.add_gate(MaxGate(), z, w)) * 2.0
    source = to_dot(g).source
    for pattern in ("gradient distributor", "gradient router", "gradient switcher"):
        assert re.search(rf'tooltip="[^"]*{pattern}', source), pattern


def test_fan_out_edges_each_carry_their_own_branch_and_explain_sums_them():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    product = g.add_gate(MultiplyGate(), x, y, name="xy")
    g.add_gate(AddGate(), product, x, name="f")  # f = x y + x: x fans out
    g.forward(x=3.0, y=-4.0)
    g.backward()
    _, edges = parse(to_dot(g).source)
    assert edge(edges, "x", "xy") == (["3"], ["-4"])
    assert edge(edges, "x", "f") == (["3"], ["1"])
    explained = to_dot(g, explain=True).source
    assert "Σ -4 + 1 = -3" in explained
    assert "1 × -4 = -4" in explained and "1 × 3 = 3" in explained  # upstream × local = downstream


def test_a_node_used_twice_by_one_gate_is_one_edge_with_both_gradients_summed():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, x, name="square")
    g.forward(x=3.0)
    g.backward()
    _, edges = parse(to_dot(g).source)
    assert edge(edges, "x", "square") == (["3"], ["6"])


def test_explain_on_the_sigmoid_neuron_writes_every_chain_rule():
    source = to_dot(lecture.sigmoid_neuron(), explain=True).source
    for step in ("1 × -0.5344 = -0.5344", "-0.5344 × 0.3679 = -0.1966", "-0.1966 × -1 = 0.1966", "0.1966 × 2 = 0.3932"):
        assert step in source, step


def test_large_arrays_are_summarised_small_ones_shown_in_full():
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    w = g.parameter("w", np.full((3, 100), 0.5))
    b = g.parameter("b", np.array([1.0, 2.0, 3.0]))
    g.add_gate(LinearGate(), x, w, b, name="z").sum()
    g.forward(x=np.ones((2, 100), dtype=np.float64))
    g.backward()
    source = to_dot(g).source
    assert "(3, 100) float64" in source and "mean 0.5 norm 8.66" in source
    assert "[1, 2, 3]" in source  # b in full
    assert "[2, 2, 2]" in source  # dL/db, summed over the batch
    assert "0.5, 0.5" not in source  # w never written out


def test_names_with_markup_quotes_and_backslashes_are_escaped():
    g = ComputationalGraph()
    awkward = ["<x&y>", 'say "hi"', "back\\slash\\", "}; digraph {"]
    leaves = [g.input(name) for name in awkward]
    g.add_gate(AddGate(), g.add_gate(AddGate(), leaves[0], leaves[1], name="a<b>"), leaves[2]) + leaves[3]
    g.forward({name: 1.0 for name in awkward})
    g.backward()
    source = to_dot(g).source
    assert "&lt;x&amp;y&gt;" in source and "say &quot;hi&quot;" in source and "a&lt;b&gt;" in source
    root = ET.fromstring(to_svg(g))  # valid XML, and the names read back as written
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    assert set(awkward) | {"a<b>"} <= texts
    titles = [title.text for title in root.iter(f"{SVG}title")]
    tips = " ".join(a.get("{http://www.w3.org/1999/xlink}title", "") for a in root.iter(f"{SVG}a"))
    assert titles and 'say "hi": input' in tips and "back\\slash\\: input" in tips


def test_dot_text_is_byte_identical_for_the_same_graph():
    first, second = (
        to_dot(lecture.sigmoid_neuron(), explain=True).source,
        to_dot(lecture.sigmoid_neuron(), explain=True).source,
    )
    assert first == second
    g = layered()
    assert to_dot(g, collapse=True).source == to_dot(g, collapse=True).source == layered().to_dot(collapse=True).source


def test_scopes_become_nested_clusters():
    source = to_dot(layered(), rows=1).source
    clusters = re.findall(r"subgraph (cluster_\w+) \{", source)
    assert clusters == ["cluster_net", "cluster_net_2f_layer1", "cluster_net_2f_layer2", "cluster_loss"]
    net = source[source.index("subgraph cluster_net {") :]
    layer1 = net[net.index("subgraph cluster_net_2f_layer1") : net.index("subgraph cluster_net_2f_layer2")]
    assert "W1: parameter" in layer1 and "Z1: LinearGate" in layer1 and "W2" not in layer1
    assert "<b>layer1</b>" in source and "<b>net</b>" in source


def test_collapse_draws_each_top_level_scope_as_one_box():
    g = layered()
    nodes, edges = parse(to_dot(g, collapse=True).source)
    names = {n["name"] for n in nodes.values() if not n["name"].startswith(("e", "out"))}
    assert "W1" not in names and "Z2" not in names
    boxes = [n for n in nodes.values() if n["shape"] == "folder"]
    assert len(boxes) == 2  # net and loss
    assert "<b>net</b>" in boxes[0]["label"] and "4 gates: 2 linear, 2 relu" in boxes[0]["label"]
    assert "W1 (4, 3), b1 (4,), W2 (2, 4), b2 (2,) · 26 numbers" in boxes[0]["label"]
    assert [(t, h) for t, h, *_ in edges] == [("X", "net"), ("net", "loss"), ("loss", "out0")]


def test_collapse_some_scopes_only_keeps_the_rest_drawn():
    g = layered()
    source = to_dot(g, collapse=["net/layer1"]).source
    nodes, edges = parse(source)
    names = {n["name"] for n in nodes.values()}
    assert "Z1" not in names and "Z2" in names and "W2" in names
    assert "subgraph cluster_net {" in source and "cluster_net_2f_layer1" not in source
    # the box sends A1's value to layer2 and receives layer2's gradient for it
    into_layer2 = [e for e in edges if e[1] == "Z2" and e[2] and "(5, 4) float64" in e[2][0]]
    assert len(into_layer2) == 1 and into_layer2[0][3]


def test_collapsed_edges_from_one_node_into_a_box_are_merged_and_their_gradients_summed():
    g = ComputationalGraph()
    x = g.input("x")
    with g.scope("block"):
        a = g.add_gate(MultiplyGate(), x, 2.0, name="a")
        b = g.add_gate(MultiplyGate(), x, 3.0, name="b")
        c = g.add_gate(AddGate(), a, b, name="c")
    c * 1.0
    g.forward(x=1.0)
    g.backward()
    _, edges = parse(to_dot(g, collapse=True).source)
    into_block = [(values, grads) for t, h, values, grads in edges if t == "x"]
    assert into_block == [(["1"], ["5"])]  # 2 + 3


def test_export_reads_the_graph_and_never_runs_it(monkeypatch):
    g = first_circuit()
    before = to_dot(g).source
    grads_before = g.trace.nodes

    def refuse(*args, **kwargs):
        raise AssertionError("export ran the graph")

    def refuse_forward(self, x, y):  # keeps the argument names the diagram reads from the signature
        raise AssertionError("export ran a gate")

    # The local gradients come from the trace, which asks a gate's backward for them with a unit upstream;
    # nothing runs a forward, a pass, or a backward with any other upstream.
    unit_only = {gate: gate.backward for gate in (AddGate, MultiplyGate)}

    def backward_of_one(gate_class):
        def backward(self, upstream):
            assert upstream == 1.0, "export ran a gate's backward"
            return unit_only[gate_class](self, upstream)

        return backward

    for method in ("forward", "backward"):
        monkeypatch.setattr(ComputationalGraph, method, refuse)
    for gate in (AddGate, MultiplyGate):
        monkeypatch.setattr(gate, "forward", refuse_forward)
        monkeypatch.setattr(gate, "backward", backward_of_one(gate))
    assert to_dot(g, explain=True).source and g.explain()
    assert to_dot(g).source == before
    assert g["x"].grad == -4.0 and g["f"].value == -12.0
    assert g.trace.nodes == grads_before


def test_to_dot_of_two_thousand_gates_takes_well_under_a_second_per_thousand():
    g = ComputationalGraph()
    h = g.input("x")
    for _ in range(1000):
        h = h * 1.001 + 0.5
    g.forward(x=1.0)
    g.backward()
    start = time.perf_counter()
    source = to_dot(g, explain=True).source
    assert time.perf_counter() - start < 5.0
    assert source.count("ellipse") == 2000


# -- drawn by dot ------------------------------------------------------------------------------------


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return ["".join(text.itertext()) for text in root.iter(f"{SVG}text")]


def test_svg_of_the_first_circuit_has_names_values_and_gradients():
    texts = svg_texts(to_svg(first_circuit()))
    for name in ("x", "y", "z", "q", "f", "+", "*"):
        assert name in texts, name
    for number in ("-12", "-4", "3", "-2", "5", "1"):
        assert number in texts, number
    assert texts.count("-4") == 4  # z's value, and the gradients of x, y and q
    svg = to_svg(first_circuit())
    assert 'fill="#c8102e"' in svg and 'fill="#1a7f1a"' in svg  # red gradients, green values


def test_svg_of_the_sigmoid_neuron_has_its_values_and_gradients():
    texts = svg_texts(to_svg(lecture.sigmoid_neuron()))
    for name in ("w0", "x0", "w1", "x1", "w2", "exp", "/"):
        assert name in texts, name
    for number in ("0.7311", "1", "-0.5344", "1.368", "0.3679", "-0.1966", "0.1966", "0.3932", "-0.3932", "-0.5898"):
        assert number in texts, number


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_render_writes_the_format_of_the_suffix(tmp_path, suffix, magic):
    path = render(first_circuit(), tmp_path / f"f{suffix}")
    assert path == tmp_path / f"f{suffix}"
    assert path.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"f{suffix}"]  # no stray source file beside it


def test_render_format_overrides_the_suffix_and_unknown_suffixes_are_refused(tmp_path):
    assert render(first_circuit(), tmp_path / "f.out", format="svg").read_bytes().startswith(b"<?xml")
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot, \.gv"):
        render(first_circuit(), tmp_path / "f.docx")


def test_graph_methods_delegate_to_export(tmp_path):
    g = first_circuit()
    assert g.to_dot(explain=True).source == to_dot(g, explain=True).source
    assert g.to_svg() == to_svg(g)
    assert g.render(tmp_path / "f.gv").read_text() == to_dot(g, legend=True).source
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"] == to_svg(g, legend=True) and bundle["text/plain"] == repr(g)


# -- without dot -----------------------------------------------------------------------------------------


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which there is no Graphviz."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_missing_dot_is_a_clear_error_that_says_how_to_install_it(no_dot, tmp_path):
    with pytest.raises(GraphvizNotFoundError) as caught:
        render(first_circuit(), tmp_path / "f.svg")
    message = str(caught.value)
    for hint in ("apt-get install graphviz", "brew install graphviz", "https://graphviz.org/download/"):
        assert hint in message
    assert isinstance(caught.value, RuntimeError)
    assert not (tmp_path / "f.svg").exists()
    with pytest.raises(GraphvizNotFoundError, match="was not found on PATH"):
        first_circuit().to_svg()


def test_dot_text_needs_no_program(no_dot, tmp_path):
    g = first_circuit()
    for suffix in (".dot", ".gv"):
        assert render(g, tmp_path / f"f{suffix}").read_text(encoding="utf-8") == to_dot(g, legend=True).source
    assert g._repr_mimebundle_() == {"text/plain": repr(g)}  # a notebook still shows something


def test_top_to_bottom_puts_the_value_left_and_the_gradient_right_of_the_edge():
    source = to_dot(first_circuit(), rankdir="TB").source
    assert "rankdir=TB" in source and "<vr/>" in source and "<hr/>" not in source
    assert re.search(r"^\tn0 -> e\d+:n ", source, re.M) and re.search(r"^\te\d+:s -> n3 ", source, re.M)
    assert ET.fromstring(to_svg(first_circuit(), rankdir="BT")).tag == f"{SVG}svg"
    with pytest.raises(ValueError, match="rankdir must be one of LR, RL, TB, BT"):
        to_dot(first_circuit(), rankdir="diagonal")


def test_collapse_of_an_unknown_scope_names_the_scopes_there_are():
    with pytest.raises(
        ValueError, match=r"collapse names no scope of the graph: 'layer1'; its scopes are 'loss', 'net'"
    ):
        to_dot(layered(), collapse=["layer1"])


def test_a_constant_shows_its_value_on_its_node_and_its_edge_stays_bare():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.5, name="f")
    g.forward(x=4.0)
    g.backward()
    nodes, edges = parse(to_dot(g).source)
    (constant,) = [n for n in nodes.values() if n["name"] == "const_1"]
    assert "<b>2.5</b>" in constant["label"]
    assert edge(edges, "const_1", "f") == ([], [])
    assert edge(edges, "x", "f") == (["4"], ["2.5"])


def test_only_the_last_forward_is_drawn_a_node_it_did_not_run_has_no_value():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(AddGate(), x, 1.0, name="shifted")
    g.forward(x=10.0)  # both outputs: double = 20, shifted = 11
    g.forward(x=3.0, outputs="double")  # shifted keeps 11 on its node, from the first forward
    assert g["shifted"].value == 11.0
    _, edges = parse(to_dot(g).source)
    assert edge(edges, "x", "double") == (["3"], [])
    assert edge(edges, "double", "out0") == (["6"], [])
    assert edge(edges, "x", "shifted") == ([], [])  # nothing flowed into shifted in the last forward
    assert edge(edges, "shifted", "out1") == ([], [])  # no 11 from the earlier pass
    svg = to_svg(g)
    assert ">11<" not in svg and "value 11" not in svg
    (tooltip,) = re.findall(r'tooltip="shifted: AddGate[^"]*"', to_dot(g).source)
    assert "\\nvalue " not in tooltip and "\\ngrad " not in tooltip


# -- the SVG's classes and data attributes -------------------------------------------------------------


def marked(svg: str):
    """The groups of an SVG by their gg- class: (class, data attributes) pairs, and the texts by class."""
    root = ET.fromstring(svg)
    groups = []
    for group in root.iter(f"{SVG}g"):
        classes = [name for name in group.get("class", "").split() if name.startswith("gg-")]
        if classes:
            data = {key[5:]: value for key, value in group.attrib.items() if key.startswith("data-")}
            groups.append((" ".join(classes), data))
    texts = [(text.get("class"), "".join(text.itertext())) for text in root.iter(f"{SVG}text")]
    return groups, texts


def test_the_svg_names_every_node_edge_and_label_as_the_module_documents(tmp_path):
    g = ComputationalGraph()
    x = g.input("x")
    w = g.parameter("w", 2.0)
    g.add_gate(MultiplyGate(), x * w, 3.0, name="y")
    g.forward(x=4.0)
    g.backward()
    svg = render(g, tmp_path / "y.svg").read_text(encoding="utf-8")
    assert svg == to_svg(g, legend=True)
    groups, texts = marked(svg)
    nodes = {data["node"]: data["kind"] for classes, data in groups if classes == "gg-node"}
    assert nodes == {"x": "input", "w": "parameter", "mul_1": "gate", "const_1": "constant", "y": "gate"}
    edges = [(classes, data.get("source"), data.get("target")) for classes, data in groups if "gg-edge" in classes]
    assert ("gg-edge gg-edge-label", "x", "mul_1") in edges and edges.count(("gg-edge", "x", "mul_1")) == 2
    assert ("gg-edge", "const_1", "y") in edges  # a constant's edge has no label: one line, one group
    assert ("gg-edge gg-output gg-edge-label", "y", None) in edges
    assert ("gg-value", "4") in texts and ("gg-grad", "6") in texts  # x's value and gradient on x -> mul_1
    assert ("gg-value", "3") in texts  # the constant's own value, on its node
    assert (
        ("gg-local", "∂mul_1/∂x = w = 2") in texts
        and ("gg-local", "∂mul_1/∂w = x = 4") in texts
        and ("gg-symbol", "*") in texts
    )
    assert ("gg-name", "y") in texts and all(role for role, _ in texts)  # every text has its class
    explained = marked(to_svg(g, explain=True))[1]
    # y = 3 (x w): mul_1 gets 3, sends 3 × w = 6 to x and 3 × x = 12 to w; y sends 1 × 3 = 3 to mul_1
    assert {("gg-chain", "3 × 2 = 6"), ("gg-chain", "3 × 4 = 12"), ("gg-chain", "1 × 3 = 3")} <= set(explained)


def test_collapsed_scopes_are_boxes_and_their_edges_name_the_scope():
    groups, texts = marked(to_svg(layered(), collapse=True))
    boxes = [data["scope"] for classes, data in groups if classes == "gg-box"]
    assert boxes == ["net", "loss"]
    edges = {
        (data.get("source"), data.get("source-scope"), data.get("target"), data.get("target-scope"))
        for classes, data in groups
        if "gg-edge" in classes
    }
    assert ("X", None, None, "net") in edges and (None, "net", None, "loss") in edges
    assert ("gg-name", "net") in texts and ("gg-note", "4 gates: 2 linear, 2 relu") in texts
