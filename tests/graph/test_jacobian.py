"""Dense Jacobians: diagonal for element-wise gates, the same by forward and reverse mode, cheaper mode chosen."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from gates import (
    AbsGate,
    ExpGate,
    LeakyReLUGate,
    LinearGate,
    LogGate,
    MatMulGate,
    NegateGate,
    PowerGate,
    ReLUGate,
    SigmoidGate,
    SoftmaxCrossEntropyGate,
    SoftmaxGate,
    SqrtGate,
    TanhGate,
)
from graph import ComputationalGraph, DTypeError, jacobian, numerical_gradient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# element-wise gate, its derivative as a function of x
ELEMENT_WISE = [
    (ExpGate, np.exp),
    (LogGate, lambda x: 1 / x),
    (SqrtGate, lambda x: 0.5 / np.sqrt(x)),
    (AbsGate, np.sign),
    (SigmoidGate, lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    (TanhGate, lambda x: 1 - np.tanh(x) ** 2),
    (ReLUGate, lambda x: (x > 0).astype(float)),
    (lambda: LeakyReLUGate(0.1), lambda x: np.where(x > 0, 1.0, 0.1)),
    (NegateGate, lambda x: -np.ones_like(x)),
    (lambda: PowerGate(3), lambda x: 3 * x**2),
]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize(("factory", "derivative"), ELEMENT_WISE, ids=lambda p: getattr(p, "__name__", ""))
def test_an_element_wise_gates_jacobian_is_diagonal(factory, derivative, mode):
    x = np.array([[0.3, 1.7, 0.9], [2.2, 0.6, 1.1]])
    if factory not in (LogGate, SqrtGate):
        x = x * np.array([1.0, -1.0, 1.0])
    matrix = jacobian(factory(), x, mode=mode)
    assert matrix.shape == (6, 6)
    np.testing.assert_allclose(matrix, np.diag(derivative(x).reshape(-1)), rtol=1e-12)


def test_softmax_jacobian_is_full_and_symmetric():
    x = np.array([0.5, -1.0, 2.0, 0.0])
    z = np.exp(x) / np.exp(x).sum()
    matrix = jacobian(SoftmaxGate(), x)
    np.testing.assert_allclose(matrix, np.diag(z) - np.outer(z, z), atol=1e-15)
    np.testing.assert_allclose(matrix.sum(axis=0), 0, atol=1e-15)


def test_matmul_jacobians_are_kronecker_blocks():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    grad_x, grad_w = jacobian(MatMulGate(), x, w, wrt=(0, 1))
    np.testing.assert_allclose(grad_x, np.kron(np.eye(2), w.T))  # row (i, j) of Z = X W: d/dX[i, k] = W[k, j]
    np.testing.assert_allclose(grad_w, np.kron(x, np.eye(4)))  # d Z[i, j] / d W[k, l] = X[i, k] δ_jl


@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_gate_jacobians_by_both_modes_match_numerical_differences(wrt):
    rng = np.random.default_rng(wrt)
    inputs = [rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)]
    forward_mode = jacobian(LinearGate(), *inputs, wrt=wrt, mode="forward")
    reverse_mode = jacobian(LinearGate(), *inputs, wrt=wrt, mode="reverse")
    np.testing.assert_allclose(forward_mode, reverse_mode, rtol=1e-12, atol=1e-15)
    for row in range(forward_mode.shape[0]):
        upstream = np.zeros((4, 2))
        upstream.reshape(-1)[row] = 1
        numeric = numerical_gradient(lambda *xs: LinearGate().forward(*xs), *inputs, upstream=upstream)[wrt]
        np.testing.assert_allclose(forward_mode[row], numeric.reshape(-1), rtol=1e-6, atol=1e-8)


def layer_graph(n_in: int, n_out: int):
    rng = np.random.default_rng(1)
    g = ComputationalGraph()
    x = g.input("x")
    w, b = g.parameter("W", rng.standard_normal((n_out, n_in))), g.parameter("b", rng.standard_normal(n_out))
    (w @ x + b).sigmoid()
    return g, {"x": rng.standard_normal(n_in)}


def test_graph_jacobians_by_both_modes_agree_and_auto_takes_the_fewer_passes(monkeypatch):
    g, feeds = layer_graph(2, 6)
    backward_calls = []
    original_backward = g.backward
    monkeypatch.setattr(g, "backward", lambda *a, **k: backward_calls.append(1) or original_backward(*a, **k))
    by_forward = jacobian(g, feeds, wrt="x", mode="forward")
    by_reverse = jacobian(g, feeds, wrt="x", mode="reverse")
    assert len(backward_calls) == 6  # one backward per output element
    np.testing.assert_allclose(by_forward, by_reverse, rtol=1e-12)
    backward_calls.clear()
    np.testing.assert_allclose(jacobian(g, feeds, wrt="x"), by_forward)
    assert not backward_calls  # 2 inputs < 6 outputs: two jvp columns instead of six backward rows

    g, feeds = layer_graph(6, 2)
    original_backward = g.backward
    monkeypatch.setattr(g, "backward", lambda *a, **k: backward_calls.append(1) or original_backward(*a, **k))
    jacobian(g, feeds, wrt="x")
    assert len(backward_calls) == 2  # 2 outputs < 6 inputs: reverse mode


def test_graph_jacobian_with_respect_to_everything():
    g, feeds = layer_graph(3, 2)
    found = jacobian(g, feeds)
    assert {name: m.shape for name, m in found.items()} == {"x": (2, 3), "W": (2, 6), "b": (2, 2)}
    z = g.forward(feeds)
    np.testing.assert_allclose(found["b"], np.diag(z * (1 - z)))
    np.testing.assert_allclose(found["W"], np.kron(np.diag(z * (1 - z)), feeds["x"]))


def test_scalar_graph_jacobian_is_the_gradient_row():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    (x + y) * z
    feeds = {"x": -2.0, "y": 5.0, "z": -4.0}
    found = jacobian(g, feeds, wrt=["x", "y", "z"])
    assert {name: m.tolist() for name, m in found.items()} == {"x": [[-4.0]], "y": [[-4.0]], "z": [[3.0]]}


def test_a_data_input_is_differentiated_by_forward_mode():
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    x.exp().sum()
    feeds = {"x": np.array([0.0, 1.0])}
    np.testing.assert_allclose(jacobian(g, feeds, wrt="x"), [[1.0, np.e]])
    with pytest.raises(ValueError, match=r"requires_grad=False.*mode='forward'"):
        jacobian(g, feeds, wrt="x", mode="reverse")


def test_jacobian_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        jacobian(ExpGate(), np.ones(2), mode="sideways")
    with pytest.raises(DTypeError, match="input 1 of SoftmaxCrossEntropyGate is not floating point"):
        jacobian(SoftmaxCrossEntropyGate(), np.ones((2, 3)), np.array([0, 1]), wrt=1)
    with pytest.raises(IndexError, match="ExpGate has 1 inputs; wrt=1"):
        jacobian(ExpGate(), np.ones(2), wrt=1)
    with pytest.raises(TypeError, match="needs a Gate or a ComputationalGraph"):
        jacobian(np.exp, np.ones(2))


def test_a_graph_with_several_outputs_needs_one_named():
    g = ComputationalGraph()
    x = g.input("x")
    doubled, shifted = x * 2.0, x + 1.0
    feeds = {"x": np.ones(2)}
    with pytest.raises(ValueError, match=r"several outputs .* name one: jacobian\(..., output=...\)"):
        jacobian(g, feeds, wrt="x")
    np.testing.assert_allclose(jacobian(g, feeds, wrt="x", output=doubled), 2 * np.eye(2))
    np.testing.assert_allclose(jacobian(g, feeds, wrt=["x"], output=shifted)["x"], np.eye(2))
    with pytest.raises(ValueError, match=r"with respect to gate .*only inputs and parameters"):
        jacobian(g, feeds, wrt=doubled.name, output=shifted)


def test_the_jacobians_example_runs(capsys):
    runpy.run_path(str(EXAMPLES / "jacobians.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "element-wise gates: every off-diagonal entry is zero: True" in out
    assert "equals np.kron(np.eye(2), W.T): True" in out
    assert "reverse mode (4 backward passes) gives the same matrix: True" in out
