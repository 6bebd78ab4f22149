"""Gradient checking: the analytic backward against centred differences in float64.

The lecture's two ways to a gradient side by side: the numerical one is slow
and approximate but hard to get wrong; the analytic one is fast and exact but
error-prone. Checking one against the other is how every gate here is tested,
and how users test the gates they write.

Three checks, from the smallest to the largest: :func:`check_gate` checks one
gate at inputs you choose; :func:`audit` checks every gate node of a graph at
the inputs its last forward gave it, one row per gate; :func:`check_graph`
checks a whole graph's gradients and, when they are wrong, audits it to name
the gate that is.
"""

from __future__ import annotations

import copy
import html
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gates import Gate
from graph.errors import BackwardError, GateContractError, GradientCheckError, NodeNotFoundError
from graph.graph import ComputationalGraph
from graph.messages import did_you_mean
from graph.node import GateNode
from graph.passes import INPUT_ERRORS
from graph.summary import Table

__all__ = ["numerical_gradient", "check_gate", "check_graph", "audit", "AuditRow", "AuditReport"]

# An element sits at a kink when its two one-sided slopes differ by more than this many tolerances;
# a smooth function's differ by about eps times its curvature, far less.
_KINK_TOLERANCES = 10

# What a gate raises when the inputs do not suit it (as the engine counts them): an audit row, not a crash.


def numerical_gradient(
    f: Callable[..., Any], *inputs, upstream=None, eps: float = 1e-6
) -> tuple[np.ndarray | float | None, ...]:
    """Gradients of ``sum(upstream * f(*inputs))`` by centred differences.

    For each element ``x_i`` of each input,
    ``sum(upstream * (f(x_i + eps) - f(x_i - eps))) / (2 eps)``, computed in
    float64. Inputs of integer dtype (labels) are not differentiated: their
    entry is None.

    Parameters
    ----------
    f : callable
        Maps the inputs to an array or a number.
    *inputs : array_like
        Where to differentiate. They are copied, never changed.
    upstream : array_like, optional
        Weights of f's output (dL/df); ones by default, which gives the plain
        gradient of a scalar f.
    eps : float, default 1e-6
        Step of the differences.

    Examples
    --------
    >>> grad_x, grad_y = numerical_gradient(lambda x, y: x * y, 3.0, -4.0)
    >>> round(grad_x, 6), round(grad_y, 6)
    (-4.0, 3.0)
    """
    points = [_float64_copy(x) for x in inputs]
    arguments = _arguments(points, inputs)  # the copies are perturbed in place, so these follow them
    weights = np.ones(np.shape(f(*arguments))) if upstream is None else np.asarray(upstream)
    grads = []
    for point in points:
        grad = None if point is None else _perturb(lambda: f(*arguments), point, weights, eps)
        grads.append(float(grad) if grad is not None and grad.ndim == 0 else grad)
    return tuple(grads)


