"""Gradient checking: the analytic backward against centred differences in float64.

The lecture's two ways to a gradient side by side: the numerical one is slow
and approximate but hard to get wrong; the analytic one is fast and exact but
error-prone. Checking one against the other is how every gate here is tested,
and how users test the gates they write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gates import Gate
from graph.errors import GateContractError, GradientCheckError

__all__ = ["numerical_gradient", "check_gate", "check_graph"]


def numerical_gradient(
    f: Callable[..., Any], *inputs, upstream=None, eps: float = 1e-6
) -> tuple[np.ndarray | float, ...]:
    """Gradients of ``sum(upstream * f(*inputs))`` by centred differences.

    For each element ``x_i`` of each input,
    ``(g(x_i + eps) - g(x_i - eps)) / (2 eps)``, where ``g`` is the weighted
    sum above, computed in float64. Inputs of integer dtype (labels) are not
    differentiated: their entry is None.

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

    Returns
    -------
    dict
        The largest absolute error for each checked input, by position.

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
    points = [_float64_copy(x) for x in inputs]
    arguments = _arguments(points, inputs)
    gate.needs_input_grad = (True,) * len(arguments)
    output = gate.forward(*arguments)
    if upstream is None:
        upstream = np.random.default_rng(seed).standard_normal(np.shape(output))
        upstream = float(upstream) if np.ndim(upstream) == 0 else upstream
    analytic = gate.backward(upstream)
    name = type(gate).__name__
    if not isinstance(analytic, (tuple, list)) or len(analytic) != len(arguments):
        raise GateContractError(f"{name}.backward must return a tuple of {len(arguments)} gradients, one per input")

    def run(*args):
        return gate.forward(*args)

    numeric = numerical_gradient(run, *arguments, upstream=upstream, eps=eps)
    gate.forward(*arguments)  # leave the gate's cache as of the checked point
    errors = {}
    for index, (point, got, expected) in enumerate(zip(points, analytic, numeric)):
        if point is None:
            continue
        label = f"{name} input {index}"
        if got is None:
            raise GradientCheckError(f"{label}: backward returned None, numeric gradient is {expected}")
        if np.shape(got) != point.shape:
            raise GateContractError(f"{label}: gradient has shape {np.shape(got)}, the input has {point.shape}")
        errors[index] = _compare(label, np.asarray(got, dtype=np.float64), np.asarray(expected), rtol, atol)
    return errors


def check_graph(
    graph,
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

    Parameters
    ----------
    graph : ComputationalGraph
    feeds : dict
        The forward feeds.
    output : str or Node, optional
        Which output to check, when the graph has several.

    Returns
    -------
    dict
        The largest absolute error for each checked leaf, by name.

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
            errors[name] = _compare(
                f"gradient of {name!r}", np.asarray(analytic[name], np.float64), numeric, rtol, atol
            )
    finally:
        for p in parameters:
            p.value = originals[p.name]
    graph.forward(feeds, outputs=outputs)
    return errors


def _perturb(run: Callable[[], Any], array: np.ndarray, upstream, eps: float) -> np.ndarray:
    """Centred differences of ``sum(upstream * run())`` in each element of ``array``, in place and restored."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for element in range(flat.size):
        original = flat[element]
        flat[element] = original + eps
        plus = float(np.sum(upstream * np.asarray(run(), dtype=np.float64)))
        flat[element] = original - eps
        minus = float(np.sum(upstream * np.asarray(run(), dtype=np.float64)))
        flat[element] = original
        flat_grad[element] = (plus - minus) / (2 * eps)
    return grad


def _compare(label: str, analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float) -> float:
    """Largest absolute error; raises with a report on the worst element past tolerance."""
    error = np.abs(analytic - numeric)
    bad = error > atol + rtol * np.abs(numeric)
    if np.any(bad) or not np.all(np.isfinite(analytic)):
        worst = np.unravel_index(np.argmax(np.where(bad, error, -1.0)), error.shape) if error.ndim else ()
        got, expected = analytic[worst], numeric[worst]
        relative = abs(got - expected) / max(abs(got), abs(expected), 1e-300)
        element = f"element {tuple(int(i) for i in worst)}" if worst else "the value"
        raise GradientCheckError(
            f"{label}, {element}: analytic {got:.10g} vs numeric {expected:.10g}, "
            f"relative error {relative:.3g} (rtol {rtol:g}, atol {atol:g}); "
            f"{int(np.sum(bad))} of {error.size} elements differ"
        )
    return float(np.max(error)) if error.size else 0.0


def _float64_copy(value) -> np.ndarray | None:
    """A float64 copy of a floating-point or Python-number input, None for integer arrays (labels)."""
    array = np.asarray(value)
    if array.dtype.kind in "iu" and isinstance(value, np.ndarray):
        return None
    return np.array(array, dtype=np.float64)


def _arguments(points: list, inputs: tuple) -> list:
    """The float64 copies where there are some, the original labels elsewhere."""
    return [original if point is None else point for point, original in zip(points, inputs)]
