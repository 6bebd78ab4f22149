"""Higher orders: the backward pass written as gate nodes, and what differentiating it again gives.

:func:`gradient` writes the backward pass of an output into the same graph,
node by node in reverse topological order, with each gate's ``gradient``
rule (its backward made of gates), summing at fan-out with add gates. The
gradient nodes are ordinary nodes: a forward computes them, diagrams draw
them (in a scope of their own), and differentiating them again gives second
derivatives, third, and so on.

:func:`hessian` and :func:`hvp` build that graph on a copy of the graph (the
user's own is left as it is) and differentiate it once more: the dense
Hessian by :func:`graph.jacobian.jacobian`, Hessian-vector products by one
forward-mode pass (:mod:`graph.forward_mode`) through the gradient graph,
without forming the Hessian. :func:`check_second_order` is
``check_gate(gate, *inputs, order=2)``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gates import Gate
from gates.gradient import SeedGate, ZerosLikeGate
from graph.errors import GateContractError, GradientCheckError
from graph.forward_mode import propagate
from graph.node import GateNode, Node, NodeKind
from graph.plan import ancestors

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph

__all__ = ["gradient", "hessian", "hvp", "check_second_order"]


def gradient(graph: ComputationalGraph, output, wrt, grad=None):
    """The gradient of ``output`` with respect to ``wrt`` as nodes of the same graph: the backward pass as gates.

    Each gate node between ``wrt`` and ``output`` gets its gradient node,
    from its gate's ``gradient`` rule, in reverse topological order; where a
    node feeds several gates, the contributions are summed with add gates.
    The new nodes live in the scope ``grad(<output>)``. Nothing runs: a
    forward computes them (``g.forward(..., outputs=[dx])``), and their
    values equal what :meth:`~graph.ComputationalGraph.backward` returns.
    They can be differentiated again: ``g.gradient(dx, x)`` is a second
    derivative. Feeding nothing, they join ``graph.outputs``: a forward
    without ``outputs=`` computes them too.

    Parameters
    ----------
    graph : ComputationalGraph
    output : str or Node
        What to differentiate.
    wrt : str, Node or a list of them
        With respect to what: any nodes of the graph (inputs, parameters, or
        gate nodes, whose gradient is that of ``backward``'s ``.grad``).
    grad : str, Node or array_like, optional
        The seed dL/d(output), a node (or a value, made a constant) of the
        output's shape. By default 1, for an output of one element (a forward
        of the gradient raises a GateError for a larger one).

    Returns
    -------
    Node, or a tuple of nodes for a list ``wrt``
        The gradient node of each; a zeros node where ``output`` does not
        depend on it.

    Raises
    ------
    NotImplementedError
        A gate on the way has no gradient rule, naming its node and gate;
        the graph is then unchanged.
    GateContractError
        A gate's rule returned other than one entry per input.

    Examples
    --------
    The lecture's f = (x + y) z, its backward as nodes:

    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y, z = g.input("x"), g.input("y"), g.input("z")
    >>> f = (x + y) * z
    >>> dx, dz = g.gradient(f, [x, z])
    >>> g.forward(x=-2.0, y=5.0, z=-4.0, outputs=[f, dx, dz])[dx.name]
    -4.0
    >>> d2 = g.gradient(dx, z)  # d/dz (df/dx) = d/dz (z) = 1
    >>> g.forward(x=-2.0, y=5.0, z=-4.0, outputs=d2)
    1.0
    """
    target = graph[output]
    many = isinstance(wrt, (list, tuple))
    sources = [graph[item] for item in (wrt if many else [wrt])]
    on_path = _between(graph, sources, target)
    _check_rules(on_path)
    seed = graph[grad] if isinstance(grad, (Node, str)) else None  # looked up before anything is added

    parts: dict[Node, list[Node]] = {}
    with graph.scope(f"grad({target.name})"):
        if target in on_path:  # else nothing depends on the seed: no node for it
            if seed is None:
                seed = graph.add_gate(SeedGate(), target) if grad is None else graph.constant(grad)
            parts[target] = [seed]
        for node in reversed(graph.nodes):
            if not isinstance(node, GateNode) or node not in on_path or node not in parts:
                continue
            upstream = _total(parts[node])
            wanted = tuple(source in on_path for source in node.inputs)
            for source, grad_in in zip(node.inputs, _rule(node, upstream, wanted)):
                if grad_in is not None and source in on_path:
                    parts.setdefault(source, []).append(grad_in)
        results = tuple(
            _total(parts[source]) if source in parts else graph.add_gate(ZerosLikeGate(), source) for source in sources
        )
    return results if many else results[0]


def _between(graph: ComputationalGraph, sources: list[Node], target: Node) -> set[Node]:
    """The nodes on a path from one of ``sources`` to ``target``, both ends included."""
    upstream_of_target = ancestors([target])
    reached = set(sources)
    for node in graph.nodes:  # topological: a node's inputs are settled before it
        if node not in reached and any(source in reached for source in node.inputs):
            reached.add(node)
    return reached & upstream_of_target


def _check_rules(nodes: set[Node]) -> None:
    """Refuse, before any node is added, a gate on the way that has no gradient rule."""
    for node in nodes:
        gate = node.gate
        if gate is not None and type(gate).gradient is Gate.gradient:
            name = type(gate).__name__
            raise NotImplementedError(
                f"node {node.name!r} ({name}) lies between the output and wrt, and {name} has no gradient rule: "
                f"define {name}.gradient(self, upstream, output, *inputs), its backward written with gates "
                "(see gates.Gate); the graph is unchanged"
            )


def _rule(node: GateNode, upstream: Node, wanted: tuple[bool, ...]) -> tuple[Node | None, ...]:
    """The gate's gradient rule at ``node``, asked for the ``wanted`` inputs' gradients only."""
    gate = node.gate
    previous = gate.needs_input_grad
    gate.needs_input_grad = wanted
    try:
        result = gate.gradient(upstream, node, *node.inputs)
    finally:
        gate.needs_input_grad = previous
    if not isinstance(result, (tuple, list)) or len(result) != len(node.inputs):
        count = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
        raise GateContractError(
            f"node {node.name!r} ({type(gate).__name__}): gradient must return a tuple of {len(node.inputs)} "
            f"nodes or None, one per input, got {count}"
        )
    return tuple(result)


def _total(parts: list[Node]) -> Node:
    """The sum of a node's gradient contributions, added one by one (a fan-out's sum)."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


