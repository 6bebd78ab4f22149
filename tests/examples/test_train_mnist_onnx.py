"""train_mnist.py --export-onnx: the trained model, loaded in ONNX Runtime, scores the same test accuracy."""

import runpy
import shutil
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from models import FASHION_MNIST_DIR, MNIST_FILES, load_idx_directory, scale_images, write_idx

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def train_mnist(argv: list[str]) -> dict:
    return runpy.run_path(str(EXAMPLES / "train_mnist.py"))["main"](argv)


def onnx_runtime_accuracy(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """The test accuracy as a user of the .onnx file computes it, with no gategraph model at hand."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(None, {"X": scale_images(images).astype(np.float32)})
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


@pytest.fixture
def needs_dot():
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (train_mnist.py draws graph.svg)")


def test_export_onnx_on_a_directory_of_idx_files(tmp_path, capsys, needs_dot):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for key, name in MNIST_FILES.items():
        n = 300 if key.startswith("train") else 100
        shape = (n, 28, 28) if "images" in key else (n,)
        write_idx(data / name, rng.integers(0, 256 if "images" in key else 10, size=shape, dtype=np.uint8))
    out = tmp_path / "out"
    argv = ["--dataset", str(data), "--hidden", "16,8", "--epochs", "1", "--validation", "50"]
    metrics = train_mnist([*argv, "--no-progress", "--export-onnx", "--out", str(out)])
    assert (out / "model.onnx").is_file()
    assert "test accuracy through ONNX Runtime" in capsys.readouterr().out
    _, (test_images, test_labels) = load_idx_directory(data)
    accuracy = onnx_runtime_accuracy(out / "model.onnx", test_images, test_labels)
    assert accuracy == metrics["test_accuracy"] == metrics["onnx_test_accuracy"]


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_export_onnx_of_the_main_job_on_fashion_mnist(tmp_path, needs_dot):
    out = tmp_path / "out"
    metrics = train_mnist(["--limit", "2000", "--epochs", "1", "--no-progress", "--export-onnx", "--out", str(out)])
    _, (test_images, test_labels) = load_idx_directory(FASHION_MNIST_DIR)
    accuracy = onnx_runtime_accuracy(out / "model.onnx", test_images, test_labels)
    assert accuracy == metrics["test_accuracy"] == metrics["onnx_test_accuracy"]
    assert accuracy > 0.65  # one epoch on 2,000 images
