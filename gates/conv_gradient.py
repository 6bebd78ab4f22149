"""Gradient gates of the image gates: the pieces of their backward passes that no other gate computes.

The gradient rules of :mod:`gates.conv` are built from these, and each of
them is differentiable again (``backward``, ``jvp`` and a ``gradient`` rule of
its own), so higher orders go through convolutional networks:

- the convolution's two gradients, bilinear in their arguments:
  :class:`Conv2DInputGradientGate` (a transposed convolution) and
  :class:`Conv2DWeightGradientGate`, whose own derivatives are convolutions
  (:class:`Conv2DNoBiasGate`) and each other;
- max pooling's router :class:`MaxPool2DRouteGate` and its adjoint
  :class:`MaxPool2DGatherGate`, the winners found again from ``X``, as
  :class:`gates.gradient.ReLUMaskGate` finds its mask;
- average pooling's :class:`AvgPool2DSpreadGate`, whose adjoint is average pooling;
- the constants of a pass that only the forward gate knows: dropout's mask
  (:class:`DropoutMaskGate`), batch normalisation's running statistics
  (:class:`BatchNormEvalGate`) and the mode it ran in (:class:`BatchNormModeGate`).

As in :mod:`gates.gradient`, an argument named ``like`` (or ``output``) is
read for its shape (or, for ``output``, so that the forward gate has run
before): its gradient is zero.
"""

from __future__ import annotations

import numpy as np

from gates.base import Gate, shape_of, tangent_sum
from gates.conv import (
    AvgPool2DGate,
    BatchNorm2DGate,
    Conv2DGate,
    DropoutGate,
    Pair,
    WindowGate,
    average_pool,
    conv2d_columns,
    conv2d_input_gradient,
    conv2d_output_hw,
    conv2d_weight_gradient,
    gather_at_winners,
    max_pool_winners,
    pair,
    route_to_winners,
    spread_over_windows,
)
from gates.gradient import apply, zeros_if, zeros_like

__all__ = [
    "Conv2DNoBiasGate",
    "Conv2DInputGradientGate",
    "Conv2DWeightGradientGate",
    "MaxPool2DRouteGate",
    "MaxPool2DGatherGate",
    "AvgPool2DSpreadGate",
    "DropoutMaskGate",
    "BatchNormModeGate",
    "BatchNormEvalGate",
    "convolution_gradients",
]


def _correlate(x, w, stride: Pair, padding: Pair) -> np.ndarray:
    """The convolution without bias of images ``x`` with filters ``w``, by im2col and one matrix product."""
    x, w = np.asarray(x), np.asarray(w)
    out_hw = conv2d_output_hw(x.shape, w.shape[2:], stride, padding)
    cols = conv2d_columns(x, w.shape[2:], stride, padding)
    return np.matmul(w.reshape(len(w), -1), cols).reshape(len(x), len(w), *out_hw)


def convolution_gradients(gate: Conv2DGate, upstream, x, w) -> tuple:
    """The gradient nodes of a convolution's X and W (None where ``needs_input_grad`` says no)."""
    want_x, want_w = gate.needs_input_grad[:2]
    stride, padding = gate.stride, gate.padding
    return (
        apply(Conv2DInputGradientGate(stride, padding), upstream, w, x) if want_x else None,
        apply(Conv2DWeightGradientGate(stride, padding), upstream, x, w) if want_w else None,
    )


