"""The lecture's two ways to a gradient, side by side on a small network.

    python examples/numerical_vs_analytic.py

Numerical gradient: slow (two forward passes per parameter), approximate.
Analytic gradient (backprop): fast (one backward pass), exact. Both are
computed for a 20-16-3 network; the script prints how far apart they are and
how long each took.
"""

import time

import numpy as np

from gates import SoftmaxCrossEntropyGate
from graph import ComputationalGraph, numerical_gradient


def build(rng: np.random.Generator) -> ComputationalGraph:
    g = ComputationalGraph()
    x, labels = g.input("X", requires_grad=False), g.input("labels", requires_grad=False)
    w1, b1 = g.parameter("W1", rng.standard_normal((16, 20)) * 0.3), g.parameter("b1", np.zeros(16))
    w2, b2 = g.parameter("W2", rng.standard_normal((3, 16)) * 0.3), g.parameter("b2", np.zeros(3))
    hidden = (x @ w1.T + b1).tanh()
    g.add_gate(SoftmaxCrossEntropyGate(), hidden @ w2.T + b2, labels, name="loss")
    return g


def main() -> None:
    rng = np.random.default_rng(0)
    g = build(rng)
    feeds = {"X": rng.standard_normal((32, 20)), "labels": rng.integers(0, 3, 32)}
    parameters = g.parameters
    count = sum(p.value.size for p in parameters)

    g.forward(feeds)  # the first run also plans the graph; time the runs after it
    start = time.perf_counter()
    for _ in range(10):
        g.forward(feeds)
        analytic = g.backward()
    analytic_seconds = (time.perf_counter() - start) / 10

    def loss(*values):
        for p, value in zip(parameters, values):
            p.value = value
        return g.forward(feeds)

    originals = [p.value for p in parameters]
    start = time.perf_counter()
    numeric = numerical_gradient(loss, *originals)
    numeric_seconds = time.perf_counter() - start
    for p, value in zip(parameters, originals):
        p.value = value

    print(f"{count} parameters")
    print(f"analytic (one forward + one backward): {analytic_seconds * 1e3:8.2f} ms")
    print(f"numerical ({2 * count} forwards):           {numeric_seconds * 1e3:8.2f} ms")
    print(f"numerical / analytic time: {numeric_seconds / analytic_seconds:.0f}x")
    for p, grad in zip(parameters, numeric):
        error = np.max(np.abs(analytic[p.name] - grad))
        print(f"  {p.name:<3} largest |analytic - numerical| = {error:.1e}")


if __name__ == "__main__":
    main()
