"""The last forward and backward pass, as every view reads it: the one place views read the engine's results.

:class:`LastPass` answers what the diagram, the explanation and the
animation ask: the value a node holds, the gradient it received, what each
gate sent to each input, the contributions summed where a node fans out, and
the order of the steps. No view reads a node's values or gradients but
through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["Contribution", "LastPass"]


class Contribution(NamedTuple):
    """One gradient a node received: what the gate ``target`` sent back to its argument ``position``."""

    target: Node
    position: int
    sent: Any


class LastPass:
    """What the last forward and backward pass of ``graph`` computed.

    Attributes
    ----------
    graph : ComputationalGraph
    forward_order : list of Node
        The nodes holding a value, leaves first, in the order they were added.
    backward_order : list of Node
        The nodes the backward pass reached, from the output back to the
        leaves; among nodes ready together, the first created first (x before y).

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y = g.input("x"), g.input("y")
    >>> f = x * y + x
    >>> _ = g.forward(x=3.0, y=-4.0), g.backward()
    >>> last = LastPass(g)
    >>> [node.name for node in last.backward_order]
    ['add_1', 'mul_1', 'x', 'y']
    >>> [(c.target.name, c.position, float(c.sent)) for c in last.received(x)]
    [('mul_1', 0, -4.0), ('add_1', 1, 1.0)]
    """

    def __init__(self, graph: ComputationalGraph):
        self.graph = graph
        self.forward_order = [node for node in graph.nodes if node.value is not None]
        created = {node.name: index for index, node in enumerate(graph)}
        names = nx.lexicographical_topological_sort(graph.dag.reverse(copy=False), key=created.__getitem__)
        self.backward_order = [graph[name] for name in names if graph[name].grad is not None]
        self._received: dict[str, list[Contribution]] = {}
        for target in graph:
            for position, source in enumerate(target.inputs):
                sent = self.sent(target, position)
                if sent is not None:
                    self._received.setdefault(source.name, []).append(Contribution(target, position, sent))

    def value(self, node: Node) -> Any:
        """The value ``node`` holds after the last forward; None before any."""
        return node.value

    def grad(self, node: Node) -> Any:
        """dL/d(node) from the last backward; None where it did not reach."""
        return node.grad

    def sent(self, target: Node, position: int) -> Any:
        """What gate ``target`` sent back to its input ``position``; None where that input wanted nothing."""
        if target.input_grads is None or not target.inputs[position].requires_grad:
            return None
        return target.input_grads[position]

    def received(self, node: Node) -> list[Contribution]:
        """Every gradient ``node`` received, one per use, its senders in the order they were added."""
        return self._received.get(node.name, [])
