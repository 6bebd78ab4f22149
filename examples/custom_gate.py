"""Write your own gate and test it the way every gate in gategraph is tested.

    python examples/custom_gate.py

A gate is a small class: ``forward`` computes and keeps what the backward
needs, ``backward`` returns local gradient x upstream, one per input.
``check_gate`` compares that backward with centred differences, using a random
upstream gradient, and says exactly where they disagree.

Deep in a network a wrong gate shows only as wrong parameter gradients:
``check_graph`` then audits the graph and names the gate node whose own check
fails, and ``audit`` prints one row per gate node, checked on the inputs the
last forward gave it.
"""

import numpy as np

from gates import Gate
from graph import ComputationalGraph, GradientCheckError, audit, check_gate, check_graph


class SoftplusGate(Gate):
    """Softplus, a smooth ReLU.

    forward   z = log(1 + exp(x))
    backward  dL/dx = upstream * σ(x)
    """

    symbol = "softplus"
    local_gradient = ("∂{out}/∂{in0} = σ({in0})",)  # the views fill in the graph's names

    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x)  # log(1 + e^x) without overflow

    def backward(self, upstream):
        return (upstream / (1 + np.exp(-self.x)),)


class BuggySoftplusGate(SoftplusGate):
    """The same gate with a typical slip: the derivative of log(1 + e^x) taken as e^x."""

    def backward(self, upstream):
        return (upstream * np.exp(self.x),)


def main() -> None:
    x = np.linspace(-3.0, 3.0, 7)
    errors = check_gate(SoftplusGate(), x)
    print(f"SoftplusGate passes check_gate: largest error {errors[0]:.2e}")

    try:
        check_gate(BuggySoftplusGate(), x)
    except GradientCheckError as failure:
        print(f"BuggySoftplusGate fails, and the report says where:\n  {failure}")

    # The new gate composes with the built-in ones and a whole graph checks too.
    g = ComputationalGraph()
    inputs = g.input("x", requires_grad=False)
    w = g.parameter("W", np.random.default_rng(0).standard_normal((4, 3)))
    g.add_gate(SoftplusGate(), inputs @ w.T).mean()
    errors = check_graph(g, {"x": np.random.default_rng(1).standard_normal((5, 3))})
    print(f"a graph using it passes check_graph: largest error {errors['W']:.2e}")

    # The buggy gate deep inside a small MLP: the parameters' gradients are wrong, and the audit says why.
    g, feeds = small_mlp(BuggySoftplusGate())
    try:
        check_graph(g, feeds)
    except GradientCheckError as failure:
        print(f"\nan MLP with BuggySoftplusGate inside fails check_graph:\n  {failure}")
    print("\naudit(g), one row per gate node:")
    print(audit(g))
    g, feeds = small_mlp(SoftplusGate())
    print("\nwith SoftplusGate instead:")
    print(audit(g, feeds))


def small_mlp(activation: Gate) -> tuple[ComputationalGraph, dict]:
    """A 3-4-2 MLP with ``activation`` between its layers and a mean squared error."""
    rng = np.random.default_rng(2)
    g = ComputationalGraph()
    x, target = g.input("x", requires_grad=False), g.input("target", requires_grad=False)
    w1, b1 = g.parameter("W1", rng.standard_normal((4, 3))), g.parameter("b1", np.zeros(4))
    w2, b2 = g.parameter("W2", rng.standard_normal((2, 4))), g.parameter("b2", np.zeros(2))
    hidden = g.add_gate(activation, x @ w1.T + b1, name="hidden")
    output = hidden @ w2.T + b2
    ((output - target) ** 2).mean()
    return g, {"x": rng.standard_normal((5, 3)), "target": rng.standard_normal((5, 2))}


if __name__ == "__main__":
    main()