# -- Hessians and Hessian-vector products -------------------------------------------------------


def _differentiable(graph: ComputationalGraph, output: Node) -> list[Node]:
    """The inputs and parameters ``backward`` returns a gradient for: requiring one, reaching ``output``."""
    reaching = ancestors([output])
    kinds = (NodeKind.INPUT, NodeKind.PARAMETER)
    return [node for node in graph.nodes if node.kind in kinds and node.requires_grad and node in reaching]


def _output_of(graph: ComputationalGraph, output: str | None) -> Node:
    if output is not None:
        return graph[output]
    outputs = graph.outputs
    if len(outputs) != 1:
        listed = ", ".join(repr(node.name) for node in outputs)
        raise ValueError(f"the graph has several outputs ({listed}); name one: output=...")
    return outputs[0]


def hessian(graph: ComputationalGraph, feeds: Mapping[str, Any], wrt: str | Node, output=None) -> np.ndarray:
    """The dense Hessian of a one-element output with respect to one input or parameter, for small inputs.

    ``H[i..., j...] = d² output / d wrt[i...] d wrt[j...]``, of shape
    ``wrt.shape + wrt.shape``: the Jacobian of the gradient graph's node
    (:func:`gradient`), built on a copy of the graph, so ``graph`` itself
    gains no nodes.

    Examples
    --------
    >>> import numpy as np
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x = g.input("x")
    >>> f = (x * x * x).sum()          # d²f/dx_i dx_j = 6 x_i δ_ij
    >>> hessian(g, {"x": np.array([1.0, 2.0])}, "x")
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    from graph.jacobian import jacobian

    wrt_name, output_name = graph[wrt].name, None if output is None else graph[output].name
    copied = copy.deepcopy(graph)  # looked up in the user's graph first, then by name in the copy
    target = _output_of(copied, output_name)
    source = copied[wrt_name]
    first = gradient(copied, target, source)
    matrix = jacobian(copied, feeds, wrt=source.name, output=first)
    assert isinstance(matrix, np.ndarray)  # one wrt gives one matrix
    shape = np.shape(source.value)
    return matrix.reshape(shape + shape)


def hvp(graph: ComputationalGraph, feeds: Mapping[str, Any], vectors: Mapping[str, Any], output=None) -> dict:
    """Hessian-vector products ``H v`` of a one-element output, by forward mode through its gradient graph.

    The gradient of the output (:func:`gradient`, built on a copy of the
    graph) is pushed forward along ``vectors`` (a tangent for some inputs and
    parameters, zero for the rest), one forward-mode pass: the Hessian is
    never formed. Costs a few backward passes, whatever the size.

    Parameters
    ----------
    graph : ComputationalGraph
    feeds : dict
        Input values by name.
    vectors : dict
        The direction ``v``: arrays by input or parameter name, each shaped like its value.
    output : str or Node, optional
        Which output, when the graph has several.

    Returns
    -------
    dict
        ``(H v)`` by name, for every input and parameter that ``backward``
        returns a gradient for, each shaped like its value.

    Examples
    --------
    >>> import numpy as np
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y = g.input("x"), g.input("y")
    >>> f = x * x * y                  # H = [[2y, 2x], [2x, 0]]
    >>> hvp(g, {"x": 3.0, "y": 2.0}, {"x": 1.0})
    {'x': 4.0, 'y': 6.0}
    """
    output_name = None if output is None else graph[output].name
    directions: dict[str | Node, Any] = {graph[key].name: vector for key, vector in vectors.items()}
    copied = copy.deepcopy(graph)  # looked up in the user's graph first, then by name in the copy
    target = _output_of(copied, output_name)
    leaves = _differentiable(copied, target)
    grads = gradient(copied, target, leaves)
    copied.forward(feeds, outputs=list(grads))
    products = propagate(copied, directions, [node.name for node in grads])
    return {leaf.name: products[node.name] for leaf, node in zip(leaves, grads)}


# -- check_gate(order=2) ---------------------------------------------------------------------------


def check_second_order(
    gate: Gate, inputs: Sequence[Any], upstream=None, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-8, seed=0
) -> dict[int, float]:
    """``check_gate(gate, *inputs, order=2)``: the gradient of the gradient against centred differences.

    As PyTorch's ``gradgradcheck``: the first-order gradient is the gate's
    ``backward`` at float64 copies of the inputs for an upstream ``u`` (random
    unless given). Its weighted sum ``Σ_i <w_i, backward_i(u)>`` (random
    weights ``w``) is differentiated twice: analytically, by a backward pass
    through the gradient graph that the gate's ``gradient`` rule builds; and
    numerically, by centred differences of ``backward`` itself, with respect
    to every floating-point input and to ``u``. The gradient nodes' values
    are first compared with ``backward``'s, which the rule must reproduce.

    Returns the largest absolute error by position, ``len(inputs)`` standing
    for the upstream ``u``.
    """
    from graph.gradcheck import numerical_gradient
    from graph.graph import ComputationalGraph

    points = [x if np.asarray(x).dtype.kind in "iu" else np.array(x, dtype=np.float64) for x in inputs]
    floating = [i for i, x in enumerate(points) if np.asarray(x).dtype.kind == "f"]
    rng = np.random.default_rng(seed)
    probe = copy.deepcopy(gate)
    probe.needs_input_grad = [i in floating for i in range(len(points))]
    out = probe.forward(*points)
    u = rng.standard_normal(np.shape(out)) if upstream is None else np.array(upstream, dtype=np.float64)
    weights = {i: rng.standard_normal(np.shape(points[i])) for i in floating}
    name = type(gate).__name__

    def first_order(*arguments):
        *values, up = arguments
        probe.forward(*values)
        return probe.backward(up)

    def weighted(*arguments):
        grads = first_order(*arguments)
        return sum(float(np.sum(weights[i] * grads[i])) for i in floating)

    g = ComputationalGraph()
    nodes = [g.input(f"x{i}", requires_grad=i in floating) for i in range(len(points))]
    up_node = g.input("upstream")
    z = g.add_gate(copy.deepcopy(gate), *nodes)
    firsts = gradient(g, z, [nodes[i] for i in floating], grad=up_node)
    total = _total([(node * weights[i]).sum() for i, node in zip(floating, firsts)])
    feeds = {f"x{i}": x for i, x in enumerate(points)} | {"upstream": u}
    values = g.forward(feeds, outputs=[total, *firsts])
    expected_first = first_order(*points, u)
    for i, node in zip(floating, firsts):
        _close(
            f"{name} gradient rule, input {i}: node value vs backward", values[node.name], expected_first[i], rtol, atol
        )
    analytic = g.backward(output=total)  # a leaf the gradient does not depend on is left out: zero

    numeric = numerical_gradient(weighted, *points, u, eps=eps)
    errors = {}
    for i in [*floating, len(points)]:
        label = f"{name} second order, d/d{'upstream' if i == len(points) else f' input {i}'}"
        expected = np.asarray(numeric[i])  # not None: a floating-point input or the upstream
        got = analytic.get(f"x{i}" if i < len(points) else "upstream", np.zeros(expected.shape))
        errors[i] = _close(label, got, expected, rtol, atol)
    return errors


def _close(label: str, got, expected, rtol: float, atol: float) -> float:
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise GradientCheckError(f"{label}: shape {got.shape}, expected {expected.shape}")
    error = np.abs(got - expected)
    if not np.all(error <= atol + rtol * np.abs(expected)):
        worst = np.unravel_index(np.argmax(error), error.shape) if error.ndim else ()
        raise GradientCheckError(
            f"{label}: element {tuple(int(k) for k in worst)}: analytic {got[worst]:.10g} vs numeric "
            f"{expected[worst]:.10g}"
        )
    return float(np.max(error)) if error.size else 0.0