class Conv2DNoBiasGate(Conv2DGate):
    """A convolution without bias: the derivative of the convolution's two gradients with respect to their upstream.

    forward   Z[n, f] = Σ_c W[f, c] ⋆ X[n, c]          (Conv2DGate's, with b = 0)
    backward  dL/dX = conv_x(upstream, W),  dL/dW = conv_w(upstream, X)
    jvp       dZ = conv(dX, W) + conv(X, dW)
    gradient  :class:`Conv2DInputGradientGate` and :class:`Conv2DWeightGradientGate`

    Examples
    --------
    >>> Conv2DNoBiasGate().forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """

    symbol = "conv"
    short_name = "conv"
    local_gradient = (
        "∂{out}/∂{in0} = {in1} (summed by col2im)",
        "∂{out}/∂{in1} = im2col({in0})",
    )

    def forward(self, x, w):  # no bias input
        w = np.asarray(w)
        return super().forward(x, w, np.zeros(w.shape[:1], dtype=w.dtype))

    def backward(self, upstream):
        want_x, want_w = self.needs_input_grad
        upstream = np.reshape(upstream, (len(self.cols), len(self.w), *self._output_hw()))
        return (
            conv2d_input_gradient(upstream, self.w, self.x_shape, self.stride, self.padding) if want_x else None,
            conv2d_weight_gradient(upstream, self.cols, self.w.shape) if want_w else None,
        )

    def jvp(self, tangent_x, tangent_w):  # no bias input
        return super().jvp(tangent_x, tangent_w, None)

    def gradient(self, upstream, output, x, w):  # no bias input
        return convolution_gradients(self, upstream, x, w)

    def to_onnx(self, builder, x, w):  # no bias input
        (ph, pw), kernel = self.padding, list(self.w.shape[2:])
        return builder.op("Conv", x, w, kernel_shape=kernel, strides=list(self.stride), pads=[ph, pw, ph, pw])

    def __repr__(self) -> str:
        return f"Conv2DNoBiasGate(stride={self.stride}, padding={self.padding})"


