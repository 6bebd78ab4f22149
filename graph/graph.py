"""ComputationalGraph: gates wired into a DAG (a networkx DiGraph on demand), run forward then backward.

The graph knows no particular gate. It calls ``gate.forward(*values)`` in
topological order and ``gate.backward(upstream)`` in reverse, sums gradients
where a node fans out, and checks that every gate keeps the Gate contract.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import itertools
import math
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx
import numpy as np

from gates import Gate, shape_of
from graph.errors import (
    BackwardError,
    CycleError,
    DTypeError,
    DuplicateNameError,
    FeedError,
    GateContractError,
    GateError,
    GateReuseError,
    NodeNameError,
    NodeNotFoundError,
    NonFiniteError,
    OutputError,
    ShapeError,
)
from graph.node import Node
from graph.plan import BackwardPlan, BackwardStep, FeedRead, ForwardStep, LeafRead, Plan, ResultSlot
from graph.trace import BackwardRecord, PassRecord, Trace, read_only

__all__ = ["ComputationalGraph"]

# What a gate raises when its inputs do not suit it; the graph re-raises these
# as GateError naming the node. Anything else is a bug and passes unchanged.
_INPUT_ERRORS = (ValueError, TypeError, ArithmeticError, IndexError)


class ComputationalGraph:
    """A directed acyclic graph of gates with a forward and a backward pass.

    Build it from leaves (:meth:`input`, :meth:`parameter`, :meth:`constant`)
    and gates (:meth:`add_gate`, or the operators on :class:`Node`), then run
    :meth:`forward` and :meth:`backward`.

    Threads: different graphs may run in different threads at the same time.
    One graph must not be used from two threads at once: its gates cache
    what their last forward saw, and a pass of one thread would overwrite
    the other's. Give each thread its own graph (e.g. its own model).

    Examples
    --------
    The lecture's first circuit, f = (x + y) z:

    >>> g = ComputationalGraph()
    >>> x, y, z = g.input("x"), g.input("y"), g.input("z")
    >>> f = (x + y) * z
    >>> g.forward(x=-2.0, y=5.0, z=-4.0)
    -12.0
    >>> g.backward()
    {'x': -4.0, 'y': -4.0, 'z': 3.0}
    """

    def __init__(self) -> None:
        self._dag: nx.DiGraph | None = None  # built from the nodes on first use after each change
        self._nodes: dict[str, Node] = {}
        self._counters: dict[str, itertools.count] = {}
        self._scopes: list[str] = []
        self._plans: dict[tuple[str, ...] | None, Plan] = {}
        self._last_forward: Plan | None = None
        self._record: PassRecord | None = None  # the last successful forward (and backward): what g.trace reads
        self._read_versions: list[int] = []  # the version of each leaf of that plan, as forward read it
        self._forward_failed = False
        self._change: tuple[str, Node] | None = None  # what changed the graph since the last forward

    # -- building -------------------------------------------------------------

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
        return self._add_leaf(name, "input", requires_grad=bool(requires_grad))

    def parameter(self, name: str, value) -> Node:
        """Add a parameter: it holds its value, receives ``.grad``, and is what optimisers update.

        The value is copied, as a floating-point array; lists and Python
        numbers become float64. An integer or boolean array is refused, since a
        gradient step cannot keep it integer. Assigning ``node.value`` later
        follows the same rule.
        """
        return self._add_leaf(name, "parameter", requires_grad=True, value=parameter_value(name, value).copy())

    def constant(self, value, name: str | None = None) -> Node:
        """Add a constant: a value that never changes and needs no gradient.

        Numbers and arrays in operator sugar (``2 * x``) become constants.
        Python numbers stay Python floats; arrays are copied.
        """
        return self._add_constant(_constant_value(value), name)

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
        node = Node(
            self,
            name,
            "gate",
            gate=gate,
            inputs=nodes,
            requires_grad=any(n.requires_grad for n in nodes),
            scope=self._current_scope(),
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
        if node.kind != "gate":
            raise GateError(f"rewire needs a gate node, got {node.kind} {node.name!r}")
        arity = node.gate.arity()
        if arity is not None and len(inputs) != arity:
            raise GateError(f"node {node.name!r} ({type(node.gate).__name__}) takes {arity} inputs, got {len(inputs)}")
        resolved = [None if _is_constant(item) else self._resolve(item) for item in inputs]
        path = _dependency_path(node, [source for source in resolved if source is not None])
        if path is not None:
            raise CycleError(f"rewiring {node.name!r} would close a cycle: {_cycle_text(path)}; the graph is unchanged")
        node.inputs = self._resolve_inputs(inputs, resolved)
        self._changed(node, "rewired")
        order = nx.topological_sort(self.dag)  # acyclic: checked above
        self._nodes = {name: self._nodes[name] for name in order}  # keep the nodes in a topological order
        for current in self._nodes.values():
            if current.kind == "gate":
                current.requires_grad = any(n.requires_grad for n in current.inputs)

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Group the nodes created inside ``with g.scope("layer1"):``.

        Scopes nest (``"net/layer1"``); diagrams draw each as a cluster.
        """
        _check_name_text(name, "scope name")
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
        (``(0, 1)`` for ``x * x``). Built from the nodes when first asked for
        after a change, so building and running a graph never pay for it:
        networkx's own bookkeeping was most of the cost of adding a gate.
        """
        if self._dag is None:
            dag = nx.DiGraph()
            dag.add_nodes_from(self._nodes)
            for node in self._nodes.values():
                for position, source in enumerate(node.inputs):
                    if dag.has_edge(source.name, node.name):
                        dag.edges[source.name, node.name]["args"] += (position,)
                    else:
                        dag.add_edge(source.name, node.name, args=(position,))
            self._dag = dag
        return self._dag

    def __getitem__(self, name: str) -> Node:
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
        """All nodes in topological order (leaves first): the order they were added, unless rewired."""
        return list(self._nodes.values())

    @property
    def inputs(self) -> list[Node]:
        """The input nodes, in the order they were added."""
        return [n for n in self._nodes.values() if n.kind == "input"]

    @property
    def parameters(self) -> list[Node]:
        """The parameter nodes, in the order they were added."""
        return [n for n in self._nodes.values() if n.kind == "parameter"]

    @property
    def outputs(self) -> list[Node]:
        """Gate nodes that feed nothing: what :meth:`forward` returns by default."""
        consumed = {source for node in self._nodes.values() for source in node.inputs}
        return [n for n in self._nodes.values() if n.kind == "gate" and n not in consumed]

    def __repr__(self) -> str:
        counts = {kind: 0 for kind in ("input", "parameter", "constant", "gate")}
        for node in self._nodes.values():
            counts[node.kind] += 1
        return (
            f"<ComputationalGraph: {counts['input']} inputs, {counts['parameter']} parameters, "
            f"{counts['constant']} constants, {counts['gate']} gates>"
        )

    @property
    def trace(self) -> Trace:
        """What the last successful forward, and the backward after it, computed; see :class:`graph.trace.Trace`.

        Per node its value and which forward computed it; per edge the value
        that flowed forward, the upstream gradient and the gradient sent back;
        the contributions summed where a node fans out. Read-only.
        """
        return Trace(self._record, list(self._nodes.values()))

    # -- running ------------------------------------------------------------------

    def forward(
        self, feeds: Mapping[str, Any] | None = None, /, *, outputs=None, check_finite: bool = False, **named_feeds
    ):
        """Run the forward pass and return the output's value.

        Parameters
        ----------
        feeds : dict, optional
            Input values by name; keyword arguments do the same.
        outputs : str, Node or list of them, optional
            What to compute. By default every output (gate feeding nothing).
            Only the ancestors of the requested outputs run, and only their
            inputs must be fed.
        check_finite : bool, default False
            Anomaly detection: stop at the first gate whose output holds a NaN
            or an infinity, naming it and describing its inputs.

        Returns
        -------
        The value of the single output (or of ``outputs`` given as one name),
        else a dict of values by name.

        Notes
        -----
        Python numbers and lists are fed as float64 (numbers stay Python
        floats, so scalar graphs run on plain floats); numpy arrays are used as
        they are, so float32 stays float32 and integer labels stay integer.
        Booleans, strings, None, ragged lists, integers too large for a float
        and masked arrays (whose mask the gates would ignore) are refused.
        Every node's ``.value`` is set, and the gradients of an earlier
        backward are cleared, only when the whole pass succeeds. The pass
        records the ``version`` of every parameter and constant it read.

        Raises
        ------
        FeedError
            A needed input is not fed, or a feed names no input.
        OutputError
            ``outputs`` is empty.
        DTypeError
            A feed is not numeric.
        GateError
            A gate rejected its inputs (e.g. a matmul of (2, 3) and (4, 5)).
        NonFiniteError
            With ``check_finite``, a gate produced NaN or infinity.
        """
        feeds = self._merge_feeds(feeds, named_feeds)
        single = outputs is not None and not isinstance(outputs, (list, tuple))
        plan = self._plans.get(outputs) if outputs is None else None  # the default plan skips name lookups
        plan = plan or self._plan_for(self._output_names(outputs), key=outputs)
        missing = [name for name, _ in plan.feeds if name not in feeds]
        if missing:
            raise FeedError(
                f"missing feed for input {_names(missing)} needed by {_names(plan.outputs)}; "
                f"pass forward({missing[0]}=...)"
            )
        values: list[Any] = [None] * len(plan.order)
        for node, slot in plan.leaves:
            values[slot] = node.value
        read_versions = [node.version for node, _ in plan.leaves]
        for name, slot in plan.feeds:
            values[slot] = as_value(feeds[name], name)

        self._forward_failed = True  # until the pass completes; backward is refused meanwhile
        self._last_forward = None
        if self._record is not None:
            self._record.gates_hold_it = False
        with _collector_paused():
            for node, gate, input_slots, slot in plan.steps:
                arguments = [values[i] for i in input_slots]
                try:
                    value = gate.forward(*arguments)
                except _INPUT_ERRORS as error:
                    raise GateError(
                        f"forward of {_describe(node)} failed on {_arguments(node, arguments)}: {error}"
                    ) from error
                values[slot] = float(value) if type(value) is np.float64 else value
                if check_finite and not _all_finite(value):
                    raise NonFiniteError(
                        f"forward of {_describe(node)} produced {_non_finite(value)}; its inputs: "
                        + "; ".join(f"{i.name} {_statistics(v)}" for i, v in zip(node.inputs, arguments))
                    )

        for node, value in zip(plan.order, values):
            node._value = value  # a pass's own values: no version counted (see Node.value)
        for node in self._nodes.values():
            node.grad = node.input_grads = None
        self._forward_failed = False
        self._last_forward, self._read_versions = plan, read_versions
        self._record = PassRecord(self._record.number + 1 if self._record else 1, plan, values)
        self._change = None
        if single or (outputs is None and len(plan.outputs) == 1):
            return self._nodes[plan.outputs[0]].value
        return {name: self._nodes[name].value for name in plan.outputs}

    def backward(self, grad=None, *, output: Node | str | None = None, check_finite: bool = False) -> dict[str, Any]:
        """Run the backward pass from an output of the last forward.

        Gradients start from zero at every call: calling backward twice after
        one forward gives the same gradients twice, never their sum. Each
        node the pass reaches gets its ``.grad``; gradients are summed where a
        node fans out. Nodes that lead to nothing requiring a gradient are not
        visited.

        Parameters
        ----------
        grad : array_like, optional
            dL/d(output), the seed. Defaults to 1 for a one-element output;
            an output with more elements needs it, shaped like the output.
            The seed rule: the seed is cast to the output's dtype (float64
            for an output that is not floating point), so a float64 seed on
            a float32 graph still gives float32 gradients, and integer seeds
            are fine; booleans, complex numbers and anything not a number are
            refused with a :class:`DTypeError`.
        output : str or Node, optional
            Which output to differentiate, when the last forward computed several.
        check_finite : bool, default False
            Anomaly detection: stop at a seed or at the first gradient that
            holds a NaN or an infinity, naming the gate that sent it and the
            input it went to.

        Returns
        -------
        dict
            The gradient of every input and parameter that requires one and
            that the output depends on, by name: the same arrays as their
            ``.grad``, each one the caller's own (writable, shared with no
            other node, in the layout of the node's value), so that clipping
            or scaling one in place touches nothing else. A gate node's
            ``.grad`` is a read-only record of the pass.

        Raises
        ------
        BackwardError
            No successful forward; the graph changed since it (a node added,
            a gate rewired); a parameter or constant it read has changed since
            (an optimiser step, ``p.value = ...``, :meth:`Node.mark_changed`):
            run forward again; or no seed for a non-scalar output.
        DTypeError
            ``grad`` is not a real number (boolean, complex, text, ...).
        ShapeError
            ``grad`` has a shape other than the output's.
        GateContractError
            A gate returned the wrong number of gradients or a gradient of
            the wrong shape.
        NonFiniteError
            With ``check_finite``, a gradient holds NaN or infinity.
        """
        plan = self._last_forward
        if plan is None:
            raise BackwardError(f"backward() needs a successful forward() first: {self._why_no_forward()}")
        for (node, _), version in zip(plan.leaves, self._read_versions):
            if node.version != version:
                raise BackwardError(
                    f"{node.kind} {node.name!r} changed after the forward() that backward() would differentiate "
                    f"(version {version}, now {node.version}, e.g. an optimiser step or an assignment to .value); "
                    "its gates still hold the old value: run forward() again, then backward()"
                )
        name = self._backward_output(plan, output)
        back = self._backward_plan(plan, name)
        out_node = plan.order[back.output_slot]
        seed = self._seed(out_node, grad)
        if check_finite and not _all_finite(seed):
            raise NonFiniteError(f"backward grad (the seed of output {out_node.name!r}) holds {_non_finite(seed)}")

        record = self._record
        assert record is not None and record.plan is plan  # set with _last_forward
        values = record.values
        grads: list[Any] = [None] * len(plan.order)
        owned = [False] * len(plan.order)  # True where grads[slot] is our own array, safe to add into
        grads[back.output_slot] = seed
        sent: list[Any] = [None] * len(plan.order)  # by slot: what each gate's backward returned, for the trace
        with _collector_paused():
            for node, gate, input_slots, slot, wanted in back.steps:
                upstream = grads[slot]
                if upstream is None:
                    continue
                try:
                    result = gate.backward(upstream)
                except _INPUT_ERRORS as error:
                    raise GateError(f"backward of {_describe(node)} failed: {error}") from error
                if not isinstance(result, (tuple, list)) or len(result) != len(input_slots):
                    count = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
                    raise GateContractError(
                        f"{_describe(node)}: backward must return a tuple of {len(input_slots)} gradients, "
                        f"one per input, got {count}"
                    )
                sent[slot] = result
                for position, grad_in in enumerate(result):
                    if grad_in is None or not wanted[position]:
                        continue
                    input_slot = input_slots[position]
                    if shape_of(grad_in) != shape_of(values[input_slot]):
                        raise GateContractError(
                            f"{_describe(node)}: backward returned a gradient of shape {shape_of(grad_in)} for "
                            f"input {position} ({node.inputs[position].name!r}), "
                            f"expected its shape {shape_of(values[input_slot])}"
                        )
                    if type(grad_in) is np.float64:
                        grad_in = float(grad_in)
                    if check_finite and not _all_finite(grad_in):
                        raise NonFiniteError(
                            f"backward of {_describe(node)} sent {_non_finite(grad_in)} to input {position} "
                            f"({node.inputs[position].name!r}, value {_statistics(values[input_slot])}); "
                            f"upstream {_statistics(upstream)}"
                        )
                    current = grads[input_slot]
                    if current is None:
                        grads[input_slot] = grad_in
                    elif owned[input_slot]:
                        current += grad_in
                    else:  # the first gradient may be a gate's cached array or another's upstream: add into a new one
                        grads[input_slot] = current + grad_in
                        owned[input_slot] = isinstance(grads[input_slot], np.ndarray)

        results = _hand_over(back.results, grads, owned, values)
        for node, grad_value, result in zip(plan.order, grads, sent):  # forward() cleared every node outside the plan
            if type(grad_value) is np.ndarray and node.kind == "gate":
                grad_value = read_only(grad_value)
            node.grad = grad_value
            node.input_grads = None if result is None else tuple(result)
        record.backward = BackwardRecord(name, back, grads, sent)
        return results

    # -- diagrams and explanations: graph.views reads the graph, never runs it -----

    def to_dot(self, values: bool = True, grads: bool = True, **options):
        """The diagram as a ``graphviz.Digraph``; see :func:`graph.views.diagram.to_dot`."""
        from graph.views.diagram import to_dot

        return to_dot(self, values=values, grads=grads, **options)

    def render(self, path, **options):
        """Write the diagram to ``path``, format from the suffix; see :func:`graph.views.diagram.render`."""
        from graph.views.diagram import render

        return render(self, path, **options)

    def to_svg(self, **options) -> str:
        """The diagram as SVG text; see :func:`graph.views.diagram.to_svg`."""
        from graph.views.diagram import to_svg

        return to_svg(self, **options)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Notebooks show the graph as its diagram (and its repr where Graphviz is missing)."""
        from graph.views.diagram import mimebundle

        return mimebundle(self)

    def explain(self, **options) -> str:
        """The last backward pass in words, node by node; see :func:`graph.views.explain.explain`."""
        from graph.views.explain import explain

        return explain(self, **options)

    def animate(self, path, **options):
        """The last forward and backward pass as a step-through HTML page; see :func:`graph.views.animate.animate`."""
        from graph.views.animate import animate

        return animate(self, path, **options)

    # -- forward mode: graph.forward_mode pushes tangents through the gates' jvp -----

    def jvp(self, feeds: Mapping[str, Any], tangents: Mapping[str | Node, Any], output=None):
        """Forward, then the output's tangent along ``tangents`` (``J v``); see :func:`graph.forward_mode.jvp`."""
        from graph.forward_mode import jvp

        return jvp(self, feeds, tangents, output=output)

    # -- plans ------------------------------------------------------------------------

    def _plan_for(self, outputs: tuple[str, ...], key=()) -> Plan:
        """The cached plan for ``outputs``, built on first use after each change.

        It is cached under ``outputs`` and also under ``key`` (None for the
        default outputs), which forward() looks up first.
        """
        plan = self._plans.get(outputs)
        if plan is not None:
            if key is None:
                self._plans[None] = plan
            return plan
        with _collector_paused():  # a plan of a large graph is many small tuples
            needed = _ancestors_and_self([self._nodes[name] for name in outputs])
            order = [node for node in self._nodes.values() if node in needed]  # _nodes stays topologically sorted
            slots = {node: slot for slot, node in enumerate(order)}
            plan = Plan(
                outputs=outputs,
                order=order,
                leaves=[LeafRead(n, slots[n]) for n in order if n.kind in ("parameter", "constant")],
                feeds=[FeedRead(n.name, slots[n]) for n in order if n.kind == "input"],
                steps=[
                    ForwardStep(n, n.gate, tuple(slots[i] for i in n.inputs), slots[n])
                    for n in order
                    if n.kind == "gate"
                ],
            )
        self._plans[outputs] = plan
        if key is None:
            self._plans[None] = plan
        return plan

    def _backward_plan(self, plan: Plan, output: str) -> BackwardPlan:
        back = plan.backward_plans.get(output)
        if back is not None:
            return back
        with _collector_paused():
            slots = {node: slot for slot, node in enumerate(plan.order)}
            reaching = _ancestors_and_self([self._nodes[output]])
            steps = []
            for node, gate, input_slots, slot in reversed(plan.steps):
                if node in reaching and node.requires_grad:
                    wanted = tuple(i.requires_grad for i in node.inputs)
                    gate.needs_input_grad = wanted
                    steps.append(BackwardStep(node, gate, input_slots, slot, wanted))
            results = [
                ResultSlot(n.name, slots[n])
                for n in plan.order
                if n.kind in ("input", "parameter") and n.requires_grad and n in reaching
            ]
        back = BackwardPlan(output_slot=slots[self._nodes[output]], steps=steps, results=results)
        plan.backward_plans[output] = back
        return back

    # -- helpers ---------------------------------------------------------------------------

    def _add_leaf(self, name: str, kind: str, *, requires_grad: bool, value=None) -> Node:
        self._check_new_name(name)
        node = Node(self, name, kind, requires_grad=requires_grad, value=value, scope=self._current_scope())
        self._insert(node)
        return node

    def _add_constant(self, value, name: str | None = None) -> Node:
        """Add a constant whose value :func:`_constant_value` has already checked and copied."""
        return self._add_leaf(name or self._fresh_name("const"), "constant", requires_grad=False, value=value)

    def _insert(self, node: Node) -> None:
        self._nodes[node.name] = node
        self._changed(node, "added")

    def _changed(self, node: Node, how: str) -> None:
        """Forget the plans, the DiGraph and the last forward: the graph's structure moved."""
        self._dag = None
        self._plans.clear()
        if self._last_forward is not None:  # remembered for backward's message
            self._change = (how, node)
        self._last_forward = None

    def _why_no_forward(self) -> str:
        if self._forward_failed:
            return "the last forward() failed"
        if self._change is not None:
            how, node = self._change
            return f"the graph changed since the last forward() ({_describe(node)} was {how}): run forward() again"
        return "forward() has not run"

    def _check_new_name(self, name: str) -> None:
        _check_name_text(name, "node name")
        if name in self._nodes:
            raise DuplicateNameError(f"a node named {name!r} already exists ({_describe(self._nodes[name])})")

    def _fresh_name(self, prefix: str) -> str:
        counter = self._counters.get(prefix)
        if counter is None:  # a gate's short_name: checked once, as the first name made from it
            _check_name_text(prefix, "the name prefix (short_name)")
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
                close = difflib.get_close_matches(item, self._nodes, n=3)
                hint = f"; did you mean {_names(close)}?" if close else ""
                raise NodeNotFoundError(f"no node named {item!r} in the graph{hint}")
            return node
        raise NodeNotFoundError(f"expected a Node or a node name, got {type(item).__name__} {item!r}")

    def _resolve_inputs(self, inputs, resolved=None) -> tuple[Node, ...]:
        """Nodes for a gate's arguments; numbers and arrays become constants once all names resolve.

        ``resolved`` is the arguments' nodes (None for constants) where the
        caller has looked them up already. Every constant's value is checked
        before the first one is added, so a refused one leaves no other behind.
        """
        if resolved is None:
            resolved = [None if _is_constant(item) else self._resolve(item) for item in inputs]
        values = [_constant_value(item) if node is None else None for item, node in zip(inputs, resolved)]
        return tuple(self._add_constant(value) if node is None else node for value, node in zip(values, resolved))

    def _output_names(self, outputs) -> tuple[str, ...]:
        if outputs is None:
            names = tuple(n.name for n in self.outputs)
            if not names:
                raise GateError("the graph has no gates yet: nothing to compute")
            return names
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        if not outputs:
            default = _names(n.name for n in self.outputs[:3])
            raise OutputError(
                f"forward(outputs={outputs!r}) asks for nothing: name what to compute, e.g. "
                f"outputs={self.outputs[0].name if self.outputs else 'name'!r}, or leave outputs out "
                f"for every output ({default or 'none yet'})"
            )
        return tuple(dict.fromkeys(self._resolve(item).name for item in outputs))  # once each, in order

    def _merge_feeds(self, feeds, named_feeds) -> dict[str, Any]:
        if feeds is None:
            merged: dict[Any, Any] = {}
        elif isinstance(feeds, Mapping):
            merged = {}
            for key, value in feeds.items():
                name = self._resolve(key).name if isinstance(key, Node) else key
                if name in merged:  # by name and as its node: one would silently win
                    raise FeedError(f"input {name!r} fed twice in the dict, by name and as a node")
                merged[name] = value
        else:
            raise FeedError(
                f"forward's feeds must be a dict of input values by name, got {type(feeds).__name__}: "
                "forward({'x': 1.0}) or forward(x=1.0)"
            )
        not_names = [key for key in merged if not isinstance(key, str)]
        if not_names:
            raise FeedError(f"feed key {not_names[0]!r} is not an input's name or node; feed forward({{'x': 1.0}})")
        twice = sorted(set(merged) & set(named_feeds))
        if twice:
            raise FeedError(f"input {_names(twice)} fed twice, in the dict and as a keyword")
        merged.update(named_feeds)
        unknown = sorted(name for name in merged if name not in self._nodes or self._nodes[name].kind != "input")
        if unknown:
            inputs = [n.name for n in self.inputs]
            raise FeedError(f"feed {_names(unknown)} names no input of the graph; its inputs are {_names(inputs)}")
        return merged

    def _backward_output(self, plan: Plan, output) -> str:
        if output is None:
            if len(plan.outputs) != 1:
                raise BackwardError(
                    f"the last forward computed several outputs ({_names(plan.outputs)}); "
                    f"name one: backward(output={plan.outputs[0]!r})"
                )
            return plan.outputs[0]
        name = self._resolve(output).name
        if name not in {n.name for n in plan.order}:
            raise BackwardError(
                f"output {name!r} was not computed by the last forward; run forward(outputs=...) with it"
            )
        return name

    @staticmethod
    def _seed(out_node: Node, grad):
        """dL/d(output): 1 for a one-element output, else ``grad`` under the seed rule (see :meth:`backward`)."""
        value = out_node.value
        shape = shape_of(value)
        dtype = getattr(value, "dtype", None)
        dtype = dtype if dtype is not None and dtype.kind == "f" else np.dtype(np.float64)
        if grad is None:
            if math.prod(shape) != 1:
                raise BackwardError(
                    f"output {out_node.name!r} has shape {shape}, not one element: pass backward(grad=...) "
                    "with dL/d(output) of that shape"
                )
            if isinstance(value, float):
                return 1.0
            return dtype.type(1) if shape == () else np.ones(shape, dtype)
        seed = _as_array(grad, f"backward grad for output {out_node.name!r}")
        if seed.shape != shape:
            raise ShapeError(f"backward grad has shape {seed.shape}, output {out_node.name!r} has shape {shape}")
        if isinstance(value, float):  # a scalar graph runs on Python floats
            return float(seed)
        return seed.astype(dtype, copy=False)


