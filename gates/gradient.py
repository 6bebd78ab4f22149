"""Gradient gates: the pieces of backward passes that are not compositions of other gates.

A gate's ``gradient`` rule writes its backward with gates (see
:class:`gates.base.Gate`); where a piece of it is no existing gate (the ReLU
mask, the max router, summing back a broadcast), it is one of the small gates
here. Each is itself differentiable: it has a ``backward``, a ``jvp`` and a
``gradient`` rule of its own, so backward passes can be differentiated again,
to any order.

Shapes are known only when a forward runs, never when a gradient is built:
gates that put a gradient back in an input's shape take that input as a
*reference* argument, ``like``, whose value they read for its shape only
(its gradient is zero).

Every module function here builds nodes: it takes node handles of a graph
and adds gates to that graph. This package never imports the graph: it uses
the handles' ``graph.add_gate`` and their operators.
"""

from __future__ import annotations

import math

import numpy as np

from gates.base import Gate, normalize_axes, shape_of, unbroadcast

__all__ = [
    "apply",
    "sum_to",
    "SumToGate",
    "BroadcastToGate",
    "ReshapeLikeGate",
    "SpreadGate",
    "CollectGate",
    "ReLUMaskGate",
    "RouteGate",
    "SignGate",
    "ZerosLikeGate",
    "SeedGate",
    "LossScaleGate",
    "OneHotGate",
    "LogSoftmaxGate",
    "MatMulGradientGate",
    "loss_scale",
    "zeros_like",
    "zeros_if",
]


def apply(gate: Gate, *inputs):
    """Add ``gate`` fed by ``inputs`` to the graph of the first input, a node; return the new node."""
    return inputs[0].graph.add_gate(gate, *inputs)


def sum_to(grad, like):
    """The node ``unbroadcast(grad, like.shape)``: a broadcast input's gradient, summed back to its shape."""
    return apply(SumToGate(), grad, like)


def zeros_like(value):
    """A zero gradient for ``value``: 0.0 for a Python float, else zeros of its (floating) dtype."""
    if isinstance(value, float):
        return 0.0
    return np.zeros(shape_of(value), dtype=np.result_type(value, 1.0))[()]


def zeros_if(wanted: bool, value):
    """A reference input's gradient: zero where it is asked for (its value moves nothing), else None."""
    return zeros_like(value) if wanted else None


class SumToGate(Gate):
    """Sum a gradient down to the shape of a reference input: :func:`gates.base.unbroadcast` as a gate.

    forward   z = unbroadcast(g, like.shape)
    backward  dL/dg = broadcast_to(upstream, g.shape)       dL/dlike = 0
    jvp       dz = unbroadcast(dg, like.shape)
    gradient  broadcast_to(upstream, g) with :class:`BroadcastToGate`

    The backward of numpy broadcasting, which every binary element-wise
    gate's gradient rule ends with. Where the shapes are equal it passes
    ``g`` through.
    """

    symbol = "Σ→"
    short_name = "sum_to"
    local_gradient = ("∂{out}/∂{in0} = 1 (summed over broadcast axes)", "")

    def __init__(self) -> None:
        super().__init__()
        self.grad_shape = self.like = self.output = None

    def forward(self, grad, like):
        self.grad_shape, self.like = shape_of(grad), like
        self.output = unbroadcast(grad, shape_of(like))
        return self.output

    def backward(self, upstream):
        want_grad, want_like = self.needs_input_grad
        spread = np.broadcast_to(upstream, self.grad_shape)[()] if self.grad_shape else upstream
        return (spread if want_grad else None, zeros_if(want_like, self.like))

    def jvp(self, tangent_grad, tangent_like):
        if tangent_grad is None:
            return zeros_like(self.output)
        return unbroadcast(tangent_grad, shape_of(self.like))

    def gradient(self, upstream, output, grad, like):
        return (apply(BroadcastToGate(), upstream, grad), None)

    def to_onnx(self, builder, grad, like):
        like_shape = shape_of(self.like)
        leading = len(self.grad_shape) - len(like_shape)
        stretched = [
            leading + axis for axis, n in enumerate(like_shape) if n == 1 and self.grad_shape[leading + axis] != 1
        ]
        axes = [*range(leading), *stretched]
        if not axes:
            return grad
        summed = builder.op("ReduceSum", grad, builder.constant(np.array(axes, dtype=np.int64)), keepdims=1)
        return builder.op("Reshape", summed, builder.op("Shape", like))