def check_gate(
    gate: Gate,
    *inputs,
    upstream=None,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
    order: int = 1,
) -> dict[int, float]:
    """Check ``gate.backward`` against numerical gradients of ``gate.forward``.

    The gate runs on float64 copies of the inputs, with a random upstream
    gradient (never all ones, which would hide a transposed or mis-summed
    gradient), and every element of every floating-point input is compared:
    ``|analytic - numeric| <= atol + rtol * |numeric|``. Keep inputs away
    from kinks (relu at 0, ties of max, abs at 0), where no derivative exists.

    Parameters
    ----------
    gate : Gate
        The gate under test; used alone, it wants every input's gradient.
    *inputs : array_like
        Its forward arguments. Integer ones (labels) are passed, not checked.
    upstream : array_like, optional
        dL/dz; by default standard normal, seeded by ``seed``.
    eps, rtol, atol : float
        Difference step and tolerances.
    seed : int
        Seed of the random upstream.
    order : {1, 2}
        2 checks the gradient of the gradient instead, as PyTorch's
        ``gradgradcheck``: the gate's ``gradient`` rule, differentiated by a
        backward pass, against centred differences of its ``backward``; see
        :func:`graph.higher_order.check_second_order`.

    Returns
    -------
    dict
        The largest absolute error for each checked input, by position (with
        ``order=2``, position ``len(inputs)`` is the upstream gradient).

    Raises
    ------
    GradientCheckError
        Naming the input, the element, both values and the relative error.
    GateContractError
        ``backward`` returned the wrong number of gradients or a wrong shape.

    Examples
    --------
    >>> from gates import MultiplyGate
    >>> errors = check_gate(MultiplyGate(), np.array([1.0, 2.0]), np.array([3.0, -1.0]))
    >>> max(errors.values()) < 1e-8
    True
    """
    if not isinstance(gate, Gate):
        what = f"the class {gate.__name__}" if isinstance(gate, type) else repr(gate)
        raise TypeError(f"check_gate needs a gate instance, got {what}; pass e.g. MultiplyGate(), a gates.Gate")
    if order == 2:
        from graph.higher_order import check_second_order

        return check_second_order(gate, inputs, upstream, eps=eps, rtol=rtol, atol=atol, seed=seed)
    if order != 1:
        raise ValueError(f"check_gate order must be 1 or 2, got {order!r}")
    measured = _measure(gate, inputs, upstream, np.random.default_rng(seed), eps)
    broken = _broken_contract(measured)
    if broken:
        raise GateContractError(f"{measured.gate_name}{broken}")
    errors = {}
    for index, got, expected in measured.compared():
        label = f"{measured.gate_name} input {index}"
        if got is None:
            raise GradientCheckError(f"{label}: backward returned None, numeric gradient is {expected}")
        errors[index] = _compare(label, np.asarray(got, dtype=np.float64), expected, rtol, atol)
    return errors


def check_graph(
    graph: ComputationalGraph,
    feeds: Mapping[str, Any] | None = None,
    *,
    output=None,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
) -> dict[str, float]:
    """Check a whole graph's backward against numerical gradients.

    Every input fed with floating-point values and every parameter that
    requires a gradient is perturbed element by element, in float64, and
    compared with what :meth:`~graph.ComputationalGraph.backward` returns for
    a random seed gradient. Parameters get their own values back afterwards,
    and a last forward with the original feeds leaves the graph as it was.

    When a gradient differs, the graph is audited at the checked point
    (:func:`audit`) and the error names the gate nodes whose own backward
    fails its check, beside the leaf whose gradient differs.

    Parameters
    ----------
    graph : ComputationalGraph
    feeds : dict
        The forward feeds.
    output : str or Node, optional
        Which output to check, when the graph has several.
    eps, rtol, atol : float
        Difference step and tolerances, as for :func:`check_gate`.
    seed : int
        Seed of the random seed gradient (and of the audit's upstreams).

    Returns
    -------
    dict
        The largest absolute error for each checked leaf, by name.

    Raises
    ------
    GradientCheckError
        A leaf's gradient differs: names the leaf, the element, both values,
        and the gate nodes that fail their own check.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, w = g.input("x"), g.parameter("w", [0.5, -1.0])
    >>> loss = (x * w).tanh().sum()
    >>> errors = check_graph(g, {"x": np.array([1.0, 2.0])})
    >>> sorted(errors)
    ['w', 'x']
    """
    _check_is_graph(graph, "check_graph")
    feeds = dict(feeds or {})
    outputs = None if output is None else [output]
    parameters = [p for p in graph.parameters if p.requires_grad]
    originals = {p.name: p.value for p in parameters}
    float_feeds = {
        name: _float64_copy(value) if _float64_copy(value) is not None else value for name, value in feeds.items()
    }
    try:
        for p in parameters:
            p.value = np.array(p.value, dtype=np.float64)

        def run() -> Any:
            result = graph.forward(dict(float_feeds), outputs=outputs)
            return result[next(iter(result))] if isinstance(result, dict) else result

        out = run()
        rng = np.random.default_rng(seed)
        upstream = rng.standard_normal(np.shape(out))
        upstream = float(upstream) if np.ndim(upstream) == 0 else upstream
        analytic = graph.backward(upstream, output=output)
        leaves = [(name, value) for name, value in float_feeds.items() if isinstance(value, np.ndarray)]
        leaves = [(name, value) for name, value in leaves if value.dtype.kind == "f" and name in analytic]
        leaves += [(p.name, p.value) for p in parameters if p.name in analytic]
        errors = {}
        for name, array in leaves:
            numeric = _perturb(run, array, upstream, eps)
            try:
                errors[name] = _compare(
                    f"gradient of {name!r}", np.asarray(analytic[name], np.float64), numeric, rtol, atol
                )
            except GradientCheckError as mismatch:
                run()  # every node's value back at the checked point, where the audit checks each gate
                report = audit(graph, eps=eps, rtol=rtol, atol=atol, seed=seed)
                raise GradientCheckError(f"{mismatch}. {_blame(report)}") from None
    finally:
        for p in parameters:
            p.value = originals[p.name]
        graph.forward(feeds, outputs=outputs)
    return errors


