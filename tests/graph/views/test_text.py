"""The views' shared text: numbers, summaries, chain-rule lines and fan-out sums, and how views read a pass."""

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from gates import AddGate, BatchNorm2DGate, DropoutGate, Gate, LinearGate, MultiplyGate
from graph import ComputationalGraph, NodeNotFoundError
from graph.views.diagram import to_svg
from graph.views.record import LastPass
from graph.views.text import (
    brief,
    chain_rule,
    fan_out_sum,
    format_value,
    grad_name,
    local_formula,
    local_formulas,
    node_formulas,
    output_names,
)
from models import lecture

VIEWS = Path(__file__).resolve().parents[3] / "graph" / "views"


# -- numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-12.0, "-12"),
        (3.0, "3"),
        (0.7310585786300049, "0.7311"),
        (-0.19661193324148185, "-0.1966"),
        (-0.0, "0"),
        (np.float32(1.5), "1.5"),
        (np.int64(7), "7"),
        (np.True_, "1"),
        (np.complex128(1 - 2j), "1-2j"),
        (float("nan"), "nan"),
        (1.0e-9, "1e-09"),
        (np.array([1.0, -2.5, 3.0]), "[1, -2.5, 3]"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), "[[1, 2], [3, 4]]"),
        (np.ones((64, 10), dtype=np.float32), "(64, 10) float32 mean 1 norm 25.3"),
        (np.zeros((0, 3)), "(0, 3) float64"),
        (None, ""),
    ],
)
def test_format_value(value, expected):
    assert format_value(value) == expected


def test_format_value_precision_and_size_limit_are_options():
    assert format_value(np.pi, precision=2) == "3.1"
    assert format_value(np.pi, precision=8) == "3.1415927"
    assert format_value(np.arange(8.0)).startswith("(8,) float64 mean 3.5")
    assert format_value(np.arange(8.0), max_elements=8) == "[0, 1, 2, 3, 4, 5, 6, 7]"


def test_format_value_of_infinities_and_nan_does_not_warn():
    # RuntimeWarnings are errors in this suite: inf - inf inside the mean must stay quiet
    assert format_value(np.array([np.inf, -np.inf, 1.0, 2.0, 3.0, 4.0, 5.0])).endswith("mean nan norm inf")


def test_brief_writes_scalars_as_numbers_and_arrays_by_shape_only():
    assert brief(0.125) == "0.125" and brief(np.float32(2.0)) == "2"
    assert brief(np.ones((1,))) == "(1,) float64"  # one element, still an array
    assert brief(None) == "none"


@pytest.mark.parametrize(
    ("name", "expected"), [("x", "dL/dx"), ("W1", "dL/dW1"), ("add_1", "dL/d(add_1)"), ("a b", "dL/d(a b)")]
)
def test_grad_name(name, expected):
    assert grad_name(name) == expected


# -- chain rule and fan-out ------------------------------------------------------------------------------


def test_the_chain_rule_writes_the_local_gradient_as_its_formula_whatever_the_upstream():
    assert chain_rule(2.0, -8.0, "dz/dx = y") == "2 × (dz/dx = y) = -8"
    assert chain_rule(0.0, 0.0, "dz/dx = y") == "0 × (dz/dx = y) = 0"  # a zero upstream divides nothing
    assert chain_rule(np.float32(1.5), np.float32(3.0), "", precision=2) == "1.5 × (local) = 3"
    line = chain_rule(np.ones((8, 3), dtype=np.float32), np.ones((3, 100), dtype=np.float32), "dZ/dW = A")
    assert line == "(8, 3) float32 × (dZ/dW = A) → (3, 100) float32"


def test_fan_out_sums_list_their_parts_say_how_many_arrived_and_name_who_sent_them():
    assert fan_out_sum([3.0, 3.0, 2.0], 8.0) == "Σ 3 + 3 + 2 = 8"
    assert fan_out_sum([3.0], 3.0, expected=3) == "Σ 3 = 3 (so far: 1 of 3)"
    assert fan_out_sum([3.0, 3.0, 2.0], 8.0, expected=3) == "Σ 3 + 3 + 2 = 8 (all: 3 of 3)"
    parts = [np.ones(8), np.ones(8)]
    assert fan_out_sum(parts, parts[0] + parts[1]) == "Σ 2 branches = (8,) float64 mean 2 norm 5.657"
    named = fan_out_sum(parts, parts[0] + parts[1], brief, sources=["a", "b as y"])
    assert named == "Σ (8,) float64 (from a) + (8,) float64 (from b as y) = (8,) float64"