class BroadcastToGate(Gate):
    """Broadcast a value to the shape of a reference input, as numpy broadcasting would.

    forward   z = broadcast_to(x, like.shape)
    backward  dL/dx = unbroadcast(upstream, x.shape)       dL/dlike = 0
    jvp       dz = broadcast_to(dx, like.shape)
    gradient  unbroadcast(upstream, x) with :class:`SumToGate`

    The adjoint of :class:`SumToGate`, which it is the gradient of, and the other way round.
    """

    symbol = "→▭"
    short_name = "broadcast_to"
    local_gradient = ("∂{out}/∂{in0} = 1 (copied along broadcast axes)", "")

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.like = self.output = None

    def forward(self, x, like):
        self.x_shape, self.like = shape_of(x), like
        shape = shape_of(like)
        self.output = np.broadcast_to(x, shape)[()] if shape != self.x_shape else x
        return self.output

    def backward(self, upstream):
        want_x, want_like = self.needs_input_grad
        return (unbroadcast(upstream, self.x_shape) if want_x else None, zeros_if(want_like, self.like))

    def jvp(self, tangent_x, tangent_like):
        shape = shape_of(self.like)
        if tangent_x is None:
            return zeros_like(self.output)
        return np.broadcast_to(tangent_x, shape)[()] if shape != shape_of(tangent_x) else tangent_x

    def gradient(self, upstream, output, x, like):
        return (sum_to(upstream, x), None)

    def to_onnx(self, builder, x, like):
        return builder.op("Expand", x, builder.op("Shape", like))


class ReshapeLikeGate(Gate):
    """Reshape a gradient to the shape of a reference input: the backward of a reshape.

    forward   z = reshape(x, like.shape)
    backward  dL/dx = reshape(upstream, x.shape)       dL/dlike = 0
    jvp       dz = reshape(dx, like.shape)
    gradient  reshape(upstream, x) with another ReshapeLikeGate
    """

    symbol = "reshape→"
    short_name = "reshape_like"
    local_gradient = ("∂{out}/∂{in0} = 1 (same elements)", "")

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.like = self.output = None

    def forward(self, x, like):
        self.x_shape, self.like = shape_of(x), like
        self.output = np.reshape(x, shape_of(like))[()]
        return self.output

    def backward(self, upstream):
        want_x, want_like = self.needs_input_grad
        return (np.reshape(upstream, self.x_shape)[()] if want_x else None, zeros_if(want_like, self.like))

    def jvp(self, tangent_x, tangent_like):
        if tangent_x is None:
            return zeros_like(self.output)
        return np.reshape(tangent_x, shape_of(self.like))[()]

    def gradient(self, upstream, output, x, like):
        return (apply(ReshapeLikeGate(), upstream, x), None)

    def to_onnx(self, builder, x, like):
        return builder.op("Reshape", x, builder.op("Shape", like))


def _reduced_count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    return math.prod(shape) if axes is None else math.prod(shape[axis] for axis in axes)


class _AxesGate(Gate):
    """A gate over some axes of an input of a given shape, as :class:`gates.SumGate` takes them."""

    def __init__(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, average: bool = False):
        self.axis, self.keepdims, self.average = normalize_axes(axis, None, self), bool(keepdims), bool(average)

    def _scale(self, shape: tuple[int, ...], axes) -> float:
        """1, or 1/n for an average over n elements (0 for none: there is nothing to send a gradient to)."""
        if not self.average:
            return 1.0
        count = _reduced_count(shape, axes)
        return 1 / count if count else 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis}, keepdims={self.keepdims}, average={self.average})"


