"""Accuracy of every trainable built-in scenario against its target (issue 3's table).

Runs the same code path as ``backprop-tui train SCENARIO --headless`` (the Trainer, in-process,
without a run folder) with each scenario's own defaults, and prints a table: final and best test
accuracy, train accuracy, epochs, seconds per epoch, and whether the target is met.

    python benchmarks/accuracy.py                 # every scenario (MNIST ones take minutes)
    python benchmarks/accuracy.py xor iris        # some
    python benchmarks/accuracy.py --json out.json # also write the numbers

Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np

from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer

#: issue 3's targets (test accuracy, final epoch)
TARGETS = {
    "and": 1.0, "or": 1.0, "nand": 1.0, "not": 1.0, "xor": 1.0, "xor-sigmoid": 1.0,
    "iris": 29 / 30,
    "mnist-twolayer": 0.975,
    "mnist-mlp": 0.982,
    "mnist-cnn": 0.990,
}
#: reported for comparison, no target
EXTRA = ["mnist-twolayer-book", "mnist-mlp-book", "mnist-cnn-book"]


def run(name: str) -> dict:
    sc = load_scenario(name)
    t0 = time.perf_counter()
    trainer = Trainer(sc)
    load_s = time.perf_counter() - t0
    result = trainer.run()
    hist = result.history
    last = hist[-1]
    best = max(hist, key=lambda m: m.test_accuracy)
    return {
        "scenario": name,
        "architecture": sc.architecture,
        "optimizer": sc.train.optimizer,
        "lr": sc.train.lr,
        "lr_decay": sc.train.lr_decay,
        "l2": sc.l2,
        "batch_size": sc.train.batch_size,
        "epochs": len(hist),
        "dtype": sc.train.dtype,
        "test_accuracy": last.test_accuracy,
        "best_test_accuracy": best.test_accuracy,
        "best_epoch": best.epoch,
        "train_accuracy": last.train_accuracy,
        "seconds_per_epoch": float(np.mean([m.seconds for m in hist])),
        "total_seconds": time.perf_counter() - t0,
        "load_seconds": load_s,
        "target": TARGETS.get(name),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", help="default: every scenario with a target")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--extra", action="store_true", help="also run the book/seed variants")
    args = ap.parse_args()
    names = args.scenarios or list(TARGETS) + (EXTRA if args.extra else [])
    rows, missed = [], []
    print(f"{'scenario':16} {'test acc':>9} {'best':>9} {'train':>8} {'epochs':>6} "
          f"{'s/epoch':>8} {'target':>8}  verdict")
    for name in names:
        r = run(name)
        rows.append(r)
        target = r["target"]
        ok = target is None or r["test_accuracy"] >= target - 1e-12
        if not ok:
            missed.append(name)
        verdict = "—" if target is None else ("ok" if ok else "MISSED")
        tgt = f"{100 * target:.2f}%" if target is not None else "—"
        print(f"{name:16} {100 * r['test_accuracy']:8.2f}% {100 * r['best_test_accuracy']:8.2f}% "
              f"{100 * r['train_accuracy']:7.2f}% {r['epochs']:6d} {r['seconds_per_epoch']:8.3f} "
              f"{tgt:>8}  {verdict}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": platform.python_version(), "numpy": np.__version__,
                       "machine": platform.machine(), "results": rows}, f, indent=2)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
