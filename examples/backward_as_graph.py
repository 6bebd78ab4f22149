"""The backward pass as a graph of gates: draw it, run it, differentiate it again.

    python examples/backward_as_graph.py [backward_as_graph.svg]

1. The lecture's circuit f = (x + y) z and its backward circuit, drawn side by
   side in one diagram (the backward in its own box, "grad(f)"): the multiply
   gate *switches* (df/dz is the other input, q; df/dq is z times the seed), the
   add gate *distributes* (one upstream node, dq, sent to both x and y).
2. Differentiating the gradient again: d/dz (df/dx) = 1, and a third derivative.
3. Newton's method with Hessian-vector products (no Hessian formed) on a
   regularised logistic regression: the gradient's norm falls quadratically.
4. The curvature of the seed chapter's two-layer network's loss along a
   direction, vᵀHv / vᵀv, from one hvp.
"""

import argparse

import numpy as np

from gates import BinaryCrossEntropyWithLogitsGate
from graph import ComputationalGraph, hvp
from models import TwoLayerNet


def lecture_circuit(path: str) -> None:
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = (x + y).named("q")
    f = (q * z).named("f")
    feeds = {"x": -2.0, "y": 5.0, "z": -4.0}
    g.forward(feeds)
    print(f"f = (x + y) z = {f.value:g};  backward(): {g.backward()}")

    dx, dy, dz = g.gradient(f, [x, y, z])
    values = g.forward(feeds, outputs=[f, dx, dy, dz])
    print(
        f"the backward as gate nodes: df/dx = {values[dx.name]:g}, df/dy = {values[dy.name]:g}, "
        f"df/dz = {values[dz.name]:g}"
    )
    print(f"  add distributes: df/dx and df/dy both come from node {dx.inputs[0].name!r} (dq = z · 1)")
    print(f"  mul switches: df/dz = {dz.inputs[0].name!r} = seed · q, df/dq = seed · z")
    gradient_nodes = [node.name for node in g if node.scope == f"grad({f.name})"]
    print(f"  {len(gradient_nodes)} gradient nodes in scope grad({f.name}): {', '.join(gradient_nodes)}")
    print(f"diagram: {g.render(path)}")

    second = g.gradient(dx, z)
    print(f"d/dz (df/dx) = {g.forward(feeds, outputs=second):g}")

    h = ComputationalGraph()
    t = h.input("t")
    third = h.gradient(h.gradient(h.gradient(t.tanh(), t), t), t)
    value = h.forward({"t": 0.5}, outputs=third)
    exact = -2 * (1 - np.tanh(0.5) ** 2) * (1 - 3 * np.tanh(0.5) ** 2)
    print(f"d³/dt³ tanh(t) at 0.5 = {value:.12f} (formula {exact:.12f})")


def newton_logistic_regression() -> None:
    rng = np.random.default_rng(0)
    features = rng.standard_normal((200, 3))
    labels = (features @ np.array([2.0, -1.0, 0.5]) + 0.3 * rng.standard_normal(200) > 0).astype(np.float64)
    g = ComputationalGraph()
    x, y = g.input("X", requires_grad=False), g.input("y", requires_grad=False)
    w = g.parameter("w", np.zeros(3))
    cross_entropy = g.add_gate(BinaryCrossEntropyWithLogitsGate(), x @ w, y)
    cross_entropy + 0.05 * (w * w).sum()  # the graph's one output: the regularised loss
    feeds = {"X": features, "y": labels}

    print("\nNewton's method, each step solving H d = -g by conjugate gradients on hvp (no Hessian formed):")
    for step in range(6):
        loss = g.forward(feeds)
        grad = g.backward()["w"]
        print(f"  step {step}: loss {loss:.12f}  |gradient| {np.linalg.norm(grad):.3e}")
        w.value = w.value + conjugate_gradient(lambda v: hvp(g, feeds, {"w": v})["w"], -grad)


def conjugate_gradient(multiply, b: np.ndarray, steps: int = 10) -> np.ndarray:
    """Solve A d = b for a symmetric positive-definite A known only by products A v."""
    d, residual = np.zeros_like(b), b.copy()
    direction = residual.copy()
    for _ in range(steps):
        if np.linalg.norm(residual) < 1e-14:
            break
        product = multiply(direction)
        alpha = residual @ residual / (direction @ product)
        d += alpha * direction
        new = residual - alpha * product
        direction = new + (new @ new) / (residual @ residual) * direction
        residual = new
    return d


def two_layer_curvature() -> None:
    net = TwoLayerNet(3, 2, 3, dtype=np.float64, seed=0)
    rng = np.random.default_rng(1)
    features, targets = rng.standard_normal((8, 3)), rng.integers(0, 2, (8, 3)).astype(np.float64)
    feeds = {"X": features, "Y": targets}
    direction = {p.name: rng.standard_normal(p.value.shape) for p in net.parameters()}
    products = hvp(net.graph, feeds, direction, output=net.loss_node)
    along = sum(float(np.sum(direction[name] * products[name])) for name in direction)
    norm = sum(float(np.sum(v * v)) for v in direction.values())
    print(f"\ntwo-layer network: curvature of the loss along a random direction vᵀHv / vᵀv = {along / norm:.6f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", nargs="?", default="backward_as_graph.svg", help="the diagram to write (default: backward_as_graph.svg)"
    )
    lecture_circuit(parser.parse_args(argv).out)
    newton_logistic_regression()
    two_layer_curvature()


if __name__ == "__main__":
    main()
