"""Image gates, NCHW as in PyTorch: convolution, pooling, dropout, batch normalisation, flatten.

Images are ``(N, C, H, W)`` arrays: N examples of C channels of H x W pixels.
The convolution and the pooling gates share two module functions:
:func:`im2col` views every kernel-sized window of an image at once (numpy
stride tricks, no copy), so that a convolution becomes one matrix product;
:func:`col2im` is its adjoint, summing window gradients back onto the pixels
they came from. :func:`conv2d_naive` is the same convolution as four plain
loops, for reading and for tests.

The gates with a training and an evaluation mode (:class:`DropoutGate`,
:class:`BatchNorm2DGate`) have a ``training`` attribute; the graph never
reads it, models set it (``model.train()``, ``model.eval()``).
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gates.base import Gate, real_number, tangent_sum
from gates.gradient import ReshapeLikeGate, apply

__all__ = [
    "Conv2DGate",
    "WindowGate",
    "MaxPool2DGate",
    "AvgPool2DGate",
    "DropoutGate",
    "BatchNorm2DGate",
    "FlattenGate",
    "im2col",
    "col2im",
    "conv2d_naive",
    "pool_output_size",
    "pair",
    "conv2d_columns",
    "conv2d_input_gradient",
    "conv2d_weight_gradient",
    "conv2d_output_hw",
    "PoolWinners",
    "max_pool_winners",
    "route_to_winners",
    "gather_at_winners",
    "average_pool",
    "spread_over_windows",
]

Pair = tuple[int, int]


def pool_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Output length along one axis of a convolution or pooling window, PyTorch's floor mode.

    ``floor((size + 2 padding - kernel) / stride) + 1``: the windows that fit
    wholly inside the padded input; a partial window at the end is dropped.

    >>> pool_output_size(28, 3, 1, 1), pool_output_size(28, 2, 2), pool_output_size(7, 2, 2)
    (28, 14, 3)
    """
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x: np.ndarray, kernel: Pair, stride: Pair = (1, 1), padding: Pair = (0, 0)) -> np.ndarray:
    """Every window of ``x`` as a read-only view of shape ``(N, C, kh, kw, Ho, Wo)``.

    ``windows[n, c, i, j, p, q] = x_padded[n, c, p * sh + i, q * sw + j]``:
    for each kernel offset ``(i, j)``, the pixels it meets at every output
    position ``(p, q)``. Zero padding is the only copy; the windows are a
    strided view of the padded input, which a convolution reshapes (one copy)
    into the ``(C kh kw, Ho Wo)`` matrix it multiplies by the weights.

    Parameters
    ----------
    x : array (N, C, H, W)
    kernel, stride, padding : pairs of int
        Window height and width, step between windows, zeros added on each side.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> windows = im2col(x, (2, 2), stride=(2, 2))
    >>> windows.shape
    (1, 1, 2, 2, 2, 2)
    >>> windows[0, 0, :, :, 0, 1]          # the top-right 2x2 window
    array([[2., 3.],
           [6., 7.]])
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        padded[:, :, ph : ph + h, pw : pw + w] = x
        x = padded
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    return windows.transpose(0, 1, 4, 5, 2, 3)


def col2im(windows: np.ndarray, x_shape: tuple[int, ...], stride: Pair = (1, 1), padding: Pair = (0, 0)):
    """The adjoint of :func:`im2col`: sum each window's values onto the pixels it covers.

    ``windows`` has :func:`im2col`'s shape ``(N, C, kh, kw, Ho, Wo)``; the
    result has ``x_shape``. A pixel inside several windows (stride smaller
    than the kernel) receives the sum of their entries, which is what the
    chain rule asks of a gradient. One vectorised add per kernel offset
    (``kh * kw`` of them), none per output position.

    Examples
    --------
    >>> ones = np.ones((1, 1, 2, 2, 2, 2))     # 2x2 windows, stride 1, on a 3x3 image
    >>> col2im(ones, (1, 1, 3, 3))[0, 0]       # how many windows cover each pixel
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    kh, kw, ho, wo = windows.shape[2:]
    return _scatter(lambda i, j: windows[:, :, i, j], x_shape, (kh, kw), (ho, wo), stride, padding, windows.dtype)


class PoolWinners(NamedTuple):
    """What max pooling finds in each window: its maximum and which pixel holds it."""

    maximum: np.ndarray  # (N, C, Ho, Wo)
    winner: np.ndarray  # (N, C, Ho, Wo): the row-major offset number i kw + j of the window's first maximum


