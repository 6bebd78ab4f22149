"""Write your own gate and test it the way every gate in gategraph is tested.

    python examples/custom_gate.py

A gate is a small class: ``forward`` computes and keeps what the backward
needs, ``backward`` returns local gradient x upstream, one per input.
``check_gate`` compares that backward with centred differences, using a random
upstream gradient, and says exactly where they disagree.
"""

import numpy as np

from gates import Gate
from graph import ComputationalGraph, GradientCheckError, check_gate, check_graph


class SoftplusGate(Gate):
    """Softplus, a smooth ReLU.

    forward   z = log(1 + exp(x))
    backward  dL/dx = upstream * σ(x)
    """

    symbol = "softplus"
    local_gradient = "dz/dx = σ(x)"

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


if __name__ == "__main__":
    main()
