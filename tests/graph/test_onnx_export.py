"""ONNX export: ONNX Runtime computes what the graph's forward computes, for every gate with a mapping."""

import sys

import numpy as np
import onnx
import onnxruntime
import pytest

import gates
from gates import (
    AvgPool2DGate,
    BatchNorm2DGate,
    BinaryCrossEntropyGate,
    BinaryCrossEntropyWithLogitsGate,
    Conv2DGate,
    DropoutGate,
    FlattenGate,
    Gate,
    LeakyReLUGate,
    LinearGate,
    MaxPool2DGate,
    MinGate,
    MSELossGate,
    SoftmaxCrossEntropyGate,
    TransposeGate,
)
from graph import ComputationalGraph, OnnxExportError, export_onnx

BATCH_SIZES = [1, 5, 32]
FEATURES = 4


def parameter(g, name, shape, rng, low=None):
    value = rng.uniform(low, 2.0, shape) if low is not None else rng.standard_normal(shape)
    return g.parameter(name, value.astype(np.float32))


# name -> (build(g, x, rng) -> output node, input shape after the batch axis, input values: "normal" or "positive")
CASES = {
    "add": (lambda g, x, rng: x + parameter(g, "p", (FEATURES,), rng), "normal"),
    "add-constant": (lambda g, x, rng: 2.5 + x, "normal"),
    "sub": (lambda g, x, rng: parameter(g, "p", (FEATURES,), rng) - x, "normal"),
    "mul": (lambda g, x, rng: x * parameter(g, "p", (1, FEATURES), rng), "normal"),
    "div": (lambda g, x, rng: x / parameter(g, "p", (FEATURES,), rng, low=0.5), "normal"),
    "neg": (lambda g, x, rng: -x, "normal"),
    "pow": (lambda g, x, rng: x**3, "normal"),
    "pow-fractional": (lambda g, x, rng: x**-0.5, "positive"),
    "max": (lambda g, x, rng: x.maximum(parameter(g, "p", (FEATURES,), rng)), "normal"),
    "min": (lambda g, x, rng: g.add_gate(MinGate(), x, parameter(g, "p", (FEATURES,), rng)), "normal"),
    "exp": (lambda g, x, rng: x.exp(), "normal"),
    "log": (lambda g, x, rng: x.log(), "positive"),
    "sqrt": (lambda g, x, rng: x.sqrt(), "positive"),
    "abs": (lambda g, x, rng: x.abs(), "normal"),
    "sigmoid": (lambda g, x, rng: x.sigmoid(), "normal"),
    "tanh": (lambda g, x, rng: x.tanh(), "normal"),
    "relu": (lambda g, x, rng: x.relu(), "normal"),
    "leaky_relu": (lambda g, x, rng: g.add_gate(LeakyReLUGate(0.2), x), "normal"),
    "softmax": (lambda g, x, rng: x.softmax(axis=-1), "normal"),
    "softmax-over-batch": (lambda g, x, rng: x.softmax(axis=0), "normal"),
    "matmul": (lambda g, x, rng: x @ parameter(g, "W", (FEATURES, 3), rng), "normal"),
    "linear": (
        lambda g, x, rng: g.add_gate(
            LinearGate(), x, parameter(g, "W", (3, FEATURES), rng), parameter(g, "b", (3,), rng)
        ),
        "normal",
    ),
    "transpose": (lambda g, x, rng: x.T, "normal"),
    "transpose-axes": (lambda g, x, rng: g.add_gate(TransposeGate((1, 0)), x), "normal"),
    "reshape": (lambda g, x, rng: x.reshape((-1, 2, 2)), "normal"),
    "sum-rows": (lambda g, x, rng: x.sum(axis=1), "normal"),
    "sum-all": (lambda g, x, rng: x.sum(), "normal"),
    "mean-batch-keepdims": (lambda g, x, rng: x.mean(axis=0, keepdims=True), "normal"),
    "mean-all": (lambda g, x, rng: x.mean(), "normal"),
    "mlp": (
        lambda g, x, rng: g.add_gate(
            LinearGate(),
            (x @ parameter(g, "W1", (8, FEATURES), rng).T + parameter(g, "b1", (8,), rng)).tanh(),
            parameter(g, "W2", (3, 8), rng),
            parameter(g, "b2", (3,), rng),
        ).softmax(),
        "normal",
    ),
}


