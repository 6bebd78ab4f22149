"""Optimisers: update parameter nodes in place from their ``.grad``, as ``torch.optim`` does.

Each follows PyTorch's documented algorithm with the same hyperparameter
names, so the same settings give the same steps. An optimiser holds the
parameter nodes; ``step()`` reads each node's ``.grad`` (set by the last
``backward``) and changes ``node.value`` in place, which the next forward
reads. Parameters whose ``.grad`` is None are left alone, as in PyTorch.

About ``zero_grad``: in PyTorch, ``backward`` *adds* into ``.grad``, so a
training loop must clear gradients before each backward. Here ``backward``
always *overwrites* every gradient (they start from zero at each call), so
forgetting ``zero_grad`` cannot sum gradients of two batches.
``zero_grad()`` still exists, for loops written the PyTorch way, and sets
each ``.grad`` to None (PyTorch's default ``set_to_none=True``): a ``step()``
with no backward since then changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from graph import Node

__all__ = ["Optimizer", "SGD", "Momentum", "Adam"]


class Optimizer:
    """Base class: holds parameter nodes and per-parameter state.

    Parameters
    ----------
    params : iterable of Node
        Parameter nodes, e.g. ``model.parameters()``.
    lr : float
        Learning rate (``optimizer.lr`` may be changed between steps).
    """

    def __init__(self, params: Iterable[Node], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for node in self.params:
            if not isinstance(node, Node) or node.kind != "parameter":
                raise TypeError(f"{type(self).__name__} updates parameter nodes, got {node!r}")
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}: it must be >= 0")
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (see the module notes: backward overwrites anyway)."""
        for node in self.params:
            node.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for node, state in zip(self.params, self.state):
            if node.grad is not None:
                self._update(node.value, np.asarray(node.grad, dtype=node.value.dtype), state)
                node.mark_changed()  # a backward of the forward before this step would mix old and new values

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict:
        return {"lr": self.lr}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum; ``torch.optim.SGD`` exactly.

    For each parameter θ with gradient g, at step t::

        g ← g + weight_decay · θ                              (if weight_decay ≠ 0)
        b ← g                          at t = 1               (if momentum ≠ 0)
        b ← momentum · b + (1 - dampening) · g   after
        g ← g + momentum · b  if nesterov, else  g ← b
        θ ← θ - lr · g

    With no momentum this is the seed chapter's update ``W := W - η ∂L/∂W``.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> w = g.parameter("w", np.array([1.0, -2.0]))
    >>> loss = (w * w).sum()
    >>> opt = SGD([w], lr=0.1)
    >>> _ = g.forward(); _ = g.backward(); opt.step()
    >>> w.value                                   # w - 0.1 * 2w
    array([ 0.8, -1.6])
    """

    def __init__(
        self,
        params: Iterable[Node],
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        super().__init__(params, lr)
        if momentum < 0:
            raise ValueError(f"invalid momentum {momentum}: it must be >= 0")
        if weight_decay < 0:
            raise ValueError(f"invalid weight_decay {weight_decay}: it must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def _update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= self.momentum
                buffer += (1 - self.dampening) * grad
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        param -= self.lr * grad

    def _settings(self):
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "weight_decay": self.weight_decay,
            "nesterov": self.nesterov,
        }


class Momentum(SGD):
    """SGD with momentum 0.9 by default: ``SGD(params, lr, momentum=0.9, ...)``."""

    def __init__(self, params: Iterable[Node], lr: float = 0.01, momentum: float = 0.9, **options):
        super().__init__(params, lr=lr, momentum=momentum, **options)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015); ``torch.optim.Adam`` exactly, L2 weight decay included.

    For each parameter θ with gradient g, at its step t = 1, 2, ...::

        g ← g + weight_decay · θ                        (if weight_decay ≠ 0; L2, not AdamW)
        m ← β1 · m + (1 - β1) · g
        v ← β2 · v + (1 - β2) · g²
        θ ← θ - lr / (1 - β1ᵗ) · m / (sqrt(v) / sqrt(1 - β2ᵗ) + eps)

    ``m`` and ``v`` start at zero; dividing by ``1 - βᵗ`` corrects their bias
    towards zero in the first steps. ``eps`` is added after the square root
    and the bias correction, where PyTorch adds it. With ``amsgrad=True``,
    ``v`` in the denominator is the running maximum of ``v``.

    Examples
    --------
    The first step moves every element by about ``lr``, whatever its gradient:

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> w = g.parameter("w", np.array([1.0, -2.0]))
    >>> loss = (w * w).sum()
    >>> opt = Adam([w], lr=0.1)
    >>> _ = g.forward(); _ = g.backward(); opt.step()
    >>> w.value.round(6)
    array([ 0.9, -1.9])
    """

    def __init__(
        self,
        params: Iterable[Node],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"invalid betas {betas}: each must lie in [0, 1)")
        if eps < 0:
            raise ValueError(f"invalid eps {eps}: it must be >= 0")
        if weight_decay < 0:
            raise ValueError(f"invalid weight_decay {weight_decay}: it must be >= 0")
        self.betas = (float(beta1), float(beta2))
        self.eps, self.weight_decay, self.amsgrad = float(eps), float(weight_decay), bool(amsgrad)

    def _update(self, param, grad, state):
        beta1, beta2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if self.amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (grad * grad)
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        step_size = self.lr / (1 - beta1**step)
        denominator = np.sqrt(second) / math.sqrt(1 - beta2**step)
        denominator += self.eps
        param -= step_size * (exp_avg / denominator)

    def _settings(self):
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
        }
