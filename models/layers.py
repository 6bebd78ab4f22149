"""Layers: pieces of a network that add their parameters and gates to a graph.

A layer is built once, into the model's graph: ``layer.build(graph, a, index)``
adds its nodes after node ``a`` and returns its output node. Names follow the
seed chapter: layer ``l`` holds ``W{l}``, ``b{l}``, ``Z{l}`` and ``A{l}``.
"""

from __future__ import annotations

import math

import numpy as np

from gates import LeakyReLUGate, LinearGate, ReLUGate, SigmoidGate, TanhGate
from graph import ComputationalGraph, Node

__all__ = ["Layer", "Linear", "Activation", "ACTIVATIONS", "INITS"]

ACTIVATIONS = {"relu": ReLUGate, "sigmoid": SigmoidGate, "tanh": TanhGate, "leaky_relu": LeakyReLUGate}
"""Activation names and the gates that compute them."""

INITS = ("he", "xavier", "uniform")
"""Weight initialisations of :class:`Linear`; see its docstring."""


class Layer:
    """A piece of a network: ``build`` adds its nodes to a graph once."""

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        """Add this layer's nodes after ``a``; ``index`` is the chapter's layer number l."""
        raise NotImplementedError

    def parameters(self) -> list[Node]:
        """The parameter nodes this layer added (none for an activation)."""
        return []

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw fresh initial values; layers without parameters do nothing."""

    def output_size(self, n_in: int) -> int:
        """Features per example after this layer, given ``n_in`` before it."""
        return n_in


class Linear(Layer):
    """Fully connected layer, the chapter's ``Z = A Wᵀ + 1 bᵀ``, one :class:`~gates.LinearGate`.

    forward   Z = A @ Wᵀ + b        A: (N, n_in), W: (n_out, n_in), b: (n_out,)

    Parameters
    ----------
    n_in, n_out : int
        Features per example before and after the layer.
    init : {"he", "xavier", "uniform"}
        How weights start (biases start at zero except for "uniform"):

        - ``"he"``: ``W ~ Normal(0, 2 / n_in)`` (He et al., 2015). A ReLU
          zeroes half its inputs, so doubling the variance keeps the
          activations' scale the same from layer to layer. For ReLU networks.
        - ``"xavier"``: ``W ~ Uniform(±sqrt(6 / (n_in + n_out)))`` (Glorot and
          Bengio, 2010): keeps the variance of Z and of the gradients about
          constant through sigmoid and tanh layers, near their linear middle.
        - ``"uniform"``: ``W, b ~ Uniform(±1 / sqrt(n_in))``, PyTorch's
          ``nn.Linear`` default.

        Weights are random so that neurons differ: with equal weights every
        neuron of a layer gets the same gradient and they stay copies.

    Examples
    --------
    >>> layer = Linear(3, 2)
    >>> layer
    Linear(n_in=3, n_out=2, init='he')
    >>> layer.num_parameters
    8
    """

    def __init__(self, n_in: int, n_out: int, init: str = "he"):
        if init not in INITS:
            raise ValueError(f"Linear init must be one of {INITS}, got {init!r}")
        if int(n_in) < 1 or int(n_out) < 1:
            raise ValueError(f"Linear sizes must be positive, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        self.weight: Node | None = None
        self.bias: Node | None = None

    @property
    def num_parameters(self) -> int:
        return self.n_out * self.n_in + self.n_out

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        if self.weight is not None:
            raise ValueError(f"{self!r} is already built into a model; each model needs its own layers")
        self.weight = graph.parameter(f"W{index}", np.zeros((self.n_out, self.n_in), dtype=dtype))
        self.bias = graph.parameter(f"b{index}", np.zeros(self.n_out, dtype=dtype))
        return graph.add_gate(LinearGate(), a, self.weight, self.bias, name=f"Z{index}")

    def parameters(self) -> list[Node]:
        return [node for node in (self.weight, self.bias) if node is not None]

    def reset_parameters(self, rng: np.random.Generator) -> None:
        # Draw in float64 and round once, so float32 and float64 models from one seed agree.
        shape = (self.n_out, self.n_in)
        if self.init == "he":
            weight = rng.normal(0.0, math.sqrt(2.0 / self.n_in), size=shape)
            bias = np.zeros(self.n_out)
        elif self.init == "xavier":
            bound = math.sqrt(6.0 / (self.n_in + self.n_out))
            weight = rng.uniform(-bound, bound, size=shape)
            bias = np.zeros(self.n_out)
        else:
            bound = 1.0 / math.sqrt(self.n_in)
            weight = rng.uniform(-bound, bound, size=shape)
            bias = rng.uniform(-bound, bound, size=self.n_out)
        self.weight.value[...] = weight
        self.bias.value[...] = bias

    def output_size(self, n_in: int) -> int:
        if n_in != self.n_in:
            raise ValueError(f"{self!r} takes {self.n_in} features, the layer before gives {n_in}")
        return self.n_out

    def __repr__(self) -> str:
        return f"Linear(n_in={self.n_in}, n_out={self.n_out}, init={self.init!r})"


class Activation(Layer):
    """An element-wise activation, ``A = g(Z)``: one of :data:`ACTIVATIONS`.

    Examples
    --------
    >>> Activation("relu")
    Activation('relu')
    """

    def __init__(self, name: str):
        if name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {name!r}")
        self.name = name

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        return graph.add_gate(ACTIVATIONS[self.name](), a, name=f"A{index}")

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"
