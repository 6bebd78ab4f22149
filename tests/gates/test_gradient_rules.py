"""Every gate's gradient rule (its backward written with gates), on the op-info table's samples.

Three checks per gate:

- the rule computes what ``backward`` returns: gradient nodes built by
  ``g.gradient`` and run forward equal ``g.backward()``'s gradients, float32
  kept float32 (every case and singular point of the table, contiguous inputs
  and Python floats);
- ``check_gate(gate, *inputs, order=2)``: the rule differentiated by a backward
  pass against centred differences of ``backward`` (every case, float64);
- second derivatives against PyTorch (``torch.autograd.grad(...,
  create_graph=True)``) and HIPS autograd, as ``d/d(inputs, upstream) Σ <w, grad>``
  for a random upstream and random weights (every case, float32 and float64).

The gradient gates of gates/gradient.py get the same checks from tests/graph/test_higher_order.py
and below, through check_gate and third derivatives.
"""

import copy
import warnings
import zlib

import autograd
import numpy as np
import pytest
import torch
from opinfo_samples import TOLERANCES, samples
from test_conv import FixedMaskDropout
from test_opinfo import TABLE

from gates import (
    AvgPool2DGate,
    BatchNorm2DGate,
    Conv2DGate,
    DropoutGate,
    FlattenGate,
    Gate,
    LinearGate,
    MaxPool2DGate,
    SoftmaxCrossEntropyGate,
)
from gates.conv_gradient import (
    AvgPool2DSpreadGate,
    BatchNormEvalGate,
    BatchNormModeGate,
    Conv2DInputGradientGate,
    Conv2DNoBiasGate,
    Conv2DWeightGradientGate,
    DropoutMaskGate,
    MaxPool2DGatherGate,
    MaxPool2DRouteGate,
)
from gates.gradient import (
    BroadcastToGate,
    CollectGate,
    LogSoftmaxGate,
    MatMulGradientGate,
    ReLUMaskGate,
    ReshapeLikeGate,
    RouteGate,
    SpreadGate,
    SumToGate,
)
from graph import ComputationalGraph, GateError, check_gate

FIRST_ORDER = [
    sample for op in TABLE for sample in samples(op) if sample.id.endswith(("-contiguous", "-pyfloat", "-strided"))
]


def _floating(x) -> bool:
    return np.asarray(x).dtype.kind == "f"


def _graph_of(gate: Gate, inputs):
    """A graph of one gate on inputs x0, x1, ... (integer ones need no gradient) and an upstream input."""
    g = ComputationalGraph()
    nodes = [g.input(f"x{i}", requires_grad=_floating(x)) for i, x in enumerate(inputs)]
    output = g.add_gate(gate, *nodes)
    return g, nodes, output, g.input("upstream")


@pytest.mark.parametrize("sample", FIRST_ORDER, ids=lambda sample: sample.id)
def test_gradient_nodes_equal_backward(sample):
    g, nodes, output, upstream = _graph_of(sample.op.gate(**sample.arguments), sample.inputs)
    feeds = {f"x{i}": x for i, x in enumerate(sample.inputs)}
    dtype = next(np.asarray(x).dtype for x in sample.inputs if _floating(x))
    with np.errstate(all="ignore"):  # singular points: infinities are expected, and compared
        shape = np.shape(g.forward(feeds))
        seed = np.array(np.random.default_rng(zlib.crc32(sample.id.encode())).standard_normal(shape), dtype)
        wrt = [node for node in nodes if node.requires_grad]
        grads = g.gradient(output, wrt, grad=upstream)
        # one forward for both, then backward: dropout draws a new mask at each forward
        got = g.forward({**feeds, "upstream": seed}, outputs=[output, *grads])
        expected = g.backward(grad=seed, output=output)
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    for node, grad in zip(wrt, grads):
        value = got[grad.name]
        assert np.asarray(value).dtype == np.asarray(expected[node.name]).dtype == dtype
        np.testing.assert_allclose(value, expected[node.name], rtol=rtol, atol=atol, equal_nan=True)
        assert grad.scope == f"grad({output.name})"


CASES = [
    pytest.param(op, case, id=f"{op.name}[{i}]")
    for op in TABLE
    for i, case in enumerate(op.cases)
    if not any(0 in shape for shape in case.shapes) or op.name in ("mse", "sum", "mean", "matmul")
]


