"""Rows 1, 2, 3 and 7: one SGD training step of a 784-H-10 ReLU MLP, softmax cross-entropy, float32.

Contenders, interleaved in one process with one BLAS thread each, at four
sizes (batch 32 H 64, 128 H 256, 512 H 1024, 1024 H 1024):

- ``sugar``: the network as the README teaches it, with operator sugar,
  ``(X @ W1.T + b1).relu() @ W2.T + b2`` into a ``SoftmaxCrossEntropyGate``,
  and ``models.SGD`` over the graph's parameters: ``forward``, ``backward``, ``step``;
- ``linear``: the same with one ``LinearGate`` per layer;
- ``models``: ``models.MLP`` with ``models.SGD``: ``loss``, ``backward``, ``step``;
- ``numpy``: the same network by hand (benchmarks/numpy_mlp.py), the floor;
- ``torch``: ``nn.Sequential`` with ``torch.optim.SGD`` (if installed);
- ``gemms``: the step's five matrix products alone, for information.

Before timing, one step of every contender from the same weights and batch
must give the same loss and the same updated weights as the numpy floor.

    .venv/bin/python benchmarks/training_step.py            # all four sizes
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
CLASSES = 10
# batch, hidden units, steps per block, rounds as a share of --rounds
CONFIGS = (
    (32, 64, 30, 1.0),
    (128, 256, 8, 1.0),
    (512, 1024, 1, 0.5),
    (1024, 1024, 1, 0.4),
)


def initial_weights(sizes, seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = [
        (rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))).astype(np.float32)
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    biases = [np.zeros(n_out, dtype=np.float32) for n_out in sizes[1:]]
    return weights, biases


def batches(batch: int, n_in: int, classes: int, count: int = 4, seed: int = 1):
    rng = np.random.default_rng(seed)
    return [
        (rng.random((batch, n_in), dtype=np.float32), rng.integers(0, classes, size=batch).astype(np.int64))
        for _ in range(count)
    ]


def sugar_mlp(weights, biases):
    """The MLP with operator sugar, as the README writes it; returns the graph."""
    g = ComputationalGraph()
    a = g.input("X", requires_grad=False)
    labels = g.input("Y", requires_grad=False)
    for layer, (w, b) in enumerate(zip(weights, biases), start=1):
        z = a @ g.parameter(f"W{layer}", w.copy()).T + g.parameter(f"b{layer}", b.copy())
        a = z.relu() if layer < len(weights) else z
    g.add_gate(SoftmaxCrossEntropyGate(), a, labels, name="loss")
    return g


def linear_mlp(weights, biases):
    """The MLP with one LinearGate per layer; returns the graph."""
    g = ComputationalGraph()
    a = g.input("X", requires_grad=False)
    labels = g.input("Y", requires_grad=False)
    for layer, (w, b) in enumerate(zip(weights, biases), start=1):
        w_node, b_node = g.parameter(f"W{layer}", w.copy()), g.parameter(f"b{layer}", b.copy())
        z = g.add_gate(LinearGate(), a, w_node, b_node, name=f"Z{layer}")
        a = z.relu() if layer < len(weights) else z
    g.add_gate(SoftmaxCrossEntropyGate(), a, labels, name="loss")
    return g


def graph_step(g: ComputationalGraph):
    """forward, backward and models.SGD's step over the graph's parameters."""
    optimizer = SGD(g.parameters, lr=LR)

    def step(x, y):
        loss = g.forward(X=x, Y=y)
        g.backward()
        optimizer.step()
        return loss

    return step, lambda: [p.value for p in g.parameters]


def gemm_step(weights, x_like):
    """The step's five matrix products and nothing else: two forward, three backward."""
    w1, w2 = weights
    hidden = np.ones((len(x_like), w1.shape[0]), np.float32)
    grad_z2 = np.ones((len(x_like), w2.shape[0]), np.float32)

    def step(x, _):
        hidden_again = x @ w1.T
        hidden_again @ w2.T
        grad_z2.T @ hidden
        grad_hidden = grad_z2 @ w2
        grad_hidden.T @ x

    return step


def contenders(batch: int, hidden: int, torch) -> tuple[dict, dict]:
    """Each contender's one-step function over the same batches, and the parameters it updates (for the check)."""
    sizes = (784, hidden, CLASSES)
    weights, biases = initial_weights(sizes)

    sugar, sugar_params = graph_step(sugar_mlp(weights, biases))
    linear, linear_params = graph_step(linear_mlp(weights, biases))

    model = MLP(list(sizes), seed=0)
    model.load_state_dict(common.state_dict(weights, biases))
    optimizer = SGD(model.parameters(), lr=LR)

    def models_step(x, y):
        loss = model.loss(x, y)
        model.backward()
        optimizer.step()
        return loss

    reference = NumpyMLP(weights, biases)

    steps = {
        "sugar": (sugar, sugar_params),
        "linear": (linear, linear_params),
        "models": (models_step, lambda: [p.value for p in model.parameters()]),
        "numpy": (lambda x, y: reference.sgd_step(x, y, LR), reference.parameters),
        "gemms": (gemm_step(weights, np.empty((batch, 1))), None),
    }
    if torch is not None:
        from torch_mlp import torch_mlp, training_step

        net = torch_mlp(torch, weights, biases)
        torch_step = training_step(torch, net, torch.optim.SGD(net.parameters(), lr=LR))
        steps["torch"] = (
            lambda x, y: torch_step(torch.from_numpy(x), torch.from_numpy(y))[0].item(),
            lambda: [p.detach().numpy() for p in net.parameters()],
        )
    return {name: step for name, (step, _) in steps.items()}, {
        name: params for name, (_, params) in steps.items() if params is not None
    }