@dataclass(frozen=True)
class AuditRow:
    """One gate node's own gradient check, a row of an :class:`AuditReport`.

    Attributes
    ----------
    node : str
        The gate node's name.
    gate : str
        Its gate's class name, e.g. ``"MultiplyGate"``.
    max_error : float
        The largest ``|analytic - numeric|`` over every element of every
        floating-point input, elements at a kink left out; NaN where the
        gate broke its contract or a gradient is not finite.
    ok : bool
        Every element within ``atol + rtol * |numeric|``, or at a kink with
        the backward between the one-sided slopes.
    note : str
        Empty for a plain pass; else the worst element of a failure, a broken
        contract, or the elements found at a kink.
    """

    node: str
    gate: str
    max_error: float
    ok: bool
    note: str = ""


@dataclass(frozen=True, repr=False)
class AuditReport:
    """The result of :func:`audit`: one :class:`AuditRow` per gate node, in forward order.

    Iterate over it, index it by position or by node name
    (``report["softplus"]``), ask ``report.ok`` and ``report.failed``;
    ``print(report)`` shows an aligned table, and a notebook shows it as an
    HTML table.
    """

    rows: tuple[AuditRow, ...]
    rtol: float
    atol: float

    def __iter__(self) -> Iterator[AuditRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: int | str) -> AuditRow:
        if not isinstance(key, str):
            return self.rows[key]
        for row in self.rows:
            if row.node == key:
                return row
        shown = ", ".join(repr(row.node) for row in self.rows[:8]) + (", ..." if len(self.rows) > 8 else "")
        hint = did_you_mean(key, [row.node for row in self.rows])
        raise NodeNotFoundError(f"no gate node {key!r} in this audit{hint}; its rows are {shown or 'none'}")

    @property
    def failed(self) -> list[AuditRow]:
        """The rows whose gate fails its check."""
        return [row for row in self.rows if not row.ok]

    @property
    def ok(self) -> bool:
        """Whether every gate node passes its check."""
        return not self.failed

    def summary(self) -> str:
        """One line: how many gate nodes pass, or which fail."""
        failed = self.failed
        if not failed:
            return f"all {len(self.rows)} gate nodes pass"
        names = ", ".join(repr(row.node) for row in failed)
        return f"{len(failed)} of {len(self.rows)} gate nodes fail: {names}"

    def __str__(self) -> str:
        header = ("node", "gate", "max_error", "ok", "note")
        cells = tuple(
            (row.node, row.gate, f"{row.max_error:.1e}", "ok" if row.ok else "FAIL", row.note) for row in self
        )
        tolerance = f"|backward - centred difference| <= {self.atol:g} + {self.rtol:g} |numeric|"
        return str(Table("", header, cells, f"{self.summary()} ({tolerance})", right=(2,)))

    def __repr__(self) -> str:
        return f"<AuditReport: {self.summary()}>"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{name}</th>" for name in ("node", "gate", "max_error", "ok", "note"))
        body = []
        for row in self.rows:
            style = "" if row.ok else ' style="color: #b00020; font-weight: bold"'
            cells = (row.node, row.gate, f"{row.max_error:.1e}", "ok" if row.ok else "FAIL", row.note)
            body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
        return (
            f'<table class="gategraph-audit"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            f"<caption>{html.escape(self.summary())}</caption></table>"
        )


