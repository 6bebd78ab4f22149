"""The plan: which nodes a pass visits, in which order, as named step records.

The one place that orders a graph: the order is networkx's topological sort
of the graph's DiGraph (``g.dag``), creation order breaking ties; a cycle is
found by networkx and reported naming its nodes; :func:`ancestors` selects
what some outputs need. The passes, forward mode, Jacobians, ONNX export and
the views all ask here.

A plan numbers the nodes it runs: each node's *slot* is its index in
``Plan.order``, and a pass keeps values and gradients in lists indexed by
slot. A forward step and a backward step name the same things the same way.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import networkx as nx

from graph.errors import CycleError
from graph.node import GateNode, NodeKind

if TYPE_CHECKING:
    from gates import Gate
    from graph.node import Node

__all__ = [
    "ancestors",
    "digraph",
    "topological_order",
    "cycle_through",
    "cycle_text",
    "forward_plan",
    "backward_plan",
    "last_reads",
    "ForwardStep",
    "BackwardStep",
    "LeafRead",
    "FeedRead",
    "ResultSlot",
    "Plan",
    "BackwardPlan",
]


class ForwardStep(NamedTuple):
    """One gate node of a forward pass: ``values[slot] = gate.forward(*values[inputs])``."""

    node: Node
    gate: Gate
    inputs: tuple[int, ...]  # the slots of the gate's arguments, in argument order
    slot: int  # where its output goes


class BackwardStep(NamedTuple):
    """One gate node of a backward pass: ``gate.backward(grads[slot])`` sends to ``grads[inputs]``."""

    node: Node
    gate: Gate
    inputs: tuple[int, ...]  # as in ForwardStep
    slot: int  # as in ForwardStep: the upstream gradient is read from here
    wanted: tuple[bool, ...]  # per argument: whether its gradient is needed (its node requires one)


class LeafRead(NamedTuple):
    """A parameter or constant: the forward reads ``node.value`` into ``values[slot]``."""

    node: Node
    slot: int


class FeedRead(NamedTuple):
    """An input: the forward reads ``feeds[name]`` into ``values[slot]``.

    It holds the node, not its name, so that a plan follows a rename.
    """

    node: Node
    slot: int

    @property
    def name(self) -> str:
        """The input's name now: the key its feed goes by."""
        return self.node.name


class ResultSlot(NamedTuple):
    """An input or parameter whose gradient backward returns, read from ``grads[slot]``, by its name now."""

    node: Node
    slot: int

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class BackwardPlan:
    """The gate nodes one output's backward visits, in reverse order."""

    output_node: Node
    output_slot: int
    steps: list[BackwardStep]
    results: list[ResultSlot]

    @property
    def output(self) -> str:
        """The output's name now (a plan holds nodes, so it follows a rename)."""
        return self.output_node.name


@dataclass
class Plan:
    """How to run the part of the graph that some outputs need.

    Every node of ``order`` has a slot, its index there. A plan holds nodes,
    never names, so that renaming a node leaves it valid.
    """

    output_nodes: tuple[Node, ...]
    order: list[Node]
    needed: set[Node]  # the nodes of ``order``, for membership tests
    leaves: list[LeafRead]
    feeds: list[FeedRead]
    steps: list[ForwardStep]
    output_slots: tuple[int, ...]  # the slots of ``output_nodes``, in order
    backward_plans: dict[Node, BackwardPlan] = field(default_factory=dict)  # by output node

    @property
    def outputs(self) -> tuple[str, ...]:
        """The outputs' names now."""
        return tuple([node.name for node in self.output_nodes])

    @functools.cached_property
    def last_reads(self) -> dict[int, tuple[int, ...]]:
        """By step slot, the gate slots no later step reads, outputs excepted: see :func:`last_reads`.

        Worked out by the first pass that keeps nothing (``forward(keep=False)``), not when the plan is
        made: most plans never run one, and it was a third of making a plan (100,000 gates: 1.5 of 3.8 us
        per gate).
        """
        return last_reads(self.steps, self.output_slots)

    @functools.cached_property
    def sole_reads(self) -> dict[int, frozenset[int]]:
        """By step slot, the argument positions whose value that step alone reads, made by a gate, not an output.

        What a pass no backward reads lets a gate write into (``Gate.can_overwrite``); worked out by the
        first such pass, as :attr:`last_reads` is.
        """
        readers = collections.Counter(source for step in self.steps for source in step.inputs)
        made_here = {step.slot for step in self.steps} - set(self.output_slots)
        found = {}
        for step in self.steps:
            sole = frozenset(i for i, source in enumerate(step.inputs) if source in made_here and readers[source] == 1)
            if sole:
                found[step.slot] = sole
        return found


