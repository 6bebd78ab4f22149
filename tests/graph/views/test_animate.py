"""Step-through animation: the frame data in plain Python, and the page it is written into.

The page itself is driven in a real browser in test_animate_browser.py.
"""

import configparser
import fnmatch
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from gates import AddGate, LinearGate, MSELossGate, MultiplyGate, ReLUGate
from graph import BackwardError, ComputationalGraph
from graph.views.animate import FOCUS_COLOR, animate, frames, main, page_file, to_html
from graph.views.diagram import GRAD_COLOR, VALUE_COLOR
from models.lecture import first_circuit, patterns_circuit, sigmoid_neuron

SVG = "{http://www.w3.org/2000/svg}"


# -- graphs ----------------------------------------------------------------------------------------


def fan_out() -> ComputationalGraph:
    """x feeds three gates: f = x y + (x + 1) x at x = 2, y = 3, so df/dx = y + 2x + 1 = 8."""
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    product = g.add_gate(MultiplyGate(), x, y, name="xy")
    shifted = g.add_gate(AddGate(), x, 1.0, name="x1")
    square = g.add_gate(MultiplyGate(), shifted, x, name="x1x")
    g.add_gate(AddGate(), product, square, name="f")
    g.forward(x=2.0, y=3.0)
    g.backward()
    return g


def small_mlp() -> ComputationalGraph:
    rng = np.random.default_rng(0)
    g = ComputationalGraph()
    features, targets = g.input("X", requires_grad=False), g.input("Y", requires_grad=False)
    with g.scope("layer1"):
        hidden = g.add_gate(
            LinearGate(), features, g.parameter("W1", rng.normal(size=(4, 3))), g.parameter("b1", np.zeros(4))
        )
        hidden = g.add_gate(ReLUGate(), hidden, name="A1")
    with g.scope("layer2"):
        prediction = g.add_gate(
            LinearGate(), hidden, g.parameter("W2", rng.normal(size=(1, 4))), g.parameter("b2", np.zeros(1))
        )
    g.add_gate(MSELossGate(), prediction, targets, name="loss")
    g.forward(X=rng.normal(size=(5, 3)), Y=rng.normal(size=(5, 1)))
    g.backward()
    return g


def scalar_mlp(sizes=(3, 10, 10, 1), seed: int = 0) -> ComputationalGraph:
    """An MLP written neuron by neuron from scalar gates: about 300 gates for the default sizes."""
    rng = np.random.default_rng(seed)
    g = ComputationalGraph()
    activations = [g.input(f"x{i}") for i in range(sizes[0])]
    for layer, n_out in enumerate(sizes[1:], start=1):
        with g.scope(f"layer{layer}"):
            outputs = []
            for j in range(n_out):
                total = g.parameter(f"b{layer}_{j}", rng.normal())
                for i, activation in enumerate(activations):
                    total = total + g.parameter(f"w{layer}_{j}_{i}", rng.normal()) * activation
                outputs.append(total.tanh() if layer < len(sizes) - 1 else total)
            activations = outputs
    (activations[0] - g.input("y")) ** 2
    g.forward({f"x{i}": float(v) for i, v in enumerate(rng.normal(size=sizes[0]))}, y=0.5)
    g.backward()
    return g


def steps(g):
    return [(frame.phase, frame.node) for frame in frames(g)]


# -- frame data --------------------------------------------------------------------------------------


def test_forward_frames_in_topological_order_then_backward_from_the_output():
    assert steps(first_circuit()) == [
        ("forward", "x"),
        ("forward", "y"),
        ("forward", "z"),
        ("forward", "q"),
        ("forward", "f"),
        ("backward", "f"),
        ("backward", "z"),
        ("backward", "q"),
        ("backward", "x"),
        ("backward", "y"),
    ]