class SpreadGate(_AxesGate):
    """A reduction's gradient: copied back over the reduced axes of the reference input (and divided for a mean).

    forward   z = broadcast(g over axes, like.shape) · s        s = 1, or 1/n for a mean of n elements
    backward  dL/dg = Σ_axes upstream · s        dL/dlike = 0
    jvp       dz = broadcast(dg over axes, like.shape) · s
    gradient  :class:`CollectGate`, its adjoint

    The backward of :class:`gates.SumGate` (``average=False``) and of
    :class:`gates.MeanGate` (``average=True``), with their ``axis`` and ``keepdims``.
    """

    symbol = "spread"
    short_name = "spread"
    local_gradient = ("∂{out}/∂{in0} = s (copied over the reduced axes)", "")

    def forward(self, grad, like):
        self.like, self.grad_shape = like, shape_of(grad)
        shape = shape_of(like)
        self.axes = normalize_axes(self.axis, len(shape), self)
        self.scale = self._scale(shape, self.axes)
        self.output = self._spread(grad, shape)
        return self.output

    def _spread(self, grad, shape):
        if self.scale != 1.0:
            grad = grad * self.scale
        if self.axes is not None and not self.keepdims:
            grad = np.expand_dims(grad, self.axes)
        return np.broadcast_to(grad, shape)[()] if shape else grad

    def backward(self, upstream):
        want_grad, want_like = self.needs_input_grad
        summed = np.sum(upstream, axis=self.axes, keepdims=self.keepdims) * self.scale if want_grad else None
        return (summed, zeros_if(want_like, self.like))

    def jvp(self, tangent_grad, tangent_like):
        if tangent_grad is None:
            return zeros_like(self.output)
        return self._spread(tangent_grad, shape_of(self.like))

    def gradient(self, upstream, output, grad, like):
        return (apply(CollectGate(self.axis, self.keepdims, self.average), upstream), None)

    def to_onnx(self, builder, grad, like):
        if self.average:  # 1/n from the reference's shape at run time: the batch size may differ from the export's
            if self.axes is None:
                count = builder.op("Size", like)
            else:
                axes = builder.constant(np.array(self.axes, dtype=np.int64))
                count = builder.op("ReduceProd", builder.op("Gather", builder.op("Shape", like), axes), keepdims=0)
            grad = builder.op("Div", grad, builder.op("Cast", count, to=builder.elem_type))
        if self.axes is not None and not self.keepdims:
            grad = builder.op("Unsqueeze", grad, builder.constant(np.array(self.axes, dtype=np.int64)))
        return builder.op("Expand", grad, builder.op("Shape", like))


class CollectGate(_AxesGate):
    """Sum over axes, times 1/n for an average over n elements (0 for none): the adjoint of :class:`SpreadGate`.

    forward   z = Σ_axes x · s          s = 1, or 1/n (0 when n = 0)
    backward  dL/dx = broadcast(upstream over axes, x.shape) · s
    jvp       dz = Σ_axes dx · s
    gradient  :class:`SpreadGate`

    Unlike :class:`gates.MeanGate`, whose mean of nothing is nan, the
    average of an empty input is 0 here: it is a gradient, and an empty
    input has no elements to send one to.
    """

    symbol = "collect"
    short_name = "collect"
    local_gradient = ("∂{out}/∂{in0}_i = s",)

    def forward(self, x):
        self.x = x
        self.axes = normalize_axes(self.axis, np.ndim(x), self)
        self.scale = self._scale(shape_of(x), self.axes)
        return np.sum(x, axis=self.axes, keepdims=self.keepdims) * self.scale

    def backward(self, upstream):
        spread = SpreadGate(self.axis, self.keepdims, self.average)
        return (spread.forward(upstream, self.x),)

    def jvp(self, tangent_x):
        return np.sum(tangent_x, axis=self.axes, keepdims=self.keepdims) * self.scale

    def gradient(self, upstream, output, x):
        return (apply(SpreadGate(self.axis, self.keepdims, self.average), upstream, x),)


