"""Row conv: one SGD training step of a small conv net from gates, against PyTorch CPU, float32, batch 128.

The network (issue 16): conv(1->16, 3x3, pad 1), ReLU, max-pool 2, conv(16->32,
3x3, pad 1), ReLU, max-pool 2, linear(1568 -> 10), softmax cross-entropy,
SGD. Contenders, interleaved in one process with one thread each:

- ``graph``: the network from gates with the graph API (Conv2DGate,
  ReLUGate, MaxPool2DGate, FlattenGate, LinearGate, SoftmaxCrossEntropyGate),
  ``forward``, ``backward`` and ``W -= lr * W.grad`` written out;
- ``models``: the same network as ``models.Model`` layers with ``models.SGD``;
- ``torch``: the same network as ``nn.Sequential`` with ``torch.optim.SGD``.

And, for information, a step of the CNN that ``examples/train_mnist.py --model cnn``
trains (1-16-32-128-10 with batch norm and dropout 0.25, Adam): ``models.CNN``
against the same network in PyTorch, the ratio of their seconds per epoch.

    .venv/bin/python benchmarks/conv_step.py            # the row, about 30 s
    .venv/bin/python benchmarks/conv_step.py --quick
"""

from __future__ import annotations

import common  # first: one BLAS thread
import numpy as np

from gates import Conv2DGate, FlattenGate, LinearGate, MaxPool2DGate, SoftmaxCrossEntropyGate
from graph import ComputationalGraph
from models import CNN, SGD, Activation, Adam, Conv2D, Flatten, Linear, MaxPool2D, Model

LR = 0.01
BATCH = 128
STEPS = 3  # per block


def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def he(shape, fan_in):
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)

    return {
        "W1": he((16, 1, 3, 3), 9),
        "b1": np.zeros(16, np.float32),
        "W2": he((32, 16, 3, 3), 144),
        "b2": np.zeros(32, np.float32),
        "W3": he((10, 1568), 1568),
        "b3": np.zeros(10, np.float32),
    }


def batches(count: int = 4, seed: int = 1):
    rng = np.random.default_rng(seed)
    return [
        (rng.random((BATCH, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, size=BATCH).astype(np.int64))
        for _ in range(count)
    ]


def graph_cnn(weights):
    """The conv net from gates with the graph API; returns the graph and its parameter nodes."""
    g = ComputationalGraph()
    p = {name: g.parameter(name, value.copy()) for name, value in weights.items()}
    a = g.input("X", requires_grad=False)
    for layer in (1, 2):
        a = g.add_gate(Conv2DGate(padding=1), a, p[f"W{layer}"], p[f"b{layer}"]).relu()
        a = g.add_gate(MaxPool2DGate(2), a)
    z = g.add_gate(LinearGate(), g.add_gate(FlattenGate(), a), p["W3"], p["b3"])
    g.add_gate(SoftmaxCrossEntropyGate(), z, g.input("Y", requires_grad=False), name="loss")
    return g, list(p.values())


def models_cnn(weights) -> Model:
    layers = [
        Conv2D(1, 16, 3, padding=1),
        Activation("relu"),
        MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1),
        Activation("relu"),
        MaxPool2D(2),
        Flatten(),
        Linear(1568, 10),
    ]
    model = Model(layers, input_shape=(1, 28, 28), seed=0)
    model.load_state_dict(weights)
    return model


def torch_cnn(torch, weights):
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1568, 10),
    )
    with torch.no_grad():
        for module, layer in zip((net[0], net[3], net[7]), (1, 2, 3)):
            module.weight.copy_(torch.from_numpy(weights[f"W{layer}"]))
            module.bias.copy_(torch.from_numpy(weights[f"b{layer}"]))
    return net


def torch_example_cnn(torch):
    """The network of ``train_mnist.py --model cnn`` in PyTorch (its own initialisation: timing only)."""
    nn = torch.nn
    block = [(1, 16), (16, 32)]
    layers = []
    for c_in, c_out in block:
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Flatten(), nn.Dropout(0.25), nn.Linear(1568, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


def contenders(torch) -> dict:
    weights, data = initial_weights(), batches()
    cursor = {"i": 0}

    def next_batch():
        cursor["i"] = (cursor["i"] + 1) % len(data)
        return data[cursor["i"]]

    g, params = graph_cnn(weights)

    def graph_step():
        x, y = next_batch()
        g.forward(X=x, Y=y)
        g.backward()
        for node in params:
            node.value -= LR * node.grad
            node.mark_changed()

    model = models_cnn(weights)
    optimizer = SGD(model.parameters(), lr=LR)

    def models_step():
        x, y = next_batch()
        model.loss(x, y)
        model.backward()
        optimizer.step()

    example = CNN(channels=(16, 32), hidden=(128,), dropout=0.25, seed=0)
    example_optimizer = Adam(example.parameters(), lr=3e-3)

    def example_step():
        x, y = next_batch()
        example.forward(x, y)
        example.backward()
        example_optimizer.step()

    runs = {"graph": graph_step, "models": models_step, "example": example_step}
    if torch is not None:
        net = torch_cnn(torch, weights)
        torch_optimizer = torch.optim.SGD(net.parameters(), lr=LR)
        loss_function = torch.nn.CrossEntropyLoss()
        torch_data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]

        def torch_step():
            x, y = torch_data[cursor["i"]]
            cursor["i"] = (cursor["i"] + 1) % len(torch_data)
            torch_optimizer.zero_grad()
            loss_function(net(x), y).backward()
            torch_optimizer.step()

        runs["torch"] = torch_step
        example_net = torch_example_cnn(torch)
        example_torch_optimizer = torch.optim.Adam(example_net.parameters(), lr=3e-3)

        def torch_example_step():
            x, y = torch_data[cursor["i"]]
            example_torch_optimizer.zero_grad()
            loss_function(example_net(x), y).backward()
            example_torch_optimizer.step()

        runs["torch_example"] = torch_example_step
    return {name: (lambda run=run: common.time_steps(run, STEPS)) for name, run in runs.items()}


ROW = common.Row("11", "CNN step b128 (2 conv, 2 pool, linear), graph API", "time / torch step", "<= 1.5", 1.5)


def measure(args, torch) -> list[dict]:
    if torch is None:
        return [ROW.missing(common.TORCH_MISSING)]
    samples, per_round = common.interleaved(contenders(torch), args.rounds, args.warmup)
    extra = {"batch": BATCH, "steps_per_round": STEPS}
    return [
        ROW.ratio(samples, per_round, "graph", "torch", **extra),
        common.Row("info", "CNN step b128, models.Model + SGD", "time / torch step", "-", None).ratio(
            samples, per_round, "models", "torch", **extra
        ),
        common.Row("info", "train_mnist.py --model cnn step (epoch)", "time / torch step", "-", None).ratio(
            samples, per_round, "example", "torch_example", **extra
        ),
        common.Row("info", "CNN step b128, graph API", "milliseconds", "-", None).record(
            np.median(samples["graph"]) * 1e3
        ),
        common.Row("info", "CNN step b128, torch", "milliseconds", "-", None).record(np.median(samples["torch"]) * 1e3),
    ]


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=41, warmup=3)
    common.report(measure(args, common.load_torch()), args.json)


if __name__ == "__main__":
    main()
