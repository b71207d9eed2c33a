"""Small modal dialogs: an error message, "train how many iterations?", and the breakpoint
conditions (NaN/Inf, gradient check fails, dead ReLU, gradient norm)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from ...safetext import printable
from ..session import ConditionSettings
from .once import DismissOnce


class ErrorDialog(DismissOnce, ModalScreen[None]):
    """Shows a user error (a bad scenario, missing data, a bad checkpoint) instead of a crash."""

    BINDINGS = [Binding("escape,enter", "dismiss_dialog", "close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            # titles and messages name files and layers: printable, never markup
            yield Label(printable(self.title_text), classes="dialog-title", markup=False)
            yield Static(printable(self.message, newlines=True), classes="dialog-body",
                         markup=False)
            yield Button("OK", variant="error", id="ok")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)


class _FormDialog(DismissOnce, ModalScreen):
    """A dialog with inputs and OK / Cancel: Enter in an input or OK submits (``_submit``
    validates and dismisses with the result), Cancel or escape dismisses with None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def _submit(self) -> None:
        raise NotImplementedError

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TrainDialog(_FormDialog):
    """Asks how many iterations to train fast (no records, as ``train`` would)."""

    def __init__(self, default: int, seconds_per_iteration: float | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.default = default
        self.estimate = seconds_per_iteration

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Train K iterations fast", classes="dialog-title")
            hint = ("Runs K whole iterations (forward, loss, backward, update) without "
                    "recording steps, then stops at 'iteration complete'. Escape cancels "
                    "while it runs.")
            yield Static(hint, classes="dialog-body")
            yield Input(str(self.default), id="k", type="integer", placeholder="iterations")
            yield Static("", id="k-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Train", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        inp = self.query_one("#k", Input)
        inp.focus()
        inp.action_select_all()

    def _submit(self) -> None:
        raw = self.query_one("#k", Input).value.strip()
        try:
            k = int(raw)
        except ValueError:
            k = 0
        if not 1 <= k <= 1_000_000:
            self.query_one("#k-error", Static).update("K must be a whole number, 1 to 1000000")
            return
        self.dismiss(k)


class ConditionsDialog(_FormDialog):
    """Edits the conditions that `c` (continue) stops on, besides layer breakpoints."""

    def __init__(self, settings: ConditionSettings) -> None:
        super().__init__(classes="dialog-screen")
        self.settings = settings

    def compose(self) -> ComposeResult:
        s = self.settings
        with Vertical(classes="dialog conditions-dialog"):
            yield Label("Stop `continue` (c) when…", classes="dialog-title")
            with Grid(classes="conditions-grid"):
                # the rows without a number take both columns: whole at 80 columns
                yield Checkbox("NaN or Inf appears (any tensor, or the loss)", s.nonfinite,
                               id="nonfinite", classes="wide")
                yield Checkbox("a gradient check fails (after each backward step: slow)",
                               s.gradcheck, id="gradcheck", classes="wide")
                yield Checkbox("the fraction of dead ReLU units is above (0–1):", s.dead_relu,
                               id="dead_relu")
                yield Input(f"{s.dead_relu_threshold:g}", id="dead_relu_threshold",
                            type="number")
                yield Checkbox("the L2 norm of a parameter gradient is above:", s.grad_norm,
                               id="grad_norm")
                yield Input(f"{s.grad_norm_threshold:g}", id="grad_norm_threshold",
                            type="number")
            yield Static("", id="cond-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def _submit(self) -> None:
        s = ConditionSettings(
            nonfinite=self.query_one("#nonfinite", Checkbox).value,
            gradcheck=self.query_one("#gradcheck", Checkbox).value,
            dead_relu=self.query_one("#dead_relu", Checkbox).value,
            grad_norm=self.query_one("#grad_norm", Checkbox).value,
        )
        err = self.query_one("#cond-error", Static)
        try:
            s.dead_relu_threshold = float(self.query_one("#dead_relu_threshold", Input).value)
            s.grad_norm_threshold = float(self.query_one("#grad_norm_threshold", Input).value)
        except ValueError:
            err.update("thresholds must be numbers")
            return
        if not 0 <= s.dead_relu_threshold <= 1:
            err.update("the dead-ReLU threshold is a fraction between 0 and 1")
            return
        if not s.grad_norm_threshold > 0:
            err.update("the gradient-norm threshold must be positive")
            return
        self.dismiss(s)

