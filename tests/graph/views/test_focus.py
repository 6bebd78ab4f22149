"""focus=: the paths from the output back to one node, highlighted in diagrams and pages, and explained as a sum.

``render``/``to_svg`` are read back from the SVG the real ``dot`` draws; ``explain(focus=)`` is checked
against the gradients the backward pass computed.
"""

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_animate import fan_out, page_parts, scalar_mlp, small_mlp

from graph import BackwardError, ComputationalGraph
from graph.errors import FocusError, NodeNotFoundError
from graph.views.animate import frames, to_html
from graph.views.diagram import THEMES
from graph.views.focus import count_paths, focus_on, paths
from models.lecture import NEURON_FEEDS, first_circuit, sigmoid_neuron

SVG = "{http://www.w3.org/2000/svg}"


def square() -> ComputationalGraph:
    """f = x * x at x = 3: x reaches f along two edges, so df/dx = x + x = 6."""
    g = ComputationalGraph()
    x = g.input("x")
    (x * x).named("f")
    g.forward(x=3.0)
    g.backward()
    return g


def two_outputs() -> ComputationalGraph:
    """a = 2x and b = 3y, backward from a only: y does not reach a."""
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    (x * 2.0).named("a")
    (y * 3.0).named("b")
    g.forward(x=1.0, y=2.0)
    g.backward(output="a")
    return g


# -- which nodes and edges lie on the paths ------------------------------------------------------------


def test_the_lecture_circuit_has_one_path_from_x_to_f():
    g = first_circuit()
    focus = focus_on(g, "x")
    assert focus.node == "x" and focus.outputs == ("f",)
    assert focus.nodes == {"x", "q", "f"}
    assert focus.edges == {("x", "q"), ("q", "f")}
    assert [[(step.source, step.target) for step in path] for path in paths(g, focus)] == [[("x", "q"), ("q", "f")]]


def test_a_node_feeding_three_gates_reaches_the_output_along_three_paths():
    g = fan_out()
    focus = focus_on(g, g["x"])
    assert focus.nodes == {"x", "xy", "x1", "x1x", "f"}
    listed = [" ".join(step.target for step in path) for path in paths(g, focus)]
    assert listed == ["xy f", "x1 x1x f", "x1x f"]
    assert count_paths(g, focus) == 3


def test_paths_are_counted_without_listing_them_and_listed_up_to_a_limit():
    g = scalar_mlp()
    focus = focus_on(g, "x0")
    assert count_paths(g, focus) == 100  # 10 neurons in each of the two hidden layers
    assert len(list(paths(g, focus, limit=7))) == 7
    assert len(list(paths(g, focus))) == 100


def test_before_a_backward_the_paths_end_at_the_outputs_the_forward_computed():
    g = first_circuit(run=False)
    g.forward(x=1.0, y=2.0, z=3.0)
    assert focus_on(g, "y").outputs == ("f",)


def test_a_name_not_in_the_graph_gets_a_did_you_mean():
    with pytest.raises(NodeNotFoundError, match="no node named 'qq' in the graph; did you mean 'q'"):
        focus_on(first_circuit(), "qq")
    with pytest.raises(NodeNotFoundError, match="did you mean 'q'"):
        first_circuit().render("never.svg", focus="qq")


def test_a_node_that_does_not_reach_the_output_is_refused_by_every_view(tmp_path):
    g = two_outputs()
    message = "focus='y': node 'y' does not reach the output 'a'"
    with pytest.raises(FocusError, match=message):
        g.explain(focus="y")
    with pytest.raises(FocusError, match=message):
        g.to_svg(focus="y")
    with pytest.raises(FocusError, match=message):
        g.animate(tmp_path / "y.html", focus="y")
    assert not (tmp_path / "y.html").exists()
    assert isinstance(FocusError("x"), ValueError)


# -- the diagram ------------------------------------------------------------------------------------------------


