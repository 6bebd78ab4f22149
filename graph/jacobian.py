"""Dense Jacobians of a gate or a graph, by forward or reverse mode, for small inputs.

The lecture's point about vectorised code: the local gradient of an
operation on arrays is a Jacobian matrix, one row per output element and one
column per input element. An element-wise gate's Jacobian is diagonal, so no
gate ever builds it: its backward multiplies the upstream gradient element by
element. Here it is built anyway, to be looked at.

Reverse mode gets one row per backward pass (``uᵀJ`` with ``u`` a unit
vector), forward mode one column per jvp (``J v``); :func:`jacobian` takes
whichever needs fewer passes for the shapes at hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from gates import Gate, shape_of
from graph.errors import DTypeError
from graph.forward_mode import propagate
from graph.graph import ComputationalGraph
from graph.node import NodeKind
from graph.plan import ancestors

__all__ = ["jacobian"]

MODES = ("auto", "forward", "reverse")
_WRT_KINDS = (NodeKind.INPUT, NodeKind.PARAMETER)  # what a Jacobian can be taken with respect to


def jacobian(
    gate_or_graph: Gate | ComputationalGraph, *args, wrt=None, output=None, mode: str = "auto"
) -> np.ndarray | tuple[np.ndarray, ...] | dict[str, np.ndarray]:
    """The dense Jacobian of a gate's or a graph's output, ``J[i, j] = d output_i / d input_j``.

    Rows run over the output's elements and columns over the input's, each
    flattened in C order; ``J.reshape(out.shape + in.shape)`` gives the
    tensor form. Meant for small inputs: the matrix has ``out.size * in.size``
    entries.

    Parameters
    ----------
    gate_or_graph : Gate or ComputationalGraph
    *args
        For a gate, its inputs (it runs ``forward`` on them). For a graph,
        the feeds as one dict.
    wrt : int, str or a list of them, optional
        With respect to what. For a gate, an input's position (default 0,
        the first input); for a graph, an input's or a parameter's name
        (default every input and parameter that requires a gradient and
        leads to the output). A list gives one Jacobian each: a tuple for a
        gate, a dict by name for a graph.
    output : str or Node, optional
        For a graph with several outputs, which one.
    mode : {"auto", "forward", "reverse"}
        Forward mode takes one jvp per input element, reverse mode one
        backward per output element; "auto" takes the fewer (reverse on a tie,
        and forward for a graph input made with ``requires_grad=False``,
        which reverse mode does not reach).

    Examples
    --------
    An element-wise gate's Jacobian is diagonal:

    >>> import numpy as np
    >>> from gates import MaxGate
    >>> jacobian(MaxGate(), np.array([1.0, -2.0, 3.0]), 0.0)
    array([[1., 0., 0.],
           [0., 0., 0.],
           [0., 0., 1.]])

    A graph's, with respect to a parameter:

    >>> g = ComputationalGraph()
    >>> x, w = g.input("x"), g.parameter("w", np.array([2.0, 3.0]))
    >>> f = (w * x).sum()
    >>> jacobian(g, {"x": np.array([5.0, 7.0])}, wrt="w")
    array([[5., 7.]])
    """
    if mode not in MODES:
        raise ValueError(f"jacobian mode must be one of {MODES}, got {mode!r}")
    if isinstance(gate_or_graph, ComputationalGraph):
        if len(args) > 1:
            raise TypeError("jacobian of a graph takes the feeds as one dict: jacobian(g, {'x': ...}, wrt='x')")
        return _graph_jacobian(gate_or_graph, args[0] if args else {}, wrt, output, mode)
    if isinstance(gate_or_graph, Gate):
        if output is not None:
            raise TypeError("output= is for graphs; a gate has one output")
        return _gate_jacobian(gate_or_graph, args, 0 if wrt is None else wrt, mode)
    raise TypeError(f"jacobian needs a Gate or a ComputationalGraph, got {type(gate_or_graph).__name__}")


def _gate_jacobian(gate: Gate, inputs: Sequence[Any], wrt, mode: str):
    many = isinstance(wrt, (list, tuple))
    positions = list(wrt) if many else [wrt]
    for position in positions:
        if not 0 <= position < len(inputs):
            raise IndexError(f"{type(gate).__name__} has {len(inputs)} inputs; wrt={position} is not one of them")
        if np.asarray(inputs[position]).dtype.kind not in "f":
            raise DTypeError(f"input {position} of {type(gate).__name__} is not floating point: it has no derivative")
    output = gate.forward(*inputs)

    def push(k: int, tangent):
        tangents = [None] * len(inputs)
        tangents[positions[k]] = tangent
        return gate.jvp(*tangents)

    def pull(seed):
        previous = gate.needs_input_grad
        gate.needs_input_grad = [k in positions for k in range(len(inputs))]
        try:
            grads = gate.backward(seed)
        finally:
            gate.needs_input_grad = previous
        return [grads[position] for position in positions]

    matrices = _dense(output, [inputs[p] for p in positions], push=push, pull=pull, mode=mode)
    return tuple(matrices) if many else matrices[0]


def _graph_jacobian(graph: ComputationalGraph, feeds: Mapping[str, Any], wrt, output, mode: str):
    name = graph[output].name if output is not None else None
    if name is None:
        outputs = graph.outputs
        if len(outputs) != 1:
            listed = ", ".join(repr(n.name) for n in outputs)
            raise ValueError(f"the graph has several outputs ({listed}); name one: jacobian(..., output=...)")
        name = outputs[0].name
    value = graph.forward(feeds, outputs=name)
    many = wrt is None or isinstance(wrt, (list, tuple))
    if wrt is None:
        reaching = ancestors([graph[name]])
        wrt = [n.name for n in graph.nodes if n.kind in _WRT_KINDS and n.requires_grad and n in reaching]
    nodes = [graph[item] for item in (wrt if many else [wrt])]
    for node in nodes:
        if node.kind not in _WRT_KINDS:
            raise ValueError(f"jacobian with respect to {node.kind} {node.name!r}: only inputs and parameters qualify")
    if mode == "auto" and not all(node.requires_grad for node in nodes):
        mode = "forward"
    elif mode == "reverse" and not all(node.requires_grad for node in nodes):
        skipped = [node.name for node in nodes if not node.requires_grad]
        raise ValueError(f"reverse mode computes no gradient for {skipped} (requires_grad=False); use mode='forward'")

    def push(index: int, tangent):
        return propagate(graph, {nodes[index]: tangent}, [name])[name]

    def pull(seed):
        grads = graph.backward(grad=seed, output=name)
        return [grads.get(node.name) for node in nodes]

    matrices = _dense(value, [node.value for node in nodes], push=push, pull=pull, mode=mode)
    return {node.name: matrix for node, matrix in zip(nodes, matrices)} if many else matrices[0]


def _dense(
    output, inputs: Sequence[Any], *, push: Callable[[int, Any], Any], pull: Callable[[Any], list], mode: str
) -> list[np.ndarray]:
    """Fill one Jacobian per input: columns from ``push`` (jvp) or rows from ``pull`` (backward).

    ``push(k, tangent)`` returns the output's tangent when input ``k`` moves
    along ``tangent``; ``pull(seed)`` returns each input's gradient for the
    output gradient ``seed``.
    """
    out_size = math.prod(shape_of(output))
    sizes = [math.prod(shape_of(x)) for x in inputs]
    matrices = [np.zeros((out_size, size)) for size in sizes]
    if mode == "forward" or (mode == "auto" and sum(sizes) < out_size):
        for k, (x, matrix) in enumerate(zip(inputs, matrices)):
            for j, unit in enumerate(_units(x)):
                matrix[:, j] = np.reshape(push(k, unit), -1)
    else:
        for i, seed in enumerate(_units(output)):
            for matrix, grad in zip(matrices, pull(seed)):
                if grad is not None:
                    matrix[i, :] = np.reshape(grad, -1)
    return matrices


def _units(value):
    """The unit vectors of ``value``'s space, one by one, shaped and typed like it."""
    shape = shape_of(value)
    if isinstance(value, float):
        yield 1.0
        return
    dtype = np.asarray(value).dtype
    for index in range(math.prod(shape)):
        unit = np.zeros(shape, dtype=dtype)
        unit.reshape(-1)[index] = 1
        yield unit
