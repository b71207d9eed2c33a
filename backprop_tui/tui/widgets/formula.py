"""The formula pane: the selected row's forward and backward equations, each with the shapes
it works on in this network (batch size N = the current batch)."""

from __future__ import annotations

import re

from rich.console import Group
from rich.padding import Padding
from rich.text import Text

from ..session import Formula
from .lines import CachedLines


class FormulaPane(CachedLines, can_focus=True):
    """Renders :meth:`DebugSession.formulas` for the selected row."""

    WRAP = True

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.formulas: list[Formula] = []
        self.row_name = ""
        self.n = 0
        self.border_title = "Formula · shapes are (rows×cols), N = batch"

    def set_formulas(self, formulas: list[Formula], row_name: str, n: int | None) -> None:
        """``n``: the batch size the shapes are for; None where there is no batch (a graph
        node's rules)."""
        self.formulas = formulas
        self.row_name = row_name
        self.n = n or 0
        if n is None:
            self.set_title_forms(f"Formula · {row_name}", row_name)
        else:
            self.set_title_forms(f"Formula · {row_name} · N = {n} samples",
                                 f"Formula · {row_name} · N = {n}", f"{row_name} · N = {n}",
                                 row_name)
        self.refresh()

    def render(self) -> Group | Text:
        if not self.formulas:
            return Text("no equations for this row", style="dim")
        width = max(20, self.content_size.width)
        parts: list = []  # Padding keeps wrapped lines indented under their equation
        last = None
        heads = {"forward": "forward ↓", "backward": "backward ↑", "update": "update"}
        for f in self.formulas:
            if f.direction != last:
                if last is not None:
                    parts.append(Text(""))
                parts.append(Text(heads[f.direction], style="bold underline"))
                last = f.direction
            # the engine pads comments with runs of spaces: equation bold, comment dim
            eq, _, comment = re.sub(r"\s{3,}", "\0", f.equation).partition("\0")
            comment = comment.replace("\0", "  ")
            line = Text(eq, style="bold")
            if comment and len(eq) + len(comment) + 6 <= width:
                line.append("  " + comment, style="dim")
                comment = ""
            shapes = f.shapes
            if shapes and not comment and len(line) + len(shapes) + 7 <= width:
                line.append("   ")
                line.append(shapes, style="cyan")
                shapes = ""
            parts.append(Padding(line, (0, 0, 0, 2)))
            if comment:
                parts.append(Padding(Text(comment, style="dim"), (0, 0, 0, 4)))
            if shapes:
                parts.append(Padding(Text(shapes, style="cyan"), (0, 0, 0, 4)))
        return Group(*parts)
