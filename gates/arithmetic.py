"""Arithmetic gates: + - * / negation, powers, max and min.

Binary gates broadcast like numpy; their backward sums each gradient back down
to its input's shape with :func:`gates.base.unbroadcast`.
"""

from __future__ import annotations

import numpy as np

from gates.base import Gate, divide, real_number, shape_of, tangent_sum, unbroadcast
from gates.gradient import RouteGate, ZerosLikeGate, apply, sum_to

__all__ = [
    "AddGate",
    "SubtractGate",
    "MultiplyGate",
    "DivideGate",
    "NegateGate",
    "PowerGate",
    "MaxGate",
    "MinGate",
]


class AddGate(Gate):
    """Element-wise sum, numpy broadcasting: the gradient *distributor*.

    forward   z = x + y
    backward  dL/dx = unbroadcast(upstream, x.shape)
              dL/dy = unbroadcast(upstream, y.shape)
    jvp       dz = dx + dy

    Both inputs receive the upstream gradient unchanged.
    """

    symbol = "+"
    short_name = "add"
    local_gradient = ("∂{out}/∂{in0} = 1", "∂{out}/∂{in1} = 1")
    pattern = "gradient distributor: passes the upstream gradient unchanged to every input"

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.y_shape = None

    def forward(self, x, y):
        if type(x) is float and type(y) is float:  # a scalar graph: two shape_of calls would cost more than the sum
            self.x_shape = self.y_shape = ()
        else:
            self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        return x + y

    def backward(self, upstream):
        want_x, want_y = self.needs_input_grad
        if type(upstream) is float:  # a scalar output, so scalar inputs: no unbroadcast, a third of the time
            return (upstream if want_x else None, upstream if want_y else None)
        return (
            unbroadcast(upstream, self.x_shape) if want_x else None,
            unbroadcast(upstream, self.y_shape) if want_y else None,
        )

    def jvp(self, tangent_x, tangent_y):
        return tangent_sum(np.broadcast_shapes(self.x_shape, self.y_shape), tangent_x, tangent_y)

    def gradient(self, upstream, output, x, y):
        want_x, want_y = self.needs_input_grad
        return (sum_to(upstream, x) if want_x else None, sum_to(upstream, y) if want_y else None)

    def to_onnx(self, builder, x, y):
        return builder.op("Add", x, y)


class SubtractGate(Gate):
    """Element-wise difference, numpy broadcasting.

    forward   z = x - y
    backward  dL/dx = unbroadcast(upstream, x.shape)
              dL/dy = unbroadcast(-upstream, y.shape)
    jvp       dz = dx - dy
    """

    symbol = "-"
    short_name = "sub"
    local_gradient = ("∂{out}/∂{in0} = 1", "∂{out}/∂{in1} = -1")

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.y_shape = None

    def forward(self, x, y):
        self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        return x - y

    def backward(self, upstream):
        want_x, want_y = self.needs_input_grad
        return (
            unbroadcast(upstream, self.x_shape) if want_x else None,
            unbroadcast(-upstream, self.y_shape) if want_y else None,
        )

    def jvp(self, tangent_x, tangent_y):
        shape = np.broadcast_shapes(self.x_shape, self.y_shape)
        return tangent_sum(shape, tangent_x, None if tangent_y is None else -tangent_y)

    def gradient(self, upstream, output, x, y):
        want_x, want_y = self.needs_input_grad
        return (sum_to(upstream, x) if want_x else None, sum_to(-upstream, y) if want_y else None)

    def to_onnx(self, builder, x, y):
        return builder.op("Sub", x, y)


class MultiplyGate(Gate):
    """Element-wise product, numpy broadcasting: the gradient *switcher*.

    forward   z = x * y
    backward  dL/dx = unbroadcast(upstream * y, x.shape)
              dL/dy = unbroadcast(upstream * x, y.shape)
    jvp       dz = dx * y + x * dy

    Each input's gradient is the upstream gradient scaled by the *other* input.
    """

    symbol = "*"
    short_name = "mul"
    local_gradient = ("∂{out}/∂{in0} = {in1}", "∂{out}/∂{in1} = {in0}")
    pattern = "gradient switcher: scales the upstream gradient by the other input's value"

    def __init__(self) -> None:
        super().__init__()
        self.x = self.y = None

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, upstream):
        want_x, want_y = self.needs_input_grad
        if type(upstream) is float:  # a scalar output, so scalar inputs: no unbroadcast, a third of the time
            return (upstream * self.y if want_x else None, upstream * self.x if want_y else None)
        return (
            unbroadcast(upstream * self.y, shape_of(self.x)) if want_x else None,
            unbroadcast(upstream * self.x, shape_of(self.y)) if want_y else None,
        )

    def jvp(self, tangent_x, tangent_y):
        x, y = self.x, self.y
        return tangent_sum(
            np.broadcast_shapes(shape_of(x), shape_of(y)),
            None if tangent_x is None else tangent_x * y,
            None if tangent_y is None else x * tangent_y,
        )

    def gradient(self, upstream, output, x, y):
        want_x, want_y = self.needs_input_grad
        return (sum_to(upstream * y, x) if want_x else None, sum_to(upstream * x, y) if want_y else None)

    def to_onnx(self, builder, x, y):
        return builder.op("Mul", x, y)