def max_pool_winners(x: np.ndarray, kernel: Pair, stride: Pair) -> PoolWinners:
    """Each window's maximum and its arg-max (the first in row-major order on a tie; NaN wins, as in PyTorch).

    >>> found = max_pool_winners(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]), (2, 2), (2, 2))
    >>> found.maximum[0, 0], found.winner[0, 0]
    (array([[3.]]), array([[1]], dtype=uint8))
    """
    # Each kernel offset's pixels as one contiguous (N, C, Ho, Wo) block: one copy, then fast passes.
    windows = np.ascontiguousarray(im2col(x, kernel, stride).transpose(2, 3, 0, 1, 4, 5))
    pixels = windows.reshape(-1, *windows.shape[2:])
    best = pixels[0].copy()
    # The winner is the offset number (row-major) of the last strictly larger pixel met, so a tie
    # stays with the first; NaN propagates through np.maximum, as in PyTorch.
    winner = np.zeros(best.shape, dtype=np.min_scalar_type(len(pixels)))
    for number in range(1, len(pixels)):
        better = pixels[number] > best
        np.maximum(best, pixels[number], out=best)
        np.maximum(winner, better * winner.dtype.type(number), out=winner)
    return PoolWinners(best, winner)


def route_to_winners(upstream, winner: np.ndarray, x_shape: tuple[int, ...], kernel: Pair, stride: Pair):
    """Max pooling's backward: each window's upstream sent to its winning pixel (summed where windows overlap).

    >>> route_to_winners(np.ones((1, 1, 1, 1)), np.array([[[[1]]]]), (1, 1, 2, 2), (2, 2), (2, 2))[0, 0]
    array([[0., 1.],
           [0., 0.]])
    """
    upstream = np.asarray(upstream)
    kw = kernel[1]
    routed = lambda i, j: upstream * (winner == i * kw + j)  # noqa: E731
    return _scatter(routed, x_shape, kernel, upstream.shape[2:], stride, (0, 0), upstream.dtype)


def gather_at_winners(values, winner: np.ndarray, kernel: Pair, stride: Pair):
    """The adjoint of :func:`route_to_winners`: each window's winning pixel of ``values`` (shaped like X).

    >>> gather_at_winners(np.arange(4.0).reshape(1, 1, 2, 2), np.array([[[[2]]]]), (2, 2), (2, 2))
    array([[[[2.]]]])
    """
    windows = im2col(np.asarray(values), kernel, stride)
    kw = kernel[1]
    return sum(
        np.where(winner == i * kw + j, windows[:, :, i, j], np.zeros((), windows.dtype)) for i, j in np.ndindex(*kernel)
    )


