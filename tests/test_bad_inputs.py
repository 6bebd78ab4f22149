"""A catalogue of bad inputs: each gets our own exception, a message naming what is wrong,
and leaves the graph usable, so that a correct call right after gives the correct result.
"""

import numpy as np
import pytest
from catalogue import (
    CIRCUIT_RESULT,
    Case,
    after_forward,
    binary,
    binary_shape_case,
    check_case,
    circuit,
    run_circuit,
    with_circuit,
)

import gates
from graph import (
    BackwardError,
    ComputationalGraph,
    CycleError,
    DTypeError,
    DuplicateNameError,
    FeedError,
    GateContractError,
    GateError,
    GateReuseError,
    NodeNotFoundError,
    ShapeError,
)


class ShortGate(gates.Gate):
    def forward(self, x, y):
        return x * y

    def backward(self, upstream):
        return (upstream,)


class LongGate(ShortGate):
    def backward(self, upstream):
        return (upstream, upstream, upstream)


class WrongShapeGate(ShortGate):
    def backward(self, upstream):
        return (np.sum(upstream), upstream)


class NotATupleGate(ShortGate):
    def backward(self, upstream):
        return upstream


def user_gate_case(gate_class, match):
    def build():
        g = ComputationalGraph()
        x, y = g.input("x"), g.input("y")
        g.add_gate(gate_class(), x, y, name="mine").sum()
        g.forward(x=np.ones(3), y=np.ones(3))
        return g, g.backward

    def good(g):
        g.forward(x=np.ones(3), y=np.ones(3), outputs="mine")
        return g["mine"].value.tolist()

    return Case(build, GateContractError, rf"node 'mine' \({gate_class.__name__}\): {match}", good, [1.0, 1.0, 1.0])


def matmul_case():
    def build():
        g = ComputationalGraph()
        x, w = g.input("X"), g.parameter("W", np.ones((4, 5)))
        g.add_gate(gates.MatMulGate(), x, w, name="scores")
        return g, lambda: g.forward(X=np.ones((2, 3)))

    return Case(
        build,
        GateError,
        r"node 'scores' \(MatMulGate\) failed on X \(2, 3\), W \(4, 5\): matmul of \(2, 3\) and \(4, 5\): "
        r"inner dimensions 3 and 4 differ",
        lambda g: g.forward(X=np.ones((2, 4))).shape,
        (2, 5),
    )


def linear_case():
    def build():
        g = ComputationalGraph()
        a = g.input("A", requires_grad=False)
        w, b = g.parameter("W", np.ones((2, 3))), g.parameter("b", np.zeros(2))
        g.add_gate(gates.LinearGate(), a, w, b, name="layer")
        return g, lambda: g.forward(A=np.ones((4, 5)))

    return Case(
        build,
        GateError,
        r"node 'layer' \(LinearGate\).*A \(4, 5\) and W \(2, 3\)",
        lambda g: g.forward(A=np.ones((4, 3))).sum(),
        24.0,
    )


def cycle_case():
    def build():
        g = ComputationalGraph()
        x = g.input("x")
        a = g.add_gate(gates.ExpGate(), x, name="a")
        b = g.add_gate(gates.TanhGate(), a, name="b")
        return g, lambda: g.rewire(a, b)

    return Case(build, CycleError, r"cycle: (a -> b -> a|b -> a -> b)", lambda g: g.forward(x=0.0), np.tanh(1.0))


def reuse_case():
    def build():
        g = circuit()
        reused = g["f"].gate
        return g, lambda: g.add_gate(reused, g["x"], g["y"])

    return Case(build, GateReuseError, r"MultiplyGate instance already stands at node 'f'", run_circuit, CIRCUIT_RESULT)


