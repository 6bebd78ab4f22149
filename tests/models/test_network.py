"""Models as graphs: structure, prediction without labels, the chapter's gradients, learning."""

import numpy as np
import pytest

from graph import BackwardError, check_graph
from models import MLP, SGD, Adam, Linear, Model, TwoLayerNet, evaluate, fit


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# -- structure --------------------------------------------------------------------------


def test_mlp_graph_uses_the_chapters_names_shapes_and_scopes():
    model = MLP([4, 5, 3], seed=0)
    g = model.graph
    assert [p.name for p in model.parameters()] == ["W1", "b1", "W2", "b2"]
    assert g["W1"].value.shape == (5, 4) and g["b2"].value.shape == (3,)
    assert {g[n].scope for n in ("W1", "b1", "Z1", "A1")} == {"layer1"}
    assert g["Z2"].scope == "layer2" and g["loss"].scope == "loss" and g["Yhat"].scope == "output"
    assert not g["X"].requires_grad and not g["Y"].requires_grad
    assert model.num_parameters == 5 * 4 + 5 + 3 * 5 + 3


def test_predict_runs_without_labels_and_gives_probabilities():
    model = MLP([4, 6, 3], seed=0)
    x = np.random.default_rng(0).normal(size=(7, 4))
    probabilities = model.predict(x)
    assert probabilities.shape == (7, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert model.graph["loss"].value is None  # the loss never ran
    np.testing.assert_array_equal(model.predict_classes(x), probabilities.argmax(axis=1))


def test_same_seed_same_parameters_and_a_generator_works_too():
    a, b = MLP([3, 4, 2], seed=5), MLP([3, 4, 2], seed=5)
    c = MLP([3, 4, 2], seed=np.random.default_rng(5))
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[name])
        np.testing.assert_array_equal(value, c.state_dict()[name])
    assert not np.array_equal(a.state_dict()["W1"], MLP([3, 4, 2], seed=6).state_dict()["W1"])


def test_float64_model_matches_float32_model_from_the_same_seed():
    single, double = MLP([3, 4, 2], seed=1), MLP([3, 4, 2], seed=1, dtype=np.float64)
    assert double.graph["W1"].value.dtype == np.float64
    np.testing.assert_allclose(single.graph["W1"].value, double.graph["W1"].value, rtol=1e-6)
    with pytest.raises(ValueError, match="float32 or float64"):
        MLP([3, 2], dtype=np.int32)


@pytest.mark.parametrize(
    ("init", "check"),
    [
        ("he", lambda w, b, n_in, n_out: abs(w.std() - np.sqrt(2 / n_in)) < 0.01 and not b.any()),
        ("xavier", lambda w, b, n_in, n_out: np.abs(w).max() <= np.sqrt(6 / (n_in + n_out)) and not b.any()),
        ("uniform", lambda w, b, n_in, n_out: np.abs(w).max() <= 1 / np.sqrt(n_in) and b.any()),
    ],
)
def test_initialisations_have_their_documented_scale(init, check):
    model = MLP([400, 300, 2], init=init, seed=0, dtype=np.float64)
    assert check(model.graph["W1"].value, model.graph["b1"].value, 400, 300)


def test_summary_and_repr_describe_the_network():
    model = TwoLayerNet(3, 2, 3, seed=0)
    assert repr(model) == "<TwoLayerNet 3-2-3, sigmoid, bce (batchmean), float32, 17 parameters>"
    summary = str(model.summary())
    assert "W1 (2, 3), b1 (2,): 8" in summary and "total parameters: 17" in summary
    assert "A2" in summary and "binary" not in summary


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MLP([3]), "at least an input and an output"),
        (lambda: MLP([3, 2], activation="swish"), "activation must be one of"),
        (lambda: MLP([3, 2], loss="hinge"), "loss must be one of"),
        (lambda: MLP([3, 2], init="orthogonal"), "init must be one of"),
        (lambda: Linear(0, 3), "positive"),
    ],
)
def test_bad_architectures_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_width_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"takes x of shape \(N, 4\), got \(2, 5\)"):
        MLP([4, 2]).predict(np.zeros((2, 5)))


def test_targets_become_what_each_loss_takes():
    labels = np.array([2, 0, 1])
    softmax = MLP([2, 3], seed=0)
    assert softmax.targets(labels) is labels
    bce = MLP([2, 3], loss="bce", seed=0)
    np.testing.assert_array_equal(bce.targets(labels), np.eye(3, dtype=np.float32)[labels])
    single = MLP([2, 1], loss="bce", seed=0)
    assert single.targets(np.array([0, 1, 1])).shape == (3, 1)
    assert not MLP([2, 1], loss="mse").classifier


