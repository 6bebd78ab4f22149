"""A trained model exported to ONNX predicts in ONNX Runtime what it predicts here."""

import numpy as np
import onnx
import onnxruntime
import pytest

from models import MLP, Adam, TwoLayerNet, fit


def blobs(n: int, rng: np.random.Generator, features: int = 6, classes: int = 3):
    """Gaussian clusters, one per class: a data set a small network learns in a few epochs."""
    centres = rng.standard_normal((classes, features)) * 2
    labels = rng.integers(0, classes, n)
    return (centres[labels] + rng.standard_normal((n, features))).astype(np.float32), labels


def session_for(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLP([6, 16, 8, 3], activation="relu", seed=0),
        lambda: MLP([6, 16, 3], activation="tanh", loss="bce", seed=0),
        lambda: MLP([6, 8, 3], activation="leaky_relu", loss="mse", seed=0),
        lambda: MLP([6, 8, 3], activation="sigmoid", dtype=np.float64, seed=0),
        lambda: TwoLayerNet(6, 8, 3, seed=0),
    ],
    ids=["mlp-relu-softmax", "mlp-tanh-bce", "mlp-leaky-mse", "mlp-float64", "two-layer-net"],
)
def test_a_trained_model_predicts_the_same_in_onnx_runtime(make, tmp_path):
    x_all, y_all = blobs(500, np.random.default_rng(0))
    (x, x_test), (y, y_test) = np.split(x_all, [300]), np.split(y_all, [300])
    model = make()
    fit(model, Adam(model.parameters(), lr=0.01), x, y, epochs=3, batch_size=32, seed=0, progress=False)
    path = tmp_path / "model.onnx"
    model.export_onnx(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = session_for(path)
    assert [i.name for i in session.get_inputs()] == ["X"]
    assert session.get_inputs()[0].shape == ["N", 6]

    for size in (1, 7, 64):
        batch = model.inputs(x_test[:size])
        (output,) = session.run(None, {"X": batch})
        assert output.dtype == model.dtype
        np.testing.assert_allclose(output, model.predict(batch), rtol=1e-5, atol=1e-6)
    (output,) = session.run(None, {"X": model.inputs(x_test)})
    np.testing.assert_array_equal(model.classes(output), model.predict_classes(x_test))
    accuracy = np.mean(model.classes(output) == y_test)
    assert accuracy == np.mean(model.predict_classes(x_test) == y_test)
    if model.loss_name != "mse":  # three epochs are enough for the clusters, except with squared error
        assert accuracy > 0.8


def test_export_leaves_the_model_usable():
    model = MLP([4, 5, 2], seed=0)
    before = {name: value.copy() for name, value in model.state_dict().items()}
    exported = model.export_onnx(None)
    assert [o.name for o in exported.graph.output] == [model.output_node.name]
    assert {i.name for i in exported.graph.initializer} >= set(before)
    after = model.state_dict()
    assert all(np.array_equal(before[name], after[name]) for name in before)
    x, y = np.ones((3, 4), dtype=np.float32), np.array([0, 1, 1])
    model.loss(x, y)
    assert set(model.backward()) == set(before)
