"""Step through the lecture's circuits in the browser: forward values, then gradients back.

    python examples/animate_backprop.py            # writes out/*.html
    python examples/animate_backprop.py slides     # writes slides/*.html

Each page is one self-contained HTML file (no network needed): open it, then
step with the arrow keys or the buttons, drag the slider, or press play. The
forward pass fills in the values (green) node by node; the backward pass then
starts from the output with gradient 1 and, at each gate, multiplies the
upstream gradient by the local gradient and sends the product back (red).

- circuit.html: f = (x + y) z at x = -2, y = 5, z = -4 (f = -12; gradients -4, -4, 3);
- neuron.html: the sigmoid neuron 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) from
  primitive gates at w = [2, -3, -3], x = [-1, -2] (f = 0.7311; dw0 = -0.1966);
- patterns.html: f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1: add
  distributes, max routes, mul switches;
- mlp.html: a 3-4-1 MLP on a batch of 4, its arrays summarised by shape, mean and norm.

Needs Graphviz's ``dot`` (``sudo apt-get install graphviz``), which lays each
diagram out once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gates import LinearGate, MSELossGate, ReLUGate
from graph import ComputationalGraph
from models.lecture import first_circuit, patterns_circuit, sigmoid_neuron


def mlp(seed: int = 0) -> ComputationalGraph:
    """A 3-4-1 MLP with a ReLU and a mean squared error, each layer in its own scope."""
    rng = np.random.default_rng(seed)
    g = ComputationalGraph()
    features, targets = g.input("X", requires_grad=False), g.input("Y", requires_grad=False)
    with g.scope("layer1"):
        weight, bias = g.parameter("W1", rng.normal(0.0, 0.8, size=(4, 3))), g.parameter("b1", np.zeros(4))
        hidden = g.add_gate(ReLUGate(), g.add_gate(LinearGate(), features, weight, bias, name="Z1"), name="A1")
    with g.scope("layer2"):
        weight, bias = g.parameter("W2", rng.normal(0.0, 0.7, size=(1, 4))), g.parameter("b2", np.zeros(1))
        prediction = g.add_gate(LinearGate(), hidden, weight, bias, name="Z2")
    g.add_gate(MSELossGate(), prediction, targets, name="loss")
    g.forward(X=rng.normal(size=(4, 3)), Y=rng.normal(size=(4, 1)))
    g.backward()
    return g


PAGES = {
    "circuit": (first_circuit, "f = (x + y) z at x = -2, y = 5, z = -4"),
    "neuron": (sigmoid_neuron, "The sigmoid neuron, gate by gate: w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3"),
    "patterns": (patterns_circuit, "Patterns in backward flow: f = 2 (x y + max(z, w)) at 3, -4, 2, -1"),
    "mlp": (mlp, "A 3-4-1 MLP on a batch of 4: arrays summarised"),
}


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="out", help="folder to write into (default: out)")
    folder = Path(parser.parse_args(argv).out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (build, title) in PAGES.items():
        path = build().animate(folder / f"{name}.html", title=title)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
        written.append(path)
    return written


if __name__ == "__main__":
    main()
