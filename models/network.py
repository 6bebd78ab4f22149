"""Networks: a model owns one ComputationalGraph built from layers, an output and a loss.

The graph of every model has the data inputs ``X`` and ``Y`` (no gradient:
gates skip ``dX``), the parameters ``W1, b1, W2, ...``, the layers' nodes
``Z1, A1, ...`` in scopes ``layer1, layer2, ...`` (a diagram can collapse each
to one box), an output node (what :meth:`Model.predict` returns) and a
``loss`` node. Prediction runs only the output's ancestors, so it needs no labels.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from gates import (
    BinaryCrossEntropyGate,
    BinaryCrossEntropyWithLogitsGate,
    Gate,
    MSELossGate,
    SigmoidGate,
    SoftmaxCrossEntropyGate,
    SoftmaxGate,
)
from graph import ComputationalGraph, Node
from graph.summary import Table
from models.data import one_hot
from models.layers import (
    ACTIVATIONS,
    Activation,
    BatchNorm2D,
    Conv2D,
    Dropout,
    Flatten,
    Layer,
    Linear,
    MaxPool2D,
    Shape,
)

__all__ = ["Model", "MLP", "TwoLayerNet", "CNN", "LOSSES", "LOSS_HEADS", "LossHead"]


class LossHead(NamedTuple):
    """What a loss name puts after the last layer: the output gate (None: the identity) and the loss gate."""

    output: Callable[[], Gate] | None
    output_name: str
    loss: Callable[[str], Gate]
    classifier: bool


LOSS_HEADS = {
    "softmax_cross_entropy": LossHead(lambda: SoftmaxGate(axis=-1), "softmax", SoftmaxCrossEntropyGate, True),
    "bce": LossHead(SigmoidGate, "sigmoid", BinaryCrossEntropyWithLogitsGate, True),
    "mse": LossHead(None, "identity", MSELossGate, False),
}
"""Loss names and their heads: softmax cross-entropy and BCE take the logits (the fused, stable form)."""

LOSSES = tuple(LOSS_HEADS)
"""Loss names a model takes."""

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Model:
    """A network as one graph: layers, an output node and a loss node.

    Subclasses (:class:`MLP`, :class:`TwoLayerNet`, :class:`CNN`) choose the
    layers; this class runs any list of them. ``model.graph`` is an ordinary
    :class:`~graph.ComputationalGraph`: draw it, inspect ``model.graph["Z1"]``.

    Parameters
    ----------
    layers : list of Layer
        Applied in order to ``X``; each layer with weights (Linear, Conv2D)
        starts a new chapter layer ``l`` (``W{l}``, ``b{l}``, ``Z{l}``, ``A{l}``).
    loss : {"softmax_cross_entropy", "bce", "mse"}
        Softmax cross-entropy on the logits (output: class probabilities),
        sigmoid plus binary cross-entropy fused on the logits (output:
        probabilities per output), or mean squared error (output: the last
        layer); see :data:`LOSS_HEADS`.
    input_shape : tuple of int, optional
        One example's shape, e.g. ``(1, 28, 28)`` for images; by default the
        first layer's (a Linear layer's ``(n_in,)``).
    reduction : {"mean", "sum", "batchmean"}
        How the loss gate reduces per-element losses; see :mod:`gates.loss`.
    dtype : numpy float dtype, default float32
        Of the parameters; inputs are cast to it. float64 for checks.
    seed : int, numpy Generator or None
        Seeds the initialisation; the same seed gives the same parameters.

    Training and evaluation: a model starts in training mode;
    :meth:`train` and :meth:`eval` switch dropout and batch normalisation
    between their two behaviours. :meth:`predict` and :func:`~models.evaluate`
    always use evaluation behaviour, :func:`~models.fit` training behaviour.

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
        input_shape: Shape | None = None,
        reduction: str = "mean",
        dtype=np.float32,
        seed: int | np.random.Generator | None = None,
    ):
        self.dtype = np.dtype(dtype)
        if self.dtype not in _DTYPES:
            raise ValueError(f"model dtype must be float32 or float64, got {self.dtype}")
        if loss not in LOSS_HEADS:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if not any(layer.starts_layer for layer in layers):
            raise ValueError("a model needs at least one layer with weights (Linear or Conv2D)")
        self.layers = list(layers)
        self.loss_name, self.reduction = loss, reduction
        given = input_shape if input_shape is not None else self.layers[0].input_shape
        if given is None:
            raise ValueError(f"the first layer, {self.layers[0]!r}, does not fix the input's shape: give input_shape=")
        self.input_shape: Shape = tuple(int(n) for n in given)
        self.shapes: list[Shape] = []  # each layer's output shape, per example
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            self.shapes.append(shape)
        if len(shape) != 1:
            raise ValueError(f"the last layer gives {shape} per example; a loss takes features: end with Flatten()")
        self.n_out = shape[0]
        self.training = True
        self.graph = ComputationalGraph()
        self.X = self.graph.input("X", requires_grad=False)
        self.Y = self.graph.input("Y", requires_grad=False)
        a, index = self.X, 0
        self.layer_nodes: list[Node] = []
        self.layer_indices: list[int] = []
        for layer in self.layers:
            index += layer.starts_layer
            with self.graph.scope(f"layer{index}"):
                a = layer.build(self.graph, a, index, self.dtype)
            self.layer_nodes.append(a)
            self.layer_indices.append(index)
        self.output_node, self.loss_node = self._build_head(a)
        self.reset_parameters(seed)

    def _build_head(self, last: Node) -> tuple[Node, Node]:
        """Add the output and loss nodes after the last layer's node."""
        g, head = self.graph, LOSS_HEADS[self.loss_name]
        with g.scope("output"):
            output = last if head.output is None else g.add_gate(head.output(), last, name="Yhat")
        with g.scope("loss"):
            loss = g.add_gate(head.loss(self.reduction), last, self.Y, name="loss")
        return output, loss

    # -- parameters ---------------------------------------------------------------

    def parameters(self) -> list[Node]:
        """The parameter nodes, ``W1, b1, W2, b2, ...``: what an optimiser updates."""
        return self.graph.parameters

    @property
    def num_parameters(self) -> int:
        return sum(node.value.size for node in self.parameters())

    def buffers(self) -> dict[str, np.ndarray]:
        """State saved with the parameters that no optimiser updates: batch norm's running statistics."""
        return {name: array for layer in self.layers for name, array in layer.buffers().items()}

    def reset_parameters(self, seed: int | np.random.Generator | None = None) -> None:
        """Initialise every layer afresh, in layer order, from ``seed``."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameter values and the buffers, by name."""
        arrays = {node.name: node.value for node in self.parameters()} | self.buffers()
        return {name: array.copy() for name, array in arrays.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Set every parameter and buffer from ``state`` (names and shapes must match exactly)."""
        params = {node.name: node for node in self.parameters()}
        buffers = self.buffers()
        targets = {name: node.value for name, node in params.items()} | buffers
        problems = [f"missing {name}" for name in targets if name not in state]
        problems += [f"unexpected {name}" for name in state if name not in targets]
        problems += [
            f"{name} has shape {np.shape(state[name])}, the model's is {array.shape}"
            for name, array in targets.items()
            if name in state and np.shape(state[name]) != array.shape
        ]
        if problems:
            raise ValueError(f"parameters do not fit {self.architecture}: " + "; ".join(problems))
        for name, array in targets.items():
            array[...] = state[name]
        for node in params.values():
            node.mark_changed()  # written in place: a backward of an earlier forward must refuse

    # -- modes -----------------------------------------------------------------------

    def train(self, mode: bool = True) -> Model:
        """Training behaviour (dropout drops, batch norm uses and updates batch statistics); returns the model."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(self.training)
        return self

    def eval(self) -> Model:
        """Evaluation behaviour (dropout off, batch norm uses its running statistics); returns the model."""
        return self.train(False)

    @contextlib.contextmanager
    def in_mode(self, training: bool) -> Iterator[Model]:
        """``with model.in_mode(False):`` runs a block in evaluation mode, then restores the mode it found."""
        before = self.training
        self.train(training)
        try:
            yield self
        finally:
            self.train(before)

    # -- running ---------------------------------------------------------------------

    @property
    def classifier(self) -> bool:
        """Whether outputs are class probabilities (accuracy makes sense)."""
        return LOSS_HEADS[self.loss_name].classifier

    def inputs(self, x: ArrayLike) -> np.ndarray:
        """``X`` as the model takes it: an (N, *input_shape) array of the model's dtype."""
        x = np.asarray(x, dtype=self.dtype)
        if x.shape[1:] != self.input_shape:
            wanted = ", ".join(map(str, ("N", *self.input_shape)))
            hint = ""
            if x.ndim >= 2 and math.prod(x.shape[1:]) == math.prod(self.input_shape):
                hint = f": x.reshape(-1, {', '.join(map(str, self.input_shape))}) gives it" + (
                    ", as does scale_images(images, flat=False)" if len(self.input_shape) == 3 else ""
                )
            raise ValueError(f"{self.architecture} takes x of shape ({wanted}), got {x.shape}{hint}")
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
        """The network's output for ``X``, in evaluation mode; runs only what prediction needs, no labels.

        Class probabilities (N, C) for softmax cross-entropy, a probability per
        output for BCE, the last layer's values for MSE. The pass keeps nothing
        for backward (``forward(keep=False)``): its values are let go as soon
        as they are read, and the graph's nodes keep the last training pass's.
        """
        with self.in_mode(False):
            return self.graph.forward({"X": self.inputs(x)}, outputs=self.output_node, keep=False)

    def predict_classes(self, x: ArrayLike) -> np.ndarray:
        """Predicted class labels (N,): the most probable class, or output >= 0.5 for one output."""
        return self.classes(self.predict(x))

    def loss(self, x: ArrayLike, y: ArrayLike) -> float:
        """The loss on ``X`` and targets ``Y`` (in the current mode); :meth:`backward` then gives its gradients."""
        return float(self.graph.forward({"X": self.inputs(x), "Y": self.targets(y)}, outputs=self.loss_node))

    def forward(self, x: np.ndarray, y: np.ndarray, keep: bool = True) -> tuple[float, np.ndarray]:
        """Loss and output in one pass (what training uses); ``X`` and ``Y`` must be prepared.

        ``X`` as :meth:`inputs` returns it, ``Y`` as :meth:`targets` returns it.
        ``keep=False`` scores without keeping the pass for :meth:`backward`
        (see ``ComputationalGraph.forward``), as ``models.evaluate`` does.
        """
        values = self.graph.forward({"X": x, "Y": y}, outputs=[self.loss_node, self.output_node], keep=keep)
        return float(values[self.loss_node.name]), values[self.output_node.name]

    def backward(self) -> dict[str, np.ndarray]:
        """Gradients of the last loss by parameter name; also set on each ``node.grad``.

        Gradients are computed afresh each call, never summed over calls.
        """
        return self.graph.backward(output=self.loss_node)

    # -- describing --------------------------------------------------------------------

    @property
    def layer_sizes(self) -> list[int]:
        """Features (or channels) of the input and of each weighted layer's output, e.g. ``[784, 256, 10]``."""
        starts = [shape[0] for layer, shape in zip(self.layers, self.shapes) if layer.starts_layer]
        return [self.input_shape[0], *starts]

    @property
    def architecture(self) -> str:
        """Class and sizes in a few words, e.g. ``MLP 784-256-10``."""
        return f"{type(self).__name__} {'-'.join(map(str, self.layer_sizes))}"

    def config(self) -> dict:
        """The constructor arguments that rebuild this model (saved with it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved: it defines no config()")

    def summary(self) -> Table:
        """A table of layers, output shapes and parameter counts.

        A :class:`graph.summary.Table`: a REPL shows it as the table, a
        notebook as an HTML table; ``print`` and ``str()`` give the text.
        ``model.graph.summary()`` lists the graph's nodes and gates instead.

        Examples
        --------
        >>> MLP([4, 3, 2], seed=0).summary()
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
        rows = [("input", self.X.name, "data", _batch_shape(self.input_shape), "")]
        for layer, node, shape, index in zip(self.layers, self.layer_nodes, self.shapes, self.layer_indices):
            params = layer.parameters()
            described = ", ".join(f"{p.name} {p.value.shape}" for p in params)
            count = f"{described}: {sum(p.value.size for p in params):,}" if params else ""
            rows.append((f"layer{index}", node.name, layer.operation, _batch_shape(shape), count))
        if self.output_node.scope == "output":
            output_name = LOSS_HEADS[self.loss_name].output_name
            rows.append(("output", self.output_node.name, output_name, _batch_shape((self.n_out,)), ""))
        rows.append(("loss", self.loss_node.name, self.loss_name, "()", ""))
        return Table(
            f"{type(self).__name__}: {self._description()}",
            ("layer", "node", "operation", "output", "parameters"),
            tuple(rows),
            f"total parameters: {self.num_parameters:,}",
        )

    def _description(self) -> str:
        activations = sorted({layer.activation for layer in self.layers if layer.activation is not None})
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
        """Write the prediction graph, ``X`` to :meth:`predict`'s output, as ONNX; return the model.

        Exported in evaluation mode (dropout off, batch norm's running
        statistics), as :meth:`predict` runs. The batch size stays free; the
        model's dtype is kept. Needs the onnx extra; see
        :func:`graph.export_onnx`. Runs the prediction once, on zeros, which
        clears the gradients of an earlier backward.

        >>> import onnxruntime
        >>> model = MLP([3, 4, 2], seed=0)
        >>> session = onnxruntime.InferenceSession(model.export_onnx(None).SerializeToString())
        >>> x = np.ones((5, 3), dtype=np.float32)
        >>> np.allclose(session.run(None, {"X": x})[0], model.predict(x), rtol=1e-5)
        True
        """
        from graph import export_onnx

        zeros = np.zeros((1, *self.input_shape), dtype=self.dtype)
        with self.in_mode(False):
            return export_onnx(self.graph, path, self.output_node, feeds={"X": zeros}, dtype=self.dtype)


def _batch_shape(shape: Shape) -> str:
    return f"({', '.join(map(str, ('N', *shape)))})"


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
        return {"n_in": self.input_shape[0], "n_hidden": self.layer_sizes[1], "n_out": self.n_out}


class CNN(Model):
    """A small convolutional network: conv blocks, then fully connected layers.

    Each block ``l`` is a convolution with ``kernel x kernel`` filters and
    "same" padding (``kernel // 2``), batch normalisation (optional), ReLU and
    2x2 max pooling, which halves the image::

        Z{l} = W{l} ⋆ A{l-1} + b{l}   BN{l} = γ{l} Ẑ + β{l}   A{l} = relu(BN{l})   P{l} = maxpool(A{l})

    Then ``Flatten``, and for each hidden size a dropout (optional), a Linear
    layer and a ReLU; a last dropout and the Linear output layer give the
    logits.

    Parameters
    ----------
    input_shape : (C, H, W), default (1, 28, 28)
    channels : sequence of int, default (32, 64)
        Filters of each conv block.
    classes : int, default 10
    hidden : sequence of int, default (128,)
        Sizes of the fully connected hidden layers.
    kernel : int, default 3
    batch_norm : bool, default True
    dropout : float in [0, 1), default 0.0
        Before each fully connected layer.
    loss, reduction, dtype, seed
        As for :class:`Model`.

    Examples
    --------
    >>> model = CNN(channels=(8, 16), hidden=(), seed=0)
    >>> model
    <CNN 1-8-16-10, relu, softmax_cross_entropy (mean), float32, 9,146 parameters>
    >>> model.predict(np.zeros((2, 1, 28, 28))).shape
    (2, 10)
    """

    def __init__(
        self,
        input_shape=(1, 28, 28),
        channels=(32, 64),
        classes: int = 10,
        *,
        hidden=(128,),
        kernel: int = 3,
        batch_norm: bool = True,
        dropout: float = 0.0,
        loss: str = "softmax_cross_entropy",
        reduction: str = "mean",
        dtype=np.float32,
        seed: int | np.random.Generator | None = None,
    ):
        self.channels, self.hidden = [int(c) for c in channels], [int(h) for h in hidden]
        self.num_classes, self.kernel, self.batch_norm, self.dropout = (
            int(classes),
            int(kernel),
            bool(batch_norm),
            dropout,
        )
        if not self.channels:
            raise ValueError("CNN channels needs at least one conv block, e.g. channels=(32, 64)")
        layers: list[Layer] = []
        c_in = int(input_shape[0])
        for c_out in self.channels:
            layers.append(Conv2D(c_in, c_out, self.kernel, padding=self.kernel // 2))
            if self.batch_norm:
                layers.append(BatchNorm2D(c_out))
            layers += [Activation("relu"), MaxPool2D(2)]
            c_in = c_out
        layers.append(Flatten())
        shape = tuple(int(n) for n in input_shape)
        for layer in layers:
            shape = layer.output_shape(shape)
        sizes: list[int] = [shape[0], *self.hidden, self.num_classes]
        for position, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
            if dropout:
                layers.append(Dropout(dropout))
            layers.append(Linear(n_in, n_out))
            if position < len(sizes) - 1:
                layers.append(Activation("relu"))
        super().__init__(layers, loss, input_shape=input_shape, reduction=reduction, dtype=dtype, seed=seed)

    def config(self) -> dict:
        return {
            "input_shape": list(self.input_shape),
            "channels": self.channels,
            "classes": self.num_classes,
            "hidden": self.hidden,
            "kernel": self.kernel,
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
            "loss": self.loss_name,
            "reduction": self.reduction,
        }


MODEL_CLASSES: dict[str, type[Model]] = {"MLP": MLP, "TwoLayerNet": TwoLayerNet, "CNN": CNN}
"""The models :func:`models.load` can rebuild, by class name."""
