"""Graph speed: what the graph debugger and the graph check cost on the largest built-in graph.

* one step back (restore the start and replay every step before: ``GraphWalk.back``) at the end
  of the ``mlp`` scenario's pass (600 steps, the worst case), median of ``--repeat`` calls;
* one step of the pass, median over the whole pass;
* the node-by-node gradient check of every node (``gradcheck_graph``), median of 5.

Run from the repository root::

    .venv/bin/python benchmarks/graph_speed.py [--graph mlp] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backprop_tui.engine.graphcheck import gradcheck_graph  # noqa: E402
from backprop_tui.engine.graphstep import GraphWalk  # noqa: E402
from backprop_tui.graphfile import load_graph_scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", default="mlp")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    graph = load_graph_scenario(args.graph).build()
    walk = GraphWalk(graph)
    steps = []
    while walk.next_step is not None:
        t0 = time.perf_counter()
        walk.step()
        steps.append(time.perf_counter() - t0)
    backs = []
    for _ in range(args.repeat):
        walk.goto(walk.total)
        t0 = time.perf_counter()
        walk.back()
        backs.append(time.perf_counter() - t0)
    checks = []
    for _ in range(5):
        t0 = time.perf_counter()
        report = gradcheck_graph(graph)
        checks.append(time.perf_counter() - t0)
    print(f"{args.graph}: {len(graph.nodes)} nodes, {walk.total} steps")
    print(f"  step:       median {1e6 * statistics.median(steps):.0f} µs")
    print(f"  step back:  median {1e3 * statistics.median(backs):.1f} ms (replay of "
          f"{walk.total - 1} steps)")
    print(f"  gradcheck:  median {1e3 * statistics.median(checks):.0f} ms, "
          f"{report.evaluations:,} evaluations, {'passed' if report.passed else 'FAILED'}")


if __name__ == "__main__":
    main()