def drawn(svg: str):
    """The SVG's nodes by name and its edge pieces by (source, target): the classes of each group."""
    root = ET.fromstring(svg[svg.index("<svg") :])
    nodes, edges = {}, {}
    for group in root.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if "gg-node" in classes:
            nodes[group.get("data-node")] = group
        elif "gg-edge" in classes and "gg-edge-label" not in classes:
            edges.setdefault((group.get("data-source"), group.get("data-target")), []).append(group)
    return root, nodes, edges


def classes(group) -> set[str]:
    return set(group.get("class", "").split())


def outline(group) -> ET.Element:
    return next(shape for shape in group.iter() if shape.tag in (f"{SVG}polygon", f"{SVG}ellipse"))


def rgb(colour: str) -> np.ndarray:
    named = {"white": "#ffffff", "black": "#000000"}
    colour = named.get(colour, colour)
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def test_the_focused_paths_are_drawn_thick_and_the_rest_faded():
    g = first_circuit()
    _, nodes, edges = drawn(g.to_svg(focus="x"))
    assert {name for name, group in nodes.items() if "gg-focus" in classes(group)} == {"x", "q", "f"}
    assert {name for name, group in nodes.items() if "gg-faded" in classes(group)} == {"y", "z"}
    for name in "xqf":
        assert outline(nodes[name]).get("stroke-width") == "2.6"
    for name in "yz":
        assert outline(nodes[name]).get("stroke-width") == "1.2"  # the ordinary pen, in a faded colour
        assert outline(nodes[name]).get("stroke") == "#b8b8b8"
    on = {key for key, pieces in edges.items() if all("gg-focus" in classes(piece) for piece in pieces)}
    off = {key for key, pieces in edges.items() if all("gg-faded" in classes(piece) for piece in pieces)}
    assert on == {("x", "q"), ("q", "f"), ("f", None)}  # the output's arrow too
    assert off == {("y", "q"), ("z", "f")}
    for piece in edges[("x", "q")]:
        assert next(piece.iter(f"{SVG}path")).get("stroke-width") == "2.8"


@pytest.mark.parametrize("theme", list(THEMES))
def test_faded_text_moves_towards_the_background_in_every_theme_and_the_legend_still_reads(theme):
    g = first_circuit()
    svg = g.to_svg(focus="x", theme=theme, legend=True)
    root, _, _ = drawn(svg)
    background = rgb(THEMES[theme].background)
    labels = {}
    for group in root.iter(f"{SVG}g"):
        if "gg-edge-label" in classes(group):
            values = [text for text in group.iter(f"{SVG}text") if text.get("class") == "gg-value"]
            labels[group.get("data-source")] = (classes(group), rgb(values[0].get("fill", "#000000")))
    on_classes, on_colour = labels["x"]
    off_classes, off_colour = labels["y"]
    assert "gg-focus" in on_classes and "gg-faded" in off_classes
    assert np.abs(off_colour - background).sum() < 0.5 * np.abs(on_colour - background).sum()
    legend = next(group for group in root.iter(f"{SVG}g") if "gg-legend" in classes(group))
    lines = {text.get("class"): text for text in legend.iter(f"{SVG}text")}
    assert lines["gg-legend-focus"].text == "thick: the paths from x to f"
    for line in lines.values():  # the legend is not faded
        assert np.abs(rgb(line.get("fill", "#000000")) - background).sum() > 150


def test_without_focus_nothing_is_marked_and_the_dot_text_is_unchanged_by_an_earlier_focus():
    g = first_circuit()
    plain = g.to_dot().source
    g.to_dot(focus="x")
    assert g.to_dot().source == plain
    assert "gg-focus" not in g.to_svg() and "gg-faded" not in g.to_svg()


def test_a_collapsed_layer_the_paths_run_through_is_highlighted(tmp_path):
    g = small_mlp()
    root, nodes, _ = drawn(g.to_svg(focus="W1", collapse=["layer2"]))
    boxes = {group.get("data-scope"): group for group in root.iter(f"{SVG}g") if "gg-box" in classes(group)}
    assert "gg-focus" in classes(boxes["layer2"])
    assert "gg-focus" in classes(nodes["W1"]) and "gg-faded" in classes(nodes["b1"])
    assert "gg-faded" in classes(nodes["X"])  # data: on no path from W1


