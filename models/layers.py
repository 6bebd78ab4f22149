"""Layers: pieces of a network that add their parameters and gates to a graph.

A layer is built once, into the model's graph: ``layer.build(graph, a, index, dtype)``
adds its nodes after node ``a`` and returns its output node. Names follow the
seed chapter: layer ``l`` holds ``W{l}``, ``b{l}``, ``Z{l}`` and ``A{l}``; a
layer with weights (Linear, Conv2D) starts a new ``l``, the others (activation,
pooling ``P{l}``, batch norm ``BN{l}``, dropout ``D{l}``, flatten ``F{l}``) join it.

Shapes are per example, without the batch axis: ``(784,)`` for a row of
pixels, ``(1, 28, 28)`` for an image of one channel.
"""

from __future__ import annotations

import math

import numpy as np

from gates import (
    AvgPool2DGate,
    BatchNorm2DGate,
    Conv2DGate,
    DropoutGate,
    FlattenGate,
    LeakyReLUGate,
    LinearGate,
    MaxPool2DGate,
    ReLUGate,
    SigmoidGate,
    TanhGate,
)
from gates.conv import pair, pool_output_size
from graph import ComputationalGraph, Node

__all__ = [
    "Layer",
    "Linear",
    "Activation",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "BatchNorm2D",
    "Dropout",
    "Flatten",
    "ACTIVATIONS",
    "INITS",
    "Shape",
]

ACTIVATIONS = {"relu": ReLUGate, "sigmoid": SigmoidGate, "tanh": TanhGate, "leaky_relu": LeakyReLUGate}
"""Activation names and the gates that compute them."""

INITS = ("he", "xavier", "uniform")
"""Weight initialisations of :class:`Linear` and :class:`Conv2D`; see :class:`Linear`."""

Shape = tuple[int, ...]


