"""explain(): the last backward pass in words, with the lecture's numbers."""

import numpy as np
import pytest

from gates import AddGate, LinearGate, MaxGate, MultiplyGate
from graph import BackwardError, ComputationalGraph
from graph.views.explain import explain
from models.lecture import first_circuit


def block(text: str, name: str) -> str:
    """The paragraph about node ``name``."""
    (found,) = [part for part in text.split("\n\n") if part.startswith(f"{name} ")]
    return found


def test_first_circuit_step_by_step():
    text = explain(first_circuit())
    assert text.splitlines()[0] == "backward pass from f, seed dL/df = 1; nodes in reverse topological order"
    f = block(text, "f")
    assert f.splitlines()[0] == "f = q * z   MultiplyGate (*)   value -12"
    assert "  upstream  dL/df = 1" in f
    assert "  local     ∂f/∂q = z = -4, ∂f/∂z = q = 3" in f
    assert "  to q      1 × -4 = -4   (∂f/∂q = z)" in f
    assert "  to z      1 × 3 = 3   (∂f/∂z = q)" in f
    assert "dz/d" not in text and "∂z/∂x" not in text  # the circuit's own names, never placeholder letters
    q = block(text, "q")
    assert q.splitlines()[0] == "q = x + y   AddGate (+)   value 3"
    assert "  upstream  dL/dq = -4" in q
    assert "  to x      -4 × 1 = -4   (∂q/∂x = 1)" in q and "  to y      -4 × 1 = -4   (∂q/∂y = 1)" in q
    assert "  local     ∂q/∂x = 1, ∂q/∂y = 1" in q  # not "= 1 = 1"
    assert block(text, "x") == "x   input   value -2\n  dL/dx = -4"
    assert block(text, "y") == "y   input   value 5\n  dL/dy = -4"
    assert block(text, "z") == "z   input   value -4\n  dL/dz = 3"


def test_nodes_come_in_reverse_topological_order_first_created_first():
    # as the lecture walks it: f, then z (its gradient is final), then q and what feeds it
    text = explain(first_circuit())
    starts = [part.split(" ")[0] for part in text.split("\n\n")[1:]]
    assert starts == ["f", "z", "q", "x", "y"]


