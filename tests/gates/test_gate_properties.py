"""Property tests for every gate, with HIPS autograd as an independent oracle.

For random shapes and values (hypothesis), each gate must: give the oracle's
value; give the oracle's gradient of sum(upstream * output) for a random
upstream; return gradients shaped like their inputs; pass check_gate; keep
float32 as float32; and never modify its inputs. Inputs are drawn away from
kinks (relu and abs at 0, ties of max and min), whose policy is tested on its
own in test_gates.py.
"""

from collections.abc import Callable
from dataclasses import dataclass

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from image_oracles import autograd_avg_pool2d, autograd_batch_norm, autograd_conv2d, autograd_max_pool2d
from inputs import away_from_zero, normal, positive, probability

import gates
from graph import check_gate


def one_hot_rows(shape, rng):
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


def oracle_softmax(x, axis=-1):
    shifted = anp.exp(x - anp.max(x, axis=axis, keepdims=True))
    return shifted / anp.sum(shifted, axis=axis, keepdims=True)


def oracle_sigmoid(x):
    return 1 / (1 + anp.exp(-x))


def oracle_bce(a, y):
    return -(y * anp.log(a) + (1 - y) * anp.log(1 - a))


ANY_SHAPE = hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)


@dataclass
class Spec:
    """A gate, its autograd twin, and how to draw its inputs for a shape."""

    make_gate: Callable[[], gates.Gate]
    oracle: Callable
    inputs: Callable[[tuple, np.random.Generator], list]
    shapes: st.SearchStrategy = ANY_SHAPE
    float_inputs: tuple = (0, 1, 2)  # which inputs are differentiated (others: labels)
    check_atol: float = 1e-8  # check_gate's absolute tolerance


def pair(make_x, make_y):
    """Two inputs of broadcast-compatible shapes: the second drops leading axes and sets some to 1."""

    def draw(shape, rng):
        other = tuple(1 if rng.random() < 0.3 else n for n in shape[rng.integers(0, len(shape) + 1) :])
        shapes = (shape, other) if rng.random() < 0.5 else (other, shape)
        return [make_x(shapes[0], rng), make_y(shapes[1], rng)]

    return draw


def single(make):
    return lambda shape, rng: [make(shape, rng)]


def spaced(shape, rng):
    """Distinct values at least 0.01 apart, in random places: no two within check_gate's step of each other.

    Normal samples can tie to within 1e-6 (seen: a gap of 4.9e-7 among 64), and a max-pooling window
    whose two largest values lie closer than the step has no derivative there.
    """
    size = int(np.prod(shape))
    return (rng.permutation(size) - size / 2).reshape(shape) * 0.01 + rng.uniform(0, 0.001)


def on_quarters(shape, rng):
    """Integers + 0.25: against ``on_three_quarters`` never closer than 0.5, so max and min never tie."""
    return rng.integers(-3, 3, shape) + 0.25


def on_three_quarters(shape, rng):
    return rng.integers(-3, 3, shape) + 0.75


NONEMPTY = hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)
MATRIX_ROWS = hnp.array_shapes(min_dims=2, max_dims=2, max_side=4)


def matmul_inputs(shape, rng):
    n, k = shape
    m = int(rng.integers(1, 4))
    left = (k,) if rng.random() < 0.2 else (n, k)
    right = (k,) if rng.random() < 0.2 else (k, m)
    return [rng.standard_normal(left), rng.standard_normal(right)]


def linear_inputs(shape, rng):
    n, n_in = shape
    n_out = int(rng.integers(1, 4))
    a = rng.standard_normal((n_in,) if rng.random() < 0.2 else (n, n_in))
    return [a, rng.standard_normal((n_out, n_in)), rng.standard_normal((n_out,))]


def integer_label_inputs(shape, rng):
    return [rng.standard_normal(shape), rng.integers(0, shape[-1], shape[:-1])]


def oracle_softmax_ce_int(z, labels):
    log_p = z - anp.max(z, axis=-1, keepdims=True)
    log_p = log_p - anp.log(anp.sum(anp.exp(log_p), axis=-1, keepdims=True))
    picked = anp.sum(log_p * np.eye(z.shape[-1])[labels], axis=-1)
    return -anp.mean(picked)


IMAGES = hnp.array_shapes(min_dims=4, max_dims=4, min_side=2, max_side=4)


def image_shape(shape):
    """An (N, C, H, W) shape from any drawn shape, sides padded with 2s (float32 checks draw (2, 3))."""
    return tuple(shape[:4]) + (2,) * (4 - len(shape[:4]))


