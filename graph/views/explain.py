"""The last backward pass in words: what each node received, and what it sent on.

Like the lecture's walk through its circuits, node by node from the output
back to the leaves: the upstream gradient, the gate's local gradient, and
what it passed to each input, with the sum where a node fans out. Reads the
engine's trace of the last pass (through :class:`graph.views.record.LastPass`);
never runs the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from graph.errors import BackwardError, FocusError
from graph.views.focus import Step, count_paths, focus_on, paths
from graph.views.record import LastPass
from graph.views.text import (
    brief,
    chain_rule,
    changed_lines,
    expression,
    fan_out_sum,
    grad_name,
    local_formula,
    node_formulas,
    path_product,
)

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["explain", "heading", "node_block", "sum_over_paths"]

MAX_PATHS = 20


def explain(
    graph: ComputationalGraph,
    *,
    precision: int = 4,
    focus: Node | str | None = None,
    max_paths: int = MAX_PATHS,
) -> str:
    """The last backward pass as text, node by node in reverse topological order.

    For each node the pass reached: its upstream gradient (with the sum of
    its branches where it fans out), for a gate its local-gradient formula
    and, for each input, ``upstream × local = gradient passed on`` (the
    local gradient from the trace). Scalars are written as numbers, arrays by
    shape and dtype. Only the last forward and backward are shown.

    With ``focus``, the gradient of one node instead, as the chain rule
    writes it over a whole graph: the sum over every path from the node to
    the output of the product of the local gradients along the path. See
    :func:`sum_over_paths`.

    Parameters
    ----------
    graph : ComputationalGraph
        A graph after ``forward`` and ``backward``.
    precision : int, default 4
        Significant digits of numbers.
    focus : Node or str, optional
        Explain dL/d(focus) as a sum over paths.
    max_paths : int, default 20
        With ``focus``, list at most this many paths (and say so when there are more).

    Returns
    -------
    str
        One block per node, or with ``focus`` one line per path; ``print`` it.

    Raises
    ------
    BackwardError
        No backward has run since the last forward.
    NodeNotFoundError
        ``focus`` names no node of the graph.
    FocusError
        ``focus`` does not reach the output, or the backward gave it no gradient.

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
        what = "explain()" if focus is None else f"explain(focus={getattr(focus, 'name', focus)!r})"
        raise BackwardError(f"{what} describes the last backward pass: run forward() and backward() first")
    if focus is not None:
        return sum_over_paths(last, focus, precision, max_paths)
    seed = last.backward_order[0]
    blocks = [
        f"backward pass from {seed.name}, seed {grad_name(seed.name)} = {brief(last.grad(seed), precision)}; "
        "nodes in reverse topological order"
    ]
    changed = changed_lines(last.trace)
    if changed:
        blocks.append(" ".join(changed))
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


def sum_over_paths(last: LastPass, focus: Node | str, precision: int = 4, max_paths: int = MAX_PATHS) -> str:
    """dL/d(focus) as the sum over the paths from ``focus`` to the output of the products of local gradients.

    One line per path: the path in the graph's names, then the product of
    its local gradients, as formulas and with their values (the trace's).
    Then the sum, computed from those local gradients over every path (even
    where fewer are listed), beside the gradient the backward pass computed:
    the two agree, up to the rounding of adding in another order. Where a
    local gradient is a Jacobian (an array-valued gate on the path), the
    products are written as formulas, then the chain rule on each edge of the
    paths as the backward pass applied it (shapes, as :func:`explain` writes
    it), and the sum is the backward's, by shape.

    Parameters
    ----------
    last : LastPass
        The last pass; a backward must have run.
    focus : Node or str
        The node whose gradient is explained.
    precision : int, default 4
        Significant digits.
    max_paths : int, default 20
        How many paths to list at most; the heading gives the full count.

    Raises
    ------
    NodeNotFoundError
        No node of the graph has that name.
    FocusError
        The node does not reach the output, or the last backward gave it no gradient.

    Examples
    --------
    >>> from models.lecture import first_circuit
    >>> print(sum_over_paths(LastPass(first_circuit()), "x"))
    dL/dx as a sum over the paths from x to the output f (1 path): on each, the product of the local gradients
      x → q → f   ∂q/∂x · ∂f/∂q = 1 · z = 1 × -4 = -4
    dL/dx = Σ over the paths = -4
    the backward pass computed dL/dx = -4: the same
    """
    graph = last.graph
    if not isinstance(max_paths, int) or isinstance(max_paths, bool) or max_paths < 1:
        raise ValueError(f"max_paths must be a whole number of paths, at least 1, got {max_paths!r}")
    where = focus_on(graph, focus)
    node, output = graph[where.node], graph[where.outputs[0]]
    grad = last.grad(node)
    if grad is None:
        why = "it needs no gradient (data)" if not node.requires_grad else "the backward pass did not reach it"
        raise FocusError(f"focus={node.name!r}: the last backward gave {node.name!r} no gradient: {why}")
    total = count_paths(graph, where)
    listed = list(paths(graph, where, max_paths))
    plural = "path" if total == 1 else "paths"
    lines = [
        f"{grad_name(node.name)} as a sum over the paths from {node.name} to the output {output.name} "
        f"({total:,} {plural}): on each, the product of the local gradients"
    ]
    products = []
    for path in listed:
        product = _product(last, path)
        products.append(product)
        lines.append(f"  {_path_names(graph, path, node.name)}   {_path_rule(last, path, product, precision)}")
    if len(listed) < total:
        lines.append(f"  ... {total - len(listed):,} more paths not listed (max_paths={max_paths})")
    seed = last.grad(output)
    summed = _sum_over_all(last, where) if len(listed) < total else _added(products)
    if summed is not None and seed is not None and not np.all(np.asarray(seed) == 1):
        summed = seed * summed
    write = lambda value: brief(value, precision)  # noqa: E731
    if summed is None:
        lines.append("along the paths' edges, the backward pass multiplied by each local Jacobian (by shape):")
        lines += _edge_rules(last, where, precision, max_paths)
        lines.append(f"{grad_name(node.name)} = Σ over the paths of those products")
    elif len(listed) == total and total > 1 and not np.shape(summed):
        lines.append(f"{grad_name(node.name)} = {fan_out_sum(products, _added(products), write)}")
    else:
        lines.append(f"{grad_name(node.name)} = Σ over the paths = {write(summed)}")
    if summed is not None and seed is not None and not np.all(np.asarray(seed) == 1):
        lines.append(f"  (times the seed {grad_name(output.name)} = {write(seed)}, where the backward pass started)")
    verdict = ""
    if summed is not None:
        same = np.allclose(summed, grad, rtol=1e-9, atol=1e-12)
        verdict = ": the same" if same else f": differs from the sum by {write(np.max(np.abs(summed - grad)))}"
    lines.append(f"the backward pass computed {grad_name(node.name)} = {write(grad)}{verdict}")
    return "\n".join(lines)


