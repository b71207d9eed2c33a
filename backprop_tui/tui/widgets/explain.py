"""The explain view's panes: the explanation of one entry (:class:`ExplainPane`: the engine's
text — formula, the same with the numbers, the terms largest first, their sum, the grids, the
notes), the entries that feed it (:class:`InputsPane`: largest contribution first, one
selected) and the tensor the selected one comes from with every entry that feeds the explained
one marked (:class:`SourcePane`, the tensor pane with marks)."""

from __future__ import annotations

import re

from rich.text import Text

from ...engine.explain import Explanation
from ...engine.layers import dims
from .. import render
from ..explainsession import Fed
from ..render.numtext import first_fit
from .lines import CachedLines
from .tensor import TensorPane


def fold_line(line: str, width: int, indent: int = 6) -> list[str]:
    """``line`` in lines of at most ``width`` characters, broken after a blank or a product's
    ``·`` and never inside a number; the lines after the first indented ``indent`` (the
    engine's text wraps a term's label under its deep value column, where a long product does
    not fit a narrow pane)."""
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    tokens = re.split(r"(?<=[ ·])", line[lead:])
    out: list[str] = []
    cur = line[:lead]
    for tok in tokens:
        if len(cur) + len(tok.rstrip()) > width and cur.strip():
            out.append(cur.rstrip())
            cur = " " * min(indent, lead + 2)
            tok = tok.lstrip()
        cur += tok
    if cur.strip():
        out.append(cur.rstrip())
    return out


