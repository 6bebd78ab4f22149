"""Row 8: building and planning a scalar graph of 100,000 gates, against networkx alone.

Ours: a ComputationalGraph built with operator sugar (the expression of
benchmarks/scalar_graph.py), then planned. Planning happens on the first
forward and the first backward, so it is measured as the first
forward + backward minus a rerun of them on the cached plan. It includes
our own networkx work: the graph's DiGraph (``g.dag``), built when the
first plan is made, and networkx's topological sort of it, which orders
every plan (graph/plan.py).

networkx's own cost: a ``DiGraph`` with the same node names and the same
edges (each carrying its argument positions, as ours do), then
``list(nx.topological_sort(...))``. Both run with the garbage collector on,
as a user has it; each round starts from a collected heap. Ours frees the
DiGraph it sorted within its time (graph/builder.py); networkx's is left to
the collector after its time.

The second figure is our growth from 10,000 to 100,000 gates (10x is linear).
For information, ours with the collector off during the whole build, at
100,000 gates and as growth. With it on, CPython runs a full collection
every 90,000 or so objects allocated (and kept): at three objects a gate (the
node, its gate, its inputs' tuple) the 10,000-gate build sees none and the
100,000-gate build three, at 31,000, 62,000 and 93,000 gates, each over the
whole graph built so far.

    .venv/bin/python benchmarks/build_plan.py [--quick]
"""

from __future__ import annotations

import gc
import statistics

import common  # first: one BLAS thread
import networkx as nx
from scalar_graph import INPUTS, build_graph, input_values, structure

SIZES = (10_000, 100_000)


def ours(gates_list, feeds, collector: bool = True) -> float:
    """Seconds to build the graph and plan its forward and backward (``collector``: gc on or off)."""
    gc.collect()
    if not collector:
        gc.disable()
    start = common.clock()
    g = build_graph(gates_list)
    built = common.clock()
    g.forward(feeds)
    g.backward()
    first = common.clock()
    reruns = []
    for _ in range(2):
        again = common.clock()
        g.forward(feeds)
        g.backward()
        reruns.append(common.clock() - again)
    gc.enable()
    planning = max(first - built - min(reruns), 0.0)
    return (built - start) + planning


def networkx_alone(gates_list) -> float:
    """Seconds for networkx to build the same DiGraph and sort it."""
    gc.collect()
    start = common.clock()
    dag = nx.DiGraph()
    names = [f"x{i}" for i in range(INPUTS)]
    for name in names:
        dag.add_node(name)
    for k, (op, first, second) in enumerate(gates_list):
        name = f"{op}_{k}"
        names.append(name)
        dag.add_node(name)
        dag.add_edge(names[first], name, args=(0,))
        if second is not None:
            if dag.has_edge(names[second], name):
                dag.edges[names[second], name]["args"] += (1,)
            else:
                dag.add_edge(names[second], name, args=(1,))
    list(nx.topological_sort(dag))
    return common.clock() - start


ROW8 = common.Row("8", "build + plan 100k gates", "time / networkx build + sort", "<= 1.8", 1.8)
GROWTH = common.Row("8", "build + plan 10k -> 100k gates", "time growth", "<= 11x", 11.0)


def measure(args) -> list[dict]:
    values = input_values()
    feeds = {f"x{i}": v for i, v in enumerate(values)}
    structures = {n: structure(n) for n in SIZES}
    runs = {}
    for n in SIZES:
        runs[f"graph_{n}"] = lambda n=n: ours(structures[n], feeds)
        runs[f"networkx_{n}"] = lambda n=n: networkx_alone(structures[n])
    for n in SIZES:
        runs[f"graph_gc_off_{n}"] = lambda n=n: ours(structures[n], feeds, collector=False)
    samples, per_round = common.interleaved(runs, args.rounds, args.warmup)
    big, small = SIZES[-1], SIZES[0]
    records = [
        ROW8.ratio(samples, per_round, f"graph_{big}", f"networkx_{big}", gates=big),
        GROWTH.ratio(samples, per_round, f"graph_{big}", f"graph_{small}"),
        common.Row("info", "build + plan 10k gates", "time / networkx build + sort", "-", None).ratio(
            samples, per_round, f"graph_{small}", f"networkx_{small}", gates=small
        ),
        common.Row("info", "networkx 10k -> 100k gates", "time growth", "-", None).ratio(
            samples, per_round, f"networkx_{big}", f"networkx_{small}"
        ),
        common.Row("info", "build + plan 100k gates, our gc off", "time / networkx build + sort", "-", None).ratio(
            samples, per_round, f"graph_gc_off_{big}", f"networkx_{big}", gates=big
        ),
        common.Row("info", "build + plan 10k -> 100k gates, our gc off", "time growth", "-", None).ratio(
            samples, per_round, f"graph_gc_off_{big}", f"graph_gc_off_{small}"
        ),
    ]
    for n in SIZES:
        for who in ("graph", "networkx"):
            records.append(
                common.Row("info", f"{who} build + plan {n // 1000}k gates", "us per gate", "-", None).record(
                    statistics.median(samples[f"{who}_{n}"]) / n * 1e6
                )
            )
    return records


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=3, warmup=1)
    common.report(measure(args), args.json)


if __name__ == "__main__":
    main()
