"""The backward pass as gate nodes: g.gradient, hessian, hvp, and third derivatives.

References: PyTorch (``torch.autograd.grad(create_graph=True)``,
``torch.autograd.functional.hessian`` and ``hvp``), test oracle only.
"""

import re

import numpy as np
import pytest
import torch

from gates import Gate, LinearGate, SoftmaxCrossEntropyGate
from graph import ComputationalGraph, GateContractError, GateError, hessian, hvp


def lecture_circuit():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = x + y
    f = q * z
    return g, (x, y, z), f


FEEDS = {"x": -2.0, "y": 5.0, "z": -4.0}


def test_lecture_circuit_gradient_nodes_equal_backward():
    g, (x, y, z), f = lecture_circuit()
    g.forward(FEEDS)
    expected = g.backward()
    dx, dy, dz = g.gradient(f, [x, y, z])
    values = g.forward(FEEDS, outputs=[dx, dy, dz])
    assert [values[node.name] for node in (dx, dy, dz)] == [expected["x"], expected["y"], expected["z"]]
    assert expected == {"x": -4.0, "y": -4.0, "z": 3.0}
    # The add gate distributes: x's and y's gradients are the same upstream node (dq = z), sent twice.
    assert dx.inputs[0] is dy.inputs[0]
    assert {node.scope for node in g if node.kind == "gate" and node not in (f, f.inputs[0])} == {f"grad({f.name})"}


def test_single_wrt_gives_a_node_and_gradients_of_gradients_go_on():
    g, (x, _, z), f = lecture_circuit()
    dx = g.gradient(f, x)  # = z
    ddx_dz = g.gradient(dx, z)  # = 1
    ddx_dx = g.gradient(dx, x)  # = 0: dx does not depend on x
    values = g.forward(FEEDS, outputs=[dx, ddx_dz, ddx_dx])
    assert (values[dx.name], values[ddx_dz.name], values[ddx_dx.name]) == (-4.0, 1.0, 0.0)


def test_building_gradients_leaves_backward_as_it_was():
    g = ComputationalGraph()
    x, w = g.input("x"), g.parameter("w", np.array([0.5, -1.0, 2.0]))
    loss = ((x * w).tanh() * x).sum()
    feeds = {"x": np.array([1.0, 2.0, -0.5])}
    g.forward(feeds, outputs=loss)
    before = g.backward()
    nodes = len(g)
    dw = g.gradient(loss, w)
    assert len(g) > nodes
    g.forward(feeds, outputs=loss)
    after = g.backward()
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    np.testing.assert_array_equal(g.forward(feeds, outputs=dw), after["w"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fan_out_sums_and_float32_stays_float32(dtype):
    g = ComputationalGraph()
    x = g.input("x")
    f = (x * x * x + x.exp() * x).sum()  # x feeds four gates
    feeds = {"x": np.array([0.3, -1.2, 0.7], dtype)}
    g.forward(feeds)
    expected = g.backward()["x"]
    dx = g.gradient(f, x)
    got = g.forward(feeds, outputs=dx)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
    d2 = g.gradient(dx.sum(), x)  # Σ_j d²f/dx_i dx_j: here diagonal, 6x + (2 + x) e^x
    x0 = feeds["x"].astype(np.float64)
    np.testing.assert_allclose(g.forward(feeds, outputs=d2), 6 * x0 + (2 + x0) * np.exp(x0), rtol=1e-6)


@pytest.mark.parametrize(
    ("build", "reference"),
    [
        (lambda x: x**4, lambda x: x**4),
        (lambda x: x.tanh(), torch.tanh),
        (lambda x: x.sigmoid() * x, lambda x: torch.sigmoid(x) * x),
        (lambda x: (x * x).log(), lambda x: torch.log(x * x)),
    ],
    ids=["x**4", "tanh", "x sigmoid", "log x²"],
)
def test_third_derivative_of_a_scalar(build, reference):
    g = ComputationalGraph()
    x = g.input("x")
    f = build(x)
    third = g.gradient(g.gradient(g.gradient(f, x), x), x)
    got = g.forward({"x": 0.7}, outputs=third)
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    value = reference(t)
    for _ in range(3):
        (value,) = torch.autograd.grad(value, t, create_graph=True)
    assert got == pytest.approx(value.item(), rel=1e-12)
    if f.gate.__class__.__name__ == "PowerGate":
        assert got == pytest.approx(24 * 0.7)


def test_seed_node_and_the_error_for_an_output_of_several_elements():
    g = ComputationalGraph()
    x, v = g.input("x"), g.input("v")
    y = x * x
    with_seed = g.gradient(y, x, grad=v)  # vᵀ J = 2 x v
    without = g.gradient(y, x)
    feeds = {"x": np.array([1.0, 2.0]), "v": np.array([3.0, -1.0])}
    np.testing.assert_array_equal(g.forward(feeds, outputs=with_seed), [6.0, -4.0])
    with pytest.raises(GateError, match=r"has shape \(2,\), not one element: .*grad=node"):
        g.forward(feeds, outputs=without)


def test_wrt_the_output_does_not_depend_on_is_zeros():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    f = (x * 2.0).sum()
    dy = g.gradient(f, y)
    got = g.forward({"x": np.ones(2), "y": np.ones((3, 2), np.float32)}, outputs=dy)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.zeros((3, 2)))


class SquareWithoutRule(Gate):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, upstream):
        return (2 * self.x * upstream,)


