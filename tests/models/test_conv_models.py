"""Conv nets as models: layers, modes, summaries, files, ONNX, and learning a small problem."""

import numpy as np
import onnxruntime
import pytest
import torch

from graph import check_graph
from models import (
    CNN,
    SGD,
    Activation,
    Adam,
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dropout,
    Flatten,
    Linear,
    MaxPool2D,
    Model,
    ModelFileError,
    evaluate,
    fit,
    load,
    scale_images,
)


def small_cnn(**options):
    return CNN((1, 8, 8), channels=(3, 4), hidden=(6,), seed=0, **options)


def images(n=6, seed=0, shape=(1, 8, 8)):
    return np.random.default_rng(seed).random((n, *shape)).astype(np.float32)


def test_layers_name_their_nodes_in_the_chapters_scopes_and_summary_shows_shapes_and_counts():
    model = small_cnn(dropout=0.25)
    g = model.graph
    assert [p.name for p in model.parameters()] == [
        "W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3", "W4", "b4",
    ]  # fmt: skip
    assert {g[name].scope for name in ("W1", "Z1", "BN1", "A1", "P1")} == {"layer1"}
    assert g["W1"].value.shape == (3, 1, 3, 3) and g["W3"].value.shape == (6, 16)
    summary = str(model.summary())
    assert "Conv2D(1 -> 3, 3x3, pad 1)  (N, 3, 8, 8)  W1 (3, 1, 3, 3), b1 (3,): 30" in summary
    assert "P2    MaxPool2D(2x2)              (N, 4, 2, 2)" in summary
    assert "Flatten                     (N, 16)" in summary
    assert f"total parameters: {model.num_parameters:,}" in summary
    assert model.num_parameters == 30 + 6 + 112 + 8 + 102 + 70


def test_a_model_composes_any_layers_given_its_input_shape():
    layers = [Conv2D(2, 3, (2, 3), stride=(1, 2)), AvgPool2D(2, stride=1), Flatten(), Linear(3 * 4 * 2, 2)]
    model = Model(layers, input_shape=(2, 6, 7), seed=0)
    assert model.shapes == [(3, 5, 3), (3, 4, 2), (24,), (2,)]
    assert model.predict(images(3, shape=(2, 6, 7))).shape == (3, 2)
    with pytest.raises(ValueError, match="does not fix the input's shape: give input_shape="):
        Model(layers=[Conv2D(1, 2, 3), Flatten(), Linear(2, 2)])
    with pytest.raises(ValueError, match=r"takes 5 features, the layer before gives \(2, 4, 4\) \(add Flatten"):
        Model([Conv2D(1, 2, 3), Linear(5, 2)], input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match="end with Flatten"):
        Model([Conv2D(1, 2, 3)], input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match="larger than the padded image"):
        Model([Conv2D(1, 2, 5), Flatten(), Linear(2, 2)], input_shape=(1, 3, 3))


def test_flat_rows_given_to_an_image_model_get_a_hint():
    with pytest.raises(ValueError, match=r"takes x of shape \(N, 1, 8, 8\), got \(2, 64\).*flat=False"):
        small_cnn().predict(np.zeros((2, 64)))


def test_scale_images_keeps_images_for_a_conv_net():
    raw = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
    x = scale_images(raw, flat=False)
    assert x.shape == (4, 1, 8, 8) and x.dtype == np.float32
    np.testing.assert_array_equal(x.reshape(4, 64), scale_images(raw))
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, C, H, W\)"):
        scale_images(np.zeros((2, 3)), flat=False)


def test_train_and_eval_switch_dropout_and_batch_norm_and_predict_always_evaluates():
    model = small_cnn(dropout=0.5)
    x, y = images(), np.arange(6) % 10
    mode_gates = [node.gate for node in model.graph.nodes if hasattr(node.gate, "training")]
    assert len(mode_gates) == 4 and all(gate.training for gate in mode_gates)
    first = model.loss(x, y)
    assert model.loss(x, y) != first  # new dropout masks, running statistics moving
    model.eval()
    assert not any(gate.training for gate in mode_gates)
    assert model.loss(x, y) == model.loss(x, y)
    model.train()
    before = model.buffers()["running_mean1"].copy()
    prediction = model.predict(x)
    np.testing.assert_array_equal(model.predict(x), prediction)  # eval mode: deterministic, statistics frozen
    np.testing.assert_array_equal(model.buffers()["running_mean1"], before)
    assert model.training and all(gate.training for gate in mode_gates)  # the mode it had is back


def test_fit_trains_in_training_mode_and_leaves_the_mode_it_found():
    model = small_cnn().eval()
    before = model.buffers()["running_var2"].copy()
    fit(model, SGD(model.parameters(), lr=0.01), images(), np.arange(6) % 2, epochs=1, batch_size=3, seed=0)
    assert not model.training
    assert not np.array_equal(model.buffers()["running_var2"], before)  # batch norm learnt statistics


