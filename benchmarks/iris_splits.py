"""How much iris test accuracy depends on which 30 flowers are held out.

Trains the built-in `iris` scenario (its own settings) once per split seed and prints train and
test accuracy for each, then min / median / max of the test accuracy.

    python benchmarks/iris_splits.py            # split seeds 0–9
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="split seeds 0…N-1")
    args = ap.parse_args()
    base = load_scenario("iris")
    tests = []
    for seed in range(args.seeds):
        sc = dataclasses.replace(base, data=dataclasses.replace(base.data, split_seed=seed))
        trainer = Trainer(sc)
        last = trainer.run().history[-1]
        tests.append(last.test_accuracy)
        print(f"split_seed {seed}: train {100 * last.train_accuracy:6.2f}%  "
              f"test {100 * last.test_accuracy:6.2f}% ({round(30 * last.test_accuracy)}/30)")
    print(f"test accuracy over {args.seeds} splits: min {100 * min(tests):.1f}%, median "
          f"{100 * statistics.median(tests):.1f}%, max {100 * max(tests):.1f}%")


if __name__ == "__main__":
    main()