def _inputs(op, case, dtype=np.float64):
    rng = np.random.default_rng(zlib.crc32(f"{op.name}{case}".encode()))
    made = [np.asarray(make(shape, rng)) for make, shape in zip(op.domain, case.shapes)]
    return [x.astype(dtype) if _floating(x) else x for x in made]


def _checkable(op, case) -> Gate:
    """The entry's gate, but dropout drawing one mask at every forward: centred differences run it many times."""
    if op.name == "dropout":
        return FixedMaskDropout(**case.arguments)
    return op.gate(**case.arguments)


@pytest.mark.parametrize(("op", "case"), CASES)
def test_check_gate_second_order(op, case):
    errors = check_gate(_checkable(op, case), *_inputs(op, case), order=2, rtol=1e-4, atol=1e-6)
    inputs = _inputs(op, case)
    assert set(errors) == {i for i, x in enumerate(inputs) if _floating(x)} | {len(inputs)}


def _ours(op, case, inputs, upstream, weights):
    """d/d(inputs, upstream) of Σ_i <w_i, dL/dx_i> through the gradient graph, by backward."""
    g, nodes, output, up = _graph_of(op.gate(**case.arguments), inputs)
    wanted = [node for node in nodes if node.requires_grad]
    grads = g.gradient(output, wanted, grad=up)
    dtype = np.asarray(upstream).dtype
    weights = [np.asarray(w, dtype) for w in weights]  # float32 weights keep a float32 graph float32
    total = grads[0] * weights[0]
    total = total.sum()
    for grad, weight in zip(grads[1:], weights[1:]):
        total = total + (grad * weight).sum()
    g.forward({**{f"x{i}": x for i, x in enumerate(inputs)}, "upstream": upstream}, outputs=total)
    found = g.backward()
    names = [node.name for node in wanted] + ["upstream"]
    values = [*(x for x in inputs if _floating(x)), upstream]
    return [found.get(name, np.zeros(np.shape(value), np.asarray(value).dtype)) for name, value in zip(names, values)]


def _torch(op, case, inputs, upstream, weights):
    weights = [np.asarray(w, np.float32 if np.asarray(upstream).dtype == np.float32 else np.float64) for w in weights]
    tensors = [
        torch.tensor(np.array(x, np.float64), requires_grad=True) if _floating(x) else torch.tensor(x) for x in inputs
    ]
    wanted = [t for t in tensors if t.requires_grad]
    up = torch.tensor(np.array(upstream, np.float64), requires_grad=True)
    out = op.torch(*tensors, **case.arguments)
    grads = torch.autograd.grad(out, wanted, up, create_graph=True, allow_unused=True)
    total = sum((grad * torch.tensor(w)).sum() for grad, w in zip(grads, weights) if grad is not None)
    if not total.requires_grad:  # a gradient that does not move (x ** 0): second derivatives zero
        return [np.zeros(t.shape) for t in [*wanted, up]]
    seconds = torch.autograd.grad(total, [*wanted, up], allow_unused=True)
    return [np.zeros(t.shape) if s is None else s.numpy(force=True) for t, s in zip([*wanted, up], seconds)]


def _autograd(op, case, inputs, upstream, weights):
    arrays = [np.array(x, np.float64) if _floating(x) else x for x in inputs]
    positions = [i for i, x in enumerate(arrays) if _floating(x)]

    def total(differentiable, up):
        def function(*moved):
            full = list(arrays)
            for position, value in zip(positions, moved):
                full[position] = value
            return op.autograd(*full, **case.arguments)

        vjp, _ = autograd.make_vjp(function, argnum=list(range(len(positions))))(*differentiable)
        return sum(autograd.numpy.sum(grad * w) for grad, w in zip(vjp(up), weights))

    wanted = [arrays[i] for i in positions]
    seconds = autograd.grad(total, argnum=(0, 1))(wanted, np.array(upstream, np.float64))
    return [*seconds[0], seconds[1]]