def images(g, x, channels=1):
    """The (N, 4) batch as (N, 1, 2, 2) images, through a 2x2 convolution with padding 1 into (N, 3, 3, 3)."""
    w = parameter(g, "Wc", (3, channels, 2, 2), np.random.default_rng(1))
    return g.add_gate(
        Conv2DGate(padding=1), x.reshape((-1, channels, 2, 2)), w, parameter(g, "bc", (3,), np.random.default_rng(2))
    )


def eval_batch_norm(g, a, rng):
    gate = BatchNorm2DGate(3, training=False)
    gate.running_mean[...], gate.running_var[...] = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    return g.add_gate(gate, a, parameter(g, "gamma", (3,), rng, low=0.5), parameter(g, "beta", (3,), rng))


CASES |= {
    "conv": (lambda g, x, rng: images(g, x), "normal"),
    "conv-stride": (
        lambda g, x, rng: g.add_gate(
            Conv2DGate(stride=(2, 1), padding=(1, 0)),
            x.reshape((-1, 1, 2, 2)),
            parameter(g, "W", (2, 1, 2, 1), rng),
            parameter(g, "b", (2,), rng),
        ),
        "normal",
    ),
    "max_pool": (lambda g, x, rng: g.add_gate(MaxPool2DGate(2, 1), images(g, x)), "normal"),
    "avg_pool": (lambda g, x, rng: g.add_gate(AvgPool2DGate((2, 3), 1), images(g, x)), "normal"),
    "batch_norm-eval": (lambda g, x, rng: eval_batch_norm(g, images(g, x), rng), "normal"),
    "dropout-eval": (lambda g, x, rng: g.add_gate(DropoutGate(0.5, training=False), x), "normal"),
    "flatten": (lambda g, x, rng: g.add_gate(FlattenGate(), images(g, x)), "normal"),
}


def batch(kind, size, rng):
    values = rng.uniform(0.5, 2.0, (size, FEATURES)) if kind == "positive" else rng.standard_normal((size, FEATURES))
    return values.astype(np.float32)


def session_for(model):
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def relative_error(actual, expected) -> float:
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-6)))


@pytest.mark.parametrize("case", list(CASES))
def test_onnx_runtime_matches_the_graph_on_batches_of_several_sizes(case, tmp_path):
    build, kind = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    g = ComputationalGraph()
    x = g.input("x")
    out = build(g, x, rng)
    path = tmp_path / f"{case}.onnx"
    export_onnx(g, path, outputs=out, feeds={"x": batch(kind, 2, rng)})

    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    session = session_for(model)
    for size in BATCH_SIZES:
        data = batch(kind, size, rng)
        expected = g.forward({"x": data}, outputs=out)
        (actual,) = session.run([out.name], {"x": data})
        assert actual.dtype == np.float32
        assert actual.shape == np.shape(expected)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_every_gate_with_a_mapping_is_exported_here():
    exported = set()
    for build, _ in CASES.values():
        g = ComputationalGraph()
        build(g, g.input("x"), np.random.default_rng(0))
        exported |= {type(node.gate) for node in g.nodes if node.kind == "gate"}
    gate_classes = [getattr(gates, name) for name in gates.__all__ if name.endswith("Gate") and name != "Gate"]
    mapped = {cls for cls in gate_classes if cls.to_onnx is not Gate.to_onnx}
    assert mapped <= exported
    losses = {MSELossGate, BinaryCrossEntropyGate, BinaryCrossEntropyWithLogitsGate, SoftmaxCrossEntropyGate}
    assert mapped == set(gate_classes) - losses  # a loss needs labels: export the prediction before it


def test_the_output_shape_keeps_the_symbolic_batch():
    g = ComputationalGraph()
    x = g.input("x")
    out = (x @ g.parameter("W", np.ones((FEATURES, 3), dtype=np.float32))).relu()
    model = export_onnx(g, None, feeds={"x": np.ones((2, FEATURES), dtype=np.float32)})
    dims = model.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 3]
    assert model.graph.output[0].name == out.name
    assert {i.name for i in model.graph.initializer} == {"W"}


