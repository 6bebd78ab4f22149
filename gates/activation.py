"""Element-wise functions: exp, log, sqrt, abs and the activations.

Each keeps the least its backward needs; where the local gradient is written
in terms of the output (exp, sqrt, sigmoid, tanh) the gate keeps the output.
"""

from __future__ import annotations

import numpy as np

from gates.base import Gate, divide, normalize_axes, real_number, shift_by_max
from gates.gradient import ReLUMaskGate, SignGate, apply

__all__ = [
    "ExpGate",
    "LogGate",
    "SqrtGate",
    "AbsGate",
    "SigmoidGate",
    "TanhGate",
    "ReLUGate",
    "LeakyReLUGate",
    "SoftmaxGate",
]


class ExpGate(Gate):
    """Element-wise exponential.

    forward   z = exp(x)
    backward  dL/dx = upstream * z
    jvp       dz = z * dx
    """

    symbol = "exp"
    short_name = "exp"
    local_gradient = ("∂{out}/∂{in0} = exp({in0}) = {out}",)

    def __init__(self) -> None:
        super().__init__()
        self.z = None

    def forward(self, x):
        self.z = np.exp(x)
        return self.z

    def backward(self, upstream):
        return (upstream * self.z,)

    def jvp(self, tangent_x):
        return self.z * tangent_x

    def gradient(self, upstream, output, x):
        return (upstream * output,)

    def to_onnx(self, builder, x):
        return builder.op("Exp", x)


class LogGate(Gate):
    """Element-wise natural logarithm.

    forward   z = log(x)
    backward  dL/dx = upstream / x
    jvp       dz = dx / x
    """

    symbol = "log"
    short_name = "log"
    local_gradient = ("∂{out}/∂{in0} = 1/{in0}",)

    def __init__(self) -> None:
        super().__init__()
        self.x = None

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, upstream):
        return (divide(upstream, self.x),)

    def jvp(self, tangent_x):
        return divide(tangent_x, self.x)

    def gradient(self, upstream, output, x):
        return (upstream / x,)

    def to_onnx(self, builder, x):
        return builder.op("Log", x)


class SqrtGate(Gate):
    """Element-wise square root.

    forward   z = sqrt(x)
    backward  dL/dx = upstream / (2 z)
    jvp       dz = dx / (2 z)
    """

    symbol = "√"
    short_name = "sqrt"
    local_gradient = ("∂{out}/∂{in0} = 1/(2√{in0})",)

    def __init__(self) -> None:
        super().__init__()
        self.z = None

    def forward(self, x):
        self.z = np.sqrt(x)
        return self.z

    def backward(self, upstream):
        return (upstream / (2 * self.z),)

    def jvp(self, tangent_x):
        return tangent_x / (2 * self.z)

    def gradient(self, upstream, output, x):
        return (upstream / (2 * output),)

    def to_onnx(self, builder, x):
        return builder.op("Sqrt", x)


class AbsGate(Gate):
    """Element-wise absolute value.

    forward   z = |x|
    backward  dL/dx = upstream * sign(x)
    jvp       dz = sign(x) * dx

    At ``x == 0`` the gradient is 0 (``sign(0) = 0``), the subgradient
    numpy's ``sign`` and PyTorch both use.
    """

    symbol = "abs"
    short_name = "abs"
    local_gradient = ("∂{out}/∂{in0} = sign({in0})",)

    def __init__(self) -> None:
        super().__init__()
        self.x = None

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, upstream):
        return (upstream * np.sign(self.x),)

    def jvp(self, tangent_x):
        return np.sign(self.x) * tangent_x

    def gradient(self, upstream, output, x):
        return (upstream * apply(SignGate(), x),)

    def to_onnx(self, builder, x):
        return builder.op("Abs", x)


class SigmoidGate(Gate):
    """Logistic sigmoid, the lecture's fused ``1 / (1 + exp(-x))``.

    forward   z = σ(x) = 1 / (1 + exp(-x))
    backward  dL/dx = upstream * z * (1 - z)
    jvp       dz = z * (1 - z) * dx

    Computed as ``exp(-log(1 + exp(-x)))`` with ``np.logaddexp`` so that
    ``x = ±1000`` neither overflows nor warns, and tiny outputs keep their
    relative precision. Keeps its output, in which the gradient is written.
    """

    symbol = "σ"
    short_name = "sigmoid"
    local_gradient = ("∂{out}/∂{in0} = σ({in0})(1 - σ({in0}))",)

    def __init__(self) -> None:
        super().__init__()
        self.z = None

    def forward(self, x):
        self.z = np.exp(-np.logaddexp(0, -x))
        return self.z

    def backward(self, upstream):
        return (upstream * self.z * (1 - self.z),)

    def jvp(self, tangent_x):
        return self.z * (1 - self.z) * tangent_x

    def gradient(self, upstream, output, x):
        return (upstream * output * (1 - output),)

    def to_onnx(self, builder, x):
        return builder.op("Sigmoid", x)


class TanhGate(Gate):
    """Hyperbolic tangent.

    forward   z = tanh(x)
    backward  dL/dx = upstream * (1 - z²)
    jvp       dz = (1 - z²) * dx
    """

    symbol = "tanh"
    short_name = "tanh"
    local_gradient = ("∂{out}/∂{in0} = 1 - tanh²({in0})",)

    def __init__(self) -> None:
        super().__init__()
        self.z = None

    def forward(self, x):
        self.z = np.tanh(x)
        if type(x) is float:  # numpy's tanh as a float (math.tanh differs in the last digit): backward in half the time
            self.z = float(self.z)
        return self.z

    def backward(self, upstream):
        return (upstream * (1 - self.z * self.z),)

    def jvp(self, tangent_x):
        return (1 - self.z * self.z) * tangent_x

    def gradient(self, upstream, output, x):
        return (upstream * (1 - output * output),)

    def to_onnx(self, builder, x):
        return builder.op("Tanh", x)


