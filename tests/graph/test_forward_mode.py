"""Forward mode: every gate's jvp against numerical directional derivatives, and <u, J v> == <Jᵀu, v>."""

import numpy as np
import pytest
from inputs import away_from_zero, normal, positive, probability

import gates
from gates import (
    AbsGate,
    AddGate,
    AvgPool2DGate,
    BatchNorm2DGate,
    BinaryCrossEntropyGate,
    BinaryCrossEntropyWithLogitsGate,
    Conv2DGate,
    DivideGate,
    DropoutGate,
    ExpGate,
    FlattenGate,
    Gate,
    LeakyReLUGate,
    LinearGate,
    LogGate,
    MatMulGate,
    MaxGate,
    MaxPool2DGate,
    MeanGate,
    MinGate,
    MSELossGate,
    MultiplyGate,
    NegateGate,
    PowerGate,
    ReLUGate,
    ReshapeGate,
    SigmoidGate,
    SoftmaxCrossEntropyGate,
    SoftmaxGate,
    SqrtGate,
    SubtractGate,
    SumGate,
    TanhGate,
    TransposeGate,
)
from graph import ComputationalGraph, FeedError, GateContractError, ShapeError


def probability_rows(shape, rng):
    rows = rng.uniform(0.1, 1.0, shape)
    return rows / rows.sum(axis=-1, keepdims=True)


def labels(shape, rng):
    return rng.integers(0, 4, shape)


def even(shape, rng):
    """Near even numbers; with :func:`odd`, max and min have no ties within a step."""
    return 2.0 * rng.integers(-3, 3, shape) + rng.uniform(-0.1, 0.1, shape)


def odd(shape, rng):
    return even(shape, rng) + 1.0


BROADCAST_PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), ()), ((2, 1), (1, 3))]

# (gate factory, [(shape, generator), ...]) for every gate, shapes including () and broadcasting
CASES = []
for x_shape, y_shape in BROADCAST_PAIRS:
    pair = f"{x_shape}-{y_shape}"
    CASES += [
        (f"add{pair}", AddGate, [(x_shape, normal), (y_shape, normal)]),
        (f"sub{pair}", SubtractGate, [(x_shape, normal), (y_shape, normal)]),
        (f"mul{pair}", MultiplyGate, [(x_shape, normal), (y_shape, normal)]),
        (f"div{pair}", DivideGate, [(x_shape, normal), (y_shape, away_from_zero)]),
    ]
for shape in [(), (4,), (2, 3)]:
    CASES += [
        (f"neg{shape}", NegateGate, [(shape, normal)]),
        (f"pow3{shape}", lambda: PowerGate(3), [(shape, normal)]),
        (f"pow-0.5{shape}", lambda: PowerGate(-0.5), [(shape, positive)]),
        (f"exp{shape}", ExpGate, [(shape, normal)]),
        (f"log{shape}", LogGate, [(shape, positive)]),
        (f"sqrt{shape}", SqrtGate, [(shape, positive)]),
        (f"abs{shape}", AbsGate, [(shape, away_from_zero)]),
        (f"sigmoid{shape}", SigmoidGate, [(shape, normal)]),
        (f"tanh{shape}", TanhGate, [(shape, normal)]),
        (f"relu{shape}", ReLUGate, [(shape, away_from_zero)]),
        (f"leaky_relu{shape}", lambda: LeakyReLUGate(0.1), [(shape, away_from_zero)]),
        (f"sum{shape}", SumGate, [(shape, normal)]),
        (f"mean{shape}", MeanGate, [(shape, normal)]),
        (f"mse{shape}", MSELossGate, [(shape, normal), (shape, normal)]),
        (f"bce{shape}", BinaryCrossEntropyGate, [(shape, probability), (shape, probability)]),
        (f"bce_logits{shape}", BinaryCrossEntropyWithLogitsGate, [(shape, normal), (shape, probability)]),
    ]
for x_shape, y_shape in [((), ()), ((), (3,)), ((3,), (2, 3)), ((2, 3), (2, 1))]:
    CASES += [
        (f"max{x_shape}-{y_shape}", MaxGate, [(x_shape, even), (y_shape, odd)]),
        (f"min{x_shape}-{y_shape}", MinGate, [(x_shape, even), (y_shape, odd)]),
    ]
