"""The floor: a ReLU MLP with softmax cross-entropy written by hand in numpy, as tight as a careful person writes it.

What a careful person writes without a framework: the forward keeps what
the backward needs, the backward is the chain rule layer by layer, no
gradient is computed for the data, one ``exp`` serves both the loss and
its gradient, and arrays the step has just made are reused in place (the
bias add, the ReLU, the softmax, the update; Adam's update with one
scratch array, in float32 throughout). Weights follow the chapter's shape
``W (n_out, n_in)`` and ``Z = A Wᵀ + b``, like the gate version.
"""

from __future__ import annotations

import math

import numpy as np


class NumpyMLP:
    """ReLU hidden layers, logits out, mean softmax cross-entropy over integer labels."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]):
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]

    def parameters(self) -> list[np.ndarray]:
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)[-1]

    def _forward(self, x: np.ndarray) -> list[np.ndarray]:
        """The input, each hidden layer's ReLU output and the logits."""
        activations = [x]
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = activations[-1] @ w.T
            z += b
            if layer < last:
                np.maximum(z, 0, out=z)
            activations.append(z)
        return activations

    def loss_and_gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray, list[np.ndarray]]:
        """Mean cross-entropy, the logits, and the gradients in the order of :meth:`parameters`."""
        activations = self._forward(x)
        logits = activations[-1]
        rows = np.arange(len(labels))
        # One exp: log softmax at the label is shifted[label] - log Σ exp(shifted), softmax is exp(shifted) / Σ.
        shifted = logits - logits.max(axis=1, keepdims=True)
        picked = shifted[rows, labels]
        probabilities = np.exp(shifted, out=shifted)
        totals = probabilities.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(totals[:, 0]) - picked))

        probabilities /= totals
        probabilities[rows, labels] -= 1
        probabilities *= 1 / len(labels)  # a Python float: float32 stays float32
        grad_z = probabilities
        grads: list[np.ndarray] = []
        for layer in range(len(self.weights) - 1, -1, -1):
            a_in = activations[layer]
            grads.append(grad_z.sum(axis=0))  # db
            grads.append(grad_z.T @ a_in)  # dW
            if layer > 0:
                grad_z = grad_z @ self.weights[layer]
                grad_z *= a_in > 0  # back through the ReLU that made a_in
        grads.reverse()
        return loss, logits, grads

    def sgd_step(self, x: np.ndarray, labels: np.ndarray, lr: float) -> float:
        loss, _, grads = self.loss_and_gradients(x, labels)
        for param, grad in zip(self.parameters(), grads):
            grad *= lr
            param -= grad
        return loss


class NumpyAdam:
    """``torch.optim.Adam`` (no weight decay) over a list of arrays, updated in place."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        correction1, correction2 = 1 - beta1**self.t, 1 - beta2**self.t
        for param, grad, m, v in zip(self.params, grads, self.m, self.v):
            scratch = (1 - beta1) * grad  # the one temporary, reused in place for each term below
            m *= beta1
            m += scratch
            np.multiply(grad, grad, out=scratch)
            scratch *= 1 - beta2
            v *= beta2
            v += scratch
            denominator = np.sqrt(v, out=scratch)
            denominator /= math.sqrt(correction2)  # a Python float: float32 stays float32
            denominator += self.eps
            np.divide(m, denominator, out=scratch)
            scratch *= self.lr / correction1
            param -= scratch
