"""Matrix products and shape gates: matmul, the linear layer, transpose, reshape."""

from __future__ import annotations

import numpy as np

from gates.base import Gate, normalize_axes, tangent_sum, unbroadcast
from gates.gradient import MatMulGradientGate, ReshapeLikeGate, apply, sum_to

__all__ = ["MatMulGate", "LinearGate", "TransposeGate", "ReshapeGate"]


class MatMulGate(Gate):
    """Matrix product with numpy's ``@`` rules (1-D operands, batch broadcasting).

    forward   Z = X @ Y
    backward  dL/dX = upstream @ Yᵀ
              dL/dY = Xᵀ @ upstream
    jvp       dZ = dX @ Y + X @ dY

    A 1-D ``X`` is a row and a 1-D ``Y`` a column, as in numpy; batch axes
    of stacked matrices broadcast and their gradients are summed back.
    """

    symbol = "@"
    short_name = "matmul"
    local_gradient = ("∂L/∂{in0} = ∂{out} {in1}ᵀ", "∂L/∂{in1} = {in0}ᵀ ∂{out}")

    def forward(self, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul of {x.shape} and {y.shape}: both operands need at least one dimension")
        inner_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if x.shape[-1] != inner_y:
            raise ValueError(f"matmul of {x.shape} and {y.shape}: inner dimensions {x.shape[-1]} and {inner_y} differ")
        if self.backward_follows:
            self.x, self.y = x, y
        return x @ y

    def backward(self, upstream):
        want_x, want_y = self.needs_input_grad
        x, y = self.x, self.y
        if x.ndim == 2 and y.ndim == 2:  # plain matrices, the layers' case: nothing to reshape or sum back
            return (
                product_laid_out_as(x, upstream, y.T) if want_x else None,
                product_laid_out_as(y, x.T, upstream) if want_y else None,
            )
        # Work with matrices: a 1-D x is a (1, n) row, a 1-D y an (n, 1) column.
        x2 = x[np.newaxis, :] if x.ndim == 1 else x
        y2 = y[:, np.newaxis] if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        upstream2 = np.reshape(upstream, (*batch, x2.shape[-2], y2.shape[-1]))
        grad_x = grad_y = None
        if want_x:
            grad_x = unbroadcast(upstream2 @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
        if want_y:
            grad_y = unbroadcast(np.swapaxes(x2, -1, -2) @ upstream2, y2.shape).reshape(y.shape)
        return grad_x, grad_y

    def jvp(self, tangent_x, tangent_y):
        # Each product has the output's shape already: the other factor's batch axes broadcast it.
        if tangent_y is None:
            return tangent_x @ self.y
        if tangent_x is None:
            return self.x @ tangent_y
        return tangent_x @ self.y + self.x @ tangent_y

    def gradient(self, upstream, output, x, y):
        want_x, want_y = self.needs_input_grad
        return (
            apply(MatMulGradientGate("x"), upstream, x, y) if want_x else None,
            apply(MatMulGradientGate("y"), upstream, x, y) if want_y else None,
        )

    def to_onnx(self, builder, x, y):
        return builder.op("MatMul", x, y)


def product_laid_out_as(operand, a, b):
    """``a @ b``, the gradient of ``operand``, in ``operand``'s memory order.

    An operand that is a transposed view (``W.T``, Fortran order) gets its
    gradient as ``(bᵀ @ aᵀ)ᵀ``: the same product, so the transpose that made
    the view hands its input a C-ordered gradient, and ``W -= lr * W.grad``
    walks it contiguously instead of copying or updating across strides.

    >>> w = np.arange(6.0).reshape(2, 3)
    >>> x, upstream = np.ones((4, 3)), np.ones((4, 2))
    >>> grad = product_laid_out_as(w.T, x.T, upstream)
    >>> grad.flags.f_contiguous, np.array_equal(grad, x.T @ upstream)
    (True, True)
    """
    if operand.flags.f_contiguous and not operand.flags.c_contiguous:
        return (b.T @ a.T).T
    return a @ b


class LinearGate(Gate):
    """The chapter's fully connected layer, ``Z = A Wᵀ + 1 bᵀ``, in one gate.

    forward   Z = A @ Wᵀ + b          A: (N, n_in), W: (n_out, n_in), b: (n_out,)
    backward  dL/dA = upstream @ W
              dL/dW = upstreamᵀ @ A
              dL/db = Σ_rows upstream
    jvp       dZ = dA @ Wᵀ + A @ dWᵀ + db

    ``W`` keeps the seed chapter's shape ``(n_out, n_in)``; a 1-D ``A`` is a
    single example. The same as ``A @ W.T + b`` built from three gates, with
    one fewer temporary and a ``dA`` skipped when ``A`` is data.
    """

    symbol = "linear"
    short_name = "linear"
    local_gradient = ("∂L/∂{in0} = ∂{out} {in1}", "∂L/∂{in1} = ∂{out}ᵀ {in0}", "∂L/∂{in2} = Σ_rows ∂{out}")

    def forward(self, a, w, b):
        a, w = np.asarray(a), np.asarray(w)
        a_shape, w_shape, b_shape = a.shape, w.shape, np.shape(b)
        if len(w_shape) != 2 or len(a_shape) not in (1, 2) or a_shape[-1] != w_shape[1]:
            raise ValueError(
                f"linear of A {a_shape} and W {w_shape}: expected A (N, n_in) or (n_in,) and W (n_out, n_in)"
            )
        if b_shape not in ((w_shape[0],), ()):
            raise ValueError(f"linear bias b has shape {b_shape}, expected ({w_shape[0]},) to match W {w_shape}")
        if self.backward_follows:
            self.a, self.w, self.b_shape = a, w, b_shape
        z = a @ w.T
        if isinstance(b, np.ndarray) and b.dtype == z.dtype:
            z += b  # into the product just made: no second new array (1-2.5% of a training step, measured)
            return z
        return z + b  # a bias of another type promotes as numpy says

    def backward(self, upstream):
        want_a, want_w, want_b = self.needs_input_grad
        a, w = self.a, self.w
        a2, upstream2 = (a, upstream) if a.ndim == 2 else (a[np.newaxis, :], upstream[np.newaxis, :])
        return (
            upstream @ w if want_a else None,
            upstream2.T @ a2 if want_w else None,
            unbroadcast(upstream2.sum(axis=0), self.b_shape) if want_b else None,
        )

    def jvp(self, tangent_a, tangent_w, tangent_b):
        a, w = self.a, self.w
        return tangent_sum(
            (*a.shape[:-1], w.shape[0]),
            None if tangent_a is None else tangent_a @ w.T,
            None if tangent_w is None else a @ tangent_w.T,
            tangent_b,
        )

    def gradient(self, upstream, output, a, w, b):
        want_a, want_w, want_b = self.needs_input_grad
        return (
            upstream @ w if want_a else None,
            apply(MatMulGradientGate("y"), upstream, a, w.T).T if want_w else None,
            sum_to(upstream, b) if want_b else None,
        )

    def to_onnx(self, builder, a, w, b):
        if self.a.ndim == 2:
            return builder.op("Gemm", a, w, b, transB=1)
        return builder.op("Add", builder.op("MatMul", a, builder.op("Transpose", w)), b)


class TransposeGate(Gate):
    """Permutation of axes (reversal by default, like ``x.T``).

    forward   Z = transpose(X, axes)
    backward  dL/dX = transpose(upstream, inverse(axes))
    jvp       dZ = transpose(dX, axes)

    Parameters
    ----------
    axes : tuple of int, optional
        A permutation of the input's axes, negative ones counting from the
        end as in numpy: ``(-1, 0, 1)`` moves the last axis first. None
        reverses them all.
    """

    symbol = "T"
    short_name = "transpose"
    local_gradient = ("∂L/∂{in0} = ∂{out}ᵀ",)

    def __init__(self, axes: tuple[int, ...] | None = None):
        if axes is not None and not isinstance(axes, (tuple, list)):
            raise TypeError(f"TransposeGate axes must be a tuple of ints (a permutation) or None, got {axes!r}")
        self.axes = normalize_axes(axes, None, self)
        self._ndim = self._permutation = None

    def forward(self, x):
        ndim = np.ndim(x)
        if ndim != self._ndim:
            self._permutation, self._ndim = self._permute(ndim), ndim
            self._inverse = tuple(int(axis) for axis in np.argsort(self._permutation))
        return np.transpose(x, self._permutation)

    def _permute(self, ndim: int) -> tuple[int, ...]:
        """The axes as a permutation of ``range(ndim)``, or a ValueError saying why they are not one."""
        if self.axes is None:
            return tuple(reversed(range(ndim)))
        permutation = normalize_axes(self.axes, ndim, self)
        if len(permutation) != ndim:
            raise ValueError(
                f"TransposeGate axes {self.axes} name {len(permutation)} axes, the input has ndim {ndim}: "
                f"give a permutation of all {ndim} axes"
            )
        return permutation

    def backward(self, upstream):
        return (np.transpose(upstream, self._inverse),)

    def jvp(self, tangent_x):
        return np.transpose(tangent_x, self._permutation)

    def gradient(self, upstream, output, x):
        if self.axes is None:
            return (upstream.T,)
        inverse = np.argsort(normalize_axes(self.axes, len(self.axes), self))
        return (upstream.transpose(tuple(int(axis) for axis in inverse)),)

    def to_onnx(self, builder, x):
        return builder.op("Transpose", x, perm=list(self._permutation))

    def __repr__(self) -> str:
        return f"TransposeGate(axes={self.axes})"


class ReshapeGate(Gate):
    """New shape, same elements in the same order.

    forward   Z = reshape(X, shape)
    backward  dL/dX = reshape(upstream, X.shape)
    jvp       dZ = reshape(dX, shape)
    """

    symbol = "reshape"
    short_name = "reshape"
    local_gradient = ("∂L/∂{in0} = reshape(∂{out}, {in0}.shape)",)

    def __init__(self, shape: int | tuple[int, ...]):
        self.shape = tuple(shape) if np.iterable(shape) else (shape,)

    def forward(self, x):
        self.x_shape = np.shape(x)
        return np.reshape(x, self.shape)

    def backward(self, upstream):
        return (np.reshape(upstream, self.x_shape),)

    def jvp(self, tangent_x):
        return np.reshape(tangent_x, self.shape)

    def gradient(self, upstream, output, x):
        return (apply(ReshapeLikeGate(), upstream, x),)

    def to_onnx(self, builder, x):
        return builder.op("Reshape", x, builder.constant(np.array(self.shape, dtype=np.int64)))

    def __repr__(self) -> str:
        return f"ReshapeGate(shape={self.shape})"