def audit(
    graph: ComputationalGraph,
    feeds: Mapping[str, Any] | None = None,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
) -> AuditReport:
    """Check every gate node's backward on its own inputs from the last forward.

    Each gate node that has a value is checked as :func:`check_gate` checks
    a gate: on a copy of its gate, at float64 copies of the values its inputs
    had in the last forward, with a random standard-normal upstream (all drawn
    from one generator seeded by ``seed``, so the report is reproducible),
    every element of every floating-point input compared with centred
    differences: ``|analytic - numeric| <= atol + rtol * |numeric|``. Integer
    inputs (labels) are passed, not perturbed; inputs that need no gradient in
    the graph (data) are checked all the same, since the check asks the gate
    for every gradient. Where :func:`check_graph` says that a gradient is
    wrong, the audit says which gate made it so.

    Kinks: where an element sits at a kink of its gate (relu at 0, a tie of
    max, abs at 0), or within ``eps`` of one, no derivative exists and the
    centred difference averages the two sides. The audit tells such an element
    by its one-sided slopes, which differ by more than ten tolerances; there
    the backward passes if it lies between them (a subgradient, such as
    relu'(0) = 0), the element is left out of ``max_error``, and the row's
    note says how many elements sat at a kink. A backward outside the slopes
    fails as anywhere else.

    The graph is not disturbed: values, gradients and every gate's cache stay
    as the last forward and backward left them, so a backward run right after
    gives the same gradients as before. The cost is two forwards of a gate per
    element of its inputs: audit small batches.

    Parameters
    ----------
    graph : ComputationalGraph
    feeds : dict, optional
        When given, ``graph.forward(feeds)`` runs first (clearing the
        gradients of an earlier backward, as every forward does); by
        default the last forward's values are checked.
    eps, rtol, atol : float
        Difference step and tolerances, those of :func:`check_gate`.
    seed : int
        Seed of the random upstreams.

    Returns
    -------
    AuditReport
        One row per gate node (``node``, ``gate``, ``max_error``, ``ok``,
        ``note``), in forward order.

    Raises
    ------
    BackwardError
        ``feeds`` is None and no forward has given the gates values yet.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, w = g.input("x"), g.parameter("w", [0.5, -1.0])
    >>> loss = (x * w).relu().sum()
    >>> report = audit(g, {"x": np.array([1.0, 2.0])})
    >>> report.ok, [row.node for row in report], report["relu_1"].gate
    (True, ['mul_1', 'relu_1', 'sum_1'], 'ReLUGate')
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    node    gate          max_error  ok  note
    mul_1   MultiplyGate    7.1e-12  ok
    relu_1  ReLUGate        6.4e-13  ok
    sum_1   SumGate         5.4e-13  ok
    all 3 gate nodes pass (|backward - centred difference| <= 1e-08 + 1e-05 |numeric|)
    """
    _check_is_graph(graph, "audit")
    if feeds is not None:
        graph.forward(feeds)
    gate_nodes = [node for node in graph.nodes if isinstance(node, GateNode)]
    ran = graph.trace.nodes  # only what the last forward computed: never a value of an earlier pass
    computed = [node for node in gate_nodes if ran[node.name].forward is not None]
    if gate_nodes and not computed:
        raise BackwardError(
            "audit() checks each gate at the inputs of the last forward, and no forward has run: "
            "call g.forward(...) first, or pass the feeds, audit(g, {'x': ...})"
        )
    rng = np.random.default_rng(seed)
    return AuditReport(tuple(_audit_node(node, rng, eps, rtol, atol) for node in computed), rtol, atol)


# -- the shared machinery -------------------------------------------------------------------------


@dataclass
class _Measurement:
    """One gate run forward and backward at float64 copies of its inputs, with the numerical gradients."""

    gate_name: str
    points: list  # float64 copies of the inputs, None for integer ones (labels)
    run: Callable[[], Any]  # the gate's forward at the points, which perturbing changes in place
    upstream: Any
    analytic: Any  # what backward returned
    numeric: list  # centred differences, None for integer inputs

    def compared(self) -> Iterator[tuple[int, Any, np.ndarray]]:
        """(position, analytic, numeric) for each floating-point input."""
        for index, (point, got, expected) in enumerate(zip(self.points, self.analytic, self.numeric)):
            if point is not None:
                yield index, got, expected