@pytest.mark.parametrize("build", [sigmoid_neuron, patterns_circuit, fan_out, small_mlp])
def test_backward_frames_visit_a_node_only_after_every_gate_it_feeds(build):
    g = build()
    order = steps(g)
    forward = [node for phase, node in order if phase == "forward"]
    backward = [node for phase, node in order if phase == "backward"]
    assert order == [("forward", n) for n in forward] + [("backward", n) for n in backward]
    assert forward == [node.name for node in g.nodes if node.value is not None]
    assert backward[0] == g.outputs[0].name
    assert set(backward) == {node.name for node in g.nodes if node.grad is not None}
    position = {name: index for index, name in enumerate(backward)}
    for node in g.nodes:
        for source in node.inputs:
            if source.name in position:
                assert position[node.name] < position[source.name], (node.name, source.name)


def test_frames_carry_the_lectures_numbers():
    by_step = {(frame.phase, frame.node): frame for frame in frames(first_circuit())}
    assert [by_step["forward", name].badge for name in "xyzqf"] == ["= -2", "= 5", "= -4", "= 3", "= -12"]
    assert by_step["forward", "q"].headline == "q = -2 + 5 = 3."
    assert by_step["forward", "f"].headline == "f = 3 * (-4) = -12."
    assert by_step["forward", "f"].edges == (("q", "f"), ("z", "f"))
    backward = [by_step["backward", name].badge for name in "fzqxy"]
    assert backward == ["dL/df = 1", "dL/dz = 3", "dL/dq = -4", "dL/dx = -4", "dL/dy = -4"]
    seed = by_step["backward", "f"]
    assert seed.headline.startswith("The backward pass starts at the output f: dL/df = 1.")
    assert "  local     ∂f/∂q = z = -4, ∂f/∂z = q = 3" in seed.caption
    assert "to q      1 × -4 = -4   (∂f/∂q = z)" in seed.caption
    assert "to z      1 × 3 = 3   (∂f/∂z = q)" in seed.caption
    assert not any("dz/d" in frame.caption or "∂z/∂x" in frame.caption for frame in by_step.values())
    assert by_step["backward", "q"].edges == (("x", "q"), ("y", "q"))
    assert by_step["backward", "x"].caption == "x   input   value -2\n  dL/dx = -4"
    assert by_step["backward", "x"].edges == (("x", "q"),)


@pytest.mark.parametrize("build", [first_circuit, sigmoid_neuron, patterns_circuit, small_mlp])
def test_backward_captions_are_the_explanation_of_each_node(build):
    g = build()
    explanation = g.explain()
    blocks = explanation.split("\n\n")[1:]
    captions = [frame.caption for frame in frames(g) if frame.phase == "backward"]
    assert captions == blocks[: len(captions)]


def test_the_neuron_reads_like_the_lecture():
    by_step = {(frame.phase, frame.node): frame for frame in frames(sigmoid_neuron())}
    assert by_step["forward", "f"].headline == "f = 1 / 1.368 = 0.7311."
    assert by_step["forward", "exp_1"].headline == "exp_1 = exp(-1) = 0.3679."
    assert "-0.5344 × 0.3679 = -0.1966   (∂exp_1/∂neg_1 = exp(neg_1) = exp_1)" in by_step["backward", "exp_1"].caption
    assert by_step["backward", "w0"].badge == "dL/dw0 = -0.1966"
    assert by_step["backward", "x1"].badge == "dL/dx1 = -0.5898"


def test_patterns_max_routes_and_sends_nothing_to_the_smaller_input():
    by_step = {(frame.phase, frame.node): frame for frame in frames(patterns_circuit())}
    router = by_step["backward", "max_zw"]
    assert "gradient router" in router.caption
    assert "to z      2 × 1 = 2" in router.caption
    assert "to w      2 × 0 = 0" in router.caption
    assert by_step["backward", "x"].badge == "dL/dx = -8"
    assert ("backward", "const_1") not in by_step  # a constant needs no gradient
    assert by_step["forward", "const_1"].headline == "const_1 is a constant: 2."