# Left out: empty batches of a mean loss, where both references give d/d(upstream) = 0 · (1/0) = nan
# for a function that is 0 everywhere (check_gate(order=2) checks our 0 numerically).
ORACLE_CASES = [c for c in CASES if not (c.values[0].name == "mse" and 0 in c.values[1].shapes[0])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("op", "case"), ORACLE_CASES)
def test_second_derivatives_against_pytorch_and_autograd(op, case, dtype):
    inputs = _inputs(op, case, dtype)
    rng = np.random.default_rng(7)
    out = op.gate(**case.arguments).forward(*inputs)
    upstream = np.array(rng.standard_normal(np.shape(out)), dtype)
    weights = [rng.standard_normal(np.shape(x)) for x in inputs if _floating(x)]
    ours = _ours(op, case, inputs, upstream, weights)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        references = {"torch": _torch(op, case, inputs, upstream, weights)}
        references["autograd"] = _autograd(op, case, inputs, upstream, weights)
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    for oracle, expected in references.items():
        for k, (got, want) in enumerate(zip(ours, expected)):
            assert np.asarray(got).dtype == dtype, f"{oracle} {k}"
            scale = max(1.0, float(np.max(np.abs(want)))) if np.size(want) else 1.0
            np.testing.assert_allclose(got, want, rtol=rtol * 10, atol=atol * 10 * scale, err_msg=f"{oracle} {k}")


# -- the gradient gates themselves ---------------------------------------------------------------------


def _normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


GRADIENT_GATES = [
    pytest.param(SumToGate(), (_normal(4, 3), _normal(3)), id="sum_to"),
    pytest.param(SumToGate(), (_normal(2, 3), _normal(2, 1)), id="sum_to-keep"),
    pytest.param(BroadcastToGate(), (_normal(3), _normal(4, 3)), id="broadcast_to"),
    pytest.param(ReshapeLikeGate(), (_normal(6), _normal(2, 3)), id="reshape_like"),
    pytest.param(SpreadGate(1), (_normal(2), _normal(2, 3)), id="spread"),
    pytest.param(
        SpreadGate((0, 2), keepdims=True, average=True), (_normal(1, 3, 1), _normal(2, 3, 4)), id="spread-mean"
    ),
    pytest.param(CollectGate(-1, average=True), (_normal(2, 3),), id="collect-mean"),
    pytest.param(CollectGate(), (_normal(2, 3),), id="collect"),
    pytest.param(ReLUMaskGate(), (_normal(5), _normal(5, seed=1)), id="relu_mask"),
    pytest.param(ReLUMaskGate(0.2), (_normal(5), _normal(5, seed=1)), id="leaky_mask"),
    pytest.param(RouteGate(">=", True), (_normal(2, 3), _normal(2, 3, seed=1), _normal(3, seed=2)), id="route-x"),
    pytest.param(RouteGate("<=", False), (_normal(2, 3), _normal(3, seed=1), _normal(2, 3, seed=2)), id="route-y"),
    pytest.param(LogSoftmaxGate(0), (_normal(3, 4),), id="log_softmax"),
    pytest.param(MatMulGradientGate("x"), (_normal(3, 2), _normal(3, 4), _normal(4, 2)), id="matmul_grad-x"),
    pytest.param(MatMulGradientGate("y"), (_normal(3, 2), _normal(3, 4), _normal(4, 2)), id="matmul_grad-y"),
    pytest.param(MatMulGradientGate("x"), (_normal(2), _normal(4), _normal(4, 2)), id="matmul_grad-x-1d"),
    pytest.param(MatMulGradientGate("y"), (_normal(2, 3), _normal(2, 3, 4), _normal(4)), id="matmul_grad-y-batch"),
]


def _after_forward(gate: Gate, *inputs) -> tuple[Gate, np.ndarray]:
    """The gate run forward once, and its output: the gradient gates of dropout and batch norm read its state."""
    return gate, gate.forward(*inputs)


def _dropout_mask(p: float, training: bool):
    dropout, output = _after_forward(DropoutGate(p, seed=4, training=training), _normal(2, 3, 4))
    return DropoutMaskGate(dropout), (_normal(2, 3, 4, seed=1), output)


