"""The floor: a ReLU MLP with softmax cross-entropy written by hand in numpy.

What a careful person writes without a framework: the forward keeps what
the backward needs, the backward is the chain rule layer by layer, and no
gradient is computed for the data. Weights follow the chapter's shape
``W (n_out, n_in)`` and ``Z = A Wᵀ + b``, like the gate version.
"""

from __future__ import annotations

import numpy as np


class NumpyMLP:
    """ReLU hidden layers, logits out, mean softmax cross-entropy over integer labels."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]):
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]

    def parameters(self) -> list[np.ndarray]:
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def logits(self, x: np.ndarray) -> np.ndarray:
        a = x
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T + b
            a = np.maximum(z, 0) if layer < len(self.weights) - 1 else z
        return a

    def loss_and_gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray, list[np.ndarray]]:
        """Mean cross-entropy, the logits, and the gradients in the order of :meth:`parameters`."""
        activations = [x]
        a = x
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T + b
            a = np.maximum(z, 0) if layer < last else z
            activations.append(a)
        logits = activations[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(labels))
        loss = -log_probabilities[rows, labels].mean()

        grad_z = np.exp(log_probabilities)
        grad_z[rows, labels] -= 1
        grad_z /= len(labels)
        grads: list[np.ndarray] = []
        for layer in range(last, -1, -1):
            a_in = activations[layer]
            grads.append(grad_z.sum(axis=0))  # db
            grads.append(grad_z.T @ a_in)  # dW
            if layer > 0:
                grad_a = grad_z @ self.weights[layer]
                grad_z = grad_a * (a_in > 0)  # back through the ReLU that made a_in
        grads.reverse()
        return float(loss), logits, grads

    def sgd_step(self, x: np.ndarray, labels: np.ndarray, lr: float) -> float:
        loss, _, grads = self.loss_and_gradients(x, labels)
        for param, grad in zip(self.parameters(), grads):
            param -= lr * grad
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
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            denominator = np.sqrt(v) / np.sqrt(correction2) + self.eps
            param -= (self.lr / correction1) * (m / denominator)
