"""Rows 1-3: one SGD training step of a ReLU MLP with softmax cross-entropy, float32.

Contenders, interleaved in one process with one BLAS thread each:

- ``graph``: the network built from gates with the graph API (two LinearGates,
  a ReLUGate, a SoftmaxCrossEntropyGate), ``forward``, ``backward`` and the
  update ``W -= lr * W.grad`` written out;
- ``numpy``: the same network by hand (benchmarks/numpy_mlp.py), the floor;
- ``torch``: ``nn.Sequential`` with ``torch.optim.SGD`` (if installed);
- ``models``: ``models.MLP`` with ``models.SGD``: ``loss``, ``backward``, ``step``;
- ``models_fit``: the step ``models.fit`` takes: ``forward`` (loss and the
  softmax output), ``backward``, ``step``, and the accuracy count.

    .venv/bin/python benchmarks/training_step.py            # batch 128 (784-256-10) and 32 (784-64-10)
    .venv/bin/python benchmarks/training_step.py --quick
"""

from __future__ import annotations

import itertools

import common  # first: one BLAS thread
import numpy as np
from numpy_mlp import NumpyMLP

from gates import LinearGate, SoftmaxCrossEntropyGate
from graph import ComputationalGraph
from models import MLP, SGD

LR = 0.01
CONFIGS = (
    # batch, sizes, steps per block
    (128, (784, 256, 10), 8),
    (32, (784, 64, 10), 30),
)


def initial_weights(sizes, seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = [
        (rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))).astype(np.float32)
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    biases = [np.zeros(n_out, dtype=np.float32) for n_out in sizes[1:]]
    return weights, biases


def batches(batch: int, n_in: int, classes: int, count: int = 8, seed: int = 1):
    rng = np.random.default_rng(seed)
    return [
        (rng.random((batch, n_in), dtype=np.float32), rng.integers(0, classes, size=batch).astype(np.int64))
        for _ in range(count)
    ]


def graph_mlp(weights, biases):
    """The MLP from gates with the graph API; returns the graph and its parameter nodes."""
    g = ComputationalGraph()
    a = g.input("X", requires_grad=False)
    labels = g.input("Y", requires_grad=False)
    params = []
    for layer, (w, b) in enumerate(zip(weights, biases), start=1):
        w_node, b_node = g.parameter(f"W{layer}", w), g.parameter(f"b{layer}", b)
        params += [w_node, b_node]
        z = g.add_gate(LinearGate(), a, w_node, b_node, name=f"Z{layer}")
        a = z.relu() if layer < len(weights) else z
    g.add_gate(SoftmaxCrossEntropyGate(), a, labels, name="loss")
    return g, params


def contenders(batch: int, sizes, steps: int, torch) -> dict:
    """Each contender runs ``steps`` training steps over the same batches and returns seconds per step."""
    weights, biases = initial_weights(sizes)
    data = batches(batch, sizes[0], sizes[-1])
    cursor = {"i": 0}

    def next_batch():
        cursor["i"] = (cursor["i"] + 1) % len(data)
        return data[cursor["i"]]

    g, params = graph_mlp(weights, biases)

    def graph_step():
        x, y = next_batch()
        g.forward(X=x, Y=y)
        g.backward()
        for node in params:
            node.value -= LR * node.grad

    reference = NumpyMLP(weights, biases)

    def numpy_step():
        x, y = next_batch()
        reference.sgd_step(x, y, LR)

    model = MLP(list(sizes), seed=0)
    model.load_state_dict(common.state_dict(weights, biases))
    optimizer = SGD(model.parameters(), lr=LR)

    def models_step():
        x, y = next_batch()
        model.loss(x, y)
        model.backward()
        optimizer.step()

    def models_fit_step():
        x, y = next_batch()
        _, output = model.forward(x, y)
        model.backward()
        optimizer.step()
        int(np.count_nonzero(model.classes(output) == y))

    runs = {
        "graph": graph_step,
        "numpy": numpy_step,
        "models": models_step,
        "models_fit": models_fit_step,
    }
    if torch is not None:
        from torch_mlp import torch_mlp, training_step

        net = torch_mlp(torch, weights, biases)
        step = training_step(torch, net, torch.optim.SGD(net.parameters(), lr=LR))
        torch_data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
        torch_cursor = {"i": 0}

        def torch_step():
            torch_cursor["i"] = (torch_cursor["i"] + 1) % len(torch_data)
            step(*torch_data[torch_cursor["i"]])

        runs["torch"] = torch_step
    return {name: (lambda run=run: common.time_steps(run, steps)) for name, run in runs.items()}


ROW1_NUMPY = common.Row("1", "step b128 784-256-10, graph API", "time / numpy step", "<= 1.05", 1.05)
ROW1_TORCH = common.Row("1", "step b128 784-256-10, graph API", "time / torch step", "< 1.0", 1.0, strict=True)
ROW2_NUMPY = common.Row("2", "step b32 784-64-10, graph API", "time / numpy step", "<= 1.30", 1.30)


def row3(batch: int) -> common.Row:
    return common.Row("3", f"step b{batch}, models.MLP + SGD", "time / graph-API step", "<= 1.05", 1.05)


def info(batch: int, what: str, measure: str) -> common.Row:
    return common.Row("info", f"step b{batch}, {what}", measure, "-", None)


def measure(args, torch) -> list[dict]:
    records = []
    for batch, sizes, steps in CONFIGS:
        samples, per_round = common.interleaved(contenders(batch, sizes, steps, torch), args.rounds, args.warmup)
        extra = {"batch": batch, "sizes": list(sizes), "steps_per_round": steps}
        if batch == 128:
            records.append(ROW1_NUMPY.ratio(samples, per_round, "graph", "numpy", **extra))
            if torch is not None:
                records.append(ROW1_TORCH.ratio(samples, per_round, "graph", "torch", **extra))
            else:
                records.append(ROW1_TORCH.missing(common.TORCH_MISSING))
        else:
            records.append(ROW2_NUMPY.ratio(samples, per_round, "graph", "numpy", **extra))
            if torch is not None:
                records.append(
                    info(batch, "graph API", "time / torch step").ratio(samples, per_round, "graph", "torch", **extra)
                )
        records.append(row3(batch).ratio(samples, per_round, "models", "graph", **extra))
        records.append(
            info(batch, "models.fit's step", "time / graph-API step").ratio(
                samples, per_round, "models_fit", "graph", **extra
            )
        )
        records.append(info(batch, "numpy step", "microseconds").record(np.median(samples["numpy"]) * 1e6))
        records.append(
            info(batch, "graph API - numpy", "microseconds").record(
                (np.median(samples["graph"]) - np.median(samples["numpy"])) * 1e6
            )
        )
    return records


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=101, warmup=5)
    common.report(measure(args, common.load_torch()), args.json)


if __name__ == "__main__":
    main()