def test_sigmoid_neuron_names_every_step_with_the_lectures_numbers():
    g = ComputationalGraph()
    w0, x0, w1, x1, w2 = (g.input(name) for name in ("w0", "x0", "w1", "x1", "w2"))
    1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    g.forward(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    g.backward()
    text = g.explain()
    steps = {
        "div_1": ["value 0.7311", "dL/d(div_1) = 1", "to add_3 1 × -0.5344 = -0.5344", "to const_2 nothing"],
        "add_3": ["value 1.368", "dL/d(add_3) = -0.5344", "to exp_1 -0.5344 × 1 = -0.5344"],
        "exp_1": ["value 0.3679", "to neg_1 -0.5344 × 0.3679 = -0.1966 (∂exp_1/∂neg_1 = exp(neg_1) = exp_1)"],
        "neg_1": ["value -1", "to add_2 -0.1966 × -1 = 0.1966"],
        "add_2": ["to add_1 0.1966 × 1 = 0.1966", "to w2 0.1966 × 1 = 0.1966"],
        "mul_1": ["value -2", "to w0 0.1966 × -1 = -0.1966", "to x0 0.1966 × 2 = 0.3932"],
        "mul_2": ["value 6", "to w1 0.1966 × -2 = -0.3932", "to x1 0.1966 × -3 = -0.5898"],
    }
    for name, lines in steps.items():
        paragraph = " ".join(block(text, name).split())  # the columns' padding aside
        for line in lines:
            assert line in paragraph, (name, line)
    leaves = {"w0": "-0.1966", "x0": "0.3932", "w1": "-0.3932", "x1": "-0.5898", "w2": "0.1966"}
    for name, grad in leaves.items():
        assert block(text, name).endswith(f"dL/d{name} = {grad}")


def test_the_patterns_are_named_and_max_routes_nothing_to_the_loser():
    g = ComputationalGraph()
    x, y, z, w = (g.input(name) for name in "xyzw")
    product = g.add_gate(MultiplyGate(), x, y, name="xy")
    largest = g.add_gate(MaxGate(), z, w, name="largest")
    total = g.add_gate(AddGate(), product, largest, name="total")
    g.add_gate(MultiplyGate(), total, 2.0, name="f")
    g.forward(x=3.0, y=-4.0, z=2.0, w=-1.0)
    g.backward()
    text = explain(g)
    assert "pattern   gradient router" in block(text, "largest")
    assert "to z      2 × 1 = 2" in block(text, "largest")
    assert "to w      2 × 0 = 0" in block(text, "largest")
    assert "pattern   gradient distributor" in block(text, "total")
    assert "pattern   gradient switcher" in block(text, "xy")
    assert "to x      2 × -4 = -8" in block(text, "xy")


def test_fan_out_shows_each_branch_and_their_sum():
    g = ComputationalGraph()
    x = g.input("x")
    square = g.add_gate(MultiplyGate(), x, x, name="square")
    g.add_gate(AddGate(), square, x, name="f")  # f = x² + x
    g.forward(x=3.0)
    g.backward()
    assert block(explain(g), "x") == (
        "x   input   value 3\n"
        "  dL/dx = Σ 3 (from square as input 1) + 3 (from square as input 2) + 1 (from f) = 7"
        "   (fan-out: the branches' gradients add)"
    )


def test_a_zero_upstream_still_reads():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    g.add_gate(MultiplyGate(), x, y, name="f")
    g.forward(x=3.0, y=-4.0)
    g.backward(grad=0.0)
    # the local gradient comes from the trace, not from dividing what was sent by a zero upstream
    assert "to x      0 × -4 = 0   (∂f/∂x = y)" in explain(g)


def test_arrays_are_described_by_shape_and_dtype():
    g = ComputationalGraph()
    data = g.input("X", requires_grad=False)
    weight = g.parameter("W", np.ones((3, 100), dtype=np.float32))
    bias = g.parameter("b", np.zeros(3, dtype=np.float32))
    g.add_gate(LinearGate(), data, weight, bias, name="Z").sum()
    g.forward(X=np.ones((8, 100), dtype=np.float32))
    g.backward()
    text = explain(g)
    z = block(text, "Z")
    assert "value (8, 3) float32" in z
    assert "to X      nothing (needs no gradient)" in z
    assert "to W      (8, 3) float32 × (∂L/∂W = ∂Zᵀ X) → (3, 100) float32" in z
    assert "to b      (8, 3) float32 × (∂L/∂b = Σ_rows ∂Z) → (3,) float32" in z
    assert "  local     ∂L/∂X = ∂Z W, ∂L/∂W = ∂Zᵀ X, ∂L/∂b = Σ_rows ∂Z" in z  # the chapter's layer, at shape level
    assert text.endswith("not reached (no gradient needed here): X")
    assert "1, 1, 1" not in text  # no array is written out


def test_precision_is_an_option():
    g = first_circuit()
    g.forward(x=-2.0, y=5.0, z=1 / 3)
    g.backward()
    assert "dL/dz = 3" in explain(g, precision=2)
    assert "to z      1 × 3 = 3" in explain(g)
    assert "value 0.3333" in explain(g) and "value 0.33333333" in explain(g, precision=8)


def test_explain_needs_a_backward_since_the_last_forward():
    g = ComputationalGraph()
    f = g.input("x") * 2.0
    with pytest.raises(BackwardError, match=r"run forward\(\) and backward\(\) first"):
        explain(g)
    g.forward(x=1.0)
    with pytest.raises(BackwardError):
        g.explain()
    g.backward()
    assert f.name in g.explain()
    g.forward(x=2.0)  # clears the gradients of the earlier backward
    with pytest.raises(BackwardError):
        g.explain()


def test_explain_is_deterministic():
    assert explain(first_circuit()) == explain(first_circuit())
