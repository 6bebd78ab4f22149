"""Bad-input catalogue of the engine: seeds, outputs, names, masked and huge feeds, rewiring, feeds,
parameter values, stale passes and tangents. Each is refused with our own error naming what is wrong,
and a correct call right after gives the correct result."""

import numpy as np
import pytest
from catalogue import CIRCUIT_RESULT, Case, after_forward, check_case, circuit, run_circuit, with_circuit

import gates
from graph import (
    BackwardError,
    ComputationalGraph,
    CycleError,
    DTypeError,
    DuplicateNameError,
    FeedError,
    GateError,
    NodeNameError,
    NodeNotFoundError,
    NonFiniteError,
    OutputError,
    ShapeError,
)
from models import SGD

FEEDS = {"x": -2.0, "y": 5.0, "z": -4.0}


def unchanged(g):
    """The lecture's result, and no node left behind by the refused call."""
    return run_circuit(g), len(g)


def refused_rewire(bad, error, match):
    def build():
        g = circuit()
        return g, lambda: bad(g)

    return Case(build, error, match, unchanged, (CIRCUIT_RESULT, 5))


def tangent_case(tangents, error, match):
    """A bad tangent for g.jvp; then df/dx along x is z = -4."""

    def build():
        g = circuit()
        return g, lambda: g.jvp(FEEDS, tangents)

    return Case(build, error, match, lambda g: g.jvp(FEEDS, {"x": 1.0}), -4.0)


def several_outputs_backward(g):
    g.forward(FEEDS, outputs=["f", "add_1"])
    g.backward()


def no_gates_case():
    def build():
        g = ComputationalGraph()
        g.input("x")
        return g, lambda: g.forward(x=0.0)

    def good(g):
        g["x"].exp()
        return g.forward(x=0.0)

    return Case(build, GateError, r"the graph has no gates yet: nothing to compute", good, 1.0)


class TabbedGate(gates.ExpGate):
    short_name = "my\tgate"


def weighted_sum():
    """loss = sum(w * x) with w = [1, 1]."""
    g = ComputationalGraph()
    w, x = g.parameter("w", np.ones(2)), g.input("x")
    (w * x).sum()
    return g, w


def parameter_assignment_case():
    def build():
        g, w = weighted_sum()
        return g, lambda: setattr(w, "value", np.arange(2))

    def good(g):
        g["w"].value = [0.5, 2.0]  # a list becomes a float array, one gradient per element
        loss = g.forward(x=[1.0, 3.0])
        return loss, g.backward()["w"].tolist()

    return Case(build, DTypeError, r"parameter 'w' has dtype int64; .* must be floating point", good, (6.5, [1.0, 3.0]))


def stale_backward_case():
    def build():
        g, w = weighted_sum()
        g.forward(x=[1.0, 3.0])
        g.backward()
        SGD([w], lr=0.5).step()  # w = [0.5, -0.5]
        return g, g.backward

    def good(g):
        loss = g.forward(x=[1.0, 3.0])
        return loss, g.backward()["w"].tolist()

    return Case(
        build,
        BackwardError,
        r"parameter 'w' changed after the forward\(\) that backward\(\) would differentiate \(version 0, now 1",
        good,
        (-1.0, [1.0, 3.0]),
    )


def changed_graph_case():
    def build():
        g = circuit()
        g.forward(FEEDS)
        g["f"].exp()
        return g, g.backward

    def good(g):
        return g.forward(FEEDS, outputs="f"), g.backward(output="f")

    return Case(
        build,
        BackwardError,
        r"the graph changed since the last forward\(\) \(node 'exp_1' \(ExpGate\) was added\): run forward\(\)",
        good,
        CIRCUIT_RESULT,
    )


def one_input_fed_twice(g):
    g.forward({"x": 1.0, g["x"]: 2.0, "y": 1.0, "z": 1.0})


def huge_list_case():
    def build():
        g = circuit()
        return g, lambda: g.forward(x=[1, 10**400], y=1, z=1)

    def good(g):  # beyond int64 but not beyond float64: fed as float64, as the same number alone is
        return g.forward(x=[2**70, 1], y=0, z=2).tolist()

    return Case(build, DTypeError, r"feed 'x' holds an integer too large for a float", good, [2.0**71, 2.0])


def renamed_case():
    def build():
        g = circuit()
        g["add_1"].named("q")
        return g, lambda: g["add_1"]

    def good(g):
        return run_circuit(g), g["q"].grad

    return Case(
        build,
        NodeNotFoundError,
        r"no node named 'add_1' in the graph; it was renamed to 'q'",
        good,
        (CIRCUIT_RESULT, -4.0),
    )