def test_fan_out_shows_the_running_sum_as_each_branch_arrives():
    g = fan_out()
    sums = [(frame.node, frame.sums) for frame in frames(g) if frame.sums]
    at_x = [(node, line) for node, pairs in sums for name, line in pairs if name == "x"]
    # x gets y = 3 from xy, x + 1 = 3 from x1x, then dL/d(x1) = x = 2 from x1, in the backward order
    assert [node for node, _ in at_x] == ["xy", "x1x", "x1"]
    assert at_x[0][1] == "Σ 3 = 3 (so far: 1 of 3)"
    assert at_x[1][1] == "Σ 3 + 3 = 6 (so far: 2 of 3)"
    assert at_x[2][1] == "Σ 3 + 3 + 2 = 8 (all: 3 of 3)"
    assert g["x"].grad == 8.0
    leaf = next(frame for frame in frames(g) if frame.phase == "backward" and frame.node == "x")
    assert leaf.headline == "x fed 3 gates; the gradients they sent back add up: dL/dx = 8."
    assert "dL/dx = Σ 3 (from xy) + 2 (from x1) + 3 (from x1x) = 8   (fan-out" in leaf.caption
    assert set(leaf.edges) == {("x", "xy"), ("x", "x1"), ("x", "x1x")}
    gate = next(frame for frame in frames(g) if frame.phase == "backward" and frame.node == "x1x")
    assert "  sum at x  Σ 3 + 3 = 6 (so far: 2 of 3)" in gate.caption


def test_a_gate_using_one_input_twice_sends_both_branches_in_one_step():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, x, name="square")
    g.forward(x=3.0)
    g.backward()
    square = next(frame for frame in frames(g) if frame.phase == "backward" and frame.node == "square")
    assert square.sums == (("x", "Σ 3 + 3 = 6 (all: 2 of 2)"),)
    assert square.edges == (("x", "square"),)


def test_arrays_are_summarised_and_data_gets_no_backward_step():
    g = small_mlp()
    by_step = {(frame.phase, frame.node): frame for frame in frames(g)}
    assert by_step["forward", "X"].headline.endswith("(data: it needs no gradient).")
    assert ("backward", "X") not in by_step and ("backward", "Y") not in by_step
    assert re.fullmatch(r"= \(5, 4\) float64 mean \S+ norm \S+", by_step["forward", "A1"].badge)
    assert by_step["forward", "A1"].headline == "A1 = relu(linear_1) = " + by_step["forward", "A1"].badge[2:] + "."
    assert re.fullmatch(r"dL/dW1 = \(4, 3\) float64 mean \S+ norm \S+", by_step["backward", "W1"].badge)
    assert re.fullmatch(r"dL/db2 = \[\S+\]", by_step["backward", "b2"].badge)  # one element, written out


def test_precision_and_max_elements_are_passed_on():
    g = sigmoid_neuron()
    by_step = {(frame.phase, frame.node): frame for frame in frames(g, precision=2)}
    assert by_step["backward", "w0"].badge == "dL/dw0 = -0.2"
    g = small_mlp()
    badge = {(f.phase, f.node): f.badge for f in frames(g, max_elements=100)}["forward", "b1"]
    assert badge == "= [0, 0, 0, 0]"


def test_without_a_forward_pass_it_says_what_to_run():
    g = ComputationalGraph()
    g.input("x") * 2.0
    with pytest.raises(BackwardError, match=r"run forward\(\) first"):
        frames(g)
    with pytest.raises(BackwardError, match=r"run forward\(\) first"):
        g.animate("never-written.html")


def test_after_a_forward_only_the_forward_steps_and_a_note_that_the_backward_has_not_run(tmp_path):
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    f = ((x + y) * z).named("f")
    g.forward(x=-2.0, y=5.0, z=-4.0)
    steps = frames(g)
    assert [(frame.phase, frame.node) for frame in steps][:3] == [("forward", "x"), ("forward", "y"), ("forward", "z")]
    assert {frame.phase for frame in steps} == {"forward"} and len(steps) == 5
    assert steps[-1].headline.endswith("The backward pass has not run: call backward() to see the gradients.")
    assert f.value == -12.0 and f.grad is None
    data = page_parts(to_html(g))[1]
    assert data["summary"].endswith("5 forward steps, the backward pass has not run")
    assert [step["phase"] for step in data["steps"]] == ["forward"] * 5


