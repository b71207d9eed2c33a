"""The live training dashboard: ``backprop-tui train SCENARIO`` without ``--headless``.

The :class:`~backprop_tui.training.Trainer` — the same code as the headless command — runs in a
Textual thread worker. Its events are appended to a list under a lock (a few hundred
nanoseconds per batch on the worker thread); a timer on the UI thread drains the list ten times
a second and folds the events into a :class:`RunMonitor`, and only then are the panes redrawn.
However fast batches come (xor runs ~10 000 a second), the screen repaints at most ~10×/s and
the UI stays responsive.

Pausing asks the worker to stop between two batches (``should_stop``); resuming calls
``Trainer.run`` again, which continues exactly where it stopped, so a paused and resumed run is
bit-identical to an uninterrupted one. Everything that needs the trainer at rest — the debugger,
saving a checkpoint, quitting — first pauses it, then acts.

What the panes show is folded from the events by :class:`~backprop_tui.tui.monitor.RunMonitor`
(no textual); ``d`` hands a copy of the trainer's state to the debugger
(:mod:`~backprop_tui.tui.screens.handoff`) and comes back here, the trainer untouched.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from ...engine.health import HealthTracker, incoming_weights
from ...safetext import printable
from ...training import Event, Trainer, TrainResult
from .. import render
from ..monitor import Notice, RunMonitor, fmt_duration, fmt_short_duration, progress_bar
from ..render.colors import COLORS
from ..render.health import PANE_HELP
from ..render.numtext import count, short_path
from ..render.series import Series
from ..widgets.chart import LineChart
from ..widgets.health import HealthPane
from .handoff import TrainingDebugger, debug_session
from .help import HelpScreen
from .keys import KeyCommand, bindings, help_rows
from .size import show_size

#: how often the UI folds the worker's events into the panes (seconds)
TICK = 0.1
#: the health pane's report is measured at most this often (seconds), on the trainer's thread
HEALTH_EVERY = 0.25
#: with fewer batches per epoch, the progress bar shows the whole run instead of the epoch
EPOCH_BAR_MIN_BATCHES = 20
#: while training, the per-epoch panes (accuracy, epoch table, events) are redrawn at most
#: this often (seconds)
EPOCH_PANES_EVERY = 0.3


# ---------------------------------------------------------------------------------------------
# keys and help
# ---------------------------------------------------------------------------------------------
DASHBOARD_KEYS: tuple[KeyCommand, ...] = (
    KeyCommand("space", "toggle_pause", "pause", "Pause training between two batches, or "
               "resume it (the resumed run equals an uninterrupted one, bit for bit)", "space"),
    KeyCommand("d", "debug", "debug", "Pause and open the step-through debugger on the batch "
               "the trainer takes next, with its current weights (a float64 copy; q comes back)"),
    KeyCommand("s", "save", "save", "Save checkpoint.npz in the run folder now (between two "
               "batches)"),
    KeyCommand("l", "toggle_log", "log y", "Loss chart: log or linear y axis"),
    KeyCommand("h", "health", "health", "Network health in place of the charts (h again: "
               "back), measured while training at most every 0.25 s; ↑ ↓ select a dead unit"),
    KeyCommand("question_mark", "help", "help", "Keys and what each pane shows", "?"),
    KeyCommand("q", "quit", "quit", "Stop, save a checkpoint and leave (resume later with "
               "--resume RUN_FOLDER)"),
)

#: help rows for keys that are not commands of the screen
DASHBOARD_HELP_EXTRA = (("ctrl+p", "Command palette (light/dark theme, …)"),)

#: what the help screen says about each pane
DASHBOARD_PANES = (
    ("Run", "scenario, architecture, parameter count, optimizer, batch size, dtype, seed; the "
     "run folder; the progress bar of this epoch's batches (of the whole run when an epoch "
     "has fewer than 20 batches), iterations of the whole run, "
     "throughput in samples per second (wall clock, everything included) and the time left."),
    ("Loss", "blue: the training loss of every batch (data loss + L2; nats for cross-entropy), "
     "averaged per chart column when there are more batches than columns; orange: the test "
     "loss at the end of each epoch. x: iterations (batches trained)."),
    ("Accuracy", "blue: training accuracy of each epoch (measured on its batches while "
     "training), orange: test accuracy after the epoch, in %. x: epochs."),
    ("Epochs", "the last epochs: mean train loss (with the L2 penalty when the network has "
     "one: 'train loss+L2'; the test loss is the data loss alone), train accuracy (%, on the "
     "epoch's batches), "
     "test loss, test accuracy (%), training time of the epoch (without the test evaluation) "
     "and samples per second; ★ marks the epoch of the best test accuracy (best.npz)."),
    ("Events", "checkpoints saved, new best test accuracies, pauses, NaN/Inf stops."),
    ("Health (h)", f"measured on one training batch at most every {HEALTH_EVERY} s while the "
     f"pane is shown (nothing while hidden): {PANE_HELP}"),
)


def dashboard_help() -> HelpScreen:
    """The dashboard's help screen: its keys, the command palette, its panes."""
    return HelpScreen(help_rows(DASHBOARD_KEYS) + list(DASHBOARD_HELP_EXTRA), DASHBOARD_PANES,
                      heading="training dashboard · keys",
                      intro="The trainer is the headless command's: same numbers, same "
                            "checkpoints. The screen repaints at most 10 times a second.")