class ReLUGate(Gate):
    """Rectified linear unit.

    forward   z = max(0, x)
    backward  dL/dx = upstream * [x > 0]
    jvp       dz = dx * [x > 0]

    Tie policy: relu'(0) = 0, as in PyTorch: at exactly zero no gradient passes.
    """

    symbol = "relu"
    short_name = "relu"
    local_gradient = ("∂{out}/∂{in0} = [{in0} > 0]",)

    def __init__(self) -> None:
        super().__init__()
        self.positive = None

    def forward(self, x):
        if self.backward_follows:
            self.positive = x > 0
        if type(x) is float:  # scalar graphs run on Python floats: a branch costs a tenth of np.maximum
            return 0.0 if x <= 0.0 else x  # nan <= 0 is False, so nan passes, as np.maximum lets it
        # Into x where the graph allows it (a scoring pass): not a hidden layer beside its copy, 1 MiB of the
        # main example's traced peak (benchmarks/mnist_memory.py).
        return np.maximum(x, 0, out=x if self.can_overwrite(0) else None)

    def backward(self, upstream):
        # Times the 0/1 mask: ten times faster than np.where on arrays, and an
        # infinite upstream gradient stays non-finite (NaN) rather than hidden as 0.
        return (upstream * self.positive,)

    def jvp(self, tangent_x):
        return np.where(self.positive, tangent_x, np.zeros((), np.result_type(tangent_x)))[()]

    def gradient(self, upstream, output, x):
        return (apply(ReLUMaskGate(), upstream, x),)

    def to_onnx(self, builder, x):
        return builder.op("Relu", x)


class LeakyReLUGate(Gate):
    """Leaky rectified linear unit with slope ``alpha`` below zero.

    forward   z = x if x > 0 else alpha * x
    backward  dL/dx = upstream * (1 if x > 0 else alpha)
    jvp       dz = dx * (1 if x > 0 else alpha)

    At ``x == 0`` the slope is ``alpha``, the same side as ReLU's zero.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs (PyTorch's ``negative_slope``), a real
        number; numpy scalars are taken as Python floats, so float32 stays float32.
    """

    symbol = "leaky_relu"
    short_name = "leaky_relu"
    local_gradient = ("∂{out}/∂{in0} = 1 if {in0} > 0 else {gate.alpha:g}",)

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = real_number(alpha, self, "alpha")
        self.positive = None

    def forward(self, x):
        self.positive = np.greater(x, 0)
        return np.where(self.positive, x, self.alpha * x)[()]

    def backward(self, upstream):
        return (np.where(self.positive, upstream, self.alpha * upstream)[()],)

    def jvp(self, tangent_x):
        return np.where(self.positive, tangent_x, self.alpha * tangent_x)[()]

    def gradient(self, upstream, output, x):
        return (apply(ReLUMaskGate(self.alpha), upstream, x),)

    def to_onnx(self, builder, x):
        return builder.op("LeakyRelu", x, alpha=float(self.alpha))

    def __repr__(self) -> str:
        return f"LeakyReLUGate(alpha={self.alpha!r})"


class SoftmaxGate(Gate):
    """Softmax along one axis, computed stably with the log-sum-exp shift.

    forward   z_i = exp(x_i - max(x)) / Σ_j exp(x_j - max(x))
    backward  dL/dx = z * (upstream - Σ_j upstream_j z_j)
    jvp       dz = z * (dx - Σ_j z_j dx_j)

    The backward is the Jacobian ``diag(z) - z zᵀ`` applied to the
    upstream gradient without building it; being symmetric, the same
    Jacobian gives the jvp. An empty input gives an empty output, as in PyTorch.

    Parameters
    ----------
    axis : int, default -1
        The axis whose entries sum to one; negative axes count from the end.
    """

    symbol = "softmax"
    short_name = "softmax"
    local_gradient = ("∂{out}_i/∂{in0}_j = {out}_i(δ_ij - {out}_j)",)

    def __init__(self, axis: int = -1):
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"SoftmaxGate axis must be one int, got {axis!r}: softmax normalises along one axis")
        super().__init__()
        (self.axis,) = normalize_axes(axis, None, self)
        self._ndim = self._axis = self.z = None

    def forward(self, x):
        ndim = np.ndim(x)
        if ndim != self._ndim:
            (self._axis,), self._ndim = normalize_axes(self.axis, ndim, self), ndim
        self.z = _softmax(x, self._axis)
        return self.z

    def backward(self, upstream):
        z = self.z
        return (z * (upstream - np.sum(upstream * z, axis=self._axis, keepdims=True)),)

    def jvp(self, tangent_x):
        z = self.z
        return z * (tangent_x - np.sum(z * tangent_x, axis=self._axis, keepdims=True))

    def gradient(self, upstream, output, x):
        return (output * (upstream - (upstream * output).sum(self.axis, keepdims=True)),)

    def to_onnx(self, builder, x):
        return builder.op("Softmax", x, axis=self._axis)

    def __repr__(self) -> str:
        return f"SoftmaxGate(axis={self.axis})"


def _softmax(x, axis: int):
    shifted = np.exp(shift_by_max(x, axis))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)