class ReLUMaskGate(Gate):
    """relu'(x) · upstream: the upstream gradient where x > 0, ``alpha`` times it elsewhere.

    forward   z = g · [x > 0] + alpha · g · [x ≤ 0]
    backward  dL/dg = upstream · (1 if x > 0 else alpha)        dL/dx = 0
    jvp       dz = dg · (1 if x > 0 else alpha)
    gradient  another ReLUMaskGate on the upstream; none for x (the mask is flat)

    The backward of :class:`gates.ReLUGate` (``alpha = 0``) and of
    :class:`gates.LeakyReLUGate`. Below zero the gradient is ``alpha · g``,
    so an infinite upstream gives nan there, as ReLU's backward does.
    """

    symbol = "·[x>0]"
    short_name = "relu_mask"
    local_gradient = ("∂{out}/∂{in0} = [{in1} > 0] (α elsewhere)", "")

    def __init__(self, alpha: float = 0.0):
        super().__init__()
        self.alpha = alpha
        self.x = self.positive = self.output = None

    def forward(self, grad, x):
        self.x = x
        self.positive = np.greater(x, 0)
        self.output = self._mask(grad)
        return self.output

    def _mask(self, grad):
        return np.where(self.positive, grad, self.alpha * grad)[()]

    def backward(self, upstream):
        want_grad, want_x = self.needs_input_grad
        return (self._mask(upstream) if want_grad else None, zeros_if(want_x, self.x))

    def jvp(self, tangent_grad, tangent_x):
        if tangent_grad is None:
            return zeros_like(self.output)
        return self._mask(tangent_grad)

    def gradient(self, upstream, output, grad, x):
        return (apply(ReLUMaskGate(self.alpha), upstream, x), None)

    def to_onnx(self, builder, grad, x):
        positive = builder.op("Greater", x, builder.constant(0.0))
        return builder.op("Where", positive, grad, builder.op("Mul", grad, builder.constant(float(self.alpha))))

    def __repr__(self) -> str:
        return f"ReLUMaskGate(alpha={self.alpha!r})"


_ONNX_INT64 = 7  # onnx.TensorProto.INT64: this package never imports onnx
_COMPARISONS = {">=": np.greater_equal, "<=": np.less_equal}


class RouteGate(Gate):
    """The max (or min) gate's router: the upstream gradient where ``x`` won, or where ``y`` did.

    forward   z = g · [x wins]      (``to_x``)      or   g · [y wins]
    backward  dL/dg = upstream routed the same way      dL/dx = dL/dy = 0
    jvp       dz = dg routed the same way
    gradient  another RouteGate on the upstream; none for x and y (the routing is flat)

    ``x`` wins where ``x >= y`` for max (``compare=">="``) and where
    ``x <= y`` for min: ties go to ``x``, as :class:`gates.MaxGate` says.
    The output has the broadcast shape of the three inputs; the gate rule
    sums it back to each input's shape. Elements not routed are 0, whatever
    the upstream (inf and nan included), as the max gate's backward gives.
    """

    short_name = "route"
    local_gradient = ("∂{out}/∂{in0} = [{in1} wins]", "", "")

    def __init__(self, compare: str = ">=", to_x: bool = True):
        if compare not in _COMPARISONS:
            raise ValueError(f"RouteGate compare must be one of {tuple(_COMPARISONS)}, got {compare!r}")
        super().__init__()
        self.compare, self.to_x = compare, bool(to_x)
        self.x = self.y = self.x_wins = self.shape = self.grad_shape = self.output = None

    @property
    def symbol(self) -> str:  # type: ignore[override]  # read-only here: computed from the arguments
        return f"→{'x' if self.to_x else 'y'} [x {self.compare} y]"

    def forward(self, grad, x, y):
        self.x, self.y, self.grad_shape = x, y, shape_of(grad)
        self.x_wins = _COMPARISONS[self.compare](x, y)
        self.shape = np.broadcast_shapes(self.grad_shape, shape_of(x), shape_of(y))
        self.output = self._route(grad)
        return self.output

    def _route(self, grad):
        zero = np.zeros((), dtype=np.result_type(grad, 1.0))
        kept = np.where(self.x_wins, grad, zero) if self.to_x else np.where(self.x_wins, zero, grad)
        return np.broadcast_to(kept, self.shape)[()] if shape_of(kept) != self.shape else kept[()]

    def backward(self, upstream):
        want_grad, want_x, want_y = self.needs_input_grad
        return (
            unbroadcast(self._route(upstream), self.grad_shape) if want_grad else None,
            zeros_if(want_x, self.x),
            zeros_if(want_y, self.y),
        )

    def jvp(self, tangent_grad, tangent_x, tangent_y):
        if tangent_grad is None:
            return zeros_like(self.output)
        return self._route(tangent_grad)

    def gradient(self, upstream, output, grad, x, y):
        return (sum_to(apply(RouteGate(self.compare, self.to_x), upstream, x, y), grad), None, None)

    def to_onnx(self, builder, grad, x, y):
        x_wins = builder.op("GreaterOrEqual" if self.compare == ">=" else "LessOrEqual", x, y)
        zero = builder.constant(0.0)
        # Where broadcasts its three operands: the output has the shape of grad, x and y together.
        return builder.op("Where", x_wins, grad, zero) if self.to_x else builder.op("Where", x_wins, zero, grad)

    def __repr__(self) -> str:
        return f"RouteGate(compare={self.compare!r}, to_x={self.to_x})"