class _StridedGate(Gate):
    """A gate with a convolution's stride and padding."""

    def __init__(self, stride: int | Pair = 1, padding: int | Pair = 0):
        self.stride = pair(stride, "stride", type(self).__name__, 1)
        self.padding = pair(padding, "padding", type(self).__name__, 0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(stride={self.stride}, padding={self.padding})"


def _check_shape(gate: Gate, what: str, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    """A gradient gate's argument of the wrong shape, named (numpy would broadcast it or fail obscurely)."""
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{type(gate).__name__} takes {what} of shape {tuple(expected)}, got {tuple(shape)}")


def _check_convolution(gate: _StridedGate, upstream, w_shape, x_shape) -> None:
    """The shapes of a convolution's gradient: W (F, C, kh, kw), X (N, C, H, W), upstream like its output."""
    if len(w_shape) != 4 or len(x_shape) != 4 or w_shape[1] != x_shape[1]:
        raise ValueError(
            f"{type(gate).__name__} takes filters W (F, C, kh, kw) and images X (N, C, H, W) with the same C; "
            f"got W {tuple(w_shape)}, X {tuple(x_shape)}"
        )
    out_hw = conv2d_output_hw(x_shape, w_shape[2:], gate.stride, gate.padding)
    _check_shape(gate, "the upstream (N, F, Ho, Wo)", shape_of(upstream), (x_shape[0], w_shape[0], *out_hw))


def _check_windows(gate: WindowGate, x_shape) -> None:
    """Images X (N, C, H, W) at least as large as the pooling window."""
    if len(x_shape) != 4 or gate.kernel[0] > x_shape[2] or gate.kernel[1] > x_shape[3]:
        raise ValueError(
            f"{type(gate).__name__} takes images X of shape (N, C, H, W) at least as large as its kernel "
            f"{gate.kernel}, got shape {tuple(x_shape)}"
        )


def _check_pooled(gate: WindowGate, what: str, pooled, x_shape) -> None:
    """``pooled`` shaped like the pooling of images of ``x_shape``."""
    _check_windows(gate, x_shape)
    out_hw = conv2d_output_hw(x_shape, gate.kernel, gate.stride, (0, 0))
    _check_shape(gate, what, shape_of(pooled), (*x_shape[:2], *out_hw))


class Conv2DInputGradientGate(_StridedGate):
    """A convolution's gradient with respect to its images, from the upstream U and the filters W.

    forward   G = conv_x(U, W) = col2im(W_matᵀ @ U[n])      (a transposed convolution, shaped like X)
    backward  dL/dU = conv(upstream, W)       dL/dW = conv_w(U, upstream)       dL/dlike = 0
    jvp       dG = conv_x(dU, W) + conv_x(U, dW)
    gradient  :class:`Conv2DNoBiasGate` for U, :class:`Conv2DWeightGradientGate` for W

    Bilinear in U and W: ``<A, conv_x(U, W)> = <conv(A, W), U> = <conv_w(U, A), W>``,
    from which each derivative follows. ``like`` is the convolution's X,
    read for its shape (a stride larger than 1 drops rows the upstream
    cannot tell).

    Examples
    --------
    >>> gate = Conv2DInputGradientGate()
    >>> gate.forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """

    symbol = "convᵀ"
    short_name = "conv_grad_x"
    local_gradient = ("∂{out}/∂{in0} = conv(·, {in1})", "∂{out}/∂{in1} = conv_w({in0}, ·)", "")

    def forward(self, upstream, w, like):
        self.upstream, self.w, self.like = np.asarray(upstream), np.asarray(w), like
        _check_convolution(self, self.upstream, self.w.shape, shape_of(like))
        self.output = conv2d_input_gradient(self.upstream, self.w, shape_of(like), self.stride, self.padding)
        return self.output

    def backward(self, grad):
        want_upstream, want_w, want_like = self.needs_input_grad
        grad = np.asarray(grad)
        return (
            _correlate(grad, self.w, self.stride, self.padding) if want_upstream else None,
            self._weight_gradient(self.upstream, grad) if want_w else None,
            zeros_if(want_like, self.like),
        )

    def _weight_gradient(self, upstream, x) -> np.ndarray:
        cols = conv2d_columns(x, self.w.shape[2:], self.stride, self.padding)
        return conv2d_weight_gradient(upstream, cols, self.w.shape)

    def jvp(self, tangent_upstream, tangent_w, tangent_like):
        x_shape, terms = shape_of(self.like), []
        if tangent_upstream is not None:
            terms.append(conv2d_input_gradient(tangent_upstream, self.w, x_shape, self.stride, self.padding))
        if tangent_w is not None:
            terms.append(conv2d_input_gradient(self.upstream, tangent_w, x_shape, self.stride, self.padding))
        return tangent_sum(x_shape, *terms) if terms else zeros_like(self.output)

    def gradient(self, grad, output, upstream, w, like):
        want_upstream, want_w, _ = self.needs_input_grad
        return (
            apply(Conv2DNoBiasGate(self.stride, self.padding), grad, w) if want_upstream else None,
            apply(Conv2DWeightGradientGate(self.stride, self.padding), upstream, grad, w) if want_w else None,
            None,
        )

    def to_onnx(self, builder, upstream, w, like):
        (ph, pw), kernel = self.padding, self.w.shape[2:]
        out_hw = self.upstream.shape[2:]
        x_hw = shape_of(self.like)[2:]
        # rows and columns a stride larger than 1 left out of the last window: ConvTranspose adds them back
        extra = [x_hw[k] + 2 * self.padding[k] - kernel[k] - self.stride[k] * (out_hw[k] - 1) for k in (0, 1)]
        return builder.op(
            "ConvTranspose",
            upstream,
            w,
            kernel_shape=list(kernel),
            strides=list(self.stride),
            pads=[ph, pw, ph, pw],
            output_padding=extra,
        )


class Conv2DWeightGradientGate(_StridedGate):
    """A convolution's gradient with respect to its filters, from the upstream U and the images X.

    forward   G = conv_w(U, X) = Σ_n U[n] @ cols(X)[n]ᵀ       (shaped like W)
    backward  dL/dU = conv(X, upstream)       dL/dX = conv_x(U, upstream)       dL/dlike = 0
    jvp       dG = conv_w(dU, X) + conv_w(U, dX)
    gradient  :class:`Conv2DNoBiasGate` for U, :class:`Conv2DInputGradientGate` for X

    Bilinear in U and X: ``<B, conv_w(U, X)> = <conv(X, B), U> = <conv_x(U, B), X>``.
    ``like`` is the convolution's W, read for its shape.

    Examples
    --------
    >>> gate = Conv2DWeightGradientGate()
    >>> gate.forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)))[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """

    symbol = "conv_w"
    short_name = "conv_grad_w"
    local_gradient = ("∂{out}/∂{in0} = conv({in1}, ·)", "∂{out}/∂{in1} = conv_x({in0}, ·)", "")

    def forward(self, upstream, x, like):
        self.upstream, self.x, self.like = np.asarray(upstream), np.asarray(x), like
        _check_convolution(self, self.upstream, shape_of(like), self.x.shape)
        self.output = conv2d_weight_gradient(self.upstream, self._columns(self.x), shape_of(like))
        return self.output

    def _columns(self, x) -> np.ndarray:
        kh, kw = shape_of(self.like)[2:]
        return conv2d_columns(np.asarray(x), (kh, kw), self.stride, self.padding)

    def backward(self, grad):
        want_upstream, want_x, want_like = self.needs_input_grad
        grad = np.asarray(grad)
        return (
            _correlate(self.x, grad, self.stride, self.padding) if want_upstream else None,
            conv2d_input_gradient(self.upstream, grad, self.x.shape, self.stride, self.padding) if want_x else None,
            zeros_if(want_like, self.like),
        )

    def jvp(self, tangent_upstream, tangent_x, tangent_like):
        w_shape, terms = shape_of(self.like), []
        if tangent_upstream is not None:
            terms.append(conv2d_weight_gradient(tangent_upstream, self._columns(self.x), w_shape))
        if tangent_x is not None:
            terms.append(conv2d_weight_gradient(self.upstream, self._columns(tangent_x), w_shape))
        return tangent_sum(w_shape, *terms) if terms else zeros_like(self.output)

    def gradient(self, grad, output, upstream, x, like):
        want_upstream, want_x, _ = self.needs_input_grad
        return (
            apply(Conv2DNoBiasGate(self.stride, self.padding), x, grad) if want_upstream else None,
            apply(Conv2DInputGradientGate(self.stride, self.padding), upstream, grad, x) if want_x else None,
            None,
        )

    def to_onnx(self, builder, upstream, x, like):
        """A convolution of X's channels by U's, batch as the summed axis, dilated by the stride, then cut to W's size.

        ``G[f, c, i, j] = Σ_n Σ_pq X_padded[n, c, i + sh p, j + sw q] U[n, f, p, q]``.
        """
        (ph, pw), kernel = self.padding, shape_of(self.like)[2:]
        swapped = builder.op(
            "Conv",
            builder.op("Transpose", x, perm=[1, 0, 2, 3]),
            builder.op("Transpose", upstream, perm=[1, 0, 2, 3]),
            kernel_shape=list(self.upstream.shape[2:]),
            dilations=list(self.stride),
            pads=[ph, pw, ph, pw],
        )  # (C, F, kh + extra, kw + extra): a stride leaves rows past the last window
        starts, ends = builder.constant(np.array([0, 0])), builder.constant(np.array(kernel))
        cut = builder.op("Slice", swapped, starts, ends, builder.constant(np.array([2, 3])))
        return builder.op("Transpose", cut, perm=[1, 0, 2, 3])


class MaxPool2DRouteGate(WindowGate):
    """Max pooling's gradient: each window's upstream sent to the pixel of X that won it.

    forward   G = route(U, winners(X))       (shaped like X; summed where windows overlap)
    backward  dL/dU = upstream at the winners (:class:`MaxPool2DGatherGate`)       dL/dX = 0
    jvp       dG = route(dU, winners(X))
    gradient  :class:`MaxPool2DGatherGate` on the upstream; none for X (the winners are flat)

    The winners are found again from X, ties to the first in row-major
    order, as :class:`gates.MaxPool2DGate` chose them.

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    >>> MaxPool2DRouteGate(2).forward(np.ones((1, 1, 1, 1)), x)
    array([[[[0., 1.],
             [0., 0.]]]])
    """

    symbol = "→max"
    short_name = "maxpool_route"
    local_gradient = ("∂{out}/∂{in0} = 1 at each window's arg-max", "")

    def forward(self, upstream, x):
        self.x = np.asarray(x)
        _check_pooled(self, "the upstream (N, C, Ho, Wo)", upstream, self.x.shape)
        self.winner = max_pool_winners(self.x, self.kernel, self.stride).winner
        return route_to_winners(upstream, self.winner, self.x.shape, self.kernel, self.stride)

    def backward(self, grad):
        want_upstream, want_x = self.needs_input_grad
        gathered = gather_at_winners(grad, self.winner, self.kernel, self.stride) if want_upstream else None
        return (gathered, zeros_if(want_x, self.x))

    def jvp(self, tangent_upstream, tangent_x):
        if tangent_upstream is None:
            return zeros_like(self.x)
        return route_to_winners(tangent_upstream, self.winner, self.x.shape, self.kernel, self.stride)

    def gradient(self, grad, output, upstream, x):
        return (apply(MaxPool2DGatherGate(self.kernel, self.stride), grad, x), None)


class MaxPool2DGatherGate(WindowGate):
    """The adjoint of :class:`MaxPool2DRouteGate`: each window's value of V at the pixel of X that won it.

    forward   G = V at winners(X)       (shaped like the pooled output)
    backward  dL/dV = route(upstream, winners(X))       dL/dX = 0
    jvp       dG = dV at winners(X)
    gradient  :class:`MaxPool2DRouteGate` on the upstream; none for X

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    >>> MaxPool2DGatherGate(2).forward(np.array([[[[5.0, 6.0], [7.0, 8.0]]]]), x)
    array([[[[6.]]]])
    """

    symbol = "max→"
    short_name = "maxpool_gather"
    local_gradient = ("∂{out}/∂{in0} = 1 at each window's arg-max", "")

    def forward(self, values, x):
        self.x = np.asarray(x)
        _check_windows(self, self.x.shape)
        _check_shape(self, "values V (shaped like X)", shape_of(values), self.x.shape)
        self.winner = max_pool_winners(self.x, self.kernel, self.stride).winner
        self.output = gather_at_winners(values, self.winner, self.kernel, self.stride)
        return self.output

    def backward(self, grad):
        want_values, want_x = self.needs_input_grad
        routed = route_to_winners(grad, self.winner, self.x.shape, self.kernel, self.stride) if want_values else None
        return (routed, zeros_if(want_x, self.x))

    def jvp(self, tangent_values, tangent_x):
        if tangent_values is None:
            return zeros_like(self.output)
        return gather_at_winners(tangent_values, self.winner, self.kernel, self.stride)

    def gradient(self, grad, output, values, x):
        return (apply(MaxPool2DRouteGate(self.kernel, self.stride), grad, x), None)


class AvgPool2DSpreadGate(WindowGate):
    """Average pooling's gradient: each window's upstream shared equally among its pixels.

    forward   G = col2im(U / (kh kw) copied to every pixel of its window)       (shaped like X)
    backward  dL/dU = avgpool(upstream)       dL/dlike = 0
    jvp       dG = spread(dU)
    gradient  :class:`gates.AvgPool2DGate`, its adjoint

    Examples
    --------
    >>> AvgPool2DSpreadGate(2).forward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)))[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """

    symbol = "spread"
    short_name = "avgpool_spread"
    local_gradient = ("∂{out}/∂{in0} = 1 / (kh kw) on each window's pixels", "")

    def forward(self, upstream, like):
        self.like, self.x_shape = like, shape_of(like)
        _check_pooled(self, "the upstream (N, C, Ho, Wo)", upstream, self.x_shape)
        self.output = spread_over_windows(upstream, self.x_shape, self.kernel, self.stride)
        return self.output

    def backward(self, grad):
        want_upstream, want_like = self.needs_input_grad
        pooled = average_pool(np.asarray(grad), self.kernel, self.stride) if want_upstream else None
        return (pooled, zeros_if(want_like, self.like))

    def jvp(self, tangent_upstream, tangent_like):
        if tangent_upstream is None:
            return zeros_like(self.output)
        return spread_over_windows(tangent_upstream, self.x_shape, self.kernel, self.stride)

    def gradient(self, grad, output, upstream, like):
        return (apply(AvgPool2DGate(self.kernel, self.stride), grad), None)

    def to_onnx(self, builder, upstream, like):
        """A transposed convolution of each channel by a constant kernel of 1 / (kh kw)."""
        channels, (kh, kw) = self.x_shape[1], self.kernel
        out_hw = conv2d_output_hw(self.x_shape, self.kernel, self.stride, (0, 0))
        extra = [self.x_shape[2 + k] - self.kernel[k] - self.stride[k] * (out_hw[k] - 1) for k in (0, 1)]
        weights = builder.constant(np.full((channels, 1, kh, kw), 1 / (kh * kw)))
        return builder.op(
            "ConvTranspose",
            upstream,
            weights,
            group=channels,
            kernel_shape=[kh, kw],
            strides=list(self.stride),
            output_padding=extra,
        )


class DropoutMaskGate(Gate):
    """Dropout's gradient: the upstream times the mask its forward drew, a constant of the pass.

    forward   G = U * M / (1 - p)       (the mask of the dropout gate's last forward; G = U in eval)
    backward  dL/dU = upstream * M / (1 - p)       dL/doutput = 0
    jvp       dG = dU * M / (1 - p)
    gradient  another DropoutMaskGate on the upstream

    ``output``, the dropout node, is an input so that a forward runs the
    dropout (drawing its mask) before this gate reads the mask.

    Examples
    --------
    >>> dropout = DropoutGate(0.5, seed=0)
    >>> output = dropout.forward(np.ones(4))
    >>> DropoutMaskGate(dropout).forward(np.ones(4), output)
    array([2., 0., 0., 0.])
    """

    symbol = "·M"
    short_name = "dropout_mask"
    local_gradient = ("∂{out}/∂{in0} = M / (1 - p)", "")

    def __init__(self, dropout: DropoutGate):
        self.dropout = dropout

    def forward(self, upstream, output):
        self.mask, self.output_value = self.dropout.mask, output
        if self.mask is not None:
            _check_shape(self, "the upstream (shaped like the dropout's output)", shape_of(upstream), self.mask.shape)
        return self._masked(upstream)

    def _masked(self, value):
        return value if self.mask is None else value * self.mask

    def backward(self, grad):
        want_upstream, want_output = self.needs_input_grad
        return (self._masked(grad) if want_upstream else None, zeros_if(want_output, self.output_value))

    def jvp(self, tangent_upstream, tangent_output):
        if tangent_upstream is None:
            return zeros_like(self.output_value)
        return self._masked(tangent_upstream)

    def gradient(self, grad, output, upstream, dropout_output):
        return (apply(DropoutMaskGate(self.dropout), grad, dropout_output), None)

    def to_onnx(self, builder, upstream, output):
        if self.mask is not None:
            raise NotImplementedError(
                "DropoutMaskGate exports dropout's eval mode only: its mask is drawn at each pass"
            )
        return builder.op("Identity", upstream)

    def __repr__(self) -> str:
        return f"DropoutMaskGate({self.dropout!r})"


def _check_mode(gate: Gate, batchnorm: BatchNorm2DGate, training: bool) -> None:
    """Refuse a pass in which the batch norm ran in the other mode than the gradient was built for."""
    if batchnorm.batch_statistics != training:
        built, ran = ("training", "eval") if training else ("eval", "training")
        raise ValueError(
            f"{type(gate).__name__}: this gradient was built for {batchnorm!r} in {built} mode, but the forward ran "
            f"it in {ran} mode; build the gradient again (g.gradient) after switching modes"
        )


class BatchNormModeGate(Gate):
    """The upstream passed through, after checking that the batch norm ran in the mode its gradient was built for.

    forward   G = U        (raises ValueError if the batch norm's last forward ran in the other mode)
    backward  dL/dU = upstream       dL/doutput = 0
    jvp       dG = dU
    gradient  another BatchNormModeGate

    A batch norm's gradient rule differs between training and eval, and a
    model changes modes (``model.train()``, ``model.eval()``) after its
    gradient graph may have been built: this gate turns that mismatch into
    an error where it would be a wrong number.
    """

    symbol = "mode?"
    short_name = "batchnorm_mode"
    local_gradient = ("∂{out}/∂{in0} = 1", "")

    def __init__(self, batchnorm: BatchNorm2DGate, training: bool):
        self.batchnorm, self.training = batchnorm, bool(training)

    def forward(self, upstream, output):
        _check_mode(self, self.batchnorm, self.training)
        _check_shape(self, "the upstream (shaped like the batch norm's output)", shape_of(upstream), shape_of(output))
        self.upstream, self.output_value = upstream, output
        return upstream

    def backward(self, grad):
        want_upstream, want_output = self.needs_input_grad
        return (grad if want_upstream else None, zeros_if(want_output, self.output_value))

    def jvp(self, tangent_upstream, tangent_output):
        return zeros_like(self.upstream) if tangent_upstream is None else tangent_upstream

    def gradient(self, grad, output, upstream, batchnorm_output):
        return (apply(BatchNormModeGate(self.batchnorm, self.training), grad, batchnorm_output), None)

    def to_onnx(self, builder, upstream, output):
        return builder.op("Identity", upstream)

    def __repr__(self) -> str:
        return f"BatchNormModeGate({self.batchnorm!r}, training={self.training})"


class BatchNormEvalGate(Gate):
    """A batch norm's normalisation in eval mode, with the running statistics its forward used.

    forward   centre:  G = (V - running_mean) s       else:  G = V s       s = 1 / sqrt(running_var + eps)
              (per channel; raises ValueError if the batch norm's last forward ran in training mode)
    backward  dL/dV = upstream s       dL/doutput = 0
    jvp       dG = dV s
    gradient  a BatchNormEvalGate without centring on the upstream

    With ``centre`` it gives X̂ from X; without, the factor s that
    dL/dX = γ s upstream needs.
    """

    short_name = "batchnorm_eval"
    local_gradient = ("∂{out}/∂{in0} = s", "")

    def __init__(self, batchnorm: BatchNorm2DGate, centre: bool = True):
        self.batchnorm, self.centre = batchnorm, bool(centre)

    @property
    def symbol(self) -> str:  # type: ignore[override]  # read-only here: computed from the arguments
        return "(·-μ)·s" if self.centre else "·s"

    def forward(self, value, output):
        _check_mode(self, self.batchnorm, False)
        _check_shape(self, "V (shaped like the batch norm's output)", shape_of(value), shape_of(output))
        self.scale, self.output_value = self.batchnorm.scale[:, np.newaxis, np.newaxis], output
        self.mean = self.batchnorm.running_mean.astype(self.scale.dtype)[:, np.newaxis, np.newaxis]
        self.output = (value - self.mean if self.centre else np.asarray(value)) * self.scale
        return self.output

    def backward(self, grad):
        want_value, want_output = self.needs_input_grad
        return (grad * self.scale if want_value else None, zeros_if(want_output, self.output_value))

    def jvp(self, tangent_value, tangent_output):
        return zeros_like(self.output) if tangent_value is None else tangent_value * self.scale

    def gradient(self, grad, output, value, batchnorm_output):
        return (apply(BatchNormEvalGate(self.batchnorm, centre=False), grad, batchnorm_output), None)

    def to_onnx(self, builder, value, output):
        scale = builder.constant(self.scale)
        if self.centre:
            value = builder.op("Sub", value, builder.constant(self.mean))
        return builder.op("Mul", value, scale)

    def __repr__(self) -> str:
        return f"BatchNormEvalGate({self.batchnorm!r}, centre={self.centre})"