class Layer:
    """A piece of a network: everything :class:`~models.Model` asks of a layer.

    Attributes
    ----------
    starts_layer : bool
        Whether the layer begins a new chapter layer ``l`` (it has weights).
    activation : str or None
        The activation's name, for an activation layer.
    input_shape : tuple of int or None
        The per-example shape the layer takes, where it alone fixes it
        (a Linear layer's ``(n_in,)``); a model's input shape defaults to its
        first layer's.
    """

    starts_layer = False
    activation: str | None = None
    input_shape: Shape | None = None

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        """Add this layer's nodes after ``a``; ``index`` is the chapter's layer number l."""
        raise NotImplementedError

    def output_shape(self, shape: Shape) -> Shape:
        """Per-example shape after this layer, given ``shape`` before it; ValueError if it does not fit."""
        return shape

    def parameters(self) -> list[Node]:
        """The parameter nodes this layer added (none for an activation)."""
        return []

    @property
    def num_parameters(self) -> int:
        return sum(node.value.size for node in self.parameters())

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw fresh initial values (and reset running statistics); layers without parameters do nothing."""

    def buffers(self) -> dict[str, np.ndarray]:
        """State that is not a parameter but is saved with the model (batch norm's running statistics), by name."""
        return {}

    def train(self, mode: bool = True) -> None:
        """Set training (True) or evaluation (False) behaviour; only dropout and batch norm differ."""

    @property
    def operation(self) -> str:
        """What the layer computes, in a few words, for :meth:`Model.summary`."""
        return type(self).__name__


class _Weighted(Layer):
    """What Linear and Conv2D share: a weight and a bias, initialised by ``init`` from the fan-in."""

    starts_layer = True

    def __init__(self, init: str):
        if init not in INITS:
            raise ValueError(f"{type(self).__name__} init must be one of {INITS}, got {init!r}")
        self.init = init
        self.weight: Node | None = None
        self.bias: Node | None = None

    def _add_parameters(self, graph: ComputationalGraph, index: int, dtype, weight_shape: Shape) -> None:
        if self.weight is not None:
            raise ValueError(f"{self!r} is already built into a model; each model needs its own layers")
        self.weight = graph.parameter(f"W{index}", np.zeros(weight_shape, dtype=dtype))
        self.bias = graph.parameter(f"b{index}", np.zeros(weight_shape[0], dtype=dtype))

    def parameters(self) -> list[Node]:
        return [node for node in (self.weight, self.bias) if node is not None]

    def reset_parameters(self, rng: np.random.Generator) -> None:
        if self.weight is None or self.bias is None:
            return
        shape = self.weight.value.shape
        fan_in, fan_out = math.prod(shape[1:]), shape[0] * math.prod(shape[2:])
        # Draw in float64 and round once, so float32 and float64 models from one seed agree.
        if self.init == "he":
            weight = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
            bias = np.zeros(shape[0])
        elif self.init == "xavier":
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            weight = rng.uniform(-bound, bound, size=shape)
            bias = np.zeros(shape[0])
        else:
            bound = 1.0 / math.sqrt(fan_in)
            weight = rng.uniform(-bound, bound, size=shape)
            bias = rng.uniform(-bound, bound, size=shape[0])
        for node, value in ((self.weight, weight), (self.bias, bias)):
            node.value[...] = value
            node.mark_changed()  # a backward of a forward before this would mix old and new values

    def _parameter_text(self) -> str:
        if self.weight is None or self.bias is None:
            return ""
        w, b = self.weight, self.bias
        return f"{w.name} {w.value.shape}, {b.name} {b.value.shape}: {self.num_parameters:,}"


class Linear(_Weighted):
    """Fully connected layer, the chapter's ``Z = A Wᵀ + 1 bᵀ``, one :class:`~gates.LinearGate`.

    forward   Z = A @ Wᵀ + b        A: (N, n_in), W: (n_out, n_in), b: (n_out,)

    Parameters
    ----------
    n_in, n_out : int
        Features per example before and after the layer.
    init : {"he", "xavier", "uniform"}
        How weights start (biases start at zero except for "uniform"), from
        the fan-in ``n_in`` (inputs per output) and fan-out:

        - ``"he"``: ``W ~ Normal(0, 2 / fan_in)`` (He et al., 2015). A ReLU
          zeroes half its inputs, so doubling the variance keeps the
          activations' scale the same from layer to layer. For ReLU networks.
        - ``"xavier"``: ``W ~ Uniform(±sqrt(6 / (fan_in + fan_out)))`` (Glorot and
          Bengio, 2010): keeps the variance of Z and of the gradients about
          constant through sigmoid and tanh layers, near their linear middle.
        - ``"uniform"``: ``W, b ~ Uniform(±1 / sqrt(fan_in))``, PyTorch's
          ``nn.Linear`` and ``nn.Conv2d`` default.

        Weights are random so that neurons differ: with equal weights every
        neuron of a layer gets the same gradient and they stay copies.

    Examples
    --------
    >>> layer = Linear(3, 2)
    >>> layer
    Linear(n_in=3, n_out=2, init='he')
    >>> layer.output_shape((3,))
    (2,)
    """

    def __init__(self, n_in: int, n_out: int, init: str = "he"):
        if int(n_in) < 1 or int(n_out) < 1:
            raise ValueError(f"Linear sizes must be positive, got n_in={n_in}, n_out={n_out}")
        super().__init__(init)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.input_shape = (self.n_in,)

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        self._add_parameters(graph, index, dtype, (self.n_out, self.n_in))
        return graph.add_gate(LinearGate(), a, self.weight, self.bias, name=f"Z{index}")

    @property
    def num_parameters(self) -> int:
        return self.n_out * self.n_in + self.n_out

    def output_shape(self, shape: Shape) -> Shape:
        if shape != (self.n_in,):
            flat = " (add Flatten() before it)" if len(shape) > 1 else ""
            raise ValueError(f"{self!r} takes {self.n_in} features, the layer before gives {shape}{flat}")
        return (self.n_out,)

    @property
    def operation(self) -> str:
        return f"Linear({self.n_in} -> {self.n_out})"

    def __repr__(self) -> str:
        return f"Linear(n_in={self.n_in}, n_out={self.n_out}, init={self.init!r})"


class Conv2D(_Weighted):
    """2-D convolution of images, one :class:`~gates.Conv2DGate`: ``Z = W ⋆ A + b``.

    ``A (N, in_channels, H, W)`` to ``Z (N, out_channels, Ho, Wo)``, with
    ``W (out_channels, in_channels, k, k)`` and ``b (out_channels,)``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel : int or pair of int
    stride, padding : int or pair of int
        As :class:`~gates.Conv2DGate`; ``padding = kernel // 2`` with an odd
        kernel and stride 1 keeps the image's size.
    init : {"he", "xavier", "uniform"}
        As :class:`Linear`, with fan-in ``in_channels * kh * kw``.

    Examples
    --------
    >>> layer = Conv2D(1, 16, 3, padding=1)
    >>> layer.output_shape((1, 28, 28))
    (16, 28, 28)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel, stride=1, padding=0, init: str = "he"):
        if int(in_channels) < 1 or int(out_channels) < 1:
            raise ValueError(f"Conv2D channels must be positive, got {in_channels} -> {out_channels}")
        super().__init__(init)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.gate = Conv2DGate(stride, padding)  # checks stride and padding now, not at build
        self.kernel = pair(kernel, "kernel", "Conv2D", 1)

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        self._add_parameters(graph, index, dtype, (self.out_channels, self.in_channels, *self.kernel))
        return graph.add_gate(self.gate, a, self.weight, self.bias, name=f"Z{index}")

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.in_channels:
            raise ValueError(
                f"{self!r} takes images of shape ({self.in_channels}, H, W), the layer before gives {shape}"
            )
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.gate.stride, self.gate.padding
        height, width = pool_output_size(shape[1], kh, sh, ph), pool_output_size(shape[2], kw, sw, pw)
        if height < 1 or width < 1:
            raise ValueError(f"{self!r}: the kernel {kh}x{kw} is larger than the padded image {shape[1:]}")
        return (self.out_channels, height, width)

    @property
    def operation(self) -> str:
        settings = [f"{self.kernel[0]}x{self.kernel[1]}"]
        if self.gate.stride != (1, 1):
            settings.append(f"stride {_pair_text(self.gate.stride)}")
        if self.gate.padding != (0, 0):
            settings.append(f"pad {_pair_text(self.gate.padding)}")
        return f"Conv2D({self.in_channels} -> {self.out_channels}, {', '.join(settings)})"

    def __repr__(self) -> str:
        return (
            f"Conv2D({self.in_channels}, {self.out_channels}, kernel={self.kernel}, stride={self.gate.stride}, "
            f"padding={self.gate.padding}, init={self.init!r})"
        )


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
        self.activation = name
        self.gate_class = ACTIVATIONS[name]

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        return graph.add_gate(self.gate_class(), a, name=_fresh(graph, f"A{index}"))

    @property
    def operation(self) -> str:
        return str(self.activation)

    def __repr__(self) -> str:
        return f"Activation({self.activation!r})"


class _Pool(Layer):
    """What MaxPool2D and AvgPool2D share: a window, its stride, and the node ``P{l}``."""

    gate_class: type[MaxPool2DGate] | type[AvgPool2DGate]

    def __init__(self, kernel, stride=None):
        name = type(self).__name__
        self.kernel = pair(kernel, "kernel", name, 1)
        self.stride = self.kernel if stride is None else pair(stride, "stride", name, 1)

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        return graph.add_gate(self.gate_class(self.kernel, self.stride), a, name=_fresh(graph, f"P{index}"))

    def output_shape(self, shape: Shape) -> Shape:
        (kh, kw), (sh, sw) = self.kernel, self.stride
        if len(shape) != 3 or kh > shape[1] or kw > shape[2]:
            raise ValueError(f"{self!r} takes images (C, H, W) of at least {kh}x{kw} pixels, got {shape}")
        return (shape[0], pool_output_size(shape[1], kh, sh), pool_output_size(shape[2], kw, sw))

    @property
    def operation(self) -> str:
        stride = "" if self.stride == self.kernel else f", stride {_pair_text(self.stride)}"
        return f"{type(self).__name__}({self.kernel[0]}x{self.kernel[1]}{stride})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel={self.kernel}, stride={self.stride})"


class MaxPool2D(_Pool):
    """Max pooling, one :class:`~gates.MaxPool2DGate` (stride defaults to the kernel).

    >>> MaxPool2D(2).output_shape((16, 28, 28))
    (16, 14, 14)
    """

    gate_class = MaxPool2DGate


class AvgPool2D(_Pool):
    """Average pooling, one :class:`~gates.AvgPool2DGate` (stride defaults to the kernel).

    >>> AvgPool2D(2).output_shape((16, 7, 7))
    (16, 3, 3)
    """

    gate_class = AvgPool2DGate


class BatchNorm2D(Layer):
    """Batch normalisation of each channel, one :class:`~gates.BatchNorm2DGate`: ``Z = γ X̂ + β``.

    Parameters ``gamma{l}`` (ones) and ``beta{l}`` (zeros); running statistics
    ``running_mean{l}``, ``running_var{l}``, kept with the model. Training mode
    normalises with the batch's statistics and updates the running ones;
    evaluation mode uses the running ones.

    Parameters
    ----------
    num_features : int
        Channels.
    momentum, eps : float
        As PyTorch's ``BatchNorm2d``: 0.1 and 1e-5.

    >>> BatchNorm2D(16)
    BatchNorm2D(16, momentum=0.1, eps=1e-05)
    """

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        self.gate = BatchNorm2DGate(num_features, momentum=momentum, eps=eps)  # checks the arguments now
        self.gamma: Node | None = None
        self.beta: Node | None = None
        self.index = 0

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        if self.gamma is not None:
            raise ValueError(f"{self!r} is already built into a model; each model needs its own layers")
        channels = self.gate.num_features
        self.gate.running_mean = np.zeros(channels, dtype=dtype)
        self.gate.running_var = np.ones(channels, dtype=dtype)
        self.gamma = graph.parameter(f"gamma{index}", np.ones(channels, dtype=dtype))
        self.beta = graph.parameter(f"beta{index}", np.zeros(channels, dtype=dtype))
        self.index = index
        return graph.add_gate(self.gate, a, self.gamma, self.beta, name=f"BN{index}")

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3 or shape[0] != self.gate.num_features:
            raise ValueError(f"{self!r} takes images of shape ({self.gate.num_features}, H, W), got {shape}")
        return shape

    def parameters(self) -> list[Node]:
        return [node for node in (self.gamma, self.beta) if node is not None]

    def reset_parameters(self, rng: np.random.Generator) -> None:
        for node, value in ((self.gamma, 1.0), (self.beta, 0.0)):
            if node is not None:
                node.value[...] = value
                node.mark_changed()
        self.gate.running_mean[...], self.gate.running_var[...] = 0.0, 1.0

    def buffers(self) -> dict[str, np.ndarray]:
        return {f"running_mean{self.index}": self.gate.running_mean, f"running_var{self.index}": self.gate.running_var}

    def train(self, mode: bool = True) -> None:
        self.gate.training = mode

    @property
    def operation(self) -> str:
        return f"BatchNorm2D({self.gate.num_features})"

    def __repr__(self) -> str:
        return f"BatchNorm2D({self.gate.num_features}, momentum={self.gate.momentum}, eps={self.gate.eps})"


class Dropout(Layer):
    """Inverted dropout, one :class:`~gates.DropoutGate`: in training, zero elements with probability p.

    Parameters
    ----------
    p : float in [0, 1)
    seed : int, optional
        Seeds the masks; by default the model's initialisation seed draws one, so a seeded model
        drops the same elements in every run.

    >>> Dropout(0.25)
    Dropout(p=0.25)
    """

    def __init__(self, p: float = 0.5, seed: int | None = None):
        self.gate = DropoutGate(p, seed=seed)  # checks p now
        self.seed = seed

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        return graph.add_gate(self.gate, a, name=_fresh(graph, f"D{index}"))

    def reset_parameters(self, rng: np.random.Generator) -> None:
        if self.seed is None:
            self.gate.rng = np.random.default_rng(rng.integers(2**63))

    def train(self, mode: bool = True) -> None:
        self.gate.training = mode

    @property
    def operation(self) -> str:
        return f"Dropout(p={self.gate.p})"

    def __repr__(self) -> str:
        return f"Dropout(p={self.gate.p})"


class Flatten(Layer):
    """Each example's values in one row, one :class:`~gates.FlattenGate`: ``(C, H, W)`` to ``(C H W,)``.

    >>> Flatten().output_shape((32, 7, 7))
    (1568,)
    """

    def build(self, graph: ComputationalGraph, a: Node, index: int, dtype) -> Node:
        return graph.add_gate(FlattenGate(), a, name=_fresh(graph, f"F{index}"))

    def output_shape(self, shape: Shape) -> Shape:
        return (math.prod(shape),)

    def __repr__(self) -> str:
        return "Flatten()"


def _fresh(graph: ComputationalGraph, name: str) -> str:
    """``name``, or ``name_2``, ``name_3``... if a node already has it (two activations in one layer)."""
    candidate, count = name, 1
    while candidate in graph:
        count += 1
        candidate = f"{name}_{count}"
    return candidate


def _pair_text(pair: tuple[int, int]) -> str:
    """``2`` for (2, 2), ``2x1`` for (2, 1): how summaries write strides and paddings."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"
