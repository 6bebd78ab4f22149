"""How the engine's error messages describe nodes, names and values.

Every message names what is wrong with the graph's own names, so the pieces
of the engine (builder, passes, plan) describe things the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from gates import shape_of

if TYPE_CHECKING:
    from graph.node import Node

__all__ = ["describe", "quoted", "did_you_mean", "arguments", "all_finite", "non_finite", "statistics"]


def describe(node: Node) -> str:
    """``node 'f' (MultiplyGate)`` for a gate node, ``input 'x'`` for a leaf.

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> describe(x), describe(x * 2.0)
    ("input 'x'", "node 'mul_1' (MultiplyGate)")
    """
    return f"node {node.name!r} ({type(node.gate).__name__})" if node.gate is not None else f"{node.kind} {node.name!r}"


def quoted(names: Iterable[str]) -> str:
    """Names as a message lists them: ``'x', 'y'``."""
    return ", ".join(repr(name) for name in names)


def did_you_mean(name: object, names: Iterable[str]) -> str:
    """``; did you mean 'q'?`` for the names closest to a name not found (difflib's), else nothing.

    Every lookup by name adds it to its message.

    >>> did_you_mean("qq", ["x", "q", "f"])
    "; did you mean 'q'?"
    >>> did_you_mean("zzz", ["x", "q"])
    ''
    """
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(names), n=3)
    return f"; did you mean {quoted(close)}?" if close else ""


def arguments(node: Node, values: Iterable[Any]) -> str:
    """A gate's arguments by name and shape: ``A (2, 3), B (4, 5)``."""
    return ", ".join(f"{source.name} {shape_of(value)}" for source, value in zip(node.inputs, values))


def all_finite(value) -> bool:
    """Whether every element of ``value`` is a finite number."""
    return bool(np.all(np.isfinite(value)))


def non_finite(value) -> str:
    """How many NaN and infinite elements ``value`` holds.

    >>> non_finite(np.array([1.0, np.nan, -np.inf, 2.0]))
    '2 of 4 values non-finite (nan 1, -inf 1), shape (4,)'
    """
    array = np.asarray(value)
    counts = {"nan": np.isnan(array).sum(), "+inf": np.isposinf(array).sum(), "-inf": np.isneginf(array).sum()}
    found = ", ".join(f"{label} {int(count)}" for label, count in counts.items() if count)
    total = sum(int(c) for c in counts.values())
    return f"{total} of {array.size} values non-finite ({found}), shape {array.shape}"


def statistics(value) -> str:
    """A short description of a value for error messages: the number, or shape and finite range."""
    array = np.asarray(value)
    if array.size == 1:
        return f"= {array.item():.6g}"
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if not finite.size:
        return f"{array.shape}, no finite values"
    return f"{array.shape} min {finite.min():.4g} max {finite.max():.4g} mean {finite.mean():.4g}"