def test_float64_export_and_scalar_inputs():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    out = (x * y + 1.0).log()
    model = export_onnx(g, None, feeds={"x": 2.0, "y": 3.0}, dtype=np.float64)
    (value,) = session_for(model).run(None, {"x": np.array(4.0), "y": np.array(0.25)})
    assert value.dtype == np.float64 and value.shape == ()
    assert value == pytest.approx(np.log(2.0))
    assert out.name == model.graph.output[0].name


def test_a_one_example_linear_layer_without_a_batch_axis():
    g = ComputationalGraph()
    a = g.input("a")
    w = g.parameter("W", np.arange(6, dtype=np.float32).reshape(2, 3))
    out = g.add_gate(LinearGate(), a, w, g.parameter("b", np.ones(2, dtype=np.float32)))
    example = np.array([1.0, -1.0, 2.0], dtype=np.float32)
    model = export_onnx(g, None, feeds={"a": example}, dynamic_batch=False)
    (value,) = session_for(model).run(None, {"a": example})
    np.testing.assert_allclose(value, g.forward(a=example), rtol=1e-6)
    assert out.name == model.graph.output[0].name


def test_a_gate_without_a_mapping_is_named():
    g = ComputationalGraph()
    x, labels = g.input("x"), g.input("labels", requires_grad=False)
    logits = g.add_gate(LinearGate(), x, g.parameter("W", np.ones((3, 2))), g.parameter("b", np.zeros(3)))
    g.add_gate(SoftmaxCrossEntropyGate(), logits, labels, name="loss")
    feeds = {"x": np.ones((4, 2)), "labels": np.array([0, 1, 2, 0])}
    with pytest.raises(OnnxExportError, match="node 'loss' \\(SoftmaxCrossEntropyGate\\) has no ONNX mapping"):
        export_onnx(g, None, feeds=feeds)
    export_onnx(g, None, outputs=logits, feeds=feeds)  # the prediction exports

    class SquareGate(Gate):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, upstream):
            return (2 * self.x * upstream,)

    g = ComputationalGraph()
    g.add_gate(SquareGate(), g.input("x"), name="square")
    with pytest.raises(OnnxExportError, match=r"'square' \(SquareGate\) has no ONNX mapping.*to_onnx"):
        export_onnx(g, None, feeds={"x": np.ones(2)})


def test_a_users_gate_exports_itself():
    class SquareGate(Gate):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, upstream):
            return (2 * self.x * upstream,)

        def to_onnx(self, builder, x):
            return builder.op("Mul", x, x)

    g = ComputationalGraph()
    out = g.add_gate(SquareGate(), g.input("x"), name="square") + 1.0
    model = export_onnx(g, None, feeds={"x": np.ones((2, 3))})
    data = np.arange(15, dtype=np.float32).reshape(5, 3)
    (value,) = session_for(model).run([out.name], {"x": data})
    np.testing.assert_array_equal(value, data * data + 1)


def test_export_needs_a_forward_and_a_float_dtype():
    g = ComputationalGraph()
    g.input("x").exp()
    with pytest.raises(OnnxExportError, match=r"run g.forward\(...\) once, or pass export_onnx\(..., feeds=...\)"):
        export_onnx(g, None)
    with pytest.raises(OnnxExportError, match="float32 or float64, got dtype int32"):
        export_onnx(g, None, feeds={"x": np.ones(2)}, dtype=np.int32)


def test_without_onnx_the_library_imports_and_the_export_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    g = ComputationalGraph()
    g.input("x").exp()
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'gategraph\[onnx\]'"):
        export_onnx(g, None, feeds={"x": np.ones(2)})


def test_losses_of_the_graph_are_not_needed_to_export_its_prediction():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y", requires_grad=False)
    prediction = x.sigmoid()
    g.add_gate(MSELossGate(), prediction, y)
    model = export_onnx(g, None, outputs=[prediction], feeds={"x": np.zeros((2, 2)), "y": np.zeros((2, 2))})
    assert [i.name for i in model.graph.input] == ["x"]
