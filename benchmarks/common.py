"""What every benchmark shares: one BLAS thread, interleaved timing, JSON lines and the table.

Import this module before numpy: the thread limits only take effect if they
are in the environment when the BLAS library loads.

Method: each contender runs a block of steps, the contenders take turns in a
shuffled order within each round, and the first rounds are discarded as
warm-up. A row's ratio is the ratio of the contenders' median times per
step; the spread is the range (10th to 90th percentile) of the per-round
ratios, which pair runs made at the same moment on a busy machine.
"""

from __future__ import annotations

import os
import sys

# Measure this checkout's gates, graph and models, whichever checkout the environment has installed.
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"
# Some machines here pin OpenBLAS to an older kernel (OPENBLAS_CORETYPE, with OPENBLAS_L2_SIZE) because older
# OpenBLAS builds crash or miscompute on their processor. numpy's current OpenBLAS does not need it and runs
# its GEMMs up to twice as slowly with it, which would flatter every ratio to numpy: the benchmarks unset both,
# for their own processes only (never the tests), and report the kernel OpenBLAS then picks (machine()).
for _variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_variable, None)

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TORCH_MISSING = "torch not installed"


def load_torch():
    """torch with one thread, or None where it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def arguments(description: str, switches: dict[str, str] | None = None, **defaults) -> argparse.Namespace:
    """The options every benchmark takes (--quick for a short run, --json FILE for the lines), and ``switches``."""
    parser = argparse.ArgumentParser(description=description)
    for flag, text in (switches or {}).items():
        parser.add_argument(flag, action="store_true", help=text)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, noisier figures)")
    parser.add_argument(
        "--json", type=Path, default=RESULTS / "bench.jsonl", help="file the JSON lines are appended to"
    )
    parser.add_argument("--rounds", type=int, default=defaults.get("rounds", 15), help="timed rounds per contender")
    parser.add_argument("--warmup", type=int, default=defaults.get("warmup", 3), help="rounds discarded first")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.warmup = max(3, args.rounds // 3), 1
    return args


def interleaved(contenders: dict[str, Callable[[], float]], rounds: int, warmup: int, seed: int = 0):
    """Run each contender once per round, in a fresh shuffled order, and keep what each returns.

    A contender returns its own measurement (seconds per step, per gate...),
    so that it can exclude its set-up. Returns ``{name: [one value per timed round]}``
    and, per round, the dict of that round's values (for paired ratios).
    """
    order = list(contenders)
    shuffler = random.Random(seed)
    per_round: list[dict[str, float]] = []
    for round_index in range(warmup + rounds):
        shuffler.shuffle(order)
        values = {name: contenders[name]() for name in order}
        if round_index >= warmup:
            per_round.append(values)
    samples = {name: [values[name] for values in per_round] for name in contenders}
    return samples, per_round


# CPU time of this process, not wall time: on a machine shared with other jobs the process waits for a core
# now and then, and wall time would count the waits. With one BLAS thread the work is this process's own.
clock = time.process_time


def time_steps(step: Callable[[], object], steps: int) -> float:
    """Seconds per call of ``step``, over ``steps`` calls."""
    start = clock()
    for _ in range(steps):
        step()
    return (clock() - start) / steps


def state_dict(weights: list[np.ndarray], biases: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Weights and biases by the names models.MLP gives them: W1, b1, W2, ..."""
    return {f"W{i}": w for i, w in enumerate(weights, 1)} | {f"b{i}": b for i, b in enumerate(biases, 1)}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