def _path_names(graph: ComputationalGraph, path: tuple[Step, ...], start: str) -> str:
    """``x → q → f``; ``x → f (input 2)`` where the gate takes the node at more than one argument."""
    names = [start]
    for step in path:
        sources = [source.name for source in graph[step.target].inputs]
        twice = sources.count(step.source) > 1
        names.append(f"{step.target} (input {step.position + 1})" if twice else step.target)
    return " → ".join(names)


def _local(last: LastPass, step: Step):
    return last.local(last.graph[step.target], step.position)


def _product(last: LastPass, path: tuple[Step, ...]):
    """The product of the path's local gradients, taken from the output's end as the backward multiplies; None
    where one is a Jacobian."""
    product = 1.0
    for step in reversed(path):
        local = _local(last, step)
        if local is None:
            return None
        product = product * local
    return product


def _path_rule(last: LastPass, path: tuple[Step, ...], product, precision: int) -> str:
    if not path:
        return "the output itself: 1"
    formulas = []
    for step in path:
        target = last.graph[step.target]
        inputs = [source.name for source in target.inputs]
        assert target.gate is not None  # a step leads into a gate
        formula = local_formula(target.gate, step.position, len(inputs), target.name, inputs)
        # Each factor is named ∂target/∂source; a template written otherwise (the chapter's ∂L/∂W = ∂Zᵀ A,
        # a gradient rather than a local one) gives its name only, not a right-hand side.
        name = f"∂{target.name}/∂{step.source}"
        written, _, value = formula.partition(" = ")
        formulas.append(f"{name} = {value}" if written == name and value else name)
    return path_product(formulas, [_local(last, step) for step in path], product, precision)


def _edge_rules(last: LastPass, where, precision: int, limit: int) -> list[str]:
    """The chain rule on each edge of the paths, from the output back (the backward's order), as ``explain()``
    writes it: ``to x  upstream × (local) → sent``; at most ``limit`` lines."""
    rules = []
    for target in last.backward_order:
        if target.gate is None or target.name not in where.nodes:
            continue
        inputs = [source.name for source in target.inputs]
        for position, source in enumerate(target.inputs):
            sent = last.sent(target, position)
            if (source.name, target.name) not in where.edges or sent is None:
                continue
            formula = local_formula(target.gate, position, len(inputs), target.name, inputs)
            rule = chain_rule(last.grad(target), sent, formula, precision, last.local(target, position))
            rules.append(f"  {target.name} to {source.name}: {rule}")
    if len(rules) > limit:
        rules[limit:] = [f"  ... {len(rules) - limit:,} more edges"]
    return rules


def _added(products):
    if any(product is None for product in products):
        return None
    total = products[0]
    for product in products[1:]:
        total = total + product
    return total


def _sum_over_all(last: LastPass, where):
    """The sum over every path of its product, without listing the paths: each node's sum over the paths from
    it is the sum, over the edges leaving it on a path, of the edge's local gradient times the sum from its
    target. None where a local gradient is a Jacobian."""
    graph = last.graph
    from_node: dict[str, object] = {}
    for node in reversed([node for node in graph.nodes if node.name in where.nodes]):
        if node.name in where.outputs:
            from_node[node.name] = 1.0
            continue
        terms = []
        for target in graph:
            for position, source in enumerate(target.inputs):
                if source is node and (node.name, target.name) in where.edges:
                    local = last.local(target, position)
                    if local is None or from_node.get(target.name) is None:
                        return None
                    terms.append(local * from_node[target.name])
        from_node[node.name] = _added(terms)
    return from_node[where.node]