def _batch_norm(make, training: bool, normalizes_x: bool = False):
    """``make(batchnorm)`` after a forward of it; the first input is X where the gate normalises X."""
    batchnorm = BatchNorm2DGate(3, training=training)
    batchnorm.running_mean[...], batchnorm.running_var[...] = _normal(3, seed=5), 1 + _normal(3, seed=6) ** 2
    x = _normal(2, 3, 4, 5)
    _, output = _after_forward(batchnorm, x, _normal(3, seed=2), _normal(3, seed=3))
    return make(batchnorm), (x if normalizes_x else _normal(2, 3, 4, 5, seed=4), output)


def _conv_input(stride, padding, x_shape, w_shape):
    gate = Conv2DInputGradientGate(stride, padding)
    z_shape = Conv2DGate(stride, padding).forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0])).shape
    return gate, (_normal(*z_shape), _normal(*w_shape, seed=1), _normal(*x_shape, seed=2))


def _conv_weight(stride, padding, x_shape, w_shape):
    gate = Conv2DWeightGradientGate(stride, padding)
    z_shape = Conv2DGate(stride, padding).forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0])).shape
    return gate, (_normal(*z_shape), _normal(*x_shape, seed=1), _normal(*w_shape, seed=2))


CONV_SETTINGS = [
    pytest.param(1, 0, (2, 3, 5, 5), (4, 3, 3, 3), id="plain"),
    pytest.param(2, 1, (1, 2, 6, 5), (3, 2, 3, 2), id="stride2-pad1"),  # the floor drops a row and a column
    pytest.param((1, 2), (2, 0), (2, 1, 4, 5), (2, 1, 2, 2), id="rectangular"),
    pytest.param(1, 2, (1, 2, 3, 3), (2, 2, 2, 2), id="padding-past-kernel"),
]
IMAGE_GRADIENT_GATES = [
    *(pytest.param(*_conv_input(*s.values), id=f"conv_grad_x-{s.id}") for s in CONV_SETTINGS),
    *(pytest.param(*_conv_weight(*s.values), id=f"conv_grad_w-{s.id}") for s in CONV_SETTINGS),
    pytest.param(Conv2DNoBiasGate(2, 1), (_normal(2, 3, 5, 4), _normal(2, 3, 3, 3, seed=1)), id="conv_no_bias"),
    pytest.param(MaxPool2DRouteGate(2), (_normal(2, 3, 2, 2), _normal(2, 3, 4, 5, seed=1)), id="maxpool_route"),
    pytest.param(
        MaxPool2DRouteGate(3, 1), (_normal(1, 2, 3, 2), _normal(1, 2, 5, 4, seed=1)), id="maxpool_route-overlap"
    ),
    pytest.param(
        MaxPool2DGatherGate((2, 3), (1, 2)), (_normal(1, 2, 4, 7), _normal(1, 2, 4, 7, seed=1)), id="maxpool_gather"
    ),
    pytest.param(AvgPool2DSpreadGate(2), (_normal(2, 3, 2, 2), _normal(2, 3, 5, 4, seed=1)), id="avgpool_spread"),
    pytest.param(
        AvgPool2DSpreadGate(3, 1), (_normal(1, 2, 3, 2), _normal(1, 2, 5, 4, seed=1)), id="avgpool_spread-overlap"
    ),
    pytest.param(*_dropout_mask(0.4, True), id="dropout_mask"),
    pytest.param(*_dropout_mask(0.4, False), id="dropout_mask-eval"),
    pytest.param(*_batch_norm(lambda bn: BatchNormModeGate(bn, True), True), id="batchnorm_mode"),
    pytest.param(*_batch_norm(BatchNormEvalGate, False, normalizes_x=True), id="batchnorm_eval"),
    pytest.param(*_batch_norm(lambda bn: BatchNormEvalGate(bn, centre=False), False), id="batchnorm_eval-scale"),
]


@pytest.mark.parametrize(("gate", "inputs"), GRADIENT_GATES + IMAGE_GRADIENT_GATES)
def test_gradient_gates_first_and_second_order(gate, inputs):
    check_gate(copy.deepcopy(gate), *inputs)
    check_gate(copy.deepcopy(gate), *inputs, order=2, rtol=1e-4, atol=1e-6)