def test_render_writes_a_focused_png_at_the_asked_resolution(tmp_path):
    from PIL import Image

    written = sigmoid_neuron().render(tmp_path / "neuron.png", focus="w0", dpi=150)
    with Image.open(written) as image:
        assert image.format == "PNG" and image.width > 1000


# -- explain(focus=) --------------------------------------------------------------------------------------------


def test_explain_focus_on_the_lectures_x_is_one_path_of_two_local_gradients():
    text = first_circuit().explain(focus="x")
    assert text.splitlines() == [
        "dL/dx as a sum over the paths from x to the output f (1 path): on each, the product of the local gradients",
        "  x → q → f   ∂q/∂x · ∂f/∂q = 1 · z = 1 × -4 = -4",
        "dL/dx = Σ over the paths = -4",
        "the backward pass computed dL/dx = -4: the same",
    ]


def test_a_node_reaching_the_output_twice_gets_two_lines_that_add_up():
    text = square().explain(focus="x")
    assert text.splitlines()[1:] == [
        "  x → f (input 1)   ∂f/∂x = x = 3",
        "  x → f (input 2)   ∂f/∂x = x = 3",
        "dL/dx = Σ 3 + 3 = 6",
        "the backward pass computed dL/dx = 6: the same",
    ]


def test_three_paths_through_different_gates_each_with_its_own_product():
    g = fan_out()
    lines = g.explain(focus="x").splitlines()
    assert lines[0].startswith("dL/dx as a sum over the paths from x to the output f (3 paths)")
    assert lines[1:4] == [
        "  x → xy → f   ∂xy/∂x · ∂f/∂xy = y · 1 = 3 × 1 = 3",
        "  x → x1 → x1x → f   ∂x1/∂x · ∂x1x/∂x1 · ∂f/∂x1x = 1 · x · 1 = 1 × 2 × 1 = 2",
        "  x → x1x → f   ∂x1x/∂x · ∂f/∂x1x = x1 · 1 = 3 × 1 = 3",
    ]
    assert lines[4] == "dL/dx = Σ 3 + 2 + 3 = 8" and g["x"].grad == 8.0
    assert lines[5] == "the backward pass computed dL/dx = 8: the same"


@pytest.mark.parametrize("name", list(NEURON_FEEDS))
def test_each_input_of_the_neuron_gets_the_gradient_the_backward_computed(name):
    g = sigmoid_neuron()
    lines = g.explain(focus=name, precision=12).splitlines()
    product = float(lines[1].rsplit("= ", 1)[1])
    total = float(lines[-2].rsplit("= ", 1)[1])
    assert product == pytest.approx(g[name].grad, rel=1e-10) and total == pytest.approx(g[name].grad, rel=1e-10)
    assert lines[-1].endswith(": the same")


def test_a_big_graph_lists_a_few_paths_says_how_many_more_and_sums_them_all():
    g = scalar_mlp()
    lines = g.explain(focus="x0", max_paths=3).splitlines()
    assert "(100 paths)" in lines[0]
    assert sum(line.startswith("  x0 → ") for line in lines) == 3
    assert "  ... 97 more paths not listed (max_paths=3)" in lines
    total = float(re.search(r"Σ over the paths = (\S+)", g.explain(focus="x0", max_paths=3, precision=12))[1])
    assert total == pytest.approx(g["x0"].grad, rel=1e-9)
    assert lines[-1].endswith(": the same")
    assert len(g.explain(focus="x0").splitlines()) == 20 + 4  # max_paths defaults to 20


