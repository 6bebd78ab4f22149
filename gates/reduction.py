"""Reductions: sum and mean over some axes or all of them."""

from __future__ import annotations

import math

import numpy as np

from gates.base import Gate

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
        Axes to sum over; None sums everything.
    keepdims : bool, default False
        Keep the summed axes with length 1.
    """

    symbol = "Σ"
    short_name = "sum"
    local_gradient = "dz/dx_i = 1"

    def __init__(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x_shape = np.shape(x)
        return np.sum(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, upstream):
        return (_spread(upstream, self.x_shape, self.axis, self.keepdims),)

    def jvp(self, tangent_x):
        return np.sum(tangent_x, axis=self.axis, keepdims=self.keepdims)

    def to_onnx(self, builder, x):
        return _reduce_to_onnx(builder, "ReduceSum", x, self.axis, self.keepdims)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis}, keepdims={self.keepdims})"


class MeanGate(SumGate):
    """Mean over ``axis`` (all axes by default).

    forward   z = Σ x / n          (n: number of elements averaged)
    backward  dL/dx = upstream / n broadcast back to x.shape
    jvp       dz = Σ dx / n

    Parameters
    ----------
    axis : int or tuple of int, optional
        Axes to average over; None averages everything.
    keepdims : bool, default False
        Keep the averaged axes with length 1.
    """

    symbol = "mean"
    short_name = "mean"
    local_gradient = "dz/dx_i = 1/n"

    def forward(self, x):
        self.x_shape = np.shape(x)
        reduced = range(len(self.x_shape)) if self.axis is None else np.atleast_1d(self.axis)
        self.count = math.prod(self.x_shape[axis] for axis in reduced)
        return np.mean(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, upstream):
        return (_spread(upstream / self.count, self.x_shape, self.axis, self.keepdims),)

    def jvp(self, tangent_x):
        return np.mean(tangent_x, axis=self.axis, keepdims=self.keepdims)

    def to_onnx(self, builder, x):
        return _reduce_to_onnx(builder, "ReduceMean", x, self.axis, self.keepdims)


def _spread(upstream, shape, axis, keepdims):
    """Broadcast a reduction's gradient back over the axes it reduced."""
    if axis is not None and not keepdims:
        upstream = np.expand_dims(upstream, tuple(np.atleast_1d(axis)))
    return np.broadcast_to(upstream, shape)[()] if shape else upstream


def _reduce_to_onnx(builder, op_type, x, axis, keepdims):
    """An ONNX reduction: the axes as an int64 input (opset 18), none for all of them."""
    keep = int(bool(keepdims))
    if axis is None:
        return builder.op(op_type, x, keepdims=keep)
    axes = builder.constant(np.atleast_1d(np.asarray(axis, dtype=np.int64)))
    return builder.op(op_type, x, axes, keepdims=keep)