def _measure(gate: Gate, inputs, upstream, rng: np.random.Generator, eps: float) -> _Measurement:
    """Run ``gate`` at float64 copies of ``inputs``: backward (random upstream unless given), centred differences."""
    points = [_float64_copy(x) for x in inputs]
    arguments = _arguments(points, inputs)
    gate.needs_input_grad = (True,) * len(arguments)
    output = gate.forward(*arguments)
    if upstream is None:
        upstream = rng.standard_normal(np.shape(output))
        upstream = float(upstream) if np.ndim(upstream) == 0 else upstream
    analytic = gate.backward(upstream)

    def run():
        return gate.forward(*arguments)

    numeric = [None if point is None else _perturb(run, point, upstream, eps) for point in points]
    run()  # leave the gate's cache as of the checked point
    return _Measurement(type(gate).__name__, points, run, upstream, analytic, numeric)


def _broken_contract(measured: _Measurement) -> str | None:
    """How backward broke the Gate contract (gradients' count or shapes), after the gate's name; None if it did not."""
    analytic, points = measured.analytic, measured.points
    if not isinstance(analytic, (tuple, list)) or len(analytic) != len(points):
        return f".backward must return a tuple of {len(points)} gradients, one per input"
    for index, got, _ in measured.compared():
        if got is not None and np.shape(got) != points[index].shape:
            return f" input {index}: gradient has shape {np.shape(got)}, the input has {points[index].shape}"
    return None


def _audit_node(node, rng: np.random.Generator, eps: float, rtol: float, atol: float) -> AuditRow:
    """Check one gate node on a copy of its gate, so that the node's gate keeps the cache of the last forward."""
    gate = copy.deepcopy(node.gate)
    name = type(node.gate).__name__

    def row(max_error: float, ok: bool, note: str = "") -> AuditRow:
        return AuditRow(node.name, name, max_error, ok, note)

    try:
        with np.errstate(all="ignore"):  # a non-finite value is reported in the row, not warned about
            measured = _measure(gate, [source.value for source in node.inputs], None, rng, eps)
    except INPUT_ERRORS as error:
        return row(math.nan, False, f"the check's forward or backward raised {type(error).__name__}: {error}")
    broken = _broken_contract(measured)
    if broken:
        return row(math.nan, False, f"{name}{broken}")

    largest, failures, kinks = [], [], []  # the largest error of each input, kinks left out
    for index, got, expected in measured.compared():
        where = f"input {index} ({node.inputs[index].name!r})"
        if got is None:
            failures.append(f"{where}: backward returned None where a gradient was asked for")
            largest.append(math.nan)
            continue
        got = np.asarray(got, dtype=np.float64)
        difference = np.abs(got - expected)
        bad = _outside(difference, expected, rtol, atol)
        at_kink = np.zeros_like(bad)
        for element in map(tuple, np.argwhere(bad)):
            slopes = _kink_slopes(measured, index, element, got[element], eps, rtol, atol)
            if slopes is not None:
                at_kink[element] = True
                kinks.append((where, element, slopes, got[element]))
        bad &= ~at_kink
        kept = difference[~at_kink]
        if kept.size:
            largest.append(float(np.max(kept)))
        if np.any(bad):
            failures.append(f"{where}, {_mismatch(got, expected, difference, bad, rtol, atol)}")
    max_error = float(np.max(largest)) if largest else 0.0  # NaN wins, as it should
    notes = failures[:1]  # the first failing input, as check_gate would report it
    if kinks:
        where, element, (left, right), got = kinks[0]
        notes.append(
            f"{len(kinks)} element(s) at a kink, left out of max_error: {where}, element {_index(element)}: "
            f"one-sided slopes {left:.4g} and {right:.4g}, backward {got + 0.0:.4g}"
        )
    return row(max_error, not failures, "; ".join(notes))


def _kink_slopes(measured: _Measurement, index: int, element, got: float, eps, rtol, atol):
    """The one-sided slopes (left, right) at an element at a kink with the backward between them; else None."""
    point, upstream = measured.points[index], measured.upstream
    with np.errstate(all="ignore"):  # as in the audit's own differences: a non-finite slope is no kink
        centre = np.array(measured.run(), dtype=np.float64)
        left = float(np.sum(upstream * (centre - _shifted(measured.run, point, element, -eps)))) / eps
        right = float(np.sum(upstream * (_shifted(measured.run, point, element, eps) - centre))) / eps
        measured.run()  # the copy's cache back at the checked point
    tolerance = atol + rtol * max(abs(left), abs(right))
    at_kink = abs(right - left) > _KINK_TOLERANCES * tolerance
    between = min(left, right) - tolerance <= got <= max(left, right) + tolerance
    return (left, right) if at_kink and between else None


