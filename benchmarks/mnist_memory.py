"""Rows 6 and 9: the main example's memory against the same training in hand-written numpy.

Each measurement runs in a fresh subprocess (this script with ``--child``):
it prepares Fashion-MNIST as examples/train_mnist.py does (all 55,000
training rows, 5,000 validation and 10,000 test rows in memory), trains
the 784-256-128-10 ReLU MLP with Adam on batches of 128 for a slice of an
epoch (memory does not grow with the steps), scores the validation and
test sets in batches of 2,000, and reports

- ``training_peak`` (row 6): with ``tracemalloc``, the peak of traced memory
  while training and scoring, above what the prepared data already held:
  the working set of the training itself;
- ``maxrss`` (row 9): the process's peak resident memory (``ru_maxrss``),
  which reading the data sets for both.

The framework child trains through ``models.fit`` and ``models.evaluate``;
the numpy child through benchmarks/numpy_mlp.py, keeping its optimiser
through the validation scoring as ``fit`` does. The two alternate, and the
medians of the repeats are compared.

    .venv/bin/python benchmarks/mnist_memory.py [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path

import common  # first: one BLAS thread
import fashion
import numpy as np

STEPS = 40


def child(who: str, trace: bool) -> dict:
    if trace:
        tracemalloc.start()
    data = fashion.prepare()
    x, y = data["x_train"][: STEPS * fashion.BATCH], data["y_train"][: STEPS * fashion.BATCH]
    weights, biases = fashion.he_weights()
    if trace:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    if who == "framework":
        from models import MLP, Adam, evaluate, fit

        model = MLP(list(fashion.SIZES), seed=0)
        model.load_state_dict(common.state_dict(weights, biases))
        fit(
            model,
            Adam(model.parameters(), lr=fashion.LR),
            x,
            y,
            epochs=1,
            batch_size=fashion.BATCH,
            validation=(data["x_val"], data["y_val"]),
            seed=0,
            progress=False,
        )
        evaluate(model, data["x_test"], data["y_test"])
    else:
        from numpy_mlp import NumpyAdam, NumpyMLP

        net = NumpyMLP(weights, biases)
        # The optimiser lives through the validation scoring, as in fit (and in any loop of several epochs):
        # made inline, its moments (1.8 MiB) were let go before the scoring on this side only.
        optimizer = NumpyAdam(net.parameters(), lr=fashion.LR)
        fashion.numpy_epoch(net, optimizer, x, y, np.random.default_rng(0))
        fashion.numpy_evaluate(net, data["x_val"], data["y_val"])
        del optimizer  # as fit's is, before the test scoring
        fashion.numpy_evaluate(net, data["x_test"], data["y_test"])
    result = {"who": who, "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if trace:
        result["training_peak_mib"] = (tracemalloc.get_traced_memory()[1] - before) / 2**20
    return result


def run_child(who: str, trace: bool) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", who] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ.copy())
    return json.loads(done.stdout.strip().splitlines()[-1])


ROW6 = common.Row("6", "main example, training working set", "traced peak / hand numpy", "<= 1.5", 1.5)
ROW9 = common.Row("9", "main example, Fashion-MNIST", "peak RSS / hand numpy", "<= 1.2", 1.2)


def measure(args) -> list[dict]:
    try:
        fashion.prepare()
    except Exception as error:  # any failure to read the data set skips the row
        why = f"Fashion-MNIST unavailable: {error}"
        return [ROW6.missing(why), ROW9.missing(why)]
    repeats = max(2, args.rounds)
    runs = {
        "framework": lambda: run_child("framework", False)["maxrss_mib"],
        "numpy": lambda: run_child("numpy", False)["maxrss_mib"],
        "framework_traced": lambda: run_child("framework", True)["training_peak_mib"],
        "numpy_traced": lambda: run_child("numpy", True)["training_peak_mib"],
    }
    samples, per_round = common.interleaved(runs, repeats, 0)
    records = [
        ROW6.ratio(samples, per_round, "framework_traced", "numpy_traced", unit="MiB", steps=STEPS),
        ROW9.ratio(samples, per_round, "framework", "numpy", unit="MiB", steps=STEPS),
    ]
    for name in runs:
        what = "peak RSS" if "traced" not in name else "traced peak above the data"
        records.append(
            common.Row("info", f"main example, {name.split('_')[0]}", f"{what}, MiB", "-", None).record(
                statistics.median(samples[name])
            )
        )
    return records


def main() -> None:
    if "--child" in sys.argv:
        who = sys.argv[sys.argv.index("--child") + 1]
        print(json.dumps(child(who, "--trace" in sys.argv)))
        return
    args = common.arguments(__doc__.split("\n\n")[0], rounds=2, warmup=0)
    common.report(measure(args), args.json)


if __name__ == "__main__":
    main()
