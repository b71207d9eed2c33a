"""The training dashboard's picture of a run, folded from the trainer's events, and the text
helpers its panes use (durations, the progress bar). No textual: testable without a terminal.

The dashboard's UI thread drains the worker's events ten times a second and feeds them to a
:class:`RunMonitor` in one call; the monitor keeps bounded series (loss per batch, accuracies
per epoch), the last epochs, the notices for the events pane and the throughput.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text

from ..training import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    EpochMetrics,
    EpochStart,
    Event,
    NonFiniteFound,
    Trainer,
)
from .render.series import SeriesBuffer


@dataclass(frozen=True)
class Notice:
    text: str
    style: str = ""


class Notices(deque):
    """The last notices, and how many were ever added (the events pane redraws on change)."""

    def __init__(self, maxlen: int) -> None:
        super().__init__(maxlen=maxlen)
        self.added = 0

    def append(self, notice: Notice) -> None:
        self.added += 1
        super().append(notice)


class RunMonitor:
    """The dashboard's picture of a run, built from :class:`Trainer` events.

    Call :meth:`feed` with events in the order they were emitted (on one thread), and
    :meth:`mark` with a clock reading to measure the throughput. Bounded memory: the loss per
    batch is kept in a :class:`SeriesBuffer`, the epoch table in the last 64 epochs.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.epochs = trainer.epochs
        self.batches = trainer.batches_per_epoch
        self.batch_size = trainer.batches.batch_size
        self.n_train = len(trainer.x_train)
        self.iteration = trainer.iteration
        self.epochs_done = trainer.epochs_done
        self.epoch = min(trainer.epochs_done + 1, max(self.epochs, 1))
        in_epoch = not trainer.batches.epoch_done and trainer.batches.position > 0
        self.batch = trainer.batches.position if in_epoch else 0
        self.loss = SeriesBuffer(4096)  #: loss per batch, x = iteration
        self.test_loss = SeriesBuffer(2048)  #: x = iteration at the end of the epoch
        self.train_acc = SeriesBuffer(2048)  #: %, x = epoch
        self.test_acc = SeriesBuffer(2048)
        self.recent: deque[tuple[EpochMetrics, bool]] = deque(maxlen=64)
        self.best: EpochMetrics | None = None
        self.last_loss: float | None = None
        self.running_loss: float | None = None
        self.notices = Notices(100)
        self.nonfinite: NonFiniteFound | None = None
        self.samples = 0  #: samples trained while this monitor watched
        self.eval_seconds: deque[float] = deque(maxlen=5)
        self._marks: deque[tuple[float, int]] = deque()
        for m in trainer.history:
            best = self.best is None or m.test_accuracy > self.best.test_accuracy
            self.recent.append((m, best))
            if best:
                self.best = m
            self.epochs_done = m.epoch
        self._epoch_series(list(trainer.history))

    @property
    def total_iterations(self) -> int:
        return self.epochs * self.batches

    def feed(self, events: Iterable[Event]) -> bool:
        """Fold ``events`` in; True if anything changed. The series grow once per call (xor
        sends ~20 000 events a second: the loop stays lean)."""
        xs: list[float] = []
        ys: list[float] = []
        ends: list[EpochMetrics] = []
        changed = False
        started = False  # an EpochStart came after the last BatchEnd
        bs, n_train = self.batch_size, self.n_train
        for e in events:
            changed = True
            kind = type(e)
            if kind is BatchEnd:
                xs.append(e.iteration)
                ys.append(e.loss)
                self.samples += min(bs, n_train - (e.batch - 1) * bs)
                last = e
                started = False
            elif kind is EpochStart:
                self.epoch, self.batches, self.batch = e.epoch, e.batches, e.start_batch
                self.epochs = e.epochs
                started = True
            elif kind is EpochEnd:
                m = e.metrics
                ends.append(m)
                self.recent.append((m, e.best))
                self.epochs_done = m.epoch
                self.eval_seconds.append(m.eval_seconds)
                if e.best:
                    if self.best is not None:
                        self.notices.append(Notice(
                            f"epoch {m.epoch}: best test accuracy so far, "
                            f"{100 * m.test_accuracy:.2f}%", "green"))
                    self.best = m
            elif kind is CheckpointSaved:
                self.notices.append(Notice(f"saved {e.path.name} (epoch {e.epoch})"))
            elif kind is NonFiniteFound:
                self.nonfinite = e
                self.notices.append(Notice(f"stopped: {e.message()}", "bold red"))
        if xs:
            self.loss.extend(xs, ys)
            self.iteration = last.iteration
            self.last_loss, self.running_loss = last.loss, last.running_loss
            if not started:
                self.epoch, self.batch, self.batches = last.epoch, last.batch, last.batches
        if ends:
            self._epoch_series(ends)
        return changed

    def _epoch_series(self, ends: list[EpochMetrics]) -> None:
        self.test_loss.extend([m.iterations for m in ends], [m.test_loss for m in ends])
        self.train_acc.extend([m.epoch for m in ends], [100 * m.train_accuracy for m in ends])
        self.test_acc.extend([m.epoch for m in ends], [100 * m.test_accuracy for m in ends])

    # -- throughput ---------------------------------------------------------------------------
    def mark(self, now: float, window: float = 3.0) -> None:
        """Record (time, samples so far) for :meth:`rate`; keeps ``window`` seconds."""
        self._marks.append((now, self.samples))
        while len(self._marks) > 2 and now - self._marks[0][0] > window:
            self._marks.popleft()

    def reset_rate(self) -> None:
        """Forget the marks (after a pause: the time paused is no training time)."""
        self._marks.clear()

    def rate(self) -> float | None:
        """Samples per second over the marked window (wall clock, all overheads included)."""
        if len(self._marks) < 2:
            return None
        (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
        if t1 - t0 < 0.2 or s1 == s0:
            return None
        return (s1 - s0) / (t1 - t0)

    def eta(self) -> float | None:
        """Seconds left: the remaining samples at the current rate, plus the remaining test
        evaluations at their recent mean time."""
        rate = self.rate()
        if rate is None:
            return None
        left = max(0, self.total_iterations - self.iteration)
        samples_left = left * self.n_train / max(self.batches, 1)
        evals = max(0, self.epochs - self.epochs_done)
        mean_eval = sum(self.eval_seconds) / len(self.eval_seconds) if self.eval_seconds else 0.0
        return samples_left / rate + evals * mean_eval


def fmt_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def fmt_short_duration(seconds: float) -> str:
    """At most 5 characters: ``59µs``, ``12ms``, ``1.14s``, ``65.2s``, ``3m05s``."""
    if not math.isfinite(seconds):
        return "–"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.0f}ms"
    if seconds < 100:
        return f"{seconds:.3g}s"
    return fmt_duration(seconds)


def progress_bar(fraction: float, width: int) -> Text:
    """``▕██████▍    ▏``: eighths of a cell, ``width`` cells between the two ticks."""
    width = max(1, width)
    f = min(1.0, max(0.0, fraction if math.isfinite(fraction) else 0.0))
    eighths = int(round(f * width * 8))
    full, part = divmod(eighths, 8)
    bar = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
    t = Text("▕", style="dim", end="")
    t.append(bar, style="bold #3b8eea")
    t.append(" " * (width - len(bar)))
    t.append("▏", style="dim")
    return t