def _scatter(window_values, x_shape, kernel: Pair, out_hw: Pair, stride: Pair, padding: Pair, dtype) -> np.ndarray:
    """col2im's loop, with the values of kernel offset (i, j) given by ``window_values(i, j)`` (N, C, Ho, Wo)."""
    (kh, kw), (ho, wo), (sh, sw), (ph, pw) = kernel, out_hw, stride, padding
    n, c, h, w = x_shape
    # Windows that tile the padded image exactly (2x2 pooling of an even image) hold every pixel once:
    # each offset's values can be written, not added, into an image that needs no zeros first.
    tiled = (sh, sw) == (kh, kw) and (sh * ho, sw * wo) == (h + 2 * ph, w + 2 * pw)
    image = (np.empty if tiled else np.zeros)((n, c, h + 2 * ph, w + 2 * pw), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            pixels = image[:, :, i : i + sh * ho : sh, j : j + sw * wo : sw]
            if tiled:
                pixels[...] = window_values(i, j)
            else:
                pixels += window_values(i, j)
    return image[:, :, ph : ph + h, pw : pw + w] if ph or pw else image


def conv2d_columns(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """im2col's windows as the matrices a convolution multiplies: ``(N, C kh kw, Ho Wo)``, one copy.

    >>> conv2d_columns(np.ones((2, 3, 4, 4)), (3, 3), (1, 1), (0, 0)).shape
    (2, 27, 4)
    """
    windows = im2col(x, kernel, stride, padding)
    n, c, kh, kw, ho, wo = windows.shape
    return np.ascontiguousarray(windows).reshape(n, c * kh * kw, ho * wo)


def conv2d_input_gradient(upstream, w, x_shape: tuple[int, ...], stride: Pair, padding: Pair) -> np.ndarray:
    """dL/dX of a convolution from the upstream ``(N, F, Ho, Wo)`` and the filters ``W``: a transposed convolution.

    ``col2im(W_matᵀ @ upstream[n])``, summed onto the pixels of ``x_shape``.
    With stride 1 it is the "full" correlation of the upstream with the
    filters flipped and their two channel axes swapped: one im2col and one
    matrix product, no scatter.

    >>> conv2d_input_gradient(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), (1, 1, 3, 3), (1, 1), (0, 0))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    upstream, w = np.asarray(upstream), np.asarray(w)
    (kh, kw), (ph, pw) = w.shape[2:], padding
    n, f = upstream.shape[:2]
    if stride == (1, 1) and ph < kh and pw < kw:
        flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(w.shape[1], -1)  # (C, F kh kw)
        cols = np.ascontiguousarray(im2col(upstream, (kh, kw), padding=(kh - 1 - ph, kw - 1 - pw)))
        return np.matmul(flipped, cols.reshape(n, flipped.shape[1], -1)).reshape(x_shape)
    grad_cols = np.matmul(w.reshape(f, -1).T, upstream.reshape(n, f, -1))
    return col2im(grad_cols.reshape(n, *w.shape[1:], *upstream.shape[2:]), x_shape, stride, padding)


def conv2d_weight_gradient(upstream, cols: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    """dL/dW of a convolution: ``Σ_n upstream[n] @ cols(X)[n]ᵀ``, with ``cols`` from :func:`conv2d_columns`.

    >>> cols = conv2d_columns(np.ones((1, 1, 3, 3)), (2, 2), (1, 1), (0, 0))
    >>> conv2d_weight_gradient(np.ones((1, 1, 2, 2)), cols, (1, 1, 2, 2))[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    upstream = np.reshape(upstream, (len(cols), w_shape[0], -1))
    # per example (F, Ho Wo) @ (Ho Wo, C kh kw), summed: BLAS reads the transposed cols in place
    return np.matmul(upstream, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)


def conv2d_output_hw(x_shape: tuple[int, ...], kernel, stride: Pair, padding: Pair) -> Pair:
    """``(Ho, Wo)`` of a convolution or pooling of images of ``x_shape``, PyTorch's floor mode.

    >>> conv2d_output_hw((2, 3, 28, 28), (3, 3), (1, 1), (1, 1))
    (28, 28)
    """
    return (
        pool_output_size(x_shape[2], kernel[0], stride[0], padding[0]),
        pool_output_size(x_shape[3], kernel[1], stride[1], padding[1]),
    )


def conv2d_naive(x, w, b, stride: int | Pair = 1, padding: int | Pair = 0) -> np.ndarray:
    """The convolution as the definition writes it, one output number at a time (slow; for reading and tests).

    ``z[n, f, p, q] = b[f] + Σ_c Σ_i Σ_j w[f, c, i, j] x_padded[n, c, p sh + i, q sw + j]``

    (a cross-correlation, as in every deep learning library). :class:`Conv2DGate`
    computes the same numbers with one matrix product.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_naive(x, np.ones((1, 1, 2, 2)), np.zeros(1))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    (sh, sw), (ph, pw) = pair(stride, "stride", "conv2d_naive", 1), pair(padding, "padding", "conv2d_naive", 0)
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    padded = np.zeros((n, c, h + 2 * ph, width + 2 * pw), dtype=np.result_type(x, w))
    padded[:, :, ph : ph + h, pw : pw + width] = x
    ho, wo = pool_output_size(h, kh, sh, ph), pool_output_size(width, kw, sw, pw)
    z = np.zeros((n, f, ho, wo), dtype=padded.dtype)
    for example in range(n):
        for feature in range(f):
            for p in range(ho):
                for q in range(wo):
                    window = padded[example, :, p * sh : p * sh + kh, q * sw : q * sw + kw]
                    z[example, feature, p, q] = np.sum(window * w[feature]) + b[feature]
    return z


class Conv2DGate(Gate):
    """2-D convolution (cross-correlation) of images with F filters, by im2col and one matrix product.

    forward   Z[n, f] = Σ_c W[f, c] ⋆ X[n, c] + b[f]
              as matrices: Z[n] = W_mat @ cols(X)[n] + b,
              W_mat = W.reshape(F, C kh kw), cols(X)[n]: (C kh kw, Ho Wo) from im2col
    backward  dL/dW = Σ_n upstream[n] @ cols(X)[n]ᵀ          (reshaped to W's shape)
              dL/db = Σ_{n, p, q} upstream[n, f, p, q]
              dL/dX = col2im(W_matᵀ @ upstream[n])           (summed onto the pixels)
                    = the full correlation of upstream with W flipped, channels swapped (stride 1)
    jvp       dZ = conv(dX, W) + conv(X, dW) + db

    Shapes: ``X (N, C, H, W)``, ``W (F, C, kh, kw)``, ``b (F,)``, ``Z (N, F, Ho, Wo)``
    with ``Ho = floor((H + 2 ph - kh) / sh) + 1`` (and Wo likewise), as
    PyTorch's ``conv2d``.

    Parameters
    ----------
    stride : int or pair of int, default 1
        Step between windows, (vertical, horizontal).
    padding : int or pair of int, default 0
        Zeros added above and below, left and right.

    Examples
    --------
    >>> gate = Conv2DGate(padding=1)
    >>> x, w, b = np.ones((2, 3, 4, 4)), np.ones((5, 3, 3, 3)), np.zeros(5)
    >>> z = gate.forward(x, w, b)
    >>> z.shape, z[0, 0, 0, 0], z[0, 0, 1, 1]      # a corner window meets 2x2 pixels per channel
    ((2, 5, 4, 4), np.float64(12.0), np.float64(27.0))
    >>> [grad.shape for grad in gate.backward(np.ones_like(z))]
    [(2, 3, 4, 4), (5, 3, 3, 3), (5,)]
    """

    symbol = "conv"
    short_name = "conv"
    local_gradient: str | tuple[str, ...] = (  # a tuple of any length: Conv2DNoBiasGate has two inputs
        "∂{out}/∂{in0} = {in1} (summed by col2im)",
        "∂{out}/∂{in1} = im2col({in0})",
        "∂{out}/∂{in2} = 1",
    )
    pattern = "a linear layer on every window: the same weights slide over the image"

    def __init__(self, stride: int | Pair = 1, padding: int | Pair = 0):
        self.stride = pair(stride, "stride", type(self).__name__, 1)
        self.padding = pair(padding, "padding", type(self).__name__, 0)

    def forward(self, x, w, b):
        x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
        _check_images(x, self, "X")
        if w.ndim != 4 or w.shape[1] != x.shape[1] or b.shape != (w.shape[0],):
            raise ValueError(
                f"Conv2DGate takes X (N, C, H, W), W (F, C, kh, kw) and b (F,) with the same C and F; got X {x.shape}, "
                f"W {w.shape}, b {b.shape}: the filters' channels must equal the images' "
                f"(W.shape[1] = {w.shape[1] if w.ndim > 1 else '?'}, X.shape[1] = {x.shape[1]})"
            )
        _check_window(x.shape, w.shape[2:], self.padding, self)
        cols = conv2d_columns(x, w.shape[2:], self.stride, self.padding)
        if self.backward_follows:
            self.cols, self.x_shape, self.w = cols, x.shape, w
        z = np.matmul(w.reshape(len(w), -1), cols)
        z += b[:, np.newaxis].astype(z.dtype, copy=False)
        return z.reshape(len(x), len(w), *conv2d_output_hw(x.shape, w.shape[2:], self.stride, self.padding))

    def backward(self, upstream):
        want_x, want_w, want_b = self.needs_input_grad
        w, cols = self.w, self.cols
        n, f = len(cols), len(w)
        upstream = np.reshape(upstream, (n, f, *self._output_hw()))
        grad_x = conv2d_input_gradient(upstream, w, self.x_shape, self.stride, self.padding) if want_x else None
        grad_w = conv2d_weight_gradient(upstream, cols, w.shape) if want_w else None
        grad_b = upstream.sum(axis=(0, 2, 3)) if want_b else None
        return grad_x, grad_w, grad_b

    def _output_hw(self) -> Pair:
        return conv2d_output_hw(self.x_shape, self.w.shape[2:], self.stride, self.padding)

    def jvp(self, tangent_x, tangent_w, tangent_b):
        w, cols = self.w, self.cols
        n, f = len(cols), len(w)
        shape = (n, f, *self._output_hw())
        through_x = through_w = None
        if tangent_x is not None:
            tangent_cols = conv2d_columns(np.asarray(tangent_x), w.shape[2:], self.stride, self.padding)
            through_x = np.matmul(w.reshape(f, -1), tangent_cols).reshape(shape)
        if tangent_w is not None:
            through_w = np.matmul(np.reshape(tangent_w, (f, -1)), cols).reshape(shape)
        bias = None if tangent_b is None else np.reshape(tangent_b, (f, 1, 1))
        return tangent_sum(shape, through_x, through_w, bias)

    def gradient(self, upstream, output, x, w, b):
        from gates.conv_gradient import convolution_gradients  # that module builds on this one

        grad_x, grad_w = convolution_gradients(self, upstream, x, w)
        return grad_x, grad_w, upstream.sum((0, 2, 3)) if self.needs_input_grad[2] else None

    def to_onnx(self, builder, x, w, b):
        (ph, pw), kernel = self.padding, list(self.w.shape[2:])
        return builder.op("Conv", x, w, b, kernel_shape=kernel, strides=list(self.stride), pads=[ph, pw, ph, pw])

    def __repr__(self) -> str:
        return f"Conv2DGate(stride={self.stride}, padding={self.padding})"


class WindowGate(Gate):
    """A gate that slides a pooling window: its kernel and stride (by default the kernel), checked once.

    The pooling gates and their gradient gates (gates/conv_gradient.py) share it.
    """

    def __init__(self, kernel: int | Pair, stride: int | Pair | None = None):
        name = type(self).__name__
        self.kernel = pair(kernel, "kernel", name, 1)
        self.stride = self.kernel if stride is None else pair(stride, "stride", name, 1)

    def images(self, x) -> np.ndarray:
        """``x`` as an array of images (N, C, H, W) at least as large as the window, or a ValueError naming the gate."""
        x = np.asarray(x)
        _check_images(x, self, "X")
        _check_window(x.shape, self.kernel, (0, 0), self)
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel={self.kernel}, stride={self.stride})"


class MaxPool2DGate(WindowGate):
    """Max pooling: the largest value of each window; a gradient router, like ``max``.

    forward   Z[n, c, p, q] = max_{i, j} X[n, c, p sh + i, q sw + j]
    backward  dL/dX = upstream sent to the arg-max pixel of each window (summed where windows overlap)
    jvp       dZ = dX at each window's arg-max

    Tie policy: where a window's maximum appears more than once, the whole
    gradient goes to the first of them in row-major order (top row first,
    then left to right), so no gradient is lost or counted twice. PyTorch
    documents no tie rule. A window holding NaN gives NaN, as in PyTorch.

    Output sizes as PyTorch's ``max_pool2d`` (floor mode, no padding):
    ``Ho = floor((H - kh) / sh) + 1``.

    Parameters
    ----------
    kernel : int or pair of int
        Window height and width.
    stride : int or pair of int, optional
        Step between windows; by default the kernel (windows that tile the image).

    Examples
    --------
    >>> gate = MaxPool2DGate(2)
    >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])      # a tie between 3 and 3
    >>> gate.forward(x)
    array([[[[3.]]]])
    >>> gate.backward(np.ones((1, 1, 1, 1)))[0]          # to the first 3 only
    array([[[[0., 1.],
             [0., 0.]]]])
    """

    symbol = "maxpool"
    short_name = "maxpool"
    local_gradient = ("∂{out}/∂{in0} = 1 at each window's arg-max, 0 elsewhere",)
    pattern = "gradient router: each window sends its upstream gradient to its largest pixel only"

    def forward(self, x):
        x = self.images(x)
        self.maximum, self.winner = max_pool_winners(x, self.kernel, self.stride)
        self.x_shape = x.shape
        return self.maximum

    def backward(self, upstream):
        return (route_to_winners(upstream, self.winner, self.x_shape, self.kernel, self.stride),)

    def jvp(self, tangent_x):
        return gather_at_winners(tangent_x, self.winner, self.kernel, self.stride)

    def gradient(self, upstream, output, x):
        from gates.conv_gradient import MaxPool2DRouteGate  # that module builds on this one

        return (apply(MaxPool2DRouteGate(self.kernel, self.stride), upstream, x),)

    def to_onnx(self, builder, x):
        return builder.op("MaxPool", x, kernel_shape=list(self.kernel), strides=list(self.stride))


class AvgPool2DGate(WindowGate):
    """Average pooling: the mean of each window.

    forward   Z[n, c, p, q] = (1 / (kh kw)) Σ_{i, j} X[n, c, p sh + i, q sw + j]
    backward  dL/dX = col2im(upstream / (kh kw) copied to every pixel of its window)
    jvp       dZ = avgpool(dX)

    Output sizes as PyTorch's ``avg_pool2d`` (floor mode, no padding).

    Parameters
    ----------
    kernel : int or pair of int
    stride : int or pair of int, optional
        By default the kernel.

    Examples
    --------
    >>> gate = AvgPool2DGate(2)
    >>> gate.forward(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    >>> gate.backward(np.ones((1, 1, 2, 2)))[0][0, 0, 0]
    array([0.25, 0.25, 0.25, 0.25])
    """

    symbol = "avgpool"
    short_name = "avgpool"
    local_gradient = ("∂{out}/∂{in0} = 1 / (kh kw) on each window's pixels",)
    pattern = "gradient distributor: each window shares its upstream gradient equally among its pixels"

    def forward(self, x):
        x = self.images(x)
        self.x_shape = x.shape
        return average_pool(x, self.kernel, self.stride)

    def backward(self, upstream):
        return (spread_over_windows(upstream, self.x_shape, self.kernel, self.stride),)

    def jvp(self, tangent_x):
        return average_pool(np.asarray(tangent_x), self.kernel, self.stride)

    def gradient(self, upstream, output, x):
        from gates.conv_gradient import AvgPool2DSpreadGate  # that module builds on this one

        return (apply(AvgPool2DSpreadGate(self.kernel, self.stride), upstream, x),)

    def to_onnx(self, builder, x):
        return builder.op("AveragePool", x, kernel_shape=list(self.kernel), strides=list(self.stride))


class DropoutGate(Gate):
    """Inverted dropout: in training, zero each element with probability p and scale the rest by 1 / (1 - p).

    forward   training: Z = X * M / (1 - p),  M[i] ~ Bernoulli(1 - p), a new mask each forward
              eval:     Z = X
    backward  dL/dX = upstream * M / (1 - p)   (eval: upstream)
    jvp       dZ = dX * M / (1 - p)            (eval: dX)

    Scaling at training time keeps each element's expected value, so the
    network needs no change at evaluation, where dropout is the identity.
    The mask of the last forward is kept (``gate.mask``, None in eval) for
    backward and jvp.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping an element.
    seed : int or numpy Generator, optional
        Seeds the masks: the same seed gives the same sequence of masks.
    training : bool, default True
        The mode; a model sets it with ``train()`` and ``eval()``.

    Examples
    --------
    >>> gate = DropoutGate(0.5, seed=0)
    >>> gate.forward(np.ones(6))
    array([2., 0., 0., 0., 2., 2.])
    >>> gate.backward(np.ones(6))[0]
    array([2., 0., 0., 0., 2., 2.])
    >>> gate.training = False
    >>> gate.forward(np.ones(3))
    array([1., 1., 1.])
    """

    symbol = "dropout"
    short_name = "dropout"
    local_gradient = ("∂{out}/∂{in0} = M / (1 - p) (training), 1 (eval)",)
    pattern = "gradient gate: passes the gradient where the mask kept the element, scaled by 1 / (1 - p)"

    def __init__(self, p: float = 0.5, *, seed: int | np.random.Generator | None = None, training: bool = True):
        p = real_number(p, self, "p")
        if not 0 <= p < 1:
            raise ValueError(f"DropoutGate p is the probability of dropping an element, in [0, 1); got {p}")
        self.p, self.training = p, training
        self.rng = np.random.default_rng(seed)
        self.mask: np.ndarray | None = None

    def forward(self, x):
        x = np.asarray(x)
        if not self.training or self.p == 0:
            self.mask = None
            return x
        kept = self.rng.random(x.shape) >= self.p
        self.mask = kept * np.asarray(1 / (1 - self.p), dtype=_float_dtype(x))
        return x * self.mask

    def backward(self, upstream):
        return (upstream if self.mask is None else upstream * self.mask,)

    def jvp(self, tangent_x):
        return tangent_x if self.mask is None else tangent_x * self.mask

    def gradient(self, upstream, output, x):
        from gates.conv_gradient import DropoutMaskGate  # that module builds on this one

        return (apply(DropoutMaskGate(self), upstream, output),)

    def to_onnx(self, builder, x):
        if self.training and self.p > 0:
            raise NotImplementedError(
                "DropoutGate exports its eval mode only (the identity); set training = False, e.g. model.eval()"
            )
        return builder.op("Identity", x)

    def __repr__(self) -> str:
        return f"DropoutGate(p={self.p}, training={self.training})"


class BatchNorm2DGate(Gate):
    """Batch normalisation of each channel, as PyTorch's ``BatchNorm2d``.

    forward   training: μ, σ² = mean and biased variance of X[:, c] over (N, H, W)
                        X̂ = (X - μ) / sqrt(σ² + eps);  Z = γ X̂ + β
                        running_mean ← (1 - m) running_mean + m μ
                        running_var  ← (1 - m) running_var  + m σ² n / (n - 1)   (unbiased, n = N H W)
              eval:     X̂ = (X - running_mean) / sqrt(running_var + eps);  Z = γ X̂ + β
    backward  training: dL/dX = (γ / sqrt(σ² + eps)) (g - mean(g) - X̂ mean(g X̂)),  g = upstream
              eval:     dL/dX = γ upstream / sqrt(running_var + eps)
              dL/dγ = Σ upstream X̂,  dL/dβ = Σ upstream   (sums over N, H, W)
    jvp       training: dZ = γ s (dX - mean(dX) - X̂ mean(dX X̂)) + dγ X̂ + dβ,  s = 1 / sqrt(σ² + eps)

    In training the statistics are the batch's own, so every example's
    output depends on the whole batch (hence the two mean terms of dL/dX);
    in eval they are constants. The running statistics live on the gate
    (``running_mean``, ``running_var``, of ``dtype``) and change at every
    training forward, as in PyTorch.

    Parameters
    ----------
    num_features : int
        Channels C.
    momentum : float, default 0.1
    eps : float, default 1e-5
    training : bool, default True
    dtype : numpy float dtype, default float64
        Of the running statistics.

    Examples
    --------
    >>> gate = BatchNorm2DGate(1)
    >>> x = np.array([1.0, 2.0, 3.0, 6.0]).reshape(4, 1, 1, 1)
    >>> gate.forward(x, np.ones(1), np.zeros(1)).ravel().round(4)
    array([-1.069 , -0.5345,  0.    ,  1.6036])
    >>> gate.running_mean, gate.running_var.round(4)
    (array([0.3]), array([1.3667]))
    """

    symbol = "batchnorm"
    short_name = "batchnorm"
    local_gradient = ("∂{out}/∂{in0} = {in1} s (1 - 1/n - X̂ X̂ᵀ/n)", "∂{out}/∂{in1} = X̂", "∂{out}/∂{in2} = 1")

    def __init__(
        self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5, training: bool = True, dtype=np.float64
    ):
        if not isinstance(num_features, numbers.Integral) or num_features < 1:
            raise ValueError(f"BatchNorm2DGate num_features is a number of channels >= 1, got {num_features!r}")
        momentum, eps = real_number(momentum, self, "momentum"), real_number(eps, self, "eps")
        if not 0 <= momentum <= 1 or eps <= 0:
            raise ValueError(
                f"BatchNorm2DGate needs momentum in [0, 1] and eps > 0, got momentum={momentum}, eps={eps}"
            )
        self.num_features: int = int(num_features)
        self.momentum: float = float(momentum)
        self.eps: float = float(eps)
        self.training: bool = bool(training)
        self.running_mean: np.ndarray = np.zeros(self.num_features, dtype=dtype)
        self.running_var: np.ndarray = np.ones(self.num_features, dtype=dtype)

    def forward(self, x, gamma, beta):
        x, gamma, beta = np.asarray(x), np.asarray(gamma), np.asarray(beta)
        _check_images(x, self, "X")
        c = self.num_features
        if x.shape[1] != c or gamma.shape != (c,) or beta.shape != (c,):
            raise ValueError(
                f"BatchNorm2DGate of {c} channels takes X (N, {c}, H, W), gamma ({c},) and beta ({c},); "
                f"got X {x.shape}, gamma {gamma.shape}, beta {beta.shape}"
            )
        dtype = _float_dtype(x)
        n = x.shape[0] * x.shape[2] * x.shape[3]
        if self.training:
            if n < 2:
                raise ValueError(
                    f"BatchNorm2DGate in training needs more than one value per channel, got X {x.shape}: "
                    "use a larger batch, or eval mode"
                )
            mean = x.mean(axis=(0, 2, 3), dtype=dtype)
            centred = x - mean[:, np.newaxis, np.newaxis]
            variance = np.mean(np.square(centred), axis=(0, 2, 3))
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * variance * (n / (n - 1))
        else:
            centred = x - self.running_mean.astype(dtype)[:, np.newaxis, np.newaxis]
            variance = self.running_var.astype(dtype)
        self.scale = (1 / np.sqrt(variance + np.asarray(self.eps, dtype))).astype(dtype)  # s = 1 / sqrt(σ² + eps)
        centred *= self.scale[:, np.newaxis, np.newaxis]  # in place: the centred copy becomes X̂
        self.x_hat, self.gamma, self.batch_statistics = centred, gamma, self.training
        z = self.x_hat * gamma[:, np.newaxis, np.newaxis]
        z += beta[:, np.newaxis, np.newaxis]
        return z

    def backward(self, upstream):
        upstream = np.asarray(upstream)
        want_x, want_gamma, want_beta = self.needs_input_grad
        # Σ g X̂ and Σ g per channel are dL/dγ and dL/dβ, and also the two means dL/dX needs.
        sum_gx = np.sum(upstream * self.x_hat, axis=(0, 2, 3)) if want_gamma or want_x else None
        sum_g = upstream.sum(axis=(0, 2, 3)) if want_beta or want_x else None
        grad_x = self._through_x(upstream, self.gamma, sum_g, sum_gx) if want_x else None
        return grad_x, sum_gx if want_gamma else None, sum_g if want_beta else None

    def _through_x(self, g, gamma, sum_g=None, sum_gx=None):
        """γ d X̂ / d X applied to ``g`` (the map is symmetric: the same for backward and jvp).

        Training: γ s (g - mean(g) - X̂ mean(g X̂)); eval: γ s g. The sums over
        (N, H, W) may be given when the caller has them already.
        """
        factor = (self.scale * gamma)[:, np.newaxis, np.newaxis]
        if not self.batch_statistics:
            return g * factor
        n = g.size // len(gamma)
        sum_g = g.sum(axis=(0, 2, 3)) if sum_g is None else sum_g
        sum_gx = np.sum(g * self.x_hat, axis=(0, 2, 3)) if sum_gx is None else sum_gx
        result = self.x_hat * (-sum_gx / n)[:, np.newaxis, np.newaxis]
        result += g
        result -= (sum_g / n)[:, np.newaxis, np.newaxis]
        result *= factor
        return result

    def jvp(self, tangent_x, tangent_gamma, tangent_beta):
        channel = (slice(None), np.newaxis, np.newaxis)
        return tangent_sum(
            self.x_hat.shape,
            None if tangent_x is None else self._through_x(np.asarray(tangent_x), self.gamma),
            None if tangent_gamma is None else np.asarray(tangent_gamma)[channel] * self.x_hat,
            None if tangent_beta is None else np.asarray(tangent_beta)[channel],
        )

    def gradient(self, upstream, output, x, gamma, beta):
        """The backward above written with gates; X̂ and s recomputed from X in training, read from the gate in eval."""
        from gates.conv_gradient import BatchNormEvalGate, BatchNormModeGate  # that module builds on this one

        want_x, want_gamma, want_beta = self.needs_input_grad
        axes = (0, 2, 3)
        g = apply(BatchNormModeGate(self, self.training), upstream, output)
        grad_x = grad_gamma = None
        grad_beta = g.sum(axes) if want_beta else None
        if self.training and (want_x or want_gamma):
            centred = x - x.mean(axes, keepdims=True)
            scale = ((centred * centred).mean(axes, keepdims=True) + self.eps) ** -0.5
            x_hat = centred * scale
            grad_gamma = (g * x_hat).sum(axes) if want_gamma else None
            if want_x:
                g = g * gamma.reshape(-1, 1, 1)
                grad_x = scale * (g - g.mean(axes, keepdims=True) - x_hat * (g * x_hat).mean(axes, keepdims=True))
        elif not self.training:
            if want_gamma:
                grad_gamma = (g * apply(BatchNormEvalGate(self), x, output)).sum(axes)
            if want_x:
                grad_x = apply(BatchNormEvalGate(self, centre=False), g * gamma.reshape(-1, 1, 1), output)
        return grad_x, grad_gamma, grad_beta

    def to_onnx(self, builder, x, gamma, beta):
        if self.training:
            raise NotImplementedError(
                "BatchNorm2DGate exports its eval mode only (running statistics); set training = False, "
                "e.g. model.eval()"
            )
        mean, var = builder.constant(self.running_mean), builder.constant(self.running_var)
        return builder.op("BatchNormalization", x, gamma, beta, mean, var, epsilon=self.eps, momentum=1 - self.momentum)

    def __repr__(self) -> str:
        return (
            f"BatchNorm2DGate({self.num_features}, momentum={self.momentum}, eps={self.eps}, training={self.training})"
        )


class FlattenGate(Gate):
    """Each example's values in one row: ``(N, d1, d2, ...)`` to ``(N, d1 d2 ...)``, in C order.

    A 1-D input ``(N,)`` becomes a column ``(N, 1)``, as ONNX's Flatten does.

    forward   Z = reshape(X, (N, -1))
    backward  dL/dX = reshape(upstream, X.shape)
    jvp       dZ = reshape(dX, (N, -1))

    Examples
    --------
    >>> FlattenGate().forward(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    symbol = "flatten"
    short_name = "flatten"
    local_gradient = ("∂L/∂{in0} = reshape(∂{out}, {in0}.shape)",)

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError("FlattenGate takes X with a batch axis, (N, ...); got a 0-d value")
        self.x_shape = x.shape
        return x.reshape(len(x), math.prod(x.shape[1:]))  # not -1, which an empty batch leaves undetermined

    def backward(self, upstream):
        return (np.reshape(upstream, self.x_shape),)

    def jvp(self, tangent_x):
        return np.reshape(tangent_x, (self.x_shape[0], math.prod(self.x_shape[1:])))

    def gradient(self, upstream, output, x):
        return (apply(ReshapeLikeGate(), upstream, x),)

    def to_onnx(self, builder, x):
        return builder.op("Flatten", x, axis=1)


# -- helpers shared by the gates above ------------------------------------------------------------


def pair(value, what: str, owner: str, minimum: int) -> Pair:
    """A kernel, stride or padding given as an int or a pair of ints, as a pair, each at least ``minimum``.

    Raises TypeError or ValueError naming ``owner`` and ``what``.

    >>> pair(3, "kernel", "Conv2D", 1), pair((2, 1), "stride", "Conv2D", 1)
    ((3, 3), (2, 1))
    """
    items = (value, value) if isinstance(value, numbers.Integral) else value
    if (
        not isinstance(items, (tuple, list))
        or len(items) != 2
        or not all(isinstance(item, numbers.Integral) and not isinstance(item, (bool, np.bool_)) for item in items)
    ):
        raise TypeError(f"{owner} {what} must be an int or a pair of ints (height, width), got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{owner} {what} must be at least {minimum} along each axis, got {value!r}")
    return int(items[0]), int(items[1])


def _check_images(x: np.ndarray, gate: Gate, name: str) -> None:
    if x.ndim != 4:
        hint = " (one image: add the batch axis, x[np.newaxis])" if x.ndim == 3 else ""
        raise ValueError(f"{type(gate).__name__} takes {name} of shape (N, C, H, W), got shape {x.shape}{hint}")


def _check_window(x_shape: tuple[int, ...], kernel, padding: Pair, gate: Gate) -> None:
    height, width = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    if kernel[0] > height or kernel[1] > width:
        raise ValueError(
            f"{type(gate).__name__} kernel {kernel[0]}x{kernel[1]} is larger than the padded input "
            f"{height}x{width} (H, W = {x_shape[2]}, {x_shape[3]}, padding {padding}): use a smaller kernel, "
            "more padding or a larger image"
        )


def average_pool(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """The mean of each window of ``x`` (N, C, H, W): average pooling's forward.

    >>> average_pool(np.arange(16.0).reshape(1, 1, 4, 4), (2, 2), (2, 2))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return im2col(x, kernel, stride).mean(axis=(2, 3), dtype=_float_dtype(x))


def spread_over_windows(upstream, x_shape: tuple[int, ...], kernel: Pair, stride: Pair) -> np.ndarray:
    """The adjoint of :func:`average_pool`: each window's upstream shared equally among its pixels, summed.

    >>> spread_over_windows(np.ones((1, 1, 1, 1)), (1, 1, 2, 3), (2, 2), (1, 1))[0, 0]
    array([[0.25, 0.25, 0.  ],
           [0.25, 0.25, 0.  ]])
    """
    upstream = np.asarray(upstream)
    share = upstream / np.asarray(kernel[0] * kernel[1], upstream.dtype)
    windows = np.broadcast_to(share[:, :, np.newaxis, np.newaxis], (*share.shape[:2], *kernel, *share.shape[2:]))
    return col2im(windows, x_shape, stride)


def _float_dtype(x: np.ndarray) -> np.dtype:
    """The dtype results take: x's own if floating, else float64 (as numpy's true division)."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