def _blame(report: AuditReport) -> str:
    """What the audit says about a graph whose gradient check failed."""
    if report.failed:
        rows = "; ".join(f"node {row.node!r} ({row.gate}): {row.note}" for row in report.failed)
        which = "the gate node whose" if len(report.failed) == 1 else "the gate nodes whose"
        return f"Audit: {which} own backward fails its check: {rows}. See graph.audit(g) for every gate"
    kinks = [f"{row.node!r} ({row.note})" for row in report if row.note]
    at_kinks = f"; elements at a kink: {', '.join(kinks)}" if kinks else ""
    return (
        f"Audit: all {len(report)} gate nodes pass their own check at their inputs, so the difference comes "
        f"from a kink or from how the gates are wired, not from one gate's backward{at_kinks}"
    )


def _check_is_graph(graph, caller: str) -> None:
    if not isinstance(graph, ComputationalGraph):
        hint = "; for a model pass model.graph" if hasattr(graph, "graph") else ""
        raise TypeError(f"{caller}() needs a ComputationalGraph, got {type(graph).__name__}{hint}")


def _perturb(run: Callable[[], Any], array: np.ndarray, upstream, eps: float) -> np.ndarray:
    """Centred differences of ``sum(upstream * run())`` in each element of ``array``, in place and restored.

    The two outputs are subtracted before they are weighted and summed, so the
    rounding error is that of the elements the step changes, not of the whole sum.
    """
    grad = np.zeros(array.shape)
    for element in np.ndindex(array.shape):
        change = _shifted(run, array, element, eps) - _shifted(run, array, element, -eps)
        grad[element] = float(np.sum(upstream * change)) / (2 * eps)
    return grad


def _shifted(run: Callable[[], Any], array: np.ndarray, element: tuple[int, ...], step: float) -> np.ndarray:
    """A float64 copy of ``run()`` with ``array[element]`` moved by ``step``, which is then put back.

    The element is set by its index, never through a flattened view, which a
    transposed (Fortran-ordered) array would not have. The output is copied,
    since it may be a view of the input (a transpose), which putting back would change.
    """
    original = array[element]
    array[element] = original + step
    try:
        return np.array(run(), dtype=np.float64)
    finally:
        array[element] = original


def _outside(error: np.ndarray, numeric: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Where the error is past tolerance, or not a number."""
    return ~(error <= atol + rtol * np.abs(numeric))


def _compare(label: str, analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float) -> float:
    """Largest absolute error; raises with a report on the worst element past tolerance."""
    error = np.abs(analytic - numeric)
    bad = _outside(error, numeric, rtol, atol)
    if np.any(bad) or not np.all(np.isfinite(analytic)):
        raise GradientCheckError(f"{label}, {_mismatch(analytic, numeric, error, bad, rtol, atol)}")
    return float(np.max(error)) if error.size else 0.0


def _mismatch(analytic, numeric, error, bad, rtol: float, atol: float) -> str:
    """The worst element past tolerance, both values and the relative error, and how many differ."""
    worst = np.unravel_index(np.argmax(np.where(bad, error, -1.0)), error.shape) if error.ndim else ()
    got, expected = analytic[worst], numeric[worst]
    relative = abs(got - expected) / max(abs(got), abs(expected), 1e-300)
    element = f"element {_index(worst)}" if worst else "the value"
    return (
        f"{element}: analytic {got:.10g} vs numeric {expected:.10g}, "
        f"relative error {relative:.3g} (rtol {rtol:g}, atol {atol:g}); "
        f"{int(np.sum(bad))} of {error.size} elements differ"
    )


def _index(element) -> str:
    return str(tuple(int(i) for i in element))


def _float64_copy(value) -> np.ndarray | None:
    """A float64 copy of a floating-point or Python-number input, None for integer arrays (labels)."""
    array = np.asarray(value)
    if array.dtype.kind in "iu" and isinstance(value, np.ndarray):
        return None
    return np.array(array, dtype=np.float64)


def _arguments(points: list, inputs: tuple) -> list:
    """The float64 copies where there are some, the original labels elsewhere."""
    return [original if point is None else point for point, original in zip(points, inputs)]
