"""The lecture's worked examples, forward values and gradients printed node by node.

    python examples/lecture_circuits.py

1. f = (x + y) z at x = -2, y = 5, z = -4: f = -12, df/dx = df/dy = -4, df/dz = 3.
2. The sigmoid neuron f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = [2, -3, -3],
   x = [-1, -2], from primitive gates and again with the fused sigmoid gate.
3. The backward-flow patterns, f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1:
   add distributes, max routes, mul switches.
"""

from graph import ComputationalGraph
from models.lecture import first_circuit, patterns_circuit, sigmoid_neuron


def show(title: str, g: ComputationalGraph) -> None:
    print(f"\n{title}")
    print(f"  {'node':<10} {'gate':<14} {'value':>12} {'gradient':>12}")
    for node in g.nodes:
        what = type(node.gate).__name__ if node.gate else node.kind
        grad = "" if node.grad is None else f"{node.grad:12.8f}"
        print(f"  {node.name:<10} {what:<14} {node.value:12.8f} {grad:>12}")


def main() -> None:
    g = first_circuit()
    show(f"f = (x + y) z = {g['f'].value:g};  gradients {_leaf_grads(g)}", g)
    for fused in (False, True):
        g = sigmoid_neuron(fused=fused)
        how = "one SigmoidGate" if fused else "primitive gates"
        show(f"sigmoid neuron ({how}): f = {g['f'].value:.11f}", g)
        dw = [round(g[name].grad, 8) for name in ("w0", "w1", "w2")]
        dx = [round(g[name].grad, 8) for name in ("x0", "x1")]
        print("  dw =", dw, " dx =", dx)
    g = patterns_circuit()
    show(f"f = 2 (x y + max(z, w)) = {g['f'].value:g};  gradients {_leaf_grads(g)}", g)


def _leaf_grads(g: ComputationalGraph) -> dict[str, float]:
    return {node.name: node.grad for node in g.inputs}


if __name__ == "__main__":
    main()