def failed_forward_case():
    def build():
        g = binary(gates.MatMulGate)
        g.forward(a=np.ones((2, 3)), b=np.ones((3, 1)))
        with pytest.raises(GateError):
            g.forward(a=np.ones((2, 3)), b=np.ones((2, 1)))
        return g, lambda: g.backward(grad=np.ones((2, 1)))

    def good(g):
        g.forward(a=np.ones((2, 3)), b=np.ones((3, 1)))
        return g.backward(grad=np.ones((2, 1)))["b"].ravel().tolist()

    return Case(build, BackwardError, r"the last forward\(\) failed", good, [2.0, 2.0, 2.0])


def non_scalar_case(grad, error, match):
    def build():
        g = ComputationalGraph()
        x = g.input("x")
        g.add_gate(gates.MultiplyGate(), x, 2.0, name="double")
        g.forward(x=np.ones(3))
        return g, lambda: g.backward(grad=grad)

    return Case(build, error, match, lambda g: g.backward(grad=np.ones(3))["x"].tolist(), [2.0, 2.0, 2.0])


def parameter_case(value, error, match):
    def build():
        g = circuit()
        return g, lambda: g.parameter("W", value)

    return Case(build, error, match, run_circuit, CIRCUIT_RESULT)


def loss_case(gate, predictions, targets, match):
    def build():
        g = ComputationalGraph()
        p, t = g.input("p"), g.input("t", requires_grad=False)
        g.add_gate(gate, p, t, name="loss")
        return g, lambda: g.forward(p=predictions, t=targets)

    def good(g):
        return float(g.forward(p=np.zeros((2, 3)), t=np.zeros((2, 3))) >= 0)

    return Case(build, GateError, rf"node 'loss' \({type(gate).__name__}\).*{match}", good, 1.0)


