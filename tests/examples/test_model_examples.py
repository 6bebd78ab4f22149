"""The models' example scripts run, print what the seeds teach, and the main job writes its outputs."""

import importlib.util
import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

from models import FASHION_MNIST_DIR, MNIST_FILES, load, write_idx

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str):
    """The example's ``main``, without running it as a script."""
    return runpy.run_path(str(EXAMPLES / name))["main"]


def test_chapter_example_graph_gradients_equal_the_closed_form(capsys):
    worst = example("chapter_two_layer.py")()
    out = capsys.readouterr().out
    assert worst < 1e-12
    assert "③ ∂L/∂W2  =  (1/N) ∂Z2ᵀ A1" in out and "② ∂L/∂b1  =  mean₀(∂Z1)" in out
    assert "predictions (A2 >= 0.5): [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]]" in out


def test_neuron_example_has_the_lectures_numbers_and_learns_or_not_xor(capsys):
    results = example("neuron.py")()
    out = capsys.readouterr().out
    assert "firing rate 0.73105858" in out
    assert "d(rate)/d(weights) = [-0.19661193, -0.39322387]   d(rate)/d(bias) = 0.19661193" in out
    assert results["OR"] == 1.0 and results["XOR"] < 1.0


def test_xor_needs_an_activation(capsys):
    results = example("xor_activations.py")()
    out = capsys.readouterr().out
    assert results["no activation"] <= 0.75
    assert results["relu"] == 1.0 and results["tanh"] == 1.0
    assert "one linear layer W = W2 W1 (shape (1, 2)): True" in out


def check_outputs(out: Path, metrics: dict) -> None:
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["test_accuracy"] == metrics["test_accuracy"]
    for key in ("test_accuracy", "train_seconds", "epochs", "dataset", "model"):
        assert key in on_disk
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    model = load(out / "model.npz")
    assert model.architecture == metrics["model"]


def test_main_job_on_a_directory_of_idx_files(tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for key, name in MNIST_FILES.items():
        n = 300 if key.startswith("train") else 100
        write_idx(data / name, rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8) if "images" in key else
                  rng.integers(0, 10, size=n, dtype=np.uint8))  # fmt: skip
    out = tmp_path / "out"
    argv = ["--dataset", str(data), "--model", "two-layer", "--hidden", "16", "--optimizer", "sgd"]
    metrics = example("train_mnist.py")([*argv, "--epochs", "2", "--validation", "50", "--out", str(out)])
    assert metrics["model"] == "TwoLayerNet 784-16-10" and metrics["epochs"] == 2
    assert metrics["train_examples"] == 250 and len(metrics["history"]["loss"]) == 2
    check_outputs(out, metrics)
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_main_job_on_a_fashion_mnist_subset(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    out = tmp_path / "out"
    metrics = example("train_mnist.py")(["--limit", "5000", "--epochs", "2", "--no-progress", "--out", str(out)])
    assert metrics["dataset"] == "fashion-mnist" and metrics["test_accuracy"] > 0.75
    check_outputs(out, metrics)


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        example("train_mnist.py")(["--model", "two-layer", "--hidden", "64,32"])


def test_main_job_trains_a_cnn_and_exports_it(tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for key, name in MNIST_FILES.items():
        n = 200 if key.startswith("train") else 60
        write_idx(data / name, rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8) if "images" in key else
                  rng.integers(0, 10, size=n, dtype=np.uint8))  # fmt: skip
    out = tmp_path / "out"
    argv = ["--dataset", str(data), "--model", "cnn", "--channels", "4,8", "--hidden", "16", "--epochs", "1"]
    metrics = example("train_mnist.py")(
        [*argv, "--validation", "40", "--export-onnx", "--no-progress", "--out", str(out)]
    )
    assert metrics["model"] == "CNN 1-4-8-16-10" and metrics["parameters"] == load(out / "model.npz").num_parameters
    assert metrics["onnx_test_accuracy"] == metrics["test_accuracy"]
    check_outputs(out, metrics)
    svg = (out / "graph.svg").read_text()
    assert "layer1" in svg and ">W1<" not in svg  # each layer drawn as one box
    assert "Conv2D(1 -> 4, 3x3, pad 1)" in capsys.readouterr().out  # the summary
    assert "(60, 10) float32" not in svg and "(1, 10) float32" not in svg and "(8, 10) float32" in svg  # one pass