class DivideGate(Gate):
    """Element-wise quotient, numpy broadcasting.

    forward   z = x / y
    backward  dL/dx = unbroadcast(upstream / y, x.shape)
              dL/dy = unbroadcast(-upstream * z / y, y.shape)      (z / y = x / y²)
    jvp       dz = (dx - z * dy) / y

    Division by zero gives ±inf or nan as IEEE (and numpy, and PyTorch) say,
    for Python floats as for arrays.
    """

    symbol = "/"
    short_name = "div"
    local_gradient = ("∂{out}/∂{in0} = 1/{in1}", "∂{out}/∂{in1} = -{in0}/{in1}²")

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.y = self.z = None

    def forward(self, x, y):
        self.x_shape, self.y = shape_of(x), y
        self.z = divide(x, y)
        return self.z

    def backward(self, upstream):
        want_x, want_y = self.needs_input_grad
        scaled = divide(upstream, self.y)
        return (
            unbroadcast(scaled, self.x_shape) if want_x else None,
            unbroadcast(-scaled * self.z, shape_of(self.y)) if want_y else None,
        )

    def jvp(self, tangent_x, tangent_y):
        numerator = tangent_sum(shape_of(self.z), tangent_x, None if tangent_y is None else -self.z * tangent_y)
        return divide(numerator, self.y)

    def gradient(self, upstream, output, x, y):
        want_x, want_y = self.needs_input_grad
        scaled = upstream / y
        return (sum_to(scaled, x) if want_x else None, sum_to(-scaled * output, y) if want_y else None)

    def to_onnx(self, builder, x, y):
        return builder.op("Div", x, y)


class NegateGate(Gate):
    """Element-wise negation.

    forward   z = -x
    backward  dL/dx = -upstream
    jvp       dz = -dx
    """

    symbol = "-x"
    short_name = "neg"
    local_gradient = ("∂{out}/∂{in0} = -1",)

    def forward(self, x):
        return -x

    def backward(self, upstream):
        return (-upstream,)

    def jvp(self, tangent_x):
        return -tangent_x

    def gradient(self, upstream, output, x):
        return (-upstream,)

    def to_onnx(self, builder, x):
        return builder.op("Neg", x)


class PowerGate(Gate):
    """Element-wise power with a fixed exponent ``p``.

    forward   z = x ** p
    backward  dL/dx = upstream * p * x ** (p - 1)      (0 for p = 0, even at x = 0)
    jvp       dz = p * x ** (p - 1) * dx

    For ``p = 0`` the function is the constant 1, whose derivative is 0
    everywhere: PyTorch's value at ``x = 0`` too, where the formula would
    give ``0 * 0 ** -1 = nan``. Other exponents follow the formula, whose
    value at ``x = 0`` is infinite for ``p < 1`` (as in PyTorch, with numpy's
    divide-by-zero warning), 1 for ``p = 1`` and 0 for ``p > 1``.

    Parameters
    ----------
    exponent : int or float
        The constant power ``p``, a real number (numpy scalars are taken as
        Python numbers, so float32 inputs stay float32); ``PowerGate(-1)`` is
        the lecture's ``1/x``.
    """

    short_name = "pow"
    local_gradient = ("∂{out}/∂{in0} = {gate.exponent:g}·{in0}^({gate.exponent:g} - 1)",)

    def __init__(self, exponent: float):
        super().__init__()
        self.exponent = real_number(exponent, self, "exponent")
        self.x = None

    @property
    def symbol(self) -> str:  # type: ignore[override]  # read-only here: computed from the exponent
        return f"**{self.exponent:g}"

    def forward(self, x):
        self.x = x
        return np.power(x, self.exponent)

    def backward(self, upstream):
        p = self.exponent
        if p == 0:
            return (self._zeros(),)
        return (upstream * (p * np.power(self.x, p - 1)),)

    def jvp(self, tangent_x):
        p = self.exponent
        if p == 0:
            return self._zeros()
        return p * np.power(self.x, p - 1) * tangent_x

    def gradient(self, upstream, output, x):
        p = self.exponent
        if p == 0:
            return (apply(ZerosLikeGate(), x),)
        return (upstream * (p * x ** (p - 1)),)

    def _zeros(self):
        """The derivative of x ** 0: zeros shaped like x, whatever the upstream (inf or nan included)."""
        return np.zeros_like(self.x, dtype=np.result_type(self.x, 1.0))[()]

    def to_onnx(self, builder, x):
        return builder.op("Pow", x, builder.constant(self.exponent))

    def __repr__(self) -> str:
        return f"PowerGate({self.exponent!r})"