def test_skip_leaves_drops_the_forward_steps_of_inputs_and_constants_only():
    g = ComputationalGraph()
    x, w = g.input("x"), g.parameter("w", 3.0)
    q = (x * w).named("q")
    (q + 1.0).named("f")
    g.forward(x=2.0)
    g.backward()
    order = [(frame.phase, frame.node) for frame in frames(g, skip_leaves=True)]
    assert [node for phase, node in order if phase == "forward"] == ["w", "q", "f"]
    backward = [node for phase, node in order if phase == "backward"]
    assert set(backward) >= {"f", "q", "x", "w"}  # every backward step stays
    full = [(frame.phase, frame.node) for frame in frames(g)]
    assert set(full) - set(order) == {("forward", "x")} | {("forward", n.name) for n in g.nodes if n.kind == "constant"}


def test_quiz_answers_are_the_one_element_gradients_each_with_its_chain_rule_line():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = (x + y).named("q")
    (q * z).named("f")
    g.forward(x=-2.0, y=5.0, z=-4.0)
    g.backward()
    backward = {frame.node: frame for frame in frames(g, quiz=True) if frame.phase == "backward"}
    assert {name: frame.answer for name, frame in backward.items()} == {
        "f": None,  # the seed is given, not asked
        "z": 3.0,
        "q": -4.0,
        "x": -4.0,
        "y": -4.0,
    }
    assert backward["q"].reveal.startswith("from f: ") and "-4" in backward["q"].reveal
    assert "∂f/∂q = z" in backward["q"].reveal and "dz/d" not in backward["q"].reveal  # the graph's own names
    assert "seed" in backward["f"].reveal
    # A gate's quiz caption does not give away what it sends to its inputs.
    assert "to q" not in backward["f"].caption and "to q" in frames(g)[5].caption


def test_quiz_reveal_at_a_fan_out_adds_the_branches_and_arrays_get_no_question():
    g = ComputationalGraph()
    x = g.input("x")
    (x * x).named("f")
    g.forward(x=3.0)
    g.backward()
    last = frames(g, quiz=True)[-1]
    assert last.node == "x" and last.answer == 6.0
    assert last.reveal.count("from f: ") == 2 and last.reveal.endswith("dL/dx = 6 (the branches add)")
    assert not any(frame.sums for frame in frames(g, quiz=True))
    h = ComputationalGraph()
    v = h.input("v")
    (v * 2.0).sum()
    h.forward(v=np.array([1.0, 2.0]))
    h.backward()
    answers = {frame.node: frame.answer for frame in frames(h, quiz=True) if frame.phase == "backward"}
    assert answers["v"] is None


# -- the page ----------------------------------------------------------------------------------------


def page_parts(page: str):
    """The SVG element and the data the page carries."""
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + len("</svg>")])
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page, re.S).group(1)
    return svg, json.loads(data)


def test_the_page_is_self_contained():
    page = to_html(sigmoid_neuron())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for needle in ("<link", "@import", "url(", " src=", "<iframe", "<img", "fetch(", "XMLHttpRequest"):
        assert needle not in page, needle
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= namespaces
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_the_page_is_its_three_files_inlined():
    page = to_html(first_circuit())
    assert page_file("page.css") in page and page_file("page.js") in page
    html = page_file("page.html")
    for line in html.splitlines():
        if "page.css" not in line and "page.js" not in line and 'id="stage"' not in line and "page-data" not in line:
            assert line in page, line
    # the files hold no text for Python to fill in, and nothing that would end their element early
    for name in ("page.html", "page.css", "page.js"):
        assert not re.search(r"__[A-Z]+__", page_file(name)), name
    assert "</script" not in page_file("page.js").lower() and "<script" not in page_file("page.js").lower()
    assert "</style" not in page_file("page.css").lower()
    with pytest.raises(ValueError, match=re.escape("the page's files are page.html, page.css, page.js")):
        page_file("../setup.cfg")