class _CollectorPause:
    """Python's cyclic garbage collector, paused while any pass of any graph in any thread runs.

    A pass creates no reference cycles, so reference counting frees all it
    allocates; but its allocations trigger collections that traverse every
    node of a large graph. Measured on a 100,000-gate scalar graph: backward
    9.6 -> 4.1 us per gate. The collector's switch is process-wide, so the
    pauses are counted under a lock: the first to start records whether the
    collector was on and turns it off, the last to end turns it back on, and
    passes that overlap (nested, or in two threads) never leave it off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()


def _hand_over(results: list[ResultSlot], grads: list, owned: list[bool], values: list) -> dict[str, Any]:
    """The gradients of inputs and parameters by name, each an array the caller owns.

    A gradient is kept as the gate made it when it is already ours alone: an
    array the pass summed (``owned``), or a gate's fresh result, or a view of
    one (matmul reshapes its product). Otherwise it is copied, in the layout
    of the node's value: a read-only array (sum's broadcast view), an array
    that is, or views, another node's gradient (an add passes its upstream to
    both inputs), the seed, or a value of the pass, or one handed out already.
    """
    handed: dict[str, Any] = {}
    given: set[int] = set()  # ids of the arrays handed to a node already
    shared = None  # ids of the arrays others can see, collected at the first gradient that needs it
    for name, slot in results:
        grad = grads[slot]
        if grad is None:
            continue
        if isinstance(grad, np.ndarray):
            if not owned[slot]:
                if shared is None:
                    result_slots = {s for _, s in results}
                    shared = _array_ids(grads[i] for i in range(len(grads)) if i not in result_slots)
                    shared |= _array_ids(values)
                if _needs_copy(grad, shared, given):
                    grad = grads[slot] = _copy_like(grad, values[slot])
            given.add(id(grad if grad.base is None else grad.base))
        handed[name] = grad
    return handed


def _needs_copy(grad: np.ndarray, shared: set[int], given: set[int]) -> bool:
    """Whether ``grad``'s memory may be seen by someone else: the engine, a gate, the caller."""
    if not grad.flags.writeable:
        return True
    owner = grad if grad.base is None else grad.base
    if not (isinstance(owner, np.ndarray) and owner.base is None):  # a view of a buffer we cannot trace
        return True
    return id(grad) in shared or id(owner) in shared or id(owner) in given


