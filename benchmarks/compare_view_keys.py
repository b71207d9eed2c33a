"""Does the compare view answer keys while an experiment runs? The time from a key arriving to
the chart pane redrawn for it, while an experiment runs in the view's worker.

    PYTHONPATH=. .venv/bin/python benchmarks/compare_view_keys.py [--experiment
        optimizer-compare] [--size 120x40]

The experiment runs in its --quick form in Textual's headless driver (every frame composed and
rendered as in a terminal); ``tab`` (next chart) is sent every 0.1 s as a key event, and the
time until its action has run — the chart pane redrawn for the next chart — is measured, until
the experiment is done. Prints the median, 90th percentile and maximum, and how many times the
view redrew itself (at most 10 a second: it takes the worker's newest result on a 0.1 s timer).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_tui_fuzz import send_keys  # noqa: E402

from backprop_tui.blas import threads_for  # noqa: E402
from backprop_tui.tui.app import DARK, BackpropApp  # noqa: E402
from backprop_tui.tui.screens.compare import CompareScreen  # noqa: E402


async def measure(name: str, size: tuple[int, int], out: Path) -> tuple[list[float], int]:
    screen = CompareScreen(name, out, quick=True)
    app = BackpropApp("screen", screen=lambda: screen, theme=DARK)
    waits: list[float] = []
    handled: list[float] = []
    next_chart = screen.action_next_chart

    def timed() -> None:  # the key's action: the chart pane is redrawn inside it
        next_chart()
        handled.append(time.perf_counter())

    screen.action_next_chart = timed  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        while screen.state not in ("done", "error"):
            n = len(handled)
            t = time.perf_counter()
            send_keys(app, ["tab"])
            while len(handled) == n and time.perf_counter() - t < 30:
                await asyncio.sleep(0.002)
            waits.append((handled[-1] if len(handled) > n else time.perf_counter()) - t)
            await asyncio.sleep(0.1)
        await pilot.press("q")
    return waits, screen.redraws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--experiment", default="optimizer-compare")
    ap.add_argument("--size", default="120x40")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp, threads_for("dashboard"):
        t0 = time.perf_counter()
        waits, redraws = asyncio.run(measure(args.experiment, (w, h), Path(tmp) / "run"))
        took = time.perf_counter() - t0
    ms = sorted(1000 * x for x in waits)
    print(f"{args.experiment} --quick in the compare view ({args.size}): {len(ms)} keys in "
          f"{took:.1f} s; key → chart redrawn: median {statistics.median(ms):.0f} ms, "
          f"p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms; {redraws} redraws "
          f"({redraws / took:.1f}/s)")


if __name__ == "__main__":
    main()