CASES = {
    **{
        f"{cls.__name__} shapes that do not broadcast": binary_shape_case(cls)
        for cls in (
            gates.AddGate,
            gates.SubtractGate,
            gates.MultiplyGate,
            gates.DivideGate,
            gates.MaxGate,
            gates.MinGate,
        )
    },
    "matmul (2, 3) @ (4, 5)": matmul_case(),
    "linear layer with the wrong input width": linear_case(),
    "missing feed": with_circuit(lambda g: g.forward(x=1.0, y=2.0), FeedError, r"missing feed for input 'z'"),
    "unknown feed": with_circuit(
        lambda g: g.forward(x=1.0, y=2.0, z=3.0, w=4.0), FeedError, r"feed 'w' names no input of the graph"
    ),
    "feed given twice": with_circuit(lambda g: g.forward({"x": 1.0}, x=1.0, y=1.0, z=1.0), FeedError, "fed twice"),
    "string feed": with_circuit(lambda g: g.forward(x="3", y=1.0, z=1.0), DTypeError, r"feed 'x' must be numeric"),
    "None feed": with_circuit(lambda g: g.forward(x=None, y=1.0, z=1.0), DTypeError, r"feed 'x' must be numeric"),
    "object feed": with_circuit(lambda g: g.forward(x=object(), y=1.0, z=1.0), DTypeError, r"feed 'x' is not numeric"),
    "ragged list feed": with_circuit(
        lambda g: g.forward(x=[[1.0], [1.0, 2.0]], y=1.0, z=1.0), DTypeError, r"feed 'x' is not a rectangular array"
    ),
    "boolean feed": with_circuit(lambda g: g.forward(x=True, y=1.0, z=1.0), DTypeError, r"feed 'x' must be numeric"),
    "boolean array feed": with_circuit(
        lambda g: g.forward(x=np.array([True]), y=1.0, z=1.0), DTypeError, r"feed 'x' is boolean"
    ),
    "complex feed": with_circuit(
        lambda g: g.forward(x=np.array([1j]), y=1.0, z=1.0), DTypeError, r"feed 'x' is not numeric \(dtype complex128\)"
    ),
    "unknown node name": with_circuit(lambda g: g["q"], NodeNotFoundError, r"no node named 'q' in the graph"),
    "unknown output": with_circuit(lambda g: g.forward(x=1.0, outputs="ff"), NodeNotFoundError, r"did you mean 'f'"),
    "node of another graph": with_circuit(
        lambda g: g["x"] * ComputationalGraph().input("v"), NodeNotFoundError, r"node 'v' belongs to another graph"
    ),
    "duplicate name": with_circuit(lambda g: g.input("x"), DuplicateNameError, r"a node named 'x' already exists"),
    "gate given the wrong number of inputs": with_circuit(
        lambda g: g.add_gate(gates.ExpGate(), g["x"], g["y"]), GateError, r"ExpGate takes 1 inputs, got 2"
    ),
    "not a gate": with_circuit(lambda g: g.add_gate(np.exp, g["x"]), TypeError, r"add_gate needs a Gate instance"),
    "gate reused": reuse_case(),
    "cycle": cycle_case(),
    "backward before forward": with_circuit(lambda g: g.backward(), BackwardError, r"forward\(\) has not run"),
    "backward after a failed forward": failed_forward_case(),
    "backward of a non-scalar output without grad": non_scalar_case(
        None, BackwardError, r"output 'double' has shape \(3,\), not one element"
    ),
    "grad of the wrong shape": non_scalar_case(
        np.ones(2), ShapeError, r"backward grad has shape \(2,\), output 'double' has shape \(3,\)"
    ),
    "backward of an output the last forward did not compute": after_forward(
        lambda g: g.forward(x=1.0, y=2.0, outputs="add_1") and g.backward(output="f"),
        BackwardError,
        r"output 'f' was not computed by the last forward",
    ),
    "backward of an unknown output": after_forward(
        lambda g: g.backward(output="nope"), NodeNotFoundError, r"no node named 'nope'"
    ),
    "user gate returns too few gradients": user_gate_case(ShortGate, "backward must return a tuple of 2 gradients"),
    "user gate returns too many gradients": user_gate_case(LongGate, "backward must return a tuple of 2 gradients"),
    "user gate returns a wrongly shaped gradient": user_gate_case(
        WrongShapeGate, r"backward returned a gradient of shape \(\) for input 0 \('x'\), expected its shape \(3,\)"
    ),
    "user gate returns no tuple": user_gate_case(NotATupleGate, "backward must return a tuple of 2 gradients"),
    "integer parameter": parameter_case(np.array([1, 2]), DTypeError, r"parameter 'W' has dtype int64"),
    "string parameter": parameter_case("weights", DTypeError, r"parameter 'W' must be numeric"),
    "softmax cross-entropy label out of range": loss_case(
        gates.SoftmaxCrossEntropyGate(), np.zeros((2, 3)), np.array([0, 3]), r"labels must lie in \[0, 3\)"
    ),
    "loss of mismatched shapes": loss_case(
        gates.MSELossGate(), np.zeros((2, 3)), np.zeros((2, 2)), r"predictions \(2, 3\) and targets \(2, 2\)"
    ),
}


def test_the_catalogue_is_large():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_refused_clearly_and_the_graph_stays_usable(name):
    check_case(CASES[name])


# -- model files, data files and optimisers -------------------------------------------------------

MARKER = "pickle-ran-code"


class RunsCodeWhenUnpickled:
    """Unpickling this would create a marker file: loading a model must never do it."""

    def __init__(self, marker_path):
        self.marker_path = str(marker_path)

    def __reduce__(self):
        return (open, (self.marker_path, "w"))


def good_model_file(folder):
    from models import MLP

    path = folder / "good.npz"
    MLP([4, 3, 2], seed=0).save(path)
    return path


def corrupt_file(folder):
    path = folder / "corrupt.npz"
    data = bytearray(good_model_file(folder).read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))
    return path


def truncated_file(folder):
    path = folder / "truncated.npz"
    path.write_bytes(good_model_file(folder).read_bytes()[:300])
    return path


def rewritten_meta(folder, change, name):
    import json

    with np.load(good_model_file(folder), allow_pickle=False) as archive:
        arrays = dict(archive)
    meta = json.loads(str(arrays["__model__"]))
    change(meta, arrays)
    arrays["__model__"] = np.array(json.dumps(meta))
    path = folder / name
    np.savez(path, **arrays)
    return path


