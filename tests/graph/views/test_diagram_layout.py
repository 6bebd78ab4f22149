"""The diagram's layout of layered networks: rows that fit a slide, and collapsed boxes of bounded width.

Sizes are read from the SVG that the real `dot` draws.
"""

import re
import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from gates import SumGate
from graph import ComputationalGraph
from graph.views.diagram import to_dot, to_svg
from graph.views.text import LINE_WIDTH, contents_lines, wrapped
from models import CNN, MLP, lecture

SVG = "{http://www.w3.org/2000/svg}"


# The example's own graphs: the 3-4-4-1 MLP of mlp.svg and the scalar MLP of large.svg (4-30-30-1 by default).
EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parents[3] / "examples" / "export_svg.py"))
mlp, scalar_mlp = EXAMPLE["mlp"], EXAMPLE["scalar_mlp"]


def fashion_mlp() -> ComputationalGraph:
    model = MLP([784, 64, 10], seed=0)
    rng = np.random.default_rng(0)
    model.loss(rng.random((8, 784)), rng.integers(0, 10, 8))
    model.backward()
    return model.graph


def size(svg: str) -> tuple[float, float]:
    """The drawing's width and height in points."""
    width, height = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return float(width), float(height)


def tops(svg: str, kind: str = "node") -> dict[str, float]:
    """How far down the page each node (``data-node``) or box (``data-scope``) is drawn: its first text's y."""
    found = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        name = group.get(f"data-{kind}")
        if name and "gg-edge" not in group.get("class", ""):
            found[name] = float(next(group.iter(f"{SVG}text")).get("y"))
    return found


def fitted(svg: str) -> float:
    """How large the drawing is shown when fitted into a 1280×720 slide: pixels per point."""
    width, height = size(svg)
    return min(1280 / width, 720 / height)


# -- rows -----------------------------------------------------------------------------------------------


def test_an_mlp_wraps_into_rows_that_fit_a_slide_where_one_row_did_not():
    g = mlp()
    one_row, wrapped_rows = to_svg(g, legend=True, rows=1), to_svg(g, legend=True)
    assert size(one_row)[0] > 2500 and fitted(one_row) < 0.5  # the staircase: 2,839 × 585 pt
    assert size(wrapped_rows)[0] < 1500 and fitted(wrapped_rows) > 0.85  # 1,355 × 786 pt
    for collapse in (False, True):
        assert fitted(to_svg(g, legend=True, collapse=collapse)) > 0.9 * fitted(to_svg(g, collapse=collapse, rows=1))


@pytest.mark.parametrize("collapse", [False, True])
def test_the_rows_read_top_to_bottom_in_the_order_of_the_layers(collapse):
    for g, layers in ((mlp(), ["layer1", "layer2", "layer3"]), (fashion_mlp(), ["layer1", "layer2"])):
        svg = to_svg(g, collapse=collapse, rows=len(layers))
        if collapse:
            y = tops(svg, "scope")
        else:
            names = {"layer1": "Z1", "layer2": "Z2", "layer3": "Z3"}
            y = {layer: tops(svg)[names[layer]] for layer in layers}
        assert [y[layer] for layer in layers] == sorted(y[layer] for layer in layers), y
        assert y[layers[0]] < y[layers[-1]]


def test_a_conv_net_wraps_too_and_its_rows_keep_their_order():
    model = CNN(channels=(4, 8), hidden=(), seed=0)
    rng = np.random.default_rng(0)
    model.loss(rng.random((2, 1, 28, 28)), rng.integers(0, 10, 2))
    model.backward()
    svg = to_svg(model.graph, collapse=True, legend=True)
    assert fitted(svg) > 0.9 and fitted(to_svg(model.graph, collapse=True, rows=1)) < 0.7
    y = tops(svg, "scope")
    assert y["layer1"] <= y["layer2"] < y["layer3"]


def test_an_edge_into_the_next_row_starts_that_row_from_a_dashed_copy_of_its_source():
    svg = to_svg(mlp(), rows=3)
    root = ET.fromstring(svg)
    copies = [group for group in root.iter(f"{SVG}g") if "gg-continued" in group.get("class", "")]
    onward = [g.get("data-continues") for g in copies if "next row" in "".join(g.itertext())]
    again = [g.get("data-continues") for g in copies if "next row" not in "".join(g.itertext())]
    assert onward == again == ["A1", "A2"]
    # the edge A1 -> Z2 is still one edge for a script: its value and gradient, and where it goes
    labels = [
        "".join(group.itertext())
        for group in root.iter(f"{SVG}g")
        if "gg-edge-label" in group.get("class", "") and group.get("data-source") == "A1"
    ]
    assert len(labels) == 1 and "(4, 4) float64" in labels[0]
    y = tops(svg)
    row_of_copy = [float(next(g.iter(f"{SVG}text")).get("y")) for g in copies if g.get("data-continues") == "A1"]
    assert y["A1"] < y["Z2"] and abs(row_of_copy[1] - y["Z2"]) < abs(row_of_copy[1] - y["A1"])