def _array_ids(items) -> set[int]:
    """The ids of the arrays among ``items`` and of the arrays they are views of."""
    ids = set()
    for item in items:
        if isinstance(item, np.ndarray):
            ids.add(id(item))
            if item.base is not None:
                ids.add(id(item.base))
    return ids


def _copy_like(grad: np.ndarray, value) -> np.ndarray:
    """A writable copy of ``grad`` laid out as ``value`` is (C order for a C-contiguous parameter)."""
    copy = np.empty_like(value, dtype=grad.dtype) if isinstance(value, np.ndarray) else np.empty(grad.shape, grad.dtype)
    np.copyto(copy, grad)
    return copy


def _dependency_path(node: Node, sources: list[Node]) -> list[Node] | None:
    """A chain of nodes from ``node`` to one of ``sources``, each feeding the next, if there is one.

    Making ``sources`` feed ``node`` would then close the chain into a cycle.
    """
    parent: dict[Node, Node | None] = {}
    stack = []
    for source in sources:
        if source is node:
            return [node]
        if source not in parent:
            parent[source] = None
            stack.append(source)
    while stack:
        current = stack.pop()
        for feeder in current.inputs:
            if feeder in parent:
                continue
            parent[feeder] = current
            if feeder is node:
                path = [node]
                step: Node | None = current
                while step is not None:
                    path.append(step)
                    step = parent[step]
                return path
            stack.append(feeder)
    return None


