"""The values users hand the engine (feeds, parameters, constants, names), checked and converted once.

Python numbers become floats (scalar graphs run on plain floats), lists
become float64 arrays, numpy arrays are used as they are (float32 stays
float32), and anything else is refused with a :class:`DTypeError` or a
:class:`NodeNameError` that says how to fix it.
"""

from __future__ import annotations

import sys
import unicodedata

import numpy as np

from graph.errors import DTypeError, NodeNameError

__all__ = ["check_name", "constant_value", "as_float", "as_array", "as_value", "parameter_value"]


def check_name(name, what: str) -> None:
    """Refuse a name that is not a non-empty string or that holds control characters.

    Names appear in diagrams (Graphviz's ``dot`` fails on control characters),
    pages and messages. Spaces, including non-breaking ones, are fine.

    >>> check_name("layer\\n1", "scope name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graph.errors.NodeNameError: scope name 'layer\\n1' holds the control character '\\n' (U+000A); ...
    """
    if not isinstance(name, str) or not name:
        raise NodeNameError(f"{what} must be a non-empty string, got {name!r}")
    if not name.isprintable():
        bad = [c for c in name if not c.isprintable() and unicodedata.category(c) != "Zs"]
        if bad:
            raise NodeNameError(
                f"{what} {name!r} holds the control character {bad[0]!r} (U+{ord(bad[0]):04X}); "
                "names appear in diagrams and messages: use printable characters only"
            )


def constant_value(value):
    """A constant's value: Python numbers as float, anything else as a checked copy of the array."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return as_float(value, "constant")
    return as_array(value, "constant").copy()


def as_float(number, what: str) -> float:
    """A Python number as float, or a clear error where it is too large for one."""
    try:
        return float(number)
    except OverflowError:
        raise DTypeError(
            f"{what} is an integer of {len(str(abs(number)))} digits, too large for a float "
            "(the largest is about 1.8e308): scale it, or feed it as a float"
        ) from None


def as_array(value, what: str) -> np.ndarray:
    """``value`` as a numeric array (lists of numbers become float64), or a clear error.

    >>> as_array([1, 2], "feed 'x'")
    array([1., 2.])
    """
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        raise DTypeError(f"{what} must be numeric, got {value!r}")
    # No masked array exists before numpy.ma is imported, and np.ma imports it: its modules were 1.0 MiB of
    # the main example's traced training peak (benchmarks/mnist_memory.py, 9.91 -> 8.94 MiB), for a check.
    if "numpy.ma" in sys.modules and isinstance(value, np.ma.MaskedArray):
        raise DTypeError(
            f"{what} is a masked array (numpy.ma); gates compute with every element, masked or not, and the "
            "gradient would ignore the mask: pass x.filled(value) to fill the masked elements, "
            "or x.compressed() to drop them"
        )
    if isinstance(value, int):
        value = as_float(value, what)
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise DTypeError(f"{what} is not a rectangular array of numbers: {error}") from None
    if array.dtype == object and not isinstance(value, np.ndarray):
        array = _python_numbers(array, what)
    if array.dtype.kind not in "iuf":
        kind = "boolean" if array.dtype.kind == "b" else f"not numeric (dtype {array.dtype})"
        raise DTypeError(f"{what} is {kind}; give numbers, e.g. value.astype(np.float64)")
    if array.dtype.kind in "iu" and not isinstance(value, np.ndarray):
        array = array.astype(np.float64)
    return array


def _python_numbers(array: np.ndarray, what: str) -> np.ndarray:
    """A list's object array (numpy's for integers beyond int64) as float64, when it holds only Python numbers."""
    items = array.ravel().tolist()
    if not all(type(item) in (int, float) for item in items):
        return array  # None, text, Decimal...: refused by the caller as not numeric
    try:
        return np.array(items, dtype=np.float64).reshape(array.shape)
    except OverflowError:
        raise DTypeError(
            f"{what} holds an integer too large for a float (the largest is about 1.8e308): scale it, "
            "or feed it as floats"
        ) from None


def as_value(value, name: str, role: str = "feed"):
    """A feed (or, by ``role``, a tangent) as the graph runs it: Python numbers as float, arrays as they are.

    Anything else is checked by :func:`as_array`, whose errors name ``role`` and ``name``.

    >>> as_value(2, "x"), as_value([2**70], "x")
    (2.0, array([1.18059162e+21]))
    """
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, (bool, np.bool_))):
        return as_float(value, f"{role} {name!r}")
    if type(value) is np.ndarray and value.dtype.kind in "iuf":  # not a subclass: a masked array is refused
        return value
    return as_array(value, f"{role} {name!r}")


def parameter_value(name: str, value) -> np.ndarray:
    """A parameter's value as a floating-point array (lists and Python numbers become float64), or a DTypeError."""
    array = as_array(value, f"parameter {name!r}")
    if array.dtype.kind != "f":
        raise DTypeError(
            f"parameter {name!r} has dtype {array.dtype}; parameters take gradient steps and must be "
            f"floating point: pass value.astype(np.float64)"
        )
    return array