def conv_inputs(shape, rng):
    x_shape = image_shape(shape)
    f, kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, x_shape[2] + 1)), int(rng.integers(1, x_shape[3] + 1))
    return [rng.standard_normal(x_shape), rng.standard_normal((f, x_shape[1], kh, kw)), rng.standard_normal(f)]


def batch_norm_inputs(shape, rng):
    n, _, h, w = image_shape(shape)
    return [rng.standard_normal((n, 2, h, w)), rng.uniform(0.5, 1.5, 2), rng.standard_normal(2)]


def images(make):
    return lambda shape, rng: [make(image_shape(shape), rng)]


SPECS = {
    "add": Spec(gates.AddGate, anp.add, pair(normal, normal)),
    "subtract": Spec(gates.SubtractGate, anp.subtract, pair(normal, normal)),
    "multiply": Spec(gates.MultiplyGate, anp.multiply, pair(normal, normal)),
    "divide": Spec(gates.DivideGate, anp.divide, pair(normal, away_from_zero)),
    "negate": Spec(gates.NegateGate, anp.negative, single(normal)),
    "power 2": Spec(lambda: gates.PowerGate(2), lambda x: x**2, single(normal)),
    "power -1.5": Spec(lambda: gates.PowerGate(-1.5), lambda x: x**-1.5, single(positive)),
    "max": Spec(gates.MaxGate, anp.maximum, pair(on_quarters, on_three_quarters)),
    "min": Spec(gates.MinGate, anp.minimum, pair(on_quarters, on_three_quarters)),
    "exp": Spec(gates.ExpGate, anp.exp, single(normal)),
    "log": Spec(gates.LogGate, anp.log, single(positive)),
    "sqrt": Spec(gates.SqrtGate, anp.sqrt, single(positive)),
    "abs": Spec(gates.AbsGate, anp.abs, single(away_from_zero)),
    "sigmoid": Spec(gates.SigmoidGate, oracle_sigmoid, single(normal)),
    "tanh": Spec(gates.TanhGate, anp.tanh, single(normal)),
    "relu": Spec(gates.ReLUGate, lambda x: x * (x > 0), single(away_from_zero)),
    "leaky_relu": Spec(
        lambda: gates.LeakyReLUGate(0.05), lambda x: anp.where(x > 0, x, 0.05 * x), single(away_from_zero)
    ),
    "softmax": Spec(gates.SoftmaxGate, oracle_softmax, single(normal), NONEMPTY),
    "softmax axis 0": Spec(lambda: gates.SoftmaxGate(0), lambda x: oracle_softmax(x, 0), single(normal), NONEMPTY),
    "matmul": Spec(gates.MatMulGate, anp.matmul, matmul_inputs, MATRIX_ROWS),
    "linear": Spec(gates.LinearGate, lambda a, w, b: anp.dot(a, w.T) + b, linear_inputs, MATRIX_ROWS),
    "transpose": Spec(gates.TransposeGate, anp.transpose, single(normal)),
    "reshape": Spec(lambda: gates.ReshapeGate(-1), lambda x: anp.reshape(x, -1), single(normal)),
    "sum": Spec(gates.SumGate, anp.sum, single(normal)),
    "sum axis 0 keepdims": Spec(
        lambda: gates.SumGate(0, True), lambda x: anp.sum(x, axis=0, keepdims=True), single(normal), NONEMPTY
    ),
    "mean": Spec(gates.MeanGate, anp.mean, single(normal)),
    "mean axis -1": Spec(lambda: gates.MeanGate(-1), lambda x: anp.mean(x, axis=-1), single(normal), NONEMPTY),
    "mse": Spec(gates.MSELossGate, lambda p, y: anp.mean((p - y) ** 2), lambda s, r: [normal(s, r), normal(s, r)]),
    "bce batchmean": Spec(
        lambda: gates.BinaryCrossEntropyGate("batchmean"),
        lambda a, y: anp.sum(oracle_bce(a, y)) / (a.shape[0] if a.ndim else 1),
        lambda s, r: [probability(s, r), probability(s, r)],
    ),
    "bce logits sum": Spec(
        lambda: gates.BinaryCrossEntropyWithLogitsGate("sum"),
        lambda z, y: anp.sum(oracle_bce(oracle_sigmoid(z), y)),
        lambda s, r: [normal(s, r), probability(s, r)],
    ),
    "softmax ce one-hot": Spec(
        gates.SoftmaxCrossEntropyGate,
        lambda z, y: anp.mean(-anp.sum(y * anp.log(oracle_softmax(z)), axis=-1)),
        lambda s, r: [normal(s, r), one_hot_rows(s, r)],
        MATRIX_ROWS,
    ),
    "softmax ce unnormalised rows": Spec(
        gates.SoftmaxCrossEntropyGate,
        lambda z, y: anp.mean(-anp.sum(y * anp.log(oracle_softmax(z)), axis=-1)),
        lambda s, r: [normal(s, r), r.uniform(0, 2, s)],
        MATRIX_ROWS,
    ),
    "softmax ce labels": Spec(
        gates.SoftmaxCrossEntropyGate, oracle_softmax_ce_int, integer_label_inputs, MATRIX_ROWS, float_inputs=(0,)
    ),
    "conv2d padding 1": Spec(
        lambda: gates.Conv2DGate(padding=1), lambda x, w, b: autograd_conv2d(x, w, b, padding=1), conv_inputs, IMAGES
    ),
    "conv2d stride 2": Spec(
        lambda: gates.Conv2DGate(stride=2), lambda x, w, b: autograd_conv2d(x, w, b, stride=2), conv_inputs, IMAGES
    ),
    "max_pool2d": Spec(
        lambda: gates.MaxPool2DGate(2, 1), lambda x: autograd_max_pool2d(x, 2, 1), images(spaced), IMAGES
    ),
    "avg_pool2d": Spec(lambda: gates.AvgPool2DGate(2), lambda x: autograd_avg_pool2d(x, 2), images(normal), IMAGES),
    # dL/dX of a batch norm is a small difference of O(1) terms (it sums to zero over each channel), and
    # centred differences of an O(10) sum carry rounding of about 1e-8: atol 1e-8 failed at |dL/dx| 1e-5.
    "batch_norm2d training": Spec(
        lambda: gates.BatchNorm2DGate(2),
        lambda x, g, b: autograd_batch_norm(x, g, b, True),
        batch_norm_inputs,
        IMAGES,
        check_atol=1e-7,
    ),
    "batch_norm2d eval": Spec(
        lambda: gates.BatchNorm2DGate(2, training=False),
        lambda x, g, b: autograd_batch_norm(x, g, b, False),
        batch_norm_inputs,
        IMAGES,
    ),
    "dropout eval": Spec(lambda: gates.DropoutGate(0.5, training=False), lambda x: x, single(normal)),
    "flatten": Spec(gates.FlattenGate, lambda x: anp.reshape(x, (x.shape[0], -1)), single(normal), NONEMPTY),
}


