"""The builder: a graph's nodes, their names and scopes, and the lookups by name.

It adds leaves (inputs, parameters, constants) and gate nodes, keeps names
unique (renaming safely, with did-you-mean lookups), groups nodes in scopes, and rewires gates
(refusing a cycle, found by networkx, before anything changes). Every change
of structure goes through :meth:`GraphBuilder._changed`, which forgets what was
derived from the old structure: the DiGraph and the topological order.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import NamedTuple

import networkx as nx

from gates import Gate
from graph.errors import CycleError, DuplicateNameError, GateError, GateReuseError, NodeNotFoundError
from graph.messages import describe, did_you_mean
from graph.node import GateNode, Node, NodeKind
from graph.passes import collector_paused
from graph.plan import cycle_text, cycle_through, digraph, topological_order
from graph.summary import Table, summary
from graph.values import check_name, constant_value, parameter_value

__all__ = ["GraphBuilder", "Change"]


class Change(NamedTuple):
    """A change of a graph's structure, for messages: ``node`` was ``how`` ("added", "rewired").

    A graph keeps the first change since its last forward (the one that made that forward's plan stale).
    """

    how: str
    node: Node


class GraphBuilder:
    """A graph's structure: nodes by name in creation order, scopes, and the DiGraph and order derived from them.

    :class:`~graph.ComputationalGraph` is a builder that also runs; see its
    documentation for the public methods.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}  # in creation order
        self._counters: dict[str, itertools.count] = {}
        self._scopes: list[str] = []
        self._change: Change | None = None
        self._dag: nx.DiGraph | None = None  # derived from the nodes when first asked for after each change
        self._order: list[Node] | None = None  # likewise, networkx's topological sort of the DiGraph
        self._former: dict[str, Node] = {}  # names given up by renaming, for messages: "it was renamed to 'q'"

    def input(self, name: str, requires_grad: bool = True) -> Node:
        """Add an input fed at each :meth:`forward`.

        Parameters
        ----------
        name : str
            The feed's name, e.g. ``g.forward(x=1.0)`` feeds ``g.input("x")``.
        requires_grad : bool, default True
            Whether :meth:`backward` computes dL/d(input). Data (images,
            labels) needs none, and the gates it feeds then skip that work.
        """
        return self._add_leaf(name, NodeKind.INPUT, requires_grad=bool(requires_grad))

    def parameter(self, name: str, value) -> Node:
        """Add a parameter: it holds its value, receives ``.grad``, and is what optimisers update.

        The value is copied, as a floating-point array; lists and Python
        numbers become float64. An integer or boolean array is refused, since a
        gradient step cannot keep it integer. Assigning ``node.value`` later
        follows the same rule.
        """
        return self._add_leaf(name, NodeKind.PARAMETER, requires_grad=True, value=parameter_value(name, value).copy())

    def constant(self, value, name: str | None = None) -> Node:
        """Add a constant: a value that never changes and needs no gradient.

        Numbers and arrays in operator sugar (``2 * x``) become constants.
        Python numbers stay Python floats; arrays are copied.
        """
        return self._add_constant(constant_value(value), name)

    def add_gate(self, gate: Gate, *inputs, name: str | None = None) -> Node:
        """Add ``gate`` fed by ``inputs`` and return its node.

        Parameters
        ----------
        gate : Gate
            A new gate instance; one instance stands at one place only.
        *inputs : Node, str or numeric
            The gate's arguments in order: nodes of this graph, their names,
            or numbers and arrays, which become constants.
        name : str, optional
            Unique name; by default the gate's ``short_name`` and a counter,
            e.g. ``mul_3``.

        Raises
        ------
        TypeError
            ``gate`` is not a Gate.
        GateReuseError
            ``gate`` already stands in a graph.
        GateError
            The number of inputs differs from what ``gate.forward`` takes.
        DuplicateNameError, NodeNotFoundError
            ``name`` is taken, or an input is not in this graph.
        """
        if not isinstance(gate, Gate):
            raise TypeError(f"add_gate needs a Gate instance, got {gate!r}; a gate subclasses gates.Gate")
        owner = getattr(gate, "_owner", None)
        if owner is not None:
            raise GateReuseError(
                f"{type(gate).__name__} instance already stands at node {owner!r}; "
                "a gate caches its last forward, so each place in a graph needs its own instance"
            )
        arity = gate.arity()
        if arity is not None and len(inputs) != arity:
            raise GateError(f"{type(gate).__name__} takes {arity} inputs, got {len(inputs)}")
        if name is not None:
            self._check_new_name(name)
        nodes = self._resolve_inputs(inputs)
        name = name or self._fresh_name(gate.short_name)
        requires_grad = False
        for source in nodes:  # any(...) without a generator: this runs once per gate built
            if source.requires_grad:
                requires_grad = True
                break
        node = GateNode(
            self, name, NodeKind.GATE, gate=gate, inputs=nodes, requires_grad=requires_grad, scope=self._current_scope()
        )
        self._insert(node)
        gate._owner = name
        return node

    def rewire(self, node: Node | str, *inputs) -> None:
        """Replace the inputs of a gate node, keeping its gate and name.

        ``inputs`` are as for :meth:`add_gate`. Raises :class:`CycleError`,
        naming the nodes of the cycle, if the new wiring would make ``node``
        depend on itself; the graph is then unchanged.
        """
        node = self._resolve(node)
        if not isinstance(node, GateNode):
            raise GateError(f"rewire needs a gate node, got {node.kind} {node.name!r}")
        arity = node.gate.arity()
        if arity is not None and len(inputs) != arity:
            raise GateError(f"node {node.name!r} ({type(node.gate).__name__}) takes {arity} inputs, got {len(inputs)}")
        resolved = [self._resolve_or_none(item) for item in inputs]
        path = cycle_through(self.dag, node.name, [source.name for source in resolved if source is not None])
        if path is not None:
            raise CycleError(f"rewiring {node.name!r} would close a cycle: {cycle_text(path)}; the graph is unchanged")
        node.inputs = self._resolve_inputs(inputs, resolved)
        self._changed(node, "rewired")
        for current in self.nodes:  # in topological order: each gate's inputs are settled before it
            if isinstance(current, GateNode):
                current.requires_grad = any(n.requires_grad for n in current.inputs)

    def rename(self, node: Node | str, name: str) -> Node:
        """Give ``node`` (a node or its name) the name ``name``, and return the node.

        ``node.named(name)`` and ``node.name = name`` call this. The node
        keeps its place in creation order; lookups, plans, the trace and the
        views follow the new name, and the old one is free. Renaming an input
        changes the name its feed goes by. A refused name changes nothing.

        Raises
        ------
        DuplicateNameError
            Another node has that name.
        NodeNameError
            ``name`` is not a non-empty string, or holds control characters.
        NodeNotFoundError
            ``node`` is not a node of this graph.

        Examples
        --------
        >>> from graph import ComputationalGraph
        >>> g = ComputationalGraph()
        >>> x, y = g.input("x"), g.input("y")
        >>> total = g.rename(x + y, "q")
        >>> total.name, "add_1" in g
        ('q', False)
        """
        node = self._resolve(node)
        old = node.name
        if name == old:
            return node
        self._check_new_name(name, renaming=node)
        if next(reversed(self._nodes)) == old:  # the node just made, as in (x + y).named("q"): stays last
            del self._nodes[old]
            self._nodes[name] = node
        else:  # rebuilt, to keep creation order (inputs, parameters and the order's ties follow it)
            self._nodes = {(name if key == old else key): value for key, value in self._nodes.items()}
        node._name = name  # the builder keeps names unique: only it sets them
        self._former[old] = node
        if node.gate is not None:
            node.gate._owner = name
        self._renamed()
        return node

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Group the nodes created inside ``with g.scope("layer1"):``.

        Scopes nest (``"net/layer1"``); diagrams draw each as a cluster.
        """
        check_name(name, "scope name")
        self._scopes.append(name)
        try:
            yield
        finally:
            self._scopes.pop()

    # -- looking at it ----------------------------------------------------------

    @property
    def dag(self) -> nx.DiGraph:
        """The structure as a ``networkx.DiGraph``: node names, an edge from each input to its gate.

        Each edge's ``args`` attribute holds the argument positions it feeds
        (``(0, 1)`` for ``x * x``). Built when first asked for after a change,
        so adding nodes never pays networkx's bookkeeping, which was most of
        the cost of adding a gate; kept until the next change. Plans sort the
        same DiGraph (built for the sort and dropped after it when nobody
        asked for ``g.dag``).
        """
        if self._dag is None:
            with collector_paused():
                self._dag = digraph(self._nodes.values())
        return self._dag

    def __getitem__(self, name: str | Node) -> Node:
        return self._resolve(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        """Nodes in the order they were added."""
        return iter(self._nodes.values())

    @property
    def nodes(self) -> list[Node]:
        """All nodes in topological order, as :func:`graph.plan.topological_order` sorts :attr:`dag`.

        Leaves first, then generation by generation, creation order within
        each: every node comes after its inputs, and the order is the same
        at every run.
        """
        return list(self._topological())

    @property
    def inputs(self) -> list[Node]:
        """The input nodes, in the order they were added."""
        return [n for n in self._nodes.values() if n.kind is NodeKind.INPUT]

    @property
    def parameters(self) -> list[Node]:
        """The parameter nodes, in the order they were added."""
        return [n for n in self._nodes.values() if n.kind is NodeKind.PARAMETER]

    @property
    def outputs(self) -> list[Node]:
        """Gate nodes that feed nothing, in topological order: what :meth:`forward` returns by default."""
        consumed = {source for node in self._nodes.values() for source in node.inputs}
        return [n for n in self._topological() if isinstance(n, GateNode) and n not in consumed]

    def summary(self) -> Table:
        """The graph at a glance: nodes by kind, gates by type, parameters with shapes and sizes.

        A :class:`~graph.summary.Table`: a REPL and ``print`` show it as text,
        a notebook as HTML. See :func:`graph.summary.summary`.
        """
        return summary(self)

    def __repr__(self) -> str:
        counts = dict.fromkeys(NodeKind, 0)
        for node in self._nodes.values():
            counts[node.kind] += 1
        return (
            f"<{type(self).__name__}: {counts[NodeKind.INPUT]} inputs, {counts[NodeKind.PARAMETER]} parameters, "
            f"{counts[NodeKind.CONSTANT]} constants, {counts[NodeKind.GATE]} gates>"
        )

    def _topological(self) -> list[Node]:
        """The nodes in topological order (see :attr:`nodes`), sorted once per structure: do not change the list."""
        if self._order is None:
            # A DiGraph holds four or five dicts per node, which the cyclic collector would traverse at every
            # full collection for as long as the graph lives: a plan sorts one and lets it go, unless g.dag is kept.
            with collector_paused():
                dag = self._dag if self._dag is not None else digraph(self._nodes.values())
                creation = {name: index for index, name in enumerate(self._nodes)}
                self._order = [self._nodes[name] for name in topological_order(dag, creation)]
                if dag is not self._dag:
                    # The sort leaves a degree view cached on the DiGraph that points back at it: a reference
                    # cycle, which only the collector would free, traversing every dict of the DiGraph first.
                    # Emptying it frees them here, by reference counting (100,000 gates: 1.6 -> 0.5 us per gate).
                    dag.clear()
        return self._order

    def _add_leaf(self, name: str, kind: NodeKind, *, requires_grad: bool, value=None) -> Node:
        self._check_new_name(name)
        node = Node(self, name, kind, requires_grad=requires_grad, value=value, scope=self._current_scope())
        self._insert(node)
        return node

    def _add_constant(self, value, name: str | None = None) -> Node:
        """Add a constant whose value :func:`_constant_value` has already checked and copied."""
        return self._add_leaf(name or self._fresh_name("const"), NodeKind.CONSTANT, requires_grad=False, value=value)

    def _insert(self, node: Node) -> None:
        self._nodes[node.name] = node
        self._changed(node, "added")

    def _changed(self, node: Node, how: str) -> None:
        """Forget what was derived from the structure (the DiGraph, the order): it moved."""
        self._dag = self._order = None
        if self._change is None:  # the first since the last forward, which clears it: one record, not one a gate
            self._change = Change(how, node)

    def _renamed(self) -> None:
        """Forget what holds names: the DiGraph (its nodes are names). The order holds nodes and stays."""
        self._dag = None

    def _check_new_name(self, name: str, renaming: Node | None = None) -> None:
        check_name(name, "node name")
        if name in self._nodes:
            taken = f"a node named {name!r} already exists ({describe(self._nodes[name])})"
            if renaming is None:
                raise DuplicateNameError(taken)
            raise DuplicateNameError(
                f"cannot rename {describe(renaming)} to {name!r}: {taken}; pick another name, "
                f"or rename that node first; nothing changed"
            )

    def _fresh_name(self, prefix: str) -> str:
        counter = self._counters.get(prefix)
        if counter is None:  # a gate's short_name: checked once, as the first name made from it
            check_name(prefix, "the name prefix (short_name)")
            counter = self._counters[prefix] = itertools.count(1)
        while True:
            name = f"{prefix}_{next(counter)}"
            if name not in self._nodes:
                return name

    def _current_scope(self) -> str | None:
        return "/".join(self._scopes) if self._scopes else None

    def _resolve(self, item) -> Node:
        """The node of this graph that ``item`` (a Node or a name) stands for."""
        if isinstance(item, Node):
            if item.graph is not self:
                raise NodeNotFoundError(f"node {item.name!r} belongs to another graph")
            return item
        if isinstance(item, str):
            node = self._nodes.get(item)
            if node is None:
                raise NodeNotFoundError(f"no node named {item!r} in the graph{self._hint(item, self._nodes)}")
            return node
        raise NodeNotFoundError(f"expected a Node or a node name, got {type(item).__name__} {item!r}")

    def _hint(self, name: str, names) -> str:
        """For a name not found among ``names``: the node it was renamed to, else difflib's did-you-mean."""
        renamed = self._former.get(name)
        if renamed is not None and renamed.graph is self and self._nodes.get(renamed.name) is renamed:
            return f"; it was renamed to {renamed.name!r}"
        return did_you_mean(name, names)

    def _resolve_or_none(self, item) -> Node | None:
        """The node ``item`` names, or None for a number or an array (a constant to be)."""
        return None if _is_constant(item) else self._resolve(item)

    def _resolve_inputs(self, inputs, resolved=None) -> tuple[Node, ...]:
        """Nodes for a gate's arguments; numbers and arrays become constants once all names resolve.

        ``resolved`` is the arguments' nodes (None for constants) where the
        caller has looked them up already. Every constant's value is checked
        before the first one is added, so a refused one leaves no other behind.
        """
        if resolved is None:
            for item in inputs:  # this runs once per gate built: nodes of this graph only are the usual case
                if not (isinstance(item, Node) and item.graph is self):
                    break
            else:  # then the arguments' own tuple is the inputs: no list, no second tuple (0.3 us per gate)
                return tuple(inputs)
            resolved = [self._resolve_or_none(item) for item in inputs]
        if all(resolved):  # nodes only (a Node is always true)
            return tuple(resolved)
        values = [constant_value(item) if node is None else None for item, node in zip(inputs, resolved)]
        return tuple(self._add_constant(value) if node is None else node for value, node in zip(values, resolved))


def _is_constant(item) -> bool:
    return not isinstance(item, (Node, str))
