"""The lecture's worked examples, forward values and gradients printed node by node.

    python examples/lecture_circuits.py

1. f = (x + y) z at x = -2, y = 5, z = -4: f = -12, df/dx = df/dy = -4, df/dz = 3.
2. The sigmoid neuron f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = [2, -3, -3],
   x = [-1, -2], from primitive gates and again with the fused sigmoid gate.
3. The backward-flow patterns, f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1:
   add distributes, max routes, mul switches.
"""

from gates import AddGate, MaxGate, MultiplyGate
from graph import ComputationalGraph


def show(title: str, g: ComputationalGraph) -> None:
    print(f"\n{title}")
    print(f"  {'node':<10} {'gate':<14} {'value':>12} {'gradient':>12}")
    for node in g.nodes:
        what = type(node.gate).__name__ if node.gate else node.kind
        grad = "" if node.grad is None else f"{node.grad:12.8f}"
        print(f"  {node.name:<10} {what:<14} {node.value:12.8f} {grad:>12}")


def first_circuit() -> ComputationalGraph:
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = g.add_gate(AddGate(), x, y, name="q")
    g.add_gate(MultiplyGate(), q, z, name="f")
    f = g.forward(x=-2.0, y=5.0, z=-4.0)
    grads = g.backward()
    show(f"f = (x + y) z = {f:g};  gradients {grads}", g)
    return g


def sigmoid_neuron(fused: bool) -> ComputationalGraph:
    g = ComputationalGraph()
    w0, x0, w1, x1, w2 = (g.input(name) for name in ("w0", "x0", "w1", "x1", "w2"))
    dot = w0 * x0 + w1 * x1 + w2
    if fused:
        dot.sigmoid()
    else:
        1 / ((-dot).exp() + 1)
    f = g.forward(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    grads = g.backward()
    how = "one SigmoidGate" if fused else "primitive gates"
    show(f"sigmoid neuron ({how}): f = {f:.11f}", g)
    print(
        "  dw =", [round(grads[n], 8) for n in ("w0", "w1", "w2")], " dx =", [round(grads[n], 8) for n in ("x0", "x1")]
    )
    return g


def patterns_circuit() -> ComputationalGraph:
    g = ComputationalGraph()
    x, y, z, w = (g.input(name) for name in "xyzw")
    product = g.add_gate(MultiplyGate(), x, y, name="xy")
    largest = g.add_gate(MaxGate(), z, w, name="max_zw")
    total = g.add_gate(AddGate(), product, largest, name="sum")
    g.add_gate(MultiplyGate(), total, 2.0, name="f")
    f = g.forward(x=3.0, y=-4.0, z=2.0, w=-1.0)
    grads = g.backward()
    show(f"f = 2 (x y + max(z, w)) = {f:g};  gradients {grads}", g)
    return g


def main() -> None:
    first_circuit()
    sigmoid_neuron(fused=False)
    sigmoid_neuron(fused=True)
    patterns_circuit()


if __name__ == "__main__":
    main()