# ---------------------------------------------------------------------------------------------
# the screen
# ---------------------------------------------------------------------------------------------
@dataclass
class DashboardOutcome:
    """How the dashboard ended, for the CLI's last lines and exit code."""

    status: str  #: "completed", "stopped", "nonfinite" or "error"
    saved: Path | None
    iteration: int
    epochs_done: int
    result: TrainResult | None = None
    error: BaseException | None = None


class DashboardScreen(Screen[None]):
    """Trains ``trainer`` in a worker and shows the run. ``pause_at`` pauses once the trainer
    reaches that iteration (tests and screenshots use it for a deterministic frame);
    ``autostart=False`` opens paused."""

    BINDINGS = bindings(DASHBOARD_KEYS)

    def __init__(self, trainer: Trainer, *, autostart: bool = True,
                 pause_at: int | None = None) -> None:
        super().__init__()
        self.trainer = trainer
        self.monitor = RunMonitor(trainer)
        self.autostart = autostart
        self.pause_at = pause_at
        #: "paused", "running", "stopping", "done", "nonfinite", "error", "quitting"
        self.state = "paused"
        self.outcome: DashboardOutcome | None = None
        self.message = ""
        self.result: TrainResult | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._stop = False
        self._then: str | None = None  # what to do once the worker has stopped
        self._idle = threading.Event()
        self._idle.set()
        self._dirty = True
        self._bottom_lines = 2
        self._keys: dict[str, object] = {}
        self._epoch_drawn = 0.0
        self.redraws = 0  #: how many times the panes were redrawn (repaint-rate measurement)
        #: measures health while the pane is shown (the trainer's ``health`` then)
        self.health = HealthTracker(seconds=HEALTH_EVERY)
        if trainer.iteration == 0:  # the first iteration's loss check, whenever h is pressed
            trainer.health = self.health  # (_tick detaches it after that iteration if hidden)

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="dash-too-small")
        with Vertical(id="dash-main"):
            yield Static(id="dash-run")
            yield Static(id="dash-alert")
            with Horizontal(id="dash-charts"):
                yield LineChart(title=f"loss ({self.loss_units})",
                                x_label="iteration", log_y=True,
                                id="dash-loss",
                                empty="no batch trained yet")
                yield LineChart(title="accuracy (%)", short_title="acc. %", x_label="epoch",
                                y_limits=(0.0, 100.0),
                                id="dash-acc",
                                empty="no epoch finished yet")
            with Horizontal(id="dash-bottom"):
                yield Static(id="dash-epochs")
                yield Static(id="dash-events")
            yield HealthPane(id="dash-health", hint="the first report comes with the next "
                             "batch trained (space resumes a paused run)")
        yield Static(id="dash-status")
        yield Footer()

    def on_mount(self) -> None:
        sc = self.trainer.scenario
        self.title = "backprop-tui"
        self.sub_title = printable(f"training {sc.name}")
        self.query_one("#dash-run").border_title = "run"
        self.query_one("#dash-events").border_title = "events"
        self._check_size(self.app.size.width, self.app.size.height)
        self.set_interval(TICK, self._tick)
        if self.trainer.epochs_done >= self.trainer.epochs:
            self.state = "done"
            self.message = "this run has already trained all its epochs"
        elif self.autostart and not self._at_pause_point():
            self._start()
        else:
            self.message = "paused — press space to start training"
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        show_size(self, width, height, "dash-too-small", "the dashboard",
                  "Training goes on. Enlarge the window, or press q to stop and save.")
        self.set_class(width < 110, "narrow")
        self.set_class(height < 32, "short")
        self._dirty = True

    @property
    def loss_units(self) -> str:
        kind = self.trainer.net.loss_layer.kind
        return "squared error" if kind == "MeanSquaredError" else "nats"

    # -- the worker ---------------------------------------------------------------------------
    def _at_pause_point(self) -> bool:
        return self.pause_at is not None and self.trainer.iteration >= self.pause_at

    def _on_event(self, event: Event) -> None:  # worker thread
        with self._lock:
            self._pending.append(event)

    def _start(self, message: str = "") -> None:
        self._stop = False
        self._then = None
        self.state = "running"
        self.message = message
        self.monitor.reset_rate()
        self.monitor.mark(time.monotonic())
        self._idle.clear()
        budget = None
        if self.pause_at is not None:
            budget = max(0, self.pause_at - self.trainer.iteration)
        self._train(budget)

    def _train(self, budget: int | None) -> None:
        self.run_worker(lambda: self._train_thread(budget), thread=True, exclusive=True,
                        group="train", name="trainer", exit_on_error=False)

    def _train_thread(self, budget: int | None) -> None:
        worker = get_current_worker()
        result: TrainResult | None = None
        error: BaseException | None = None
        try:
            result = self.trainer.run(self._on_event,
                                      lambda: self._stop or worker.is_cancelled,
                                      max_iterations=budget)
        except BaseException as e:  # noqa: BLE001 - shown in the UI, re-raised by the CLI
            error = e
        finally:
            self._idle.set()
        try:
            self.app.call_from_thread(self._run_ended, result, error)
        except RuntimeError:  # the app has already exited (ctrl+q): the CLI finishes up
            self.result, self.error = result, error

    def _run_ended(self, result: TrainResult | None, error: BaseException | None) -> None:
        """On the UI thread, when ``Trainer.run`` has returned."""
        self.result, self.error = result, error
        self._drain()
        then, self._then = self._then, None
        if error is not None:
            self.state = "error"
            self.message = f"training failed: {type(error).__name__}: {error}"
            self.monitor.notices.append(Notice(self.message, "bold red"))
        elif result is not None and result.status == "completed":
            self.state = "done"
            best = self.monitor.best
            done = (f"done: {count(self.trainer.epochs_done, 'epoch')}" +
                    (f", best test accuracy {100 * best.test_accuracy:.2f}% at epoch "
                     f"{best.epoch}" if best else "") + " · saved in ")
            room = max(20, self.size.width - 2 - len(done))
            self.message = done + short_path(self.trainer.out_dir, room)
            self.monitor.notices.append(Notice(self.message, "green"))
        elif result is not None and result.status == "nonfinite":
            self.state = "nonfinite"
            self.message = ("stopped on NaN/Inf — press d to step through the failing batch "
                            "in the debugger")
        else:
            self.state = "paused"
            self.message = "paused — press space to resume"
            if then != "save":
                self.monitor.notices.append(Notice(
                    f"paused after iteration {self.trainer.iteration:,}", "dim"))
        self._redraw()
        if then == "debug":
            self._open_debugger()
        elif then == "save":
            saved = self._save_now()
            if self.state == "paused" and not self._at_pause_point():
                self._start(message=self.message if saved else "")
        elif then == "quit":
            self._save_and_exit()

    def _pause_then(self, then: str | None) -> bool:
        """Ask a running worker to stop after this batch and then do ``then``; False if no
        worker runs (act now)."""
        if self.state == "running":
            self._stop = True
            self._then = then
            self.state = "stopping"
            self.message = "stopping after this batch…"
            self._redraw()
            return True
        if self.state == "stopping":
            if then is not None:
                self._then = then
            return True
        return False

    # -- UI thread: draining and drawing ------------------------------------------------------
    def _drain(self) -> bool:
        with self._lock:
            events, self._pending = self._pending, []
        return self.monitor.feed(events)

    def _tick(self) -> None:
        if self.has_class("-health"):
            self.query_one(HealthPane).set_report(self.health.latest, self._weights)
        elif self.trainer.health is self.health and self.trainer.iteration >= 1:
            self.trainer.health = None  # the loss check is taken: hidden, nothing measured
        changed = self._drain()
        if self.state in ("running", "stopping"):
            self.monitor.mark(time.monotonic())
            changed = True
        if changed or self._dirty:
            self._redraw()

    def _changed(self, pane: str, key: object) -> bool:
        """True (and remember ``key``) when what ``pane`` shows has changed: unchanged panes
        are not updated, so Textual does not render them again."""
        if self._keys.get(pane) == key:
            return False
        self._keys[pane] = key
        return True

    def _redraw(self) -> None:
        self._dirty = False
        self.redraws += 1
        m = self.monitor
        self._draw_run()
        if self._changed("loss", (m.loss.count, m.test_loss.count)):
            loss = self.query_one("#dash-loss", LineChart)
            lx, ly = m.loss.arrays()
            tx, ty = m.test_loss.arrays()
            loss.set_series([Series.of("train (batch)", lx, ly, COLORS[0]),
                             Series.of("test (epoch)", tx, ty, COLORS[1])])
            sub = []
            if m.last_loss is not None:
                sub.append(f"last batch {render.fmt(m.last_loss)}")
            if m.running_loss is not None:
                sub.append(f"epoch mean {render.fmt(m.running_loss)}")
            if m.loss.stride > 1:
                sub.append(f"{m.loss.stride} batches per point")
            loss.border_subtitle = " · ".join(sub)
        # the per-epoch panes change at every epoch end: thousands of times a second on xor,
        # where redrawing them 10×/s would cost the trainer ~5% for nothing readable
        now = time.monotonic()
        if self.state == "running" and now - self._epoch_drawn < EPOCH_PANES_EVERY:
            self._draw_status()
            return
        self._epoch_drawn = now
        acc = self.query_one("#dash-acc", LineChart)
        if self._changed("acc", (m.train_acc.count, acc.size.width)):
            ax, ay = m.train_acc.arrays()
            bx, by = m.test_acc.arrays()
            acc.set_series([Series.of("train", ax, ay, COLORS[0]),
                            Series.of("test", bx, by, COLORS[1])])
            if m.recent:
                last = m.recent[-1][0]
                parts = [f"test {100 * last.test_accuracy:.2f}%",
                         f"train {100 * last.train_accuracy:.2f}%"]
                if m.best is not None:
                    parts.append(f"best {100 * m.best.test_accuracy:.2f}% "
                                 f"(epoch {m.best.epoch})")
                room = max(10, acc.size.width - 4)
                while len(parts) > 1 and len(" · ".join(parts)) > room:
                    parts.pop()
                acc.border_subtitle = " · ".join(parts)
        self._draw_epochs()
        self._draw_events()
        self._draw_status()

    def _draw_run(self) -> None:
        tr, m = self.trainer, self.monitor
        sc = tr.scenario
        pane = self.query_one("#dash-run", Static)
        width = max(40, pane.content_size.width or self.app.size.width - 4)
        t = Text(no_wrap=True, overflow="ellipsis", end="")
        parts = [printable(sc.architecture), f"{tr.net.param_count():,} parameters",
                 tr.optimizer.describe(), f"batch {tr.batches.batch_size}", str(tr.dtype),
                 f"seed {sc.train.seed}",
                 f"{len(tr.x_train):,} train / {len(tr.x_test):,} test samples"]
        name = printable(sc.name)
        t.append(name, style="bold")
        used = len(name)
        for i, part in enumerate(parts):
            if used + 3 + len(part) > width and i:
                t.append("\n")
                used = 0
            else:
                t.append(" · ")
                used += 3
            t.append(part, style="dim" if i == len(parts) - 1 else "")
            used += len(part)
        t.append("\n")
        room = max(20, pane.size.width - len("run folder ") - 4)  # "╰─ " … " ─╯"
        pane.border_subtitle = (printable(f"run folder {short_path(tr.out_dir, room)}")
                                if tr.out_dir else "no run folder: nothing is saved")
        total = m.total_iterations
        pct = 100 * m.iteration / total if total else 0.0
        left = f"epoch {m.epoch}/{m.epochs} "
        if m.batches >= EPOCH_BAR_MIN_BATCHES:  # the bar fills once per epoch
            right = f" batch {m.batch}/{m.batches}"
            frac = m.batch / m.batches
        else:  # an epoch of a few batches flickers by: the bar shows the whole run
            right = f" run {pct:.1f}% · batch {m.batch}/{m.batches}"
            frac = m.iteration / total if total else 0.0
        t.append(left, style="bold")
        bar_w = max(10, width - len(left) - len(right) - 2)
        t.append_text(progress_bar(frac, bar_w))
        t.append(right + "\n")
        t.append(f"iteration {m.iteration:,}/{total:,} ({pct:.1f}% of the run) · ")
        state = self.state
        if state == "running":
            rate, eta = m.rate(), m.eta()
            t.append(f"{rate:,.0f} samples/s" if rate else "measuring samples/s",
                     style="bold")
            t.append(f" · {fmt_duration(eta)} left" if eta is not None else "")
        else:
            label = {"paused": "paused", "stopping": "pausing…", "done": "finished",
                     "nonfinite": "stopped: NaN/Inf", "error": "stopped: error",
                     "quitting": "saving…"}.get(state, state)
            t.append(label, style={"nonfinite": "bold red", "error": "bold red",
                                   "done": "bold green"}.get(state, "bold yellow"))
        if self._changed("run", (t.plain, state, width)):
            pane.update(t)
        alert = self.query_one("#dash-alert", Static)
        text = ""
        if m.nonfinite is not None:
            text = (f"{m.nonfinite.message()}. The weights are those from before this "
                    "iteration's update; d steps through the failing batch.")
        elif self.state == "error":
            text = self.message
        if self._changed("alert", text):
            alert.set_class(bool(text), "shown")
            alert.update(Text(printable(text, newlines=True)))

    def _draw_epochs(self) -> None:
        m = self.monitor
        pane = self.query_one("#dash-epochs", Static)
        limit = 4 if self.has_class("short") else 8
        if not self._changed("epochs", (m.train_acc.count, limit)):
            return
        recent = list(m.recent)[-limit:]
        #: lines inside the bottom panes: the table's header and rows (the events pane beside
        #: it shows as many notices, one line each)
        self._bottom_lines = max(1, len(recent)) + 1
        self.query_one("#dash-bottom").styles.height = self._bottom_lines + 2
        total = m.epochs_done
        pane.border_title = (f"epochs · last {len(recent)} of {total}" if recent
                             else "epochs")
        pane.border_subtitle = "★ best test accuracy"
        table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), expand=False,
                      header_style="bold")
        # the train loss is what was minimised, the L2 penalty included; the test loss is the
        # data loss: the header says so, or the two are compared as equals
        train_loss = "train loss+L2" if self.trainer.net.l2 else "train loss"
        for name in ("epoch", train_loss, "train %", "test loss", "test %", "time",
                     "samples/s"):
            table.add_column(name, justify="right", no_wrap=True)
        for metrics, best in recent:
            table.add_row(
                Text(f"{metrics.epoch} ★" if best else f"{metrics.epoch}  ",
                     style="bold green" if best else ""),
                render.fmt(metrics.train_loss), f"{100 * metrics.train_accuracy:.2f}",
                render.fmt(metrics.test_loss),
                Text(f"{100 * metrics.test_accuracy:.2f}", style="bold green" if best else ""),
                fmt_short_duration(metrics.seconds), f"{metrics.samples_per_second:,.0f}")
        if not recent:
            pane.update(Text("no epoch finished yet: one row per epoch (mean train loss, "
                             "accuracies, seconds)", style="dim"))
        else:
            pane.update(table)

    def _draw_events(self) -> None:
        if not self._changed("events", (self.monitor.notices.added, self._bottom_lines)):
            return
        pane = self.query_one("#dash-events", Static)
        t = Text(end="", no_wrap=True, overflow="ellipsis")
        items = list(self.monitor.notices)[-self._bottom_lines :]
        for i, n in enumerate(items):
            if i:
                t.append("\n")
            t.append(printable(n.text), style=n.style)
        if not items:
            t.append("checkpoints, new best accuracies and stops appear here", style="dim")
        pane.update(t)

    def _draw_status(self) -> None:
        status = self.query_one("#dash-status", Static)
        text = self.message
        if not text and self.monitor.notices:
            text = self.monitor.notices[-1].text
        text = text or "training — space pauses, d opens the debugger, ? help"
        if self._changed("status", text):
            status.update(Text(text, no_wrap=True, overflow="ellipsis"))

    def set_message(self, message: str) -> None:
        self.message = message
        self._draw_status()

    # -- actions ------------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        if self.state == "running":
            self._pause_then(None)
        elif self.state == "paused":
            if self._at_pause_point():
                self.pause_at = None
            self._start()
            self.monitor.notices.append(Notice(
                f"resumed at iteration {self.trainer.iteration:,}", "dim"))
            self._redraw()
        elif self.state == "stopping":
            self.set_message("pausing — the current batch is finishing")
        elif self.state == "done":
            self.set_message("training is finished: all epochs are done (q leaves)")
        elif self.state == "nonfinite":
            self.set_message("training stopped on NaN/Inf and cannot resume: lower the "
                             "learning rate (--lr) and start again; d shows the failing batch")
        else:
            self.set_message(self.message)

    def action_debug(self) -> None:
        if self._pause_then("debug"):
            return
        if self.state in ("quitting",):
            return
        self._open_debugger()

    def _open_debugger(self) -> None:
        tr = self.trainer
        failed = self.state == "nonfinite"
        try:
            session = debug_session(tr, failed_batch=failed)
        except Exception as e:  # noqa: BLE001 - a bug must not take the run down with it
            self.set_message(f"cannot open the debugger: {type(e).__name__}: {e}")
            return
        st = session.stepper
        if failed:
            origin = (f"the batch that made NaN/Inf (iteration {tr.iteration + 1:,}), weights "
                      "from before its update")
        else:
            origin = (f"training copy after iteration {tr.iteration:,} · next batch: epoch "
                      f"{st.batch_epoch + 1}, batch {st.batch_index + 1}")
        self.app.push_screen(TrainingDebugger(session, origin), self._back_from_debugger)

    def _back_from_debugger(self, _result: object = None) -> None:
        msg = "back from the debugger (it worked on a copy: the trainer is untouched)"
        if self.state == "paused":
            msg += " — space resumes training"
        self.set_message(msg)
        self._dirty = True

    def action_save(self) -> None:
        if self.trainer.out_dir is None:
            self.set_message("this run has no run folder: nothing to save")
            return
        if self._pause_then("save"):
            self.message = "saving after this batch…"
            return
        self._save_now()

    def _save_now(self) -> Path | None:
        try:
            path = self.trainer.save_interrupt()
        except Exception as e:  # noqa: BLE001 - e.g. a full disk: say so, keep training
            self.set_message(f"could not save: {type(e).__name__}: {e}")
            return None
        if path is not None:
            text = f"saved {path.name} (iteration {self.trainer.iteration:,})"
            self.monitor.notices.append(Notice(text, "green"))
            self.set_message(text)
            self._dirty = True
        return path

    def action_toggle_log(self) -> None:
        chart = self.query_one("#dash-loss", LineChart)
        chart.set_log(not chart.log_y)
        self.set_message(f"loss chart: {'log' if chart.log_y else 'linear'} scale")

    def action_health(self) -> None:
        """Show the health pane in place of the charts (and measure it), or back."""
        show = not self.has_class("-health")
        self.trainer.health = self.health if show else None
        self.set_class(show, "-health")
        if show:
            self.query_one(HealthPane).set_report(self.health.latest, self._weights)
            self.set_focus(self.query_one(HealthPane))
        else:
            self.set_focus(None)

    def _weights(self, i: int, unit: int):
        return incoming_weights(self.trainer.net, i, unit)

    def action_help(self) -> None:
        self.app.push_screen(dashboard_help())

    def action_quit(self) -> None:
        if self.state == "quitting":
            return
        if self._pause_then("quit"):
            self.message = "stopping after this batch, then saving…"
            self.state = "stopping"
            return
        self._save_and_exit()

    def _save_and_exit(self) -> None:
        try:
            self.finish()
        except Exception as e:  # noqa: BLE001 - e.g. a full disk: say so, stay
            self.set_message(f"could not save: {type(e).__name__}: {e} — ctrl+q leaves without "
                             "saving")
            return
        self.state = "quitting"
        self.app.exit()

    # -- the end --------------------------------------------------------------------------------
    def finish(self, timeout: float = 60.0) -> DashboardOutcome:
        """Stop the worker (if it still runs), save where the run stands unless it finished or
        hit NaN/Inf, and say how it ended. Safe to call after the app has exited (ctrl+q)."""
        if self.outcome is not None:
            return self.outcome
        self._stop = True
        self._idle.wait(timeout)
        tr = self.trainer
        result, error = self.result, self.error
        if error is not None:
            status = "error"
        elif tr.epochs_done >= tr.epochs:
            status = "completed"
        elif result is not None and result.status == "nonfinite":
            status = "nonfinite"
        else:
            status = "stopped"
        saved: Path | None = None
        if status == "completed" and tr.out_dir is not None:
            saved = tr.out_dir / "checkpoint.npz"
        elif status == "stopped":
            saved = tr.save_interrupt()
        self.outcome = DashboardOutcome(status, saved, tr.iteration, tr.epochs_done, result,
                                        error)
        return self.outcome
