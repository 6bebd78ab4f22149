"""The trace: what the last forward and backward pass computed, node by node and edge by edge.

The passes keep, for each pass, the lists they work in anyway (values and
gradients by slot, what each gate's backward returned); a :class:`PassRecord`
holds on to them, nothing more, so recording costs the passes nothing. A
:class:`Trace` reads a record and builds its named records only when asked.
Every view (diagrams, explanations, the animation) reads a trace, so no view
reconstructs what the engine already knew, and no view mixes two passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from gates import shape_of
from graph.errors import BackwardError, NodeNotFoundError, ShapeError
from graph.messages import did_you_mean

if TYPE_CHECKING:
    from graph.node import Node, NodeKind
    from graph.plan import BackwardPlan, Plan

__all__ = ["Trace", "NodeRecord", "EdgeRecord", "FanOut", "PassRecord", "BackwardRecord", "read_only"]


class NodeRecord(NamedTuple):
    """One node as the traced passes left it.

    Attributes
    ----------
    name : str
        The node's name.
    kind : NodeKind
        ``"input"``, ``"parameter"``, ``"constant"`` or ``"gate"``, as ``Node.kind`` (a ``str`` enum).
    value
        What the traced forward computed here (for a gate), was fed (an
        input) or read (a parameter or constant: its array, which an
        optimiser's step changes in place; see ``Trace.changed``); None when
        that forward did not run this node, even if ``node.value`` still
        holds a value of an earlier pass.
    forward : int or None
        The number of the forward pass that computed ``value``:
        ``Trace.forward`` for every node that pass ran, None for the others.
        Check it to tell a node of the traced pass from a stale one.
    grad
        dL/d(node) from the traced backward: the sum of what every edge
        leaving the node sent back (the seed, for the output). None before a
        backward, and for nodes it did not reach.
    """

    name: str
    kind: NodeKind
    value: Any
    forward: int | None
    grad: Any


class EdgeRecord(NamedTuple):
    """One argument of one gate: the edge ``source -> target`` into argument ``position``.

    ``x * x`` has two edges, positions 0 and 1, from the same source.

    Attributes
    ----------
    source, target : str
        The names of the node feeding the argument and of the gate node.
    position : int
        Which argument of the target's gate (0 for the first).
    value
        The value that flowed along the edge in the traced forward: the
        source's value, as the target's gate received it.
    upstream
        dL/d(target): the gradient the target's gate received in the traced
        backward, the same for every edge into the target. None before a
        backward and where the target's backward did not run.
    sent
        The gradient the target's gate sent back along this edge,
        dL/d(target) · d(target)/d(source): what the edge contributes to
        the source's ``grad``. None before a backward, where the target's
        backward did not run, and where the source needs no gradient (a
        constant, data), which the gate was told to skip.
    """

    source: str
    target: str
    position: int
    value: Any
    upstream: Any
    sent: Any


class FanOut(NamedTuple):
    """A node whose gradient the traced backward summed from two or more edges.

    Attributes
    ----------
    node : str
        The node's name.
    contributions : tuple of EdgeRecord
        The edges leaving the node that sent a gradient, in the order the
        backward added them (the running sum after ``k`` of them is the sum
        of their ``sent``).
    total
        Their sum, the node's ``grad``.
    """

    node: str
    contributions: tuple[EdgeRecord, ...]
    total: Any


class BackwardRecord(NamedTuple):
    """What one backward pass leaves: the lists it worked in, by slot of the forward's plan.

    The passes return it (graph/passes.py) and the graph keeps it for the trace.
    """

    plan: BackwardPlan  # its output is plan.output
    grads: list[Any]  # dL/d(node); None where the pass did not reach
    owned: list[bool]  # True where grads[slot] is an array the pass made (a sum), safe to add into
    sent: list[Any]  # what the gate's backward returned, one entry per input; None where it did not run


@dataclass
class PassRecord:
    """What the passes keep for the trace: references to their own lists, never copies.

    The engine writes it (a new one per successful forward, a backward part
    per backward); a :class:`Trace` reads it, and so do the nodes' ``value``,
    ``grad`` and ``input_grads``.
    """

    number: int  # 1 for the graph's first successful forward, counting up
    plan: Plan
    values: list[Any]  # the forward's value of each slot of ``plan.order``
    backward: BackwardRecord | None = None
    gates_hold_it: bool = True  # False once another forward has run: the gates' caches belong to that one
    # The plans of the passes that kept nothing (keep=False) since: the graph's last record is still this one,
    # but the gates those plans ran hold another pass's caches.
    scored_by: list[Plan] = field(default_factory=list)
    floats: bool = False  # every value a Python float (run_forward tells): its backward needs no shape checks
    read_versions: tuple[int, ...] = ()  # by ``plan.leaves``: the version of each parameter and constant it read


class Trace:
    """The record of a graph's last successful forward pass and of the backward that followed it.

    ``g.trace`` returns it. It is read-only: records are named tuples,
    mappings are read-only, arrays are read-only views of the pass's own
    arrays (not copies). A later pass, forward or backward, does not change a
    trace taken before it; take ``g.trace`` again to see the new one.

    Attributes
    ----------
    forward : int or None
        The number of the traced forward: 1 for the graph's first successful
        forward, 2 for the next, ...; None before any.
    outputs : tuple of str
        The outputs that forward computed.
    order : tuple of str
        The nodes it ran, in the order it ran them (leaves first).
    backward : str or None
        The output the traced backward started from; None before a backward
        since that forward.
    backward_order : tuple of str
        The gate nodes whose backward ran, in the order they ran.
    nodes : Mapping[str, NodeRecord]
        Every node of the graph (as it was when the trace was taken), in
        its topological order (``g.nodes``); nodes the traced forward did not run have
        ``value`` and ``forward`` None.
    edges : tuple of EdgeRecord
        Every edge into a gate the traced forward ran, gate by gate in the
        forward's order, arguments in order.
    fan_outs : tuple of FanOut
        The nodes whose gradient was a sum of several edges' contributions.
    changed : tuple of str
        The parameters and constants whose value changed after the traced
        forward read it (e.g. an optimiser's step): their values here are
        their values now.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y = g.input("x"), g.input("y")
    >>> f = x * y + x                      # nodes mul_1, add_1
    >>> _ = g.forward(x=3.0, y=-4.0)
    >>> _ = g.backward()
    >>> trace = g.trace
    >>> trace.nodes["add_1"].value, trace.nodes["x"].grad
    (-9.0, -3.0)
    >>> [(e.target, e.position, e.value, e.upstream, e.sent) for e in trace.outgoing("x")]
    [('add_1', 1, 3.0, 1.0, 1.0), ('mul_1', 0, 3.0, 1.0, -4.0)]
    >>> [(e.target, e.sent) for e in trace.fan_outs[0].contributions], trace.fan_outs[0].total
    ([('add_1', 1.0), ('mul_1', -4.0)], -3.0)
    >>> trace.local_gradient(trace.incoming("mul_1")[0])   # d(x*y)/dx = y
    -4.0
    """

    __slots__ = ("_record", "_backward", "_graph_nodes", "_built", "_local")

    def __init__(self, record: PassRecord | None, graph_nodes: list[Node]) -> None:
        self._record = record
        self._backward = None if record is None else record.backward  # a later backward replaces the record's
        self._graph_nodes = graph_nodes
        self._built: _Built | None = None
        self._local: dict[tuple[str, int], Any] = {}

    def __repr__(self) -> str:
        if self._record is None:
            return "<Trace: no forward yet>"
        back = f", backward from {self.backward!r}" if self.backward is not None else ", no backward"
        return f"<Trace of forward {self.forward}: {len(self.order)} nodes{back}>"

    @property
    def forward(self) -> int | None:
        return None if self._record is None else self._record.number

    @property
    def outputs(self) -> tuple[str, ...]:
        return () if self._record is None else self._record.plan.outputs

    @property
    def order(self) -> tuple[str, ...]:
        return () if self._record is None else tuple(node.name for node in self._record.plan.order)

    @property
    def backward(self) -> str | None:
        return None if self._backward is None else self._backward.plan.output

    @property
    def backward_order(self) -> tuple[str, ...]:
        back = self._backward
        if back is None:
            return ()
        return tuple(step.node.name for step in back.plan.steps if back.sent[step.slot] is not None)

    @property
    def nodes(self) -> Mapping[str, NodeRecord]:
        return self._build().nodes

    @property
    def changed(self) -> tuple[str, ...]:
        """The parameters and constants changed since the traced forward read them, as of now.

        An optimiser's step, an assignment to ``.value`` or ``mark_changed()``
        counts. The trace holds a leaf's own array, not a copy, so for these
        ``nodes[name].value`` (and the edges' ``value``) is the value now, while
        every gradient is still the traced pass's. Views say so beside them.
        """
        record = self._record
        if record is None:
            return ()
        leaves = zip(record.plan.leaves, record.read_versions)
        return tuple(leaf.node.name for leaf, version in leaves if leaf.node.version != version)

    @property
    def edges(self) -> tuple[EdgeRecord, ...]:
        return self._build().edges

    @property
    def fan_outs(self) -> tuple[FanOut, ...]:
        built = self._build()
        fan_outs = []
        for name in built.nodes:
            contributions = tuple(edge for edge in built.outgoing.get(name, ()) if edge.sent is not None)
            if len(contributions) > 1:
                fan_outs.append(FanOut(name, contributions, built.nodes[name].grad))
        return tuple(fan_outs)

    def incoming(self, name: str) -> tuple[EdgeRecord, ...]:
        """The edges into gate node ``name``, in argument order (empty for a leaf or a node not run)."""
        return self._build().incoming.get(self._known(name), ())

    def outgoing(self, name: str) -> tuple[EdgeRecord, ...]:
        """The edges leaving node ``name``, in the order the backward adds their gradients."""
        return self._build().outgoing.get(self._known(name), ())

    def local_gradient(self, edge: EdgeRecord):
        """d(target)/d(source) at the traced forward's values, for a target of one element.

        The gate's own backward gives it: called with upstream 1 while the
        gate still holds what the traced forward cached. Shaped like the
        source's value (one number for a one-element source). Views use it
        to show a local gradient; they never divide ``sent`` by ``upstream``.

        Raises
        ------
        ShapeError
            The target has more than one element: its local gradient is a
            Jacobian (see :func:`graph.jacobian`).
        BackwardError
            Another forward has run since the traced one (the gates hold its
            values now): take ``g.trace`` again; or, where that forward kept
            nothing (``keep=False``), run forward and backward again.
        """
        key = (edge.target, edge.position)
        if key in self._local:
            return self._local[key]
        record = self._record
        built = self._build()
        if record is None or built.nodes[self._known(edge.target)].forward is None:
            raise BackwardError(f"node {edge.target!r} did not run in the traced forward: it has no local gradient")
        slot = built.slots[edge.target]
        target, value = record.plan.order[slot], record.values[slot]
        if math.prod(shape_of(value)) != 1:  # whatever the gates hold now: no gate is asked
            raise ShapeError(
                f"node {edge.target!r} has shape {shape_of(value)}: its local gradient is a Jacobian, not one number "
                "per input element; see graph.jacobian"
            )
        if any(target in plan.needed for plan in record.scored_by):
            raise BackwardError(
                f"gate {edge.target!r} no longer holds what forward {record.number}, which this trace describes, "
                "cached: a forward(keep=False) since (Model.predict and models.evaluate run those) ran it on other "
                "values; run forward() and backward() again to see its local gradients"
            )
        if not record.gates_hold_it:
            raise BackwardError(
                f"forward {record.number}, which this trace describes, is no longer the last forward: "
                "the gates hold a later one's values; take g.trace again"
            )
        gate = target.gate
        assert gate is not None  # a gate node: it has incoming edges
        if isinstance(value, float):
            unit: Any = 1.0
        else:
            dtype = value.dtype if value.dtype.kind == "f" else np.dtype(np.float64)
            unit = np.ones(shape_of(value), dtype)
        saved = gate.needs_input_grad
        gate.needs_input_grad = tuple(position == edge.position for position in range(len(target.inputs)))
        try:
            local = gate.backward(unit)[edge.position]
        finally:
            gate.needs_input_grad = saved
        local = self._local[key] = read_only(float(local) if type(local) is np.float64 else local)
        return local

    def _known(self, name: str) -> str:
        if name not in self._build().nodes:
            raise NodeNotFoundError(f"no node named {name!r} in the trace{did_you_mean(name, self._build().nodes)}")
        return name

    def _build(self) -> _Built:
        """The named records, built on first use."""
        if self._built is None:
            self._built = _build(self._record, self._backward, self._graph_nodes)
        return self._built


class _Built(NamedTuple):
    nodes: Mapping[str, NodeRecord]
    edges: tuple[EdgeRecord, ...]
    incoming: dict[str, tuple[EdgeRecord, ...]]
    outgoing: dict[str, tuple[EdgeRecord, ...]]  # in the order the backward adds them
    slots: dict[str, int]


def _build(record: PassRecord | None, back: BackwardRecord | None, graph_nodes: list[Node]) -> _Built:
    if record is None:
        nodes = {node.name: NodeRecord(node.name, node.kind, None, None, None) for node in graph_nodes}
        return _Built(MappingProxyType(nodes), (), {}, {}, {})
    order, values = record.plan.order, record.values
    grads: list[Any] = back.grads if back is not None else [None] * len(order)
    sent: list[Any] = back.sent if back is not None else [None] * len(order)
    wanted = {step.slot: step.wanted for step in back.plan.steps} if back is not None else {}
    slots = {node.name: slot for slot, node in enumerate(order)}
    nodes = {}
    for node in graph_nodes:
        slot = slots.get(node.name)
        if slot is None:
            nodes[node.name] = NodeRecord(node.name, node.kind, None, None, None)
        else:
            nodes[node.name] = NodeRecord(
                node.name, node.kind, read_only(values[slot]), record.number, read_only(grads[slot])
            )
    edges = []
    incoming = {}
    for step in record.plan.steps:
        result = sent[step.slot]  # None where this gate's backward did not run
        upstream = None if result is None else read_only(grads[step.slot])
        sends = wanted[step.slot] if result is not None else (False,) * len(step.inputs)
        into = []
        for position, source_slot in enumerate(step.inputs):
            into.append(
                EdgeRecord(
                    order[source_slot].name,
                    step.node.name,
                    position,
                    read_only(values[source_slot]),
                    upstream,
                    read_only(_plain(result[position])) if sends[position] else None,
                )
            )
        incoming[step.node.name] = tuple(into)
        edges.extend(into)
    outgoing: dict[str, list[EdgeRecord]] = {}
    for step in reversed(record.plan.steps):  # the backward's order
        for edge in incoming[step.node.name]:
            outgoing.setdefault(edge.source, []).append(edge)
    return _Built(
        MappingProxyType(nodes),
        tuple(edges),
        incoming,
        {name: tuple(found) for name, found in outgoing.items()},
        slots,
    )


def _plain(value):
    """A gradient as the engine adds it: numpy's float64 scalar as a Python float."""
    return float(value) if type(value) is np.float64 else value


def read_only(value):
    """A read-only view of an array (the array itself stays as it is); anything else unchanged."""
    if isinstance(value, np.ndarray) and value.flags.writeable:
        view = value.view()
        view.flags.writeable = False
        return view
    return value
