"""The formula pane: the selected row's forward and backward equations, each with the shapes
it works on in this network (batch size N = the current batch)."""

from __future__ import annotations

import re

from rich.text import Text
from textual.widget import Widget

from ..session import Formula


class FormulaPane(Widget, can_focus=True):
    """Renders :meth:`DebugSession.formulas` for the selected row."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.formulas: list[Formula] = []
        self.row_name = ""
        self.n = 0
        self.border_title = "Formula · shapes are (rows×cols), N = batch"

    def set_formulas(self, formulas: list[Formula], row_name: str, n: int) -> None:
        self.formulas = formulas
        self.row_name = row_name
        self.n = n
        self.border_title = f"Formula · {row_name} · shapes with N = {n}"
        self.refresh()

    def render(self) -> Text:
        text = Text(end="")
        width = max(20, self.content_size.width)
        last = None
        heads = {"forward": "forward ↓", "backward": "backward ↑", "update": "update"}
        for f in self.formulas:
            if f.direction != last:
                if last is not None:
                    text.append("\n")
                text.append(heads[f.direction] + "\n", style="bold underline")
                last = f.direction
            # the engine pads comments with runs of spaces: equation bold, comment dim
            eq, _, comment = re.sub(r"\s{3,}", "\0", f.equation).partition("\0")
            text.append("  ")
            text.append(eq, style="bold")
            if comment:
                text.append("  " + comment.replace("\0", "  "), style="dim")
            if f.shapes:
                # same line when it fits, else on its own, indented
                if len(f.equation) + len(f.shapes) + 5 <= width and not comment:
                    text.append("   ")
                else:
                    text.append("\n    ")
                text.append(f.shapes, style="cyan")
            text.append("\n")
        if not self.formulas:
            text.append("no equations for this row", style="dim")
        return text
