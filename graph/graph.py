"""ComputationalGraph: a builder that runs, composing the engine's parts.

The builder (graph/builder.py) holds the nodes; the plan (graph/plan.py)
orders what some outputs need; the passes (graph/passes.py) run it forward
and backward; the trace (graph/trace.py) records what they computed. The
graph knows no particular gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gates import shape_of
from graph.builder import GraphBuilder
from graph.errors import BackwardError, FeedError, GateError, NonFiniteError, OutputError, ShapeError
from graph.messages import all_finite, describe, non_finite, quoted
from graph.node import Node, NodeKind
from graph.passes import collector_paused, hand_over, run_backward, run_forward
from graph.plan import BackwardPlan, Plan, backward_plan, forward_plan
from graph.trace import PassRecord, Trace, read_only
from graph.values import as_array, as_value

__all__ = ["ComputationalGraph"]


class ComputationalGraph(GraphBuilder):
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
        super().__init__()
        self._plans: dict[tuple[str, ...] | None, Plan] = {}
        self._last_forward: Plan | None = None  # None also after a change of structure: backward then refuses
        self._forward_failed = False
        self._kept = True  # False after a forward(keep=False): backward then refuses
        self._record: PassRecord | None = None  # the last successful forward (and backward): what g.trace reads
        # What the nodes show (see _shown_value): by node of the record's plan, its slot, built when first read;
        # and the values and gradients assigned to nodes since, which they show instead of the record's.
        self._slots: tuple[Plan | None, dict[Node, int]] = (None, {})
        self._assigned_values: set[Node] = set()
        self._assigned_grads: dict[Node, Any] = {}

    @property
    def trace(self) -> Trace:
        """What the last successful forward, and the backward after it, computed; see :class:`graph.trace.Trace`.

        Per node its value and which forward computed it; per edge the value
        that flowed forward, the upstream gradient and the gradient sent back;
        the contributions summed where a node fans out. Read-only.
        """
        return Trace(self._record, self.nodes)

    # -- running ------------------------------------------------------------------

    def forward(
        self,
        feeds: Mapping[str, Any] | None = None,
        /,
        *,
        outputs=None,
        check_finite: bool = False,
        keep: bool = True,
        **named_feeds,
    ):
        """Run the forward pass and return the output's value.

        Parameters
        ----------
        feeds : dict, optional
            Input values by name; keyword arguments do the same. Feeds go by
            name only: a list or tuple is refused with the call to make.
        outputs : str, Node or list of them, optional
            What to compute. By default every output (gate feeding nothing).
            Only the ancestors of the requested outputs run, and only their
            inputs must be fed.
        check_finite : bool, default False
            Anomaly detection: stop at the first gate whose output holds a NaN
            or an infinity, naming it and describing its inputs.
        keep : bool, default True
            Keep the pass for :meth:`backward`, the nodes' ``.value`` and
            :attr:`trace`. False is a pass for prediction or scoring (as
            ``Model.predict`` and ``models.evaluate`` run it): it keeps only
            the outputs it returns, letting each value go once the gates
            after it have read it; node values and the trace still show the
            last pass that was kept, and :meth:`backward` is refused until a
            forward keeps its pass.

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
            A needed input is not fed, a feed names no input (with a
            did-you-mean), or ``feeds`` is not a dict.
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
        missing = [read.name for read in plan.feeds if read.name not in feeds]
        if missing:
            raise FeedError(
                f"missing feed for input {quoted(missing)} needed by {quoted(plan.outputs)}; "
                f"pass forward({missing[0]}=...)"
            )
        values: list[Any] = [None] * len(plan.order)
        for node, slot in plan.leaves:
            values[slot] = node.value
        read_versions = tuple([node.version for node, _ in plan.leaves])
        for read in plan.feeds:
            values[read.slot] = as_value(feeds[read.name], read.name)

        self._forward_failed = True  # until the pass completes; backward is refused meanwhile
        self._last_forward = None
        record = self._record
        if record is not None and keep:
            record.gates_hold_it = False
        elif record is not None and not any(scored is plan for scored in record.scored_by):
            record.scored_by.append(plan)  # its gates hold this pass now; the record's others still hold theirs
        floats = run_forward(plan, values, check_finite, keep)
        results = [values[slot] for slot in plan.output_slots]
        if keep:
            if self._record is not None and self._record.plan is not plan:
                self._keep_shown_values(self._record, plan)
                self._slots = (None, {})
            self._assigned_values.clear()
            self._assigned_grads.clear()
            self._last_forward = plan
            number = self._record.number + 1 if self._record else 1
            self._record = PassRecord(number, plan, values, floats=floats, read_versions=read_versions)
            self._change = None
        self._forward_failed, self._kept = False, keep
        if single or (outputs is None and len(plan.outputs) == 1):
            return results[0]
        return dict(zip(plan.outputs, results))

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
        plan, record = self._last_forward, self._record
        if plan is None:
            raise BackwardError(f"backward() needs a successful forward() first: {self._why_no_forward()}")
        assert record is not None and record.plan is plan  # set with _last_forward
        for (node, _), version in zip(plan.leaves, record.read_versions):
            if node.version != version:
                raise BackwardError(
                    f"{node.kind} {node.name!r} changed after the forward() that backward() would differentiate "
                    f"(version {version}, now {node.version}, e.g. an optimiser step or an assignment to .value); "
                    "its gates still hold the old value: run forward() again, then backward()"
                )
        back = self._backward_plan(plan, self._backward_output(plan, output))
        out_node = plan.order[back.output_slot]
        seed = self._seed(out_node, grad)
        if check_finite and not all_finite(seed):
            raise NonFiniteError(f"backward grad (the seed of output {out_node.name!r}) holds {non_finite(seed)}")

        found = run_backward(back, record.values, seed, check_finite, record.floats)
        results = hand_over(back.results, found, record.values)
        for node in [node for node in self._assigned_grads if node in plan.needed]:
            del self._assigned_grads[node]  # this pass's gradient replaces it
        record.backward = found
        return results

    # -- what the nodes show: their value, gradient and gradients sent, read from the record -----

    def _shown_value(self, node: Node):
        """An input's or gate's ``.value``: the last kept forward's, or an earlier one's where that did not run it."""
        record = self._record
        slot = None if record is None or node in self._assigned_values else self._slot(record.plan, node)
        return node._value if record is None or slot is None else record.values[slot]

    def _shown_grad(self, node: Node):
        """A node's ``.grad``: as assigned since the last pass, else from the last backward (read-only for a gate)."""
        if node in self._assigned_grads:
            return self._assigned_grads[node]
        record = self._record
        if record is None or record.backward is None:
            return None  # no backward since the last forward
        slot = self._slot(record.plan, node)
        if slot is None:
            return None
        grad = record.backward.grads[slot]
        return read_only(grad) if node.kind is NodeKind.GATE else grad  # it may be the very array passed on

    def _shown_input_grads(self, node: Node) -> tuple[Any, ...] | None:
        """A gate node's ``.input_grads``: what its backward returned in the last backward pass, if it ran."""
        record = self._record
        if record is None or record.backward is None:
            return None
        slot = self._slot(record.plan, node)
        return None if slot is None else record.backward.sent[slot]

    def _assigned_value(self, node: Node) -> None:
        """``node.value = ...`` on an input or gate: it shows that value until the next kept forward."""
        self._assigned_values.add(node)

    def _assigned_grad(self, node: Node, grad) -> None:
        """``node.grad = ...`` (``zero_grad`` does it): shown until the next kept forward or a backward setting it."""
        self._assigned_grads[node] = grad

    def _slot(self, plan: Plan, node: Node) -> int | None:
        """``node``'s slot in ``plan``, the last kept forward's; None where that forward did not run it."""
        if self._slots[0] is not plan:
            self._slots = (plan, {node: slot for slot, node in enumerate(plan.order)})
        return self._slots[1].get(node)

    def _keep_shown_values(self, record: PassRecord, plan: Plan) -> None:
        """Before showing a forward of ``plan``: the inputs and gates it did not run go on showing ``record``'s values.

        Those it ran show its record's, so they keep no value of their own (none held twice).
        """
        for node, slot in [*record.plan.feeds, *((step.node, step.slot) for step in record.plan.steps)]:
            if node not in self._assigned_values:
                node._value = record.values[slot]  # a pass's own value: no version counted (see Node.value)
        for node in [*(read.node for read in plan.feeds), *(step.node for step in plan.steps)]:
            node._value = None

    # -- diagrams and explanations: graph.views reads the graph, never runs it -----

    def to_dot(self, values: bool = True, grads: bool = True, **options):
        """The diagram as a ``graphviz.Digraph``; see :func:`graph.views.diagram.to_dot`."""
        from graph.views.diagram import to_dot

        return to_dot(self, values=values, grads=grads, **options)

    def render(self, path, **options):
        """Write the diagram to ``path``, format from the suffix; see :func:`graph.views.diagram.render`.

        ``focus="W1"`` draws the paths from the output back to W1 thick and fades the rest.
        """
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
        """The last backward pass in words, node by node; see :func:`graph.views.explain.explain`.

        ``focus="w0"`` writes dL/dw0 instead, as the sum over the paths from the output of the products of
        local gradients, beside the gradient the backward pass computed.
        """
        from graph.views.explain import explain

        return explain(self, **options)

    def animate(self, path, **options):
        """The last forward and backward pass as a step-through HTML page; see :func:`graph.views.animate.animate`.

        ``quiz=True`` asks for each gradient before showing it; ``focus="W1"`` highlights the paths to W1.
        """
        from graph.views.animate import animate

        return animate(self, path, **options)

    # -- forward mode: graph.forward_mode pushes tangents through the gates' jvp -----

    def jvp(self, feeds: Mapping[str, Any], tangents: Mapping[str | Node, Any], output=None):
        """Forward, then the output's tangent along ``tangents`` (``J v``); see :func:`graph.forward_mode.jvp`."""
        from graph.forward_mode import jvp

        return jvp(self, feeds, tangents, output=output)

    # -- higher orders: graph.higher_order writes the backward pass as gate nodes -----

    def gradient(self, output: Node | str, wrt, grad=None):
        """``output``'s gradient with respect to ``wrt`` as new nodes; see :func:`graph.higher_order.gradient`.

        A tuple of nodes for a list ``wrt``. Built only when asked for:
        ``backward()`` never builds it.
        """
        from graph.higher_order import gradient

        return gradient(self, output, wrt, grad=grad)

    # -- plans ------------------------------------------------------------------------

    def _plan_for(self, outputs: tuple[str, ...], key=()) -> Plan:
        """The cached plan for ``outputs``, built on first use after each change.

        It is cached under ``outputs`` and also under ``key`` (None for the
        default outputs), which forward() looks up first.
        """
        plan = self._plans.get(outputs)
        if plan is None:
            with collector_paused():  # a plan of a large graph is many small objects
                plan = forward_plan(self._topological(), [self._nodes[name] for name in outputs])
            self._plans[outputs] = plan
        if key is None:
            self._plans[None] = plan
        return plan

    def _backward_plan(self, plan: Plan, output: Node) -> BackwardPlan:
        back = plan.backward_plans.get(output)
        if back is None:
            with collector_paused():
                back = plan.backward_plans[output] = backward_plan(plan, output)
        return back

    def _changed(self, node: Node, how: str) -> None:
        """Forget the plans and the last forward too: backward refuses until forward runs again."""
        super()._changed(node, how)
        self._plans.clear()
        self._last_forward = None

    def _renamed(self) -> None:
        """Forget the plans' cache, keyed by output names; plans hold nodes, so the last forward's stays valid."""
        super()._renamed()
        self._plans.clear()

    # -- helpers ---------------------------------------------------------------------------

    def _why_no_forward(self) -> str:
        if self._forward_failed:
            return "the last forward() failed"
        if not self._kept:
            return (
                "the last forward() kept nothing for backward (keep=False, as Model.predict and models.evaluate "
                "run it): run forward() again"
            )
        if self._record is not None and self._change is not None:
            how, node = self._change
            return f"the graph changed since the last forward() ({describe(node)} was {how}): run forward() again"
        return "forward() has not run"

    def _output_names(self, outputs) -> tuple[str, ...]:
        if outputs is None:
            names = tuple(n.name for n in self.outputs)
            if not names:
                raise GateError("the graph has no gates yet: nothing to compute")
            return names
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        if not outputs:
            default = quoted(n.name for n in self.outputs[:3])
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
            raise FeedError(self._feeds_go_by_name(feeds))
        not_names = [key for key in merged if not isinstance(key, str)]
        if not_names:
            raise FeedError(f"feed key {not_names[0]!r} is not an input's name or node; feed forward({{'x': 1.0}})")
        twice = sorted(set(merged) & set(named_feeds))
        if twice:
            raise FeedError(f"input {quoted(twice)} fed twice, in the dict and as a keyword")
        merged.update(named_feeds)
        unknown = sorted(
            name for name in merged if name not in self._nodes or self._nodes[name].kind is not NodeKind.INPUT
        )
        if unknown:
            listed = [n.name for n in self.inputs]
            raise FeedError(
                f"feed {quoted(unknown)} names no input of the graph; its inputs are {quoted(listed)}"
                f"{self._hint(unknown[0], listed)}"
            )
        return merged

    def _feeds_go_by_name(self, feeds) -> str:
        """What to say to ``forward(feeds)`` that is no dict: the call to make, with this graph's input names."""
        names = [node.name for node in self.inputs] or ["x"]
        given = type(feeds).__name__
        if isinstance(feeds, (list, tuple)) and len(feeds) == len(names):  # values in the order the inputs were added?
            shown = [repr(value) if isinstance(value, (int, float)) else "..." for value in feeds]
            keywords = ", ".join(f"{name}={value}" for name, value in zip(names, shown))
            return (
                f"forward's feeds go by name, not by position (got a {given} of {len(feeds)} values): call "
                f"forward({keywords}) or forward({{{', '.join(f'{n!r}: {v}' for n, v in zip(names, shown))}}}); "
                f"the graph's inputs, in the order they were added, are {quoted(names)}"
            )
        if isinstance(feeds, (list, tuple)):
            given = f"a {given} of {len(feeds)} values"
        keywords = ", ".join(f"{name}=..." for name in names)
        return (
            f"forward's feeds go by name: a dict of input values by name, or keywords, got {given}; "
            f"call forward({keywords}) (the graph's inputs are {quoted(names)})"
        )

    def _backward_output(self, plan: Plan, output) -> Node:
        if output is None:
            if len(plan.output_nodes) != 1:
                raise BackwardError(
                    f"the last forward computed several outputs ({quoted(plan.outputs)}); "
                    f"name one: backward(output={plan.outputs[0]!r})"
                )
            return plan.output_nodes[0]
        node = self._resolve(output)
        if node not in plan.needed:
            raise BackwardError(
                f"output {node.name!r} was not computed by the last forward; run forward(outputs=...) with it"
            )
        return node

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
        seed = as_array(grad, f"backward grad for output {out_node.name!r}")
        if seed.shape != shape:
            raise ShapeError(f"backward grad has shape {seed.shape}, output {out_node.name!r} has shape {shape}")
        if isinstance(value, float):  # a scalar graph runs on Python floats
            return float(seed)
        return seed.astype(dtype, copy=False)
