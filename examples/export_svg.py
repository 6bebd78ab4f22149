"""Draw the lecture's circuits and a small MLP, with their values and gradients, to SVG.

    python examples/export_svg.py            # writes out/*.svg
    python examples/export_svg.py figures    # writes figures/*.svg
    python examples/export_svg.py --png      # PNG as well, for slides
    python examples/export_svg.py --large    # also time a 2,160-gate graph

Each graph is run forward and backward first, so every edge carries the value
that flowed forward (green, above the line) and the gradient that flowed back
(red, below), as on the lecture's slides:

- circuit.svg: f = (x + y) z at x = -2, y = 5, z = -4 (f = -12; gradients -4, -4, 3);
- neuron.svg: the sigmoid neuron 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) built from
  primitive gates, at w = [2, -3, -3], x = [-1, -2] (f = 0.7311);
- neuron_explained.svg: the same with each edge's upstream × local = downstream;
- patterns.svg: f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1, where add
  distributes, max routes and mul switches (hover over a gate to read which);
- mlp.svg and mlp_collapsed.svg: a 3-4-4-1 MLP on a batch of 4, one cluster per
  layer in rows that fit a slide, then each layer drawn as one box.

The backward pass of the neuron is also printed in words (``g.explain()``).
``--large`` also draws a micrograd-style MLP of scalar gates (4-30-30-1,
2,160 gates) to large.svg and large_collapsed.svg and prints how long it took.
Needs Graphviz's ``dot`` (``sudo apt-get install graphviz``).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from gates import LinearGate, MSELossGate, ReLUGate
from graph import ComputationalGraph
from models.lecture import first_circuit, patterns_circuit, sigmoid_neuron


def mlp(seed: int = 0) -> ComputationalGraph:
    """A 3-4-4-1 MLP with ReLUs and a mean squared error, each layer in its own scope."""
    rng = np.random.default_rng(seed)
    g = ComputationalGraph()
    features = g.input("X", requires_grad=False)
    targets = g.input("Y", requires_grad=False)
    activations = features
    sizes = [3, 4, 4, 1]
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        with g.scope(f"layer{index}"):
            weight = g.parameter(f"W{index}", rng.normal(0.0, (2 / n_in) ** 0.5, size=(n_out, n_in)))
            bias = g.parameter(f"b{index}", np.zeros(n_out))
            activations = g.add_gate(LinearGate(), activations, weight, bias, name=f"Z{index}")
            if index < len(sizes) - 1:
                activations = g.add_gate(ReLUGate(), activations, name=f"A{index}")
    with g.scope("loss"):
        g.add_gate(MSELossGate(), activations, targets, name="L")
    g.forward(X=rng.normal(size=(4, 3)), Y=rng.normal(size=(4, 1)))
    g.backward()
    return g


def scalar_mlp(sizes=(4, 30, 30, 1), seed: int = 0) -> ComputationalGraph:
    """An MLP built one number at a time: a * and a + per weight, a ReLU per hidden unit."""
    rng = np.random.default_rng(seed)
    g = ComputationalGraph()
    layer = [g.input(f"x{i}") for i in range(sizes[0])]
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        with g.scope(f"layer{index}"):
            units = []
            for j in range(n_out):
                total = g.parameter(f"b{index}_{j}", 0.0)
                for i, value in enumerate(layer):
                    total = total + g.parameter(f"w{index}_{j}_{i}", rng.normal(0.0, (2 / n_in) ** 0.5)) * value
                units.append(total.relu() if index < len(sizes) - 1 else total)
            layer = units
    g.forward({f"x{i}": float(i) for i in range(sizes[0])})
    g.backward()
    return g


def time_large(folder: Path) -> None:
    g = scalar_mlp()
    gates = sum(node.kind == "gate" for node in g)
    start = time.perf_counter()
    g.to_dot()
    built = time.perf_counter()
    g.render(folder / "large.svg")
    drawn = time.perf_counter()
    g.render(folder / "large_collapsed.svg", collapse=True)
    collapsed = time.perf_counter()
    print(
        f"{gates} gates, {len(g)} nodes: DOT text {built - start:.2f} s, SVG {drawn - built:.2f} s, "
        f"SVG with layers collapsed {collapsed - drawn:.2f} s"
    )


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="out", help="where to write the files (default: out/)")
    parser.add_argument("--png", action="store_true", help="write a PNG beside each SVG")
    parser.add_argument("--large", action="store_true", help="also draw a 2,160-gate graph and time it")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)

    the_neuron, the_mlp = sigmoid_neuron(), mlp()
    figures = [
        ("circuit", first_circuit(), {}),
        ("neuron", the_neuron, {}),
        ("neuron_explained", the_neuron, {"explain": True}),
        ("patterns", patterns_circuit(), {}),
        ("mlp", the_mlp, {}),
        ("mlp_collapsed", the_mlp, {"collapse": True}),
    ]
    written = []
    for name, g, options in figures:
        for suffix in (".svg", ".png") if args.png else (".svg",):
            written.append(g.render(folder / f"{name}{suffix}", **options))
            print(f"wrote {written[-1]}")
    if args.large:
        time_large(folder)
    print()
    print(the_neuron.explain())
    return written


if __name__ == "__main__":
    main()
