"""Training: fit and its history, progress bar, plotting, evaluation, a real Fashion-MNIST run."""

import sys
import time

import numpy as np
import pytest

import models.data
from models import MLP, SGD, Adam, History, evaluate, fit, load_fashion_mnist, scale_images


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def test_fit_records_each_epoch():
    x, y = data()
    model = MLP([4, 8, 2], seed=0)
    seen = []
    history = fit(
        model, Adam(model.parameters(), lr=0.01), x, y, epochs=3, batch_size=16, validation=data(seed=1), seed=0,
        callback=seen.append,
    )  # fmt: skip
    assert len(history) == 3 and history["epoch"] == [1, 2, 3] and seen == history.records
    assert set(history.last) == {"epoch", "loss", "accuracy", "seconds", "val_loss", "val_accuracy"}
    assert history["loss"][-1] < history["loss"][0]
    assert history.to_dict()["val_accuracy"] == history["val_accuracy"]
    assert repr(history).startswith("History(3 epochs; last: loss=")


def test_epoch_loss_is_the_example_weighted_mean_of_batch_losses():
    x, y = data(n=10)
    model = MLP([4, 2], seed=0)
    history = fit(model, SGD(model.parameters(), lr=0.0), x, y, epochs=1, batch_size=4, shuffle=False)
    assert history.last["loss"] == pytest.approx(model.loss(x, y), rel=1e-6)
    assert history.last["accuracy"] == pytest.approx(evaluate(model, x, y)["accuracy"])


def test_same_seeds_give_the_same_run_and_shuffle_changes_it():
    x, y = data()

    def run(seed, shuffle=True):
        model = MLP([4, 8, 2], seed=0)
        fit(model, SGD(model.parameters(), lr=0.1), x, y, epochs=2, batch_size=8, seed=seed, shuffle=shuffle)
        return model.state_dict()["W1"]

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    np.testing.assert_array_equal(run(1, shuffle=False), run(2, shuffle=False))


def test_mse_model_has_loss_but_no_accuracy():
    x, _ = data()
    target = x[:, :1] * 2
    model = MLP([4, 1], loss="mse", seed=0)
    history = fit(model, Adam(model.parameters(), lr=0.05), x, target, epochs=30, batch_size=16, seed=0)
    assert history.last["accuracy"] is None and history.last["loss"] < 0.05
    assert evaluate(model, x, target)["accuracy"] is None


def test_divergence_is_a_clear_error():
    x, y = data()
    model = MLP([4, 2], loss="mse", seed=0)
    with pytest.raises(FloatingPointError, match="lower the learning rate"), np.errstate(all="ignore"):
        fit(model, SGD(model.parameters(), lr=1e30), x * 1e10, np.eye(2)[y], epochs=5, batch_size=8)


def test_mismatched_lengths_are_refused():
    x, y = data()
    model = MLP([4, 2], seed=0)
    with pytest.raises(ValueError, match="x has 64 examples but y has 63"):
        fit(model, SGD(model.parameters()), x, y[:-1])


def test_progress_bar_shows_the_running_loss_when_asked(capsys):
    pytest.importorskip("tqdm")
    x, y = data()
    model = MLP([4, 2], seed=0)
    fit(model, SGD(model.parameters()), x, y, epochs=1, batch_size=8, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


def test_progress_is_off_when_not_a_terminal_and_without_tqdm(capsys, monkeypatch):
    x, y = data()
    model = MLP([4, 2], seed=0)
    fit(model, SGD(model.parameters()), x, y, epochs=1, batch_size=8)  # pytest's stderr is no terminal
    assert capsys.readouterr().err == ""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    fit(model, SGD(model.parameters()), x, y, epochs=1, batch_size=8)
    with pytest.raises(ImportError, match=r"gategraph\[train\]"):
        fit(model, SGD(model.parameters()), x, y, epochs=1, batch_size=8, progress=True)


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = data()
    model = MLP([4, 8, 2], seed=0)
    history = fit(model, Adam(model.parameters()), x, y, epochs=3, batch_size=16, validation=data(seed=1))
    figure = history.plot(tmp_path / "curves.png", title="test")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figure.axes) == 2


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    history = History([{"epoch": 1, "loss": 1.0, "accuracy": None}])
    with pytest.raises(ImportError, match=r"matplotlib: pip install 'gategraph\[train\]'"):
        history.plot()


@pytest.mark.skipif(not models.data.FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_a_fashion_mnist_subset_beats_75_percent_in_seconds():
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    x_train, x_test = scale_images(x_train[:6000]), scale_images(x_test[:2000])
    y_train, y_test = y_train[:6000].astype(np.int64), y_test[:2000].astype(np.int64)
    model = MLP([784, 64, 10], seed=0)
    start = time.perf_counter()
    fit(model, Adam(model.parameters(), lr=2e-3), x_train, y_train, epochs=3, batch_size=64, seed=0)
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, x_test, y_test)["accuracy"]
    assert accuracy > 0.75, accuracy
    assert seconds < 60, seconds  # about 0.5 s on an idle 2-core machine; the margin is for shared machines
