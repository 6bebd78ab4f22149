"""Gates off the beaten path (issue 11): axis arguments, powers at zero, constant dtypes, Python-float
singularities, extreme logits, empty batches, and inputs left as they were. PyTorch is the oracle
wherever it has an answer."""

import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

import gates
from graph import ComputationalGraph, DTypeError, GateError, export_onnx
from graph.forward_mode import jvp


def _torch(array):
    return torch.tensor(np.asarray(array), requires_grad=True)


def _graph_of(build):
    g = ComputationalGraph()
    out = build(g.input("x"))
    return g, out


def _run_onnx(g, out, x):
    model = export_onnx(g, None, outputs=out, feeds={"x": x})
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (result,) = session.run([out.name], {"x": x})
    return result


@pytest.fixture
def no_warnings():
    """Any warning (not only RuntimeWarning) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- 1. axes: one normaliser for every gate that takes them ---------------------------------------

PERMUTATIONS = [(-1, 0, 1), (0, -1, -2), (-3, -1, 1), (2, 0, 1)]


@pytest.mark.parametrize("shape", [(3, 3, 3), (2, 3, 4)])
@pytest.mark.parametrize("axes", PERMUTATIONS)
def test_transpose_with_negative_axes_matches_torch_permute_in_value_gradient_jvp_and_onnx(shape, axes):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    g, out = _graph_of(lambda node: node.transpose(axes))
    expected_value = _torch(x).permute(*axes)
    upstream = rng.standard_normal(expected_value.shape).astype(np.float32)
    value = g.forward(x=x)
    grad = g.backward(grad=upstream)["x"]

    reference = _torch(x)
    reference.permute(*axes).backward(torch.tensor(upstream))
    np.testing.assert_array_equal(value, expected_value.detach().numpy())
    np.testing.assert_array_equal(grad, reference.grad.numpy())
    tangent = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(jvp(g, {"x": x}, {"x": tangent}), torch.tensor(tangent).permute(*axes).numpy())
    np.testing.assert_array_equal(_run_onnx(g, out, x), value)


def test_transpose_accepts_numpy_style_separate_axes():
    g, _ = _graph_of(lambda node: node.transpose(-1, 0, 1))
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(g.forward(x=x), np.transpose(x, (2, 0, 1)))


@pytest.mark.parametrize("gate_class", [gates.SumGate, gates.MeanGate])
@pytest.mark.parametrize("axis", [-1, (-1, 0), (0, -2), (-3,), ()])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_mean_over_negative_and_tuple_axes_match_torch_and_onnx(gate_class, axis, keepdims):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    build = (
        (lambda node: node.sum(axis, keepdims))
        if gate_class is gates.SumGate
        else lambda node: node.mean(axis, keepdims)
    )
    g, out = _graph_of(build)
    value = g.forward(x=x)
    reference = _torch(x)
    torch_function = torch.sum if gate_class is gates.SumGate else torch.mean
    # torch reads dim=() as "all dims"; numpy (and we) read axis=() as "no axis": compare with the identity.
    expected = torch_function(reference, dim=axis, keepdim=keepdims) if axis != () else reference * 1
    upstream = rng.standard_normal(expected.shape).astype(np.float32)
    expected.backward(torch.tensor(upstream))
    grad = g.backward(grad=upstream)["x"]
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad, reference.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(_run_onnx(g, out, x), value, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_softmax_over_any_axis_matches_torch(axis):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4))
    g, _ = _graph_of(lambda node: node.softmax(axis))
    upstream = rng.standard_normal((3, 4))
    value = g.forward(x=x)
    reference = _torch(x)
    expected = torch.softmax(reference, dim=axis)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.backward(grad=upstream)["x"], reference.grad.numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    ("build", "shape", "match"),
    [
        (lambda x: x.transpose((0, -3, 1)), (2, 3, 4), r"TransposeGate axes \(0, -3, 1\) name axis 0 twice .*ndim 3"),
        (lambda x: x.transpose((0, 1)), (2, 3, 4), r"TransposeGate axes \(0, 1\) name 2 axes, the input has ndim 3"),
        (lambda x: x.transpose((0, 1, 3)), (2, 3, 4), r"TransposeGate axis 3 is out of range .* ndim 3; .*\[-3, 2\]"),
        (lambda x: x.sum(axis=2), (2, 3), r"SumGate axis 2 is out of range for an input with ndim 2"),
        (lambda x: x.mean(axis=(-3, 0)), (2, 3), r"MeanGate axis -3 is out of range for an input with ndim 2"),
        (lambda x: x.sum(axis=(1, -1)), (2, 3), r"SumGate axes \(1, -1\) name axis 1 twice"),
        (lambda x: x.softmax(axis=2), (2, 3), r"SoftmaxGate axis 2 is out of range for an input with ndim 2"),
        (lambda x: x.softmax(), (), r"SoftmaxGate axis -1 is out of range .*a 0-d input has no axes"),
    ],
)
def test_an_axis_that_does_not_fit_the_input_is_refused_naming_gate_axis_and_ndim(build, shape, match):
    g, _ = _graph_of(build)
    with pytest.raises(GateError, match=match):
        g.forward(x=np.ones(shape))


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda x: x.sum(axis=(0, 0)), GateError, r"SumGate axes \(0, 0\) name axis 0 twice"),
        (lambda x: x.transpose((1, 1)), GateError, r"TransposeGate axes \(1, 1\) name axis 1 twice"),
        (lambda x: x.sum(axis=1.0), DTypeError, r"SumGate axis must be an int or a tuple of ints, got 1.0"),
        (lambda x: x.mean(axis=True), DTypeError, r"MeanGate axis must be an int .*got True"),
        (lambda x: x.softmax(axis=(0, 1)), DTypeError, r"SoftmaxGate axis must be one int"),
        (lambda x: x.sum(keepdims="yes"), DTypeError, r"SumGate keepdims must be True or False"),
        (lambda x: x.transpose("ab"), DTypeError, r"TransposeGate axes must be a tuple of ints"),
    ],
)
def test_an_axis_argument_wrong_in_itself_is_refused_when_the_gate_is_made(build, error, match):
    g = ComputationalGraph()
    with pytest.raises(error, match=match):
        build(g.input("x"))
    assert not [node for node in g.nodes if node.kind == "gate"]


def test_gate_attributes_keep_the_axes_as_written_for_diagrams():
    g, out = _graph_of(lambda node: node.transpose((-1, 0, 1)))
    g.forward(x=np.ones((2, 3, 4)))
    assert out.gate.axes == (-1, 0, 1)
    assert repr(out.gate) == "TransposeGate(axes=(-1, 0, 1))"
    assert out.gate.symbol == "T"


# -- 2. powers at zero ----------------------------------------------------------------------------

EXPONENTS = [0, 1, 2, 0.5, -1, 3, 1.5, -0.5]


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_power_gradient_and_jvp_at_zero_match_torch_and_warn_only_when_infinite(exponent):
    x = np.array([0.0, 0.0])
    reference = _torch(x)
    (reference**exponent).sum().backward()
    expected = reference.grad.numpy()
    gate = gates.PowerGate(exponent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if exponent < 0 else "error")  # 0 ** -1 is inf: the value warns
        gate.forward(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if np.all(np.isfinite(expected)) else "ignore")
        (grad,) = gate.backward(np.ones(2))
        tangent = gate.jvp(np.ones(2))
    np.testing.assert_array_equal(grad, expected)
    np.testing.assert_array_equal(tangent, expected)


def test_x_to_the_zero_has_gradient_zero_at_zero_even_for_an_infinite_upstream(no_warnings):
    g, _ = _graph_of(lambda node: node**0)
    assert g.forward(x=0.0) == 1.0
    assert g.backward()["x"] == 0.0
    gate = gates.PowerGate(0)
    gate.forward(np.zeros(2, np.float32))
    (grad,) = gate.backward(np.array([np.inf, np.nan], np.float32))
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [0.0, 0.0])


# -- 3. constants: numpy scalars are Python numbers; complex, bools, strings, arrays refused ------


@pytest.mark.parametrize(
    "build",
    [
        lambda x: x ** np.float64(2),
        lambda x: x ** np.int64(2),
        lambda x: x ** np.float32(0.5),
        lambda x: x.leaky_relu(np.float64(0.1)),
        lambda x: x.leaky_relu(np.int64(1)),
    ],
)
def test_numpy_scalar_constants_keep_float32_in_forward_backward_and_jvp(build, no_warnings):
    x = np.array([0.5, -1.5, 2.0], np.float32)
    g, _ = _graph_of(build)
    value = g.forward(x=np.abs(x) if "0.5" in str(build.__code__.co_consts) else x)
    assert value.dtype == np.float32
    grad = g.backward(grad=np.ones(3, np.float32))["x"]
    assert grad.dtype == np.float32
    assert jvp(g, {"x": np.abs(x)}, {"x": np.ones(3, np.float32)}).dtype == np.float32


def test_numpy_scalar_exponent_gives_a_python_number_attribute():
    gate = gates.PowerGate(np.float64(2.0))
    assert type(gate.exponent) is float
    assert type(gates.PowerGate(np.int64(2)).exponent) is int
    assert type(gates.LeakyReLUGate(np.float64(0.1)).alpha) is float
    assert gates.PowerGate(np.int64(3)).symbol == "**3"


@pytest.mark.parametrize(
    "exponent", [2 + 0j, np.complex128(2), True, np.bool_(False), "2", np.array([2.0]), np.array(2)]
)
def test_power_refuses_an_exponent_that_is_not_a_real_number(exponent):
    with pytest.raises(TypeError, match=r"PowerGate exponent must be a real number \(int or float\), got"):
        gates.PowerGate(exponent)
    g = ComputationalGraph()
    with pytest.raises(DTypeError, match=r"PowerGate exponent must be a real number"):
        g.input("x") ** exponent


@pytest.mark.parametrize("alpha", [0.1j, "0.1", None, np.array([0.1]), False])
def test_leaky_relu_refuses_an_alpha_that_is_not_a_real_number(alpha):
    with pytest.raises(TypeError, match=r"LeakyReLUGate alpha must be a real number"):
        gates.LeakyReLUGate(alpha)


# -- 4. Python-float graphs at singularities give what their 0-d array twins give ------------------

SINGULAR = {
    "1 / x at 0": (lambda x: 1.0 / x, 0.0),
    "-1 / x at -0": (lambda x: -1.0 / x, -0.0),
    "x / 0": (lambda x: x / 0.0, 1.0),
    "0 / x at 0": (lambda x: 0.0 / x, 0.0),
    "x / x at 0": (lambda x: x / x, 0.0),
    "log x at 0": (lambda x: x.log(), 0.0),
    "sqrt x at 0": (lambda x: x.sqrt(), 0.0),
    "x ** -1 at 0": (lambda x: x**-1, 0.0),
    "x ** -0.5 at 0": (lambda x: x**-0.5, 0.0),
    "x ** 0.5 at 0": (lambda x: x**0.5, 0.0),
    "log(x) / x at 0": (lambda x: x.log() / x, 0.0),
}


def _all_passes(build, x):
    g, _ = _graph_of(build)
    with np.errstate(all="ignore"):  # the array twin warns (divide by zero); the values are what count
        value = g.forward(x=x)
        grad = g.backward(grad=np.ones_like(x) if isinstance(x, np.ndarray) else 1.0)["x"]
        tangent = jvp(g, {"x": x}, {"x": np.ones_like(x) if isinstance(x, np.ndarray) else 1.0})
    return [float(value), float(grad), float(tangent)]


@pytest.mark.parametrize("case", SINGULAR)
def test_a_python_float_graph_at_a_singularity_gives_its_array_twins_values(case):
    build, at = SINGULAR[case]
    as_float = _all_passes(build, at)
    as_array = _all_passes(build, np.array(at))
    np.testing.assert_array_equal(as_float, as_array)
    reference = _torch(at)
    value = build(reference)
    value.backward()
    np.testing.assert_array_equal(as_float[:2], [value.item(), reference.grad.item()])


# -- 5. extreme logits --------------------------------------------------------------------------

EXTREMES = [np.array([1e308, -1e308]), np.array([-1e308, 1e308, 0.0]), np.array([3e38, -3e38], np.float32)]


@pytest.mark.parametrize("logits", EXTREMES, ids=str)
def test_softmax_of_logits_wider_than_the_largest_float_is_exact_and_quiet(logits, no_warnings):
    gate = gates.SoftmaxGate()
    value = gate.forward(logits)
    expected = (logits == logits.max()).astype(logits.dtype)
    assert value.dtype == logits.dtype
    np.testing.assert_array_equal(value, expected)
    upstream = np.arange(len(logits), dtype=logits.dtype)
    np.testing.assert_array_equal(gate.backward(upstream)[0], np.zeros_like(logits))
    np.testing.assert_array_equal(gate.jvp(upstream), np.zeros_like(logits))


@pytest.mark.parametrize("logits", EXTREMES, ids=str)
def test_softmax_cross_entropy_at_extreme_logits_is_quiet_and_right(logits, no_warnings):
    winner = int(np.argmax(logits))
    gate = gates.SoftmaxCrossEntropyGate()
    assert gate.forward(logits, np.array(winner)) == 0.0
    expected_grad = np.zeros_like(logits)
    np.testing.assert_array_equal(gate.backward(1.0)[0], expected_grad)
    one_hot = np.eye(len(logits), dtype=logits.dtype)[winner]
    assert gate.forward(logits, one_hot) == 0.0  # PyTorch: nan, from 0 * log(0) = 0 * -inf
    np.testing.assert_array_equal(gate.backward(1.0)[0], expected_grad)
    loser = int(np.argmin(logits))
    assert gate.forward(logits, np.array(loser)) == np.inf
    grad = gate.backward(1.0)[0]
    assert grad[winner] == 1.0 and grad[loser] == -1.0


@pytest.mark.parametrize("z", [1e308, -1e308, 700.0, -800.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_sigmoid_tanh_and_bce_with_logits_at_extreme_logits_match_torch(z, y, no_warnings):
    logits, targets = np.array([z]), np.array([y])
    for gate, function in (
        (gates.SigmoidGate(), torch.sigmoid),
        (gates.TanhGate(), torch.tanh),
    ):
        reference = _torch(logits)
        expected = function(reference)
        expected.sum().backward()
        np.testing.assert_allclose(gate.forward(logits), expected.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(gate.backward(np.ones(1))[0], reference.grad.numpy(), rtol=1e-12)
    gate = gates.BinaryCrossEntropyWithLogitsGate()
    reference = _torch(logits)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(reference, torch.tensor(targets))
    expected.backward()
    np.testing.assert_allclose(gate.forward(logits, targets), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(gate.backward(1.0)[0], reference.grad.numpy(), rtol=1e-12)


# -- 6. empty batches -------------------------------------------------------------------------------


def _quietly(gate, *inputs):
    """Forward, backward with ones, jvp with ones: no warning allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = gate.forward(*inputs)
        grads = gate.backward(np.ones(np.shape(value)) if np.shape(value) else 1.0)
        tangent = gate.jvp(*(np.ones(np.shape(i)) if np.asarray(i).dtype.kind == "f" else None for i in inputs))
    return value, grads, tangent


