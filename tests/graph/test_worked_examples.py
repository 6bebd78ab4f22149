"""Every worked example of the two seed texts, reproduced by the graph to 1e-9."""

import numpy as np
import pytest

from gates import (
    AddGate,
    BinaryCrossEntropyGate,
    LinearGate,
    MaxGate,
    MultiplyGate,
    SigmoidGate,
)
from graph import ComputationalGraph

# The lecture's sigmoid neuron: f = σ(w0 x0 + w1 x1 + w2) at w = [2, -3, -3], x = [-1, -2].
NEURON_FEEDS = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
# As the lecture prints them (f to 11 decimals, gradients to 8) ...
NEURON_F = 0.73105857863
NEURON_GRADS = {"w0": -0.19661193, "x0": 0.39322387, "w1": -0.39322387, "x1": -0.58983580, "w2": 0.19661193}
# ... and exactly: dσ/dz = σ(1 - σ) at z = 1, times the other input of each product.
_SLOPE = (1 / (1 + np.exp(-1.0))) * (1 - 1 / (1 + np.exp(-1.0)))
NEURON_EXACT = {"w0": -_SLOPE, "x0": 2 * _SLOPE, "w1": -2 * _SLOPE, "x1": -3 * _SLOPE, "w2": _SLOPE}


def assert_grads(actual, expected, tol=1e-9):
    assert set(actual) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(actual[name], value, atol=tol, rtol=0, err_msg=name)


def test_first_circuit_with_explicit_gates():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = g.add_gate(AddGate(), x, y, name="q")
    g.add_gate(MultiplyGate(), q, z, name="f")
    assert g.forward(x=-2.0, y=5.0, z=-4.0) == -12.0
    assert g.backward() == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert g["q"].value == 3.0 and g["q"].grad == -4.0
    assert g["f"].grad == 1.0  # the trivial gradient of the output with respect to itself
    assert g["x"].grad == -4.0


def test_first_circuit_with_operator_sugar():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    f = (x + y) * z
    assert g.forward({"x": -2.0, "y": 5.0, "z": -4.0}) == -12.0
    assert g.backward() == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert f.value == -12.0 and f.inputs[0].grad == -4.0


def neuron_graph(fused: bool) -> ComputationalGraph:
    g = ComputationalGraph()
    w0, x0, w1, x1, w2 = (g.input(name) for name in NEURON_FEEDS)
    dot = w0 * x0 + w1 * x1 + w2
    if fused:
        g.add_gate(SigmoidGate(), dot, name="f")
    else:  # the lecture's drawing: *-1, exp, +1, 1/x
        1 / ((dot * -1).exp() + 1)
    return g


@pytest.mark.parametrize("fused", [False, True], ids=["primitive gates", "SigmoidGate"])
def test_sigmoid_neuron(fused):
    g = neuron_graph(fused)
    assert abs(g.forward(NEURON_FEEDS) - NEURON_F) < 1e-9
    grads = g.backward()
    assert {name: round(value, 8) for name, value in grads.items()} == NEURON_GRADS
    assert_grads(grads, NEURON_EXACT, tol=1e-15)


def test_sigmoid_neuron_primitive_and_fused_agree_exactly_enough():
    primitive, fused = neuron_graph(False), neuron_graph(True)
    assert primitive.forward(NEURON_FEEDS) == pytest.approx(fused.forward(NEURON_FEEDS), abs=1e-15)
    assert_grads(primitive.backward(), fused.backward(), tol=1e-15)


