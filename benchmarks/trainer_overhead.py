"""The Trainer's overhead over a bare loop of the same engine calls (issue 3: under 5%).

Both sides train the same network from the same weights on the same batches (same seed, same
Batches), float32, in lean mode, with the same engine calls (``net.loss`` → ``net.backward`` →
``opt.step``), on the same BLAS threads (the Trainer's, backprop_tui/blas.py). The Trainer adds
what the headless command runs: NaN/Inf checks, running metrics, events, and the rich progress
reporter drawing to a real (null) console. The test-set evaluation at the end of an epoch is
excluded from both (it is reported separately, as ``eval``).

The two take turns, one epoch each, ``--rounds`` times; the median ratio is printed.

    python benchmarks/trainer_overhead.py                  # mnist-mlp, 5 rounds
    python benchmarks/trainer_overhead.py --scenario mnist-cnn --rounds 3
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from rich.console import Console

from backprop_tui.blas import threads_for
from backprop_tui.engine.batches import Batches
from backprop_tui.progress import RichReporter
from backprop_tui.scenario import load_scenario
from backprop_tui.training import EpochEnd, Trainer


def bare_epoch(sc, data) -> float:
    net = sc.build_network(sc.train.seed, sc.train.dtype)
    opt = sc.build_optimizer()
    x, t = data[0], data[1]
    batches = Batches(x, t, sc.train.batch_size, sc.rng(sc.train.seed, "shuffle"))
    net.train(True)
    t0 = time.perf_counter()
    with net.lean(), threads_for("train"):  # the Trainer's BLAS threads (blas.py)
        for xb, tb in batches.epoch_batches():
            net.loss(xb, tb)
            net.backward(need_input_grad=False)
            opt.step(net)
    return time.perf_counter() - t0


def trainer_epoch(sc, data) -> tuple[float, float]:
    trainer = Trainer(sc.with_train(epochs=1), data=data)
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    reporter = RichReporter(1, console)
    evals = []

    def on_event(e):
        if isinstance(e, EpochEnd):
            evals.append(e.metrics.eval_seconds)
        reporter(e)

    t0 = time.perf_counter()
    trainer.run(on_event=on_event)
    total = time.perf_counter() - t0
    reporter.close()
    return total - evals[0], evals[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="mnist-mlp")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    data = sc.load_data(dtype=sc.train.dtype)
    bare_epoch(sc, data)  # warm up caches and BLAS
    bare, trained, evals = [], [], []
    for r in range(args.rounds):
        b = bare_epoch(sc, data)
        tr, ev = trainer_epoch(sc, data)
        bare.append(b)
        trained.append(tr)
        evals.append(ev)
        print(f"round {r + 1}: bare {b:.3f} s · trainer {tr:.3f} s (+ eval {ev:.3f} s) · "
              f"ratio {tr / b:.3f}", flush=True)
    ratios = [t / b for t, b in zip(trained, bare, strict=True)]
    print(f"{args.scenario}: median bare {statistics.median(bare):.3f} s/epoch, trainer "
          f"{statistics.median(trained):.3f} s/epoch → overhead "
          f"{100 * (statistics.median(ratios) - 1):+.1f}% (median of {args.rounds} paired "
          f"rounds; min ratio {min(ratios):.3f}, max {max(ratios):.3f}); test evaluation "
          f"{statistics.median(evals):.3f} s/epoch on top. numpy {np.__version__}")


if __name__ == "__main__":
    main()