def test_output_names_take_a_name_a_node_or_a_list_and_refuse_unknown_names():
    g = ComputationalGraph()
    x = g.input("x")
    y = g.add_gate(MultiplyGate(), x, 2.0, name="y")
    assert output_names(g, None) == ["y"] and output_names(g, y) == ["y"] and output_names(g, ("x", y)) == ["x", "y"]
    with pytest.raises(NodeNotFoundError):
        output_names(g, "nope")


# -- reading the last pass ---------------------------------------------------------------------------------


def test_the_last_pass_lists_what_each_node_received_one_entry_per_use():
    g = ComputationalGraph()
    x = g.input("x")
    square = g.add_gate(MultiplyGate(), x, x, name="square")
    g.add_gate(AddGate(), square, x, name="f")  # f = x² + x
    g.forward(x=3.0)
    g.backward()
    last = LastPass(g)
    assert [(part.target.name, part.position, float(part.sent)) for part in last.received(x)] == [
        ("square", 0, 3.0),
        ("square", 1, 3.0),
        ("f", 1, 1.0),
    ]
    assert [node.name for node in last.backward_order] == ["f", "square", "x"]
    assert [node.name for node in last.forward_order] == ["x", "square", "f"]


def test_data_receives_nothing_and_a_graph_before_backward_has_no_backward_order():
    g = ComputationalGraph()
    data, weight, bias = g.input("X", requires_grad=False), g.parameter("W", np.ones((2, 3))), g.parameter("b", 0.0)
    z = g.add_gate(LinearGate(), data, weight, bias, name="Z")
    g.forward(X=np.ones((4, 3)))
    last = LastPass(g)
    assert last.backward_order == [] and last.sent(z, 1) is None
    g.backward(grad=np.ones((4, 2)))
    last = LastPass(g)
    assert last.sent(z, 0) is None and last.received(data) == []
    assert np.array_equal(last.sent(z, 1), np.full((2, 3), 4.0))


