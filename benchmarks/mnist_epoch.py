"""Row 10: the main example's seconds per epoch against PyTorch on the CPU.

The main example (examples/train_mnist.py) trains a 784-256-128-10 ReLU MLP
with Adam on batches of 128 of Fashion-MNIST through ``models.fit``. A full
epoch is 430 steps; to keep ``make bench`` short each contender runs one
epoch over a slice of the training set per round, interleaved, and the
median time per step is scaled to a full epoch.

- ``fit``: ``models.fit`` (no progress bar, no validation: the example's
  epoch seconds exclude evaluation too);
- ``torch``: the same network, ``torch.optim.Adam``, the same shuffled
  batches, loss and accuracy bookkeeping (if torch is installed);
- ``numpy``: the hand-written network and Adam, for information.

    .venv/bin/python benchmarks/mnist_epoch.py [--quick] [--slice N]
"""

from __future__ import annotations

import statistics

import common  # first: one BLAS thread
import fashion
import numpy as np
from numpy_mlp import NumpyAdam, NumpyMLP

from models import MLP, Adam, fit

SLICE = 30 * fashion.BATCH


def contenders(data: dict, torch, examples: int) -> dict:
    x, y = data["x_train"][:examples], data["y_train"][:examples]
    steps = -(-examples // fashion.BATCH)
    weights, biases = fashion.he_weights()

    model = MLP(list(fashion.SIZES), seed=0)
    model.load_state_dict(common.state_dict(weights, biases))
    optimizer = Adam(model.parameters(), lr=fashion.LR)
    fit_rng = np.random.default_rng(1)

    def run_fit():
        start = common.clock()
        fit(model, optimizer, x, y, epochs=1, batch_size=fashion.BATCH, seed=fit_rng, progress=False)
        return (common.clock() - start) / steps

    net = NumpyMLP(weights, biases)
    adam = NumpyAdam(net.parameters(), lr=fashion.LR)
    numpy_rng = np.random.default_rng(1)

    def run_numpy():
        start = common.clock()
        fashion.numpy_epoch(net, adam, x, y, numpy_rng)
        return (common.clock() - start) / steps

    runs = {"fit": run_fit, "numpy": run_numpy}
    if torch is not None:
        from torch_mlp import torch_mlp, training_step

        torch_net = torch_mlp(torch, weights, biases)
        step = training_step(torch, torch_net, torch.optim.Adam(torch_net.parameters(), lr=fashion.LR))
        x_torch, y_torch = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)
        torch_rng = np.random.default_rng(1)

        def run_torch():
            start = common.clock()
            fashion.torch_epoch(torch, step, x_torch, y_torch, torch_rng)
            return (common.clock() - start) / steps

        runs["torch"] = run_torch
    return runs


ROW10 = common.Row("10", "main example, Fashion-MNIST", "s per epoch / torch", "<= 1.0", 1.0)


def measure(args, torch, examples: int = SLICE) -> list[dict]:
    try:
        data = fashion.prepare()
    except Exception as error:  # any failure to read the data set skips the row
        return [ROW10.missing(f"Fashion-MNIST unavailable: {error}")]
    samples, per_round = common.interleaved(contenders(data, torch, examples), args.rounds, args.warmup)
    per_epoch = fashion.steps_per_epoch(data)
    extra = {"steps_per_epoch": per_epoch, "examples_per_round": examples}
    records = []
    if torch is not None:
        records.append(ROW10.ratio(samples, per_round, "fit", "torch", **extra))
    else:
        records.append(ROW10.missing(common.TORCH_MISSING))
    records.append(
        common.Row("info", "main example, Fashion-MNIST", "s per epoch / numpy", "-", None).ratio(
            samples, per_round, "fit", "numpy", **extra
        )
    )
    for name in samples:
        records.append(
            common.Row("info", f"main example, {name}", "s per epoch (430 steps)", "-", None).record(
                statistics.median(samples[name]) * per_epoch
            )
        )
    return records


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=21, warmup=2)
    common.report(measure(args, common.load_torch()), args.json)


if __name__ == "__main__":
    main()
