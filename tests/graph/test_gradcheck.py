"""Gradient checking: passes on correct gates and graphs, reports wrong ones usefully."""

import numpy as np
import pytest

from gates import Gate, MultiplyGate, SigmoidGate
from graph import ComputationalGraph, GateContractError, GradientCheckError, check_gate, check_graph, numerical_gradient


class WrongCubeGate(Gate):
    """x³ with a wrong local gradient (2x² instead of 3x²)."""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, upstream):
        return (upstream * 2 * self.x**2,)


class TransposedGradientGate(Gate):
    """x @ y whose dx forgets a transpose: right only when y is symmetric."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x @ y

    def backward(self, upstream):
        return (upstream @ self.y, self.x.T @ upstream)


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 0.5])
    (grad,) = numerical_gradient(lambda v: np.sum(v**2), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # inputs are never changed


def test_check_gate_returns_small_errors_for_a_correct_gate():
    errors = check_gate(SigmoidGate(), np.linspace(-3, 3, 7))
    assert list(errors) == [0] and errors[0] < 1e-9


def test_check_gate_report_names_input_element_both_values_and_relative_error():
    with pytest.raises(GradientCheckError) as failure:
        check_gate(WrongCubeGate(), np.array([1.0, 2.0, 3.0]))
    message = str(failure.value)
    assert "WrongCubeGate input 0, element (" in message
    assert "analytic" in message and "numeric" in message
    assert "relative error 0.333" in message  # 2x² against 3x²
    assert "3 of 3 elements differ" in message
    assert isinstance(failure.value, AssertionError)


def test_random_upstream_catches_a_missing_transpose_that_ones_would_hide():
    x, y = np.random.default_rng(0).standard_normal((2, 3, 3))
    with pytest.raises(GradientCheckError, match="TransposedGradientGate input 0"):
        check_gate(TransposedGradientGate(), x, y)


def test_check_gate_blames_a_wrong_number_of_gradients():
    class OneGradientGate(MultiplyGate):
        def backward(self, upstream):
            return (upstream * self.y,)

    with pytest.raises(GateContractError, match=r"OneGradientGate\.backward must return a tuple of 2 gradients"):
        check_gate(OneGradientGate(), 1.0, 2.0)


def test_check_graph_on_a_small_network_and_parameters_come_back_unchanged():
    rng = np.random.default_rng(1)
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    w = g.parameter("W", rng.standard_normal((3, 4)).astype(np.float32))
    b = g.parameter("b", np.zeros(3, dtype=np.float32))
    ((x @ w.T + b).tanh() ** 2).mean()
    before = w.value.copy()
    feeds = {"x": rng.standard_normal((5, 4)).astype(np.float32)}
    errors = check_graph(g, feeds)
    assert sorted(errors) == ["W", "b"] and max(errors.values()) < 1e-8
    assert w.value.dtype == np.float32 and np.array_equal(w.value, before)
    assert g.backward()["W"].dtype == np.float32  # the graph is left as after a forward of the original feeds


def test_check_graph_catches_a_wrong_gate_inside_a_graph():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(WrongCubeGate(), x.tanh()).sum()
    with pytest.raises(GradientCheckError, match=r"gradient of 'x', element \("):
        check_graph(g, {"x": np.array([0.3, -0.2])})