CASES += [
    ("softmax-last", SoftmaxGate, [((2, 4), normal)]),
    ("softmax-axis0", lambda: SoftmaxGate(axis=0), [((3, 2), normal)]),
    ("softmax-1d", SoftmaxGate, [((5,), normal)]),
    ("matmul", MatMulGate, [((2, 3), normal), ((3, 4), normal)]),
    ("matmul-vector-matrix", MatMulGate, [((3,), normal), ((3, 2), normal)]),
    ("matmul-matrix-vector", MatMulGate, [((2, 3), normal), ((3,), normal)]),
    ("matmul-batched", MatMulGate, [((2, 2, 3), normal), ((3, 4), normal)]),
    ("linear", LinearGate, [((4, 3), normal), ((2, 3), normal), ((2,), normal)]),
    ("linear-one-example", LinearGate, [((3,), normal), ((2, 3), normal), ((2,), normal)]),
    ("linear-scalar-bias", LinearGate, [((4, 3), normal), ((2, 3), normal), ((), normal)]),
    ("transpose", TransposeGate, [((2, 3), normal)]),
    ("transpose-axes", lambda: TransposeGate((1, 2, 0)), [((2, 3, 4), normal)]),
    ("reshape", lambda: ReshapeGate((3, -1)), [((2, 3), normal)]),
    ("sum-axis", lambda: SumGate(axis=1, keepdims=True), [((2, 3), normal)]),
    ("mean-axes", lambda: MeanGate(axis=(0, 2)), [((2, 3, 2), normal)]),
    ("mse-sum", lambda: MSELossGate("sum"), [((3, 2), normal), ((3, 2), normal)]),
    ("bce-batchmean", lambda: BinaryCrossEntropyGate("batchmean"), [((3, 2), probability), ((3, 2), probability)]),
    ("softmax_ce-integer", SoftmaxCrossEntropyGate, [((3, 4), normal), ((3,), labels)]),
    ("softmax_ce-integer-1d", SoftmaxCrossEntropyGate, [((4,), normal), ((), labels)]),
    ("softmax_ce-rows", lambda: SoftmaxCrossEntropyGate("sum"), [((3, 4), normal), ((3, 4), probability_rows)]),
    (
        "conv2d",
        lambda: Conv2DGate(stride=(1, 2), padding=1),
        [((2, 3, 5, 4), normal), ((4, 3, 3, 2), normal), ((4,), normal)],
    ),
    ("max_pool2d", lambda: MaxPool2DGate(2), [((2, 3, 4, 5), normal)]),
    ("avg_pool2d", lambda: AvgPool2DGate(2, 1), [((2, 3, 4, 5), normal)]),
    ("batch_norm2d-training", lambda: BatchNorm2DGate(3), [((4, 3, 2, 3), normal), ((3,), positive), ((3,), normal)]),
    (
        "batch_norm2d-eval",
        lambda: BatchNorm2DGate(3, training=False),
        [((4, 3, 2, 3), normal), ((3,), positive), ((3,), normal)],
    ),
    # the same seed for every gate the check builds: the same mask at every point it evaluates
    ("dropout-training", lambda: DropoutGate(0.4, seed=1), [((3, 5), normal)]),
    ("dropout-eval", lambda: DropoutGate(0.4, training=False), [((3, 5), normal)]),
    ("flatten", FlattenGate, [((2, 3, 2, 2), normal)]),
]
IDS = [case[0] for case in CASES]


def make_inputs(specs, rng):
    values = []
    for shape, generate in specs:
        value = generate(shape, rng)
        values.append(float(value) if np.ndim(value) == 0 and generate is not labels else value)
    return values


def differentiable(value) -> bool:
    return np.asarray(value).dtype.kind == "f"


def directional_derivative(factory, inputs, tangents, eps=1e-6):
    """(f(x + eps v) - f(x - eps v)) / (2 eps), in float64."""

    def at(sign):
        moved = [x if t is None else x + sign * eps * t for x, t in zip(inputs, tangents)]
        return np.asarray(factory().forward(*moved), dtype=np.float64)

    return (at(+1) - at(-1)) / (2 * eps)


