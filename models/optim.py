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
from collections.abc import Iterable, Sequence
from numbers import Real

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
        name = type(self).__name__
        if isinstance(params, Node):
            raise TypeError(f"{name} takes an iterable of parameter nodes, got the single node {params!r}: use [node]")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty parameter list")
        seen: set[int] = set()
        for node in self.params:
            if not isinstance(node, Node) or node.kind != "parameter":
                raise TypeError(f"{name} updates parameter nodes, got {node!r}")
            if id(node) in seen:
                # torch.optim warns here; stepping a parameter twice per step() is never what was meant
                raise ValueError(f"{name} got parameter {node.name!r} more than once: list each parameter once")
            seen.add(id(node))
        self.lr = _hyperparameter(self, "learning rate (lr)", lr, minimum=0.0)
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
        self.momentum = _hyperparameter(self, "momentum", momentum, minimum=0.0)
        self.dampening = _hyperparameter(self, "dampening", dampening)
        self.weight_decay = _hyperparameter(self, "weight_decay", weight_decay, minimum=0.0)
        self.nesterov = _flag(self, "nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

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
        if isinstance(betas, str) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(f"Adam betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            _hyperparameter(self, "betas[0]", betas[0], minimum=0.0, below=1.0),
            _hyperparameter(self, "betas[1]", betas[1], minimum=0.0, below=1.0),
        )
        self.eps = _hyperparameter(self, "eps", eps, minimum=0.0)
        self.weight_decay = _hyperparameter(self, "weight_decay", weight_decay, minimum=0.0)
        self.amsgrad = _flag(self, "amsgrad", amsgrad)

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
        # One scratch array, reused in place for each term: written as the formulas read, the update held two
        # or three parameter-sized temporaries at once, 1.5 MiB for the main example's W1, the traced peak of
        # its training (benchmarks/mnist_memory.py). Bit for bit the same steps.
        scratch = np.multiply(1 - beta1, grad)
        exp_avg *= beta1
        exp_avg += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += scratch
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        step_size = self.lr / (1 - beta1**step)
        denominator = np.sqrt(second, out=scratch)
        denominator /= math.sqrt(1 - beta2**step)
        denominator += self.eps
        np.divide(exp_avg, denominator, out=scratch)
        scratch *= step_size
        param -= scratch

    def _settings(self):
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
        }


def _hyperparameter(
    optimizer: Optimizer,
    name: str,
    value,
    *,
    minimum: float | None = None,
    below: float | None = None,
) -> float:
    """``value`` as a float, refused unless it is a finite real number in range.

    The ranges are ``torch.optim``'s (lr, momentum, eps, weight_decay >= 0;
    betas in [0, 1)). PyTorch's ``not 0.0 <= value`` refuses NaN but lets
    infinity through; here infinity is refused too, since any step with it
    makes every parameter infinite or NaN.
    """
    where = f"{type(optimizer).__name__} {name}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{where} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"invalid {where} {value}: it must be a finite number")
    if minimum is not None and value < minimum:
        raise ValueError(f"invalid {where} {value}: it must be >= {minimum}")
    if below is not None and value >= below:
        raise ValueError(f"invalid {where} {value}: it must lie in [{minimum}, {below})")
    return value


def _flag(optimizer: Optimizer, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{type(optimizer).__name__} {name} must be True or False, got {value!r}")
    return bool(value)
