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