def _cycle_text(path: list[Node], shown: int = 3) -> str:
    """``a -> b -> a``; for a long cycle its first and last few nodes and its length."""
    names = [node.name for node in path]
    if len(names) > 2 * shown + 1:
        hidden = len(names) - 2 * shown
        names = [*names[:shown], f"... ({hidden:,} more) ...", *names[-shown:]]
    return " -> ".join([*names, path[0].name]) + f" ({len(path):,} node{'s' if len(path) > 1 else ''})"


def _ancestors_and_self(nodes: list[Node]) -> set[Node]:
    """The given nodes and every node they depend on, found by walking the inputs."""
    found = set(nodes)
    stack = list(nodes)
    while stack:
        for source in stack.pop().inputs:
            if source not in found:
                found.add(source)
                stack.append(source)
    return found


def _is_constant(item) -> bool:
    return not isinstance(item, (Node, str))


def _check_name_text(name, what: str) -> None:
    """Refuse a name that is not a non-empty string or that holds control characters.

    Names appear in diagrams (Graphviz's ``dot`` fails on control characters),
    pages and messages. Spaces, including non-breaking ones, are fine.
    """
    if not isinstance(name, str) or not name:
        raise NodeNameError(f"{what} must be a non-empty string, got {name!r}")
    if not name.isprintable():
        bad = [c for c in name if not c.isprintable() and unicodedata.category(c) != "Zs"]
        if bad:
            raise NodeNameError(
                f"{what} {name!r} holds the control character {bad[0]!r} (U+{ord(bad[0]):04X}); "
                "names appear in diagrams and messages: use printable characters only"
            )