class _ConstantGate(Gate):
    """A gate whose output does not move with its input (it reads only its shape or sign): zero derivatives.

    ``fill`` is the value of every element, for the ONNX mapping of those that fill a shape.
    """

    fill = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.x = self.output = None

    def backward(self, upstream):
        (want_x,) = self.needs_input_grad
        return (zeros_if(want_x, self.x),)

    def jvp(self, tangent_x):
        return zeros_like(self.output)

    def gradient(self, upstream, output, x):
        return (None,)

    def to_onnx(self, builder, x):
        """The constant output at run time (see ``fill``), shaped like the input."""
        return builder.op("Expand", builder.constant(self.fill), builder.op("Shape", x))


class SignGate(_ConstantGate):
    """Element-wise sign, the derivative of abs.

    forward   z = sign(x)      (0 at x = 0)
    backward  dL/dx = 0
    jvp       dz = 0
    gradient  none: the sign is flat away from 0
    """

    symbol = "sign"
    short_name = "sign"
    local_gradient = ("∂{out}/∂{in0} = 0",)

    def forward(self, x):
        self.x = x
        self.output = np.sign(x)
        return self.output

    def to_onnx(self, builder, x):
        return builder.op("Sign", x)


class ZerosLikeGate(_ConstantGate):
    """Zeros shaped like the input: the gradient of an output that does not depend on it.

    forward   z = 0 · x       (zeros of x's shape, whatever x holds: inf and nan too)
    backward  dL/dx = 0
    jvp       dz = 0
    gradient  none
    """

    symbol = "0"
    short_name = "zeros"
    local_gradient = ("∂{out}/∂{in0} = 0",)

    def forward(self, x):
        self.x = x
        self.output = zeros_like(x)
        return self.output


class SeedGate(_ConstantGate):
    """The seed of a backward pass written as gates: dL/dL = 1 for an output of one element.

    forward   z = 1       (shaped and typed like the output; float64 for a non-float output)
    backward  dL/doutput = 0
    jvp       dz = 0
    gradient  none

    Raises ValueError at forward for an output of more than one element,
    whose gradient needs a seed of its own (``g.gradient(f, x, grad=...)``).
    """

    symbol = "1"
    short_name = "seed"
    local_gradient = ("∂{out}/∂{in0} = 0",)
    fill = 1.0

    def forward(self, x):
        self.x = x
        shape = shape_of(x)
        if math.prod(shape) != 1:
            raise ValueError(
                f"the output has shape {shape}, not one element: its gradient needs a seed of that shape, "
                "g.gradient(output, wrt, grad=node)"
            )
        if isinstance(x, float):
            self.output = 1.0
        else:
            dtype = np.asarray(x).dtype
            self.output = np.ones(shape, dtype if dtype.kind == "f" else np.float64)[()]
        return self.output


def loss_scale(reduction: str, shape: tuple[int, ...]) -> float:
    """d(reduced loss)/d(each element's loss) for per-element losses of ``shape``, as the loss gates reduce.

    >>> loss_scale("mean", (2, 3)), loss_scale("batchmean", (2, 3)), loss_scale("sum", (2, 3))
    (0.16666666666666666, 0.5, 1.0)
    """
    if reduction == "sum":
        return 1.0
    count = math.prod(shape) if reduction == "mean" else (shape[0] if shape else 1)
    # No losses (an empty batch): the loss is nan, but the factor scales gradients of no elements;
    # 0 keeps a second derivative with respect to the upstream 0, where nan would leak into it.
    return 1 / count if count else 0.0


