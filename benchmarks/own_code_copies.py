"""What handing users' layers copies costs: a book-style network, trained iteration by
iteration, with the copies (as the tool does) and without (what the built-in layers get).

Users' forward/backward may write into the arrays they receive (the book's ``Relu.backward``
zeroes its ``dout``), so ``Network.forward_layer``/``backward_layer`` hand such layers copies.
This measures the price on an MNIST-sized book TwoLayerNet (784-100-10, batch 100, float64),
alternating the two settings so that load from other processes hits both.

Run from the repository root::

    .venv/bin/python benchmarks/own_code_copies.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from own_code import book_style as B  # noqa: E402

import backprop_tui as bt  # noqa: E402
from backprop_tui.engine.book import BookLayer, BookLoss  # noqa: E402


def main() -> None:
    np.random.seed(0)  # noqa: NPY002 - the book initialises from the global generator
    net = bt.from_book(B.TwoLayerNet(784, 100, 10, weight_init_std=0.01))
    rng = np.random.default_rng(0)
    x, t = rng.random((100, 784)), rng.integers(0, 10, 100)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(30):
        for copies in (True, False):
            BookLayer.writes_inputs = BookLoss.writes_inputs = copies
            t0 = time.perf_counter()
            for _ in range(20):
                net.loss(x, t)
                net.backward(need_input_grad=False)
            times[copies].append((time.perf_counter() - t0) / 20)
    BookLayer.writes_inputs = BookLoss.writes_inputs = True
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    q = {k: (np.percentile(v, 10) * 1e3, np.percentile(v, 90) * 1e3) for k, v in times.items()}
    print("book TwoLayerNet 784-100-10, batch 100, float64: one iteration (forward + backward)")
    for k, label in ((False, "without copies"), (True, "with copies   ")):
        print(f"  {label} median {med[k]:.3f} ms  (p10 {q[k][0]:.3f}, p90 {q[k][1]:.3f})")
    print(f"  copies cost {100 * (med[True] / med[False] - 1):+.1f}% (median over 30 turns)")


if __name__ == "__main__":
    main()