def test_a_gate_without_a_rule_is_a_clear_error_and_the_graph_is_unchanged():
    g = ComputationalGraph()
    x = g.input("x")
    f = g.add_gate(SquareWithoutRule(), x.tanh(), name="square").sum()
    nodes = len(g)
    with pytest.raises(NotImplementedError, match=r"node 'square' \(SquareWithoutRule\).*has no gradient rule"):
        g.gradient(f, x)
    assert len(g) == nodes
    g.forward({"x": np.ones(2)})
    assert set(g.backward()) == {"x"}  # first order works as ever


def test_a_rule_returning_the_wrong_count_breaks_the_contract():
    class Broken(SquareWithoutRule):
        def gradient(self, upstream, output, x):
            return (upstream, upstream)

    g = ComputationalGraph()
    x = g.input("x")
    f = g.add_gate(Broken(), x, name="broken")
    with pytest.raises(GateContractError, match=r"node 'broken' \(Broken\): gradient must return a tuple of 1"):
        g.gradient(f, x)


# -- Hessians and Hessian-vector products of random expression graphs ------------------------------

UNARY = {
    "tanh": (lambda a: a.tanh(), torch.tanh),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid),
    "exp": (lambda a: (a * 0.5).exp(), lambda a: torch.exp(a * 0.5)),
    "square": (lambda a: a * a, lambda a: a * a),
    "cube": (lambda a: a**3, lambda a: a**3),
    "softmax": (lambda a: a.softmax(), lambda a: torch.softmax(a, -1)),
    "log1p²": (lambda a: (a * a + 1.0).log(), lambda a: torch.log(a * a + 1.0)),
    "sqrt": (lambda a: (a * a + 1.0).sqrt(), lambda a: torch.sqrt(a * a + 1.0)),
    "mean-centred": (lambda a: a - a.mean(), lambda a: a - a.mean()),
    "relu": (lambda a: a.relu() * a, lambda a: torch.relu(a) * a),
}
BINARY = {
    "+": (lambda a, b: a + b, lambda a, b: a + b),
    "-": (lambda a, b: a - b, lambda a, b: a - b),
    "*": (lambda a, b: a * b, lambda a, b: a * b),
    "/": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "max": (lambda a, b: a.maximum(b) * a, lambda a, b: torch.maximum(a, b) * a),
    "matmul": (lambda a, b: (a.reshape(3, 1) @ b.reshape(1, 3)).sum(0), lambda a, b: (a[:, None] @ b[None, :]).sum(0)),
}


def random_expression(seed: int, steps: int = 6):
    """A random expression of two 3-vectors, built twice: as a gategraph graph and as a torch function."""
    rng = np.random.default_rng(seed)
    program = []
    for step in range(steps):
        if rng.random() < 0.5:
            program.append(("unary", str(rng.choice(list(UNARY))), int(rng.integers(0, step + 2))))
        else:
            program.append(("binary", str(rng.choice(list(BINARY))), *map(int, rng.integers(0, step + 2, 2))))

    def run(values, ours: bool):
        pool = list(values)
        for kind, name, *operands in program:
            table = UNARY if kind == "unary" else BINARY
            pool.append(table[name][0 if ours else 1](*(pool[i] for i in operands)))
        return (pool[-1] * pool[-2]).sum() if len(pool) > 2 else pool[-1].sum()

    return run