def test_the_page_carries_every_frame_with_named_keys_and_its_settings():
    g = first_circuit()
    _, data = page_parts(to_html(g, title="f = (x + y) z", interval=0.5))
    assert data["title"] == "f = (x + y) z"
    assert data["summary"] == "5 nodes, 2 gates · 5 forward steps, 5 backward steps"
    assert data["settings"] == {
        "quiz": False,
        "interval_ms": 500,
        "badge_margin": 24,
        "colors": {"value": VALUE_COLOR, "gradient": GRAD_COLOR, "focus": FOCUS_COLOR},
    }
    expected = frames(g)
    assert data["steps"] == [
        {
            "phase": frame.phase,
            "node": frame.node,
            "headline": frame.headline,
            "caption": frame.caption,
            "badge": frame.badge,
            "sums": [{"node": node, "text": text} for node, text in frame.sums],
            "edges": [{"source": source, "target": target} for source, target in frame.edges],
            "answer": frame.answer,
            "reveal": frame.reveal,
        }
        for frame in expected
    ]
    assert page_parts(to_html(g, quiz=True))[1]["settings"]["quiz"] is True


def test_the_diagram_in_the_page_names_every_node_and_edge_a_step_refers_to():
    g = fan_out()
    svg, data = page_parts(to_html(g))
    nodes = {group.get("data-node") for group in svg.iter(f"{SVG}g") if "gg-node" in group.get("class", "")}
    edges = {
        (group.get("data-source"), group.get("data-target"))
        for group in svg.iter(f"{SVG}g")
        if "gg-edge" in group.get("class", "")
    }
    assert nodes == {node.name for node in g.nodes}
    for step in data["steps"]:
        assert step["node"] in nodes
        assert all(sum_["node"] in nodes for sum_ in step["sums"])
        assert all((edge["source"], edge["target"]) in edges for edge in step["edges"])
    assert ("f", None) in edges  # the output's arrow, with no target
    assert not svg.findall(f".//{SVG}title")  # hover shows the richer tooltips instead


def test_each_edge_label_holds_its_value_and_gradient_by_class():
    svg, _ = page_parts(to_html(first_circuit()))
    labels = {}
    for group in svg.iter(f"{SVG}g"):
        if "gg-edge-label" in group.get("class", "").split():
            texts = {text.get("class"): text.text for text in group.iter(f"{SVG}text")}
            labels[group.get("data-source"), group.get("data-target")] = texts
    assert labels[("q", "f")] == {"gg-value": "3", "gg-grad": "-4"}
    assert labels[("z", "f")] == {"gg-value": "-4", "gg-grad": "3"}
    assert labels[("f", None)] == {"gg-value": "-12", "gg-grad": "1"}  # the output and its seed


def test_names_that_look_like_markup_stay_text():
    g = ComputationalGraph()
    a = g.input("a</script><b>")
    g.add_gate(MultiplyGate(), a, a, name='sq"&<i>')
    g.forward({"a</script><b>": 3.0})
    g.backward()
    page = to_html(g, title="<script>alert(1)</script>")
    assert page.count("<script") == 2  # the data and the player, nothing from the names or the title
    svg, data = page_parts(page)
    assert data["title"] == "<script>alert(1)</script>"
    assert data["steps"][-1]["badge"] == "dL/d(a</script><b>) = 6"
    assert data["steps"][1]["headline"] == 'sq"&<i> = 3 * 3 = 9.'
    assert {group.get("data-node") for group in svg.iter(f"{SVG}g") if group.get("data-node")} == {
        "a</script><b>",
        'sq"&<i>',
    }


def test_changing_the_diagrams_colours_changes_the_page_and_nothing_else(monkeypatch, tmp_path):
    import graph.views.diagram

    g = fan_out()
    before = to_html(g)
    monkeypatch.setattr(graph.views.diagram, "VALUE_COLOR", "#0000ff")
    monkeypatch.setattr(graph.views.diagram, "GRAD_COLOR", "#ff00ff")
    after = to_html(g)
    svg, data = page_parts(after)
    assert 'fill="#0000ff"' in after and "#1a7f1a" not in after.split("<svg")[1]
    _, data_before = page_parts(before)
    assert data["steps"] == data_before["steps"]
    assert data["settings"]["colors"] == {"value": "#0000ff", "gradient": "#ff00ff", "focus": FOCUS_COLOR}
    classes = [text.get("class") for text in svg.iter(f"{SVG}text")]
    assert classes == [text.get("class") for text in page_parts(before)[0].iter(f"{SVG}text")]
    assert classes.count("gg-value") > 0 and classes.count("gg-grad") > 0


