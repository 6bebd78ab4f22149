"""The last forward and backward pass as every view reads it: the engine's trace (``g.trace``), by node.

:class:`LastPass` answers what the diagram, the explanation and the
animation ask, from :class:`graph.trace.Trace` only: the value a node took in
the last forward (None for a node that pass did not run, never an older
value), the gradient the last backward gave it, what each gate sent to each
input and its local gradient there, the contributions summed where a node
fans out, and the order of the steps. No view reads a node's values or
gradients but through it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx

from graph.errors import BackwardError, ShapeError

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node
    from graph.trace import EdgeRecord

__all__ = ["Contribution", "LastPass"]


class Contribution(NamedTuple):
    """One gradient a node received: what the gate ``target`` sent back to its argument ``position``."""

    target: Node
    position: int
    sent: Any


class LastPass:
    """What the last forward and backward pass of ``graph`` computed, as its trace records it.

    Attributes
    ----------
    graph : ComputationalGraph
    trace : graph.trace.Trace
        The trace every answer comes from, taken once.
    forward_order : list of Node
        The nodes the last forward ran, in the order it ran them (leaves first).
    backward_order : list of Node
        The nodes the last backward reached, from the output back to the
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
    >>> last.local(g["mul_1"], 0)   # d(x*y)/dx = y
    -4.0
    """

    def __init__(self, graph: ComputationalGraph):
        self.graph = graph
        self.trace = graph.trace
        self._nodes = self.trace.nodes

    @cached_property
    def forward_order(self) -> list[Node]:
        return [self.graph[name] for name in self.trace.order]

    @cached_property
    def backward_order(self) -> list[Node]:
        graph = self.graph
        created = {node.name: index for index, node in enumerate(graph)}
        names = nx.lexicographical_topological_sort(graph.dag.reverse(copy=False), key=created.__getitem__)
        return [graph[name] for name in names if self._nodes[name].grad is not None]

    @cached_property
    def _received(self) -> dict[str, list[Contribution]]:
        received: dict[str, list[Contribution]] = {}
        for edge in self.trace.edges:  # gate by gate in the forward's order: the targets in creation order
            if edge.sent is not None:
                contribution = Contribution(self.graph[edge.target], edge.position, edge.sent)
                received.setdefault(edge.source, []).append(contribution)
        return received

    def value(self, node: Node) -> Any:
        """The value ``node`` took in the last forward; None where that forward did not run it."""
        return self._nodes[node.name].value

    def grad(self, node: Node) -> Any:
        """dL/d(node) from the last backward; None where it did not reach, or before a backward."""
        return self._nodes[node.name].grad

    def held(self, node: Node) -> Any:
        """What a constant or parameter holds now: part of the graph (a constant's number, a parameter's size), not
        a pass's result. None for inputs and gates, whose values only a pass gives."""
        return node.value if node.kind in ("constant", "parameter") else None

    def flowed(self, target: Node, position: int) -> Any:
        """The value that flowed into gate ``target``'s input ``position`` in the last forward; None where that
        forward did not run ``target``."""
        edge = self._edge(target, position)
        return None if edge is None else edge.value

    def sent(self, target: Node, position: int) -> Any:
        """What gate ``target`` sent back to its input ``position``; None where that input wanted nothing."""
        edge = self._edge(target, position)
        return None if edge is None else edge.sent

    def local(self, target: Node, position: int) -> Any:
        """d(target)/d(input ``position``) at the last forward's values, where ``target`` has one element.

        The trace's :meth:`~graph.trace.Trace.local_gradient`; None where the
        target holds an array (its local gradient is a Jacobian), sent nothing,
        or no longer holds what the traced forward cached (a ``forward(keep=False)``
        ran its gate since: the diagram and the explanation then show the
        pass's values and gradients without that local gradient).
        """
        edge = self._edge(target, position)
        if edge is None or edge.sent is None:
            return None
        try:
            return self.trace.local_gradient(edge)
        except (ShapeError, BackwardError):
            return None

    def received(self, node: Node) -> list[Contribution]:
        """Every gradient ``node`` received, one per use, its senders in the order they were added to the graph."""
        return self._received.get(node.name, [])

    def _edge(self, target: Node, position: int) -> EdgeRecord | None:
        incoming = self.trace.incoming(target.name)
        return incoming[position] if position < len(incoming) else None
