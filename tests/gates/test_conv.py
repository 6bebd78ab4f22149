"""Image gates against PyTorch (a test oracle only), numerical gradients, and their bad inputs."""

import numpy as np
import pytest
import torch
from torch.nn import functional

from gates import AvgPool2DGate, BatchNorm2DGate, Conv2DGate, DropoutGate, FlattenGate, MaxPool2DGate
from gates.conv import col2im, conv2d_naive, im2col
from graph import ComputationalGraph, check_gate

TOLERANCE = {np.float32: {"rtol": 1e-4, "atol": 1e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}

# (N, C, H, W), (F, kh, kw), stride, padding: square, rectangular and 1x1 kernels, several channels
CONV_CASES = [
    ((2, 3, 7, 7), (4, 3, 3), 1, 0),
    ((2, 3, 7, 7), (4, 3, 3), 1, 1),
    ((2, 3, 8, 6), (5, 3, 3), 2, 1),
    ((1, 2, 9, 7), (3, 2, 3), (2, 1), (1, 0)),
    ((3, 4, 5, 5), (2, 1, 1), 1, 0),
    ((2, 1, 6, 6), (3, 5, 5), 1, 2),
    ((2, 2, 5, 8), (2, 2, 4), 3, (0, 2)),
    ((4, 16, 6, 6), (8, 3, 3), 1, 1),
    ((2, 2, 4, 4), (3, 1, 1), 1, 1),  # padding beyond the kernel: stride 1, yet its dL/dX goes through col2im
]
CONV_IDS = [f"x{x}-w{w}-s{s}-p{p}" for x, w, s, p in CONV_CASES]
POOL_CASES = [((2, 3, 8, 8), 2, None), ((2, 3, 7, 7), 2, None), ((1, 2, 9, 7), 3, 2), ((2, 2, 6, 5), (2, 3), 1)]


def torch_run(function, arrays, upstream):
    """Value and gradients of ``function`` in PyTorch, float64."""
    tensors = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    out = function(*tensors)
    out.backward(torch.tensor(np.asarray(upstream, np.float64)))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def conv_inputs(x_shape, w_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    f, kh, kw = w_shape
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((f, x_shape[1], kh, kw)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch_forward_and_backward(x_shape, w_shape, stride, padding, dtype):
    x, w, b = conv_inputs(x_shape, w_shape, dtype)
    gate = Conv2DGate(stride, padding)
    z = gate.forward(x, w, b)
    upstream = np.random.default_rng(1).standard_normal(z.shape).astype(dtype)
    grads = gate.backward(upstream)
    expected, expected_grads = torch_run(
        lambda x, w, b: functional.conv2d(x, w, b, stride=stride, padding=padding), (x, w, b), upstream
    )
    assert z.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_allclose(z, expected, **TOLERANCE[dtype])
    for grad, want in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, want, **TOLERANCE[dtype])


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES, ids=CONV_IDS)
def test_naive_and_im2col_convolutions_agree(x_shape, w_shape, stride, padding):
    x, w, b = conv_inputs(x_shape, w_shape, np.float64, seed=2)
    np.testing.assert_allclose(
        Conv2DGate(stride, padding).forward(x, w, b), conv2d_naive(x, w, b, stride, padding), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding"), CONV_CASES[:7] + CONV_CASES[8:], ids=CONV_IDS[:7] + CONV_IDS[8:]
)
def test_conv_passes_check_gate(x_shape, w_shape, stride, padding):
    check_gate(Conv2DGate(stride, padding), *conv_inputs(x_shape, w_shape, np.float64, seed=3))


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), y> == <x, col2im(y)>: the backward of a view that repeats pixels sums them back."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    for kernel, stride, padding in [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2)), ((1, 1), (1, 1), (0, 0))]:
        windows = im2col(x, kernel, stride, padding)
        y = rng.standard_normal(windows.shape)
        assert np.sum(windows * y) == pytest.approx(np.sum(x * col2im(y, x.shape, stride, padding)), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("x_shape", "kernel", "stride"), POOL_CASES)
@pytest.mark.parametrize(
    ("gate_class", "torch_pool"), [(MaxPool2DGate, functional.max_pool2d), (AvgPool2DGate, functional.avg_pool2d)]
)
def test_pooling_matches_torch(gate_class, torch_pool, x_shape, kernel, stride, dtype):
    x = np.random.default_rng(4).standard_normal(x_shape).astype(dtype)
    gate = gate_class(kernel, stride)
    z = gate.forward(x)
    upstream = np.random.default_rng(5).standard_normal(z.shape).astype(dtype)
    (grad,) = gate.backward(upstream)
    expected, (expected_grad,) = torch_run(lambda x: torch_pool(x, kernel, stride), (x,), upstream)
    assert z.shape == expected.shape and z.dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(z, expected, **TOLERANCE[dtype])
    np.testing.assert_allclose(grad, expected_grad, **TOLERANCE[dtype])
    check_gate(gate_class(kernel, stride), x.astype(np.float64))


