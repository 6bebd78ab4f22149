"""The words and numbers every view writes, each written once here.

Numbers and array summaries (:func:`number`, :func:`format_value`,
:func:`brief`), a gradient's name (:func:`grad_name`), a gate's expression and
its local-gradient formula per argument (:func:`expression`,
:func:`local_formulas`, :func:`local_formula`, :func:`node_formulas`,
:func:`argument_name`), a node's tooltip (:func:`node_tooltip`), the chain rule at one edge
(:func:`chain_rule`) and along a path (:func:`path_product`), the sum at a
fan-out (:func:`fan_out_sum`), the outputs a caller asked for, as names (:func:`output_names`), and what a
collapsed scope holds in lines of bounded width (:func:`contents_lines`,
:func:`wrapped`). The diagram, the
explanation and the animation all write with these, so that they read alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gates import Gate
    from graph.graph import ComputationalGraph
    from graph.node import Node
    from graph.trace import Trace
    from graph.views.record import LastPass

__all__ = [
    "number",
    "format_value",
    "value_lines",
    "brief",
    "grad_name",
    "expression",
    "local_formulas",
    "local_formula",
    "node_formulas",
    "node_tooltip",
    "argument_name",
    "chain_rule",
    "path_product",
    "fan_out_sum",
    "output_names",
    "LINE_WIDTH",
    "wrapped",
    "contents_lines",
    "changed_lines",
]

# The longest line written into a box that summarises many things: a diagram stays as wide whatever the model's size.
LINE_WIDTH = 60
# Kinds of gates, or shapes of parameters, written out before the rest are counted.
_KINDS_SHOWN = 6
# Parameters named one by one; more are counted by shape.
_NAMED_PARAMETERS = 4


def number(value: Any, precision: int = 4) -> str:
    """One number with ``precision`` significant digits; integers as they are.

    Examples
    --------
    >>> number(0.7310585786300049), number(np.int64(3)), number(-0.0)
    ('0.7311', '3', '0')
    """
    kind = np.asarray(value).dtype.kind
    if kind in "iub":
        return str(int(value))
    if kind == "c":
        return f"{complex(value):.{precision}g}"
    as_float = float(value)
    if as_float == 0:
        return "0"  # not "-0"
    return f"{as_float:.{precision}g}"


def format_value(value: Any, precision: int = 4, max_elements: int = 6) -> str:
    """A value as the views write it.

    Scalars with ``precision`` significant digits, arrays of at most
    ``max_elements`` elements in full, larger ones as shape, dtype, mean and
    L2 norm; None as the empty string.

    Parameters
    ----------
    value : float, numpy array or None
    precision : int, default 4
        Significant digits of each number.
    max_elements : int, default 6
        Arrays with more elements are summarised.

    Examples
    --------
    >>> format_value(-12.0)
    '-12'
    >>> format_value(0.7310585786300049)
    '0.7311'
    >>> format_value(np.array([[1.0, -2.5], [0.125, 3.0]]))
    '[[1, -2.5], [0.125, 3]]'
    >>> format_value(np.ones((64, 10), dtype=np.float32))
    '(64, 10) float32 mean 1 norm 25.3'
    """
    return " ".join(value_lines(value, precision, max_elements))


def value_lines(value: Any, precision: int = 4, max_elements: int = 6) -> list[str]:
    """:func:`format_value` as lines: a summarised array's shape and its statistics apart.

    Examples
    --------
    >>> value_lines(np.ones((64, 10), dtype=np.float32))
    ['(64, 10) float32', 'mean 1 norm 25.3']
    """
    if value is None:
        return [""]
    if not np.shape(value):
        return [number(value, precision)]
    array = np.asarray(value)
    if 0 < array.size <= max_elements:
        return [_nested(array, precision)]
    return _summary(array, precision)


def brief(value: Any, precision: int = 4) -> str:
    """A scalar as a number, an array by shape and dtype only: what fits in a line of prose.

    Examples
    --------
    >>> brief(-4.0), brief(np.zeros((5, 3), dtype=np.float32)), brief(None)
    ('-4', '(5, 3) float32', 'none')
    """
    if value is None:
        return "none"
    if not np.shape(value):
        return number(value, precision)
    return f"{tuple(np.shape(value))} {np.asarray(value).dtype}"


def grad_name(name: str) -> str:
    """``dL/dx``, or ``dL/d(add_1)`` where the name would run into the d.

    Examples
    --------
    >>> grad_name("x"), grad_name("add_1")
    ('dL/dx', 'dL/d(add_1)')
    """
    return f"dL/d{name}" if name.isalnum() else f"dL/d({name})"


def expression(gate: Gate, names: Sequence[str]) -> str:
    """``x + y`` for a binary operator's symbol, ``exp(x)`` (the gate's short name) otherwise.

    ``names`` are what the gate is applied to: its inputs' names, or their values.

    Examples
    --------
    >>> from gates import AddGate, ExpGate
    >>> expression(AddGate(), ["x", "y"]), expression(AddGate(), ["3", "-4"]), expression(ExpGate(), ["x"])
    ('x + y', '3 + (-4)', 'exp(x)')
    """
    symbol = str(gate.symbol)
    if len(names) == 2 and symbol and not symbol[0].isalpha():
        second = f"({names[1]})" if names[1].startswith("-") else names[1]
        return f"{names[0]} {symbol} {second}"
    return f"{gate.short_name}({', '.join(names)})"


def local_formulas(gate: Gate, output: str | None = None, inputs: Sequence[str] | None = None) -> list[str]:
    """``gate.local_gradient`` in the graph's names: one formula per input that has one.

    A template (a tuple of strings, one per input, see :class:`gates.Gate`)
    is filled with ``output`` for ``{out}`` and ``inputs[i]`` for ``{in<i>}``;
    without names, with ``z`` and the names ``gate.forward`` gives its
    arguments. Empty entries (an input with no gradient) are left out. Plain
    text is returned whole, as it is.

    Examples
    --------
    >>> from gates import ExpGate, MultiplyGate
    >>> local_formulas(MultiplyGate(), "f", ["q", "z"])
    ['∂f/∂q = z', '∂f/∂z = q']
    >>> local_formulas(MultiplyGate())
    ['∂z/∂x = y', '∂z/∂y = x']
    """
    template = getattr(gate, "local_gradient", "") or ""
    if isinstance(template, str):
        return [template] if template else []
    return [formula for formula in _filled(gate, template, output, inputs) if formula]


def local_formula(
    gate: Gate, position: int, arity: int, output: str | None = None, inputs: Sequence[str] | None = None
) -> str:
    """The local gradient for argument ``position`` in the graph's names; "" where that input has none.

    A template's entry, filled as :func:`local_formulas` fills it. Plain text
    such as ``"dz/dx = y, dz/dy = x"`` is split at ``", "`` when it has
    ``arity`` parts, and returned whole otherwise.

    Examples
    --------
    >>> from gates import ExpGate, MultiplyGate
    >>> local_formula(MultiplyGate(), 1, 2, "f", ["q", "z"])
    '∂f/∂z = q'
    >>> local_formula(ExpGate(), 0, 1)
    '∂z/∂x = exp(x) = z'
    """
    template = getattr(gate, "local_gradient", "") or ""
    if isinstance(template, str):
        parts = template.split(", ")
        return parts[position] if len(parts) == arity and arity > 1 else template
    filled = _filled(gate, template, output, inputs)
    return filled[position] if position < len(filled) else ""


def node_formulas(last: LastPass, node: Node, precision: int = 4) -> list[str]:
    """A gate node's local gradients in its graph's names, each with its value where the last pass gives one number.

    For ``f = q * z`` at ``q = 3, z = -4``: ``∂f/∂q = z = -4`` and
    ``∂f/∂z = q = 3``. A gate whose ``local_gradient`` is plain text shows it
    as it is; a leaf has none.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> from graph.views.record import LastPass
    >>> g = ComputationalGraph()
    >>> z, w = g.input("z"), g.input("w")
    >>> m = z.maximum(w).named("m")
    >>> _ = g.forward(z=2.0, w=-1.0), g.backward()
    >>> node_formulas(LastPass(g), m)
    ['∂m/∂z = [z ≥ w] = 1', '∂m/∂w = [z < w] = 0']
    """
    gate = node.gate
    if gate is None:
        return []
    inputs = [source.name for source in node.inputs]
    if isinstance(getattr(gate, "local_gradient", "") or "", str):
        return local_formulas(gate)
    lines = []
    for position in range(len(inputs)):
        formula = local_formula(gate, position, len(inputs), node.name, inputs)
        local = last.local(node, position)
        if formula and local is not None and np.size(local) == 1:
            value = number(np.asarray(local).reshape(()), precision)
            if not formula.endswith(f"= {value}"):  # "∂q/∂x = 1", not "∂q/∂x = 1 = 1"
                formula += f" = {value}"
        if formula:
            lines.append(formula)
    return lines


def node_tooltip(
    last: LastPass,
    node: Node,
    write: Callable[[Any], str] = format_value,
    precision: int = 4,
    *,
    computed: bool = True,
    graded: bool = True,
) -> str:
    """What hovering over a node says: its kind or gate, its local gradients and pattern, its value and gradient.

    Parameters
    ----------
    last : LastPass
    node : Node
    write : callable, default format_value
        How a value or gradient is written.
    precision : int, default 4
        Significant digits of the local gradients' values.
    computed, graded : bool, default True
        Whether the node's forward and its backward have happened yet, as far
        as the reader has seen (the animation's step): before its forward, its
        local gradients are written without values and its value is left out;
        before its backward, its gradient is left out.

    Examples
    --------
    >>> from models.lecture import first_circuit
    >>> from graph.views.record import LastPass
    >>> g = first_circuit()
    >>> print(node_tooltip(LastPass(g), g["f"]))
    f: MultiplyGate (*)
    ∂f/∂q = z = -4
    ∂f/∂z = q = 3
    gradient switcher: scales the upstream gradient by the other input's value
    value -12
    grad 1
    >>> print(node_tooltip(LastPass(g), g["f"], computed=False, graded=False))
    f: MultiplyGate (*)
    ∂f/∂q = z
    ∂f/∂z = q
    gradient switcher: scales the upstream gradient by the other input's value
    """
    gate = node.gate
    if gate is not None:
        lines = [f"{node.name}: {type(gate).__name__} ({gate.symbol})"]
        if computed:
            lines += node_formulas(last, node, precision)
        else:
            lines += local_formulas(gate, node.name, [source.name for source in node.inputs])
        lines += [text for text in (getattr(gate, "pattern", ""),) if text]
    else:
        needs = "" if node.requires_grad else ", needs no gradient"
        lines = [f"{node.name}: {node.kind}{needs}"]
    shown = (("value", last.value(node) if computed else None), ("grad", last.grad(node) if graded else None))
    for what, value in shown:
        if value is not None:
            text = write(value)
            shape = np.shape(value)
            lines.append(f"{what} {shape} {text}" if shape and not text.startswith("(") else f"{what} {text}")
    return "\n".join(lines)


def argument_name(gate: Gate, position: int) -> str:
    """The name ``gate.forward`` gives its argument ``position`` (``x``, ``y``, ``w``...).

    Examples
    --------
    >>> from gates import LinearGate
    >>> argument_name(LinearGate(), 1), argument_name(LinearGate(), 7)
    ('w', 'argument 7')
    """
    try:
        names = [
            parameter.name
            for parameter in inspect.signature(gate.forward).parameters.values()
            if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    return names[position] if position < len(names) else f"argument {position}"


def chain_rule(upstream: Any, sent: Any, formula: str, precision: int = 4, local: Any = None, note: bool = True) -> str:
    """The chain rule at one edge: the upstream gradient times the local gradient gives what is sent.

    Parameters
    ----------
    upstream, sent : value
        The gradient the gate received, and what it sent back along the edge (both from the trace).
    formula : str
        The gate's local-gradient formula for this argument.
    precision : int, default 4
        Significant digits.
    local : value, optional
        The local gradient's value, where the trace gives one (a one-element gate).
    note : bool, default True
        Follow the numbers by the formula in parentheses.

    Scalars are written as numbers, ``upstream × local = sent``; where a
    value is an array, by shape and dtype, with the formula for the local
    gradient. Nothing is divided out: every number comes from the trace.

    Examples
    --------
    >>> chain_rule(1.0, -4.0, "dz/dx = y", local=-4.0)
    '1 × -4 = -4   (dz/dx = y)'
    >>> chain_rule(1.0, -4.0, "dz/dx = y", local=-4.0, note=False)
    '1 × -4 = -4'
    >>> chain_rule(np.ones((5, 4)), np.ones((4, 3)), "")
    '(5, 4) float64 × (local) → (4, 3) float64'
    """
    if not np.shape(upstream) and not np.shape(sent):
        if local is None or np.shape(local):
            return f"{number(upstream, precision)} × ({formula or 'local'}) = {number(sent, precision)}"
        line = f"{number(upstream, precision)} × {number(local, precision)} = {number(sent, precision)}"
        return f"{line}   ({formula})" if note and formula else line
    return f"{brief(upstream, precision)} × ({formula or 'local'}) → {brief(sent, precision)}"


def path_product(formulas: Sequence[str], locals_: Sequence[Any], product: Any = None, precision: int = 4) -> str:
    """The chain rule along one path: its local gradients multiplied, as formulas, then as numbers.

    Parameters
    ----------
    formulas : sequence of str
        The local gradient of each edge of the path, from the focused node
        towards the output, as :func:`local_formula` writes them
        (``∂q/∂x = 1``, ``∂f/∂q = z``).
    locals_ : sequence
        Their values (the trace's), None where an edge's local gradient is a
        Jacobian (its gate's output has more than one element).
    product : value, optional
        The product of ``locals_``; where every one is known and it is given,
        the numbers and the product are written too.
    precision : int, default 4
        Significant digits.

    Examples
    --------
    >>> path_product(["∂q/∂x = 1", "∂f/∂q = z"], [1.0, -4.0], -4.0)
    '∂q/∂x · ∂f/∂q = 1 · z = 1 × -4 = -4'
    >>> path_product(["∂f/∂x = x"], [3.0], 3.0)
    '∂f/∂x = x = 3'
    >>> path_product(["∂t/∂a = 1 - tanh²(a)", "∂f/∂t = 2"], [0.5, 2.0], 1.0)
    '∂t/∂a · ∂f/∂t = (1 - tanh²(a)) · 2 = 0.5 × 2 = 1'
    >>> path_product(["∂z/∂W = ∂Zᵀ A", "∂L/∂z"], [None, None])
    '∂z/∂W · ∂L/∂z   (local Jacobians: shapes only)'
    """
    sides = [formula.split(" = ") for formula in formulas]
    names = " · ".join(parts[0] for parts in sides)
    known = product is not None and all(local is not None for local in locals_)
    if not known:
        return f"{names}   (local Jacobians: shapes only)" if locals_ else names
    line = names
    if all(len(parts) > 1 for parts in sides):
        line += " = " + " · ".join(f"({parts[1]})" if " " in parts[1] else parts[1] for parts in sides)
    if len(locals_) > 1:
        line += " = " + " × ".join(brief(local, precision) for local in locals_)
    written = brief(product, precision)
    return line if line.endswith(f"= {written}") else f"{line} = {written}"


def fan_out_sum(
    parts: Sequence[Any],
    total: Any,
    write: Callable[[Any], str] = format_value,
    *,
    sources: Sequence[str] | None = None,
    expected: int | None = None,
) -> str:
    """The sum at a fan-out: the gradients a node received from the gates it feeds, added.

    Parameters
    ----------
    parts : sequence
        The gradients received, in the order they are written.
    total : value
        Their sum: the node's gradient, or the sum so far.
    write : callable, default format_value
        How each value is written.
    sources : sequence of str, optional
        Who sent each part, written after it as ``(from name)``.
    expected : int, optional
        How many parts will arrive in all: adds ``(so far: 2 of 3)`` or ``(all: 3 of 3)``.

    Examples
    --------
    >>> fan_out_sum([3.0, 3.0], 6.0, expected=3)
    'Σ 3 + 3 = 6 (so far: 2 of 3)'
    >>> fan_out_sum([3.0, 2.0], 5.0, sources=["xy", "x1"])
    'Σ 3 (from xy) + 2 (from x1) = 5'
    >>> fan_out_sum([np.ones(9), np.ones(9)], 2 * np.ones(9))
    'Σ 2 branches = (9,) float64 mean 2 norm 6'
    """
    if sources is not None:
        terms = " + ".join(f"{write(part)} (from {source})" for part, source in zip(parts, sources))
    elif all(not np.shape(part) for part in parts):
        terms = " + ".join(write(part) for part in parts)
    else:
        terms = f"{len(parts)} branches"
    line = f"Σ {terms} = {write(total)}"
    if expected is not None:
        line += f" ({'all' if len(parts) == expected else 'so far'}: {len(parts)} of {expected})"
    return line


def output_names(graph: ComputationalGraph, outputs: Any) -> list[str]:
    """The names of ``outputs`` (a name, a node, or a list of them), by default the graph's outputs.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> y = x * 2.0
    >>> output_names(g, None), output_names(g, x), output_names(g, ["x", y])
    (['mul_1'], ['x'], ['x', 'mul_1'])
    """
    if outputs is None:
        return [node.name for node in graph.outputs]
    if isinstance(outputs, (list, tuple)):
        return [graph[item].name for item in outputs]
    return [graph[outputs].name]


def wrapped(items: Sequence[str], width: int = LINE_WIDTH) -> list[str]:
    """``items`` as a comma-separated list in lines of at most ``width`` characters.

    An item longer than a line is cut, its end written as "…".

    Examples
    --------
    >>> wrapped(["W1 (64, 784)", "b1 (64,)", "W2 (10, 64)", "b2 (10,)"], width=24)
    ['W1 (64, 784), b1 (64,),', 'W2 (10, 64), b2 (10,)']
    >>> wrapped(["a" * 30], width=10)
    ['aaaaaaaa…']
    """
    lines: list[str] = []
    for position, item in enumerate(items):
        text = item if len(item) <= width - 1 else item[: width - 2] + "…"
        text += "," if position < len(items) - 1 else ""
        if lines and len(lines[-1]) + 1 + len(text) <= width:
            lines[-1] += " " + text
        else:
            lines.append(text)
    return lines


def changed_lines(trace: Trace, width: int = LINE_WIDTH) -> list[str]:
    """What a view writes when parameters changed after the pass ``trace`` shows (``Trace.changed``), in lines.

    The pass's record holds their arrays, not copies, so their values are
    drawn as they are now beside gradients of the pass: the reader is told.

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> w, b = g.parameter("W1", [1.0]), g.parameter("b1", [0.0])
    >>> _ = (w * b).sum()
    >>> _ = g.forward()
    >>> changed_lines(g.trace)
    []
    >>> w.value, b.value = [2.0], [1.0]
    >>> changed_lines(g.trace)
    ['changed since forward 1 (e.g. an optimiser step):', 'W1, b1: values shown as they are now']
    """
    names = trace.changed
    if not names:
        return []
    return wrapped([f"changed since forward {trace.forward} (e.g. an optimiser step):"], width) + wrapped(
        [*names[:-1], f"{names[-1]}: values shown as they are now"], width
    )


def contents_lines(
    kinds: Sequence[str], parameters: Sequence[tuple[str, tuple[int, ...]]], width: int = LINE_WIDTH
) -> list[str]:
    """What a scope holds, in lines of at most ``width`` characters: gates by kind, parameters by name and shape.

    Parameters
    ----------
    kinds : sequence of str
        The symbol of each gate, one entry per gate (``"linear"``, ``"*"``).
    parameters : sequence of (name, shape)
        The parameters; up to four are named with their shapes, more are
        counted by shape (``150 parameters: 150 × ()``).
    width : int, default LINE_WIDTH

    Examples
    --------
    >>> contents_lines(["linear", "relu"], [("W1", (64, 784)), ("b1", (64,))])
    ['2 gates: linear, relu', 'W1 (64, 784), b1 (64,) · 50,240 numbers']
    >>> contents_lines(["*"] * 120 + ["+"] * 120 + ["relu"] * 30, [(f"w{i}", ()) for i in range(150)])
    ['270 gates: 120 *, 120 +, 30 relu', '150 parameters: 150 × () · 150 numbers']
    >>> contents_lines([], [])
    ['no gates']
    """
    counts = _counted(kinds)
    if not kinds:
        gates = ["no gates"]
    elif len(counts) == len(kinds):  # each kind once: its name says enough
        gates = _listed(f"{len(kinds)} gate{'s' if len(kinds) != 1 else ''}: ", list(counts), width)
    else:
        gates = _listed(f"{len(kinds)} gates: ", [f"{count} {kind}" for kind, count in counts.items()], width)
    if not parameters:
        return gates
    numbers = f"{sum(int(np.prod(shape)) for _, shape in parameters):,} numbers"
    if len(parameters) <= _NAMED_PARAMETERS:
        held = wrapped([f"{name} {shape}" for name, shape in parameters], width)
    else:
        shapes = [f"{count} × {shape}" for shape, count in _counted([shape for _, shape in parameters]).items()]
        held = _listed(f"{len(parameters)} parameters: ", shapes, width)
    if len(held[-1]) + len(numbers) + 3 <= width:
        held[-1] += f" · {numbers}"
    else:
        held.append(numbers)
    return gates + held


def _counted(items: Sequence[Any]) -> dict[Any, int]:
    """How often each item occurs, in the order of first occurrence."""
    counts: dict[Any, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _listed(head: str, items: list[str], width: int) -> list[str]:
    """``head`` then the first few items, the rest counted: ``… (9 more)``; wrapped to ``width``."""
    if len(items) > _KINDS_SHOWN:
        items = [*items[:_KINDS_SHOWN], f"… ({len(items) - _KINDS_SHOWN} more)"]
    return wrapped([head + items[0], *items[1:]], width)


def _filled(gate: Gate, template: Sequence[str], output: str | None, inputs: Sequence[str] | None) -> list[str]:
    """A template's entries filled with names (the gate's own argument names and ``z`` where none are given)."""
    names = list(inputs) if inputs is not None else [argument_name(gate, i) for i in range(len(template))]
    fields: dict[str, Any] = {"out": output or "z", "gate": gate}
    fields.update((f"in{position}", name) for position, name in enumerate(names))
    return [entry.format_map(fields) for entry in template[: len(names)]]


def _nested(array: np.ndarray, precision: int) -> str:
    if array.ndim == 0:
        return number(array, precision)
    return "[" + ", ".join(_nested(row, precision) for row in array) + "]"


def _summary(array: np.ndarray, precision: int) -> list[str]:
    head = f"{tuple(array.shape)} {array.dtype}"
    if array.size == 0 or array.dtype.kind not in "iufb":
        return [head]
    with np.errstate(all="ignore"):  # inf - inf in a mean is still worth showing, as nan
        data = array.astype(np.float64, copy=False)
        mean = float(np.mean(data))
        norm = float(np.sqrt(np.sum(np.square(data))))
    return [head, f"mean {number(mean, precision)} norm {number(norm, precision)}"]