@pytest.mark.parametrize(("case", "factory", "specs"), CASES, ids=IDS)
def test_jvp_matches_the_numerical_directional_derivative(case, factory, specs):
    rng = np.random.default_rng(sum(map(ord, case)))
    inputs = make_inputs(specs, rng)
    tangents = [normal(np.shape(x), rng) if differentiable(x) else None for x in inputs]
    gate = factory()
    output = gate.forward(*inputs)
    tangent = gate.jvp(*tangents)
    assert np.shape(tangent) == np.shape(output)
    np.testing.assert_allclose(tangent, directional_derivative(factory, inputs, tangents), rtol=1e-6, atol=1e-8)
    # one input moving at a time: the others' tangents are None, taken as zero without being built
    for position, moving in enumerate(tangents):
        if moving is None or len(tangents) == 1:
            continue
        alone = [t if k == position else None for k, t in enumerate(tangents)]
        np.testing.assert_allclose(
            gate.jvp(*alone), directional_derivative(factory, inputs, alone), rtol=1e-6, atol=1e-8
        )


@pytest.mark.parametrize(("case", "factory", "specs"), CASES, ids=IDS)
def test_jvp_is_the_transpose_of_backward(case, factory, specs):
    """<u, J v> == <Jᵀ u, v>: forward mode and reverse mode apply the same Jacobian."""
    rng = np.random.default_rng(sum(map(ord, case)) + 1)
    inputs = make_inputs(specs, rng)
    tangents = [normal(np.shape(x), rng) if differentiable(x) else None for x in inputs]
    gate = factory()
    output = gate.forward(*inputs)
    upstream = normal(np.shape(output), rng)
    grads = gate.backward(upstream)
    left = np.sum(upstream * gate.jvp(*tangents))
    right = sum(np.sum(g * t) for g, t in zip(grads, tangents) if t is not None)
    np.testing.assert_allclose(left, right, rtol=1e-10, atol=1e-12)


def test_every_gate_of_the_package_has_a_jvp_and_a_case_here():
    gate_classes = [getattr(gates, name) for name in gates.__all__ if name.endswith("Gate") and name != "Gate"]
    tested = {type(factory()) for _, factory, _ in CASES}
    assert set(gate_classes) <= tested
    assert all(cls.jvp is not Gate.jvp for cls in gate_classes)


def test_ties_follow_the_backward_policies():
    max_gate, min_gate, relu, abs_gate = MaxGate(), MinGate(), ReLUGate(), AbsGate()
    max_gate.forward(1.0, 1.0)
    min_gate.forward(1.0, 1.0)
    relu.forward(0.0)
    abs_gate.forward(0.0)
    assert max_gate.jvp(2.0, 3.0) == 2.0  # ties go to the first input
    assert min_gate.jvp(2.0, 3.0) == 2.0
    assert relu.jvp(5.0) == 0.0  # relu'(0) = 0
    assert abs_gate.jvp(5.0) == 0.0  # abs'(0) = 0


def test_float32_tangents_stay_float32():
    gate = SigmoidGate()
    gate.forward(np.ones(3, dtype=np.float32))
    assert gate.jvp(np.ones(3, dtype=np.float32)).dtype == np.float32


# -- graphs ----------------------------------------------------------------------------------

UNARY = [
    lambda n: n.tanh(),
    lambda n: n.sigmoid(),
    lambda n: n.exp() * 0.1,
    lambda n: (n * n + 1.0).log(),
    lambda n: (n * n + 1.0).sqrt(),
    lambda n: -n,
    lambda n: n.softmax(axis=-1),
    lambda n: n.leaky_relu(),
    lambda n: n**3,
    lambda n: n.mean(axis=0, keepdims=True),
]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
]


