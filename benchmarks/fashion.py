"""The main example's data and settings, prepared as examples/train_mnist.py prepares them.

Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package, scaled to
float32 rows, 5,000 training images held out for validation; the default
model is a 784-256-128-10 ReLU MLP trained with Adam (lr 1e-3) on batches
of 128.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 1e-3
VALIDATION = 5000
EVAL_BATCH = 2000  # models.evaluate's batch size


def prepare(seed: int = 0) -> dict:
    """Training, validation and test arrays, split as the example splits them."""
    from models import load_fashion_mnist, scale_images

    (train_images, train_labels), (test_images, test_labels) = load_fashion_mnist()
    x_all, x_test = scale_images(train_images), scale_images(test_images)
    y_all, y_test = train_labels.astype(np.int64), test_labels.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x_all))
    held, kept = order[:VALIDATION], order[VALIDATION:]
    return {
        "x_train": x_all[kept],
        "y_train": y_all[kept],
        "x_val": x_all[held],
        "y_val": y_all[held],
        "x_test": x_test,
        "y_test": y_test,
    }


def steps_per_epoch(data: dict) -> int:
    return math.ceil(len(data["x_train"]) / BATCH)


def he_weights(seed: int = 0):
    """He-initialised float32 weights and zero biases for :data:`SIZES`."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_out, n_in)).astype(np.float32)
        for n_in, n_out in itertools.pairwise(SIZES)
    ]
    return weights, [np.zeros(n, dtype=np.float32) for n in SIZES[1:]]


def numpy_epoch(net, optimizer, x, y, rng) -> float:
    """One epoch of the hand-written network the way models.fit runs one: shuffled batches, loss and accuracy."""
    total, correct = 0.0, 0
    order = rng.permutation(len(x))
    for start in range(0, len(x), BATCH):
        index = order[start : start + BATCH]
        labels = y[index]
        loss, logits, grads = net.loss_and_gradients(x[index], labels)
        optimizer.step(grads)
        total += loss * len(index)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == labels))
    return total / len(x)


def numpy_evaluate(net, x, y) -> float:
    """Accuracy in batches of :data:`EVAL_BATCH`, as models.evaluate scores."""
    correct = 0
    for start in range(0, len(x), EVAL_BATCH):
        rows = slice(start, start + EVAL_BATCH)
        correct += int(np.count_nonzero(net.logits(x[rows]).argmax(axis=1) == y[rows]))
    return correct / len(x)


def torch_epoch(torch, step, x, y, rng) -> float:
    """One epoch of the PyTorch network, the same shuffled batches, loss and accuracy."""
    total, correct = 0.0, 0
    order = torch.from_numpy(rng.permutation(len(x)))
    for start in range(0, len(x), BATCH):
        index = order[start : start + BATCH]
        labels = y[index]
        loss, logits = step(x[index], labels)
        total += loss.item() * len(index)
        correct += int((logits.argmax(dim=1) == labels).sum())
    return total / len(x)
