"""The debugger screen: network, tensor, gradient-check and formula panes, the loss line, and
the keys that walk one training iteration step by step.

Single steps (``n``, ``p``) run on the UI thread: one layer's forward or backward is a few
milliseconds even on the CNN. Everything that may take longer — finishing a pass, continuing
to a breakpoint, training K iterations, a gradient check — runs in a thread worker with progress,
and ``escape`` cancels it. While such a run owns the stepper, keys that would step are refused
(the stepper is not thread-safe); the gradient check works on its own copy of the network and
never blocks stepping. A job is stopped through its own event, never by cancelling its worker:
a worker cancelled before its thread started never ran, so it never reported back and the
screen stayed "busy" for ever (escape in the same frame as ``f``); a job asked to stop always
ends and reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from ...blas import threads_for
from ...engine.contract import LayerError, describe_error
from ...engine.explain import ExplainError
from ...engine.numeric import GradcheckCancelled
from ...engine.records import StopReason
from ...safetext import printable
from ..explainsession import ExplainSession
from ..render.health import PANE_HELP
from ..session import DebugSession, GradcheckResult
from ..widgets.formula import FormulaPane
from ..widgets.gradcheck import GradcheckPane
from ..widgets.health import HealthPane
from ..widgets.lossline import LossLine
from ..widgets.network import NetworkPane
from ..widgets.tensor import TensorPane
from .dialogs import ConditionsDialog, ErrorDialog, TrainDialog
from .explain import EXPLAIN_KEYS, ExplainScreen
from .help import HelpScreen
from .keys import KeyCommand, bindings, help_rows
from .size import show_size

DEBUGGER_KEYS: tuple[KeyCommand, ...] = (
    KeyCommand("n,space", "step", "step", "Run the next step (one layer forward or backward, "
               "the loss, or the update)", "n / space", title="Step"),
    KeyCommand("p,backspace", "back", "back", "Undo the last step exactly (restore the "
               "iteration's snapshot and replay)", "p / backspace", title="Step back"),
    KeyCommand("f", "finish_forward", "fwd", "Run the rest of the forward pass",
               title="Finish forward"),
    KeyCommand("b", "finish_backward", "bwd", "Run the loss and the rest of the backward pass, "
               "up to the update", title="Finish backward"),
    KeyCommand("u", "update", "upd", "Run to the end of the iteration: the optimizer updates "
               "every parameter", title="Apply the update"),
    KeyCommand("c", "continue", "cont", "Run until the next breakpoint or stop condition "
               "(escape cancels)", title="Continue"),
    KeyCommand("B", "toggle_breakpoint", "", "Set or clear a breakpoint on the selected layer "
               "(before its forward and backward steps)", title="Toggle breakpoint"),
    KeyCommand("C", "conditions", "", "Choose conditions that stop continue: NaN/Inf, gradient "
               "check fails, dead ReLU fraction, gradient norm", title="Stop conditions"),
    KeyCommand("g", "gradcheck", "check", "Check the selected layer's gradients against "
               "numeric ones (in the background; escape cancels)", title="Gradient check"),
    KeyCommand("h", "health", "", "Show network health in place of the tensor pane (h "
               "again: back): per layer the output's histogram, dead and saturated units, ‖dW‖, "
               "‖dx‖, ‖W‖, the update/weight ratio, NaN/Inf; ↑ ↓ select a dead unit and show "
               "its weights", title="Network health"),
    KeyCommand("e", "explain", "explain", "Explain the entry under the tensor pane's cursor "
               "(numbers, colours or picture view): its formula with this batch's numbers, the "
               "terms, the entries that feed it; walk the chain from there", title="Explain "
               "this number"),
    KeyCommand("t", "train", "train", "Train K whole iterations fast, with progress (escape "
               "cancels)", title="Train K iterations"),
    KeyCommand("x", "next_batch", "", "Abandon this iteration and take the next batch "
               "(parameters untouched)", title="Next batch"),
    KeyCommand("r", "reset", "", "Back to the initial weights, optimizer state and first batch",
               title="Reset"),
    KeyCommand("left_square_bracket", "tensor(-1)", "", "Show the previous tensor of the "
               "selected row", "[", title="Previous tensor"),
    KeyCommand("right_square_bracket", "tensor(1)", "", "Show the next tensor of the selected "
               "row", "]", title="Next tensor"),
    KeyCommand("i", "toggle_image", "", "Draw image-shaped tensors (MNIST inputs, feature maps, "
               "conv filters) as pictures, or as a heatmap", title="Picture / heatmap"),
    KeyCommand("comma", "sample(-1)", "", "Show the previous sample of the batch (4-D tensors "
               "and pictures)", ",", title="Previous sample"),
    KeyCommand("full_stop", "sample(1)", "", "Show the next sample of the batch", ".",
               title="Next sample"),
    KeyCommand("z", "zoom", "", "Maximize the focused pane (escape restores)", title="Zoom pane"),
    KeyCommand("escape", "cancel", "", "Cancel a running check or run; restore a zoomed pane",
               "escape", title="Cancel"),
    KeyCommand("question_mark", "help", "help", "Keys and what each pane shows", "?",
               title="Help"),
    KeyCommand("q", "quit", "quit", "Leave backprop-tui", title="Quit"),
)

#: help rows for keys that are not commands of their own
DEBUGGER_HELP_EXTRA = (
    ("tab / shift+tab", "Move focus between the panes"),
    ("↑ ↓ (network pane)", "Select a layer, the loss or the update"),
    ("arrows (tensor pane)", "Move the cell cursor"),
    ("ctrl+p", "Command palette: every action, and the light/dark theme"),
)

#: what the help screen says about each pane
DEBUGGER_PANES = (
    ("Network", "the layers top to bottom, then the loss and the update. Output shapes are "
     "per batch (batch size first). ▶↓ / ▶↑ marks the step that runs next (forward / backward), "
     "● a breakpoint, ↓ ↑ the steps already done in this iteration."),
    ("Tensor", "one tensor of the selected row: its input x, output y, cached tensors (masks: "
     "True where the value is set, e.g. a ReLU mask is True where x ≤ 0 and no gradient "
     "passes), parameters, gradients (dout, dW, db, dx). Small tensors print their numbers on "
     "their colours (n = sample, i / j = input / output unit); a tensor too wide or too tall "
     "shows a window of its numbers around the cursor, which the arrows scroll (vectors wrap "
     "into lines); `z` zooms the pane. Colours: "
     "blue negative, red positive, grey 0, on a symmetric scale given by the legend; magenta "
     "marks NaN or Inf. Big tensors are downsampled (block means) and the pane says how. The "
     "cursor shows one entry's exact value. `[` `]` change the tensor, `,` `.` the sample, `i` "
     "draws image-shaped data as pictures."),
    ("Gradient check", "analytic gradients (from backward) against centered differences "
     "(L(θ+h) − L(θ−h)) / 2h in float64. Relative error: > 1e-2 wrong, 1e-4…1e-2 suspicious, "
     "≤ 1e-7 good. A kink (ReLU mask or max-pool switch flipped by ±h) is reported, not failed."),
    ("Health (h)", f"from each layer's last forward and backward step: {PANE_HELP}"),
    ("Formula", "the row's equations with this network's shapes, e.g. dW = xᵀ·dout  "
     "(2×4)·(4×6) → 2×6; N is the batch size."),
    ("Explain (e)", "a view over the debugger: the entry under the cursor as the chain rule "
     "computed it — formula, the same with the numbers, the terms largest first, their sum; "
     "the entries that feed it, marked ▸ / ◆ in the tensor they come from; enter follows the "
     "chosen one (toward the loss), d goes the other way (down the backward pass), backspace "
     "back, escape closes."),
    ("Loss line", "the loss (data loss + L2, in nats for cross-entropy) and the batch accuracy of "
     "every iteration whose loss step ran."),
)


def debugger_help(keys: list[tuple[str, str]]) -> HelpScreen:
    """The debugger's help screen listing ``keys`` (also the picker's, which leads to it)."""
    return HelpScreen(keys, DEBUGGER_PANES, heading="backprop-tui · keys",
                      intro="One iteration is: forward L1 … Ln → loss → backward Ln … L1 → "
                            "update. Each key press runs one step (or more) and every pane "
                            "shows what it produced.")


class DebuggerScreen(Screen[None]):
    """The step-through debugger on one :class:`DebugSession`."""

    BINDINGS = bindings(DEBUGGER_KEYS) + [
        Binding("tab", "cycle_focus(1)", "next pane", show=False),
        Binding("shift+tab", "cycle_focus(-1)", "previous pane", show=False),
    ]

    #: the order tab moves focus in: the network, what it selects, then the side panes
    FOCUS_ORDER = ("#network", "#tensor", "#gradcheck", "#health", "#formula")

    def __init__(self, session: DebugSession) -> None:
        super().__init__()
        self.session = session
        self.busy: str | None = None
        #: stepping keys typed while a run (f b u c) goes on: run in order when it ends
        self._queued: list[Callable[[], None]] = []
        self.message = ""
        self._version = 0  # bumps on every change of the stepper's state
        self._shown: tuple[int, int] | None = None  # (row, version) the panes show
        self._preferred: dict[int, str] = {}  # row → tensor key chosen with [ ]
        self._last_progress = 0.0
        self._run_stop = threading.Event()  # set: the running run (f b u c t) should stop
        self._check_stop: threading.Event | None = None  # the running gradient check's

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="too-small")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield NetworkPane(id="network")
                yield FormulaPane(id="formula")
            with Vertical(id="right"):
                yield TensorPane(id="tensor")
                yield GradcheckPane(id="gradcheck")
                yield HealthPane(id="health", hint="no forward step yet: step (n) or finish "
                                 "the forward pass (f), and the health of every layer shows")
        yield LossLine(id="loss")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        s = self.session
        self.sub_title = printable(f"{s.name} · {s.architecture}")
        self.title = "backprop-tui"
        self._check_size(self.app.size.width, self.app.size.height)
        self._fit_footer(self.app.size.width)
        self.query_one(GradcheckPane).unavailable = s.no_gradcheck
        self.refresh_panes()
        self.query_one(NetworkPane).focus()
        ck = self.session.checkpoint_path
        self.set_message(
            f"{s.name}: {s.architecture}, {self.session.net.param_count():,} parameters, "
            f"batch of {self.session.n}, seed {self.session.seed}"
            + (f", weights from {ck}" if ck else "") + " · press n to step, ? for help")
        if s.startup_error is not None:  # the layer raised while the shapes were taken
            self._layer_error(s.startup_error, starting=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No action once the panes are gone (keys still queued while the app shuts down)."""
        return self._alive()

    def on_resize(self, event: Resize) -> None:
        if not self._alive():
            return
        self._check_size(event.size.width, event.size.height)
        self._fit_footer(event.size.width)

    def _fit_footer(self, width: int) -> None:
        """Every key of the footer on one line, '? help' and 'q quit' included: compact below
        110 columns, and below 100 without the ^p palette hint (ctrl+p still opens it; the
        help screen lists it)."""
        footer = self.query_one(Footer)
        footer.compact = width < 110
        footer.show_command_palette = width >= 100

    def _check_size(self, width: int, height: int) -> None:
        show_size(self, width, height, "too-small", "backprop-tui",
                  "Enlarge the window, or press q to quit.")

    # -- refreshing ---------------------------------------------------------------------------
    @property
    def network(self) -> NetworkPane:
        return self.query_one(NetworkPane)

    @property
    def tensor(self) -> TensorPane:
        return self.query_one(TensorPane)

    def _alive(self) -> bool:
        """False while the app shuts down: queued keys and late worker results may still
        arrive after the panes are gone, and must do nothing then."""
        return self.is_attached and bool(self.query("#status"))

    def refresh_panes(self) -> None:
        """Push the session's state into every pane (cheap: panes draw lazily)."""
        if not self._alive():
            return
        s = self.session
        net = self.network
        net.set_rows(s.rows(), s.status())
        self._show_row(net.selected)
        loss = self.query_one(LossLine)
        loss.units = s.loss_units
        loss.set_history(s.loss_history)
        if self.has_class("-health"):
            self.query_one(HealthPane).set_report(s.health(), s.incoming_weights)
        self._update_status()

    def _show_row(self, row: int) -> None:
        if not self._alive():
            return
        self._shown = (row, self._version)
        s = self.session
        rows = s.rows() if not self.network.rows else self.network.rows
        name = rows[row].name if row < len(rows) else ""
        tensor = self.tensor
        pref = self._preferred.get(row)
        tensor.set_items(s.tensors(row), name)
        if pref:
            tensor.select(pref)
        self.query_one(FormulaPane).set_formulas(s.formulas(row), name, s.n)
        self.query_one(GradcheckPane).set_row(name)

    def _update_status(self) -> None:
        if not self._alive():
            return
        status = self.query_one("#status", Static)
        cond = self.session.describe_conditions()
        text = self.message
        if self.busy:
            text = f"{self.busy} — escape cancels"
        # messages name layers and quote the user's exceptions: plain text, printable
        status.update(Text(printable(f"{text}  ·  stop conditions: {cond}" if text else
                                     f"stop conditions: {cond}")))

    def set_message(self, message: str) -> None:
        self.message = message
        self._update_status()

    def _changed(self, follow: tuple[str, int | None] | None = None, *,
                 upcoming: bool = False) -> None:
        """The stepper moved: select the row of the step ``follow`` (the one that ran, or with
        ``upcoming`` the one that runs next) and redraw."""
        self._version += 1
        if not self._alive():
            return
        self.query_one(GradcheckPane).mark_stale()
        if follow is not None:
            phase, layer = follow
            row = self.session.row_of_layer(layer, phase)
            if row not in self._preferred:
                default = {"forward": "y", "loss": "dscores", "backward": "dx"}.get(phase)
                if upcoming:  # what arrives at the step
                    default = {"forward": "x", "loss": "scores", "backward": "dout"}.get(phase)
                elif phase == "backward" and layer is not None and \
                        self.session.layers[layer].params:
                    default = "dW" if "W" in self.session.layers[layer].params else default
                if default:
                    self.tensor.wanted = default
            self.network.selected = row
        self.refresh_panes()

    @on(NetworkPane.Selected)
    def _on_row(self, event: NetworkPane.Selected) -> None:
        # messages may queue up under fast key presses: only the current selection counts
        # and a row already shown for this state needs no second drawing
        if event.row == self.network.selected and self._shown != (event.row, self._version):
            self._show_row(event.row)

    @on(TensorPane.Changed)
    def _on_tensor(self, event: TensorPane.Changed) -> None:
        if event.key:
            self._preferred[self.network.selected] = event.key

    # -- guards -------------------------------------------------------------------------------
    #: at most this many stepping keys wait for a run to end (a held key must not pile up)
    QUEUE_MAX = 8

    def _idle(self, then: Callable[[], None] | None = None) -> bool:
        """True when no run goes on. Otherwise ``then`` (the action of a stepping key typed
        during the run: ``f n`` typed fast means finish the forward pass, then one step) waits
        for the run to end, in order; escape drops what waits."""
        if not self.busy:
            return True
        if then is not None and len(self._queued) < self.QUEUE_MAX:
            self._queued.append(then)
            n = len(self._queued)
            self.set_message(f"busy: {self.busy} · {n} key{'s' if n != 1 else ''} waiting for "
                             "it (escape drops them)")
        else:
            self.app.bell()
            self.set_message(f"busy: {self.busy}")
        return False

    def _drain(self) -> None:
        """Run the keys that waited for a run, in order, until one starts another run."""
        while self._queued and not self.busy and self._alive():
            self._queued.pop(0)()

    # -- single steps -------------------------------------------------------------------------
    def _layer_error(self, e: LayerError, *, starting: bool = False) -> None:
        """A layer's own code raised (a user's layer, usually a shape mistake): say which,
        where and why, in a dialog; nothing moved, so the user can look around and retry."""
        if starting:
            self.set_message(f"{e.what} failed: {type(e.error).__name__} — stepping will stop "
                             "at that layer")
            body = (f"{e}\n\nThis happened while the debugger took the shapes of the layers' "
                    "outputs: those below that layer are guesses. Step to it (n, or f) to see "
                    "its input; fix the layer's code and start the debugger again.")
        else:
            self.set_message(f"{e.what} failed: {type(e.error).__name__} — nothing was stepped")
            body = (f"{e}\n\nThe step did not happen: the panes show the state before it. "
                    "Fix the layer's code and start the debugger again; here you can still look "
                    "around, step back (p) or reset (r).")
        self.app.push_screen(ErrorDialog("a layer raised an error", body))

    def action_step(self) -> None:
        if not self._idle(self.action_step):
            return
        try:
            rec = self.session.step()
        except LayerError as e:
            self._layer_error(e)
            return
        what = self.session.stepper.describe_step(rec.position)
        msg = f"{what} done"
        if rec.loss is not None:
            msg += f": loss {rec.loss:.6g}, batch accuracy {rec.accuracy:.0%}"
        if rec.nonfinite:
            msg += f" · NaN/Inf in {', '.join(rec.nonfinite)}"
        self.set_message(msg)
        self._changed((rec.phase, rec.layer_index))

    def action_back(self) -> None:
        if not self._idle(self.action_back):
            return
        msg = self.session.back()
        st = self.session.stepper
        last = st.last_record
        self.set_message(msg)
        self._changed((last.phase, last.layer_index) if last else ("forward", 0))

    def action_next_batch(self) -> None:
        if not self._idle(self.action_next_batch):
            return
        self.session.stepper.next_batch()
        st = self.session.stepper
        self.set_message(f"next batch: batch {st.batch_index + 1} of epoch {st.batch_epoch + 1}, "
                         "iteration restarted at its first step")
        self._changed(("forward", 0))

    def action_reset(self) -> None:
        if not self._idle(self.action_reset):
            return
        self.session.stepper.reset()
        self.set_message("reset: initial weights, optimizer state and first batch")
        self._changed(("forward", 0))

    def action_toggle_breakpoint(self) -> None:
        msg = self.session.toggle_breakpoint(self.network.selected)
        self.set_message(msg or "breakpoints go on layers: select a layer row first")
        self.refresh_panes()

    # -- runs in a worker ---------------------------------------------------------------------
    def _progress(self, label: str) -> Callable[[int, int], None]:
        """A progress callback for a worker thread, throttled to ~10 updates a second."""

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - self._last_progress < 0.1 and done != total:
                return
            self._last_progress = now
            text = f"{label}: {done:,}" + (f"/{total:,}" if total < 10**5 else " steps")
            self.app.call_from_thread(self._set_busy_text, text)

        return report

    def _set_busy_text(self, text: str) -> None:
        if self.busy is not None and self._alive():
            self.busy = text
            self._update_status()

    def _start(self, label: str,
               fn: Callable[[Callable[[], bool]], str | StopReason]) -> None:
        if not self._idle(lambda: self._start(label, fn)):
            return
        self.busy = label
        self._update_status()
        self._run_stop = threading.Event()
        self._run(label, fn, self._run_stop)

    @work(thread=True, group="run")
    def _run(self, label: str, fn: Callable[[Callable[[], bool]], str | StopReason],
             stop: threading.Event) -> None:
        worker = get_current_worker()  # cancelled by Textual itself only when the app exits
        error: LayerError | None = None
        at_breakpoint = False
        try:
            with threads_for("debugger"):  # per thread where BLAS's threading layer is OpenMP
                out = fn(lambda: stop.is_set() or worker.is_cancelled)
            at_breakpoint = isinstance(out, StopReason) and out.kind == "breakpoint"
            msg = self._stop_text(out) if isinstance(out, StopReason) else out
        except LayerError as e:  # a layer's own code raised: stop there and say where
            msg, error = str(e), e
        except Exception as e:  # a bug must not leave the UI locked: report it
            msg = f"{label} failed: {describe_error(e)}"
        self.app.call_from_thread(self._finished, msg, error, at_breakpoint)

    def _finished(self, message: str, error: LayerError | None = None,
                  at_breakpoint: bool = False) -> None:
        """A run ended. Stopped at a breakpoint, the row of the step that runs next (▶) is
        selected — the breakpoint is on it, and B or g act there — showing what arrives at
        it; otherwise the row of the last step run, showing what it produced."""
        self.busy = None
        st = self.session.stepper
        last = st.last_record
        self.set_message(message)
        if at_breakpoint:
            self._changed(st.upcoming, upcoming=True)
        else:
            self._changed((last.phase, last.layer_index) if last else ("forward", 0))
        if error is not None:  # a layer raised: what was typed after it does not run
            self._queued.clear()
            if self._alive():
                self._layer_error(error)
        elif self._queued:
            self.call_later(self._drain)

    def _stop_text(self, stop: StopReason) -> str:
        text = {
            "breakpoint": f"stopped: {stop.message}",
            "condition": f"stopped ({stop.name}): {stop.message}",
        }.get(stop.kind, stop.message)
        if stop.kind in ("breakpoint", "condition", "done"):
            text += f" · {stop.steps} step{'s' if stop.steps != 1 else ''} run"
        return text

    def action_finish_forward(self) -> None:
        self._start("finishing the forward pass",
                    lambda cancelled: self.session.stepper.finish_forward())

    def action_finish_backward(self) -> None:
        self._start("finishing the backward pass",
                    lambda cancelled: self.session.stepper.finish_backward())

    def action_update(self) -> None:
        def run(cancelled: Callable[[], bool]) -> str:
            stop = self.session.stepper.update()
            return (f"update applied ({self.session.optimizer.describe()}) · iteration "
                    f"{self.session.stepper.iteration} complete · {stop.steps} "
                    f"step{'s' if stop.steps != 1 else ''} run")

        self._start("running to the update", run)

    def action_continue(self) -> None:
        def run(cancelled: Callable[[], bool]) -> StopReason:
            return self.session.continue_(progress=self._progress("continuing"),
                                          cancelled=cancelled)

        self._start("continuing to the next breakpoint", run)

    def action_train(self) -> None:
        if not self._idle():
            return
        default = 100 if self.session.net.param_count() < 100_000 else 10
        self.app.push_screen(TrainDialog(default), self._train)

    def _train(self, k: int | None) -> None:
        if not k:
            return

        def run(cancelled: Callable[[], bool]) -> str:
            t0 = time.perf_counter()
            res = self.session.stepper.train(k, progress=self._progress(f"training {k}"),
                                             cancelled=cancelled)
            secs = time.perf_counter() - t0
            loss = "–" if res.loss is None else f"{res.loss:.6g}"
            why = {"done": "", "cancelled": " (cancelled)",
                   "nonfinite": " (stopped: the loss became NaN/Inf)"}[res.reason]
            return (f"trained {res.iterations} iteration(s) in {secs:.2f} s{why}: last loss "
                    f"{loss}")

        self._start(f"training {k} iterations", run)

    def action_conditions(self) -> None:
        def done(settings) -> None:
            if settings is None:
                return
            self.session.conditions = settings
            self.session.apply_conditions()
            self.set_message("conditions applied")  # the status line lists them

        if self._idle():
            self.app.push_screen(ConditionsDialog(self.session.conditions), done)

    # -- gradient check (on a copy: does not block stepping) ----------------------------------
    def action_gradcheck(self) -> None:
        if self.busy:  # the copy must not be taken while a run moves the network
            self._idle()
            return
        s = self.session
        row = self.network.selected
        pane = self.query_one(GradcheckPane)
        if s.no_gradcheck:  # the pane says so already
            self.set_message(s.no_gradcheck)
            return
        if row == s.update_row:
            pane.finish(None, "Select a layer (or the loss) to check its gradients.")
            return
        job = s.prepare_gradcheck(row)
        if self._check_stop is not None:  # a new check replaces the running one
            self._check_stop.set()
        self._check_stop = threading.Event()
        pane.start(job.row_name)
        self._gradcheck(job, self._check_stop)

    @work(thread=True, group="gradcheck")
    def _gradcheck(self, job, stop: threading.Event) -> None:
        worker = get_current_worker()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.1 or done == total:
                last[0] = now
                self.app.call_from_thread(self._gradcheck_progress, done, total, stop)

        try:
            result: GradcheckResult | None = DebugSession.run_gradcheck(
                job, progress=progress, cancelled=lambda: stop.is_set() or worker.is_cancelled)
            message = ""
        except GradcheckCancelled:
            result, message = None, "gradient check cancelled"
        except Exception as e:  # report, don't crash the UI
            result, message = None, f"gradient check failed: {describe_error(e)}"
        self.app.call_from_thread(self._gradcheck_done, result, message, stop)

    def _gradcheck_progress(self, done: int, total: int, stop: threading.Event) -> None:
        if self._alive() and stop is self._check_stop:
            self.query_one(GradcheckPane).set_progress(done, total)

    def _gradcheck_done(self, result: GradcheckResult | None, message: str,
                        stop: threading.Event) -> None:
        if stop is not self._check_stop:  # a newer check replaced this one
            return
        self._check_stop = None
        if not self._alive():
            return
        pane = self.query_one(GradcheckPane)
        pane.finish(result, message)
        if result is not None:
            st = self.session.stepper
            if (result.job.iteration, result.job.position) != (st.iteration, st.position):
                pane.mark_stale()
            verdict = "passed" if result.report.passed else "FAILED"
            self.set_message(f"gradient check of {result.job.row_name} {verdict} "
                             f"({result.report.evaluations} loss evaluations)")

    # -- view ---------------------------------------------------------------------------------
    def action_tensor(self, delta: int) -> None:
        self.tensor.cycle(delta)

    def action_toggle_image(self) -> None:
        self.tensor.image_mode = not self.tensor.image_mode
        self.set_message("picture mode" if self.tensor.image_mode else "heatmap mode")

    def action_sample(self, delta: int) -> None:
        self.tensor.change_sample(delta)

    def action_cycle_focus(self, delta: int) -> None:
        panes = [self.query_one(sel) for sel in self.FOCUS_ORDER]
        panes = [p for p in panes if p.display]
        if not panes:
            return
        current = self.focused
        i = panes.index(current) if current in panes else -delta
        target = panes[(i + delta) % len(panes)]
        if self.maximized is not None:
            self.maximize(target, container=False)
        self.set_focus(target)  # at once: keys already queued go to the new pane

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused, container=False)

    def jobs_running(self) -> bool:
        """A run (f b u c t) or a gradient check has not reported back yet."""
        return self.busy is not None or self._check_stop is not None

    def stop_jobs(self) -> bool:
        """Ask the running run and gradient check to stop (each reports back when it has);
        True if there was one."""
        self._run_stop.set()
        if self._check_stop is not None:
            self._check_stop.set()
        return self.jobs_running()

    def action_cancel(self) -> None:
        self._queued.clear()
        if self.stop_jobs():
            self.set_message("cancelling…")
        elif self.maximized is not None:
            self.minimize()

    def action_health(self) -> None:
        """Toggle the health pane (in place of the tensor and gradient-check panes)."""
        show = not self.has_class("-health")
        if self.maximized is not None:
            self.minimize()
        self.set_class(show, "-health")
        self.refresh_panes()
        self.set_focus(self.query_one(HealthPane) if show else self.network)

    # -- explain ------------------------------------------------------------------------------
    def action_explain(self) -> None:
        """Open the explain view on the entry under the tensor pane's cursor."""
        if not self._idle(self.action_explain):  # `b e` typed fast: explain what b leaves
            return
        if self.app.screen is not self:  # `e e` typed fast: the view is open already
            return
        pane = self.tensor
        it = pane.item
        if it is None:
            self.set_message("explain: select a row with tensors first")
            return
        if it.array is None:
            self.set_message(f"explain: {it.key} of {pane.row_name} is {it.source}")
            return
        index = pane.cursor_index()
        assert index is not None
        explainer = ExplainSession(self.session)
        entry = explainer.entry_at(self.network.selected, it.key, index)
        try:
            first = explainer.explain(entry)
        except ExplainError as e:
            self.set_message(f"explain {entry}: {e}")
            return
        self.set_message(f"explaining {entry} · escape goes back, at the first entry closes")
        self.app.push_screen(ExplainScreen(explainer, first),
                             lambda _: self.set_message(f"explained {entry}"))

    def action_help(self) -> None:
        keys = help_rows(DEBUGGER_KEYS) + list(DEBUGGER_HELP_EXTRA) + [
            (f"{shown} (explain view)", what) for shown, what in help_rows(EXPLAIN_KEYS)]
        self.app.push_screen(debugger_help(keys))

    def action_quit(self) -> None:
        self.stop_jobs()
        self.app.exit()
