"""The plan: which nodes a pass visits, in which order, as named step records.

A plan numbers the nodes it runs: each node's *slot* is its index in
``Plan.order``, and a pass keeps values and gradients in lists indexed by
slot. A forward step and a backward step name the same things the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from gates import Gate
    from graph.node import Node

__all__ = ["ForwardStep", "BackwardStep", "LeafRead", "FeedRead", "ResultSlot", "Plan", "BackwardPlan"]


class ForwardStep(NamedTuple):
    """One gate node of a forward pass: ``values[slot] = gate.forward(*values[inputs])``."""

    node: Node
    gate: Gate
    inputs: tuple[int, ...]  # the slots of the gate's arguments, in argument order
    slot: int  # where its output goes


class BackwardStep(NamedTuple):
    """One gate node of a backward pass: ``gate.backward(grads[slot])`` sends to ``grads[inputs]``."""

    node: Node
    gate: Gate
    inputs: tuple[int, ...]  # as in ForwardStep
    slot: int  # as in ForwardStep: the upstream gradient is read from here
    wanted: tuple[bool, ...]  # per argument: whether its gradient is needed (its node requires one)


class LeafRead(NamedTuple):
    """A parameter or constant: the forward reads ``node.value`` into ``values[slot]``."""

    node: Node
    slot: int


class FeedRead(NamedTuple):
    """An input: the forward reads ``feeds[name]`` into ``values[slot]``."""

    name: str
    slot: int


class ResultSlot(NamedTuple):
    """An input or parameter whose gradient backward returns, read from ``grads[slot]``."""

    name: str
    slot: int


@dataclass
class BackwardPlan:
    """The gate nodes one output's backward visits, in reverse order."""

    output_slot: int
    steps: list[BackwardStep]
    results: list[ResultSlot]


@dataclass
class Plan:
    """How to run the part of the graph that some outputs need.

    Every node of ``order`` has a slot, its index there.
    """

    outputs: tuple[str, ...]
    order: list[Node]
    leaves: list[LeafRead]
    feeds: list[FeedRead]
    steps: list[ForwardStep]
    backward_plans: dict[str, BackwardPlan] = field(default_factory=dict)
