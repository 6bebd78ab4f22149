"""Bad-input catalogue of the gradient checks: check_gate, check_graph and audit misused.

Each case gets our own exception (or the TypeError add_gate also gives for a non-gate) with a
message naming what is wrong, and a correct call right after gives the correct result.
"""

import numpy as np
import pytest
from catalogue import CIRCUIT_RESULT, Case, check_case, circuit, run_circuit, with_circuit

import gates
from graph import (
    BackwardError,
    DTypeError,
    FeedError,
    GateContractError,
    GateError,
    NodeNotFoundError,
    audit,
    check_gate,
    check_graph,
)

FEEDS = {"x": -2.0, "y": 5.0, "z": -4.0}


class OneGradientGate(gates.MultiplyGate):
    def backward(self, upstream):
        return (upstream * self.y,)


def audit_passes(g):
    return audit(g, FEEDS).ok


def never_run():
    g = circuit()
    return g, lambda: audit(g)


def circuit_then(bad):
    """The bad call on the lecture's circuit after a forward, then a forward and backward."""

    def build():
        g = circuit()
        g.forward(FEEDS)
        return g, lambda: bad(g)

    return build


def model_case(check, match):
    def build():
        from models import MLP

        model = MLP([2, 3, 2], seed=0, dtype=np.float64)
        return model.graph, lambda: check(model)

    def good(g):
        return audit(g, {"X": np.ones((2, 2)), "Y": np.array([0, 1])}).ok

    return Case(build, TypeError, match, good, True)


def gate_case(bad, error, match):
    def build():
        return None, bad

    return Case(build, error, match, lambda _: sorted(check_gate(gates.MultiplyGate(), 1.0, 2.0)), [0, 1])


CASES = {
    "audit before any forward": Case(
        never_run,
        BackwardError,
        r"audit\(\) checks each gate at the inputs of the last forward, and no forward has run",
        audit_passes,
        True,
    ),
    "audit of a model, not its graph": model_case(
        audit, r"audit\(\) needs a ComputationalGraph, got MLP; for a model pass model.graph"
    ),
    "check_graph of a model, not its graph": model_case(
        lambda model: check_graph(model, {}), r"check_graph\(\) needs a ComputationalGraph, got MLP"
    ),
    "audit with a feed missing": with_circuit(
        lambda g: audit(g, {"x": 1.0, "y": 2.0}), FeedError, r"missing feed for input 'z'"
    ),
    "audit with a string feed": with_circuit(
        lambda g: audit(g, {"x": "1", "y": 2.0, "z": 3.0}), DTypeError, r"feed 'x' must be numeric"
    ),
    "audit report indexed by an unknown node": Case(
        circuit_then(lambda g: audit(g)["nope"]),
        NodeNotFoundError,
        r"no gate node 'nope' in this audit; its rows are 'add_1', 'f'",
        run_circuit,
        CIRCUIT_RESULT,
    ),
    "check_graph with a feed missing": with_circuit(
        lambda g: check_graph(g, {"x": 1.0, "y": 2.0}), FeedError, r"missing feed for input 'z'"
    ),
    "check_graph of an unknown output": with_circuit(
        lambda g: check_graph(g, FEEDS, output="nope"), NodeNotFoundError, r"nope"
    ),
    "check_graph with mismatched shapes": with_circuit(
        lambda g: check_graph(g, {"x": np.ones(2), "y": np.ones(3), "z": 1.0}),
        GateError,
        r"node 'add_1' \(AddGate\) failed on x \(2,\), y \(3,\)",
    ),
    "check_gate of a gate class": gate_case(
        lambda: check_gate(gates.MultiplyGate, 1.0, 2.0),
        TypeError,
        r"check_gate needs a gate instance, got the class MultiplyGate",
    ),
    "check_gate of a function": gate_case(
        lambda: check_gate(np.multiply, 1.0, 2.0), TypeError, r"check_gate needs a gate instance, got <ufunc"
    ),
    "check_gate of a gate returning too few gradients": gate_case(
        lambda: check_gate(OneGradientGate(), 1.0, 2.0),
        GateContractError,
        r"OneGradientGate\.backward must return a tuple of 2 gradients, one per input",
    ),
}


def test_the_catalogue_is_large():
    assert len(CASES) >= 8


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_refused_clearly_and_the_graph_stays_usable(name):
    check_case(CASES[name])