def newer_version_file(folder):
    return rewritten_meta(folder, lambda meta, arrays: meta.update(version=99), "newer.npz")


def wrong_architecture_file(folder):
    def change(meta, arrays):
        arrays["W1"] = np.zeros((5, 4), np.float32)  # the file says 4-3-2; its W1 is for 5 hidden units

    return rewritten_meta(folder, change, "wrong_architecture.npz")


def pickle_bearing_file(folder):
    path = folder / "pickle.npz"
    with np.load(good_model_file(folder), allow_pickle=False) as archive:
        arrays = dict(archive)
    arrays["W1"] = np.array([RunsCodeWhenUnpickled(folder / MARKER)], dtype=object)
    np.savez(path, **arrays)
    return path


def idx_file(folder, content: bytes, name="images-idx3-ubyte"):
    path = folder / name
    path.write_bytes(content)
    return path


FILE_CASES = {
    "corrupt model file": (lambda d: _load(corrupt_file(d)), "ModelFileError", r"corrupt\.npz"),
    "truncated model file": (lambda d: _load(truncated_file(d)), "ModelFileError", r"truncated\.npz"),
    "model file of a newer format version": (lambda d: _load(newer_version_file(d)), "ModelFileError", r"version"),
    "model file whose arrays do not fit its architecture": (
        lambda d: _load(wrong_architecture_file(d)),
        "ModelFileError",
        r"wrong_architecture\.npz' does not fit the MLP 4-3-2.*W1 has shape \(5, 4\), the architecture needs \(3, 4\)",
    ),
    "model file carrying a pickle": (lambda d: _load(pickle_bearing_file(d)), "ModelFileError", r"pickle\.npz"),
    "not a model file at all": (lambda d: _load(idx_file(d, b"hello")), "ModelFileError", r"images-idx3-ubyte"),
    "IDX file with a wrong magic number": (
        lambda d: _read_idx(idx_file(d, b"\x01\x02\x08\x01\x00\x00\x00\x02ab")),
        "DataFileError",
        r"images-idx3-ubyte.*magic",
    ),
    "IDX file with short data": (
        lambda d: _read_idx(idx_file(d, b"\x00\x00\x08\x01\x00\x00\x00\x09abc")),
        "DataFileError",
        r"images-idx3-ubyte.*(short|truncated|9)",
    ),
    "missing dataset directory": (
        lambda d: _load_fashion(d / "nowhere"),
        "DataFileError",
        r"data directory '.*nowhere' does not exist",
    ),
    "optimiser given no parameters": (lambda d: _sgd([]), "ValueError", r"SGD got an empty parameter list"),
}


def _load(path):
    from models import load

    return load(path)


def _read_idx(path):
    from models import read_idx

    return read_idx(path)


def _load_fashion(path):
    from models import load_fashion_mnist

    return load_fashion_mnist(path)


def _sgd(params):
    from models import SGD

    return SGD(params, lr=0.1)


def test_the_whole_catalogue_is_large():
    """Every tests/test_bad_*.py module's CASES and FILE_CASES, counted together."""
    import importlib
    from pathlib import Path

    total = 0
    for path in sorted(Path(__file__).parent.glob("test_bad_*.py")):
        module = importlib.import_module(path.stem)
        total += len(getattr(module, "CASES", {})) + len(getattr(module, "FILE_CASES", {}))
    assert total >= 120


@pytest.mark.parametrize("name", FILE_CASES)
def test_bad_file_or_argument_is_refused_clearly_runs_no_code_and_a_good_one_still_loads(name, tmp_path):
    import builtins

    import models

    bad_call, error_name, match = FILE_CASES[name]
    error = getattr(models, error_name, None) or getattr(builtins, error_name)
    with pytest.raises(error, match=match):
        bad_call(tmp_path)
    assert not (tmp_path / MARKER).exists(), "loading the file ran code"
    x = np.ones((1, 4), np.float32)
    reloaded = _load(good_model_file(tmp_path))
    assert np.array_equal(reloaded.predict(x), models.MLP([4, 3, 2], seed=0).predict(x))