def test_check_gate_second_order_catches_a_wrong_rule():
    class CubeGate(Gate):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, upstream):
            return (3 * self.x**2 * upstream,)

        def gradient(self, upstream, output, x):
            return (3 * x * upstream,)  # x where x² belongs: the values differ from backward's

    with pytest.raises(AssertionError, match="CubeGate gradient rule, input 0: node value vs backward"):
        check_gate(CubeGate(), np.array([0.5, 2.0]), order=2)


def test_check_gate_order_must_be_one_or_two():
    from gates import ExpGate

    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        check_gate(ExpGate(), np.ones(2), order=3)


def test_check_gate_second_order_catches_a_rule_right_in_value_wrong_in_derivative():
    class FrozenGate(Gate):
        """Identity whose derivative is dropped: a rule using it has backward's values, not its derivatives."""

        def forward(self, x):
            self.x = x
            return x

        def backward(self, upstream):
            return (np.zeros_like(self.x),)

        def gradient(self, upstream, output, x):
            return (None,)

    class CubeGate(Gate):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, upstream):
            return (3 * self.x**2 * upstream,)

        def gradient(self, upstream, output, x):
            frozen = x.graph.add_gate(FrozenGate(), x)
            return (3 * frozen**2 * upstream,)

    with pytest.raises(AssertionError, match=r"CubeGate second order, d/d input 0: element \(0,\)"):
        check_gate(CubeGate(), np.array([0.5, 2.0]), order=2)
    check_gate(CubeGate(), np.array([0.5, 2.0]))  # its first order is right


# -- the image gates' rules in networks --------------------------------------------------------------


def _conv_net(dtype, batchnorm_training: bool, pool):
    """conv, batch norm, ReLU, pooling, conv, average pooling, flatten, linear, softmax cross-entropy."""
    rng = np.random.default_rng(8)
    g = ComputationalGraph()
    x, labels = g.input("X", requires_grad=False), g.input("labels", requires_grad=False)
    shapes = {"W1": (3, 1, 3, 3), "b1": (3,), "W2": (2, 3, 2, 2), "b2": (2,), "Wl": (3, 2), "bl": (3,)}
    params = {
        name: g.parameter(name, (0.5 * rng.standard_normal(shape)).astype(dtype)) for name, shape in shapes.items()
    }
    gamma = g.parameter("gamma", (1 + 0.2 * rng.standard_normal(3)).astype(dtype))
    beta = g.parameter("beta", (0.1 * rng.standard_normal(3)).astype(dtype))
    batchnorm = BatchNorm2DGate(3, training=batchnorm_training, dtype=dtype)
    batchnorm.running_mean[...], batchnorm.running_var[...] = 0.1 * rng.standard_normal(3), 1 + rng.random(3)
    a = g.add_gate(Conv2DGate(padding=1), x, params["W1"], params["b1"])
    a = g.add_gate(pool, g.add_gate(batchnorm, a, gamma, beta).relu())
    a = g.add_gate(DropoutGate(0.5, training=False), a)
    a = g.add_gate(Conv2DGate(stride=2, padding=1), a, params["W2"], params["b2"])
    a = g.add_gate(FlattenGate(), g.add_gate(AvgPool2DGate(2), a))
    g.add_gate(SoftmaxCrossEntropyGate(), g.add_gate(LinearGate(), a, params["Wl"], params["bl"]), labels, name="loss")
    feeds = {"X": rng.standard_normal((4, 1, 6, 6)).astype(dtype), "labels": rng.integers(0, 3, 4)}
    return g, feeds, batchnorm


def _torch_conv_net_loss(feeds, batchnorm, pool):
    x, labels = torch.tensor(np.asarray(feeds["X"], np.float64)), torch.tensor(feeds["labels"])
    mean, var = (torch.tensor(np.asarray(s, np.float64)) for s in (batchnorm.running_mean, batchnorm.running_var))
    functional = torch.nn.functional

    def loss(w1, b1, gamma, beta, w2, b2, wl, bl):
        a = functional.conv2d(x, w1, b1, padding=1)
        a = functional.batch_norm(a, mean.clone(), var.clone(), gamma, beta, training=batchnorm.training, eps=1e-5)
        a = pool(functional.relu(a))
        a = functional.avg_pool2d(functional.conv2d(a, w2, b2, stride=2, padding=1), 2).flatten(1)
        return functional.cross_entropy(a @ wl.T + bl, labels)

    return loss