def node_backward_case():
    def build():
        g = circuit()
        g["x"].exp()
        g.forward(FEEDS, outputs="f")
        return g, g["exp_1"].backward

    def good(g):
        return g.forward(FEEDS, outputs="f"), g["f"].backward()

    return Case(
        build,
        BackwardError,
        r"output 'exp_1' was not computed by the last forward; run forward\(outputs=\.\.\.\) with it",
        good,
        CIRCUIT_RESULT,
    )


CASES = {
    # the seed, dL/d(output)
    "seed a boolean": after_forward(
        lambda g: g.backward(grad=True), DTypeError, r"backward grad for output 'f' must be numeric, got True"
    ),
    "seed a complex number": after_forward(
        lambda g: g.backward(grad=np.complex128(1)),
        DTypeError,
        r"backward grad for output 'f' is not numeric \(dtype complex128\)",
    ),
    "seed a masked array": after_forward(
        lambda g: g.backward(grad=np.ma.masked_array(1.0, mask=True)),
        DTypeError,
        r"backward grad for output 'f' is a masked array",
    ),
    "seed an integer too large for a float": after_forward(
        lambda g: g.backward(grad=10**400), DTypeError, r"backward grad for output 'f' is an integer of 401 digits"
    ),
    "seed NaN under anomaly detection": after_forward(
        lambda g: g.backward(grad=float("nan"), check_finite=True),
        NonFiniteError,
        r"backward grad \(the seed of output 'f'\) holds 1 of 1 values non-finite \(nan 1\)",
    ),
    # outputs
    "outputs an empty list": with_circuit(
        lambda g: g.forward(FEEDS, outputs=[]),
        OutputError,
        r"forward\(outputs=\[\]\) asks for nothing: name what to compute, e.g. outputs='f'",
    ),
    "backward of a list of outputs": after_forward(
        lambda g: g.backward(output=["f"]), NodeNotFoundError, r"expected a Node or a node name, got list \['f'\]"
    ),
    "backward after a forward of several outputs, none named": with_circuit(
        several_outputs_backward,
        BackwardError,
        r"the last forward computed several outputs \('f', 'add_1'\); name one: backward\(output='f'\)",
    ),
    "forward of a graph with no gates": no_gates_case(),
    # names
    "a name with a newline": with_circuit(
        lambda g: g.input("learning\nrate"),
        NodeNameError,
        r"node name 'learning\\nrate' holds the control character '\\n' \(U\+000A\)",
    ),
    "a name that is not a string": with_circuit(
        lambda g: g.add_gate(gates.ExpGate(), "x", name=1),
        NodeNameError,
        r"node name must be a non-empty string, got 1",
    ),
    "an empty scope name": with_circuit(
        lambda g: g.scope("").__enter__(), NodeNameError, r"scope name must be a non-empty string, got ''"
    ),
    "a gate whose short_name holds a tab": with_circuit(
        lambda g: g.add_gate(TabbedGate(), "x"),
        NodeNameError,
        r"the name prefix \(short_name\) 'my\\tgate' holds the control character '\\t'",
    ),
    "a lookup of a name close to one": with_circuit(
        lambda g: g["ff"], NodeNotFoundError, r"no node named 'ff' in the graph; did you mean 'f'\?"
    ),
    "a lookup of a name given up by renaming": renamed_case(),
    # renaming: refused, and the graph unchanged
    "rename to a name taken": refused_rewire(
        lambda g: g["f"].named("x"),
        DuplicateNameError,
        r"cannot rename node 'f' \(MultiplyGate\) to 'x': a node named 'x' already exists \(input 'x'\); "
        r"pick another name, or rename that node first; nothing changed",
    ),
    "rename to an empty name": refused_rewire(
        lambda g: setattr(g["f"], "name", ""), NodeNameError, r"node name must be a non-empty string, got ''"
    ),
    "rename to a name that is not a string": refused_rewire(
        lambda g: g["add_1"].named(("q",)), NodeNameError, r"node name must be a non-empty string, got \('q',\)"
    ),
    "rename to a name with a carriage return": refused_rewire(
        lambda g: g["add_1"].named("q\r"), NodeNameError, r"node name 'q\\r' holds the control character '\\r'"
    ),
    # numpy on nodes: refused where no gate fits, and the graph unchanged
    "a numpy ufunc with no gate": refused_rewire(
        lambda g: np.sin(g["x"]),
        GateError,
        r"there is no gate for numpy\.sin \(called on node 'x'\); write it with the gates the graph has",
    ),
    "a numpy ufunc with a method to call instead": refused_rewire(
        lambda g: np.square(g["f"]), GateError, r"there is no gate for numpy\.square .*; write x \*\* 2 or x \* x"
    ),
    "a numpy ufunc with out=": refused_rewire(
        lambda g: np.exp(g["x"], out=np.zeros(())),
        GateError,
        r"numpy\.exp\(\.\.\., out=\) on node 'x': the graph computes a node's value itself",
    ),
    "a numpy ufunc method": refused_rewire(
        lambda g: np.add.reduce(g["x"]), GateError, r"numpy\.add\.reduce on node 'x': .* write x\.sum\(axis\)"
    ),
    "a numpy comparison": refused_rewire(
        lambda g: np.ones(2) < g["x"],
        GateError,
        r"no gate for numpy\.less .*; a comparison has no gradient; compare node\.value",
    ),
    # node.backward
    "node.backward before any forward": with_circuit(
        lambda g: g["f"].backward(), BackwardError, r"backward\(\) needs a successful forward\(\) first"
    ),
    "node.backward of a node the last forward did not compute": node_backward_case(),
    # masked and huge feeds
    "a masked array feed": with_circuit(
        lambda g: g.forward(x=np.ma.masked_array([1.0, 2.0], mask=[False, True]), y=1.0, z=1.0),
        DTypeError,
        r"feed 'x' is a masked array \(numpy\.ma\).*pass x\.filled\(value\)",
    ),
    "a feed of 10**400": with_circuit(
        lambda g: g.forward(x=10**400, y=1.0, z=1.0), DTypeError, r"feed 'x' is an integer of 401 digits"
    ),
    "a list feed holding 10**400": huge_list_case(),
    "a constant of 10**400": with_circuit(
        lambda g: g["x"] * 10**400, DTypeError, r"constant is an integer of 401 digits, too large for a float"
    ),
    # rewiring: refused, and the graph unchanged (no stray constant)
    "rewire a gate to itself": refused_rewire(
        lambda g: g.rewire("f", "f", "z"), CycleError, r"rewiring 'f' would close a cycle: f -> f \(1 node\)"
    ),
    "rewire with the wrong number of inputs": refused_rewire(
        lambda g: g.rewire("f", "x"), GateError, r"node 'f' \(MultiplyGate\) takes 2 inputs, got 1"
    ),
    "rewire a leaf": refused_rewire(
        lambda g: g.rewire("x", "y"), GateError, r"rewire needs a gate node, got input 'x'"
    ),
    "rewire to a constant that is no number": refused_rewire(
        lambda g: g.rewire("f", 3.0, None), DTypeError, r"constant must be numeric, got None"
    ),
    # feeds
    "feeds as a positional list": with_circuit(
        lambda g: g.forward([-2.0, 5.0, -4.0]),
        FeedError,
        r"forward's feeds go by name, not by position \(got a list of 3 values\): call "
        r"forward\(x=-2\.0, y=5\.0, z=-4\.0\) or forward\(\{'x': -2\.0, 'y': 5\.0, 'z': -4\.0\}\); the graph's "
        r"inputs, in the order they were added, are 'x', 'y', 'z'",
    ),
    "feeds as a positional tuple of two values": with_circuit(
        lambda g: g.forward((1.0, 2.0)),
        FeedError,
        r"forward's feeds go by name: .* got a tuple of 2 values; call forward\(x=\.\.\., y=\.\.\., z=\.\.\.\)",
    ),
    "a feed named like no input": with_circuit(
        lambda g: g.forward(xx=-2.0, y=5.0, z=-4.0),
        FeedError,
        r"feed 'xx' names no input of the graph; its inputs are 'x', 'y', 'z'; did you mean 'x'\?",
    ),
    "a feed key that is no name": with_circuit(
        lambda g: g.forward({0: 1.0}), FeedError, r"feed key 0 is not an input's name or node"
    ),
    "one input fed twice in the dict": with_circuit(
        one_input_fed_twice, FeedError, r"input 'x' fed twice in the dict, by name and as a node"
    ),
    # parameter values and stale passes
    "an integer array assigned to a parameter": parameter_assignment_case(),
    "backward after an optimiser step": stale_backward_case(),
    "backward after a gate was added": changed_graph_case(),
    # tangents of forward mode
    "a text tangent": tangent_case({"x": "1"}, DTypeError, r"tangent for 'x' must be numeric, got '1'"),
    "a tangent of the wrong shape": tangent_case(
        {"x": np.ones(3)}, ShapeError, r"tangent for 'x' has shape \(3,\), its value has shape \(\)"
    ),
    "a tangent for a gate node": tangent_case(
        {"f": 1.0}, FeedError, r"tangent given for gate 'f'; only inputs and parameters take tangents"
    ),
}


def test_the_catalogue_is_large():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_refused_clearly_and_the_graph_stays_usable(name):
    check_case(CASES[name])