@pytest.mark.parametrize("seed", range(12))
def test_hessian_and_hvp_of_random_expressions_against_pytorch(seed):
    run = random_expression(seed)
    g = ComputationalGraph()
    f = run([g.input("x"), g.input("y")], ours=True)
    rng = np.random.default_rng(100 + seed)
    feeds = {"x": rng.standard_normal(3), "y": rng.standard_normal(3)}
    vectors = {"x": rng.standard_normal(3), "y": rng.standard_normal(3)}
    nodes = len(g)

    tensors = tuple(torch.tensor(feeds[name]) for name in ("x", "y"))
    blocks = torch.autograd.functional.hessian(lambda x, y: run([x, y], ours=False), tensors)
    _, products = torch.autograd.functional.hvp(
        lambda x, y: run([x, y], ours=False), tensors, tuple(torch.tensor(vectors[n]) for n in ("x", "y"))
    )
    np.testing.assert_allclose(hessian(g, feeds, "x", output=f), blocks[0][0].numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(hessian(g, feeds, "y", output=f.name), blocks[1][1].numpy(), rtol=1e-9, atol=1e-10)
    got = hvp(g, feeds, vectors, output=f)
    assert set(got) <= {"x", "y"}  # those f depends on; the others' products are zero
    for index, name in enumerate(("x", "y")):
        np.testing.assert_allclose(got.get(name, np.zeros(3)), products[index].numpy(), rtol=1e-9, atol=1e-10)
    assert len(g) == nodes  # both work on a copy: the user's graph gains no nodes


def test_hessian_shape_is_wrt_shape_twice():
    g = ComputationalGraph()
    w = g.parameter("w", np.arange(6.0).reshape(2, 3) / 6)
    (w.tanh() * w).sum()
    h = hessian(g, {}, "w")
    assert h.shape == (2, 3, 2, 3)
    t = torch.tensor(w.value, requires_grad=True)
    expected = torch.autograd.functional.hessian(lambda v: (torch.tanh(v) * v).sum(), t)
    np.testing.assert_allclose(h, expected.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hvp_of_a_two_layer_network_loss_against_pytorch(dtype):
    rng = np.random.default_rng(3)
    g = ComputationalGraph()
    x, labels = g.input("X", requires_grad=False), g.input("labels", requires_grad=False)
    w1 = g.parameter("W1", rng.standard_normal((5, 4)).astype(dtype) * 0.5)
    b1 = g.parameter("b1", np.zeros(5, dtype))
    w2 = g.parameter("W2", rng.standard_normal((3, 5)).astype(dtype) * 0.5)
    b2 = g.parameter("b2", rng.standard_normal(3).astype(dtype) * 0.1)
    hidden = g.add_gate(LinearGate(), x, w1, b1).tanh()
    scores = g.add_gate(LinearGate(), hidden, w2, b2)
    g.add_gate(SoftmaxCrossEntropyGate(), scores, labels)
    feeds = {"X": rng.standard_normal((6, 4)).astype(dtype), "labels": rng.integers(0, 3, 6)}
    names = ("W1", "b1", "W2", "b2")
    vectors = {name: rng.standard_normal(g[name].value.shape).astype(dtype) for name in names}
    got = hvp(g, feeds, vectors)

    def loss(w1_, b1_, w2_, b2_):
        h = torch.tanh(torch.tensor(feeds["X"], dtype=torch.float64) @ w1_.T + b1_)
        return torch.nn.functional.cross_entropy(h @ w2_.T + b2_, torch.tensor(feeds["labels"]))

    params = tuple(torch.tensor(g[name].value, dtype=torch.float64) for name in names)
    _, expected = torch.autograd.functional.hvp(
        loss, params, tuple(torch.tensor(vectors[n], dtype=torch.float64) for n in names)
    )
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for name, want in zip(names, expected):
        assert got[name].dtype == dtype
        np.testing.assert_allclose(got[name], want.numpy(), rtol=rtol, atol=rtol * 1e-2)


def test_gradient_nodes_draw_in_their_own_scope():
    g, (x, _, _), f = lecture_circuit()
    g.gradient(f, x)
    g.forward(FEEDS)
    scope = f"grad({f.name})"
    full, collapsed = g.to_dot().source, g.to_dot(collapse=[scope]).source
    assert f'tooltip="{scope}"' in full  # the scope's cluster
    drawn = re.compile(r"^\t+n\d+ \[", re.MULTILINE)  # one statement per node drawn on its own
    assert len(drawn.findall(collapsed)) < len(drawn.findall(full))


def test_hvp_takes_nodes_of_the_users_graph_as_keys():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    f = x * x * y
    assert hvp(g, {"x": 3.0, "y": 2.0}, {x: 1.0, y: 1.0}, output=f) == {"x": 4.0 + 6.0, "y": 6.0}


# -- ONNX: a gradient graph exports like any graph ---------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "batchmean"])
def test_a_training_steps_gradients_run_in_onnx_runtime(reduction):
    import onnxruntime

    from graph import export_onnx

    rng = np.random.default_rng(5)
    g = ComputationalGraph()
    x, labels = g.input("X", requires_grad=False), g.input("labels", requires_grad=False)
    w1, b1 = g.parameter("W1", rng.standard_normal((6, 4)) * 0.5), g.parameter("b1", np.zeros(6))
    w2, b2 = g.parameter("W2", rng.standard_normal((3, 6)) * 0.5), g.parameter("b2", np.zeros(3))
    hidden = g.add_gate(LinearGate(), x, w1, b1).relu()
    scores = g.add_gate(LinearGate(), hidden.maximum(hidden * 0.1), w2, b2)  # a leaky ReLU from max
    loss = g.add_gate(SoftmaxCrossEntropyGate(reduction), scores, labels, name="loss")
    # Seeded with the constant 1 rather than a seed node read off the loss, which has no ONNX mapping.
    grads = g.gradient(loss, [w1, b1, w2, b2], grad=1.0)
    model = export_onnx(
        g, None, outputs=list(grads), feeds={"X": rng.standard_normal((8, 4)), "labels": rng.integers(0, 3, 8)}
    )
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    batch = {"X": rng.standard_normal((5, 4)), "labels": rng.integers(0, 3, 5)}  # another batch size
    g.forward(batch, outputs=loss)
    expected = g.backward()
    outputs = session.run(
        [node.name for node in grads],
        {"X": batch["X"].astype(np.float32), "labels": batch["labels"].astype(np.float32)},
    )
    for name, got in zip(("W1", "b1", "W2", "b2"), outputs):
        np.testing.assert_allclose(got, expected[name], rtol=1e-4, atol=1e-6)


def test_gradients_of_a_mean_loss_from_primitive_gates_run_in_onnx_runtime_at_any_batch_size():
    import onnxruntime

    from graph import export_onnx

    rng = np.random.default_rng(6)
    g = ComputationalGraph()
    x, y = g.input("X", requires_grad=False), g.input("Y", requires_grad=False)
    w, b = g.parameter("W", rng.standard_normal((2, 3))), g.parameter("b", rng.standard_normal(2))
    prediction = ((x @ w.T + b).tanh().abs() + (x.sum(1, keepdims=True) * 0.5).sigmoid()).reshape(-1)
    loss = ((prediction - y) ** 2).mean()
    grads = g.gradient(loss, [w, b])  # seeded by a node read off the loss, exported too
    model = export_onnx(g, None, outputs=list(grads), feeds={"X": rng.standard_normal((4, 3)), "Y": np.ones(8)})
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    batch = {"X": rng.standard_normal((7, 3)), "Y": rng.standard_normal(14)}
    g.forward(batch, outputs=loss)
    expected = g.backward()
    got = session.run([node.name for node in grads], {name: value.astype(np.float32) for name, value in batch.items()})
    np.testing.assert_allclose(got[0], expected["W"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[1], expected["b"], rtol=1e-4, atol=1e-6)
