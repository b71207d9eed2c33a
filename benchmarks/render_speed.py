"""How long the pure drawing functions of ``backprop_tui.tui.render`` take (building the rich
``Text``; the terminal paint is Textual's). The debugger's whole step budget is 50 ms p95.

    PYTHONPATH=. .venv/bin/python benchmarks/render_speed.py

Prints the median and 95th percentile of ``--repeat`` runs per case, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable

import numpy as np

from backprop_tui.tui import render as R


def cases() -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    a2 = rng.normal(size=(32, 200))
    act = np.maximum(rng.normal(size=(32, 30, 24, 24)), 0)
    img = rng.random((28, 28))
    filters = rng.normal(size=(30, 5, 5))
    mask = rng.random((32, 30, 24, 24)) > 0.5
    losses = np.cumsum(rng.normal(size=5000))
    small = rng.normal(size=(32, 20))
    labels = dict(row_labels=[f"n={i}" for i in range(32)],
                  col_labels=[f"j={j}" for j in range(20)])
    return {
        "heatmap 32×200": lambda: R.heatmap(a2),
        "layout+heatmap (32,30,24,24) in 80×20 cells": lambda: R.heatmap(
            R.layout(act, max_rows=20, max_cols=80)),
        "layout+heatmap (32,30,24,24) in 40×20 cells": lambda: R.heatmap(
            R.layout(act, max_rows=20, max_cols=40)),
        "layout+bitmap bool (32,30,24,24) in 80×20": lambda: R.bitmap(
            R.layout(mask, max_rows=20, max_cols=80)),
        "halfblock 28×28": lambda: R.halfblock(img),
        "image_grid 30 filters 5×5": lambda: R.image_grid(filters, cols=10),
        "tensor_stats (32,30,24,24)": lambda: R.tensor_stats(act),
        "sparkline 5000 → 60": lambda: R.sparkline(losses, 60),
        "numbers 32×20 (labels, cursor)": lambda: R.numbers(small, cursor=(3, 4), **labels),
        "numbers_widths 32×20": lambda: R.numbers_widths(small),
        "numbers 4×6 (xor)": lambda: R.numbers(small[:4, :6], cursor=(0, 0)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    for name, fn in cases().items():
        fn()  # warm the style caches
        times = [1e3 * t for t in timeit.repeat(fn, number=1, repeat=args.repeat)]
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"{name:48s} median {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