EMPTY_REDUCTIONS = [
    ("mean", lambda t: t.mean(), lambda: gates.MeanGate()),
    ("mean axis 0", lambda t: t.mean(dim=0), lambda: gates.MeanGate(0)),
    ("mean axis -1", lambda t: t.mean(dim=-1), lambda: gates.MeanGate(-1)),
    ("mean keepdims", lambda t: t.mean(dim=0, keepdim=True), lambda: gates.MeanGate(0, True)),
    ("sum", lambda t: t.sum(), lambda: gates.SumGate()),
    ("sum axis 0", lambda t: t.sum(dim=0), lambda: gates.SumGate(0)),
    ("softmax axis 0", lambda t: torch.softmax(t, 0), lambda: gates.SoftmaxGate(0)),
    ("softmax axis 1", lambda t: torch.softmax(t, 1), lambda: gates.SoftmaxGate(1)),
    ("transpose", lambda t: t.permute(1, 0), lambda: gates.TransposeGate((-1, 0))),
]


@pytest.mark.parametrize(("name", "reference", "make"), EMPTY_REDUCTIONS, ids=[case[0] for case in EMPTY_REDUCTIONS])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
def test_reductions_and_softmax_of_an_empty_batch_give_torchs_results_quietly(name, reference, make, shape):
    x = np.zeros(shape, np.float32)
    value, (grad,), tangent = _quietly(make(), x)
    source = _torch(x)
    expected = reference(source)
    expected.backward(torch.ones(expected.shape))
    np.testing.assert_array_equal(value, expected.detach().numpy())
    assert np.result_type(value) == np.float32
    assert grad.shape == x.shape and tangent.shape == np.shape(value)


