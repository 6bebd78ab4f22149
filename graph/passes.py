"""The passes: the forward and the backward loop over a plan, checking every gate's contract.

Forward calls ``gate.forward(*values)`` step by step; backward walks the
steps in reverse, calls ``gate.backward(upstream)``, checks what came back
(one gradient per input, each shaped like its input, finite on request) and
sums where a node fans out. Both work in lists indexed by the plan's slots,
which the trace keeps afterwards; neither knows a particular gate.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from gates import shape_of
from graph.errors import GateContractError, GateError, NonFiniteError
from graph.messages import all_finite, arguments, describe, non_finite, statistics
from graph.plan import BackwardPlan, Plan, ResultSlot
from graph.trace import BackwardRecord

if TYPE_CHECKING:
    from graph.node import Node

__all__ = ["INPUT_ERRORS", "run_forward", "run_backward", "hand_over", "collector_paused"]

# What a gate raises when its inputs do not suit it; the passes re-raise these
# as GateError naming the node. Anything else is a bug and passes unchanged.
INPUT_ERRORS = (ValueError, TypeError, ArithmeticError, IndexError)


def run_forward(plan: Plan, values: list[Any], check_finite: bool = False, keep: bool = True) -> bool:
    """Compute every gate of ``plan`` into ``values``, whose leaves' slots are filled already.

    Returns whether every value is a Python float (a scalar graph; numpy's
    float64 scalars are turned into floats), which spares its backward the
    shape checks. With ``keep`` False (a pass no backward will read), each gate's value is
    let go as soon as the last gate reading it has run (``plan.last_reads``),
    so that only the outputs are left in ``values``; the gates are told they
    need not cache (``Gate.backward_follows``), and which inputs they may
    write their output into (``Gate.can_overwrite``).
    """
    float64 = np.float64  # hoisted: the loop runs once per gate
    read = values.__getitem__
    release = None if keep else plan.last_reads
    floats = all(type(values[slot]) is float for _, slot in [*plan.leaves, *plan.feeds])
    with collector_paused(), contextlib.nullcontext() if keep else _forward_only(plan, values):
        for node, gate, inputs, slot in plan.steps:
            try:  # one and two arguments written out: a map and a starred call cost as much as a scalar gate
                if len(inputs) == 1:
                    value = gate.forward(values[inputs[0]])
                elif len(inputs) == 2:
                    value = gate.forward(values[inputs[0]], values[inputs[1]])
                else:
                    value = gate.forward(*map(read, inputs))
            except INPUT_ERRORS as error:
                arguments_in = [values[i] for i in inputs]
                raise GateError(
                    f"forward of {describe(node)} failed on {arguments(node, arguments_in)}: {error}"
                ) from error
            if type(value) is not float:
                if type(value) is float64:  # numpy's scalar (a gate computing on a float): the passes work in floats
                    value = float(value)
                else:
                    floats = False
            if check_finite and not all_finite(value):
                raise NonFiniteError(
                    f"forward of {describe(node)} produced {non_finite(value)}; its inputs: "
                    + "; ".join(f"{i.name} {statistics(values[s])}" for i, s in zip(node.inputs, inputs))
                )
            values[slot] = value
            if release is not None:
                for done in release.get(slot, ()):
                    values[done] = None
    return floats


@contextlib.contextmanager
def _forward_only(plan: Plan, values: list[Any]) -> Iterator[None]:
    """Tell the gates of ``plan`` that no backward will read this pass, then undo it.

    Every gate's ``backward_follows`` is False, so that it may keep no cache;
    a gate that is the only reader of another gate's value gets
    ``overwritable``, which its ``can_overwrite`` asks whether it may write
    its output into that value's array. Measured on the main example's scoring
    (benchmarks/mnist_memory.py, batches of 2,000): the inputs and ReLU masks
    cached from the batch before, and this batch's masks, held 3.6 MiB of the
    13.5 MiB traced peak; a ReLU beside its input, 1 MiB more.
    """
    sole_reads = plan.sole_reads
    gates = []
    for _, gate, inputs, slot in plan.steps:
        gate.backward_follows = False
        gates.append(gate)
        if slot in sole_reads:
            gate.overwritable = _SoleReader(values, inputs, sole_reads[slot])
    try:
        yield
    finally:  # attributes every gate sets in __init__: a name set later would give each gate a dict of its own
        for gate in gates:
            gate.backward_follows, gate.overwritable = True, None


class _SoleReader:
    """A gate's ``overwritable`` in a pass no backward reads: for the inputs only it reads, made by this pass."""

    def __init__(self, values: list[Any], inputs: tuple[int, ...], positions: frozenset[int]):
        self.values, self.inputs, self.positions = values, inputs, positions

    def __call__(self, position: int) -> bool:
        if position not in self.positions:
            return False
        value = self.values[self.inputs[position]]
        # Its own memory (not a view), writable, and in no other slot (a gate may return one of its inputs as it
        # is, a feed or a parameter among them): then no one can see the gate write into it.
        return (
            type(value) is np.ndarray
            and value.flags.owndata
            and value.flags.writeable
            and sum(other is value for other in self.values) == 1
        )


