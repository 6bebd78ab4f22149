"""Forward-mode differentiation: tangents pushed through the graph in topological order.

Reverse mode (``backward``) gives the gradient of one output with respect to
every input in one pass: a row of the Jacobian, ``uᵀJ``. Forward mode gives
the derivative of every node along one direction of the inputs in one pass: a
column, ``J v``. It is the dual-number method the seed chapter names: each
value ``x`` travels with a tangent ``dx``, and each gate maps its inputs'
tangents to its output's with its ``jvp`` rule, using the values its forward
cached. No fan-out sums are needed: a node's tangent is computed once, from
its inputs', and read by every gate it feeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gates import shape_of
from graph.errors import FeedError, GateContractError, GateError, ShapeError
from graph.node import GateNode, Node, NodeKind
from graph.plan import ancestors
from graph.values import as_value

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph

__all__ = ["jvp"]


def jvp(graph: ComputationalGraph, feeds: Mapping[str, Any], tangents: Mapping[str | Node, Any], output=None):
    """The directional derivative of an output: its tangent when the inputs move along ``tangents``.

    Runs the forward pass on ``feeds``, then every gate's ``jvp`` in
    topological order. With ``J`` the Jacobian of the output with respect to
    the inputs and parameters, and ``v`` the tangents, the result is ``J v``.

    Parameters
    ----------
    graph : ComputationalGraph
    feeds : dict
        Input values by name, as for :meth:`~graph.ComputationalGraph.forward`.
    tangents : dict
        The direction ``v``: a tangent for some inputs and parameters, by
        name or node, each shaped like that node's value. A node without one
        has tangent zero (data, labels, constants).
    output : str, Node or list of them, optional
        Which outputs, as for ``forward(outputs=...)``; by default every one.

    Returns
    -------
    The output's tangent, shaped like the output (zeros if no tangent
    reaches it); a dict of tangents by name where there are several outputs.
    One forward-mode pass gives them all.

    Raises
    ------
    FeedError
        A tangent names a gate node or a constant, which have none of their own.
    ShapeError
        A tangent's shape differs from its node's value.
    GateContractError
        A gate's jvp returned a tangent shaped unlike its output.

    Examples
    --------
    The lecture's f = (x + y) z, moved along x only: df = z dx.

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y, z = g.input("x"), g.input("y"), g.input("z")
    >>> f = (x + y) * z
    >>> g.jvp({"x": -2.0, "y": 5.0, "z": -4.0}, {"x": 1.0})
    -4.0
    """
    if output is None:
        names = [node.name for node in graph.outputs]
    elif isinstance(output, (list, tuple)):
        names = [graph[item].name for item in output]
    else:
        names = [graph[output].name]
    graph.forward(feeds, outputs=names)
    found = propagate(graph, tangents, names)
    single = output is not None and not isinstance(output, (list, tuple))
    return found[names[0]] if single or (output is None and len(names) == 1) else found


def propagate(graph: ComputationalGraph, tangents: Mapping[str | Node, Any], outputs: list[str]) -> dict[str, Any]:
    """Push ``tangents`` to ``outputs`` through the values of the last forward; their tangents by name.

    Shared by :func:`jvp` and :func:`graph.jacobian.jacobian`, which runs one
    forward and then one propagation per column.
    """
    targets = [graph[name] for name in outputs]
    needed = ancestors(targets)
    carried: dict[Node, Any] = {}
    for key, tangent in tangents.items():
        node = graph[key]
        if node.kind not in (NodeKind.INPUT, NodeKind.PARAMETER):
            raise FeedError(
                f"tangent given for {node.kind} {node.name!r}; only inputs and parameters take tangents, "
                "the others' follow from them"
            )
        if tangent is None or node not in needed:  # a tangent that reaches no output changes nothing
            continue
        tangent = as_value(tangent, node.name, role="tangent for")
        if shape_of(tangent) != shape_of(node.value):
            raise ShapeError(
                f"tangent for {node.name!r} has shape {shape_of(tangent)}, its value has shape {shape_of(node.value)}"
            )
        carried[node] = tangent

    for node in graph.nodes:
        if not isinstance(node, GateNode) or node not in needed:
            continue
        tangents_in = [carried.get(source) for source in node.inputs]
        if all(t is None for t in tangents_in):
            continue
        try:
            tangent = node.gate.jvp(*tangents_in)
        except NotImplementedError as error:
            raise NotImplementedError(f"node {node.name!r}: {error}") from None
        except (ValueError, TypeError, ArithmeticError, IndexError) as error:
            raise GateError(f"jvp of node {node.name!r} ({type(node.gate).__name__}) failed: {error}") from error
        if shape_of(tangent) != shape_of(node.value):
            raise GateContractError(
                f"node {node.name!r} ({type(node.gate).__name__}): jvp returned a tangent of shape "
                f"{shape_of(tangent)}, expected the output's shape {shape_of(node.value)}"
            )
        carried[node] = float(tangent) if type(tangent) is np.float64 else tangent

    return {target.name: _tangent_or_zero(carried.get(target), target.value) for target in targets}


def _tangent_or_zero(tangent, value):
    """An output no tangent reaches does not move: its tangent is zero."""
    if tangent is not None:
        return tangent
    return 0.0 if isinstance(value, float) else np.zeros_like(value)
