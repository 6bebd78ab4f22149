"""The Gate contract and the helpers every gate shares."""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import overload

import numpy as np

__all__ = ["Gate", "unbroadcast", "shape_of", "tangent_sum", "normalize_axes", "real_number", "divide", "shift_by_max"]


class Gate:
    """One operation of a computational graph: a forward and a backward.

    ``forward(*inputs)`` computes the output and keeps on the gate what
    ``backward`` needs; ``backward(upstream)`` takes dL/dz, the gradient of the
    loss with respect to the output, and returns a tuple with one gradient per
    input, each ``local gradient x upstream`` and shaped exactly like its input.

    Two optional methods sit beside them: ``jvp(*tangents)``, the forward-mode
    rule (the output's tangent from the inputs', for ``graph.jvp`` and
    ``graph.jacobian``), and ``to_onnx(builder, *inputs)``, the gate as ONNX
    operators (for ``graph.export_onnx``).

    A third optional method, ``gradient(upstream, output, *inputs)``, is the
    *gradient rule*: the backward written with gates, for higher orders
    (``g.gradient``, ``graph.hessian``, ``graph.hvp``). It receives node
    handles, not values: ``upstream`` (dL/dz), ``output`` (z) and the gate's
    input nodes, and returns a tuple with one node per input, its gradient,
    built from those handles with operator sugar (``upstream * y``) or
    gradient gates (:mod:`gates.gradient`); None stands for a zero gradient
    or one that ``needs_input_grad`` does not ask for (the graph sets it
    before calling the rule, as before backward). Shapes are not known when
    the rule runs: an input broadcast by the forward gets its gradient
    through ``gates.gradient.sum_to(grad, input)``. The nodes returned must
    compute what ``backward`` returns, and every node the rule builds must
    feed them (nothing left dangling). For ``z = x * y``::

        def gradient(self, upstream, output, x, y):
            return sum_to(upstream * y, x), sum_to(upstream * x, y)

    A gate without the rule works everywhere else; a higher-order gradient
    through it raises NotImplementedError naming the gate.

    A gate instance is one node: it holds the cache of its last forward, so
    one instance cannot stand at two places in a graph.

    Attributes
    ----------
    symbol : str
        What a diagram writes on the gate, e.g. ``"+"`` or ``"max"``.
    local_gradient : tuple of str, or str
        The local gradient, one template per input, which the views fill with
        the graph's names (and, where the last pass gives one number, its
        value): ``{out}`` stands for the gate's node, ``{in0}``, ``{in1}``...
        for its inputs in order, ``{gate.NAME}`` for an attribute of the gate.
        ``MultiplyGate``'s ``("∂{out}/∂{in0} = {in1}", "∂{out}/∂{in1} = {in0}")``
        reads ``∂f/∂q = z = -4`` in ``f = q * z`` at ``z = -4``. An empty
        entry says an input gets no gradient; array gates may write the
        gradient itself, ``∂{out}`` for the upstream gradient
        (``"∂L/∂{in1} = ∂{out}ᵀ {in0}"``). Literal braces are doubled
        (``{{``). A plain string is shown as it is, e.g. ``"dz/dx = 2x"``.
    short_name : str
        Prefix of the names a graph gives this gate's nodes (``mul_3``);
        by default the class name without "Gate", in lower case.
    backward_follows : bool
        Whether a backward may read what this forward caches: True, except
        while the graph runs a pass no backward will read (``forward(keep=False)``,
        as ``Model.predict`` and ``models.evaluate`` run it). A gate may then
        skip its cache, so that the pass lets each value go once the gates
        after it have read it, rather than the gate holding its last inputs
        until its next forward.
    overwritable : callable or None
        Set by the graph for a pass no backward reads: ``overwritable(position)``
        answers :meth:`can_overwrite`. None otherwise.
    needs_input_grad : tuple of bool
        Which inputs want a gradient. The graph sets it before backward; used
        alone, a gate wants them all. A gate may skip an unwanted gradient and
        return ``None`` in its place; ``None`` also stands for an input that has
        no gradient at all (integer labels).

    Examples
    --------
    A new gate subclasses ``Gate`` and writes the two passes side by side:

    >>> class SquareGate(Gate):
    ...     symbol = "x²"
    ...     local_gradient = ("∂{out}/∂{in0} = 2{in0}",)
    ...     def forward(self, x):
    ...         self.x = x
    ...         return x * x
    ...     def backward(self, upstream):
    ...         return (2 * self.x * upstream,)
    >>> gate = SquareGate()
    >>> gate.forward(3.0)
    9.0
    >>> gate.backward(1.0)
    (6.0,)

    Its gradient rule, ``2 x upstream`` as gates, makes it differentiable twice:

    >>> class SquareGate(SquareGate):
    ...     def gradient(self, upstream, output, x):
    ...         return (2.0 * x * upstream,)
    """

    symbol = "?"
    local_gradient: str | tuple[str, ...] = ""
    backward_follows = True
    overwritable: Callable[[int], bool] | None = None
    _needs_input_grad: tuple[bool, ...] | None = None
    _owner: str | None = None  # the name of the node the gate stands at, set by the graph that adds it

    def __init__(self) -> None:
        # The engine's attributes are set here, and the element-wise gates and their gradient gates, which a
        # scalar graph holds by the thousand, set their forward's cache in their own __init__: CPython (3.11)
        # keeps a class's instance attributes in a compact array per instance only while its instances add
        # them early; a name first set once some thirty instances exist (the cache at the first forward,
        # needs_input_grad at the first plan) gives every instance a dict of its own. 100,000 gates: 272 bytes
        # and one more object for the collector to traverse per gate (benchmarks/README.md, row 8's fourth pass).
        self._owner = None
        self._needs_input_grad = None
        self.backward_follows = True
        self.overwritable = None

    def forward(self, *inputs):
        """Compute the output from the inputs, caching what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, upstream):
        """Return one gradient per input: local gradient x ``upstream``."""
        raise NotImplementedError(f"{type(self).__name__} does not define backward()")

    def can_overwrite(self, position: int) -> bool:
        """Whether ``forward`` may write its output into its input at ``position`` (numpy's ``out=``).

        False, except while the graph runs a pass no backward will read
        (``backward_follows`` False) and the input is an array that this pass
        made, that only this gate reads and that no other value is: the graph
        then answers True, and a gate that writes into it saves one array
        (``ReLUGate`` does). So a gate must not return an array that it keeps
        using in later forwards: the gate after it may overwrite it.
        """
        return self.overwritable is not None and self.overwritable(position)

    def jvp(self, *tangents):
        """Forward mode: the output's tangent from one tangent per input (None for zero).

        The dual-number rule, using the values cached by the last forward:
        for ``z = x * y``, ``dz = dx * y + x * dy``. Returns an array shaped
        like the output. At least one tangent is not None: a graph skips the
        gates whose inputs carry no tangent.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define jvp(): forward mode needs its tangent rule")

    def gradient(self, upstream, output, *inputs):
        """The gradient rule: one node per input (or None), the backward built with gates; see the class docstring."""
        raise NotImplementedError(
            f"{type(self).__name__} has no gradient rule: higher-order gradients through it need "
            f"{type(self).__name__}.gradient(self, upstream, output, *inputs), its backward written with gates"
        )

    def to_onnx(self, builder, *inputs):
        """Emit this gate as ONNX operators with ``builder.op(...)``; return the output's tensor name.

        ``inputs`` are the tensor names of the gate's inputs. Only strings and
        numbers pass through here: the gate never imports onnx. See
        :func:`graph.views.onnx_export.export_onnx`.
        """
        raise NotImplementedError(f"{type(self).__name__} has no ONNX mapping: it does not define to_onnx()")

    @property
    def short_name(self) -> str:
        return type(self).__name__.removesuffix("Gate").lower() or "gate"

    @classmethod
    def arity(cls) -> int | None:
        """Number of inputs ``forward`` takes, or None if it takes ``*inputs``."""
        return _arity(cls.forward)

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        if self._needs_input_grad is not None:
            return self._needs_input_grad
        return (True,) * (self.arity() or 0)

    @needs_input_grad.setter
    def needs_input_grad(self, flags) -> None:
        self._needs_input_grad = tuple(flags)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@functools.cache
def _arity(forward: Callable) -> int | None:
    parameters = inspect.signature(forward).parameters.values()
    kinds = [p.kind for p in parameters][1:]  # drop self
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return None
    return sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds)


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` down to ``shape``: the backward of numpy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of
    length 1; each copy's gradient flows back to the one original element, so
    the gradient is summed over exactly those axes.

    Parameters
    ----------
    grad : array_like
        Gradient with respect to the broadcast result.
    shape : tuple of int
        Shape of the input before broadcasting.

    Examples
    --------
    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    >>> unbroadcast(np.ones((2, 3)), (2, 1))
    array([[3.],
           [3.]])
    >>> unbroadcast(np.ones((2, 3)), ())
    np.float64(6.0)
    """
    grad_shape = shape_of(grad)
    if grad_shape == shape:
        return grad
    leading = len(grad_shape) - len(shape)
    if grad_shape[leading:] == shape:  # only new leading axes (a bias over a batch): a plain sum, nothing to reshape
        return grad.sum(axis=tuple(range(leading)))
    stretched = tuple(leading + axis for axis, n in enumerate(shape) if n == 1)
    summed = np.sum(grad, axis=tuple(range(leading)) + stretched, keepdims=True)
    return summed.reshape(shape)[()]


def shape_of(value) -> tuple[int, ...]:
    """``np.shape`` for arrays and numbers, without building an array from a Python number.

    Scalar graphs run on Python floats, where ``np.shape`` costs more than the arithmetic.

    >>> shape_of(np.zeros((2, 3))), shape_of(1.5)
    ((2, 3), ())
    """
    return getattr(value, "shape", ())


def tangent_sum(shape: tuple[int, ...], *terms):
    """Sum the tangent terms that are not None and broadcast the sum to ``shape``.

    The forward-mode counterpart of :func:`unbroadcast`: an input's tangent
    is copied along the axes its value was broadcast over. A term is None
    where its input carries no tangent; so is the result if all terms are.

    >>> tangent_sum((2, 3), np.ones(3), None)
    array([[1., 1., 1.],
           [1., 1., 1.]])
    >>> tangent_sum((), 1.0, 2.0), tangent_sum((), None, None)
    (3.0, None)
    """
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    if total is None or shape_of(total) == shape:
        return total
    return np.broadcast_to(total, shape)


@overload
def normalize_axes(axes: None, ndim: int | None, gate: Gate) -> None: ...
@overload
def normalize_axes(axes: int | Sequence[int], ndim: int | None, gate: Gate) -> tuple[int, ...]: ...
@overload
def normalize_axes(axes: int | Sequence[int] | None, ndim: int | None, gate: Gate) -> tuple[int, ...] | None: ...
def normalize_axes(axes, ndim: int | None, gate: Gate) -> tuple[int, ...] | None:
    """Axis arguments as a tuple of axes in ``[0, ndim)``: the one check every gate that takes axes uses.

    ``axes`` is None (all axes), an int or a sequence of ints; negative axes
    count from the end, as in numpy. With ``ndim`` None (a gate's constructor,
    before any input is known) only the types and literal repeats are checked
    and the axes come back as given; a gate normalises them again against its
    input's ``ndim`` in forward.

    Raises
    ------
    TypeError
        An axis is not an integer (bools and floats are not axes).
    ValueError
        An axis is out of range for ``ndim`` dimensions, or an axis repeats.

    Examples
    --------
    >>> gate = Gate()
    >>> normalize_axes((-1, 0), 3, gate), normalize_axes(1, 2, gate), normalize_axes(None, 2, gate)
    ((2, 0), (1,), None)
    >>> normalize_axes((0, -2), 2, gate)
    Traceback (most recent call last):
    ...
    ValueError: Gate axes (0, -2) name axis 0 twice for an input with ndim 2
    """
    if axes is None:
        return None
    items = (axes,) if _is_integer(axes) else axes
    if not isinstance(items, (tuple, list)) or not all(_is_integer(axis) for axis in items):
        raise TypeError(
            f"{type(gate).__name__} axis must be an int or a tuple of ints, got {axes!r} ({type(axes).__name__})"
        )
    items = tuple(int(axis) for axis in items)
    if ndim is None:
        normalized = items
    else:
        for axis in items:
            if not -ndim <= axis < ndim:
                valid = f"[{-ndim}, {ndim - 1}]" if ndim else "none: a 0-d input has no axes"
                raise ValueError(
                    f"{type(gate).__name__} axis {axis} is out of range for an input with ndim {ndim}; "
                    f"valid axes: {valid}"
                )
        normalized = tuple(axis % ndim for axis in items)
    repeated = [axis for position, axis in enumerate(normalized) if axis in normalized[:position]]
    if repeated:
        where = "" if ndim is None else f" for an input with ndim {ndim}"
        raise ValueError(f"{type(gate).__name__} axes {axes!r} name axis {repeated[0]} twice{where}")
    return normalized


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def real_number(value, gate: Gate, what: str) -> int | float:
    """A gate's constant argument as a Python int or float, or a TypeError naming the gate.

    numpy scalars become Python numbers, which numpy's casting rules treat as
    weak: ``float32 ** 2`` stays float32, where ``float32 ** np.float64(2)``
    would be float64. Bools, complex numbers, strings and arrays are refused.

    >>> real_number(np.float64(0.5), Gate(), "alpha"), real_number(np.int64(2), Gate(), "exponent")
    (0.5, 2)
    >>> real_number(2 + 0j, Gate(), "exponent")
    Traceback (most recent call last):
    ...
    TypeError: Gate exponent must be a real number (int or float), got (2+0j) of type complex
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{type(gate).__name__} {what} must be a real number (int or float), "
            f"got {value!r} of type {type(value).__name__}"
        )
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def divide(numerator, denominator):
    """``numerator / denominator`` with IEEE results for Python numbers as for arrays.

    Scalar graphs run on Python floats, where ``1.0 / 0.0`` raises
    ZeroDivisionError; numpy, like PyTorch, gives ±inf or nan (and warns).
    The division is tried in Python first, so the fast path costs nothing.

    >>> divide(1.0, 4.0), divide(np.ones(2), 2.0)
    (0.25, array([0.5, 0.5]))
    >>> with np.errstate(divide="ignore"):
    ...     divide(-1.0, 0.0)
    np.float64(-inf)
    """
    try:
        return numerator / denominator
    except ZeroDivisionError:
        return np.true_divide(numerator, denominator)


def shift_by_max(x, axis: int):
    """``x - max(x)`` along ``axis``, the shift that keeps exp() from overflowing.

    A spread wider than the largest float (``[1e308, -1e308]``) overflows to
    -inf, whose exp is the correct 0: that overflow is expected, not warned
    about. An empty input comes back empty (numpy's max has no identity).

    >>> shift_by_max(np.array([1e308, -1e308]), -1)
    array([  0., -inf])
    """
    if np.size(x) == 0:
        return np.asarray(x) * 1.0
    with np.errstate(over="ignore"):
        return x - np.max(x, axis=axis, keepdims=True)
