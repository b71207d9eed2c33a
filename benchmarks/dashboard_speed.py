"""What the live training dashboard costs: samples/s of the same Trainer headless and under the
dashboard, its repaint rate, and the CPU time of the UI thread.

    PYTHONPATH=. .venv/bin/python benchmarks/dashboard_speed.py [--scenario mnist-mlp]
        [--iterations 1200] [--repeat 3] [--size 120x40]

Each repeat runs the headless loop, then the dashboard (Textual's headless driver at the given
size: every frame is composed and rendered as in a terminal, only the final write is skipped),
on a fresh Trainer with the same seed, for the same number of iterations, with a run folder
(checkpoints and metrics.csv written as usual). The runs alternate so that a busy machine slows
both alike; the medians are printed. Both run on the tool's BLAS threads (backprop_tui/blas.py:
the trainer's, and the dashboard's around the app, as the CLI does); set OPENBLAS_NUM_THREADS
to compare another count.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer
from backprop_tui.tui.app import BackpropApp
from backprop_tui.tui.screens.dashboard import DashboardScreen
from backprop_tui.tui.widgets.chart import LineChart


def make(scenario: str, iterations: int) -> Trainer:
    sc = load_scenario(scenario)
    tr0 = Trainer(sc, out_dir=None)
    epochs = -(-iterations // tr0.batches_per_epoch) + 1  # the run must not end before
    return Trainer(sc.with_train(epochs=epochs), out_dir=Path(tempfile.mkdtemp()) / "run")


def headless(scenario: str, iterations: int) -> dict[str, float]:
    tr = make(scenario, iterations)
    c0, t0 = time.process_time(), time.perf_counter()
    tr.run(max_iterations=iterations)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    samples = iterations * tr.batches.batch_size
    return {"samples/s": samples / wall, "wall": wall, "cpu": cpu}


def dashboard(scenario: str, iterations: int, size: tuple[int, int], health: bool = False
              ) -> dict[str, float]:
    """``health``: with the health pane shown (h), measured while training."""
    tr = make(scenario, iterations)
    screen = DashboardScreen(tr, autostart=False, pause_at=iterations)
    app = BackpropApp("screen", screen=lambda: screen)
    out: dict[str, float] = {}

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            chart = screen.query_one("#dash-loss", LineChart)
            if health:
                screen.action_health()
            r0, c0 = screen.redraws, chart.renders
            ui0, cpu0, t0 = time.thread_time(), time.process_time(), time.perf_counter()
            screen.pause_at = iterations
            screen.action_toggle_pause()  # start
            while screen.state != "paused":
                await asyncio.sleep(0.01)
            wall = time.perf_counter() - t0
            samples = iterations * tr.batches.batch_size
            out.update({
                "samples/s": samples / wall, "wall": wall,
                "cpu": time.process_time() - cpu0,
                "ui cpu": time.thread_time() - ui0,
                "redraws/s": (screen.redraws - r0) / wall,
                "chart renders/s": (chart.renders - c0) / wall,
            })
            await pilot.press("q")

    asyncio.run(main())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="mnist-mlp")
    ap.add_argument("--iterations", type=int, default=1200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--switch", type=float, default=None,
                    help="sys.setswitchinterval for both runs (Python's default: 0.005 s)")
    args = ap.parse_args()
    if args.switch:
        import sys

        sys.setswitchinterval(args.switch)
    size = tuple(int(v) for v in args.size.split("x"))
    from backprop_tui.blas import chosen_threads, threads_for, user_setting

    runs: dict[str, list[dict[str, float]]] = {"headless": [], "dashboard": []}
    for _ in range(args.repeat):
        runs["headless"].append(headless(args.scenario, args.iterations))
        with threads_for("dashboard"):
            runs["dashboard"].append(dashboard(args.scenario, args.iterations, size))  # type: ignore[arg-type]
    blas = user_setting() or \
        f"training {chosen_threads('train')}, dashboard {chosen_threads('dashboard')}"
    print(f"{args.scenario}, {args.iterations} iterations, median of {args.repeat} "
          f"(alternating runs), dashboard at {args.size}; BLAS threads: {blas}")
    for name, rs in runs.items():
        keys = rs[0].keys()
        med = {k: statistics.median(r[k] for r in rs) for k in keys}
        parts = [f"{med['samples/s']:,.0f} samples/s", f"wall {med['wall']:.2f} s",
                 f"process CPU {med['cpu']:.2f} s"]
        if "ui cpu" in med:
            parts += [f"UI thread CPU {med['ui cpu']:.2f} s "
                      f"({100 * med['ui cpu'] / med['wall']:.1f}% of a core)",
                      f"{med['redraws/s']:.1f} redraws/s",
                      f"{med['chart renders/s']:.1f} chart renders/s"]
        print(f"  {name:9}: " + " · ".join(parts))
    h = statistics.median(r["samples/s"] for r in runs["headless"])
    d = statistics.median(r["samples/s"] for r in runs["dashboard"])
    pairs = sorted(dr["samples/s"] / hr["samples/s"]
                   for hr, dr in zip(runs["headless"], runs["dashboard"], strict=True))
    print(f"  dashboard / headless throughput: {d / h:.3f} (ratio of medians); per pair of "
          f"neighbouring runs {pairs[0]:.2f} … {pairs[-1]:.2f}")


if __name__ == "__main__":
    main()