NET_PARAMETERS = ("W1", "b1", "gamma", "beta", "W2", "b2", "Wl", "bl")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False], ids=["batchnorm-training", "batchnorm-eval"])
def test_hvp_of_a_conv_net_loss_against_pytorch(dtype, training):
    from graph import hvp

    g, feeds, batchnorm = _conv_net(dtype, training, MaxPool2DGate(2))
    rng = np.random.default_rng(9)
    vectors = {name: rng.standard_normal(g[name].value.shape).astype(dtype) for name in NET_PARAMETERS}
    reference_batchnorm = copy.deepcopy(batchnorm)  # running statistics before hvp's forward moves them
    got = hvp(g, feeds, vectors)

    loss = _torch_conv_net_loss(feeds, reference_batchnorm, lambda a: torch.nn.functional.max_pool2d(a, 2))
    params = tuple(torch.tensor(np.asarray(g[name].value, np.float64)) for name in NET_PARAMETERS)
    _, expected = torch.autograd.functional.hvp(
        loss, params, tuple(torch.tensor(np.asarray(vectors[name], np.float64)) for name in NET_PARAMETERS)
    )
    rtol, atol = (2e-3, 1e-4) if dtype == np.float32 else (1e-8, 1e-10)
    for name, want in zip(NET_PARAMETERS, expected):
        assert got[name].dtype == dtype, name
        assert np.any(want.numpy() != 0), name  # every parameter's curvature is exercised
        np.testing.assert_allclose(got[name], want.numpy(), rtol=rtol, atol=atol, err_msg=name)


def test_a_conv_nets_gradients_run_in_onnx_runtime():
    import onnxruntime

    from graph import export_onnx

    g, feeds, _ = _conv_net(np.float64, False, AvgPool2DGate(2))
    wrt = [g[name] for name in NET_PARAMETERS] + [g["X"]]
    g["X"].requires_grad = True
    grads = g.gradient("loss", wrt, grad=1.0)  # a constant seed: the seed gate has no ONNX mapping
    model = export_onnx(g, None, outputs=list(grads), feeds=feeds)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    batch = {"X": np.random.default_rng(1).standard_normal((3, 1, 6, 6)), "labels": np.array([0, 2, 1])}
    g.forward(batch, outputs="loss")
    expected = g.backward()
    outputs = session.run(
        [node.name for node in grads], {name: value.astype(np.float32) for name, value in batch.items()}
    )
    for node, got in zip(wrt, outputs):
        np.testing.assert_allclose(got, expected[node.name], rtol=1e-4, atol=1e-5, err_msg=node.name)


def test_a_batch_norm_gradient_built_in_one_mode_refuses_a_forward_in_the_other():
    g, feeds, batchnorm = _conv_net(np.float64, True, AvgPool2DGate(2))
    grads = g.gradient("loss", [g["gamma"], g["W1"]])
    g.forward(feeds, outputs=list(grads))  # built and run in training mode
    batchnorm.training = False
    with pytest.raises(
        GateError, match=r"built for BatchNorm2DGate\(3.*in training mode, but the forward ran it in eval"
    ):
        g.forward(feeds, outputs=list(grads))
    batchnorm.training = True
    g.forward(feeds, outputs=list(grads))  # the same mode again: fine


def test_dropouts_gradient_uses_the_mask_of_the_same_forward():
    g = ComputationalGraph()
    x = g.input("x")
    dropout = DropoutGate(0.5, seed=3)
    f = (g.add_gate(dropout, x) * x).sum()  # f = Σ m x², df/dx = 2 m x
    dx = g.gradient(f, x)
    values = np.arange(1.0, 9.0)
    for _ in range(3):  # a new mask each forward, and the gradient follows it
        got = g.forward(x=values, outputs=[f, dx])[dx.name]
        np.testing.assert_array_equal(got, 2 * dropout.mask * values)
    assert len({tuple(g.forward(x=values, outputs=dx)) for _ in range(4)}) > 1


def _wrong_shape_for_batch_norm(make, training: bool):
    gate, (first, output) = _batch_norm(make, training, normalizes_x=True)
    return gate, (first[:, :, :2], output)


def _wrong_shape_for_dropout():
    gate, (upstream, output) = _dropout_mask(0.4, True)
    return gate, (upstream[:, :1], output)  # would broadcast against the mask