EMPTY_LOSSES = [
    ("mse mean", lambda: gates.MSELossGate(), lambda p, y: torch.nn.functional.mse_loss(p, y)),
    ("mse sum", lambda: gates.MSELossGate("sum"), lambda p, y: torch.nn.functional.mse_loss(p, y, reduction="sum")),
    ("bce mean", lambda: gates.BinaryCrossEntropyGate(), lambda p, y: torch.nn.functional.binary_cross_entropy(p, y)),
    (
        "bce logits mean",
        lambda: gates.BinaryCrossEntropyWithLogitsGate(),
        lambda p, y: torch.nn.functional.binary_cross_entropy_with_logits(p, y),
    ),
    ("softmax ce rows", lambda: gates.SoftmaxCrossEntropyGate(), lambda p, y: torch.nn.functional.cross_entropy(p, y)),
    (
        "softmax ce rows sum",
        lambda: gates.SoftmaxCrossEntropyGate("sum"),
        lambda p, y: torch.nn.functional.cross_entropy(p, y, reduction="sum"),
    ),
]


@pytest.mark.parametrize(("name", "make", "reference"), EMPTY_LOSSES, ids=[case[0] for case in EMPTY_LOSSES])
def test_losses_of_an_empty_batch_give_torchs_value_and_empty_gradients_quietly(name, make, reference):
    predictions, targets = np.zeros((0, 3)), np.zeros((0, 3))
    value, grads, _ = _quietly(make(), predictions, targets)
    np.testing.assert_array_equal(value, reference(_torch(predictions), torch.tensor(targets)).item())
    assert all(grad.shape == (0, 3) for grad in grads)


