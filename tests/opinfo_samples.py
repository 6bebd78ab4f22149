"""The op-info records and the sample generator behind tests/gates/test_opinfo.py.

An :class:`OpInfo` says how to build one gate (or one mode of it), its two
reference implementations (PyTorch and HIPS autograd, test oracles only), the
domain its inputs are drawn from, the argument cases to run it on, and its
singular points. :func:`samples` turns each entry into concrete inputs over
dtypes, shapes and memory layouts; :func:`run_sample` runs one through a
ComputationalGraph and returns every mismatch it finds, as readable lines.
"""

from __future__ import annotations

import itertools
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import autograd
import numpy as np
import torch

from gates import Gate
from graph import ComputationalGraph

DTYPES = (np.float32, np.float64)
# Relative and absolute tolerances by dtype; the oracles compute in float64 on the
# very values our float32 run saw, so only our own float32 rounding is measured.
TOLERANCES = {np.dtype(np.float32): (1e-4, 1e-5), np.dtype(np.float64): (1e-10, 1e-12)}

Shape = tuple[int, ...]
Maker = Callable[[Shape, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Case:
    """One way of calling the gate: its inputs' shapes and the gate's arguments."""

    shapes: tuple[Shape, ...]
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Singular:
    """A point where the gate is not smooth, and what the gate must give there.

    ``torch`` and ``autograd``, when given, replace the entry's references at
    this point: they write out our documented convention where it differs from
    PyTorch's (``convention`` says how and why). ``infinite`` marks points whose
    exact value or gradient is infinite: numpy's divide-by-zero notice is then
    expected, and no other warning.
    """

    what: str
    inputs: tuple[Any, ...]
    arguments: dict[str, Any] = field(default_factory=dict)
    torch: Callable | None = None
    autograd: Callable | None = None
    convention: str = ""
    infinite: bool = False
    dtypes: tuple[type, ...] = DTYPES


@dataclass(frozen=True)
class OpInfo:
    """One table entry: a gate (or one mode of it) and how to check it.

    ``gate(**arguments)`` builds a fresh gate; ``torch(*tensors, **arguments)``
    and ``autograd(*arrays, **arguments)`` compute the same function with
    PyTorch and with autograd.numpy. ``domain`` holds one input maker per
    input, drawing float64 values where the gate is smooth (integer makers for
    labels, which take no gradient).
    """

    name: str
    gate: Callable[..., Gate]
    torch: Callable
    autograd: Callable
    domain: tuple[Maker, ...]
    cases: tuple[Case, ...]
    singular: tuple[Singular, ...] = ()


@dataclass(frozen=True)
class Sample:
    """Concrete inputs for one entry: what :func:`run_sample` runs."""

    id: str
    op: OpInfo
    inputs: tuple[Any, ...]
    arguments: dict[str, Any]
    torch: Callable
    autograd: Callable
    infinite: bool = False


# -- memory layouts: the same values, held differently ------------------------------------


def _contiguous(x: np.ndarray) -> np.ndarray:
    return x.copy()


def _strided(x: np.ndarray) -> np.ndarray:
    """Every other element of a buffer twice as long on the last axis."""
    buffer = np.zeros((*x.shape[:-1], 2 * x.shape[-1]), x.dtype)
    view = buffer[..., ::2]
    view[...] = x
    return view


def _transposed(x: np.ndarray) -> np.ndarray:
    """The transpose of a contiguous transpose: Fortran order."""
    return np.ascontiguousarray(x.T).T


def _reversed(x: np.ndarray) -> np.ndarray:
    """Negative strides on every axis."""
    every_axis = tuple(range(x.ndim))
    return np.flip(np.flip(x, every_axis).copy(), every_axis)


def _read_only(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x.flags.writeable = False
    return x


def _broadcast(x: np.ndarray) -> np.ndarray:
    """A read-only view with stride 0 on the first axis (its rows repeat the first row)."""
    return np.broadcast_to(x[:1], x.shape)


@dataclass(frozen=True)
class Layout:
    name: str
    make: Callable[[np.ndarray], Any]
    applies: Callable[[np.ndarray], bool]


LAYOUTS = (
    Layout("contiguous", _contiguous, lambda x: True),
    Layout("strided", _strided, lambda x: x.ndim >= 1 and x.size > 0),
    Layout("transposed", _transposed, lambda x: x.ndim >= 2 and x.size > 0),
    Layout("reversed", _reversed, lambda x: x.ndim >= 1 and x.size > 1),
    Layout("readonly", _read_only, lambda x: True),
    Layout("broadcast", _broadcast, lambda x: x.ndim >= 1 and x.shape[0] > 1),
    # A 0-d float64 input may also be fed as a Python float, as scalar graphs are.
    Layout("pyfloat", lambda x: float(x), lambda x: x.shape == () and x.dtype == np.float64),
)


# -- generating samples --------------------------------------------------------------------------


def _shape_text(shapes: tuple[Shape, ...]) -> str:
    return ",".join("x".join(map(str, s)) if s else "0d" for s in shapes)


def _arguments_text(arguments: dict[str, Any]) -> str:
    return ",".join(f"{k}={v!r}" for k, v in arguments.items())


def _as_dtype(x: np.ndarray, dtype) -> np.ndarray:
    """Floating inputs at the sample's dtype; integer labels as they are."""
    return x.astype(dtype) if x.dtype.kind == "f" else x


def _variants(op: OpInfo, what: str, base: tuple[np.ndarray, ...], dtype, layouts) -> Iterator[tuple]:
    """(id, inputs) for each layout that applies to at least one input; the others stay contiguous."""
    typed = tuple(_as_dtype(x, dtype) for x in base)
    for layout in layouts:
        if layout.name != "contiguous" and not any(layout.applies(x) for x in typed):
            continue
        inputs = tuple(layout.make(x) if layout.applies(x) else x.copy() for x in typed)
        yield f"{op.name}[{what}]-{np.dtype(dtype).name}-{layout.name}", inputs


def samples(op: OpInfo) -> Iterator[Sample]:
    """Every sample of one entry: each case and singular point over dtypes and layouts."""
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    for case in op.cases:
        base = tuple(np.asarray(make(shape, rng)) for make, shape in zip(op.domain, case.shapes))
        what = _shape_text(case.shapes) + (f";{_arguments_text(case.arguments)}" if case.arguments else "")
        for dtype in DTYPES:
            for sample_id, inputs in _variants(op, what, base, dtype, LAYOUTS):
                yield Sample(sample_id, op, inputs, case.arguments, op.torch, op.autograd)
    for point in op.singular:
        base = tuple(np.asarray(x, np.float64 if np.asarray(x).dtype.kind == "f" else None) for x in point.inputs)
        layouts = [layout for layout in LAYOUTS if layout.name in ("contiguous", "readonly", "pyfloat")]
        for dtype in point.dtypes:
            for sample_id, inputs in _variants(op, point.what, base, dtype, layouts):
                yield Sample(
                    sample_id,
                    op,
                    inputs,
                    point.arguments,
                    point.torch or op.torch,
                    point.autograd or op.autograd,
                    point.infinite,
                )


# -- running one sample --------------------------------------------------------------------------


def _wants_grad(x) -> bool:
    return np.asarray(x).dtype.kind == "f"


def _oracle_torch(sample: Sample, upstream: np.ndarray):
    """Value and input gradients from PyTorch, in float64."""
    tensors = []
    for x in sample.inputs:
        x = np.array(x)  # a copy: torch must not see, or share, our inputs
        if _wants_grad(x):
            tensors.append(torch.tensor(x, dtype=torch.float64, requires_grad=True))
        else:
            tensors.append(torch.tensor(x, dtype=torch.int64))
    out = sample.torch(*tensors, **sample.arguments)
    wanted = [t for t in tensors if t.requires_grad]
    grads = torch.autograd.grad(out, wanted, torch.tensor(upstream, dtype=torch.float64), allow_unused=True)
    grads = [np.zeros(t.shape) if grad is None else grad.numpy() for t, grad in zip(wanted, grads)]
    return out.detach().numpy(), grads


def _oracle_autograd(sample: Sample, upstream: np.ndarray):
    """Value and input gradients from HIPS autograd, in float64."""
    arrays = [np.array(x, np.float64 if _wants_grad(x) else None) for x in sample.inputs]
    positions = [i for i, x in enumerate(arrays) if _wants_grad(x)]

    def function(differentiable):
        full = list(arrays)
        for position, value in zip(positions, differentiable):
            full[position] = value
        return sample.autograd(*full, **sample.arguments)

    vjp, value = autograd.make_vjp(function)([arrays[i] for i in positions])
    return np.asarray(value), [np.asarray(grad) for grad in vjp(upstream)]


def _mismatch(what: str, actual, expected, dtype) -> list[str]:
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return [f"{what}: shape {actual.shape}, expected {expected.shape}"]
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    try:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, equal_nan=True)
    except AssertionError:
        return [f"{what}: ours {_short(actual)}, expected {_short(expected)}"]
    return []


def _short(x: np.ndarray) -> str:
    return np.array2string(x, precision=6, threshold=12, separator=", ").replace("\n", "")


def _dtype_of(x):
    return np.asarray(x).dtype


def ownership_problems(grads: dict[str, Any], inputs: dict[str, Any], seed: np.ndarray) -> list[str]:
    """Gradients the user owns: numbers, or writable arrays sharing memory with nothing else."""
    problems = []
    arrays = {}
    for name, grad in grads.items():
        if isinstance(grad, np.ndarray):
            arrays[name] = grad
        elif not isinstance(grad, (float, np.floating)):
            problems.append(f"grad {name} is a {type(grad).__name__}, neither an array nor a number")
    for name, grad in arrays.items():
        if not grad.flags.writeable:
            problems.append(f"grad {name} is read-only")
        if np.shares_memory(grad, seed):
            problems.append(f"grad {name} shares memory with the upstream seed")
        for input_name, x in inputs.items():
            if isinstance(x, np.ndarray) and np.shares_memory(grad, x):
                problems.append(f"grad {name} shares memory with input {input_name}")
    for (name_a, a), (name_b, b) in itertools.combinations(arrays.items(), 2):
        if np.shares_memory(a, b):
            problems.append(f"grads {name_a} and {name_b} share memory")
    return problems


def run_sample(sample: Sample) -> list[str]:
    """Run one sample through a graph; return every mismatch, empty if none."""
    names = [f"x{i}" for i in range(len(sample.inputs))]
    graph = ComputationalGraph()
    nodes = [graph.input(name, requires_grad=_wants_grad(x)) for name, x in zip(names, sample.inputs)]
    graph.add_gate(sample.op.gate(**sample.arguments), *nodes)
    feeds = dict(zip(names, sample.inputs))
    copies = {name: np.array(x, copy=True) for name, x in feeds.items()}
    dtype = next(_dtype_of(x) for x in sample.inputs if _wants_grad(x))

    # Where the exact answer is infinite, numpy's divide-by-zero notice is expected; nothing else is.
    with np.errstate(divide="ignore" if sample.infinite else "warn"):
        value = graph.forward(feeds)
        rng = np.random.default_rng(zlib.crc32(sample.id.encode()))
        seed = np.array(rng.standard_normal(np.shape(value)), dtype)
        seed_copy = seed.copy()
        grads = graph.backward(grad=seed)

    with warnings.catch_warnings(), np.errstate(all="ignore"):  # the oracles' own warnings are not ours
        warnings.simplefilter("ignore")
        upstream = seed_copy.astype(np.float64)
        oracles = {"torch": _oracle_torch(sample, upstream), "autograd": _oracle_autograd(sample, upstream)}

    problems = []
    wanted = [name for name, x in feeds.items() if _wants_grad(x)]
    for oracle, (expected_value, expected_grads) in oracles.items():
        problems += _mismatch(f"value vs {oracle}", value, expected_value, dtype)
        for name, expected in zip(wanted, expected_grads):
            if name not in grads:
                problems.append(f"grad {name}: missing")
            else:
                problems += _mismatch(f"grad {name} vs {oracle}", grads[name], expected, dtype)
    for what, x in [("value", value), *((f"grad {name}", grad) for name, grad in grads.items())]:
        if _dtype_of(x) != dtype:
            problems.append(f"{what} is {_dtype_of(x)}, the inputs are {dtype}")
    for name, x in feeds.items():
        if not np.array_equal(np.asarray(x), copies[name], equal_nan=True):
            problems.append(f"input {name} was modified")
    if not np.array_equal(seed, seed_copy, equal_nan=True):
        problems.append("the upstream seed was modified")
    problems += ownership_problems(grads, feeds, seed)
    return problems


def total(entries) -> int:
    """How many samples the table yields."""
    return sum(1 for op in entries for _ in samples(op))
