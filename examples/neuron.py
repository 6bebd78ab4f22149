"""The lecture's ``Neuron`` class, its cell body a computational graph, and a neuron that learns.

    python examples/neuron.py

The lecture writes a neuron's forward pass as::

    cell_body_sum = np.sum(inputs * self.weights) + self.bias
    firing_rate = 1.0 / (1.0 + math.exp(-cell_body_sum))  # sigmoid activation function

Here the same lines build a graph once; ``neuron_tick`` runs it, and
backward gives the gradient of the firing rate (or of a loss) for every
weight. With the lecture's numbers (w = [2, -3], b = -3, x = [-1, -2]) the
firing rate is 0.73 and the gradients are the ones on its slide. Then the
neuron learns the logical OR of two inputs with binary cross-entropy and SGD,
one example at a time, and fails at XOR: one neuron draws one straight line.
"""

import numpy as np

from gates import BinaryCrossEntropyGate
from graph import ComputationalGraph
from models import SGD


class Neuron:
    """One sigmoid neuron: ``firing_rate = σ(Σ inputs · weights + bias)``, as a graph."""

    def __init__(self, weights, bias: float):
        self.graph = g = ComputationalGraph()
        inputs = g.input("inputs", requires_grad=False)
        self.weights = g.parameter("weights", np.asarray(weights, dtype=np.float64))
        self.bias = g.parameter("bias", np.float64(bias))
        cell_body_sum = ((inputs * self.weights).sum() + self.bias).named("cell_body_sum")
        self.firing_rate = cell_body_sum.sigmoid().named("firing_rate")
        target = g.input("target", requires_grad=False)
        self.loss = g.add_gate(BinaryCrossEntropyGate(), self.firing_rate, target, name="loss")

    def neuron_tick(self, inputs) -> float:
        """The firing rate for one input vector (runs only the forward part that needs)."""
        return float(self.graph.forward(inputs=np.asarray(inputs, dtype=np.float64), outputs=self.firing_rate))

    def learn(self, examples, targets, lr: float, epochs: int) -> None:
        """Stochastic gradient descent on the BCE loss, one example at a time."""
        optimizer = SGD([self.weights, self.bias], lr=lr)
        for _ in range(epochs):
            for inputs, target in zip(examples, targets):
                self.graph.forward(inputs=np.asarray(inputs, dtype=np.float64), target=float(target), outputs=self.loss)
                self.graph.backward(output=self.loss)
                optimizer.step()


def main() -> dict:
    neuron = Neuron(weights=[2.0, -3.0], bias=-3.0)
    rate = neuron.neuron_tick([-1.0, -2.0])
    grads = neuron.graph.backward()
    print(f"lecture's neuron: firing rate {rate:.8f}")
    print(f"  d(rate)/d(weights) = {np.round(grads['weights'], 8).tolist()}   d(rate)/d(bias) = {grads['bias']:.8f}")

    examples = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    results = {}
    for name, targets in (("OR", [0, 1, 1, 1]), ("XOR", [0, 1, 1, 0])):
        neuron = Neuron(weights=[0.1, -0.1], bias=0.0)
        neuron.learn(examples, targets, lr=0.5, epochs=200)
        rates = [neuron.neuron_tick(x) for x in examples]
        correct = sum((r >= 0.5) == t for r, t in zip(rates, targets))
        results[name] = correct / len(targets)
        print(f"\none neuron learning {name}: targets {targets}")
        print(f"  firing rates {[round(r, 3) for r in rates]}  ->  {correct}/4 right")
    print("\nOR is linearly separable and one neuron learns it; XOR is not, and no line can split it.")
    return results


if __name__ == "__main__":
    main()