@pytest.mark.parametrize("reduction", ["mean", "sum", "batchmean"])
def test_integer_labels_and_batchmean_of_zero_examples(reduction):
    value, (grad, label_grad), _ = _quietly(
        gates.SoftmaxCrossEntropyGate(reduction), np.zeros((0, 4)), np.zeros(0, int)
    )
    torch_reduction = "mean" if reduction == "batchmean" else reduction  # the sum over N = 0 rows / 0
    expected = torch.nn.functional.cross_entropy(
        torch.zeros(0, 4), torch.zeros(0, dtype=int), reduction=torch_reduction
    )
    np.testing.assert_array_equal(value, expected.item())
    assert grad.shape == (0, 4) and label_grad is None
    value, grads, _ = _quietly(gates.MSELossGate(reduction), np.zeros((0, 2)), np.zeros((0, 2)))
    assert (value == 0.0) if reduction == "sum" else np.isnan(value)
    assert [grad.shape for grad in grads] == [(0, 2), (0, 2)]


def test_mean_backward_of_an_empty_batch_through_a_graph():
    g, _ = _graph_of(lambda node: node.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(g.forward(x=np.zeros((0, 2))))
        assert g.backward()["x"].shape == (0, 2)


def test_softmax_cross_entropy_with_no_classes_is_refused_clearly():
    with pytest.raises(ValueError, match=r"at least one class, got \(2, 0\)"):
        gates.SoftmaxCrossEntropyGate().forward(np.zeros((2, 0)), np.zeros(2, int))


def test_float_class_indices_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"labels \(2,\) of dtype float64: class indices must be integers"):
        gates.SoftmaxCrossEntropyGate().forward(np.zeros((2, 3)), np.array([0.0, 2.0]))