def ancestors(nodes: Iterable[Node]) -> set[Node]:
    """The given nodes and every node they depend on: what computing them needs.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y = g.input("x"), g.input("y")
    >>> double, square = x * 2.0, y * y
    >>> sorted(node.name for node in ancestors([double]))
    ['const_1', 'mul_1', 'x']
    """
    found = set(nodes)
    stack = list(found)
    while stack:
        for source in stack.pop().inputs:
            if source not in found:
                found.add(source)
                stack.append(source)
    return found


def digraph(nodes: Iterable[Node]) -> nx.DiGraph:
    """The structure as a ``networkx.DiGraph``: node names, an edge from each input to its gate.

    Each edge's ``args`` attribute holds the argument positions it feeds
    (``(0, 1)`` for ``x * x``). Nodes are added in the order given, their
    edges in one call: networkx's bulk insertion, three times as fast as
    edge by edge on 10,000 gates.

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> square = x * x
    >>> list(digraph(g.nodes).edges(data=True))
    [('x', 'mul_1', {'args': (0, 1)})]
    """
    listed = list(nodes)
    dag = nx.DiGraph()
    dag.add_nodes_from([node.name for node in listed])
    dag.add_edges_from(_edges(listed))
    return dag


# The attributes of an edge feeding the first or the second argument, the common cases. networkx copies an
# edge's attributes into a dict of its own (DiGraph.add_edges_from), so every edge can be handed the same one:
# one dict fewer made per edge (100,000 gates: 0.3 us per gate).
_FIRST_ARGUMENT: dict[str, tuple[int, ...]] = {"args": (0,)}
_SECOND_ARGUMENT: dict[str, tuple[int, ...]] = {"args": (1,)}


def _edges(nodes: list[Node]) -> Iterator[tuple[str, str, dict[str, tuple[int, ...]]]]:
    """Each edge once, with the argument positions it feeds; the common cases with shared attributes."""
    for node in nodes:
        inputs, name = node.inputs, node.name
        if len(inputs) == 1:
            yield inputs[0].name, name, _FIRST_ARGUMENT
        elif len(inputs) == 2 and inputs[0] is not inputs[1]:
            yield inputs[0].name, name, _FIRST_ARGUMENT
            yield inputs[1].name, name, _SECOND_ARGUMENT
        else:  # no inputs, more than two, or one feeding several arguments (x * x)
            positions: dict[str, tuple[int, ...]] = {}
            for position, source in enumerate(inputs):
                positions[source.name] = (*positions.get(source.name, ()), position)
            for source_name, args in positions.items():
                yield source_name, name, {"args": args}


def topological_order(dag: nx.DiGraph, creation: Mapping[str, int]) -> list[str]:
    """networkx's topological sort of ``dag``, generation by generation, creation order within each.

    A generation is what can run once the ones before it have (networkx's
    ``topological_generations``): leaves first, then every gate whose inputs
    are all leaves, and so on. Within a generation, ``creation`` (lowest
    first) breaks the tie, so the order is the same at every run.
    networkx's lexicographical sort, which breaks every tie by creation, took
    three times as long on a 100,000-gate graph (benchmarks/build_plan.py).

    Raises
    ------
    CycleError
        The graph has a cycle (found by networkx), naming its nodes.

    Examples
    --------
    >>> dag = nx.DiGraph([("x", "b"), ("x", "a"), ("a", "b")])
    >>> topological_order(dag, {"x": 0, "b": 1, "a": 2})
    ['x', 'a', 'b']
    >>> dag.add_edge("b", "x")
    >>> topological_order(dag, {"x": 0, "b": 1, "a": 2})
    Traceback (most recent call last):
    ...
    graph.errors.CycleError: the graph has a cycle: x -> b -> x (2 nodes); rewire one of its gates
    """
    order: list[str] = []
    try:
        for generation in nx.topological_generations(dag):
            # A chain of gates is a generation per gate: calling sorted on each of those one-node generations
            # was a fifth of the sort (100,000 gates: 4.1 -> 3.2 us per gate, measured with the collector paused).
            order += sorted(generation, key=creation.__getitem__) if len(generation) > 1 else generation
    except nx.NetworkXUnfeasible:
        path = [source for source, _ in nx.find_cycle(dag)]
        raise CycleError(f"the graph has a cycle: {cycle_text(path)}; rewire one of its gates") from None
    return order