class Row:
    """One line of the table: a measured ratio next to its target, and its JSON line."""

    def __init__(self, row: str, work: str, measure: str, target: str, limit: float | None, strict: bool = False):
        self.row, self.work, self.measure, self.target = row, work, measure, target
        self.limit, self.strict = limit, strict

    def ratio(self, samples, per_round, numerator: str, denominator: str, unit: str = "s", **extra) -> dict:
        """The ratio of medians of two contenders' samples, with the spread of the per-round ratios."""
        top, bottom = statistics.median(samples[numerator]), statistics.median(samples[denominator])
        paired = [values[numerator] / values[denominator] for values in per_round]
        return self.record(
            top / bottom,
            numerator={"name": numerator, "median": top, "unit": unit, **_spread(samples[numerator])},
            denominator={"name": denominator, "median": bottom, "unit": unit, **_spread(samples[denominator])},
            paired_median=statistics.median(paired),
            paired_p10=percentile(paired, 10),
            paired_p90=percentile(paired, 90),
            rounds=len(per_round),
            **extra,
        )

    def record(self, ratio: float | None, **details) -> dict:
        if ratio is None or self.limit is None:
            met = None  # skipped, or a figure shown for information
        else:
            met = ratio < self.limit if self.strict else ratio <= self.limit
        return {
            "row": self.row,
            "work": self.work,
            "measure": self.measure,
            "target": self.target,
            "ratio": ratio,
            "met": met,
            **details,
        }

    def missing(self, why: str) -> dict:
        return self.record(None, skipped=why)


def _medians(record: dict) -> str:
    """``numerator / denominator`` medians in a readable unit (ms for seconds per step, us for seconds per gate)."""
    if "numerator" not in record:
        return ""
    top, bottom = record["numerator"], record["denominator"]
    unit, scale = record["numerator"]["unit"], 1.0
    if unit == "s":
        scale, unit = (1e3, "ms") if bottom["median"] > 1e-4 else (1e6, "us")
        if bottom["median"] > 0.5:
            scale, unit = 1.0, "s"
    return f"{top['median'] * scale:.4g} / {bottom['median'] * scale:.4g} {unit}"


def _spread(values: list[float]) -> dict:
    return {"p10": percentile(values, 10), "p90": percentile(values, 90), "n": len(values)}


@functools.cache
def machine() -> dict:
    """What the figures were measured on."""
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    info["blas"] = blas_libraries()
    torch = load_torch()
    info["torch"] = torch.__version__ if torch is not None else None
    return info


def blas_libraries() -> list[dict]:
    """The BLAS libraries loaded, their kernel (``architecture``) and thread count, from threadpoolctl."""
    try:
        import threadpoolctl
    except ImportError:
        return [{"error": "threadpoolctl not installed"}]
    return [
        {key: library.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
        for library in threadpoolctl.threadpool_info()
    ]


def blas_summary() -> str:
    """One line: each BLAS library with its kernel and thread count."""
    return ", ".join(
        f"{lib.get('internal_api')} {lib.get('version')} kernel {lib.get('architecture')}, "
        f"{lib.get('num_threads')} thread(s)"
        if "error" not in lib
        else lib["error"]
        for lib in machine()["blas"]
    )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(records: list[dict], json_path: Path | None) -> None:
    """Print one JSON line per record (also appended to ``json_path``) and the short table."""
    lines = [json.dumps({**record, "machine": machine()}, default=float) for record in records]
    for line in lines:
        print(line)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        with json_path.open("a") as file:
            file.write("\n".join(lines) + "\n")
    print()
    print(table(records))
    sys.stdout.flush()


def table(records: list[dict]) -> str:
    """A fixed-width table: row, work, measure, measured ratio (spread), target, met."""
    header = ("row", "work", "measure", "measured", "p10-p90", "medians", "target", "")
    rows = []
    for record in records:
        if record["ratio"] is None:
            measured, spread, medians, verdict = record.get("skipped", "skipped"), "", "", ""
        else:
            measured = f"{record['ratio']:.3g}"
            spread = f"{record['paired_p10']:.3g}-{record['paired_p90']:.3g}" if "paired_p10" in record else ""
            medians = _medians(record)
            verdict = {True: "ok", False: "MISSED", None: ""}[record["met"]]
        rows.append(
            (record["row"], record["work"], record["measure"], measured, spread, medians, record["target"], verdict)
        )
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in (header, *rows))
