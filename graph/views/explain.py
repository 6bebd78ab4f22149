"""The last backward pass in words: what each node received, and what it sent on.

Like the lecture's walk through its circuits, node by node from the output
back to the leaves: the upstream gradient, the gate's local gradient, their
product passed to each input, and the sum where a node fans out. Reads the
graph; never runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from graph.errors import BackwardError
from graph.views.diagram import _argument_name, _number, local_formula

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["explain"]


def explain(graph: ComputationalGraph, *, precision: int = 4) -> str:
    """The last backward pass as text, node by node in reverse topological order.

    For each node the pass reached: its upstream gradient (with the sum of
    its branches where it fans out), for a gate its local-gradient formula
    and, for each input, ``upstream × local = gradient passed on``. Scalars
    are written as numbers, arrays by shape and dtype.

    Parameters
    ----------
    graph : ComputationalGraph
        A graph after ``forward`` and ``backward``.
    precision : int, default 4
        Significant digits of numbers.

    Returns
    -------
    str
        One block per node; ``print`` it.

    Raises
    ------
    BackwardError
        No backward has run since the last forward.

    Examples
    --------
    >>> from gates import MultiplyGate
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y = g.input("x"), g.input("y")
    >>> f = g.add_gate(MultiplyGate(), x, y, name="f")
    >>> _ = g.forward(x=3.0, y=-4.0), g.backward()
    >>> print(explain(g))
    backward pass from f, seed dL/df = 1; nodes in reverse topological order
    <BLANKLINE>
    f = x * y   MultiplyGate (*)   value -12
      upstream  dL/df = 1
      local     dz/dx = y, dz/dy = x
      pattern   gradient switcher: scales the upstream gradient by the other input's value
      to x      1 × -4 = -4   (dz/dx = y)
      to y      1 × 3 = 3   (dz/dy = x)
    <BLANKLINE>
    x   input   value 3
      dL/dx = -4
    <BLANKLINE>
    y   input   value -4
      dL/dy = 3
    """
    order = _reverse_order(graph)
    reached = [node for node in order if node.grad is not None]
    if not reached:
        raise BackwardError("explain() describes the last backward pass: run forward() and backward() first")
    received = _received(graph)
    seed = reached[0]
    blocks = [
        f"backward pass from {seed.name}, seed {_d(seed.name)} = {_short(seed.grad, precision)}; "
        "nodes in reverse topological order"
    ]
    for node in reached:
        blocks.append(_block(node, received.get(node.name, []), precision))
    skipped = [node.name for node in order if node.grad is None and node.kind != "constant"]
    if skipped:
        blocks.append(f"not reached (no gradient needed here): {', '.join(skipped)}")
    return "\n\n".join(blocks)


def _reverse_order(graph: ComputationalGraph) -> list[Node]:
    """Reverse topological order; among nodes ready together, the first created first (x before y)."""
    created = {node.name: index for index, node in enumerate(graph)}
    names = nx.lexicographical_topological_sort(graph.dag.reverse(copy=False), key=created.__getitem__)
    return [graph[name] for name in names]


def _received(graph: ComputationalGraph) -> dict[str, list[tuple[Node, int, object]]]:
    """For each node, the (gate, argument, gradient) of every use that sent it a gradient."""
    received: dict[str, list] = {}
    for target in graph:
        if target.input_grads is None:
            continue
        for position, (source, grad) in enumerate(zip(target.inputs, target.input_grads)):
            if grad is not None and source.requires_grad:
                received.setdefault(source.name, []).append((target, position, grad))
    return received


def _heading(node: Node, precision: int) -> str:
    """``q = x + y   AddGate (+)   value 3`` for a gate, ``x   input   value -2`` for a leaf."""
    value = _short(node.value, precision)
    if node.kind != "gate":
        return f"{node.name}   {node.kind}   value {value}"
    gate = node.gate
    return f"{node.name} = {_expression(node)}   {type(gate).__name__} ({gate.symbol})   value {value}"


def _block(node: Node, received, precision: int) -> str:
    if node.kind != "gate":
        return "\n".join([_heading(node, precision), f"  {_upstream(node, received, precision)}"])
    gate = node.gate
    lines = [_heading(node, precision)]
    lines.append(f"  upstream  {_upstream(node, received, precision)}")
    formula = getattr(gate, "local_gradient", "")
    if formula:
        lines.append(f"  local     {formula}")
    pattern = getattr(gate, "pattern", "")
    if pattern:
        lines.append(f"  pattern   {pattern}")
    sent = node.input_grads or (None,) * len(node.inputs)
    width = max(12, *(len(source.name) + 7 for source in node.inputs))
    for position, (source, downstream) in enumerate(zip(node.inputs, sent)):
        target = f"  to {source.name}".ljust(width)
        if downstream is None or not source.requires_grad:
            lines.append(f"{target}nothing (needs no gradient)")
            continue
        part = local_formula(gate, position, len(node.inputs))
        lines.append(f"{target}{_chain(node.grad, downstream, part, precision)}")
    return "\n".join(lines)


def _upstream(node: Node, received, precision: int) -> str:
    """``dL/dname = total``, or the sum of the branches where the node fans out."""
    total = _short(node.grad, precision)
    if len(received) < 2:
        return f"{_d(node.name)} = {total}"
    twice = {target.name for target, _, _ in received if sum(t is target for t, _, _ in received) > 1}
    parts = " + ".join(
        f"{_short(grad, precision)} (from {target.name}"
        + (f" as {_argument_name(target, position)})" if target.name in twice else ")")
        for target, position, grad in received
    )
    return f"{_d(node.name)} = {parts} = {total}   (fan-out: the branches' gradients add)"


def _d(name: str) -> str:
    """dL/dx, or dL/d(add_1) where the name would run into the d."""
    return f"dL/d{name}" if name.isalnum() else f"dL/d({name})"


def _chain(upstream, downstream, formula: str, precision: int) -> str:
    note = f"   ({formula})" if formula else ""
    if np.size(upstream) == 1 and np.size(downstream) == 1 and not np.shape(downstream):
        up, down = float(np.ravel(upstream)[0]), float(downstream)
        local = _number(down / up, precision) if up != 0 else "local"
        return f"{_number(up, precision)} × {local} = {_number(down, precision)}{note}"
    return f"{_short(upstream, precision)} → {_short(downstream, precision)}{note}"


def _short(value, precision: int) -> str:
    """A scalar as a number, an array by shape and dtype."""
    if value is None:
        return "none"
    if not np.shape(value):
        return _number(value, precision)
    return f"{tuple(np.shape(value))} {np.asarray(value).dtype}"


def _expression(node: Node) -> str:
    """``x + y`` for a binary operator symbol, ``exp(x)`` (the gate's short name) otherwise."""
    names = [source.name for source in node.inputs]
    symbol = str(node.gate.symbol)
    if len(names) == 2 and symbol and not symbol[0].isalpha():
        return f"{names[0]} {symbol} {names[1]}"
    return f"{node.gate.short_name}({', '.join(names)})"
