"""Row 12: a Hessian-vector product of a 784-256-10 MLP's loss, float32, batch 128 (issue 15).

The loss: ``LinearGate``, ReLU, ``LinearGate``, softmax cross-entropy (mean),
with respect to all four parameters, along a random direction. Contenders,
interleaved in one process with one BLAS thread each:

- ``hvp``: ``graph.hvp(g, feeds, vectors)``, forward mode through the
  gradient graph (the gradient graph built on a copy at each call);
- ``gradient``: one ``g.forward`` and ``g.backward`` of the same graph, the
  unit of work (theory: an hvp costs 2 to 4 of them);
- ``torch``: ``torch.autograd.functional.hvp`` of the same loss.

Before timing, the two Hessian-vector products must agree.

    .venv/bin/python benchmarks/hvp.py            # the row, about 10 s
    .venv/bin/python benchmarks/hvp.py --quick
"""

from __future__ import annotations

from typing import Any

import common  # first: one BLAS thread
import numpy as np

from gates import LinearGate, SoftmaxCrossEntropyGate
from graph import ComputationalGraph, hvp

BATCH, SIZES = 128, (784, 256, 10)
STEPS = 5  # per block
NAMES = ("W1", "b1", "W2", "b2")


def problem(seed: int = 0):
    """Weights, one batch and one direction, float32."""
    rng = np.random.default_rng(seed)
    (n_in, hidden, classes) = SIZES
    weights = {
        "W1": rng.normal(0.0, np.sqrt(2.0 / n_in), (hidden, n_in)),
        "b1": 0.1 * rng.standard_normal(hidden),
        "W2": rng.normal(0.0, np.sqrt(2.0 / hidden), (classes, hidden)),
        "b2": 0.1 * rng.standard_normal(classes),
    }
    weights = {name: value.astype(np.float32) for name, value in weights.items()}
    feeds = {"X": rng.random((BATCH, n_in), dtype=np.float32), "Y": rng.integers(0, classes, BATCH)}
    vectors = {name: rng.standard_normal(value.shape).astype(np.float32) for name, value in weights.items()}
    return weights, feeds, vectors


def graph_mlp(weights) -> ComputationalGraph:
    g = ComputationalGraph()
    p = {name: g.parameter(name, value.copy()) for name, value in weights.items()}
    hidden = g.add_gate(LinearGate(), g.input("X", requires_grad=False), p["W1"], p["b1"]).relu()
    scores = g.add_gate(LinearGate(), hidden, p["W2"], p["b2"])
    g.add_gate(SoftmaxCrossEntropyGate(), scores, g.input("Y", requires_grad=False), name="loss")
    return g


def torch_hvp(torch, weights, feeds, vectors):
    """``torch.autograd.functional.hvp`` of the same loss: a function of no arguments returning H v."""
    functional = torch.nn.functional
    x, y = torch.from_numpy(feeds["X"]), torch.from_numpy(feeds["Y"])
    params = tuple(torch.from_numpy(weights[name]) for name in NAMES)
    directions = tuple(torch.from_numpy(vectors[name]) for name in NAMES)

    def loss(w1, b1, w2, b2):
        return functional.cross_entropy(functional.linear(functional.relu(functional.linear(x, w1, b1)), w2, b2), y)

    return lambda: torch.autograd.functional.hvp(loss, params, directions)[1]


def check(ours: dict, theirs) -> None:
    for name, expected in zip(NAMES, theirs):
        assert ours[name].dtype == np.float32, name
        np.testing.assert_allclose(ours[name], expected.numpy(), rtol=2e-3, atol=2e-5, err_msg=name)


def contenders(torch) -> dict:
    weights, feeds, vectors = problem()
    g = graph_mlp(weights)

    def gradient():
        g.forward(feeds)
        g.backward()

    runs = {"hvp": lambda: hvp(g, feeds, vectors), "gradient": gradient}
    if torch is not None:
        runs["torch"] = torch_hvp(torch, weights, feeds, vectors)
        check(runs["hvp"](), runs["torch"]())
    return {name: (lambda run=run: common.time_steps(run, STEPS)) for name, run in runs.items()}


ROW = common.Row("12", "hvp of a 784-256-10 MLP loss b128", "time / torch hvp", "<= 1.5", 1.5)


def measure(args, torch) -> list[dict]:
    samples, per_round = common.interleaved(contenders(torch), args.rounds, args.warmup)
    shape: dict[str, Any] = {"batch": BATCH, "steps_per_round": STEPS}
    ratio = common.Row("info", "hvp of the same loss", "time / one gradient (fwd+bwd)", "2-4 (theory)", None).ratio
    records = [ratio(samples, per_round, "hvp", "gradient", **shape)]
    if torch is None:
        return [ROW.missing(common.TORCH_MISSING), *records]
    theirs = common.Row("info", "torch hvp of the same loss", "time / our gradient (fwd+bwd)", "-", None).ratio
    return [
        ROW.ratio(samples, per_round, "hvp", "torch", **shape),
        *records,
        theirs(samples, per_round, "torch", "gradient", **shape),
    ]


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=21, warmup=3)
    common.report(measure(args, common.load_torch()), args.json)


if __name__ == "__main__":
    main()
