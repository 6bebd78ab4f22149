"""What every bad-input catalogue shares: the case record and the lecture's circuit.

Each ``tests/test_bad_*.py`` module keeps a catalogue, ``CASES`` (graph and gate calls, as
:class:`Case`) and/or ``FILE_CASES`` (files, data and optimisers); ``test_bad_inputs.py`` counts
them all. A case builds something, makes one bad call that must raise our own error with a message
naming what is wrong, then makes a correct call that must give the correct result.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import gates
from graph import ComputationalGraph, GateError


@dataclass
class Case:
    build: Callable[[], tuple[Any, Callable[[], Any]]]  # what it built (a graph, a file's path), the bad call
    error: type
    match: str
    good: Callable[[Any], Any] | None = None  # a correct call on what was built, right after ...
    expected: Any = None  # ... and what it must give


def circuit():
    """The lecture's f = (x + y) z."""
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    g.add_gate(gates.MultiplyGate(), x + y, z, name="f")
    return g


def run_circuit(g):
    return g.forward(x=-2.0, y=5.0, z=-4.0), g.backward()


CIRCUIT_RESULT = (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})


def binary(gate_class):
    g = ComputationalGraph()
    a, b = g.input("a"), g.input("b")
    g.add_gate(gate_class(), a, b, name="op")
    return g


def binary_shape_case(gate_class):
    def build():
        g = binary(gate_class)
        return g, lambda: g.forward(a=np.ones((2, 3)), b=np.ones((4, 5)))

    def good(g):
        return g.forward(a=np.full((2, 3), 2.0), b=np.ones(3)).shape

    return Case(
        build, GateError, rf"node 'op' \({gate_class.__name__}\) failed on a \(2, 3\), b \(4, 5\)", good, (2, 3)
    )


def with_circuit(bad, error, match):
    def build():
        g = circuit()
        return g, lambda: bad(g)

    return Case(build, error, match, run_circuit, CIRCUIT_RESULT)


def after_forward(bad, error, match):
    def build():
        g = circuit()
        g.forward(x=-2.0, y=5.0, z=-4.0)
        return g, lambda: bad(g)

    return Case(build, error, match, run_circuit, CIRCUIT_RESULT)


def check_case(case: Case) -> None:
    """The bad call raises ``case.error`` matching ``case.match``; a correct call then gives ``case.expected``."""
    g, bad_call = case.build()
    with pytest.raises(case.error, match=case.match):
        bad_call()
    if case.good is not None:
        assert case.good(g) == case.expected
