"""Node handles: a name in a graph, its last value and gradient, and operator sugar.

``x + y`` on two nodes adds an ``AddGate`` to their graph and returns the new
node, so ``f = (x + y) * z`` builds the lecture's first circuit. Numbers and
arrays mixed in become constant nodes.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from gates import (
    AbsGate,
    AddGate,
    DivideGate,
    ExpGate,
    Gate,
    LeakyReLUGate,
    LogGate,
    MatMulGate,
    MaxGate,
    MeanGate,
    MinGate,
    MultiplyGate,
    NegateGate,
    PowerGate,
    ReLUGate,
    ReshapeGate,
    SigmoidGate,
    SoftmaxGate,
    SqrtGate,
    SubtractGate,
    SumGate,
    TanhGate,
    TransposeGate,
    shape_of,
)
from graph.errors import DTypeError, GateError
from graph.values import parameter_value

if TYPE_CHECKING:
    from graph.builder import GraphBuilder
    from graph.graph import ComputationalGraph

__all__ = ["NodeKind", "Node", "GateNode", "UFUNC_GATES"]


class NodeKind(str, Enum):
    """What a node is. A ``str``, so ``node.kind == "gate"`` and f-strings read as before.

    >>> NodeKind.GATE == "gate", f"{NodeKind.PARAMETER}"
    (True, 'parameter')
    """

    INPUT = "input"  # fed at each forward
    PARAMETER = "parameter"  # holds a value optimisers update
    CONSTANT = "constant"  # holds a value that never changes
    GATE = "gate"  # applies its gate to its inputs

    def __str__(self) -> str:
        return self.value


class Node:
    """One node of a :class:`~graph.ComputationalGraph`.

    Attributes
    ----------
    name : str
        Unique in its graph. Assigning it renames the node, as :meth:`named` does.
    kind : NodeKind
        ``"input"``, ``"parameter"``, ``"constant"`` or ``"gate"`` (a ``str`` enum).
    gate : Gate or None
        The operation, for gate nodes (:class:`GateNode`); None for leaves.
    inputs : tuple of Node
        The nodes feeding the gate, in argument order (empty for leaves).
    requires_grad : bool
        Whether a gradient flows back to this node: set for inputs and
        parameters, and for a gate when any of its inputs requires one.
    value
        The output of the last successful forward (a parameter's or a
        constant's value at all times); None before. A value assigned to a
        parameter is checked as :meth:`~graph.ComputationalGraph.parameter`
        checks the first: a floating-point array (lists become float64).
    version : int
        How many times ``value`` was assigned (``p.value = ...``, also
        ``p.value -= ...``) or marked changed in place (:meth:`mark_changed`).
        A forward records the versions of the parameters and constants it
        read, and a backward refuses if one has moved since: the gates kept
        the old values, so the gradient would mix old and new.
    grad
        dL/d(node) from the last backward; None before, and for nodes the
        backward did not reach. An input's or parameter's ``.grad`` is an
        array of its own, writable and shared with no other node (clip or
        scale it in place freely). A gate node's ``.grad`` is the engine's
        record of the pass, read-only: it may be the very array passed on to
        another node (an add hands its upstream to both inputs unchanged).
    input_grads : tuple or None
        For a gate node, what its backward sent to each input in the last
        backward pass (``None`` entries for skipped inputs): the per-edge
        contributions that are summed where an input fans out. Read-only.
    scope : str or None
        The ``graph.scope(...)`` the node was created in, e.g. ``"layer1"``.
    """

    graph: GraphBuilder
    kind: NodeKind
    gate: Gate | None
    inputs: tuple[Node, ...]
    requires_grad: bool
    version: int
    scope: str | None

    __slots__ = (
        "graph",
        "_name",
        "kind",
        "gate",
        "inputs",
        "requires_grad",
        "_value",
        "version",
        "scope",
    )

    def __init__(
        self,
        graph: GraphBuilder,
        name: str,
        kind: NodeKind,
        *,
        gate: Gate | None = None,
        inputs: tuple[Node, ...] = (),
        requires_grad: bool = False,
        value: Any = None,
        scope: str | None = None,
    ):
        self.graph, self._name, self.kind, self.gate = graph, name, kind, gate
        self.inputs, self.requires_grad, self._value, self.scope = inputs, requires_grad, value, scope
        self.version = 0

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        self.graph.rename(self, name)

    def named(self, name: str) -> Node:
        """Rename this node and return it, so that naming chains: ``q = (x + y).named("q")``.

        Everything follows the new name: ``g["q"]``, the plans, the trace,
        diagrams, explanations and the animation; the old name is free again.
        Renaming an input changes its feed's name too: after
        ``x.named("a")``, feed ``forward(a=...)``. Assigning ``node.name``
        does the same.

        Raises
        ------
        DuplicateNameError
            Another node of the graph has that name.
        NodeNameError
            The name is not a non-empty string, or holds control characters.
            In both cases nothing changes.

        Examples
        --------
        >>> from graph import ComputationalGraph
        >>> g = ComputationalGraph()
        >>> x, y, z = g.input("x"), g.input("y"), g.input("z")
        >>> q = (x + y).named("q")
        >>> f = (q * z).named("f")
        >>> g.forward(x=-2.0, y=5.0, z=-4.0), g["q"].value
        (-12.0, 3.0)
        """
        self.graph.rename(self, name)
        return self

    def backward(self, grad=None, *, check_finite: bool = False) -> dict[str, Any]:
        """Run the backward pass from this node: ``g.backward(grad, output=node, check_finite=...)``.

        The node must have been computed by the last forward. Returns the
        gradients of the inputs and parameters by name, as
        :meth:`~graph.ComputationalGraph.backward` does (see it for the seed
        rule and the errors).

        >>> from graph import ComputationalGraph
        >>> g = ComputationalGraph()
        >>> x, y = g.input("x"), g.input("y")
        >>> f = x * y
        >>> _ = g.forward(x=3.0, y=-4.0)
        >>> f.backward()
        {'x': -4.0, 'y': 3.0}
        """
        return self._runner().backward(grad, output=self, check_finite=check_finite)

    # An input's or gate's value, gradient and gradients sent are read from the graph's record of its last
    # pass, which keeps them by slot: the engine writes nothing to the nodes after a pass (0.1-0.3 us per gate).

    @property
    def value(self):
        if self.kind is NodeKind.PARAMETER or self.kind is NodeKind.CONSTANT:
            return self._value
        return self._runner()._shown_value(self)

    @value.setter
    def value(self, value) -> None:
        # ``version`` counts the changes made from outside, to the leaves' values.
        if self.kind is NodeKind.PARAMETER and not (type(value) is np.ndarray and value.dtype.kind == "f"):
            # a list would reach the gates as a list (its gradient summed to one number), an
            # integer array would break the next step: checked as g.parameter checks the first value
            value = parameter_value(self.name, value)
        self._value = value
        self.version += 1
        if self.kind is NodeKind.INPUT or self.kind is NodeKind.GATE:
            self._runner()._assigned_value(self)

    @property
    def grad(self):
        return self._runner()._shown_grad(self)

    @grad.setter
    def grad(self, grad) -> None:
        self._runner()._assigned_grad(self, grad)

    @property
    def input_grads(self) -> tuple[Any, ...] | None:
        return self._runner()._shown_input_grads(self)

    def _runner(self) -> ComputationalGraph:
        return cast("ComputationalGraph", self.graph)  # every graph that holds nodes runs: the builder is its base

    def mark_changed(self) -> None:
        """Say that ``value`` was changed in place, so that a backward of an older forward refuses.

        Assigning ``node.value`` counts by itself; call this after writing
        into the array instead, e.g. ``p.value[0] = 0.0`` or
        ``np.clip(p.value, -1, 1, out=p.value)``. Every optimiser's ``step()``
        calls it for the parameters it updates.

        Examples
        --------
        >>> from graph import ComputationalGraph
        >>> g = ComputationalGraph()
        >>> w = g.parameter("w", [1.0, 2.0])
        >>> loss = (w * w).sum()
        >>> _ = g.forward()
        >>> w.value *= 0.5                  # assignment: counted
        >>> w.value[0] = 3.0; w.mark_changed()  # in place: say so
        >>> w.version
        2
        """
        self.version += 1

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the current value, or None before a value exists."""
        return None if self.value is None else shape_of(self.value)

    def __repr__(self) -> str:
        what = type(self.gate).__name__ if self.gate is not None else self.kind
        parts = [f"Node {self.name!r} ({what})"]
        for label in ("value", "grad"):
            item = getattr(self, label)
            if item is not None:
                parts.append(f"{label}={_short(item)}")
        return "<" + " ".join(parts) + ">"

    # -- operator sugar: each call adds one gate to this node's graph ---------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs, **options) -> Node:
        """numpy functions on nodes build gates: ``np.exp(x)`` is ``x.exp()``, ``np.maximum(x, y)`` ``x.maximum(y)``.

        The ufuncs with a gate (``UFUNC_GATES``): ``add subtract multiply
        divide matmul negative power maximum minimum exp log sqrt absolute
        tanh``; arrays and numbers among the arguments become constants, so
        ``array + x`` and ``array @ x`` build gates too. Any other ufunc, a
        ufunc method (``np.add.reduce``) or an option (``out=``) raises a
        :class:`GateError` saying what to write instead.

        >>> from graph import ComputationalGraph
        >>> g = ComputationalGraph()
        >>> x, y = g.input("x"), g.input("y")
        >>> m = np.maximum(np.exp(x), y)
        >>> g.forward(x=0.0, y=2.0), m.gate
        (2.0, MaxGate())
        """
        called = f"numpy.{ufunc.__name__}"
        if method != "__call__":
            raise GateError(
                f"{called}.{method} on node {self.name!r}: a graph builds gates for plain ufunc calls only; "
                f"{_UFUNC_HINTS.get(ufunc, 'write it with the node methods (x.sum(axis), x.mean(axis), ...)')}"
            )
        if options:
            raise GateError(
                f"{called}(..., {', '.join(f'{key}=' for key in options)}) on node {self.name!r}: the graph computes "
                f"a node's value itself; call {called} with the nodes and numbers only"
            )
        if ufunc is np.power:
            base, exponent = inputs
            if isinstance(base, Node):
                return base**exponent
            raise TypeError(_VARIABLE_EXPONENT.format(name=exponent.name))
        gate_class = UFUNC_GATES.get(ufunc)
        if gate_class is None:
            hint = _UFUNC_HINTS.get(ufunc, "write it with the gates the graph has, or your own Gate (see gates.Gate)")
            raise GateError(f"there is no gate for {called} (called on node {self.name!r}); {hint}")
        return self.graph.add_gate(gate_class(), *inputs)

    def _apply(self, gate: Gate, *others) -> Node:
        return self.graph.add_gate(gate, self, *others)

    def _apply_reflected(self, gate: Gate, other) -> Node:
        return self.graph.add_gate(gate, other, self)

    def __add__(self, other) -> Node:
        return self._apply(AddGate(), other)

    def __radd__(self, other) -> Node:
        return self._apply_reflected(AddGate(), other)

    def __sub__(self, other) -> Node:
        return self._apply(SubtractGate(), other)

    def __rsub__(self, other) -> Node:
        return self._apply_reflected(SubtractGate(), other)

    def __mul__(self, other) -> Node:
        return self._apply(MultiplyGate(), other)

    def __rmul__(self, other) -> Node:
        return self._apply_reflected(MultiplyGate(), other)

    def __truediv__(self, other) -> Node:
        return self._apply(DivideGate(), other)

    def __rtruediv__(self, other) -> Node:
        return self._apply_reflected(DivideGate(), other)

    def __matmul__(self, other) -> Node:
        return self._apply(MatMulGate(), other)

    def __rmatmul__(self, other) -> Node:
        return self._apply_reflected(MatMulGate(), other)

    def __pow__(self, exponent) -> Node:
        if isinstance(exponent, Node):
            raise TypeError(_VARIABLE_EXPONENT.format(name=exponent.name))
        return self._apply(_make(PowerGate, exponent))

    def __neg__(self) -> Node:
        return self._apply(NegateGate())

    @property
    def T(self) -> Node:  # noqa: N802 - numpy's name
        """Transpose (all axes reversed)."""
        return self._apply(TransposeGate())

    def transpose(self, *axes) -> Node:
        """Permute the axes as ``np.transpose`` does: ``x.transpose((2, 0, 1))`` or ``x.transpose(2, 0, 1)``.

        No axes reverse them all; negative axes count from the end.
        """
        return self._apply(_make(TransposeGate, axes[0] if len(axes) == 1 else (axes or None)))

    def reshape(self, *shape: int) -> Node:
        """Same elements, new shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
        return self._apply(ReshapeGate(shape[0] if len(shape) == 1 else shape))

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Node:
        """Sum over ``axis`` (everything by default)."""
        return self._apply(_make(SumGate, axis, keepdims))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Node:
        """Mean over ``axis`` (everything by default)."""
        return self._apply(_make(MeanGate, axis, keepdims))

    def exp(self) -> Node:
        return self._apply(ExpGate())

    def log(self) -> Node:
        return self._apply(LogGate())

    def sqrt(self) -> Node:
        return self._apply(SqrtGate())

    def abs(self) -> Node:
        return self._apply(AbsGate())

    def sigmoid(self) -> Node:
        return self._apply(SigmoidGate())

    def tanh(self) -> Node:
        return self._apply(TanhGate())

    def relu(self) -> Node:
        return self._apply(ReLUGate())

    def leaky_relu(self, alpha: float = 0.01) -> Node:
        return self._apply(_make(LeakyReLUGate, alpha))

    def softmax(self, axis: int = -1) -> Node:
        return self._apply(_make(SoftmaxGate, axis))

    def maximum(self, other) -> Node:
        """Element-wise max(self, other); ties send the gradient to ``self``."""
        return self._apply(MaxGate(), other)

    def minimum(self, other) -> Node:
        """Element-wise min(self, other); ties send the gradient to ``self``."""
        return self._apply(MinGate(), other)


class GateNode(Node):
    """A node that applies its gate to its inputs: ``kind`` is ``NodeKind.GATE`` and ``gate`` is never None.

    The builder makes one per gate, always with its gate; ``isinstance(node,
    GateNode)`` tells mypy, and readers, that ``node.gate`` is there.
    """

    __slots__ = ()
    gate: Gate


UFUNC_GATES: dict[np.ufunc, type[Gate]] = {
    np.add: AddGate,
    np.subtract: SubtractGate,
    np.multiply: MultiplyGate,
    np.divide: DivideGate,
    np.matmul: MatMulGate,
    np.negative: NegateGate,
    np.maximum: MaxGate,
    np.minimum: MinGate,
    np.exp: ExpGate,
    np.log: LogGate,
    np.sqrt: SqrtGate,
    np.absolute: AbsGate,
    np.tanh: TanhGate,
}
"""The numpy ufuncs that build a gate when called on nodes (``np.power`` builds a :class:`PowerGate` too)."""

_UFUNC_HINTS = {
    np.square: "write x ** 2 or x * x",
    np.reciprocal: "write 1 / x",
    np.log1p: "write (1 + x).log()",
    np.expm1: "write x.exp() - 1",
    np.exp2: "write (x * np.log(2.0)).exp()",
    np.log2: "write x.log() / np.log(2.0)",
    np.log10: "write x.log() / np.log(10.0)",
    np.positive: "+x is x itself: use the node",
    np.add: "for np.add.reduce(x, axis) write x.sum(axis)",
}
for _comparison in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal):
    _UFUNC_HINTS[_comparison] = "a comparison has no gradient; compare node.value after a forward"
_VARIABLE_EXPONENT = (
    "x ** y needs a number as exponent, got node {name!r}; for a variable exponent write (y * x.log()).exp()"
)


def _make(gate_class: type[Gate], *arguments) -> Gate:
    """A gate for the sugar; an argument its constructor refuses raises the graph's own error, same message."""
    try:
        return gate_class(*arguments)
    except TypeError as error:
        raise DTypeError(str(error)) from None
    except ValueError as error:
        raise GateError(str(error)) from None


def _short(value) -> str:
    """A one-line description of a value for reprs and messages."""
    shape = shape_of(value)
    if not shape:
        return f"{float(value):.6g}"
    if len(shape) == 1 and shape[0] <= 6:
        return "[" + ", ".join(f"{v:.4g}" for v in value.tolist()) + "]"
    return f"array{shape} {value.dtype}"
