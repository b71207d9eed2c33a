"""The help screen (`?`): every key, and what each pane shows and in what units."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

PANES = (
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
    ("Formula", "the row's equations with this network's shapes, e.g. dW = xᵀ·dout  "
     "(2×4)·(4×6) → 2×6; N is the batch size."),
    ("Loss line", "the loss (data loss + L2, in nats for cross-entropy) and the batch accuracy of "
     "every iteration whose loss step ran."),
)


class HelpScreen(ModalScreen[None]):
    """Lists the keys given by the debugger screen and explains the panes."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "close help")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.keys = keys

    def compose(self) -> ComposeResult:
        keys = Table(box=None, show_header=False, pad_edge=False)
        keys.add_column(style="bold cyan", no_wrap=True)
        keys.add_column()
        for key, what in self.keys:
            keys.add_row(key, what)
        panes = Table(box=None, show_header=False, pad_edge=False)
        panes.add_column(style="bold", no_wrap=True)
        panes.add_column()
        for name, what in PANES:
            panes.add_row(name, what)
        with VerticalScroll(classes="dialog help-dialog", id="help"):
            yield Static(Text("backprop-tui · keys", style="bold"), classes="dialog-title")
            yield Static(Text("One iteration is: forward L1 … Ln → loss → backward Ln … L1 → "
                              "update. Each key press runs one step (or more) and every pane "
                              "shows what it produced.", style="italic"))
            yield Static(keys)
            yield Static(Text("panes", style="bold"), classes="dialog-title")
            yield Static(panes)
            yield Static(Text("escape closes this help", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