# -- 7. inputs left as they were, float32 kept, for every gate --------------------------------------

S = (3, 4)
EVERY_GATE = {
    "add": (gates.AddGate, [S, (4,)]),
    "sub": (gates.SubtractGate, [S, (4,)]),
    "mul": (gates.MultiplyGate, [S, (1, 4)]),
    "div": (gates.DivideGate, [S, S]),
    "neg": (gates.NegateGate, [S]),
    "pow": (lambda: gates.PowerGate(np.float64(-1.5)), [S]),
    "pow0": (lambda: gates.PowerGate(np.int64(0)), [S]),
    "max": (gates.MaxGate, [S, S]),
    "min": (gates.MinGate, [S, (4,)]),
    "exp": (gates.ExpGate, [S]),
    "log": (gates.LogGate, [S]),
    "sqrt": (gates.SqrtGate, [S]),
    "abs": (gates.AbsGate, [S]),
    "sigmoid": (gates.SigmoidGate, [S]),
    "tanh": (gates.TanhGate, [S]),
    "relu": (gates.ReLUGate, [S]),
    "leaky_relu": (lambda: gates.LeakyReLUGate(np.float64(0.2)), [S]),
    "softmax": (lambda: gates.SoftmaxGate(-2), [S]),
    "matmul": (gates.MatMulGate, [S, (4, 2)]),
    "linear": (gates.LinearGate, [S, (2, 4), (2,)]),
    "transpose": (lambda: gates.TransposeGate((-1, 0)), [S]),
    "reshape": (lambda: gates.ReshapeGate((2, 6)), [S]),
    "sum": (lambda: gates.SumGate(-1, True), [S]),
    "mean": (lambda: gates.MeanGate((0, -1)), [S]),
    "mse": (gates.MSELossGate, [S, S]),
    "bce": (gates.BinaryCrossEntropyGate, [S, S]),
    "bce_logits": (lambda: gates.BinaryCrossEntropyWithLogitsGate("batchmean"), [S, S]),
    "softmax_ce": (gates.SoftmaxCrossEntropyGate, [S, S]),
    "conv2d": (lambda: gates.Conv2DGate(2, 1), [(2, 3, 5, 4), (2, 3, 3, 3), (2,)]),
    "max_pool2d": (lambda: gates.MaxPool2DGate(2), [(2, 3, 4, 4)]),
    "avg_pool2d": (lambda: gates.AvgPool2DGate(2, 1), [(2, 3, 4, 4)]),
    "batch_norm2d": (lambda: gates.BatchNorm2DGate(3), [(2, 3, 4, 4), (3,), (3,)]),
    "batch_norm2d_eval": (lambda: gates.BatchNorm2DGate(3, training=False), [(2, 3, 4, 4), (3,), (3,)]),
    "dropout": (lambda: gates.DropoutGate(0.5, seed=0), [S]),
    "flatten": (gates.FlattenGate, [(2, 3, 2, 2)]),
}