def test_array_paths_are_written_by_formula_and_the_sum_by_shape():
    g = small_mlp()
    lines = g.explain(focus="W1").splitlines()
    assert lines[1].startswith("  W1 → linear_1 → A1 → linear_2 → loss   ")
    assert lines[1].endswith("(local Jacobians: shapes only)")
    assert lines[1].split("   ")[1].startswith("∂linear_1/∂W1 · ∂A1/∂linear_1 · ∂linear_2/∂A1 · ∂loss/∂linear_2")
    assert lines[3] == "  loss to linear_2: 1 × (∂loss/∂linear_2 = 2(linear_2 - Y)/n) → (5, 1) float64"
    assert lines[6] == "  linear_1 to W1: (5, 4) float64 × (∂L/∂W1 = ∂linear_1ᵀ X) → (4, 3) float64"
    assert lines[-1] == "the backward pass computed dL/dW1 = (4, 3) float64"


def test_a_seed_other_than_one_multiplies_the_sum():
    g = first_circuit(run=False)
    g.forward(x=-2.0, y=5.0, z=-4.0)
    g.backward(grad=2.0)
    lines = g.explain(focus="x").splitlines()
    assert "  (times the seed dL/df = 2, where the backward pass started)" in lines
    assert lines[-1] == "the backward pass computed dL/dx = -8: the same"


def test_explain_focus_refuses_what_it_cannot_explain():
    g = first_circuit(run=False)
    g.forward(x=1.0, y=2.0, z=3.0)
    with pytest.raises(BackwardError, match=r"explain\(focus='x'\) describes the last backward pass"):
        g.explain(focus="x")
    data = small_mlp()
    with pytest.raises(FocusError, match="the last backward gave 'X' no gradient: it needs no gradient"):
        data.explain(focus="X")
    with pytest.raises(ValueError, match="max_paths must be a whole number of paths, at least 1, got 0"):
        first_circuit().explain(focus="x", max_paths=0)


# -- the animation ---------------------------------------------------------------------------------------------


def test_the_page_carries_the_focus_in_its_data_and_the_focused_step_the_sum():
    g = first_circuit()
    _, data = page_parts(to_html(g, focus="x"))
    assert data["focus"] == {
        "node": "x",
        "outputs": ["f"],
        "nodes": ["f", "q", "x"],
        "edges": [{"source": "q", "target": "f"}, {"source": "x", "target": "q"}],
    }
    assert data["summary"].endswith("focus: the 1 path from x to f, the rest faded")
    step = next(step for step in data["steps"] if step["phase"] == "backward" and step["node"] == "x")
    assert step["caption"].endswith(g.explain(focus="x"))
    assert "gg-faded" not in json.dumps(data) and "#" not in json.dumps(data["focus"])  # names, not colours
    assert page_parts(to_html(g))[1]["focus"] is None


def test_frames_write_the_sum_over_paths_only_at_the_focused_nodes_backward_step():
    g = fan_out()
    with_sum = [frame.node for frame in frames(g, focus="x") if "as a sum over the paths" in frame.caption]
    assert with_sum == ["x"]


def test_the_pages_tooltips_hold_no_value_before_the_forward_and_no_gradient_before_the_backward():
    _, data = page_parts(to_html(first_circuit()))
    tips = {tip["node"]: tip for tip in data["tooltips"]}
    assert tips["f"]["before"] == (
        "f: MultiplyGate (*)\n∂f/∂q = z\n∂f/∂z = q\n"
        "gradient switcher: scales the upstream gradient by the other input's value"
    )
    assert tips["f"]["computed"].endswith("∂f/∂z = q = 3\ngradient switcher: scales the upstream gradient by the "
                                          "other input's value\nvalue -12")  # fmt: skip
    assert tips["x"] == {"node": "x", "before": "x: input", "computed": "x: input\nvalue -2"}
    lines = [line for tip in tips.values() for line in (tip["before"] + "\n" + tip["computed"]).splitlines()]
    assert not [line for line in lines if line.startswith("grad ")]


def test_a_tikz_picture_draws_the_same_focus(tmp_path):
    tex = first_circuit().render(tmp_path / "f.tex", focus="x").read_text()
    assert tex.count("line width=2.60bp") == 3  # x, q, f
    assert "{HTML}{B8B8B8}" in tex  # y's and z's faded outline
    assert "thick: the paths from x to f" in tex