def _constant_value(value):
    """A constant's value: Python numbers as float, anything else as a checked copy of the array."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _as_float(value, "constant")
    return _as_array(value, "constant").copy()


def _as_float(number, what: str) -> float:
    """A Python number as float, or a clear error where it is too large for one."""
    try:
        return float(number)
    except OverflowError:
        raise DTypeError(
            f"{what} is an integer of {len(str(abs(number)))} digits, too large for a float "
            "(the largest is about 1.8e308): scale it, or feed it as a float"
        ) from None


def _as_array(value, what: str) -> np.ndarray:
    """``value`` as a numeric array (lists of numbers become float64), or a clear error."""
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        raise DTypeError(f"{what} must be numeric, got {value!r}")
    if isinstance(value, np.ma.MaskedArray):
        raise DTypeError(
            f"{what} is a masked array (numpy.ma); gates compute with every element, masked or not, and the "
            "gradient would ignore the mask: pass x.filled(value) to fill the masked elements, "
            "or x.compressed() to drop them"
        )
    if isinstance(value, int):
        value = _as_float(value, what)
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise DTypeError(f"{what} is not a rectangular array of numbers: {error}") from None
    if array.dtype == object and not isinstance(value, np.ndarray):
        array = _python_numbers(array, what)
    if array.dtype.kind not in "iuf":
        kind = "boolean" if array.dtype.kind == "b" else f"not numeric (dtype {array.dtype})"
        raise DTypeError(f"{what} is {kind}; give numbers, e.g. value.astype(np.float64)")
    if array.dtype.kind in "iu" and not isinstance(value, np.ndarray):
        array = array.astype(np.float64)
    return array


def _python_numbers(array: np.ndarray, what: str) -> np.ndarray:
    """A list's object array (numpy's for integers beyond int64) as float64, when it holds only Python numbers."""
    items = array.ravel().tolist()
    if not all(type(item) in (int, float) for item in items):
        return array  # None, text, Decimal...: refused by the caller as not numeric
    try:
        return np.array(items, dtype=np.float64).reshape(array.shape)
    except OverflowError:
        raise DTypeError(
            f"{what} holds an integer too large for a float (the largest is about 1.8e308): scale it, "
            "or feed it as floats"
        ) from None


def as_value(value, name: str, role: str = "feed"):
    """A feed (or, by ``role``, a tangent) as the graph runs it: Python numbers as float, arrays as they are.

    Anything else is checked by :func:`_as_array`, whose errors name ``role`` and ``name``.
    """
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, (bool, np.bool_))):
        return _as_float(value, f"{role} {name!r}")
    if type(value) is np.ndarray and value.dtype.kind in "iuf":  # not a subclass: a masked array is refused
        return value
    return _as_array(value, f"{role} {name!r}")


def parameter_value(name: str, value) -> np.ndarray:
    """A parameter's value as a floating-point array (lists and Python numbers become float64), or a DTypeError."""
    array = _as_array(value, f"parameter {name!r}")
    if array.dtype.kind != "f":
        raise DTypeError(
            f"parameter {name!r} has dtype {array.dtype}; parameters take gradient steps and must be "
            f"floating point: pass value.astype(np.float64)"
        )
    return array


