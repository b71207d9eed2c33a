"""The command line's network health: ``backprop-tui health SCENARIO`` (train N iterations,
print the report of the last one) and ``train --headless --health`` (a report per epoch into
the run folder's ``health.csv``, the last one printed at the end). ``cli.py`` parses the
options and calls these; the numbers come from :mod:`backprop_tui.engine.health`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from .checkpoint import atomic_write
from .engine.health import HealthReport, HealthTracker
from .formatting import json_text
from .training import Trainer

#: ``health`` trains this many iterations unless told: the first iteration is what the
#: initial-loss check, the init's dead units and the first update ratio are about
DEFAULT_ITERATIONS = 1

CSV_FIELDS = ["iteration", "epoch", "layer", "kind", "units", "dead", "dead_units",
              "saturated", "grad_norm", "dx_norm", "weight_norm", "update_ratio", "nonfinite",
              "low", "high", "histogram"]


def health_command(trainer: Trainer, iterations: int, as_json: bool, console: Console) -> None:
    """Train ``iterations`` iterations in memory and print the last one's report; more than
    the scenario trains (its epochs × batches per epoch) is refused: the report would be of
    an earlier iteration."""
    from .errors import UsageError

    per_epoch = max(1, trainer.batches_per_epoch)
    total = trainer.epochs * per_epoch
    if iterations > total:
        raise UsageError("more iterations than the scenario trains", key="--iterations",
                         value=iterations,
                         expected=f"at most {total} ({trainer.epochs} epochs × {per_epoch} "
                                  f"batch{'es' * (per_epoch != 1)})",
                         file=trainer.scenario.path)
    tracker = HealthTracker(every=iterations)
    trainer.health = tracker
    trainer.run(max_iterations=iterations)
    report = tracker.latest
    if report is None:  # NaN/Inf stopped it first: the last sampled report, if any
        from .errors import TrainingError

        raise TrainingError(f"training stopped before iteration {iterations} (NaN/Inf)",
                            file=trainer.scenario.path,
                            hint="Run backprop-tui train --headless to see where")
    if as_json:
        print(json_text({"scenario": trainer.scenario.name, **report.as_dict()}))
        return
    print_report(report, trainer, console)


def print_report(report: HealthReport, trainer: Trainer, console: Console) -> None:
    from .cliout import escape
    from .tui.render.health import dead_window_note, report_text

    sc = trainer.scenario
    note = dead_window_note(report)
    console.print(f"[bold]{escape(sc.name)}[/]: health after iteration {report.iteration} "
                  f"({escape(trainer.optimizer.describe())}, batch {sc.train.batch_size}"
                  f"{f'; {note}' if note else ''})", highlight=False, soft_wrap=True)
    console.print(report_text(report), highlight=False, crop=False, soft_wrap=True)


#: ``train --headless --health`` reports at most about this many times per run
MAX_REPORTS = 100


def epochs_between(epochs: int) -> int:
    """Every how many epochs ``--health`` reports: each one, or every k-th (k = ⌈epochs/100⌉)
    when a run has more than 100 — xor trains 2,000 one-batch epochs, and a report per
    iteration would cost more than the training."""
    return max(1, -(-epochs // MAX_REPORTS))


def watch(trainer: Trainer) -> HealthTracker:
    """``train --headless --health``: a report after the first iteration of the run and at
    the last batch of every epoch (every k-th epoch for runs of more than 100:
    :func:`epochs_between`)."""
    every = max(1, trainer.batches_per_epoch) * epochs_between(trainer.epochs)
    tracker = HealthTracker(every=every, keep=True)
    trainer.health = tracker
    return tracker


def csv_rows(tracker: HealthTracker, batches_per_epoch: int) -> list[dict[str, Any]]:
    rows = []
    for report in tracker.reports:
        epoch = -(-report.iteration // max(1, batches_per_epoch))
        for h in report.layers:
            rows.append({
                "iteration": report.iteration, "epoch": epoch, "layer": h.name,
                "kind": h.kind, "units": h.units, "dead": _cell(h.dead),
                "dead_units": "" if h.dead_units is None else " ".join(map(str, h.dead_units)),
                "saturated": _cell(h.saturated), "grad_norm": _cell(h.grad_norm),
                "dx_norm": _cell(h.dx_norm), "weight_norm": _cell(h.weight_norm),
                "update_ratio": _cell(h.update_ratio), "nonfinite": h.nonfinite,
                "low": _cell(h.low), "high": _cell(h.high),
                "histogram": " ".join(map(str, h.counts))})
    return rows


def _cell(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def write_csv(tracker: HealthTracker, trainer: Trainer) -> Path | None:
    """The run folder's ``health.csv``: one row per layer per report (written whole)."""
    if trainer.out_dir is None or not tracker.reports:
        return None
    path = trainer.out_dir / "health.csv"
    rows = csv_rows(tracker, trainer.batches_per_epoch)

    def write(f: IO[bytes]) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        w = csv.DictWriter(text, fieldnames=CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)
        text.flush()
        text.detach()

    atomic_write(path, write)
    return path