class LossScaleGate(_ConstantGate):
    """The factor a loss's reduction gives each element's loss: 1, 1/n or 1/N, from the input's shape.

    forward   z = loss_scale(reduction, shape)      (per-example losses: the shape without its last axis)
    backward  dL/dx = 0
    jvp       dz = 0
    gradient  none

    A Python float, so float32 gradients stay float32. A mean over nothing
    gives 0 (see :func:`loss_scale`).
    """

    symbol = "scale"
    short_name = "loss_scale"
    local_gradient = ("∂{out}/∂{in0} = 0",)

    def __init__(self, reduction: str = "mean", rows: bool = False):
        super().__init__()
        self.reduction, self.rows = reduction, bool(rows)
        self.losses_ndim = None

    def forward(self, x):
        self.x = x
        shape = shape_of(x)
        self.losses_ndim = len(shape) - 1 if self.rows else len(shape)
        self.output = loss_scale(self.reduction, shape[:-1] if self.rows else shape)
        return self.output

    def to_onnx(self, builder, x):
        """The scale from the input's shape at run time: the batch size may differ from the export's."""
        if self.reduction == "sum" or (self.reduction == "batchmean" and self.losses_ndim == 0):
            return builder.constant(1.0)
        if self.reduction == "mean" and not self.rows:
            count = builder.op("Size", x)
        else:  # the per-example losses' shape: x's without its last axis (rows), or its first axis (batchmean)
            end = 1 if self.reduction == "batchmean" else -1
            count = builder.op("ReduceProd", builder.op("Shape", x, start=0, end=end), keepdims=0)
        return builder.op("Reciprocal", builder.op("Cast", count, to=builder.elem_type))

    def __repr__(self) -> str:
        return f"LossScaleGate(reduction={self.reduction!r}, rows={self.rows})"


class OneHotGate(Gate):
    """Labels as rows like the logits: one-hot rows for integer class indices, probability rows as they are.

    forward   Y = onehot(labels, C) for integer labels, else Y = labels
    backward  dL/dlabels = upstream for rows (None for integer labels)       dL/dlogits = 0
    jvp       dY = dlabels
    gradient  the upstream for rows; none for the logits, read for their shape only
    """

    symbol = "onehot"
    short_name = "onehot"
    local_gradient = ("∂{out}/∂{in0} = 1", "")

    def forward(self, labels, logits):
        self.logits = logits
        self.integer_labels = np.asarray(labels).dtype.kind in "iu"
        if not self.integer_labels:
            self.output = labels
            return labels
        logits = np.asarray(logits)
        self.output = np.zeros(logits.shape, dtype=np.result_type(logits, 1.0))
        np.put_along_axis(self.output, np.asarray(labels)[..., np.newaxis], 1, axis=-1)
        return self.output

    def backward(self, upstream):
        want_labels, want_logits = self.needs_input_grad
        carried = upstream if want_labels and not self.integer_labels else None
        return (carried, zeros_if(want_logits, self.logits))

    def jvp(self, tangent_labels, tangent_logits):
        if tangent_labels is None or self.integer_labels:
            return zeros_like(self.output)
        return tangent_labels

    def gradient(self, upstream, output, labels, logits):
        return (upstream, None)

    def to_onnx(self, builder, labels, logits):
        if not self.integer_labels:
            return labels
        depth = builder.op("Shape", logits, start=-1)
        indices = builder.op("Cast", labels, to=_ONNX_INT64)  # inputs are float; ONNX Runtime's OneHot takes int64
        return builder.op("OneHot", indices, depth, builder.constant(np.array([0.0, 1.0])), axis=-1)


class LogSoftmaxGate(Gate):
    """Log of the softmax along one axis, computed stably: the log-probabilities of cross-entropy.

    forward   z = x - max(x) - log Σ_j exp(x_j - max(x))
    backward  dL/dx = upstream - softmax(x) Σ_j upstream_j
    jvp       dz = dx - Σ_j softmax(x)_j dx_j
    gradient  upstream - softmax(x) · Σ upstream, with the softmax and sum gates
    """

    symbol = "log softmax"
    short_name = "log_softmax"
    local_gradient = ("∂{out}_i/∂{in0}_j = δ_ij - softmax({in0})_j",)

    def __init__(self, axis: int = -1):
        (self.axis,) = normalize_axes(axis, None, self)

    def forward(self, x):
        (self._axis,) = normalize_axes(self.axis, np.ndim(x), self)
        shifted = x - np.max(x, axis=self._axis, keepdims=True)
        output = shifted - np.log(np.sum(np.exp(shifted), axis=self._axis, keepdims=True))
        self.softmax = np.exp(output)
        return output

    def backward(self, upstream):
        return (upstream - self.softmax * np.sum(upstream, axis=self._axis, keepdims=True),)

    def jvp(self, tangent_x):
        return tangent_x - np.sum(self.softmax * tangent_x, axis=self._axis, keepdims=True)

    def gradient(self, upstream, output, x):
        return (upstream - x.softmax(self.axis) * upstream.sum(self.axis, keepdims=True),)

    def to_onnx(self, builder, x):
        return builder.op("LogSoftmax", x, axis=self._axis)

    def __repr__(self) -> str:
        return f"LogSoftmaxGate(axis={self.axis})"