# -- gradients: the graph against the chapter's closed form -----------------------------


def test_two_layer_net_gradients_equal_the_chapters_closed_form():
    rng = np.random.default_rng(0)
    n, x = 5, rng.normal(size=(5, 3))
    y = rng.integers(0, 2, size=(n, 3)).astype(np.float64)  # multi-label, as in the chapter
    net = TwoLayerNet(3, 2, 3, dtype=np.float64, seed=1)
    w1, b1, w2, b2 = (net.graph[name].value for name in ("W1", "b1", "W2", "b2"))
    loss = net.loss(x, y)
    grads = net.backward()

    a1 = sigmoid(x @ w1.T + b1)
    a2 = sigmoid(a1 @ w2.T + b2)
    expected_loss = -np.sum(y * np.log(a2) + (1 - y) * np.log(1 - a2)) / n
    dz2 = a2 - y
    dz1 = dz2 @ w2 * a1 * (1 - a1)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(grads["W2"], dz2.T @ a1 / n, rtol=1e-10)
    np.testing.assert_allclose(grads["b2"], dz2.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(grads["W1"], dz1.T @ x / n, rtol=1e-10)
    np.testing.assert_allclose(grads["b1"], dz1.mean(axis=0), rtol=1e-10)
    assert set(grads) == {"W1", "b1", "W2", "b2"}  # no dX, no dY: they are data


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "bce", "mse"])
def test_mlp_gradients_pass_the_numerical_check(activation, loss):
    rng = np.random.default_rng(2)
    model = MLP([3, 4, 2], activation=activation, loss=loss, dtype=np.float64, seed=3)
    x = rng.normal(size=(6, 3))
    y = model.targets(rng.integers(0, 2, size=6))
    check_graph(model.graph, {"X": x, "Y": y}, output="loss")


# -- learning ---------------------------------------------------------------------------------

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_mlp_learns_xor_to_100_percent():
    model = MLP([2, 8, 1], activation="relu", loss="bce", seed=0)
    fit(model, Adam(model.parameters(), lr=0.05), XOR_X, XOR_Y, epochs=300, batch_size=4, seed=0)
    np.testing.assert_array_equal(model.predict_classes(XOR_X), XOR_Y)


def test_two_layer_net_learns_xor_with_the_chapters_sgd():
    model = TwoLayerNet(2, 4, 1, seed=0)
    history = fit(model, SGD(model.parameters(), lr=2.0), XOR_X, XOR_Y, epochs=2000, batch_size=4, shuffle=False)
    assert history.last["accuracy"] == 1.0
    np.testing.assert_array_equal(model.predict_classes(XOR_X), XOR_Y)


def test_a_linear_model_cannot_learn_xor():
    model = MLP([2, 1], loss="bce", seed=0)
    fit(model, Adam(model.parameters(), lr=0.05), XOR_X, XOR_Y, epochs=300, batch_size=4, seed=0)
    assert evaluate(model, XOR_X, XOR_Y)["accuracy"] <= 0.75


def blobs(n_per_class=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    x = np.concatenate([rng.normal(c, 0.8, size=(n_per_class, 2)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(3), n_per_class)


def test_mlp_separates_three_blobs_to_100_percent_and_generalises():
    x, y = blobs()
    model = MLP([2, 16, 3], seed=0)
    history = fit(
        model, SGD(model.parameters(), lr=0.1, momentum=0.9), x, y, epochs=30, batch_size=16, seed=0,
        validation=blobs(seed=1),
    )  # fmt: skip
    assert evaluate(model, x, y)["accuracy"] == 1.0
    assert history.last["val_accuracy"] >= 0.99


def test_a_layer_cannot_be_built_into_two_models():
    layer = Linear(2, 2)
    Model([layer])
    with pytest.raises(ValueError, match="already built into a model"):
        Model([layer])


@pytest.mark.parametrize(
    "change",
    [
        lambda model: model.load_state_dict(MLP([3, 4, 2], seed=1).state_dict()),
        lambda model: model.reset_parameters(seed=2),
    ],
    ids=["load_state_dict", "reset_parameters"],
)
def test_parameters_written_in_place_refuse_the_backward_of_the_forward_before(change):
    model = MLP([3, 4, 2], seed=0)
    model.loss(np.ones((2, 3)), np.array([0, 1]))
    change(model)
    with pytest.raises(BackwardError, match="W1"):
        model.backward()
