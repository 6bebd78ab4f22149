"""The last backward pass in words: what each node received, and what it sent on.

Like the lecture's walk through its circuits, node by node from the output
back to the leaves: the upstream gradient, the gate's local gradient, and
what it passed to each input, with the sum where a node fans out. Reads the
engine's trace of the last pass (through :class:`graph.views.record.LastPass`);
never runs the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.errors import BackwardError
from graph.views.record import LastPass
from graph.views.text import (
    brief,
    chain_rule,
    expression,
    fan_out_sum,
    grad_name,
    local_formula,
    node_formulas,
)

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["explain", "heading", "node_block"]


def explain(graph: ComputationalGraph, *, precision: int = 4) -> str:
    """The last backward pass as text, node by node in reverse topological order.

    For each node the pass reached: its upstream gradient (with the sum of
    its branches where it fans out), for a gate its local-gradient formula
    and, for each input, ``upstream × local = gradient passed on`` (the
    local gradient from the trace). Scalars are written as numbers, arrays by
    shape and dtype. Only the last forward and backward are shown.

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
      local     ∂f/∂x = y = -4, ∂f/∂y = x = 3
      pattern   gradient switcher: scales the upstream gradient by the other input's value
      to x      1 × -4 = -4   (∂f/∂x = y)
      to y      1 × 3 = 3   (∂f/∂y = x)
    <BLANKLINE>
    x   input   value 3
      dL/dx = -4
    <BLANKLINE>
    y   input   value -4
      dL/dy = 3
    """
    last = LastPass(graph)
    if not last.backward_order:
        raise BackwardError("explain() describes the last backward pass: run forward() and backward() first")
    seed = last.backward_order[0]
    blocks = [
        f"backward pass from {seed.name}, seed {grad_name(seed.name)} = {brief(last.grad(seed), precision)}; "
        "nodes in reverse topological order"
    ]
    blocks += [node_block(last, node, precision) for node in last.backward_order]
    reached = set(last.backward_order)
    skipped = [node.name for node in graph.nodes if node not in reached and node.kind != "constant"]
    if skipped:
        blocks.append(f"not reached (no gradient needed here): {', '.join(skipped)}")
    return "\n\n".join(blocks)


def heading(last: LastPass, node: Node, precision: int = 4) -> str:
    """A node's first line: ``q = x + y   AddGate (+)   value 3`` for a gate, ``x   input   value -2`` for a leaf.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> q = g.input("x") + g.input("y")
    >>> _ = g.forward(x=-2.0, y=5.0)
    >>> heading(LastPass(g), q), heading(LastPass(g), g["x"])
    ('add_1 = x + y   AddGate (+)   value 3', 'x   input   value -2')
    """
    value = brief(last.value(node), precision)
    if node.gate is None:
        return f"{node.name}   {node.kind}   value {value}"
    formula = expression(node.gate, [source.name for source in node.inputs])
    return f"{node.name} = {formula}   {type(node.gate).__name__} ({node.gate.symbol})   value {value}"


def node_block(last: LastPass, node: Node, precision: int = 4) -> str:
    """The paragraph of :func:`explain` about one node the backward pass reached.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> f = x * x
    >>> _ = g.forward(x=3.0), g.backward()
    >>> print(node_block(LastPass(g), x))
    x   input   value 3
      dL/dx = Σ 3 (from mul_1 as input 1) + 3 (from mul_1 as input 2) = 6   (fan-out: the branches' gradients add)
    """
    if node.gate is None:
        return f"{heading(last, node, precision)}\n  {_upstream(last, node, precision)}"
    gate = node.gate
    lines = [heading(last, node, precision), f"  upstream  {_upstream(last, node, precision)}"]
    for label, text in (
        ("local", ", ".join(node_formulas(last, node, precision))),
        ("pattern", getattr(gate, "pattern", "")),
    ):
        if text:
            lines.append(f"  {label:<8}  {text}")
    inputs = [source.name for source in node.inputs]
    width = max(12, *(len(source.name) + 7 for source in node.inputs))
    for position, source in enumerate(node.inputs):
        target = f"  to {source.name}".ljust(width)
        sent = last.sent(node, position)
        if sent is None:
            lines.append(f"{target}nothing (needs no gradient)")
            continue
        formula = local_formula(gate, position, len(inputs), node.name, inputs)
        local = last.local(node, position)
        lines.append(f"{target}{chain_rule(last.grad(node), sent, formula, precision, local)}")
    return "\n".join(lines)


def _upstream(last: LastPass, node: Node, precision: int) -> str:
    """``dL/dname = total``, or the sum of the branches where the node fans out."""
    total = last.grad(node)
    received = last.received(node)
    if len(received) < 2:
        return f"{grad_name(node.name)} = {brief(total, precision)}"
    senders = [part.target.name for part in received]
    sources = [
        f"{part.target.name} as input {part.position + 1}" if senders.count(part.target.name) > 1 else part.target.name
        for part in received
    ]
    parts = [part.sent for part in received]
    line = fan_out_sum(parts, total, lambda value: brief(value, precision), sources=sources)
    return f"{grad_name(node.name)} = {line}   (fan-out: the branches' gradients add)"