class MatMulGradientGate(Gate):
    """The gradient of a matrix product ``X @ Y`` with respect to one operand, from the upstream gradient.

    forward   to="x":  G = upstream_Z @ Yᵀ          to="y":  G = Xᵀ @ upstream_Z
              (numpy's ``@`` rules: 1-D operands and batch axes summed back, as MatMulGate's backward)
    backward  to="x":  dL/dupstream_Z = upstream @ Y,    dL/dY = Xᵀ-side gradient of upstream @ Y at upstream_Z
              to="y":  dL/dupstream_Z = X @ upstream,    dL/dX = X-side gradient of X @ upstream at upstream_Z
              the other operand, read for its shape only, gets 0
    jvp       linear in each argument: G(dupstream_Z, Y) + G(upstream_Z, dY) for to="x"
    gradient  a matmul and the other side's MatMulGradientGate

    ``G`` is bilinear: ``<W, G(U, Y)> = <W @ Y, U>`` for ``to="x"``, from which
    each derivative follows.
    """

    short_name = "matmul_grad"
    local_gradient = ("∂{out}/∂{in0} = · {in2}ᵀ", "", "∂{out}/∂{in2} = {in0}ᵀ ·")

    def __init__(self, to: str = "x"):
        if to not in ("x", "y"):
            raise ValueError(f"MatMulGradientGate to must be 'x' or 'y', got {to!r}")
        self.to = to

    @property
    def symbol(self) -> str:  # type: ignore[override]  # read-only here: computed from the side
        return "@ᵀ" if self.to == "x" else "ᵀ@"

    def forward(self, upstream, x, y):
        self.upstream, self.x, self.y = upstream, x, y
        return _matmul_gradient(self.to, upstream, x, y)

    def backward(self, grad):
        want_upstream, want_x, want_y = self.needs_input_grad
        upstream, x, y = self.upstream, self.x, self.y
        if self.to == "x":  # grad is shaped like x
            return (
                np.matmul(grad, y) if want_upstream else None,
                zeros_if(want_x, x),
                _matmul_gradient("y", upstream, grad, y) if want_y else None,
            )
        return (
            np.matmul(x, grad) if want_upstream else None,
            _matmul_gradient("x", upstream, x, grad) if want_x else None,
            zeros_if(want_y, y),
        )

    def jvp(self, tangent_upstream, tangent_x, tangent_y):
        upstream, x, y = self.upstream, self.x, self.y
        moved = tangent_y if self.to == "x" else tangent_x
        terms = []
        if tangent_upstream is not None:
            terms.append(_matmul_gradient(self.to, tangent_upstream, x, y))
        if moved is not None:
            operands = (x, moved) if self.to == "x" else (moved, y)
            terms.append(_matmul_gradient(self.to, upstream, *operands))
        if not terms:
            return zeros_like(x if self.to == "x" else y)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def gradient(self, grad, output, upstream, x, y):
        if self.to == "x":
            return (grad @ y, None, apply(MatMulGradientGate("y"), upstream, grad, y))
        return (x @ grad, apply(MatMulGradientGate("x"), upstream, x, grad), None)

    def to_onnx(self, builder, upstream, x, y):
        if np.ndim(self.x) != 2 or np.ndim(self.y) != 2:
            raise NotImplementedError("MatMulGradientGate exports matrices only (2-D X and Y)")
        if self.to == "x":
            return builder.op("MatMul", upstream, builder.op("Transpose", y, perm=[1, 0]))
        return builder.op("MatMul", builder.op("Transpose", x, perm=[1, 0]), upstream)

    def __repr__(self) -> str:
        return f"MatMulGradientGate(to={self.to!r})"


def _matmul_gradient(to: str, upstream, x, y):
    """The gradient of ``x @ y`` with respect to ``x`` or ``y``: the matmul gate's own backward."""
    from gates.linalg import MatMulGate  # gates.linalg's gradient rules use this module

    gate = MatMulGate()
    gate.forward(x, y)
    gate.needs_input_grad = (to == "x", to == "y")
    return gate.backward(upstream)[0 if to == "x" else 1]
