"""The two ways `backprop-tui train` runs a trainer — headless (progress bars or plain lines,
Ctrl-C saves) and the live dashboard — and what they print and exit with afterwards (0 done ·
1 NaN/Inf or --min-accuracy missed · 130 stopped, a checkpoint saved)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from .cliout import console as _console
from .cliout import escape as _escape


def train_headless(trainer, scenario: str, min_accuracy: float | None, log_every: int | None,
                    resumed: bool) -> None:
    """Progress on the terminal (or plain lines), Ctrl-C saves, exit codes as documented."""
    sc = trainer.scenario
    tr = sc.train
    console = _console()
    interactive = sys.stdout.isatty()
    console.print(
        f"[bold]{_escape(sc.name)}[/]: {_escape(sc.architecture)}, {sc.param_count:,} "
        "parameters · "
        f"{trainer.optimizer.describe()}"
        f"{f' (×{tr.lr_decay:g} per epoch)' if tr.lr_decay != 1 else ''}, "
        f"batch {tr.batch_size}, {tr.epochs} epoch{'s' * (tr.epochs != 1)}, "
        f"{tr.dtype}, seed {tr.seed} · {len(trainer.x_train):,} training / "
        f"{len(trainer.x_test):,} test samples → {_escape(trainer.out_dir)}",
        highlight=False, soft_wrap=True,
    )
    if resumed:
        console.print(f"resuming after epoch {trainer.epochs_done}, iteration "
                      f"{trainer.iteration}", highlight=False)
    for note in run_notes(trainer):
        console.print(f"note: {_escape(note)}", highlight=False, soft_wrap=True)
    every = log_every or max(1, -(-tr.epochs // 20))
    reporter = make_reporter(tr.epochs, every, console, interactive)

    try:
        try:
            with ctrl_c_stops() as should_stop:
                result = trainer.run(on_event=reporter, should_stop=should_stop)
        finally:
            reporter.close()
        path = trainer.save_interrupt() if result.status == "stopped" else None
    except KeyboardInterrupt:
        # A second Ctrl-C (or one while saving): leave at once. Typer would exit 130 silently;
        # say that this stop saved nothing and which checkpoint is still there.
        last = trainer.out_dir / "checkpoint.npz" if trainer.out_dir else None
        kept = f"the last checkpoint is {last}" if last and last.is_file() else \
            "no checkpoint was written yet"
        _console(stderr=True).print(f"interrupted again: stopped without saving; {_escape(kept)}",
                                    highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    if result.status == "stopped":
        console.print(
            f"interrupted in epoch {trainer.epochs_done + 1}, after iteration "
            f"{trainer.iteration}: saved {_escape(path)}\nresume with: backprop-tui train "
            f"{_escape(scenario)} --headless --resume {_escape(trainer.out_dir)}",
            highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    if result.status == "nonfinite":
        assert result.nonfinite is not None
        _console(stderr=True).print(
            f"[bold red]stopped:[/] {_escape(result.nonfinite.message())}. The parameters are "
            "those from before this iteration's update; lower the learning rate or check the "
            f"layer in the debugger: backprop-tui debug {_escape(scenario)}", soft_wrap=True)
        raise typer.Exit(1)
    if result.history:
        last = result.history[-1]
        best = max(result.history, key=lambda m: m.test_accuracy)
        console.print(
            f"done: test accuracy {100 * last.test_accuracy:.2f}% after epoch {last.epoch} "
            f"(best {100 * best.test_accuracy:.2f}% at epoch {best.epoch}), train accuracy "
            f"{100 * last.train_accuracy:.2f}%; mean {mean_epoch(result.history):.2f} s/epoch. "
            f"Saved in {_escape(trainer.out_dir)}", highlight=False, soft_wrap=True)
    check_target(result.history, min_accuracy)


@contextmanager
def ctrl_c_stops() -> Iterator[Callable[[], bool]]:
    """While inside, Ctrl-C asks the work to stop: the ``should_stop`` yielded turns true, and
    the work stops at its next safe point (between batches) and saves. A second Ctrl-C raises
    KeyboardInterrupt at once. The previous handler is back afterwards."""
    import signal

    stop = {"requested": False}

    def on_sigint(signum, frame):  # noqa: ARG001
        if stop["requested"]:  # a second Ctrl-C: give up at once
            raise KeyboardInterrupt
        stop["requested"] = True

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: stop["requested"]
    finally:
        signal.signal(signal.SIGINT, previous)


def run_notes(trainer) -> list[str]:
    """What the user should know about a run of their own network: no test set, or a file
    that changed since the checkpoint it resumes."""
    from .ownrun import NO_TEST_NOTE, NetworkFileRun

    spec = trainer.scenario
    if not isinstance(spec, NetworkFileRun):
        return []
    notes = [] if spec.has_test_data else [NO_TEST_NOTE]
    if trainer.checkpoint_meta is not None:
        notes += spec.resume_notes(trainer.checkpoint_meta)
    return notes


def train_dashboard(trainer, scenario: str, min_accuracy: float | None) -> None:
    """Run the live dashboard on ``trainer``; afterwards say where the run is saved and exit
    0 (finished) · 1 (NaN/Inf, or --min-accuracy missed) · 130 (stopped before the end)."""
    from .blas import threads_for
    from .tui.app import BackpropApp
    from .tui.screens.dashboard import DashboardScreen

    # one BLAS thread until the trainer's worker has stopped: the UI thread needs a core of the
    # two (benchmarks/dashboard_speed.py: mnist-mlp 81k vs 10k samples/s under load)
    with threads_for("dashboard"):
        screen = DashboardScreen(trainer)
        BackpropApp("screen", screen=lambda: screen).run()
        outcome = screen.finish()  # after ctrl+q too: stops the worker and saves
    console = _console()
    if outcome.error is not None:
        raise outcome.error
    if outcome.status == "nonfinite":
        nf = outcome.result.nonfinite if outcome.result else None
        _console(stderr=True).print(
            f"[bold red]stopped:[/] {_escape(nf.message() if nf else 'NaN/Inf appeared')}. "
            "Nothing was saved for this iteration; lower the learning rate or check the layer "
            f"in the debugger: backprop-tui debug {_escape(scenario)}", soft_wrap=True)
        raise typer.Exit(1)
    if outcome.status == "stopped":
        console.print(
            f"stopped in epoch {trainer.epochs_done + 1}, after iteration {trainer.iteration}: "
            f"saved {_escape(outcome.saved)}\nresume with: backprop-tui train {_escape(scenario)} "
            f"--resume {_escape(trainer.out_dir)}", highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    history = trainer.history
    if history:
        last = history[-1]
        best = max(history, key=lambda m: m.test_accuracy)
        console.print(
            f"done: test accuracy {100 * last.test_accuracy:.2f}% after epoch {last.epoch} "
            f"(best {100 * best.test_accuracy:.2f}% at epoch {best.epoch}), train accuracy "
            f"{100 * last.train_accuracy:.2f}%. Saved in {_escape(trainer.out_dir)}",
            highlight=False, soft_wrap=True)
    check_target(history, min_accuracy)


def check_target(history, min_accuracy: float | None) -> None:
    """``--min-accuracy``: exit 1 unless the last epoch's test accuracy is a number at least
    that high. An accuracy that is undefined (NaN), or none at all (no epoch trained), does not
    reach any target."""
    if min_accuracy is None:
        return
    acc = history[-1].test_accuracy if history else math.nan
    if acc >= min_accuracy:
        return
    what = f"test accuracy {acc:.4f} <" if math.isfinite(acc) else \
        f"test accuracy undefined ({'no epoch was trained' if not history else 'NaN'}), not"
    _console(stderr=True).print(f"[bold red]below target:[/] {what} --min-accuracy "
                                f"{min_accuracy}", soft_wrap=True)
    raise typer.Exit(1)


def mean_epoch(history) -> float:
    return sum(m.seconds for m in history) / len(history)


def make_reporter(epochs: int, every: int, console: Console, interactive: bool):
    from .progress import PlainReporter, RichReporter
    from .training import EpochEnd

    inner = RichReporter(epochs, console) if interactive else PlainReporter(epochs, sys.stdout)

    class Throttled:
        def __call__(self, event):
            if isinstance(event, EpochEnd):
                e = event.metrics.epoch
                if not (e == 1 or e == epochs or e % every == 0):
                    return
            inner(event)

        def close(self):
            inner.close()

    return Throttled()
