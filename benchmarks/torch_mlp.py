"""What our users would pick instead: the same ReLU MLP in PyTorch on the CPU.

Only imported when torch is installed; the library never imports torch.
"""

from __future__ import annotations

import numpy as np


def torch_mlp(torch, weights: list[np.ndarray], biases: list[np.ndarray]):
    """``nn.Sequential`` of Linear and ReLU layers holding copies of the given weights."""
    layers = []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if layer < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def training_step(torch, model, optimizer):
    """The usual PyTorch step: zero the gradients, loss, backward, optimizer step."""
    criterion = torch.nn.CrossEntropyLoss()

    def step(x, labels):
        optimizer.zero_grad()
        logits = model(x)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        return loss, logits

    return step