def test_a_graph_of_three_hundred_gates_makes_a_page_of_about_a_megabyte(tmp_path):
    g = scalar_mlp()
    assert 290 <= sum(node.kind == "gate" for node in g.nodes) <= 310
    start = time.perf_counter()
    path = animate(g, tmp_path / "mlp.html")
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    assert size < 1.7e6, f"{size / 1e6:.2f} MB"  # 1.59 MB, of which 0.13 MB the tooltips before each node's steps
    assert seconds < 20
    _, data = page_parts(path.read_text())
    assert len(data["steps"]) == sum(node.value is not None for node in g.nodes) + sum(
        node.grad is not None for node in g.nodes
    )


def test_graph_animate_writes_the_file_and_returns_its_path(tmp_path):
    g = first_circuit()
    written = g.animate(tmp_path / "f.html", title="f = (x + y) z <demo>", precision=3)
    assert written == tmp_path / "f.html"
    _, data = page_parts(written.read_text(encoding="utf-8"))
    assert data["title"] == "f = (x + y) z <demo>"
    assert data["steps"][3]["badge"] == "= 3" and data["steps"][-2]["badge"] == "dL/dx = -4"
    assert g["q"].value == 3.0 and g["x"].grad == -4.0  # read, never run


def test_the_command_line_animates_the_graphs_a_script_leaves(tmp_path, capsys):
    script = tmp_path / "circuit.py"
    script.write_text(
        "from graph import ComputationalGraph\n"
        "g = ComputationalGraph()\n"
        "x, y, z = g.input('x'), g.input('y'), g.input('z')\n"
        "f = (x + y) * z\n"
        "g.forward(x=-2.0, y=5.0, z=-4.0)\n"
        "g.backward()\n"
        "unused = ComputationalGraph()\n"
    )
    assert main([str(script), "--out", str(tmp_path / "pages")]) == 0
    assert (tmp_path / "pages" / "circuit.html").exists()
    assert "wrote" in capsys.readouterr().out
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main([str(empty), "--out", str(tmp_path)]) == 1
    assert "no graph that has run forward() among" in capsys.readouterr().err


def test_the_page_files_are_package_data():
    """setup.cfg ships every file of graph/views/page/ with the package (a wheel built from it holds them)."""
    top = Path(__file__).resolve().parents[3]
    config = configparser.ConfigParser()
    config.read(top / "setup.cfg")
    patterns = [pattern.strip() for pattern in config["options.package_data"]["graph.views"].split(",")]
    files = sorted(path.name for path in (top / "graph" / "views" / "page").iterdir())
    assert files == ["page.css", "page.html", "page.js"]
    for name in files:
        assert any(fnmatch.fnmatch(f"page/{name}", pattern) for pattern in patterns), name


def test_only_the_last_pass_is_stepped_through_a_node_it_did_not_run_never_gets_a_value():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(AddGate(), x, 1.0, name="shifted")
    g.forward(x=10.0)
    g.forward(x=3.0, outputs="double")
    g.backward(output="double")
    assert steps(g) == [
        ("forward", "x"),
        ("forward", "const_1"),
        ("forward", "double"),
        ("backward", "double"),
        ("backward", "x"),
    ]
    svg, data = page_parts(to_html(g))
    assert all(step["node"] != "shifted" for step in data["steps"])  # the page keeps it pending throughout
    assert "shifted" in {group.get("data-node") for group in svg.iter(f"{SVG}g")}
    assert "11" not in {text.text for text in svg.iter(f"{SVG}text")}  # its value of the earlier forward