class ExplainPane(CachedLines, can_focus=False):
    """One :class:`Explanation`, as many of its terms as the pane's height holds."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.explanation: Explanation | None = None
        #: the entry as the tensor pane shows it, when that is not the explained value (the
        #: update row shows Δ = after − before; explain gives the value after)
        self.shown: tuple[str, float] | None = None
        self.first_line = 0  #: the first line shown, when the explanation is taller than the pane
        self.border_title = "Explain"

    def show(self, e: Explanation, shown: tuple[str, float] | None = None) -> None:
        self.explanation = e
        self.shown = shown
        self.first_line = 0
        where = f"{e.entry.layer}.{e.entry.tensor}"
        at = f"{e.entry.tensor}[{', '.join(map(str, e.entry.index))}]"
        self.set_title_forms(f"Explain · {where}[{', '.join(map(str, e.entry.index))}]",
                             f"Explain · {e.entry.layer} · {at}", at, "Explain")
        self.refresh()

    def scroll_lines(self, delta: int) -> None:
        """Scroll an explanation taller than the pane (its grids at 80×24) by ``delta`` lines."""
        self.first_line = max(0, self.first_line + delta)
        self.refresh()

    def lines(self, width: int, height: int) -> list[str]:
        """The explanation in ``width`` columns, with as many terms as ``height`` lines hold
        (at least 3: then the pane scrolls)."""
        e = self.explanation
        assert e is not None
        extra = []
        if self.shown is not None:
            name, value = self.shown
            extra = [f"the pane shows {name} = {render.fmt(value)} = after − before"]
        lines: list[str] = []
        for k in (8, 6, 4, 3):  # as many terms as fit the pane
            text = e.text(width=width, max_terms=k).split("\n") + extra
            lines = [part for line in text for part in fold_line(line, width)]
            if len(lines) <= height:
                break
        return lines

    def render(self) -> Text:
        e = self.explanation
        if e is None:
            return Text("nothing explained", style="dim")
        width = max(20, self.content_size.width)
        height = max(2, self.content_size.height)
        lines = self.lines(width, height)
        more = len(lines) > height
        if more:  # a window of the lines, and a last line that says what is below
            self.first_line = min(self.first_line, len(lines) - (height - 1))
            first = self.first_line
            below = len(lines) - (first + height - 1)
            shown = lines[first:first + height - 1]
        else:
            self.first_line, first, below, shown = 0, 0, 0, lines
        out = Text(no_wrap=True, overflow="crop", end="")
        for n, line in enumerate(shown):
            if n:
                out.append("\n")
            if n + first == 0:
                style = "bold"
            elif line.startswith("  · "):
                style = "italic"
            elif line.lstrip().startswith("= "):
                style = "bold"
            else:
                style = ""
            out.append(line, style=style)
        if more:
            out.append("\n")
            out.append_text(first_fit([
                [(f"{below} more line{'s' if below != 1 else ''} below, {first} above · "
                  "pgdn pgup scroll", "dim italic")],
                [(f"{below} below, {first} above · pgdn pgup", "dim italic")],
                [("pgdn pgup scroll", "dim italic")]], width))
        return out


class InputsPane(CachedLines, can_focus=False):
    """The entries that feed the explained one, largest contribution first; the selected one
    (``↑ ↓``) is what ``enter`` follows."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.fed: list[Fed] = []
        self.selected = 0
        self.border_title = "Fed by"

    def set_inputs(self, fed: list[Fed], selected: int = 0) -> None:
        self.fed = fed
        self.selected = min(max(selected, 0), max(len(fed) - 1, 0))
        n = len(fed)
        self.set_title_forms(f"Fed by {n} entr{'y' if n == 1 else 'ies'}, largest first",
                             f"Fed by {n}", "Fed by")
        self.refresh()

    def move(self, delta: int) -> None:
        if self.fed:
            self.selected = min(max(self.selected + delta, 0), len(self.fed) - 1)
            self.refresh()

    @property
    def current(self) -> Fed | None:
        return self.fed[self.selected] if self.fed else None

    def render(self) -> Text:
        width = max(10, self.content_size.width)
        height = max(1, self.content_size.height)
        out = Text(no_wrap=True, overflow="crop", end="")
        if not self.fed:
            return first_fit([[("nothing in the network feeds it (data, a parameter, a "
                                "target)", "dim")], [("nothing in the network feeds it", "dim")],
                              [("nothing feeds it", "dim")]], width)
        cur = self.current
        assert cur is not None
        same = sum(1 for f in self.fed if (f.entry.layer, f.entry.tensor) ==
                   (cur.entry.layer, cur.entry.tensor))
        what = f"{cur.entry.layer}.{cur.entry.tensor}"
        legend = first_fit([
            [("▸ ◆", "bold"), (f" below: the {same} entries of {what} that feed it · ", "dim"),
             ("[ ]", "bold"), (" the selected one", "dim")],
            [("▸ ◆", "bold"), (f" below: the {same} of {what} that feed it", "dim")],
            [("▸ ◆", "bold"), (" below: they feed it", "dim")]], width)
        lines = [legend]
        rows = max(1, height - 1)
        first = min(max(0, self.selected - rows // 2), max(0, len(self.fed) - rows))
        for k in range(first, min(len(self.fed), first + rows)):
            f = self.fed[k]
            mark = "›" if k == self.selected else " "
            short = f"{f.entry.tensor}[{', '.join(map(str, f.entry.index))}]"
            name = f"{f.entry.layer}.{short}"
            value = "" if f.value is None else f" = {render.fmt(f.value)}"
            when = " before the update" if f.before else ""
            share = f"  term {render.fmt(f.term)}" if f.term else ""
            style = "reverse bold" if k == self.selected else ""
            # the longest wording that fits: the layer's name goes before a number does
            lines.append(first_fit([[(f"{mark} {name}{value}", style), (when, "dim"),
                                     (share, "dim")],
                                    [(f"{mark} {name}{value}", style), (when, "dim")],
                                    [(f"{mark} {name}{value}", style)],
                                    [(f"{mark} {short}{value}", style), (share, "dim")],
                                    [(f"{mark} {short}{value}", style)],
                                    [(f"{mark} {short}", style)]], width))
        for n, line in enumerate(lines):
            if n:
                out.append("\n")
            out.append_text(line)
        return out


class SourcePane(TensorPane, can_focus=False):
    """The tensor pane over the tensor an input comes from: its entries that feed the
    explained one marked, the cursor on the selected input. Not focusable: the arrows choose
    among the inputs. A parameter the update has changed since the backward step is shown as
    the update found it (``before``: the values that fed the gradient)."""

    before = False  #: the shown tensor is a parameter before the update

    def _update_title(self) -> None:
        super()._update_title()
        it = self.item
        if it is not None and it.array is not None:
            shape = dims(it.array.shape)
            what = "The entry itself" if self.own else "Where it comes from"
            key = f"{it.key} before the update" if self.before else it.key
            self.set_title_forms(f"{what} · {self.row_name} · {key} ({shape})",
                                 f"{self.row_name} · {key} ({shape})", key, it.key)
        self.border_subtitle = "[ ] the entry" if self.own else "▸ ◆ feed it · [ ] selected"
