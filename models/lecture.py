"""The lecture's worked circuits as graphs, ready to run, draw and animate.

Each builder returns a new graph; with ``run=True`` (the default) it has
already run forward at the lecture's values and backward from its output, so
every node holds the value and the gradient the slides show.

>>> g = first_circuit()
>>> g["f"].value, g["x"].grad, g["y"].grad, g["z"].grad
(-12.0, -4.0, -4.0, 3.0)
>>> g = sigmoid_neuron()
>>> round(g["f"].value, 4), round(g["w0"].grad, 8)
(0.7311, -0.19661193)
"""

from __future__ import annotations

from graph import ComputationalGraph

__all__ = [
    "FIRST_CIRCUIT_FEEDS",
    "NEURON_FEEDS",
    "PATTERNS_FEEDS",
    "first_circuit",
    "sigmoid_neuron",
    "patterns_circuit",
]

FIRST_CIRCUIT_FEEDS = {"x": -2.0, "y": 5.0, "z": -4.0}
NEURON_FEEDS = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
PATTERNS_FEEDS = {"x": 3.0, "y": -4.0, "z": 2.0, "w": -1.0}


def first_circuit(run: bool = True) -> ComputationalGraph:
    """f = (x + y) z, with q = x + y: f = -12 and df/dx = df/dy = -4, df/dz = 3 at x = -2, y = 5, z = -4."""
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = (x + y).named("q")
    (q * z).named("f")
    return _run(g, FIRST_CIRCUIT_FEEDS) if run else g


def sigmoid_neuron(fused: bool = False, run: bool = True) -> ComputationalGraph:
    """f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = [2, -3, -3], x = [-1, -2]: f = 0.7311.

    Built as the lecture draws it, from primitive gates (*, +, negation, exp,
    +1, 1/x), or with ``fused=True`` as one sigmoid gate; the output is
    named ``f`` in both, and both give dw = [-0.1966, -0.3932, 0.1966] and
    dx = [0.3932, -0.5898].
    """
    g = ComputationalGraph()
    w0, x0, w1, x1, w2 = (g.input(name) for name in NEURON_FEEDS)
    dot = w0 * x0 + w1 * x1 + w2
    f = dot.sigmoid() if fused else 1 / (1 + (-dot).exp())
    f.named("f")
    return _run(g, NEURON_FEEDS) if run else g


def patterns_circuit(run: bool = True) -> ComputationalGraph:
    """f = 2 (x y + max(z, w)): add distributes, max routes, mul switches.

    At x = 3, y = -4, z = 2, w = -1: f = -20 and df/dx = -8, df/dy = 6,
    df/dz = 2, df/dw = 0.
    """
    g = ComputationalGraph()
    x, y, z, w = (g.input(name) for name in PATTERNS_FEEDS)
    product = (x * y).named("xy")
    largest = z.maximum(w).named("max_zw")
    total = (product + largest).named("sum")
    (total * 2.0).named("f")
    return _run(g, PATTERNS_FEEDS) if run else g


def _run(g: ComputationalGraph, feeds: dict[str, float]) -> ComputationalGraph:
    g.forward(feeds)
    g.backward()
    return g