def test_every_gate_of_the_package_has_a_property_spec():
    gate_classes = {getattr(gates, name) for name in gates.__all__ if name.endswith("Gate") and name != "Gate"}
    covered = {type(spec.make_gate()) for spec in SPECS.values()}
    assert gate_classes == covered


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_gate_matches_the_autograd_oracle_and_keeps_the_contract(name, data):
    spec = SPECS[name]
    shape = data.draw(spec.shapes, label="shape")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    inputs = spec.inputs(shape, rng)
    copies = [np.copy(x) for x in inputs]
    gate = spec.make_gate()
    out = gate.forward(*inputs)
    np.testing.assert_allclose(out, spec.oracle(*inputs), rtol=1e-12, atol=1e-14)
    upstream = rng.standard_normal(np.shape(out))
    grads = gate.backward(upstream)
    assert len(grads) == len(inputs)
    for index in range(len(inputs)):
        if index not in spec.float_inputs:
            continue
        assert np.shape(grads[index]) == np.shape(inputs[index])
        expected = autograd.grad(lambda *args: anp.sum(upstream * spec.oracle(*args)), index)(*inputs)
        np.testing.assert_allclose(grads[index], expected, rtol=1e-10, atol=1e-12, err_msg=f"{name} input {index}")
    for x, copy in zip(inputs, copies):
        np.testing.assert_array_equal(x, copy)  # inputs are never modified
    check_gate(spec.make_gate(), *inputs, atol=spec.check_atol)


@pytest.mark.parametrize("name", SPECS)
def test_float32_in_float32_out(name):
    spec = SPECS[name]
    rng = np.random.default_rng(0)
    shape = (2, 3)
    inputs = [x.astype(np.float32) if x.dtype.kind == "f" else x for x in map(np.asarray, spec.inputs(shape, rng))]
    gate = spec.make_gate()
    out = gate.forward(*inputs)
    assert np.result_type(out) == np.float32, f"{name}: forward gave {np.result_type(out)}"
    grads = gate.backward(np.ones_like(out))
    for index in spec.float_inputs:
        if index < len(grads):
            assert np.result_type(grads[index]) == np.float32, f"{name}: gradient {index} is {grads[index].dtype}"