def test_batch_norm_layers_running_statistics_follow_torch_through_a_model():
    # before the first weighted layer: layer 0, so gamma0, beta0, running_mean0, running_var0
    model = Model([BatchNorm2D(2), Flatten(), Linear(8, 2)], input_shape=(2, 2, 2), dtype=np.float64, seed=0)
    reference = torch.nn.BatchNorm2d(2, dtype=torch.float64)
    for step in range(4):
        x = np.random.default_rng(step).standard_normal((5, 2, 2, 2)) * (step + 1)
        model.loss(x, np.array([0, 1, 0, 1, 1]))
        reference(torch.tensor(x))
    np.testing.assert_allclose(model.buffers()["running_mean0"], reference.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.buffers()["running_var0"], reference.running_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_a_conv_models_gradients_pass_check_graph(training):
    model = CNN((1, 6, 6), channels=(2,), hidden=(3,), dtype=np.float64, seed=1).train(training)
    x = np.random.default_rng(0).standard_normal((4, 1, 6, 6))
    check_graph(model.graph, {"X": x, "Y": np.array([0, 3, 5, 9])}, output=model.loss_node)


def test_a_cnn_file_keeps_parameters_and_running_statistics(tmp_path):
    model = small_cnn(dropout=0.1)
    fit(model, Adam(model.parameters(), lr=0.01), images(12), np.arange(12) % 3, epochs=2, batch_size=4, seed=0)
    model.save(tmp_path / "cnn.npz")
    loaded = load(tmp_path / "cnn.npz")
    assert type(loaded) is CNN and loaded.config() == model.config()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value)
    assert "running_mean1" in model.state_dict()
    np.testing.assert_array_equal(loaded.predict(images(5, seed=3)), model.predict(images(5, seed=3)))


def test_a_cnn_file_without_its_running_statistics_is_refused_and_save_refuses_it_too(tmp_path):
    model = small_cnn()
    path = tmp_path / "cnn.npz"
    model.save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "running_var2"}
    np.savez(tmp_path / "cut.npz", **arrays)
    with pytest.raises(ModelFileError, match="running statistic running_var2 is missing"):
        load(tmp_path / "cut.npz")
    model.layers[5].gate.running_var = np.ones(5, np.float32)  # a buffer of the wrong size
    with pytest.raises(ModelFileError, match=r"cannot save.*running_var2 has shape \(5,\), the architecture needs"):
        model.save(tmp_path / "wrong.npz")
    assert not (tmp_path / "wrong.npz").exists()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda config: config | {"channels": []}, "channels is \\[\\], it should be a list of at least 1"),
        (lambda config: config | {"dropout": 1.0}, "dropout is 1.0, it should be a number in \\[0, 1\\)"),
        (lambda config: config | {"input_shape": [1, 2, 2], "channels": [2, 2]}, "shrinks the image to nothing"),
        (lambda config: {k: v for k, v in config.items() if k != "batch_norm"}, "'batch_norm' is missing"),
    ],
)
def test_cnn_configs_are_validated_before_anything_is_built(tmp_path, change, match):
    import json

    path = tmp_path / "cnn.npz"
    small_cnn().save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays["__model__"]))
    meta["config"] = change(meta["config"])
    arrays["__model__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_onnx_runtime_predicts_what_the_model_predicts_in_eval_mode():
    model = small_cnn(dropout=0.3)
    fit(model, Adam(model.parameters(), lr=0.01), images(12), np.arange(12) % 3, epochs=1, batch_size=4, seed=0)
    session = onnxruntime.InferenceSession(model.export_onnx(None).SerializeToString())
    x = images(7, seed=5)
    (output,) = session.run(None, {"X": x})
    np.testing.assert_allclose(output, model.predict(x), rtol=1e-4, atol=1e-6)
    assert model.training  # exporting borrowed eval mode only


def bars(n, rng):
    """8x8 images with one bright bar: label 0 for a horizontal bar, 1 for a vertical one, in noise."""
    x = rng.random((n, 1, 8, 8)).astype(np.float32) * 0.3
    labels = rng.integers(0, 2, n)
    where = rng.integers(0, 8, n)
    for k in range(n):
        if labels[k]:
            x[k, 0, :, where[k]] += 1
        else:
            x[k, 0, where[k], :] += 1
    return x, labels


def test_a_small_cnn_learns_to_tell_horizontal_from_vertical_bars():
    rng = np.random.default_rng(0)
    (x, y), (x_test, y_test) = bars(256, rng), bars(128, rng)
    layers = [Conv2D(1, 4, 3, padding=1), Activation("relu"), MaxPool2D(2), Dropout(0.1), Flatten(), Linear(64, 2)]
    model = Model(layers, input_shape=(1, 8, 8), seed=0)
    assert evaluate(model, x_test, y_test)["accuracy"] < 0.75
    fit(model, Adam(model.parameters(), lr=0.01), x, y, epochs=15, batch_size=32, seed=0)
    assert evaluate(model, x_test, y_test)["accuracy"] >= 0.95
