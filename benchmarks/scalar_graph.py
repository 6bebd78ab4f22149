"""Rows 4 and 5: a scalar graph of 10,000 gates (add, mul, tanh, relu), rerun and first run.

Our graph is built once; each rerun is ``forward`` then ``backward`` on the
cached plan, over Python floats. micrograd (Karpathy's PyPI package,
``pip install micrograd``) has no graph to keep: every pass builds the
expression of ``Value`` objects again and runs its ``backward``. The row
compares time per gate of our rerun with micrograd's build + backward, with
the garbage collector as a user has it (on) and our graph frozen out of
its sight while micrograd runs, as if micrograd had a process of its own;
the reference cycles each micrograd pass leaves are collected within its
timing, as a training loop would have to. For information: micrograd with
``gc`` off (its garbage then never collected while timed).
micrograd has no tanh: the helper below adds one in micrograd's own style
(a new ``Value`` and its backward closure).

Row 5 is our first run: building the graph, then the first forward and
backward, which plan it (and build networkx's DiGraph where the graph
does), against the same micrograd pass.

    .venv/bin/python benchmarks/scalar_graph.py [--quick] [--gates N]
"""

from __future__ import annotations

import gc
import math
import random
import sys

import common  # first: one BLAS thread

from graph import ComputationalGraph

GATES = 10_000
PASSES = 3  # micrograd passes per timing, its garbage collected at the end
INPUTS = 10
OPS = ("add", "tanh", "mul", "relu")


def structure(gates: int, inputs: int = INPUTS, seed: int = 0) -> list[tuple[str, int, int | None]]:
    """A random scalar expression: ``(op, first, second)`` per gate, operands as node indices.

    Nodes ``0 .. inputs-1`` are the inputs, gate ``k`` is node ``inputs + k``.
    Each gate takes the previous node first, so the last gate is the only
    output; a binary gate's second operand is an earlier node (for ``mul``
    one whose value lies in [-1, 1], so that no value overflows).
    """
    rng = random.Random(seed)
    bounded = list(range(inputs))
    gates_list = []
    for k in range(gates):
        node, previous = inputs + k, inputs + k - 1
        op = OPS[k % len(OPS)]
        if op == "add":
            second = rng.randrange(node)
        elif op == "mul":
            second = rng.choice(bounded)
        else:
            second = None
        if op == "tanh":
            bounded.append(node)
        gates_list.append((op, previous, second))
    return gates_list


def input_values(inputs: int = INPUTS, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-1.0, 1.0) for _ in range(inputs)]


def build_graph(gates_list, inputs: int = INPUTS) -> ComputationalGraph:
    """The expression with the graph API's operator sugar."""
    g = ComputationalGraph()
    nodes = [g.input(f"x{i}") for i in range(inputs)]
    for op, first, second in gates_list:
        a = nodes[first]
        if op == "add":
            nodes.append(a + nodes[second])
        elif op == "mul":
            nodes.append(a * nodes[second])
        elif op == "tanh":
            nodes.append(a.tanh())
        else:
            nodes.append(a.relu())
    return g


def micrograd_tanh(value):
    """tanh for micrograd's Value, written the way its relu is."""
    from micrograd.engine import Value

    out = Value(math.tanh(value.data), (value,), "tanh")

    def _backward():
        value.grad += (1 - out.data * out.data) * out.grad

    out._backward = _backward
    return out


def micrograd_pass(gates_list, values):
    """Build the expression of micrograd Values and run its backward; returns the input Values."""
    from micrograd.engine import Value

    leaves = [Value(v) for v in values]
    nodes = list(leaves)
    for op, first, second in gates_list:
        a = nodes[first]
        if op == "add":
            nodes.append(a + nodes[second])
        elif op == "mul":
            nodes.append(a * nodes[second])
        elif op == "tanh":
            nodes.append(micrograd_tanh(a))
        else:
            nodes.append(a.relu())
    nodes[-1].backward()
    return leaves


def check_agreement(g: ComputationalGraph, gates_list, values) -> float:
    """Largest difference between our gradients and micrograd's: the two compute the same thing."""
    ours = g.backward() if g.forward(**{f"x{i}": v for i, v in enumerate(values)}) is not None else {}
    theirs = micrograd_pass(gates_list, values)
    return max(abs(ours.get(f"x{i}", 0.0) - leaf.grad) for i, leaf in enumerate(theirs))


def contenders(gates: int) -> tuple[dict, dict]:
    gates_list = structure(gates)
    values = input_values()
    feeds = {f"x{i}": v for i, v in enumerate(values)}
    start = common.clock()
    g = build_graph(gates_list)
    build_seconds = common.clock() - start
    difference = check_agreement(g, gates_list, values)

    def ours():
        start = common.clock()
        g.forward(feeds)
        g.backward()
        return (common.clock() - start) / gates

    def micrograd(collector: bool):
        def run():
            # Our graph is frozen out of the collector's sight, as if micrograd had a process of
            # its own. Each pass leaves its Values in reference cycles (the backward closures):
            # with the collector on, collecting them is part of a pass's cost, so the timing runs
            # PASSES passes and then collects what is left.
            was_enabled = gc.isenabled()
            gc.collect()
            gc.freeze()
            (gc.enable if collector else gc.disable)()
            try:
                start = common.clock()
                for _ in range(PASSES):
                    micrograd_pass(gates_list, values)
                if collector:
                    gc.collect()
                return (common.clock() - start) / (PASSES * gates)
            finally:
                (gc.enable if was_enabled else gc.disable)()
                gc.unfreeze()
                gc.collect()

        return run

    def first_run():
        gc.collect()
        start = common.clock()
        fresh = build_graph(gates_list)
        fresh.forward(feeds)
        fresh.backward()
        return (common.clock() - start) / gates

    runs = {
        "graph_rerun": ours,
        "graph_first_run": first_run,
        "micrograd": micrograd(True),
        "micrograd_gc_off": micrograd(False),
    }
    return runs, {"build_us_per_gate": build_seconds / gates * 1e6, "max_grad_difference": difference}


ROW4 = common.Row("4", "scalar graph 10k gates, fwd+bwd rerun", "time / micrograd build+backward", "<= 0.50", 0.5)
ROW5 = common.Row("5", "same graph, first run (build, plan, passes)", "time / micrograd build+backward", "<= 3.0", 3.0)


def measure(args, gates: int = GATES) -> list[dict]:
    try:
        import micrograd  # noqa: F401
    except ImportError:
        why = "micrograd not installed (pip install micrograd)"
        return [ROW4.missing(why), ROW5.missing(why)]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * gates + 1000))  # micrograd sorts recursively
    runs, extra = contenders(gates)
    samples, per_round = common.interleaved(runs, args.rounds, args.warmup)
    extra = {"gates": gates, **extra}
    return [
        ROW4.ratio(samples, per_round, "graph_rerun", "micrograd", **extra),
        ROW5.ratio(samples, per_round, "graph_first_run", "micrograd", **extra),
        common.Row("info", "same, micrograd with gc off", "time per gate / micrograd's", "-", None).ratio(
            samples, per_round, "graph_rerun", "micrograd_gc_off", **extra
        ),
    ]


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=21, warmup=3)
    common.report(measure(args), args.json)


if __name__ == "__main__":
    main()