def _reads(path: Path) -> list[str]:
    """Where a module reads a node's value, gradient or what its gate sent, other than by calling a method."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return [
        f"{path.name}:{node.lineno} .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("value", "grad", "input_grads") and id(node) not in called
    ]


def test_only_the_record_reads_values_and_gradients_off_the_nodes():
    # ONNX export reads parameters' and constants' values to write them into the model, not a pass
    views = [path for path in VIEWS.glob("*.py") if path.name not in ("record.py", "onnx_export.py")]
    assert {path.name for path in views} >= {"text.py", "diagram.py", "explain.py", "animate.py"}
    assert [line for path in views for line in _reads(path)] == []
    assert _reads(VIEWS / "record.py")  # the one place that does


def test_no_view_imports_a_private_name():
    private = []
    for path in [*VIEWS.glob("*.py"), VIEWS.parent / "animate.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                private += [f"{path.name}: {alias.name}" for alias in node.names if alias.name.startswith("_")]
    assert private == []


# -- local gradients in the graph's names ----------------------------------------------------------------

_ARGUMENTS = {"PowerGate": (3,), "ReshapeGate": ((2, 3),), "MaxPool2DGate": (2,), "AvgPool2DGate": (2,)}
_ARGUMENTS |= {"BatchNorm2DGate": (4,), "MaxPool2DRouteGate": (2,), "MaxPool2DGatherGate": (2,)}
_ARGUMENTS |= {"AvgPool2DSpreadGate": (2,), "DropoutMaskGate": (DropoutGate(),)}
_ARGUMENTS |= {"BatchNormModeGate": (BatchNorm2DGate(4), True), "BatchNormEvalGate": (BatchNorm2DGate(4),)}


def _every_gate():
    import gates
    import gates.conv_gradient
    import gates.gradient

    names = dict.fromkeys([*gates.__all__, *gates.gradient.__all__, *gates.conv_gradient.__all__])
    modules = (gates, gates.gradient, gates.conv_gradient)
    found = [next(getattr(m, name) for m in modules if hasattr(m, name)) for name in names]
    return [cls for cls in found if inspect.isclass(cls) and issubclass(cls, gates.Gate) and cls is not gates.Gate]


@pytest.mark.parametrize("cls", _every_gate(), ids=lambda cls: cls.__name__)
def test_every_gates_template_fills_with_names_for_its_arity(cls):
    gate = cls(*_ARGUMENTS.get(cls.__name__, ()))
    arity = len([p for p in inspect.signature(gate.forward).parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD])
    assert isinstance(gate.local_gradient, tuple) and len(gate.local_gradient) == arity
    inputs = [f"in_{i}" for i in range(arity)]
    filled = local_formulas(gate, "out_", inputs)
    assert filled and all("{" not in text and "}" not in text for text in filled)
    assert all("out_" in text for text in filled)  # each says what it is the derivative of
    assert [local_formula(gate, i, arity, "out_", inputs) for i in range(arity) if gate.local_gradient[i]] == filled
    for position, entry in enumerate(gate.local_gradient):  # each entry is about its own input
        assert (f"in_{position}" in local_formula(gate, position, arity, "out_", inputs)) == bool(entry)


def test_a_max_gate_reads_in_its_inputs_names_with_its_values():
    g = ComputationalGraph()
    z, w = g.input("z"), g.input("w")
    m = z.maximum(w).named("m")
    g.forward(z=2.0, w=-1.0)
    g.backward()
    assert node_formulas(LastPass(g), m) == ["∂m/∂z = [z ≥ w] = 1", "∂m/∂w = [z < w] = 0"]
    text = g.explain()
    assert "  local     ∂m/∂z = [z ≥ w] = 1, ∂m/∂w = [z < w] = 0" in text
    assert "to z      1 × 1 = 1   (∂m/∂z = [z ≥ w])" in text
    assert "[x ≥ y]" not in text and "dz/dx" not in text


def test_without_a_backward_the_formulas_carry_no_value():
    g = ComputationalGraph()
    q, z = g.input("q"), g.input("z")
    f = (q * z).named("f")
    g.forward(q=3.0, z=-4.0)
    assert node_formulas(LastPass(g), f) == ["∂f/∂q = z", "∂f/∂z = q"]


def test_a_users_gate_with_plain_text_shows_it_as_before():
    class SquareGate(Gate):
        symbol = "x²"
        local_gradient = "dz/dx = 2x"

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, upstream):
            return (2 * self.x * upstream,)

    g = ComputationalGraph()
    x = g.input("x")
    s = g.add_gate(SquareGate(), x, name="s")
    g.forward(x=3.0)
    g.backward()
    assert node_formulas(LastPass(g), s) == ["dz/dx = 2x"]
    assert "  local     dz/dx = 2x" in g.explain() and "to x      1 × 6 = 6   (dz/dx = 2x)" in g.explain()
    assert "dz/dx = 2x" in g.to_dot().source


def test_the_lecture_circuits_svg_writes_its_own_names():
    svg = to_svg(lecture.first_circuit())
    assert "∂f/∂q = z = -4" in svg and "∂f/∂z = q = 3" in svg and "∂q/∂x = 1" in svg
    assert "dz/dx" not in svg and "∂z/∂x" not in svg


def test_a_layer_reads_as_the_chapter_at_shape_level():
    formulas = local_formulas(LinearGate(), "Z", ["A", "W", "b"])
    assert formulas == ["∂L/∂A = ∂Z W", "∂L/∂W = ∂Zᵀ A", "∂L/∂b = Σ_rows ∂Z"]


def test_an_edges_tooltip_gives_the_local_gradient_in_the_graphs_names():
    source = lecture.first_circuit().to_dot().source
    assert 'tooltip="z → f (∂f/∂z = q)"' in source and 'tooltip="q → f (∂f/∂q = z)"' in source
    assert "(y)" not in source