def test_sigmoid_neuron_vectorised_like_the_lectures_neuron_class():
    """w = [2, -3, -3] and x = [-1, -2]: the bias rides on a constant 1 appended to x."""
    g = ComputationalGraph()
    w, x = g.input("w"), g.input("x")
    (w @ x).sigmoid()
    f = g.forward(w=np.array([2.0, -3.0, -3.0]), x=np.array([-1.0, -2.0, 1.0]))
    assert abs(f - NEURON_F) < 1e-9
    grads = g.backward()
    np.testing.assert_array_equal(grads["w"].round(8), [-0.19661193, -0.39322387, 0.19661193])
    np.testing.assert_array_equal(grads["x"][:2].round(8), [0.39322387, -0.58983580])
    np.testing.assert_allclose(grads["x"][:2], [NEURON_EXACT["x0"], NEURON_EXACT["x1"]], atol=1e-15)


def test_patterns_circuit_add_distributes_max_routes_mul_switches():
    """f = 2 (x y + max(z, w)) at x=3, y=-4, z=2, w=-1."""
    g = ComputationalGraph()
    x, y, z, w = (g.input(name) for name in "xyzw")
    product = g.add_gate(MultiplyGate(), x, y, name="xy")
    largest = g.add_gate(MaxGate(), z, w, name="max")
    total = g.add_gate(AddGate(), product, largest, name="sum")
    g.add_gate(MultiplyGate(), total, 2.0, name="f")
    assert g.forward(x=3.0, y=-4.0, z=2.0, w=-1.0) == -20.0
    assert g.backward() == {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}
    assert g["xy"].grad == g["max"].grad == 2.0  # add: the same gradient to both branches


def test_patterns_circuit_with_sugar():
    g = ComputationalGraph()
    x, y, z, w = (g.input(name) for name in "xyzw")
    2 * (x * y + z.maximum(w))
    assert g.forward(x=3.0, y=-4.0, z=2.0, w=-1.0) == -20.0
    assert g.backward() == {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}


def test_gradients_add_up_where_a_node_fans_out():
    """a = 1; b = a + a; c = b + b gives dc/da = 4."""
    g = ComputationalGraph()
    a = g.input("a")
    b = a + a
    b + b
    assert g.forward(a=1.0) == 4.0
    assert g.backward() == {"a": 4.0}
    assert b.grad == 2.0


def test_chapters_closed_form_two_layer_gradients_equal_the_graphs():
    """3-2-3 network, sigmoid everywhere, BCE: the chapter's hand-derived ∂W, ∂b."""
    rng = np.random.default_rng(0)
    n = 7
    a0 = rng.standard_normal((n, 3))
    y = rng.integers(0, 2, (n, 3)).astype(float)
    w1, b1 = rng.standard_normal((2, 3)), rng.standard_normal(2)
    w2, b2 = rng.standard_normal((3, 2)), rng.standard_normal(3)

    g = ComputationalGraph()
    x, labels = g.input("A0", requires_grad=False), g.input("Y", requires_grad=False)
    p = {name: g.parameter(name, value) for name, value in {"W1": w1, "b1": b1, "W2": w2, "b2": b2}.items()}
    a1 = g.add_gate(LinearGate(), x, p["W1"], p["b1"], name="Z1").sigmoid()
    a2 = (a1 @ p["W2"].T + p["b2"]).sigmoid()  # layer 2 written out as Z = A Wᵀ + 1 bᵀ
    g.add_gate(BinaryCrossEntropyGate("batchmean"), a2, labels, name="loss")
    g.forward(A0=a0, Y=y)
    grads = g.backward()

    big_a1 = 1 / (1 + np.exp(-(a0 @ w1.T + b1)))
    big_a2 = 1 / (1 + np.exp(-(big_a1 @ w2.T + b2)))
    dz2 = big_a2 - y
    dz1 = dz2 @ w2 * big_a1 * (1 - big_a1)
    expected = {
        "W2": dz2.T @ big_a1 / n,
        "b2": dz2.mean(axis=0),
        "W1": dz1.T @ a0 / n,
        "b1": dz1.mean(axis=0),
    }
    assert_grads(grads, expected, tol=1e-12)
    np.testing.assert_allclose(a2.value, big_a2, rtol=1e-13)
