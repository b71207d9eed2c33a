"""Headless training output: rich progress bars on a terminal, plain lines otherwise.

Both reporters consume the :mod:`training` events; neither knows how training works. A NaN/Inf
stop is reported once, by the command, on stderr.
"""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .safetext import printable
from .training import BatchEnd, CheckpointSaved, EpochEnd, EpochStart, Event


def epoch_line(e: EpochEnd, epochs: int) -> str:
    m = e.metrics
    width = len(str(epochs))
    best = "  best" if e.best else ""
    return (
        f"epoch {m.epoch:>{width}}/{epochs}  train loss {m.train_loss:.4f}  "
        f"train acc {100 * m.train_accuracy:6.2f}%  test acc {100 * m.test_accuracy:6.2f}%  "
        f"{m.seconds:6.2f} s  ({m.samples_per_second:,.0f} samples/s, eval "
        f"{m.eval_seconds:.2f} s){best}"
    )


class PlainReporter:
    """One line per epoch — for pipes, files and CI logs."""

    def __init__(self, epochs: int, stream: TextIO, verbose_checkpoints: bool = False) -> None:
        self.epochs = epochs
        self.stream = stream
        self.verbose_checkpoints = verbose_checkpoints

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpochEnd):
            print(epoch_line(event, self.epochs), file=self.stream, flush=True)
        elif isinstance(event, CheckpointSaved) and self.verbose_checkpoints:
            print(f"saved {event.kind} {event.path}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichReporter:
    """A progress bar per epoch (batches, samples/s, running loss, ETA) and a summary line."""

    REFRESH = 0.5  # seconds between redraws (a redraw costs ~1.5 ms of training time)

    def __init__(self, epochs: int, console: Console) -> None:
        self.epochs = epochs
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("batches"),
            TextColumn("{task.fields[rate]:>8} samples/s"),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            # Redrawn from the training thread, at most every REFRESH seconds: a background
            # refresh thread competed with training for the GIL (~2% of an mnist-mlp epoch).
            auto_refresh=False,
        )
        self.task: TaskID | None = None
        self._last = 0.0
        self.progress.start()

    def __call__(self, event: Event) -> None:
        p = self.progress
        if isinstance(event, EpochStart):
            if self.task is not None:
                p.remove_task(self.task)
            self.task = p.add_task("", total=event.batches, completed=event.start_batch,
                                   epoch=event.epoch, epochs=event.epochs, rate="—", loss="—")
            self._last = 0.0  # the first batch of the epoch draws the bar
        elif isinstance(event, BatchEnd) and self.task is not None:
            now = time.monotonic()
            if now - self._last < self.REFRESH and event.batch < event.batches:
                return
            self._last = now
            rate = f"{event.samples / event.seconds:,.0f}" if event.seconds else "—"
            p.update(self.task, completed=event.batch, rate=rate,
                     loss=f"{event.running_loss:.4f}")
            p.refresh()
        elif isinstance(event, EpochEnd):
            if self.task is not None:
                p.remove_task(self.task)
                self.task = None
            style = "green" if event.best else ""
            self.console.print(epoch_line(event, self.epochs), style=style, highlight=False)

    def close(self) -> None:
        self.progress.stop()


# -- experiments (several runs) -------------------------------------------------------------------
def run_progress(run) -> tuple[float, float]:
    """``(done, total)`` of one experiment run: its iterations or epochs so far (the last x of
    its curves) of those it plans; ``(0, 1)`` for a run without a count (forward only, paths)."""
    total = float(run.settings.get("iterations") or run.settings.get("epochs") or 0)
    if not total:
        return (1.0 if run.status == "done" else 0.0), 1.0
    done = max((c.x[-1] for c in run.curves.values() if c.x), default=0.0)
    return min(done, total), total


def run_line(result, index: int) -> str:
    """``run 3/32  batch norm, w=0.1  done in 0.41 s  train_acc 0.93`` (the run's last value of
    each of the experiment's metrics)."""
    run = result.runs[index]
    n = len(result.runs)
    values = "  ".join(f"{m} {run.last(m):.4g}" for m in result.metrics if m in run.curves)
    return (f"run {index + 1:>{len(str(n))}}/{n}  {run.name}  {run.status}{run.diverged} in "
            f"{run.seconds:.2f} s{f'  {values}' if values else ''}")


class ExperimentLines:
    """One line per finished or stopped run — for pipes, files and CI logs."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._seen: dict[int, str] | None = None  #: each run's status at the last update

    def ended(self, result) -> list[int]:
        """The runs that finished or stopped since the last update. A run already stopped at
        the first update is one a resume continues: its line comes when it ends again (with
        its real end), not its stale "stopped" of before."""
        first = self._seen is None
        seen = self._seen if self._seen is not None else {}
        out = [i for i, run in enumerate(result.runs)
               if run.status in ("done", "stopped") and seen.get(i) != run.status
               and not (first and run.status == "stopped")]
        self._seen = {i: run.status for i, run in enumerate(result.runs)}
        return out

    def __call__(self, result) -> None:
        for i in self.ended(result):
            print(run_line(result, i), file=self.stream, flush=True)

    def close(self) -> None:
        pass


class ExperimentBars(ExperimentLines):
    """A bar over the runs and one over the current run's iterations or epochs; each finished
    run's line printed above them."""

    def __init__(self, console: Console) -> None:
        super().__init__(console.file)
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True, auto_refresh=False)
        self.runs: TaskID | None = None
        self.current: TaskID | None = None
        self.progress.start()

    def __call__(self, result) -> None:
        p = self.progress
        for i in self.ended(result):
            self.console.print(run_line(result, i), highlight=False, markup=False)
        finished = sum(run.status == "done" for run in result.runs)
        if self.runs is None:
            self.runs = p.add_task("runs", total=len(result.runs))
            self.current = p.add_task("", total=1)
        p.update(self.runs, completed=finished)
        # the run in progress, else the last one that ran (a quick run ends between updates)
        shown = next((r for r in result.runs if r.status == "running"), None) or next(
            (r for r in reversed(result.runs) if r.status in ("done", "stopped")), None)
        if shown is not None:
            done, total = run_progress(shown)
            p.update(self.current, description=printable(shown.name), completed=done,
                     total=total)
        p.refresh()

    def close(self) -> None:
        self.progress.stop()