def cycle_through(dag: nx.DiGraph, node: str, sources: Iterable[str]) -> list[str] | None:
    """The chain ``node -> ... -> source`` that feeding ``source`` into ``node`` would close, if any.

    >>> cycle_through(nx.DiGraph([("x", "a"), ("a", "b"), ("b", "c")]), "a", ["x", "c"])
    ['a', 'b', 'c']
    """
    for source in sources:
        if source == node:
            return [node]
        if nx.has_path(dag, node, source):
            return list(nx.shortest_path(dag, node, source))
    return None


def cycle_text(path: list[str], shown: int = 3) -> str:
    """``a -> b -> a``; for a long cycle its first and last few nodes and its length.

    >>> cycle_text([f"n{i}" for i in range(100)], shown=2)
    'n0 -> n1 -> ... (96 more) ... -> n98 -> n99 -> n0 (100 nodes)'
    """
    names = list(path)
    if len(names) > 2 * shown + 1:
        hidden = len(names) - 2 * shown
        names = [*names[:shown], f"... ({hidden:,} more) ...", *names[-shown:]]
    return " -> ".join([*names, path[0]]) + f" ({len(path):,} node{'s' if len(path) > 1 else ''})"


def forward_plan(nodes: list[Node], outputs: list[Node]) -> Plan:
    """The plan that computes ``outputs``: the nodes they need, taken from ``nodes`` in its (topological) order."""
    needed = ancestors(outputs)
    order = [node for node in nodes if node in needed]
    slots = {node: slot for slot, node in enumerate(order)}
    leaves, feeds, steps = [], [], []
    slot_of = slots.__getitem__
    for slot, node in enumerate(order):
        if isinstance(node, GateNode):  # map, not a list comprehension: no list made and dropped per gate
            steps.append(ForwardStep(node, node.gate, tuple(map(slot_of, node.inputs)), slot))
        elif node.kind is NodeKind.INPUT:
            feeds.append(FeedRead(node, slot))
        else:
            leaves.append(LeafRead(node, slot))
    output_slots = tuple(slots[node] for node in outputs)
    return Plan(tuple(outputs), order, needed, leaves, feeds, steps, output_slots)


def last_reads(steps: list[ForwardStep], kept: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """By step slot, the gate nodes' slots whose last reader that step is, except ``kept``.

    A pass that keeps nothing for backward lets each gate's value go once
    the last gate reading it has run (leaves are the graph's own values).

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> y = (x * 2.0).tanh() + x
    >>> plan = forward_plan(g.nodes, [y])
    >>> [(plan.order[step].name, [plan.order[s].name for s in slots]) for step, slots in plan.last_reads.items()]
    [('tanh_1', ['mul_1']), ('add_1', ['tanh_1'])]
    """
    last: dict[int, int] = {}
    gate_slots = {step.slot for step in steps}
    for step in steps:
        for source in step.inputs:
            if source in gate_slots:
                last[source] = step.slot
    by_step: dict[int, list[int]] = {}
    kept = set(kept)
    for source, reader in last.items():
        if source not in kept:
            by_step.setdefault(reader, []).append(source)
    return {reader: tuple(sources) for reader, sources in by_step.items()}


def backward_plan(plan: Plan, output: Node) -> BackwardPlan:
    """The backward of ``output`` through ``plan``: the gate nodes it reaches that need a gradient, in reverse.

    Tells each gate which of its inputs want a gradient
    (``gate.needs_input_grad``), so that it can skip the others.
    """
    reaching = plan.needed if plan.output_nodes == (output,) else ancestors([output])
    requires = [node.requires_grad for node in plan.order]  # by slot
    required = requires.__getitem__
    patterns: dict[tuple[bool, ...], tuple[bool, ...]] = {}  # a few, shared: not a tuple a gate (52 bytes each)
    steps = []
    for node, gate, inputs, slot in reversed(plan.steps):
        if requires[slot] and node in reaching:
            wanted = tuple(map(required, inputs))
            wanted = patterns.setdefault(wanted, wanted)
            gate.needs_input_grad = wanted
            steps.append(BackwardStep(node, gate, inputs, slot, wanted))
    returned = (NodeKind.INPUT, NodeKind.PARAMETER)
    results = [
        ResultSlot(node, slot)
        for slot, node in enumerate(plan.order)
        if requires[slot] and node.kind in returned and node in reaching
    ]
    return BackwardPlan(output_node=output, output_slot=plan.order.index(output), steps=steps, results=results)