def check_agreement(steps: dict, params: dict, data) -> float:
    """One step of each contender on the first batch: the same loss and weights as numpy's, or an error.

    Returns the largest relative difference of the updated weights.
    """
    x, y = data[0]
    losses = {name: float(steps[name](x, y)) for name in params}
    worst = 0.0
    expected = params["numpy"]()
    for name, get in params.items():
        if not np.isclose(losses[name], losses["numpy"], rtol=1e-4):
            raise AssertionError(f"{name}'s loss {losses[name]} differs from numpy's {losses['numpy']}")
        for mine, theirs in zip(get(), expected):
            scale = float(np.max(np.abs(theirs))) or 1.0
            worst = max(worst, float(np.max(np.abs(mine - theirs))) / scale)
            if mine.dtype != np.float32:
                raise AssertionError(f"{name} turned a float32 parameter into {mine.dtype}")
    if worst > 1e-4:
        raise AssertionError(f"updated weights differ from numpy's by {worst:.2g} (relative)")
    return worst


def timed(step, data, steps: int):
    cursor = {"i": 0}

    def run():
        def one():
            cursor["i"] = (cursor["i"] + 1) % len(data)
            step(*data[cursor["i"]])

        return common.time_steps(one, steps)

    return run


# Goals by batch, from issue 13: sugar / numpy, LinearGate / numpy, sugar / torch (None: shown for information).
GOALS = {
    32: (1.40, 1.30, None),
    128: (1.10, 1.05, 1.00),
    512: (1.10, 1.05, 1.10),
    1024: (None, None, None),
}


def goal_row(row: str, work: str, measure: str, limit: float | None) -> common.Row:
    return common.Row(row if limit is not None else "info", work, measure, f"<= {limit:.2f}" if limit else "-", limit)


def measure(args, torch) -> list[dict]:
    records = []
    for batch, hidden, steps, share in CONFIGS:
        step_fns, params = contenders(batch, hidden, torch)
        data = batches(batch, 784, CLASSES)
        difference = check_agreement(step_fns, params, data)
        runs = {name: timed(step, data, steps) for name, step in step_fns.items()}
        rounds = max(3, round(args.rounds * share))
        samples, per_round = common.interleaved(runs, rounds, args.warmup)
        size = f"b{batch} 784-{hidden}-10"
        extra = {"batch": batch, "sizes": [784, hidden, CLASSES], "steps_per_round": steps}
        extra["max_weight_difference"] = difference
        sugar_goal, linear_goal, torch_goal = GOALS[batch]
        records.append(
            goal_row("1", f"step {size}, operator sugar", "time / tightest numpy", sugar_goal).ratio(
                samples, per_round, "sugar", "numpy", **extra
            )
        )
        records.append(
            goal_row("2", f"step {size}, LinearGate", "time / tightest numpy", linear_goal).ratio(
                samples, per_round, "linear", "numpy", **extra
            )
        )
        if torch is not None:
            records.append(
                goal_row("3", f"step {size}, operator sugar", "time / PyTorch CPU", torch_goal).ratio(
                    samples, per_round, "sugar", "torch", **extra
                )
            )
            for who in ("linear", "numpy"):
                records.append(
                    goal_row("3", f"step {size}, {who}", "time / PyTorch CPU", None).ratio(
                        samples, per_round, who, "torch", **extra
                    )
                )
        elif torch_goal is not None:
            records.append(
                goal_row("3", f"step {size}, operator sugar", "time / PyTorch CPU", torch_goal).missing(
                    common.TORCH_MISSING
                )
            )
        records.append(
            goal_row("7", f"step {size}, models.MLP + SGD", "time / LinearGate step", 1.05).ratio(
                samples, per_round, "models", "linear", **extra
            )
        )
        records.append(
            goal_row("7", f"step {size}, models.MLP + SGD", "time / tightest numpy", None).ratio(
                samples, per_round, "models", "numpy", **extra
            )
        )
        records.append(
            goal_row("1", f"step {size}, five GEMMs alone", "time / tightest numpy", None).ratio(
                samples, per_round, "gemms", "numpy", **extra
            )
        )
    return records


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=61, warmup=3)
    common.report(measure(args, common.load_torch()), args.json)


if __name__ == "__main__":
    main()
