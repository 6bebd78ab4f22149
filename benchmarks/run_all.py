"""Run every benchmark row, each script in its own process, and print the table: ``make bench``.

Each script appends its JSON lines to one file under benchmarks/results/
(``bench-<UTC time>.jsonl``); the table at the end is read back from it.

    .venv/bin/python benchmarks/run_all.py            # all rows, about 2 minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import common  # first: one BLAS thread

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "training_step.py",
    "scalar_graph.py",
    "build_plan.py",
    "mnist_memory.py",
    "mnist_epoch.py",
    "conv_step.py",
    "hvp.py",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds in every script")
    parser.add_argument("--only", nargs="*", default=SCRIPTS, help="scripts to run (default: all)")
    args = parser.parse_args()
    path = common.RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    failed = []
    for script in args.only:
        print(f"== {script}", flush=True)
        command = [sys.executable, str(HERE / script), "--json", str(path)] + (["--quick"] if args.quick else [])
        script_start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL)
        print(f"   {time.perf_counter() - script_start:.0f} s", flush=True)
        if done.returncode:
            failed.append(script)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    info = common.machine()
    goals = sorted((r for r in records if r["row"] != "info"), key=lambda r: int(r["row"]))
    print()
    print("Goals (issue 13's rows 1-6, the README's older rows 7-10, issue 16's conv step 11, issue 15's hvp 12):")
    print(common.table(goals))
    print()
    print("For information:")
    print(common.table([r for r in records if r["row"] == "info"]))
    print()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, numpy {info['numpy']}, "
        f"torch {info['torch'] or 'not installed'}; BLAS: {common.blas_summary()}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print(f"JSON lines: {path}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