def _layouts(array):
    """The same values as a read-only array, a negative-stride view and a transposed (Fortran) view."""
    read_only = array.copy()
    read_only.flags.writeable = False
    reversed_view = np.ascontiguousarray(array[::-1])[::-1]
    reversed_view.flags.writeable = False
    transposed = np.asfortranarray(array)
    return {"read-only": read_only, "negative stride": reversed_view, "transposed": transposed}


@pytest.mark.parametrize("layout", ["read-only", "negative stride", "transposed"])
@pytest.mark.parametrize("name", EVERY_GATE)
def test_every_gate_keeps_float32_and_leaves_its_inputs_alone(name, layout, no_warnings):
    make, shapes = EVERY_GATE[name]
    rng = np.random.default_rng(7)
    inputs = [_layouts(rng.uniform(0.1, 0.9, shape).astype(np.float32))[layout] for shape in shapes]
    before = [array.copy() for array in inputs]
    gate = make()
    value = gate.forward(*inputs)
    upstream = np.ones(np.shape(value), np.float32)
    grads = gate.backward(upstream[()])
    tangent = gate.jvp(*(np.ones_like(array) for array in inputs))
    assert np.result_type(value) == np.float32 and np.result_type(tangent) == np.float32
    assert all(np.result_type(grad) == np.float32 for grad in grads)
    for array, copy in zip(inputs, before):
        np.testing.assert_array_equal(array, copy)
    assert np.all(upstream == 1)