def _all_finite(value) -> bool:
    return bool(np.all(np.isfinite(value)))


def _non_finite(value) -> str:
    """How many NaN and infinite elements ``value`` holds, e.g. '2 of 4 values non-finite (nan 1, -inf 1)'."""
    array = np.asarray(value)
    counts = {"nan": np.isnan(array).sum(), "+inf": np.isposinf(array).sum(), "-inf": np.isneginf(array).sum()}
    found = ", ".join(f"{label} {int(count)}" for label, count in counts.items() if count)
    total = sum(int(c) for c in counts.values())
    return f"{total} of {array.size} values non-finite ({found}), shape {array.shape}"


def _statistics(value) -> str:
    """A short description of a value for error messages: the number, or shape and finite range."""
    array = np.asarray(value)
    if array.size == 1:
        return f"= {array.item():.6g}"
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if not finite.size:
        return f"{array.shape}, no finite values"
    return f"{array.shape} min {finite.min():.4g} max {finite.max():.4g} mean {finite.mean():.4g}"


def _describe(node: Node) -> str:
    return f"node {node.name!r} ({type(node.gate).__name__})" if node.gate is not None else f"{node.kind} {node.name!r}"


def _arguments(node: Node, values: list) -> str:
    return ", ".join(f"{source.name} {shape_of(value)}" for source, value in zip(node.inputs, values))


def _names(names) -> str:
    return ", ".join(repr(name) for name in names)
