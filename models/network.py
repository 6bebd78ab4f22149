"""Networks: a model owns one ComputationalGraph built from layers, an output and a loss.

The graph of every model has the data inputs ``X`` and ``Y`` (no gradient:
gates skip ``dX``), the parameters ``W1, b1, W2, ...``, the layers' nodes
``Z1, A1, ...`` in scopes ``layer1, layer2, ...``, an output node (what
:meth:`Model.predict` returns) and a ``loss`` node. Prediction runs only the
output's ancestors, so it needs no labels.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
from numpy.typing import ArrayLike

from gates import (
    BinaryCrossEntropyGate,
    BinaryCrossEntropyWithLogitsGate,
    MSELossGate,
    SigmoidGate,
    SoftmaxCrossEntropyGate,
    SoftmaxGate,
)
from graph import ComputationalGraph, Node
from models.data import one_hot
from models.layers import ACTIVATIONS, Activation, Layer, Linear

__all__ = ["Model", "MLP", "TwoLayerNet", "LOSSES"]

LOSSES = ("softmax_cross_entropy", "bce", "mse")
"""Loss names :class:`MLP` takes."""

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Model:
    """A network as one graph: layers, an output node and a loss node.

    Subclasses (:class:`MLP`, :class:`TwoLayerNet`) choose the layers and the
    head; this class runs them. ``model.graph`` is an ordinary
    :class:`~graph.ComputationalGraph`: draw it, inspect ``model.graph["Z1"]``.

    Parameters
    ----------
    layers : list of Layer
        Applied in order to ``X``; each :class:`~models.layers.Linear` starts
        a new chapter layer ``l`` (``W{l}``, ``b{l}``, ``Z{l}``, ``A{l}``).
    loss : {"softmax_cross_entropy", "bce", "mse"}
        Softmax cross-entropy on the logits (output: class probabilities),
        sigmoid plus binary cross-entropy fused on the logits (output:
        probabilities per output), or mean squared error (output: the last layer).
    reduction : {"mean", "sum", "batchmean"}
        How the loss gate reduces per-element losses; see :mod:`gates.loss`.
    dtype : numpy float dtype, default float32
        Of the parameters; inputs are cast to it. float64 for checks.
    seed : int, numpy Generator or None
        Seeds the initialisation; the same seed gives the same parameters.

    Examples
    --------
    Any stack of layers; this one is an MLP written out:

    >>> from models.layers import Activation, Linear
    >>> model = Model([Linear(2, 8), Activation("tanh"), Linear(8, 1)], loss="bce", seed=0)
    >>> model
    <Model 2-8-1, tanh, bce (mean), float32, 33 parameters>
    >>> model.predict(np.zeros((3, 2))).shape
    (3, 1)
    """

    def __init__(
        self,
        layers: list[Layer],
        loss: str = "softmax_cross_entropy",
        *,
        reduction: str = "mean",
        dtype=np.float32,
        seed: int | np.random.Generator | None = None,
    ):
        self.dtype = np.dtype(dtype)
        if self.dtype not in _DTYPES:
            raise ValueError(f"model dtype must be float32 or float64, got {self.dtype}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        linears = [layer for layer in layers if isinstance(layer, Linear)]
        if not linears:
            raise ValueError("a model needs at least one Linear layer")
        if not isinstance(layers[0], Linear):
            raise ValueError(f"the first layer must be Linear, got {layers[0]!r}")
        self.layers = list(layers)
        self.loss_name, self.reduction = loss, reduction
        self.n_in = linears[0].n_in
        self.n_out = self.n_in
        for layer in self.layers:
            self.n_out = layer.output_size(self.n_out)
        self.graph = ComputationalGraph()
        self.X = self.graph.input("X", requires_grad=False)
        self.Y = self.graph.input("Y", requires_grad=False)
        a, index = self.X, 0
        for layer in self.layers:
            index += isinstance(layer, Linear)
            with self.graph.scope(f"layer{index}"):
                a = layer.build(self.graph, a, index, self.dtype)
        self.output_node, self.loss_node = self._build_head(a)
        self.reset_parameters(seed)

    def _build_head(self, last: Node) -> tuple[Node, Node]:
        """Add the output and loss nodes after the last layer's node."""
        g = self.graph
        if self.loss_name == "softmax_cross_entropy":
            output_gate, loss_gate = SoftmaxGate(axis=-1), SoftmaxCrossEntropyGate(self.reduction)
        elif self.loss_name == "bce":
            output_gate, loss_gate = SigmoidGate(), BinaryCrossEntropyWithLogitsGate(self.reduction)
        else:
            output_gate, loss_gate = None, MSELossGate(self.reduction)
        with g.scope("output"):
            output = last if output_gate is None else g.add_gate(output_gate, last, name="Yhat")
        with g.scope("loss"):
            loss = g.add_gate(loss_gate, last, self.Y, name="loss")
        return output, loss

    # -- parameters ---------------------------------------------------------------

    def parameters(self) -> list[Node]:
        """The parameter nodes, ``W1, b1, W2, b2, ...``: what an optimiser updates."""
        return self.graph.parameters

    @property
    def num_parameters(self) -> int:
        return sum(node.value.size for node in self.parameters())

    def reset_parameters(self, seed: int | np.random.Generator | None = None) -> None:
        """Initialise every layer afresh, in layer order, from ``seed``."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameter values by name."""
        return {node.name: node.value.copy() for node in self.parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Set every parameter from ``state`` (names and shapes must match exactly)."""
        params = {node.name: node for node in self.parameters()}
        problems = [f"missing {name}" for name in params if name not in state]
        problems += [f"unexpected {name}" for name in state if name not in params]
        problems += [
            f"{name} has shape {np.shape(state[name])}, the model's is {node.value.shape}"
            for name, node in params.items()
            if name in state and np.shape(state[name]) != node.value.shape
        ]
        if problems:
            raise ValueError(f"parameters do not fit {self.architecture}: " + "; ".join(problems))
        for name, node in params.items():
            node.value[...] = state[name]

    # -- running ---------------------------------------------------------------------

    @property
    def classifier(self) -> bool:
        """Whether outputs are class probabilities (accuracy makes sense)."""
        return self.loss_name != "mse"

    def inputs(self, x: ArrayLike) -> np.ndarray:
        """``X`` as the model takes it: an (N, n_in) array of the model's dtype."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"{self.architecture} takes x of shape (N, {self.n_in}), got {x.shape}")
        return x

    def targets(self, y: ArrayLike) -> np.ndarray:
        """``Y`` as the loss takes it.

        Softmax cross-entropy takes integer labels (N,) as they are, or rows
        (N, C). BCE and MSE take rows (N, n_out); integer labels (N,) become
        one-hot rows (or an (N, 1) column for a single output).
        """
        y = np.asarray(y)
        if self.loss_name == "softmax_cross_entropy" and y.ndim == 1 and y.dtype.kind in "iu":
            return y
        if y.ndim == 1:
            if self.n_out > 1 and y.dtype.kind in "iub":
                return one_hot(y.astype(np.int64), self.n_out, dtype=self.dtype)
            y = y.reshape(-1, 1)
        return y.astype(self.dtype, copy=False)

    def labels(self, y: ArrayLike) -> np.ndarray:
        """True class labels (N,) of targets ``Y`` (labels, one-hot rows or 0/1 columns)."""
        y = np.asarray(y)
        if y.ndim == 1 and y.dtype.kind in "iu":
            return y
        if y.ndim == 2 and y.shape[1] > 1:
            return np.argmax(y, axis=1)
        return (y.reshape(len(y)) >= 0.5).astype(np.int64)

    def classes(self, output) -> np.ndarray:
        """Predicted class labels (N,) from an output of :meth:`predict`."""
        return np.argmax(output, axis=1) if output.shape[1] > 1 else (output[:, 0] >= 0.5).astype(np.int64)

    def predict(self, x: ArrayLike) -> np.ndarray:
        """The network's output for ``X`` (N, n_in); runs only what prediction needs, no labels.

        Class probabilities (N, C) for softmax cross-entropy, a probability per
        output for BCE, the last layer's values for MSE.
        """
        return self.graph.forward({"X": self.inputs(x)}, outputs=self.output_node)

    def predict_classes(self, x: ArrayLike) -> np.ndarray:
        """Predicted class labels (N,): the most probable class, or output >= 0.5 for one output."""
        return self.classes(self.predict(x))

    def loss(self, x: ArrayLike, y: ArrayLike) -> float:
        """The loss on ``X`` and targets ``Y``; :meth:`backward` then gives its gradients."""
        return float(self.graph.forward({"X": self.inputs(x), "Y": self.targets(y)}, outputs=self.loss_node))

    def forward(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and output in one pass (what training uses); ``X`` and ``Y`` must be prepared.

        ``X`` as :meth:`inputs` returns it, ``Y`` as :meth:`targets` returns it.
        """
        values = self.graph.forward({"X": x, "Y": y}, outputs=[self.loss_node, self.output_node])
        return float(values[self.loss_node.name]), values[self.output_node.name]

    def backward(self) -> dict[str, np.ndarray]:
        """Gradients of the last loss by parameter name; also set on each ``node.grad``.

        Gradients are computed afresh each call, never summed over calls.
        """
        return self.graph.backward(output=self.loss_node)

    # -- describing --------------------------------------------------------------------

    @property
    def layer_sizes(self) -> list[int]:
        """Features of the input and of each Linear layer's output, e.g. ``[784, 256, 10]``."""
        return [self.n_in] + [layer.n_out for layer in self.layers if isinstance(layer, Linear)]

    @property
    def architecture(self) -> str:
        """Class and sizes in a few words, e.g. ``MLP 784-256-10``."""
        return f"{type(self).__name__} {'-'.join(map(str, self.layer_sizes))}"

    def config(self) -> dict:
        """The constructor arguments that rebuild this model (saved with it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved: it defines no config()")

    def summary(self) -> str:
        """A table of layers, output shapes and parameter counts.

        Examples
        --------
        >>> print(MLP([4, 3, 2], seed=0).summary())
        MLP: 4-3-2, relu, softmax_cross_entropy (mean), float32
        layer   node  operation              output  parameters
        input   X     data                   (N, 4)
        layer1  Z1    Linear(4 -> 3)         (N, 3)  W1 (3, 4), b1 (3,): 15
        layer1  A1    relu                   (N, 3)
        layer2  Z2    Linear(3 -> 2)         (N, 2)  W2 (2, 3), b2 (2,): 8
        output  Yhat  softmax                (N, 2)
        loss    loss  softmax_cross_entropy  ()
        total parameters: 23
        """
        rows = [("input", "X", "data", f"(N, {self.n_in})", "")]
        width = self.n_in
        index = 0
        for layer in self.layers:
            width = layer.output_size(width)
            if isinstance(layer, Linear):
                index += 1
                params = f"W{index} {(layer.n_out, layer.n_in)}, b{index} ({layer.n_out},): {layer.num_parameters:,}"
                rows.append(
                    (f"layer{index}", f"Z{index}", f"Linear({layer.n_in} -> {layer.n_out})", f"(N, {width})", params)
                )
            else:
                rows.append((f"layer{index}", f"A{index}", layer.name, f"(N, {width})", ""))
        if self.output_node.scope == "output":
            rows.append(("output", self.output_node.name, self._output_kind(), f"(N, {self.n_out})", ""))
        rows.append(("loss", "loss", self.loss_name, "()", ""))
        header = ("layer", "node", "operation", "output", "parameters")
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
        lines = [f"{type(self).__name__}: {self._description()}"]
        for row in (header, *rows):
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths)] + [row[4]]
            lines.append("  ".join(cells).rstrip())
        lines.append(f"total parameters: {self.num_parameters:,}")
        return "\n".join(lines)

    def _output_kind(self) -> str:
        return {"softmax_cross_entropy": "softmax", "bce": "sigmoid"}.get(self.loss_name, "identity")

    def _description(self) -> str:
        activations = sorted({layer.name for layer in self.layers if isinstance(layer, Activation)})
        sizes = "-".join(map(str, self.layer_sizes))
        return f"{sizes}, {'/'.join(activations) or 'linear'}, {self.loss_name} ({self.reduction}), {self.dtype.name}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._description()}, {self.num_parameters:,} parameters>"

    # -- files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (.npz, atomically); see :func:`models.save`."""
        from models.serialize import save

        save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """Read a model saved by :meth:`save`; see :func:`models.load`."""
        from models.serialize import load

        model = load(path)
        if not isinstance(model, cls):
            from models.errors import ModelFileError

            raise ModelFileError(f"{str(path)!r} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def export_onnx(self, path: str | os.PathLike | None):
        """Write the prediction graph, ``X`` (N, n_in) to :meth:`predict`'s output, as ONNX; return the model.

        The batch size stays free; the model's dtype is kept. Needs the onnx
        extra; see :func:`graph.export_onnx`. Runs the prediction once, on a
        row of zeros, which clears the gradients of an earlier backward.

        >>> import onnxruntime
        >>> model = MLP([3, 4, 2], seed=0)
        >>> session = onnxruntime.InferenceSession(model.export_onnx(None).SerializeToString())
        >>> x = np.ones((5, 3), dtype=np.float32)
        >>> np.allclose(session.run(None, {"X": x})[0], model.predict(x), rtol=1e-5)
        True
        """
        from graph import export_onnx

        zeros = np.zeros((1, self.n_in), dtype=self.dtype)
        return export_onnx(self.graph, path, self.output_node, feeds={"X": zeros}, dtype=self.dtype)


class MLP(Model):
    """A multilayer perceptron: Linear layers with an activation between each two.

    ``sizes = [n_in, n_1, ..., n_out]``; layer ``l`` computes
    ``Z{l} = A{l-1} W{l}ᵀ + b{l}`` and, except the last, ``A{l} = g(Z{l})``.
    The last layer's ``Z`` are logits: the loss gate takes them directly (the
    fused, stable form), and the output node turns them into probabilities.

    Parameters
    ----------
    sizes : sequence of int
        Features of the input, each hidden layer and the output.
    activation : {"relu", "sigmoid", "tanh", "leaky_relu"}
    loss : {"softmax_cross_entropy", "bce", "mse"}
    init : {"he", "xavier", "uniform"}, optional
        Default "he" for ReLU-like activations, "xavier" for sigmoid and tanh;
        see :class:`~models.layers.Linear`.
    reduction, dtype, seed
        As for :class:`Model`.

    Examples
    --------
    >>> model = MLP([784, 256, 128, 10], seed=0)
    >>> model
    <MLP 784-256-128-10, relu, softmax_cross_entropy (mean), float32, 235,146 parameters>
    >>> model.predict(np.zeros((2, 784))).shape
    (2, 10)
    """

    def __init__(
        self,
        sizes,
        activation: str = "relu",
        loss: str = "softmax_cross_entropy",
        *,
        init: str | None = None,
        reduction: str = "mean",
        dtype=np.float32,
        seed: int | np.random.Generator | None = None,
    ):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP sizes need at least an input and an output size, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        if init is None:
            init = "xavier" if activation in ("sigmoid", "tanh") else "he"
        self.sizes, self.activation, self.init = sizes, activation, init
        layers: list[Layer] = []
        for n_in, n_out in itertools.pairwise(sizes):
            if layers:
                layers.append(Activation(activation))
            layers.append(Linear(n_in, n_out, init=init))
        super().__init__(layers, loss, reduction=reduction, dtype=dtype, seed=seed)

    def config(self) -> dict:
        return {
            "sizes": self.sizes,
            "activation": self.activation,
            "loss": self.loss_name,
            "init": self.init,
            "reduction": self.reduction,
        }


class TwoLayerNet(Model):
    """The seed chapter's two-layer network: sigmoid hidden and sigmoid output units, BCE loss.

    The chapter's equations, gate for gate::

        Z1 = X W1ᵀ + 1 b1ᵀ      A1 = σ(Z1)       W1: (n_hidden, n_in)
        Z2 = A1 W2ᵀ + 1 b2ᵀ     A2 = σ(Z2)       W2: (n_out, n_hidden)
        loss = -(1/N) Σ [Y log A2 + (1 - Y) log(1 - A2)]

    The loss is :class:`~gates.BinaryCrossEntropyGate` on the probabilities
    ``A2`` with ``reduction="batchmean"``: summed over the outputs and averaged
    over the N examples, the normalisation of the chapter's closed form. Its
    gradients are therefore exactly the chapter's::

        ∂Z2 = A2 - Y                        dW2 = (1/N) ∂Z2ᵀ A1    db2 = mean₀(∂Z2)
        ∂Z1 = ∂Z2 W2 · A1 · (1 - A1)        dW1 = (1/N) ∂Z1ᵀ X     db1 = mean₀(∂Z1)

    (the ``1/N`` sits in the loss gate's upstream gradient rather than in the
    last step). Labels (N,) become one-hot rows, as for the chapter's MNIST.

    Initialisation: weights ``W ~ Uniform(±sqrt(6 / (n_in + n_out)))``
    (Glorot and Bengio's "xavier" scale) and biases zero. The weights must be
    random, or every hidden neuron computes the same thing, gets the same
    gradient, and stays a copy of the others; the biases need not be, since
    the weights already tell the neurons apart. The scale keeps Z near zero,
    where σ is steep (σ' = A(1 - A) is at most 1/4, and vanishes for large
    ``|Z|``), and keeps the spread of Z about the same in both layers, so the
    sigmoid units start neither saturated nor all alike.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        The chapter's ``n_0, n_1, n_2`` (3, 2, 3 in its worked example).
    dtype, seed
        As for :class:`Model`.

    Examples
    --------
    >>> net = TwoLayerNet(3, 2, 3, dtype=np.float64, seed=0)
    >>> [(p.name, p.value.shape) for p in net.parameters()]
    [('W1', (2, 3)), ('b1', (2,)), ('W2', (3, 2)), ('b2', (3,))]
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        dtype=np.float32,
        seed: int | np.random.Generator | None = None,
    ):
        layers = [
            Linear(n_in, n_hidden, init="xavier"),
            Activation("sigmoid"),
            Linear(n_hidden, n_out, init="xavier"),
            Activation("sigmoid"),
        ]
        super().__init__(layers, "bce", reduction="batchmean", dtype=dtype, seed=seed)

    def _build_head(self, last: Node) -> tuple[Node, Node]:
        with self.graph.scope("loss"):
            loss = self.graph.add_gate(BinaryCrossEntropyGate("batchmean"), last, self.Y, name="loss")
        return last, loss

    def config(self) -> dict:
        linears = [layer for layer in self.layers if isinstance(layer, Linear)]
        return {"n_in": linears[0].n_in, "n_hidden": linears[0].n_out, "n_out": linears[1].n_out}


MODEL_CLASSES: dict[str, type[Model]] = {"MLP": MLP, "TwoLayerNet": TwoLayerNet}
"""The models :func:`models.load` can rebuild, by class name."""
