"""Reductions: sum and mean over some axes or all of them."""

from __future__ import annotations

import math

import numpy as np

from gates.base import Gate, normalize_axes
from gates.gradient import SpreadGate, apply

__all__ = ["SumGate", "MeanGate"]


class SumGate(Gate):
    """Sum over ``axis`` (all axes by default).

    forward   z = Σ x
    backward  dL/dx = upstream broadcast back to x.shape
    jvp       dz = Σ dx

    Every summed element contributes with weight 1, so each receives the
    upstream gradient of the sum it went into.

    Parameters
    ----------
    axis : int or tuple of int, optional
        Axes to sum over, negative ones counting from the end; None sums everything.
    keepdims : bool, default False
        Keep the summed axes with length 1.
    """

    symbol = "Σ"
    short_name = "sum"
    local_gradient = ("∂{out}/∂{in0}_i = 1",)

    def __init__(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False):
        if not isinstance(keepdims, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__} keepdims must be True or False, got {keepdims!r}")
        self.axis, self.keepdims = normalize_axes(axis, None, self), bool(keepdims)
        self._ndim: int | None = None
        self._axes: tuple[int, ...] | None = None

    def _reduced_axes(self, x) -> tuple[int, ...] | None:
        """The axes as non-negative ints for this input, normalised once per ndim."""
        ndim = np.ndim(x)
        if ndim != self._ndim:
            self._axes, self._ndim = normalize_axes(self.axis, ndim, self), ndim
        return self._axes

    def forward(self, x):
        axes = self._reduced_axes(x)
        self.x_shape = np.shape(x)
        return np.sum(x, axis=axes, keepdims=self.keepdims)

    def backward(self, upstream):
        return (_spread(upstream, self.x_shape, self._axes, self.keepdims),)

    def jvp(self, tangent_x):
        return np.sum(tangent_x, axis=self._axes, keepdims=self.keepdims)

    def gradient(self, upstream, output, x):
        return (apply(SpreadGate(self.axis, self.keepdims), upstream, x),)

    def to_onnx(self, builder, x):
        return _reduce_to_onnx(builder, "ReduceSum", x, self._axes, self.keepdims)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis}, keepdims={self.keepdims})"


class MeanGate(SumGate):
    """Mean over ``axis`` (all axes by default).

    forward   z = Σ x / n          (n: number of elements averaged)
    backward  dL/dx = upstream / n broadcast back to x.shape
    jvp       dz = Σ dx / n

    The mean of no elements (``n = 0``, an empty batch) is nan, as in
    PyTorch, without numpy's warning; its gradient is empty like its input.

    Parameters
    ----------
    axis : int or tuple of int, optional
        Axes to average over, negative ones counting from the end; None averages everything.
    keepdims : bool, default False
        Keep the averaged axes with length 1.
    """

    symbol = "mean"
    short_name = "mean"
    local_gradient = ("∂{out}/∂{in0}_i = 1/n",)

    def forward(self, x):
        axes = self._reduced_axes(x)
        self.x_shape = np.shape(x)
        self.count = math.prod(self.x_shape) if axes is None else math.prod(self.x_shape[axis] for axis in axes)
        return self._average(np.sum(x, axis=axes, keepdims=self.keepdims))

    def _average(self, total):
        # Σ x / n is what np.mean computes; n = 0 gives nan (0 * nan) where 0 / 0 would warn.
        return total / self.count if self.count else total * math.nan

    def backward(self, upstream):
        # With n = 0 the input is empty, so is its gradient: any finite factor will do.
        scale = 1 / self.count if self.count else 0.0
        return (_spread(upstream * scale, self.x_shape, self._axes, self.keepdims),)

    def jvp(self, tangent_x):
        return self._average(np.sum(tangent_x, axis=self._axes, keepdims=self.keepdims))

    def gradient(self, upstream, output, x):
        return (apply(SpreadGate(self.axis, self.keepdims, average=True), upstream, x),)

    def to_onnx(self, builder, x):
        return _reduce_to_onnx(builder, "ReduceMean", x, self._axes, self.keepdims)


def _spread(upstream, shape, axes, keepdims):
    """Broadcast a reduction's gradient back over the (normalised) axes it reduced."""
    if axes is not None and not keepdims:
        upstream = np.expand_dims(upstream, axes)
    return np.broadcast_to(upstream, shape)[()] if shape else upstream


def _reduce_to_onnx(builder, op_type, x, axes, keepdims):
    """An ONNX reduction: the axes as an int64 input (opset 18), none for all of them."""
    keep = int(bool(keepdims))
    if axes is None:
        return builder.op(op_type, x, keepdims=keep)
    if not axes:  # ONNX reads an empty axes input as "all axes", numpy's axis=() as "none"
        return builder.op("Identity", x)
    return builder.op(op_type, x, builder.constant(np.asarray(axes, dtype=np.int64)), keepdims=keep)