class MaxGate(Gate):
    """Element-wise maximum, numpy broadcasting: the gradient *router*.

    forward   z = max(x, y)
    backward  dL/dx = unbroadcast(upstream * [x >= y], x.shape)
              dL/dy = unbroadcast(upstream * [x < y], y.shape)
    jvp       dz = dx if x >= y else dy

    Tie policy: where ``x == y`` the whole gradient goes to the first input,
    ``x``, so every element's gradient is routed to exactly one input and none
    is lost or counted twice.
    """

    symbol = "max"
    short_name = "max"
    local_gradient = ("∂{out}/∂{in0} = [{in0} ≥ {in1}]", "∂{out}/∂{in1} = [{in0} < {in1}]")
    pattern = "gradient router: sends the upstream gradient to the larger input only"

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.y_shape = self.x_wins = None

    def forward(self, x, y):
        self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        self.x_wins = np.greater_equal(x, y)
        return np.maximum(x, y)

    def backward(self, upstream):
        return _route(upstream, self.x_wins, self.x_shape, self.y_shape, self.needs_input_grad)

    def jvp(self, tangent_x, tangent_y):
        return _select(self.x_wins, tangent_x, tangent_y)

    def gradient(self, upstream, output, x, y):
        return _routes(self.needs_input_grad, ">=", upstream, x, y)

    def to_onnx(self, builder, x, y):
        return builder.op("Max", x, y)


class MinGate(Gate):
    """Element-wise minimum, numpy broadcasting: a gradient router like max.

    forward   z = min(x, y)
    backward  dL/dx = unbroadcast(upstream * [x <= y], x.shape)
              dL/dy = unbroadcast(upstream * [x > y], y.shape)
    jvp       dz = dx if x <= y else dy

    Tie policy: where ``x == y`` the whole gradient goes to the first input, ``x``.
    """

    symbol = "min"
    short_name = "min"
    local_gradient = ("∂{out}/∂{in0} = [{in0} ≤ {in1}]", "∂{out}/∂{in1} = [{in0} > {in1}]")
    pattern = "gradient router: sends the upstream gradient to the smaller input only"

    def __init__(self) -> None:
        super().__init__()
        self.x_shape = self.y_shape = self.x_wins = None

    def forward(self, x, y):
        self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        self.x_wins = np.less_equal(x, y)
        return np.minimum(x, y)

    def backward(self, upstream):
        return _route(upstream, self.x_wins, self.x_shape, self.y_shape, self.needs_input_grad)

    def jvp(self, tangent_x, tangent_y):
        return _select(self.x_wins, tangent_x, tangent_y)

    def gradient(self, upstream, output, x, y):
        return _routes(self.needs_input_grad, "<=", upstream, x, y)

    def to_onnx(self, builder, x, y):
        return builder.op("Min", x, y)


def _route(upstream, x_wins, x_shape, y_shape, needs_input_grad):
    """Send each element of ``upstream`` to x where ``x_wins``, else to y."""
    want_x, want_y = needs_input_grad
    zero = np.zeros((), dtype=np.result_type(upstream))
    return (
        unbroadcast(np.where(x_wins, upstream, zero)[()], x_shape) if want_x else None,
        unbroadcast(np.where(x_wins, zero, upstream)[()], y_shape) if want_y else None,
    )


def _select(x_wins, tangent_x, tangent_y):
    """The tangent of the winning input, element by element; a missing tangent is zero."""
    dtype = np.result_type(*(t for t in (tangent_x, tangent_y) if t is not None))
    zero = np.zeros((), dtype=dtype)
    return np.where(x_wins, zero if tangent_x is None else tangent_x, zero if tangent_y is None else tangent_y)[()]


def _routes(needs_input_grad, compare: str, upstream, x, y):
    """The max or min gate's gradient rule: the upstream routed to the winner, summed back to each input's shape."""
    want_x, want_y = needs_input_grad
    return (
        sum_to(apply(RouteGate(compare, to_x=True), upstream, x, y), x) if want_x else None,
        sum_to(apply(RouteGate(compare, to_x=False), upstream, x, y), y) if want_y else None,
    )