def random_graph(rng, shape):
    """A random expression over inputs x, y (shape ``shape``), a (3,) parameter and constants."""
    g = ComputationalGraph()
    pool = [g.input("x"), g.input("y"), g.parameter("w", rng.standard_normal(shape[-1:]))]
    for _ in range(int(rng.integers(4, 9))):
        if rng.random() < 0.45:
            node = UNARY[rng.integers(len(UNARY))](pool[rng.integers(len(pool))])
        else:
            first, second = (pool[i] for i in rng.integers(len(pool), size=2))
            node = BINARY[rng.integers(len(BINARY))](first, second)
        pool.append(node)
    last = pool[-1]
    if last.kind != "gate" or np.shape(g.forward(x=np.zeros(shape), y=np.zeros(shape), outputs=last)) != shape:
        last = last + pool[0]  # the output depends on x and has x's shape
    # fold every dangling node into the output so the graph has one sink
    for node in pool[3:]:
        if node is not last and g.dag.out_degree(node.name) == 0:
            last = last + node.sum() * 0.01
    return g, last


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_forward_and_reverse_mode_agree(seed):
    rng = np.random.default_rng(seed)
    shape = [(2, 3), (3,), (4, 3)][seed % 3]
    g, out = random_graph(rng, shape)
    feeds = {"x": rng.standard_normal(shape), "y": rng.standard_normal(shape)}
    tangents = {"x": rng.standard_normal(shape), "y": rng.standard_normal(shape), "w": rng.standard_normal(shape[-1:])}
    jv = g.jvp(feeds, tangents, output=out)
    value = g[out.name].value
    u = rng.standard_normal(np.shape(value))
    grads = g.backward(grad=u, output=out)
    right = sum(np.sum(grads[name] * tangents[name]) for name in tangents if name in grads)
    np.testing.assert_allclose(np.sum(u * jv), right, rtol=1e-9, atol=1e-12)
    # and against the numerical directional derivative of the whole graph
    eps = 1e-6
    w = g["w"].value.copy()
    g["w"].value = w + eps * tangents["w"]
    plus = g.forward({k: feeds[k] + eps * tangents[k] for k in feeds}, outputs=out)
    g["w"].value = w - eps * tangents["w"]
    minus = g.forward({k: feeds[k] - eps * tangents[k] for k in feeds}, outputs=out)
    g["w"].value = w
    np.testing.assert_allclose(jv, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_the_lectures_circuit_in_forward_mode():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    (x + y) * z
    feeds = {"x": -2.0, "y": 5.0, "z": -4.0}
    assert g.jvp(feeds, {"x": 1.0}) == -4.0  # df/dx, one forward-mode pass per input
    assert g.jvp(feeds, {"y": 1.0}) == -4.0
    assert g.jvp(feeds, {"z": 1.0}) == 3.0
    assert g.jvp(feeds, {}) == 0.0  # nothing moves


def test_jvp_of_several_outputs_and_of_a_data_input():
    g = ComputationalGraph()
    x, labels_in = g.input("x"), g.input("labels", requires_grad=False)
    w = g.parameter("w", np.eye(3))
    logits = g.add_gate(MatMulGate(), x, w, name="logits")
    loss = g.add_gate(SoftmaxCrossEntropyGate(), logits, labels_in, name="loss")
    probabilities = logits.softmax()
    feeds = {"x": np.ones((2, 3)), "labels": np.array([0, 2])}
    found = g.jvp(feeds, {"w": np.ones((3, 3))})
    assert set(found) == {loss.name, probabilities.name}
    assert np.shape(found[probabilities.name]) == (2, 3)
    # x requires no gradient in reverse mode, but forward mode moves it all the same
    found = g.jvp(feeds, {"x": np.ones((2, 3))}, output="logits")
    np.testing.assert_allclose(found, np.full((2, 3), 1.0))
    assert g.jvp(feeds, {"labels": None}, output=loss) == 0.0


def test_jvp_errors_name_the_node():
    g = ComputationalGraph()
    x = g.input("x")
    y = x.exp()
    with pytest.raises(ShapeError, match="tangent for 'x' has shape \\(2,\\), its value has shape \\(3,\\)"):
        g.jvp({"x": np.zeros(3)}, {"x": np.zeros(2)})
    with pytest.raises(FeedError, match=f"tangent given for gate {y.name!r}"):
        g.jvp({"x": np.zeros(3)}, {y: np.zeros(3)})

    class NoJvpGate(Gate):
        def forward(self, x):
            return x

        def backward(self, upstream):
            return (upstream,)

    class WrongJvpGate(NoJvpGate):
        def jvp(self, tangent_x):
            return tangent_x.sum()

    g = ComputationalGraph()
    g.add_gate(NoJvpGate(), g.input("x"), name="plain")
    with pytest.raises(NotImplementedError, match="node 'plain': NoJvpGate does not define jvp"):
        g.jvp({"x": np.zeros(3)}, {"x": np.ones(3)})
    g = ComputationalGraph()
    g.add_gate(WrongJvpGate(), g.input("x"), name="wrong")
    with pytest.raises(GateContractError, match="'wrong' \\(WrongJvpGate\\): jvp returned a tangent of shape \\(\\)"):
        g.jvp({"x": np.zeros(3)}, {"x": np.ones(3)})
