"""The network pane: the layers top to bottom, where the next step runs, breakpoints, progress
through the iteration. Up/down select the row the other panes show."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from ...engine.layers import dims
from ..session import Row
from .lines import CachedLines


class NetworkPane(CachedLines, can_focus=True):
    """Renders :meth:`DebugSession.rows`; owns the selected row."""

    BINDINGS = [
        Binding("up", "move(-1)", "layer up", show=False),
        Binding("down", "move(1)", "layer down", show=False),
        Binding("home", "jump(0)", show=False),
        Binding("end", "jump(-1)", show=False),
    ]

    COMPONENT_CLASSES = {"network--cursor", "network--cursor-unfocused"}

    selected: reactive[int] = reactive(0)

    class Selected(Message):
        """The selected row changed."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.rows: list[Row] = []
        self.status: dict = {}
        self.border_title = "Network · layers"

    def set_rows(self, rows: list[Row], status: dict) -> None:
        self.rows = rows
        self.status = status
        if self.selected >= len(rows):
            self.selected = max(0, len(rows) - 1)
        self.border_subtitle = (
            f"iteration {status['iteration']} · step {min(status['position'], status['steps'])}"
            f"/{status['steps']}"
        )
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.selected = (self.selected + delta) % len(self.rows)

    def action_jump(self, where: int) -> None:
        if self.rows:
            self.selected = where % len(self.rows)

    def watch_selected(self, old: int, new: int) -> None:
        if old != new:
            self.post_message(self.Selected(new))
        self.refresh()

    def render(self) -> Text:
        width = max(10, self.content_size.width)
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if not self.rows:
            return text
        name_w = max(len(r.name) for r in self.rows)
        shape_w = max(len(dims(r.out_shape)) for r in self.rows if r.kind == "layer")
        shape_w = max(shape_w, len("output"))
        full_params = max(len(f"{r.params:,}") for r in self.rows)
        kind_w = min(16, max(len(r.describe) for r in self.rows if r.kind == "layer"))
        # columns: marker 2, breakpoint 1, label 4, name, [kind], shape, params, done 2
        show_label, compact_params = True, False
        param_w = max(full_params, len("params"))

        def fixed() -> int:
            return 3 + (4 if show_label else 0) + name_w + 1 + shape_w + 1 + param_w + 1 + 2

        if fixed() > width:
            show_label = False
        if fixed() > width:
            compact_params = True
            param_w = max(len(_compact(r.params)) for r in self.rows)
        show_kind = fixed() + kind_w + 1 <= width
        if not show_kind and fixed() + 8 <= width:
            show_kind, kind_w = True, width - fixed() - 1
        head = Text(style="dim", end="")
        head.append("   " + ("    " if show_label else ""))
        head.append(f"{'layer':<{name_w}} ")
        if show_kind:
            head.append(f"{'kind':<{kind_w}} ")
        head.append(f"{'output':>{shape_w}} {'params' if not compact_params else '#':>{param_w}}")
        head.append(" ↓↑")
        trained = self.status.get("from_training")
        roomy = self.app.size.height >= 30
        if trained and not roomy:  # no spare line: it replaces the column headings
            head = _from_training(trained, width)
        text.append_text(head)
        text.append("\n")
        for n, r in enumerate(self.rows):
            sel = n == self.selected
            base: Style | str = ""
            if sel:
                base = self.get_component_rich_style(
                    "network--cursor" if self.has_focus else "network--cursor-unfocused")
            # marker column: ▶ on the row of the next step, with its direction
            if r.next_phase:
                arrow = {"forward": "▶↓", "backward": "▶↑", "loss": "▶ ", "update": "▶ "}
                text.append(arrow.get(r.next_phase, "▶ "), style="bold magenta")
            else:
                text.append("  ")
            bp = "●" if (r.bp_forward or r.bp_backward) else " "
            text.append(bp, style="bold red")
            line = Text(style=base, end="")
            if show_label:
                line.append(f"{r.label:>3} " if r.label else "    ", style="dim")
            line.append(f"{r.name:<{name_w}} ")
            if r.kind == "layer":
                if show_kind:
                    line.append(f"{_abbreviate(r.describe, kind_w):<{kind_w}} ", style="cyan")
                line.append(f"{dims(r.out_shape):>{shape_w}} ")
                count = _compact(r.params) if compact_params else f"{r.params:,}"
                line.append(f"{count:>{param_w}}" if r.params else f"{'–':>{param_w}}",
                            style="green")
                line.append(" ")
                line.append("↓" if r.forward_done else "·", style="green" if r.forward_done
                            else "dim")
                line.append("↑" if r.backward_done else "·", style="green" if r.backward_done
                            else "dim")
            else:
                line.append(r.describe, style="cyan")
                if r.forward_done:
                    line.append(" ✓", style="green")
            text.append_text(line)
            text.append("\n")
        s = self.status
        text.append("next ", style="dim")
        text.append(s["next"] if s["phase"] != "complete" else
                    "forward L1 on the next batch", style="bold")
        text.append("\n")
        text.append("batch ", style="dim")
        text.append(f"{s['batch'] + 1}/{s['batches']}")
        text.append(f" of epoch {s['epoch'] + 1} · {s['n']} samples", style="dim")
        if trained and roomy:
            text.append("\n")
            text.append_text(_from_training(trained, width))
        if roomy:
            text.append("\n")
            text.append("▶ next step · ● breakpoint · ↓↑ done", style="dim")
        return text


def _from_training(trained: tuple[int, int], width: int) -> Text:
    """``from training: after iteration 1,200 (epoch 2)``, or a shorter form that fits
    ``width``: where the weights of the dashboard's copy come from (this stepper counts its
    own iterations from 0)."""
    it, epoch = trained
    if it == 0:
        forms = [("from training: ", "the initial weights"), ("trained: ", "not yet")]
    else:
        forms = [("from training: ", f"after iteration {it:,} (epoch {epoch})"),
                 ("from training: ", f"iteration {it:,}, epoch {epoch}"),
                 ("trained: ", f"iteration {it:,}, epoch {epoch}"),
                 ("trained: ", f"{it:,} iterations"),
                 ("trained: ", f"{it:,}")]
    label, what = next((f for f in forms if len(f[0]) + len(f[1]) <= width), forms[-1])
    text = Text(end="")
    text.append(label, style="dim")
    text.append(what, style="bold")
    return text


def _compact(n: int) -> str:
    """432100 → 432k, 1010 → 1.0k: parameter counts in a narrow pane."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n // 1000}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def _abbreviate(describe: str, width: int) -> str:
    """``Affine 784→200`` in ``width`` characters, never with a number cut short (``784→20``):
    what follows the kind's name (``784→200``: the row's name says the kind), else the kind's
    name (``Affine``), else its first words that fit (``MaxPool2D 2×2 stride 2`` → ``2×2``)."""
    if len(describe) <= width:
        return describe
    kind, *words = describe.split()
    for form in (" ".join(words), kind):
        if len(form) <= width:
            return form
    while words and len(" ".join(words)) > width:
        words.pop()
    return " ".join(words)
