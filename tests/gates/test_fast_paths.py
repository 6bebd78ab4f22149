"""The gates' fast paths give what the general paths give, with the layout and types the speed relies on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gates import (
    AddGate,
    LinearGate,
    MatMulGate,
    MultiplyGate,
    ReLUGate,
    SoftmaxCrossEntropyGate,
    TanhGate,
    TransposeGate,
)
from gates.base import unbroadcast
from graph import ComputationalGraph


def test_a_transposed_operand_gets_its_gradient_in_its_own_layout():
    rng = np.random.default_rng(0)
    x, w, upstream = rng.random((5, 4)), rng.random((3, 4)), rng.random((5, 3))
    gate = MatMulGate()
    gate.forward(x, w.T)
    grad_x, grad_wt = gate.backward(upstream)
    assert grad_wt.flags.f_contiguous and not grad_wt.flags.c_contiguous
    np.testing.assert_allclose(grad_wt, x.T @ upstream, rtol=1e-14)
    np.testing.assert_allclose(grad_x, upstream @ w, rtol=1e-14)
    assert grad_x.flags.c_contiguous  # x is C-ordered: its gradient too


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_weight_used_as_w_dot_t_receives_a_c_ordered_gradient(dtype):
    """``x @ W.T``: TransposeGate hands W the transpose of an F-ordered gradient, C-ordered like W."""
    rng = np.random.default_rng(1)
    x, w = rng.random((6, 4)).astype(dtype), rng.random((3, 4)).astype(dtype)
    g = ComputationalGraph()
    w_node = g.parameter("W", w)
    (g.input("X", requires_grad=False) @ w_node.T).sum()
    g.forward(X=x)
    grads = g.backward()
    assert grads["W"].flags.c_contiguous and grads["W"].dtype == dtype
    np.testing.assert_allclose(grads["W"], np.ones((6, 3), dtype).T @ x, rtol=1e-6)


@pytest.mark.parametrize("axes", [None, (2, 0, 1), (1, 2, 0), (0, 2, 1)])
def test_transpose_backward_inverts_the_permutation_for_every_input(axes):
    gate = TransposeGate(axes)
    for x in (np.arange(24.0).reshape(2, 3, 4), np.arange(30.0).reshape(5, 3, 2)):
        z = gate.forward(x)
        (back,) = gate.backward(z)
        np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize(
    ("a_dtype", "b", "expected_dtype"),
    [
        (np.float32, np.full(3, 0.5, np.float32), np.float32),
        (np.float32, np.full(3, 0.5, np.float64), np.float64),  # a float64 bias promotes, as a @ w.T + b does
        (np.float32, 0.5, np.float32),  # a Python float is weak
        (np.float64, np.float32(0.5), np.float64),
    ],
)
def test_linear_adds_its_bias_as_numpy_would(a_dtype, b, expected_dtype):
    rng = np.random.default_rng(4)
    a, w = rng.random((5, 4)).astype(a_dtype), rng.random((3, 4)).astype(a_dtype)
    b_before = np.array(b, copy=True)
    z = LinearGate().forward(a, w, b)
    expected = a @ w.T + b
    assert z.dtype == expected.dtype == expected_dtype
    np.testing.assert_array_equal(z, expected)
    np.testing.assert_array_equal(b, b_before)  # the gate wrote into its own product, never into the bias


def test_transpose_backward_before_any_forward_is_refused_not_guessed():
    with pytest.raises(AttributeError):
        TransposeGate((1, 2, 0)).backward(np.ones((2, 3, 4)))


@pytest.mark.parametrize(
    ("shape", "target"),
    [((7, 3), (3,)), ((2, 7, 3), (7, 3)), ((2, 7, 3), (3,)), ((2, 3), ()), ((7, 3), (1, 3)), ((7, 3), (7, 1))],
)
def test_unbroadcast_sums_exactly_the_broadcast_axes(shape, target):
    grad = np.random.default_rng(2).random(shape).astype(np.float32)
    expected = grad
    while expected.ndim > len(target):
        expected = expected.sum(axis=0)
    expected = expected.sum(axis=tuple(i for i, n in enumerate(target) if n == 1), keepdims=True).reshape(target)
    result = unbroadcast(grad, target)
    assert np.shape(result) == target and result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-6)


@pytest.mark.parametrize("x", [-2.5, -0.0, 0.0, 1e-300, 3.0, math.inf, -math.inf, math.nan])
def test_relu_on_a_python_float_is_numpys_relu(x):
    gate = ReLUGate()
    z = gate.forward(x)
    assert type(z) is float
    expected = np.maximum(x, 0)
    assert (math.isnan(z) and np.isnan(expected)) or (z == expected and math.copysign(1, z) == np.copysign(1, expected))
    (grad,) = gate.backward(2.0)
    assert grad == (2.0 if x > 0 else 0.0)


@pytest.mark.parametrize("x", [-20.0, -0.7, -0.0, 0.0, 1e-300, 0.3, 5.0, math.inf, -math.inf])
def test_tanh_on_a_python_float_is_numpys_tanh_as_a_float(x):
    gate = TanhGate()
    z = gate.forward(x)
    assert type(z) is float and z == np.tanh(np.array([x]))[0]  # bit for bit, as on an array
    (grad,) = gate.backward(0.5)
    assert type(grad) is float and grad == 0.5 * (1 - np.tanh(x) ** 2)


@pytest.mark.parametrize("gate_class", [AddGate, MultiplyGate])
@pytest.mark.parametrize("wanted", [(True, True), (True, False), (False, True)])
def test_add_and_multiply_on_python_floats_give_what_their_array_path_gives(gate_class, wanted):
    on_floats, on_arrays = gate_class(), gate_class()
    on_floats.forward(0.3, -1.7)
    on_arrays.forward(np.array(0.3), np.array(-1.7))
    on_floats.needs_input_grad = on_arrays.needs_input_grad = wanted
    grads = on_floats.backward(2.5)
    expected = on_arrays.backward(np.array(2.5))
    assert [type(g) for g in grads if g is not None] == [float] * sum(wanted)
    assert [None if g is None else float(g) for g in expected] == list(grads)


@pytest.mark.parametrize(
    ("dtype", "bad"),
    [(dtype, bad) for dtype in (np.int8, np.int32, np.int64) for bad in (-1, -128, 3, 100)]
    + [(dtype, bad) for dtype in (np.uint8, np.uint64) for bad in (3, 255)],
)
def test_softmax_ce_refuses_labels_out_of_range_for_every_integer_type(dtype, bad):
    labels = np.array([0, bad, 1], dtype=dtype)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        SoftmaxCrossEntropyGate().forward(np.zeros((3, 3), np.float32), labels)


def test_softmax_ce_refuses_a_negative_small_integer_label_among_many_classes():
    """-1 as int8 is 255 unsigned: with 300 classes a check on an unsigned view would let it index the last class."""
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 300\), got -1\.\.0"):
        SoftmaxCrossEntropyGate().forward(np.zeros((2, 300), np.float32), np.array([0, -1], np.int8))


def test_softmax_ce_keeps_float32_and_the_softmax_it_returns_gradients_from():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2])
    gate = SoftmaxCrossEntropyGate()
    loss = gate.forward(logits, labels)
    (grad_z, grad_y) = gate.backward(np.float32(1))
    twice = gate.backward(np.float32(1))[0]  # backward leaves the gate's cache as it was
    exps = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    softmax = exps / exps.sum(axis=1, keepdims=True)
    assert loss.dtype == np.float32 and grad_z.dtype == np.float32 and grad_y is None
    np.testing.assert_allclose(loss, -np.mean(np.log(softmax[np.arange(5), labels])), rtol=1e-6)
    np.testing.assert_allclose(grad_z, (softmax - np.eye(4)[labels]) / 5, atol=1e-7)
    np.testing.assert_array_equal(twice, grad_z)