def run_backward(
    back: BackwardPlan, values: list[Any], seed, check_finite: bool = False, floats: bool = False
) -> BackwardRecord:
    """Send ``seed`` back from ``back.output_slot`` through the gates, summing where a node fans out.

    Every gate's result is checked against the gate contract: one gradient
    per input, each shaped like its input (and finite, on request). With
    ``floats`` (every value a Python float, as ``run_forward`` tells), a
    Python float gradient has its input's shape by construction: scalar
    graphs skip the shape checks, and the contract costs a type test per
    gradient where it holds. numpy's float64 scalars are added as Python floats.
    """
    # The one gradient type that needs no contract check: a Python float, where every value is one (else none).
    unchecked = float if floats and not check_finite else None
    ndarray = np.ndarray  # hoisted: the loop runs once per edge
    grads: list[Any] = [None] * len(values)
    owned = [False] * len(values)
    sent: list[Any] = [None] * len(values)
    grads[back.output_slot] = seed
    with collector_paused():
        for node, gate, inputs, slot, wanted in back.steps:
            upstream = grads[slot]
            if upstream is None:
                continue
            try:
                result = gate.backward(upstream)
            except INPUT_ERRORS as error:
                raise GateError(f"backward of {describe(node)} failed: {error}") from error
            if type(result) is not tuple or len(result) != len(inputs):
                result = _as_gradients(node, result)
            sent[slot] = result
            position = -1  # counted by hand: enumerate's pairs cost 8% of a scalar backward
            for grad_in in result:
                position += 1
                if grad_in is None or not wanted[position]:
                    continue
                input_slot = inputs[position]
                if type(grad_in) is not unchecked:  # unchecked: no read of values[input_slot], 0.1-0.2 us
                    grad_in = _checked(node, position, grad_in, values[input_slot], upstream, check_finite)
                current = grads[input_slot]
                if current is None:
                    grads[input_slot] = grad_in
                elif owned[input_slot]:
                    current += grad_in
                else:  # the first gradient may be a gate's cached array or another's upstream: add into a new one
                    grads[input_slot] = current = current + grad_in
                    if isinstance(current, ndarray):
                        owned[input_slot] = True
    return BackwardRecord(back, grads, owned, sent)


def _as_gradients(node: Node, result) -> tuple:
    """A gate's backward result as a tuple of one gradient per input, or a GateContractError naming the gate."""
    if not isinstance(result, (tuple, list)) or len(result) != len(node.inputs):
        count = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
        raise GateContractError(
            f"{describe(node)}: backward must return a tuple of {len(node.inputs)} gradients, "
            f"one per input, got {count}"
        )
    return tuple(result)


def _checked(node: Node, position: int, grad_in, value, upstream, check_finite: bool):
    """One gradient checked against the gate contract: shaped like its input's value, and finite on request.

    numpy's float64 scalars (a gate computing on a float with numpy) are
    returned as Python floats, which the pass adds.
    """
    if type(grad_in) is np.float64:
        grad_in = float(grad_in)
    if shape_of(grad_in) != shape_of(value):
        raise GateContractError(
            f"{describe(node)}: backward returned a gradient of shape {shape_of(grad_in)} for "
            f"input {position} ({node.inputs[position].name!r}), expected its shape {shape_of(value)}"
        )
    if check_finite and not all_finite(grad_in):
        raise NonFiniteError(
            f"backward of {describe(node)} sent {non_finite(grad_in)} to input {position} "
            f"({node.inputs[position].name!r}, value {statistics(value)}); upstream {statistics(upstream)}"
        )
    return grad_in


def hand_over(results: list[ResultSlot], found: BackwardRecord, values: list[Any]) -> dict[str, Any]:
    """The gradients of inputs and parameters by name, each an array the caller owns.

    A gradient is kept as the gate made it when it is already ours alone: an
    array the pass summed (``owned``), or a gate's fresh result, or a view of
    one (matmul reshapes its product). Otherwise it is copied, in the layout
    of the node's value: a read-only array (sum's broadcast view), an array
    whose memory is, or is seen by, another node's gradient (an add passes its
    upstream to both inputs; a transpose sends back a view of its upstream),
    the seed, or a value of the pass, or one handed out already. Memory is
    compared by owner (``base``, which numpy keeps pointing at the array that
    owns the memory, however many views deep). The copy replaces the pass's
    own entry in ``found.grads``.
    """
    grads, owned = found.grads, found.owned
    handed: dict[str, Any] = {}
    given: set[int] = set()  # the owners of the arrays handed to a node already
    shared = None  # the owners of the arrays others can see, collected at the first gradient that needs it
    for node, slot in results:
        grad = grads[slot]
        if grad is None:
            continue
        if isinstance(grad, np.ndarray):
            owner = grad if grad.base is None else grad.base
            if not owned[slot]:
                if shared is None:
                    result_slots = {s for _, s in results}
                    shared = _owners(grad for i, grad in enumerate(grads) if i not in result_slots)
                    shared |= _owners(values)
                if _needs_copy(grad, owner, shared, given):
                    grad = grads[slot] = owner = _copy_like(grad, values[slot])
            given.add(id(owner))
        handed[node.name] = grad
    return handed


def _needs_copy(grad: np.ndarray, owner, shared: set[int], given: set[int]) -> bool:
    """Whether ``grad``'s memory may be seen by someone else: the engine, a gate, the caller."""
    if not grad.flags.writeable or not (isinstance(owner, np.ndarray) and owner.base is None):
        return True  # read-only, or a view of a buffer we cannot trace
    return id(owner) in shared or id(owner) in given


def _owners(items: Iterable[Any]) -> set[int]:
    """The ids of the arrays owning the memory of the arrays among ``items``."""
    ndarray = np.ndarray
    return {id(item if item.base is None else item.base) for item in items if isinstance(item, ndarray)}


def _copy_like(grad: np.ndarray, value) -> np.ndarray:
    """A writable copy of ``grad`` laid out as ``value`` is (C order for a C-contiguous parameter)."""
    copy = np.empty_like(value, dtype=grad.dtype) if isinstance(value, np.ndarray) else np.empty(grad.shape, grad.dtype)
    np.copyto(copy, grad)
    return copy


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


collector_paused = _CollectorPause()
