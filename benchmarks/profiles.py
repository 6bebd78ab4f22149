"""cProfile of the rows that miss their targets: where the framework's own time goes.

    .venv/bin/python benchmarks/profiles.py                  # all of them
    .venv/bin/python benchmarks/profiles.py step32 scalar    # some
    .venv/bin/python benchmarks/profiles.py --top 25

Each profile prints the functions by their own time (``tottime``), so numpy's
kernels (``ndarray.__matmul__`` and friends, shown as built-in methods) stand
apart from the framework's Python. The ``.prof`` files go to
benchmarks/results/ for snakeviz or ``python -m pstats``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats

import common  # first: one BLAS thread
import training_step
from scalar_graph import build_graph, input_values, structure


def step_profile(batch: int, sizes, steps: int, build=training_step.sugar_mlp):
    """The training step of benchmarks/training_step.py (operator sugar unless ``build`` says otherwise)."""
    weights, biases = training_step.initial_weights(sizes)
    data = training_step.batches(batch, sizes[0], sizes[-1])
    step, _ = training_step.graph_step(build(weights, biases))

    def run():
        for i in range(steps):
            step(*data[i % len(data)])

    return run


def scalar_profile(gates: int, reruns: int):
    g = build_graph(structure(gates))
    feeds = {f"x{i}": v for i, v in enumerate(input_values())}

    def run():
        for _ in range(reruns):
            g.forward(feeds)
            g.backward()

    return run


def build_profile(gates: int):
    gates_list = structure(gates)
    feeds = {f"x{i}": v for i, v in enumerate(input_values())}

    def run():
        g = build_graph(gates_list)
        g.forward(feeds)
        g.backward()

    return run


PROFILES = {
    "step128": lambda: step_profile(128, (784, 256, 10), 300),
    "step32": lambda: step_profile(32, (784, 64, 10), 2000),
    "step512": lambda: step_profile(512, (784, 1024, 10), 40),
    "linear128": lambda: step_profile(128, (784, 256, 10), 300, build=training_step.linear_mlp),
    "scalar": lambda: scalar_profile(10_000, 20),
    "build": lambda: build_profile(100_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(PROFILES), choices=list(PROFILES))
    parser.add_argument("--top", type=int, default=18)
    args = parser.parse_args()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        run = PROFILES[name]()
        run()  # warm-up: plans cached, memory allocated
        profiler = cProfile.Profile()
        profiler.runcall(run)
        profiler.dump_stats(common.RESULTS / f"{name}.prof")
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print(f"==== {name}")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


if __name__ == "__main__":
    main()