@pytest.mark.parametrize(
    ("gate", "inputs", "message"),
    [
        pytest.param(
            Conv2DInputGradientGate(padding=1),
            (np.ones((1, 2, 3, 3)), np.ones((2, 3, 3, 3)), np.ones((1, 3, 4, 4))),
            r"Conv2DInputGradientGate takes the upstream \(N, F, Ho, Wo\) of shape \(1, 2, 4, 4\), got \(1, 2, 3, 3\)",
            id="conv_grad_x-upstream",
        ),
        pytest.param(
            Conv2DInputGradientGate(),
            (np.ones((1, 2, 3, 3)), np.ones((2, 3, 2, 2)), np.ones((1, 1, 4, 4))),
            r"W \(F, C, kh, kw\) and images X \(N, C, H, W\) with the same C; got W \(2, 3, 2, 2\), X \(1, 1, 4, 4\)",
            id="conv_grad_x-channels",
        ),
        pytest.param(
            Conv2DWeightGradientGate(stride=2),
            (np.ones((1, 2, 3, 3)), np.ones((1, 3, 5, 5)), np.ones((2, 3, 2, 2))),
            r"Conv2DWeightGradientGate takes the upstream \(N, F, Ho, Wo\) of shape \(1, 2, 2, 2\), got \(1, 2, 3, 3\)",
            id="conv_grad_w-upstream",
        ),
        pytest.param(
            MaxPool2DRouteGate(2),
            (np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4))),
            r"MaxPool2DRouteGate takes the upstream \(N, C, Ho, Wo\) of shape \(1, 1, 2, 2\), got \(1, 1, 3, 3\)",
            id="maxpool_route-upstream",
        ),
        pytest.param(
            MaxPool2DGatherGate(3),
            (np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2))),
            r"MaxPool2DGatherGate takes images X of shape \(N, C, H, W\) at least as large as its kernel \(3, 3\)",
            id="maxpool_gather-small",
        ),
        pytest.param(
            MaxPool2DGatherGate(2),
            (np.ones((1, 1, 4, 2)), np.ones((1, 1, 4, 4))),
            r"MaxPool2DGatherGate takes values V \(shaped like X\) of shape \(1, 1, 4, 4\), got \(1, 1, 4, 2\)",
            id="maxpool_gather-values",
        ),
        pytest.param(
            AvgPool2DSpreadGate(2),
            (np.ones((1, 1, 2, 2)), np.ones((4, 4))),
            r"AvgPool2DSpreadGate takes images X of shape \(N, C, H, W\) .*got shape \(4, 4\)",
            id="avgpool_spread-not-images",
        ),
        pytest.param(
            *_wrong_shape_for_dropout(),
            r"DropoutMaskGate takes the upstream \(shaped like the dropout's output\) of shape \(2, 3, 4\)",
            id="dropout_mask",
        ),
        pytest.param(
            *_wrong_shape_for_batch_norm(lambda bn: BatchNormModeGate(bn, True), True),
            r"BatchNormModeGate takes the upstream \(shaped like the batch norm's output\) of shape \(2, 3, 4, 5\)",
            id="batchnorm_mode",
        ),
        pytest.param(
            *_wrong_shape_for_batch_norm(BatchNormEvalGate, False),
            r"BatchNormEvalGate takes V \(shaped like the batch norm's output\) of shape \(2, 3, 4, 5\), got \(2, 3, 2",
            id="batchnorm_eval",
        ),
    ],
)
def test_image_gradient_gates_name_an_input_of_the_wrong_shape(gate, inputs, message):
    with pytest.raises(ValueError, match=message):
        gate.forward(*inputs)


def test_image_gradient_gates_name_a_bad_kernel_stride_or_padding():
    with pytest.raises(ValueError, match="Conv2DInputGradientGate stride must be at least 1"):
        Conv2DInputGradientGate(stride=0)
    with pytest.raises(TypeError, match="MaxPool2DRouteGate kernel must be an int or a pair of ints"):
        MaxPool2DRouteGate((2, 2, 2))
    with pytest.raises(ValueError, match="AvgPool2DSpreadGate kernel must be at least 1"):
        AvgPool2DSpreadGate(0)
