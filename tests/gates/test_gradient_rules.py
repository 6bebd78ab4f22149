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

import warnings
import zlib

import autograd
import numpy as np
import pytest
import torch
from opinfo_samples import TOLERANCES, samples
from test_opinfo import TABLE

from gates import Gate
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
from graph import ComputationalGraph, check_gate

# The image gates (gates/conv.py) came after the gradient rules and have none yet: higher orders through
# them are refused with a clear error (tested below), and they are left out of the rule checks.
WITHOUT_RULE = {"conv2d", "max_pool2d", "avg_pool2d", "batch_norm2d", "dropout", "flatten"}
RULED = [op for op in TABLE if op.name not in WITHOUT_RULE]

FIRST_ORDER = [
    sample for op in RULED for sample in samples(op) if sample.id.endswith(("-contiguous", "-pyfloat", "-strided"))
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
        value = g.forward(feeds)
        seed = np.array(np.random.default_rng(zlib.crc32(sample.id.encode())).standard_normal(np.shape(value)), dtype)
        expected = g.backward(grad=seed)
        wrt = [node for node in nodes if node.requires_grad]
        grads = g.gradient(output, wrt, grad=upstream)
        got = g.forward({**feeds, "upstream": seed}, outputs=list(grads))
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    for node, grad in zip(wrt, grads):
        value = got[grad.name]
        assert np.asarray(value).dtype == np.asarray(expected[node.name]).dtype == dtype
        np.testing.assert_allclose(value, expected[node.name], rtol=rtol, atol=atol, equal_nan=True)
        assert grad.scope == f"grad({output.name})"


CASES = [
    pytest.param(op, case, id=f"{op.name}[{i}]")
    for op in RULED
    for i, case in enumerate(op.cases)
    if not any(0 in shape for shape in case.shapes) or op.name in ("mse", "sum", "mean", "matmul")
]


def _inputs(op, case, dtype=np.float64):
    rng = np.random.default_rng(zlib.crc32(f"{op.name}{case}".encode()))
    made = [np.asarray(make(shape, rng)) for make, shape in zip(op.domain, case.shapes)]
    return [x.astype(dtype) if _floating(x) else x for x in made]


@pytest.mark.parametrize(("op", "case"), CASES)
def test_check_gate_second_order(op, case):
    errors = check_gate(op.gate(**case.arguments), *_inputs(op, case), order=2, rtol=1e-4, atol=1e-6)
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


@pytest.mark.parametrize(("gate", "inputs"), GRADIENT_GATES)
def test_gradient_gates_first_and_second_order(gate, inputs):
    import copy

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


def test_exactly_the_gates_without_a_rule_refuse_higher_orders_naming_the_gate():
    for op in TABLE:
        case = op.cases[0]
        gate = op.gate(**case.arguments)
        assert (type(gate).gradient is Gate.gradient) == (op.name in WITHOUT_RULE), op.name
        if op.name not in WITHOUT_RULE:
            continue
        g, nodes, output, upstream = _graph_of(gate, _inputs(op, case))
        size = len(g)
        with pytest.raises(NotImplementedError, match=type(gate).__name__):
            g.gradient(output, nodes[0], grad=upstream)
        assert len(g) == size  # refused before any node was added