def test_max_pool_ties_go_to_the_first_pixel_in_row_major_order():
    x = np.array([[[[0.0, 5.0, 1.0, 1.0], [5.0, 5.0, 1.0, 1.0]]]])
    gate = MaxPool2DGate(2)
    np.testing.assert_array_equal(gate.forward(x), [[[[5.0, 1.0]]]])
    (grad,) = gate.backward(np.array([[[[2.0, 3.0]]]]))
    np.testing.assert_array_equal(grad, [[[[0.0, 2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool_propagates_nan_as_torch_does():
    x = np.array([[[[1.0, np.nan, 0.0, 2.0], [3.0, 0.0, 5.0, 1.0]]]])
    expected = functional.max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(MaxPool2DGate(2).forward(x), expected)  # [nan, 5]


def test_overlapping_max_windows_sum_their_gradients_on_a_shared_winner():
    x = np.array([[[[0.0, 9.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    gate = MaxPool2DGate(2, stride=1)  # both top windows hold the 9
    gate.forward(x)
    (grad,) = gate.backward(np.ones((1, 1, 2, 2)))
    assert grad[0, 0, 0, 1] == 2.0 and grad.sum() == 4.0


# -- dropout ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_in_training_scales_what_it_keeps_and_routes_the_gradient_through_the_same_mask(dtype):
    x = np.random.default_rng(0).uniform(1, 2, (200, 50)).astype(dtype)
    gate = DropoutGate(0.3, seed=7)
    z = gate.forward(x)
    kept = z != 0
    assert z.dtype == dtype
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(z[kept], x[kept] / dtype(0.7), rtol=1e-6)
    upstream = np.ones_like(x)
    (grad,) = gate.backward(upstream)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad != 0, kept)
    np.testing.assert_allclose(grad[kept], 1 / 0.7, rtol=1e-6)


def test_dropout_is_reproducible_with_a_seed_and_draws_a_new_mask_each_forward():
    first, second = DropoutGate(0.5, seed=3), DropoutGate(0.5, seed=3)
    x = np.ones((10, 10))
    a, b = first.forward(x), second.forward(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.forward(x), a)


def test_dropout_in_eval_is_the_identity():
    gate = DropoutGate(0.9, training=False)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(gate.forward(x), x)
    np.testing.assert_array_equal(gate.backward(x)[0], x)
    assert gate.mask is None


class FixedMaskDropout(DropoutGate):
    """Dropout whose every forward draws the same mask: what a numerical gradient needs."""

    def forward(self, x):
        self.rng = np.random.default_rng(11)
        return super().forward(x)


@pytest.mark.parametrize("training", [True, False])
def test_dropout_passes_check_gate(training):
    check_gate(FixedMaskDropout(0.4, training=training), np.random.default_rng(0).standard_normal((3, 2, 4, 4)))


# -- batch normalisation ------------------------------------------------------------------------------


def batch_norm_inputs(dtype, shape=(4, 3, 5, 5), seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    return x, rng.uniform(0.5, 1.5, shape[1]).astype(dtype), rng.standard_normal(shape[1]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch_in_both_modes(training, dtype):
    x, gamma, beta = batch_norm_inputs(dtype)
    gate = BatchNorm2DGate(3, training=training)
    gate.running_mean[...], gate.running_var[...] = [0.5, -1.0, 2.0], [1.5, 0.5, 4.0]
    mean, var = torch.tensor(gate.running_mean.copy()), torch.tensor(gate.running_var.copy())
    z = gate.forward(x, gamma, beta)
    upstream = np.random.default_rng(1).standard_normal(z.shape).astype(dtype)
    grads = gate.backward(upstream)
    expected, expected_grads = torch_run(
        lambda x, g, b: functional.batch_norm(x, mean, var, g, b, training=training, momentum=0.1, eps=1e-5),
        (x, gamma, beta),
        upstream,
    )
    assert z.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_allclose(z, expected, **TOLERANCE[dtype])
    for grad, want in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, want, **TOLERANCE[dtype])
    np.testing.assert_allclose(gate.running_mean, mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gate.running_var, var.numpy(), rtol=1e-6)


def test_batch_norm_running_statistics_equal_torchs_after_a_few_steps():
    ours = BatchNorm2DGate(3)
    theirs = torch.nn.BatchNorm2d(3, dtype=torch.float64)
    rng = np.random.default_rng(2)
    for step in range(5):
        x = rng.standard_normal((6, 3, 4, 4)) * (step + 1) + step
        ours.forward(x, np.ones(3), np.zeros(3))
        theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.training = False
    theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(ours.forward(x, np.ones(3), np.zeros(3)), theirs(torch.tensor(x)).detach().numpy())


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_passes_check_gate(training):
    x, gamma, beta = batch_norm_inputs(np.float64, (3, 2, 3, 4))
    check_gate(BatchNorm2DGate(2, training=training), x, gamma, beta)


def test_flatten_matches_torch_and_passes_check_gate():
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 5)).astype(np.float32)
    gate = FlattenGate()
    z = gate.forward(x)
    np.testing.assert_array_equal(z, torch.flatten(torch.tensor(x), 1).numpy())
    assert gate.backward(z)[0].shape == x.shape
    check_gate(FlattenGate(), x.astype(np.float64))


# -- in a graph: a small conv net's gradients against PyTorch --------------------------------------------


def test_a_conv_net_in_a_graph_matches_the_same_net_in_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 8, 8))
    values = {
        "W1": rng.standard_normal((3, 1, 3, 3)) * 0.5,
        "b1": rng.standard_normal(3) * 0.1,
        "g1": rng.uniform(0.5, 1.5, 3),
        "be1": rng.standard_normal(3) * 0.1,
        "W2": rng.standard_normal((5, 48)) * 0.2,
    }
    g = ComputationalGraph()
    p = {name: g.parameter(name, value) for name, value in values.items()}
    a = g.add_gate(Conv2DGate(padding=1), g.input("x", requires_grad=False), p["W1"], p["b1"])
    a = g.add_gate(BatchNorm2DGate(3), a, p["g1"], p["be1"]).relu()
    a = g.add_gate(FlattenGate(), g.add_gate(MaxPool2DGate(2), g.add_gate(AvgPool2DGate(1), a)))
    out = (a @ p["W2"].T).sum()
    g.forward(x=x)
    grads = g.backward(output=out)

    t = {name: torch.tensor(value, requires_grad=True) for name, value in values.items()}
    h = functional.conv2d(torch.tensor(x), t["W1"], t["b1"], padding=1)
    h = torch.relu(functional.batch_norm(h, None, None, t["g1"], t["be1"], training=True))
    (torch.flatten(functional.max_pool2d(h, 2), 1) @ t["W2"].T).sum().backward()
    for name in values:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-9, atol=1e-12)


# -- bad inputs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "inputs", "error", "match"),
    [
        (Conv2DGate, (np.ones((1, 2, 5, 5)), np.ones((3, 4, 3, 3)), np.ones(3)), ValueError, "channels must equal"),
        (Conv2DGate, (np.ones((2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3)), ValueError, "add the batch axis"),
        (Conv2DGate, (np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)), np.ones(1)), ValueError, "larger than the padded"),
        (Conv2DGate, (np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3)), ValueError, r"b \(3,\)"),
        (lambda: MaxPool2DGate(3), (np.ones((1, 1, 2, 2)),), ValueError, "kernel 3x3 is larger"),
        (lambda: AvgPool2DGate(2), (np.ones((4, 4)),), ValueError, r"\(N, C, H, W\), got shape \(4, 4\)"),
        (lambda: BatchNorm2DGate(3), (np.ones((2, 4, 3, 3)), np.ones(3), np.ones(3)), ValueError, "of 3 channels"),
        (lambda: BatchNorm2DGate(1), (np.ones((1, 1, 1, 1)), np.ones(1), np.ones(1)), ValueError, "more than one"),
        (FlattenGate, (np.float64(1.0),), ValueError, "batch axis"),
    ],
)
def test_bad_inputs_are_named(make, inputs, error, match):
    with pytest.raises(error, match=match):
        make().forward(*inputs)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: DropoutGate(1.0), ValueError, r"in \[0, 1\); got 1.0"),
        (lambda: DropoutGate(-0.1), ValueError, r"in \[0, 1\)"),
        (lambda: DropoutGate("0.5"), TypeError, "p must be a real number"),
        (lambda: Conv2DGate(stride=0), ValueError, "stride must be at least 1"),
        (lambda: Conv2DGate(padding=-1), ValueError, "padding must be at least 0"),
        (lambda: Conv2DGate(stride=(1, 2, 3)), TypeError, "pair of ints"),
        (lambda: MaxPool2DGate(2.5), TypeError, "kernel must be an int or a pair"),
        (lambda: BatchNorm2DGate(0), ValueError, "num_features"),
        (lambda: BatchNorm2DGate(2, eps=0), ValueError, "eps > 0"),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()
