"""What network health costs the trainer (engine/health.py, its HealthTracker).

    PYTHONPATH=. .venv/bin/python benchmarks/health_cost.py [--scenario xor] [--iterations N]
        [--repeat 5] [--dashboard]
    PYTHONPATH=DIR .venv/bin/python benchmarks/health_cost.py --off-only   # any checkout

Alternating runs on fresh Trainers (same seed, no run folder), medians printed:

* ``off``: ``Trainer.health`` unset — what every run without ``--health`` pays (``--off-only``
  runs just this, importing nothing new, so the same command measures a checkout from before
  health existed: run it with PYTHONPATH at each and compare);
* ``--health``: the headless command's tracker, a report at every epoch's last batch (every
  k-th epoch of the scenario's, k = ⌈epochs/100⌉) and after iteration 1;
* ``dashboard``: the dashboard's tracker, a report at most every 0.25 s;
* with ``--dashboard``: the live dashboard (benchmarks/dashboard_speed.py) with the health
  pane hidden and shown.
"""

from __future__ import annotations

import argparse
import statistics
import time

from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer


def timed(scenario: str, iterations: int, tracker=None) -> float:
    sc = load_scenario(scenario)
    tr = Trainer(sc.with_train(epochs=10**6), out_dir=None)  # the run must not end before
    if tracker is not None:
        tr.health = tracker(tr, sc.train.epochs)  # as the scenario's own run would
    t0 = time.perf_counter()
    tr.run(max_iterations=iterations)
    return iterations / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="xor")
    ap.add_argument("--iterations", type=int, default=None,
                    help="default: 20,000 for xor, 1,200 otherwise")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--off-only", action="store_true")
    ap.add_argument("--dashboard", action="store_true")
    args = ap.parse_args()
    n = args.iterations or (20_000 if args.scenario == "xor" else 1_200)
    modes: dict[str, object] = {"off": None}
    if not args.off_only:
        from backprop_tui.engine.health import HealthTracker
        from backprop_tui.healthrun import epochs_between
        from backprop_tui.tui.screens.dashboard import HEALTH_EVERY

        modes["--health"] = lambda tr, epochs: HealthTracker(
            every=tr.batches_per_epoch * epochs_between(epochs), keep=True)
        modes["dashboard"] = lambda tr, epochs: HealthTracker(seconds=HEALTH_EVERY)
    runs: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(args.repeat):
        for m, tracker in modes.items():
            runs[m].append(timed(args.scenario, n, tracker))
    print(f"{args.scenario}, {n} iterations, median of {args.repeat} alternating runs")
    off = statistics.median(runs["off"])
    for m, rs in runs.items():
        med = statistics.median(rs)
        print(f"  {m:10} {med:12,.0f} iterations/s  ({med / off:.3f} of off; runs "
              f"{min(rs):,.0f} … {max(rs):,.0f})")
    if args.dashboard:
        from dashboard_speed import dashboard

        from backprop_tui.blas import threads_for

        dash: dict[str, list[float]] = {"pane hidden": [], "pane shown": []}
        with threads_for("dashboard"):
            for _ in range(args.repeat):
                for m in dash:
                    dash[m].append(dashboard(args.scenario, n, (120, 40),
                                             health=m == "pane shown")["samples/s"])
        hidden = statistics.median(dash["pane hidden"])
        for m, rs in dash.items():
            med = statistics.median(rs)
            print(f"  dashboard, {m}: {med:,.0f} samples/s ({med / hidden:.3f} of hidden; runs "
                  f"{min(rs):,.0f} … {max(rs):,.0f})")


if __name__ == "__main__":
    main()