def test_the_lecture_circuits_draw_as_before_whatever_rows_says():
    for g in (lecture.first_circuit(), lecture.sigmoid_neuron(), lecture.patterns_circuit()):
        source = to_dot(g, legend=True).source
        assert source == to_dot(g, legend=True, rows=1).source == to_dot(g, legend=True, rows=4).source
        assert "cluster__row" not in source and "row0" not in source
    svg = to_svg(lecture.first_circuit(), legend=True)
    width, height = size(svg)
    assert width < 800 and height < 200  # 719 × 161 pt: one line, as on the lecture's slide


def test_one_row_is_the_layout_of_one_line_and_down_the_page_is_one_column_unless_asked():
    g = mlp()
    assert "cluster__row" not in to_dot(g, rows=1).source
    assert "cluster__row" not in to_dot(g, rankdir="TB").source
    assert to_dot(g, rankdir="TB", rows=2).source.count("subgraph cluster__row") == 2
    assert "next column" in to_dot(g, rankdir="TB", rows=2).source


def test_rows_asked_for_are_the_rows_drawn():
    for count in (2, 3, 4):
        assert to_dot(mlp(), rows=count).source.count("subgraph cluster__row") == count
    assert to_dot(mlp(), rows=9).source.count("subgraph cluster__row") == 4  # one top-level scope a row at most


@pytest.mark.parametrize("rows", [0, -1, 1.5, True, "2"])
def test_rows_that_are_not_a_positive_count_are_refused(rows):
    with pytest.raises(ValueError, match=r"rows must be a positive whole number"):
        to_dot(mlp(), rows=rows)


def test_the_layout_is_the_same_text_every_time():
    assert to_dot(mlp()).source == to_dot(mlp()).source
    assert to_dot(mlp(), collapse=True).source == to_dot(mlp(), collapse=True).source


# -- collapsed boxes --------------------------------------------------------------------------------


def box_lines(svg: str) -> dict[str, list[str]]:
    return {
        group.get("data-scope"): [text.text for text in group.iter(f"{SVG}text")]
        for group in ET.fromstring(svg).iter(f"{SVG}g")
        if "gg-box" in group.get("class", "")
    }


def test_a_collapsed_scalar_mlp_counts_its_parameters_in_a_box_of_bounded_width():
    svg = to_svg(scalar_mlp(), collapse=True, legend=True)
    width, _ = size(svg)
    assert width < 2000  # it was 53,298 pt: all 150 parameter names of layer1 on one line
    boxes = box_lines(svg)
    assert boxes["layer1"] == ["layer1", "270 gates: 120 *, 120 +, 30 relu", "150 parameters: 150 × () · 150 numbers"]
    assert boxes["layer3"][1:] == ["60 gates: 30 *, 30 +", "31 parameters: 31 × () · 31 numbers"]
    assert all(len(line) <= LINE_WIDTH for lines in boxes.values() for line in lines)


def test_a_collapsed_layer_names_its_few_parameters_with_their_shapes():
    boxes = box_lines(to_svg(fashion_mlp(), collapse=True))
    assert boxes["layer1"] == ["layer1", "2 gates: linear, relu", "W1 (64, 784), b1 (64,) · 50,240 numbers"]
    assert boxes["layer2"] == ["layer2", "1 gate: linear", "W2 (10, 64), b2 (10,) · 650 numbers"]


def long_named(repeat: int) -> ComputationalGraph:
    """A scope and twelve parameters whose names are ``repeat`` times as long as usual."""
    g = ComputationalGraph()
    x = g.input("x")
    with g.scope("a_long_scope_name_" * repeat):
        total = x
        for index in range(12):
            weight = g.parameter(f"weight_{index:03d}_" * repeat, np.ones((index % 3 + 1,)))
            total = total + g.add_gate(SumGate(), weight)
    g.forward(x=1.0)
    return g


def test_a_box_stays_as_wide_whatever_its_scope_and_parameters_are_called():
    svg = to_svg(long_named(6), collapse=True)
    assert size(svg)[0] == size(to_svg(long_named(60), collapse=True))[0] < 800
    lines = box_lines(svg)["a_long_scope_name_" * 6]
    assert all(len(line) <= LINE_WIDTH for line in lines) and lines[0].endswith("…")
    assert lines[1:] == ["24 gates: 12 Σ, 12 +", "12 parameters: 4 × (1,), 4 × (2,), 4 × (3,) · 24 numbers"]


def test_wrapped_lines_never_pass_the_width():
    items = [f"W{index} ({index}, {index * 7})" for index in range(40)] + ["x" * 200]
    lines = wrapped(items, 30)
    assert all(len(line) <= 30 for line in lines)
    assert " ".join(lines).startswith("W0 (0, 0), W1 (1, 7),") and lines[-1].endswith("…")


def test_many_kinds_of_gates_are_counted_past_the_first_six():
    kinds = [f"kind{index}" for index in range(10) for _ in range(2)]
    lines = contents_lines(kinds, [])
    assert lines[0].startswith("20 gates: 2 kind0, 2 kind1") and lines[-1].endswith("… (4 more)")
    assert all(len(line) <= LINE_WIDTH for line in lines)
