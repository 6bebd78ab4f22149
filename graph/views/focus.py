"""The paths from a graph's output back to one node: what ``focus=`` highlights and explains.

``render(path, focus="W1")``, ``animate(path, focus="W1")`` and
``explain(focus="w0")`` all ask the same question: which nodes and edges lie
on some path from the node to the output, along which the chain rule carries
dL/d(output) back to it. :func:`focus_on` answers it once, as a :class:`Focus`;
:func:`paths` lists the paths themselves, edge by edge, a bounded number of
them (an MLP's weight reaches its loss along as many paths as there are
products of layer widths), and :func:`count_paths` counts them all without
listing them.

The output is the node the last backward started from (``g.trace.backward``);
before any backward, the outputs the last forward computed, or else the
graph's outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import networkx as nx

from graph.errors import FocusError

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["Focus", "Step", "focus_on", "paths", "count_paths"]


class Step(NamedTuple):
    """One edge of a path: ``source`` feeds argument ``position`` of the gate node ``target``."""

    source: str
    target: str
    position: int


class Focus(NamedTuple):
    """The part of a graph on some path from ``node`` to one of ``outputs``.

    Attributes
    ----------
    node : str
        The focused node.
    outputs : tuple of str
        Where the paths end: the last backward's output, or the outputs the
        paths could end at before any backward.
    nodes : frozenset of str
        Every node on some path, ``node`` and its output(s) included.
    edges : frozenset of (str, str)
        Every edge ``(source, target)`` on some path.
    """

    node: str
    outputs: tuple[str, ...]
    nodes: frozenset[str]
    edges: frozenset[tuple[str, str]]


def focus_on(graph: ComputationalGraph, node: Node | str) -> Focus:
    """The nodes and edges on the paths from ``node`` to the output.

    Parameters
    ----------
    graph : ComputationalGraph
    node : Node or str
        The node to focus on, by name or handle.

    Raises
    ------
    NodeNotFoundError
        No node of the graph has that name (with a did-you-mean).
    FocusError
        The node reaches no output: no gradient of the output flows to it.

    Examples
    --------
    >>> from models.lecture import first_circuit
    >>> focus = focus_on(first_circuit(), "x")
    >>> focus.outputs, sorted(focus.nodes), sorted(focus.edges)
    (('f',), ['f', 'q', 'x'], [('q', 'f'), ('x', 'q')])
    """
    start = graph[node]  # a name not in the graph: NodeNotFoundError with did-you-mean
    trace = graph.trace
    if trace.backward is not None:
        ends: tuple[str, ...] = (trace.backward,)
    else:
        ends = trace.outputs or tuple(output.name for output in graph.outputs)
    dag = graph.dag
    below = nx.descendants(dag, start.name) | {start.name}
    reached = tuple(end for end in ends if end in below)
    if not reached:
        where = f"the output {ends[0]!r}" if len(ends) == 1 else f"any of the outputs {', '.join(map(repr, ends))}"
        if not ends:
            where = "an output (the graph has none yet)"
        raise FocusError(
            f"focus={start.name!r}: node {start.name!r} does not reach {where}, so no gradient of it flows back there; "
            "focus on a node the output depends on"
        )
    above: set[str] = set()
    for end in reached:
        above |= nx.ancestors(dag, end) | {end}
    nodes = frozenset(below & above)
    edges = frozenset((source.name, name) for name in nodes for source in graph[name].inputs if source.name in nodes)
    return Focus(start.name, reached, nodes, edges)


def _steps_from(graph: ComputationalGraph, focus: Focus) -> dict[str, list[Step]]:
    """For each node on the paths, the edges leaving it along a path, in the order the graph's nodes were made."""
    leaving: dict[str, list[Step]] = {}
    for target in graph:
        if target.name not in focus.nodes:
            continue
        for position, source in enumerate(target.inputs):
            if (source.name, target.name) in focus.edges:
                leaving.setdefault(source.name, []).append(Step(source.name, target.name, position))
    return leaving


def paths(graph: ComputationalGraph, focus: Focus, limit: int | None = None) -> Iterator[tuple[Step, ...]]:
    """The paths from ``focus.node`` to its output(s), each a tuple of :class:`Step`, at most ``limit`` of them.

    A gate that takes one node at two arguments (``x * x``) gives two paths
    through it, one per argument. The focused output itself has one path, of
    no steps.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> f = (x * x).named("f")
    >>> [[(s.source, s.target, s.position) for s in path] for path in paths(g, focus_on(g, x))]
    [[('x', 'f', 0)], [('x', 'f', 1)]]
    """
    leaving = _steps_from(graph, focus)
    ends = set(focus.outputs)
    found = 0
    stack: list[tuple[str, tuple[Step, ...]]] = [(focus.node, ())]
    while stack and (limit is None or found < limit):
        name, path = stack.pop()
        if name in ends:
            found += 1
            yield path
            continue  # an output feeds nothing on the paths
        for step in reversed(leaving.get(name, [])):  # reversed: the first made is taken first
            stack.append((step.target, (*path, step)))


def count_paths(graph: ComputationalGraph, focus: Focus) -> int:
    """How many paths lead from ``focus.node`` to its output(s), counted without listing them.

    Examples
    --------
    >>> from models.lecture import sigmoid_neuron
    >>> g = sigmoid_neuron()
    >>> count_paths(g, focus_on(g, "w0"))
    1
    """
    leaving = _steps_from(graph, focus)
    ends = set(focus.outputs)
    counts: dict[str, int] = {}
    for name in reversed([node.name for node in graph.nodes if node.name in focus.nodes]):  # outputs first
        counts[name] = 1 if name in ends else sum(counts[step.target] for step in leaving.get(name, []))
    return counts[focus.node]
