"""The tensor pane: one tensor of the selected row as a heatmap (or picture, or bitmap), with its
statistics, a legend, how it was laid out, and a cell cursor showing one exact entry.

Small tensors (xor's 4×6 activations, 2×6 W; iris's inputs and scores) print their numbers
instead (``render.numbers``: ``fmt`` of every entry on its heatmap colour, index labels
``n=0``/``j=0`` when they fit): all of them when the full-size grid fits the pane at ≥ 8
characters a column (3 for integers and masks, which print ``True``/``False``). A 1-D or 2-D
tensor that does not fit but is not big either (iris's 10×20 activations and 20×20 W, xor's
4×6 at 80×24) prints a *window* (``render.numbers_window``): a block of whole rows and columns
around the cursor, labelled with the true indices, that follows the cursor; the header says
which part is shown ("columns j=8…13 of 20"). Long vectors wrap into lines. Big tensors (see
``render.numbers_plan.WINDOW_MIN_SHARE``) stay heatmaps; the header says "colours only" and
when zooming the pane (``z``) would show the numbers.

It only lays out and draws what the engine produced (``TensorItem.array``); all drawing of
arrays, and the choice between numbers, a window and colours (``render.numbers_plan``), is in
:mod:`backprop_tui.tui.render`.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from ...engine.layers import dims
from .. import render
from ..render import winners as winners_mod
from ..render.colour_pictures import colour_shape
from ..render.numbers_plan import NumbersPlan, WindowPlan, numbers_plan, window_words
from ..render.numtext import all_digits, first_fit, fold
from ..render.pictures import image_kind
from ..render.winners import WinnersView
from ..session import TensorItem
from .lines import CachedLines

FOOTER_LINES = 2  # legend, cursor


class TensorPane(CachedLines, can_focus=True):
    """Shows one :class:`TensorItem` of the selected row; ``[``/``]`` choose which."""

    BINDINGS = [
        Binding("up", "cursor(-1, 0)", "cursor up", show=False),
        Binding("down", "cursor(1, 0)", "cursor down", show=False),
        Binding("left", "cursor(0, -1)", "cursor left", show=False),
        Binding("right", "cursor(0, 1)", "cursor right", show=False),
        Binding("pageup", "cursor(-8, 0)", show=False),
        Binding("pagedown", "cursor(8, 0)", show=False),
        Binding("home", "cursor_home", show=False),
    ]

    image_mode: reactive[bool] = reactive(False)

    class Changed(Message):
        """The shown tensor changed (so the app can say which)."""

        def __init__(self, key: str | None) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.items: list[TensorItem] = []
        self.key: str | None = None
        #: the tensor asked for (with [ ] or by the last step); kept while moving through rows
        #: that do not have it
        self.wanted: str | None = None
        self.row_name = ""
        self.cursor = (0, 0)
        self.sample = 0
        self.view: Any = None
        self._grid: tuple[int, int] = (0, 0)  # rows, cols of the last drawn grid
        self._stats_cache: dict[int, tuple[np.ndarray, Any]] = {}
        self._draw_cache: tuple[tuple, Any] | None = None
        self.shows_numbers = False  #: the last grid drawn printed its values (render.numbers)
        #: the numbers window drawn last (None: all numbers, or colours), where it started,
        #: and a wrapped vector's values per line (the arrows move over lines)
        self.window: render.NumbersWindow | None = None
        self._win_start: tuple[int, int] = (0, 0)
        self._per_line = 0
        self._strings_cache: tuple[np.ndarray, list[list[str]]] | None = None
        #: a max-pool's switches drawn as arrows: what was laid out last (paging: the first
        #: channel shown moves when the cursor passes an edge)
        self.winners: WinnersView | None = None
        self._chan0 = 0
        #: true indices of the shown tensor to point out (the entries that feed an explained
        #: one), and the entry the cursor is to go to at the next drawing (:meth:`point_at`)
        self.marks: frozenset[tuple[int, ...]] = frozenset()
        self._goto: tuple[int, ...] | None = None
        #: the cell the cursor was put on for ``_goto`` (a downsampled cell stands for a block:
        #: there the cursor is on ``_goto`` itself, not on the block's first entry)
        self._goto_cell: tuple[int, int] | None = None
        self.border_title = "Tensor"

    # -- state --------------------------------------------------------------------------------
    @property
    def item(self) -> TensorItem | None:
        for it in self.items:
            if it.key == self.key:
                return it
        return None

    def set_items(self, items: list[TensorItem], row_name: str) -> None:
        """New tensors for the selected row; keeps the tensor of the same name if there is one,
        else the first tensor that has values."""
        changed_row = row_name != self.row_name
        self.items = items
        self.row_name = row_name
        keys = [it.key for it in items]
        if self.wanted in keys:  # the user's (or the step's) choice, when this row has it
            if self.key != self.wanted:
                self.cursor = (0, 0)
            self.key = self.wanted
        elif self.key not in keys:
            ready = [it.key for it in items if it.ready]
            self.key = ready[0] if ready else (keys[0] if keys else None)
            self.cursor = (0, 0)
        if changed_row:
            self.sample = 0
            self._chan0 = 0
        # the caches are keyed by the array's identity, and parameters change in place (an
        # update, `t`, `c` through an update): new items may hold new values in the same array,
        # so the caches only serve redraws of one state (cursor moves, resizes)
        self._stats_cache = {}
        self._strings_cache = None
        self._draw_cache = None
        self._update_title()
        self.refresh()

    def cycle(self, delta: int) -> None:
        if not self.items:
            return
        keys = [it.key for it in self.items]
        i = keys.index(self.key) if self.key in keys else 0
        self.key = self.wanted = keys[(i + delta) % len(keys)]
        self.cursor = (0, 0)
        self._update_title()
        self.post_message(self.Changed(self.key))
        self.refresh()

    def select(self, key: str) -> bool:
        """Show ``key`` (now, if this row has it, and in the rows that have it)."""
        self.wanted = key
        if any(it.key == key for it in self.items):
            self.key = key
            self.cursor = (0, 0)
            self._update_title()
            self.refresh()
            return True
        return False

    def point_at(self, marks: frozenset[tuple[int, ...]], at: tuple[int, ...] | None) -> None:
        """Mark ``marks`` (true indices of the shown tensor) and put the cursor on the entry
        ``at`` (a 4-D tensor shows its sample)."""
        self.marks = marks
        self._goto = at  # kept: each drawing puts the cursor on it (until the cursor moves)
        it = self.item
        if at is not None and it is not None and it.array is not None and it.array.ndim == 4:
            self.sample = int(at[0])
        self._draw_cache = None
        self.refresh()

    def cursor_index(self) -> tuple[int, ...] | None:
        """The true index of the entry under the cursor in the shown tensor (None: nothing
        computed). The picture view has no cursor of its own: the entry the grid's cursor was
        on, else the shown sample's first entry."""
        it = self.item
        if it is None or it.array is None:
            return None
        a = it.array
        wv = self.winners
        goto = self._on_goto(a)
        if goto is not None:
            return goto
        try:
            if wv is not None and a.ndim == 4:  # a max-pool's arrows: the window's entry
                r, c = self.cursor
                cur = (r - wv.crop[0], c - wv.crop[1]) if wv.crop else (r, c)
                return tuple(int(i) for i in wv.view.index_of(*cur))
            if self.view is not None and self.view.source is a:
                idx = tuple(int(i) for i in self.view.index_of(*self.cursor))
                if self.image_mode and a.ndim >= 2:  # a picture shows the chosen sample
                    idx = (min(self.sample, a.shape[0] - 1), *idx[1:])
                return idx
        except (IndexError, ValueError):
            pass
        if a.ndim >= 2:
            return (min(self.sample, a.shape[0] - 1),) + (0,) * (a.ndim - 1)
        return (0,) * a.ndim

    def _on_goto(self, a: np.ndarray) -> tuple[int, ...] | None:
        """The entry :meth:`point_at` sent the cursor to, while the cursor is on its cell."""
        goto = self._goto
        if goto is None or self._goto_cell is None or self.cursor != self._goto_cell or \
                len(goto) != a.ndim or not all(0 <= i < n for i, n in zip(goto, a.shape,
                                                                          strict=True)):
            return None
        return tuple(int(i) for i in goto)

    def _mark_cells(self, view: Any, a: np.ndarray) -> np.ndarray | None:
        """The grid cells of ``view`` that hold a marked entry (a downsampled cell: any of
        the entries it stands for)."""
        if not self.marks:
            return None
        marked = np.zeros(a.shape, dtype=bool)
        for idx in self.marks:
            if len(idx) == a.ndim and all(0 <= i < n for i, n in zip(idx, a.shape,
                                                                      strict=True)):
                marked[idx] = True
        rows, cols = view.data.shape
        if not view.downsampled and view.tile is None and a.ndim <= 2:
            return marked.reshape(rows, cols)
        out = np.zeros((rows, cols), dtype=bool)
        for r in range(rows):
            for c in range(cols):
                try:
                    out[r, c] = bool(marked[view.block_of(r, c)].any()) if view.block_of \
                        else bool(marked[view.index_of(r, c)])
                except IndexError:
                    continue
        return out

    def _cell_of(self, view: Any, index: tuple[int, ...]) -> tuple[int, int] | None:
        """The grid cell of ``view`` that stands for the entry ``index`` (or its block)."""
        a = view.source
        if a is None or len(index) != a.ndim:
            return None
        rows, cols = view.data.shape
        if not view.downsampled and view.tile is None and a.ndim <= 2:
            return (0, index[0]) if a.ndim == 1 else (index[0], index[1])
        one = np.zeros(a.shape, dtype=bool)
        one[index] = True
        for r in range(rows):
            for c in range(cols):
                try:
                    if view.index_of(r, c) == index or (
                            view.block_of and one[view.block_of(r, c)].any()):
                        return r, c
                except IndexError:
                    continue
        return None

    def change_sample(self, delta: int) -> None:
        it = self.item
        if it is None or it.array is None or it.array.ndim < 2:
            return
        n = it.array.shape[0]
        self.sample = (self.sample + delta) % n
        self.refresh()

    def _update_title(self) -> None:
        it = self.item
        if it is None:
            self.set_title_forms(f"Tensor · {self.row_name}", self.row_name)
            return
        shape = dims(it.array.shape) if it.array is not None else "not computed yet"
        row, key = self.row_name, it.key
        self.set_title_forms(f"Tensor · {row} · {key} ({shape})", f"{row} · {key} ({shape})",
                             f"{key} ({shape})", f"{row} · {key}", key)
        self.border_subtitle = "[ ] tensor · i picture · , . sample"

    def watch_image_mode(self) -> None:
        self.refresh()

    def action_cursor(self, dr: int, dc: int) -> None:
        self._goto = None
        rows, cols = self._grid
        if rows == 0 or cols == 0:
            return
        r, c = self.cursor
        if self.winners is not None and self._page_winners(r + dr, c + dc, rows, cols):
            return
        per = self._per_line
        if per and rows == 1:  # a vector wrapped into lines: up/down move a line
            if dr:
                lines = -(-cols // per)
                line = min(max(c // per + dr, 0), lines - 1)
                c = min(line * per + c % per, cols - 1)
            self.cursor = (0, min(max(c + dc, 0), cols - 1))
        else:
            self.cursor = (min(max(r + dr, 0), rows - 1), min(max(c + dc, 0), cols - 1))
        self.refresh()

    def action_cursor_home(self) -> None:
        self._goto = None
        self.cursor = (0, 0)
        self._chan0 = 0
        self.refresh()

    def _page_winners(self, r: int, c: int, rows: int, cols: int) -> bool:
        """The cursor passed an edge of the max-pool arrows: show the next (right, down) or
        previous (left, up) channels, the cursor on the matching edge. False when there are no
        more channels that way (the cursor then stops at the edge)."""
        wv = self.winners
        assert wv is not None
        step = wv.per_page
        if (r >= rows or c >= cols) and wv.first + wv.count < wv.channels:
            self._chan0 = wv.first + step
            self.cursor = (0 if r >= rows else r, 0 if c >= cols else c)
        elif (r < 0 or c < 0) and wv.first > 0:
            self._chan0 = max(0, wv.first - step)
            self.cursor = (rows - 1 if r < 0 else r, cols - 1 if c < 0 else c)
        else:
            return False
        self.refresh()
        return True

    # -- drawing ------------------------------------------------------------------------------
    def _stats(self, a: np.ndarray):
        hit = self._stats_cache.get(id(a))
        if hit is not None and hit[0] is a:
            return hit[1]
        s = render.tensor_stats(a)
        self._stats_cache[id(a)] = (a, s)
        return s

    def _tabs(self, width: int) -> Text:
        """`` x   y  │  W   b  │  dout   dW …``: the row's tensors, the shown one reversed;
        closer together when they do not fit the pane otherwise."""
        for pad, gap, bar in ((" ", " ", " │ "), ("", " ", " │ "), ("", " ", "│")):
            text = Text(no_wrap=True, overflow="ellipsis", end="")
            for n, it in enumerate(self.items):
                if n:
                    prev = self.items[n - 1].role
                    text.append(bar if _group(prev) != _group(it.role) else gap, style="dim")
                style = "reverse bold" if it.key == self.key else ("" if it.ready else "dim")
                text.append(f"{pad}{it.key}{pad}", style=style)
            if cell_len(text.plain) <= width:
                break
        return text

    def render(self) -> Text:
        parts = self._parts()
        it = self.item
        pending = it is None or it.array is None  # a sentence to read: let it wrap
        out = Text(no_wrap=not pending, overflow="fold" if pending else "crop", end="")
        for n, part in enumerate(parts):
            if n:
                out.append("\n")
            out.append_text(part)
        return out

    def _parts(self) -> list[Text]:
        width = max(1, self.content_size.width)
        height = max(1, self.content_size.height)
        it = self.item
        if it is None:
            return [Text("select a layer in the network pane", style="dim")]
        compact = height < 16  # 80×24: every line counts; the border title names the tensor
        head = [self._tabs(width)]
        if not compact:  # what the tensor is: on two lines rather than cut
            lines = textwrap.wrap(it.title, width) or [""]
            title = "\n".join([lines[0], " ".join(lines[1:])] if len(lines) > 1 else lines)
            head.append(Text(title, style="bold", no_wrap=True, end=""))
        if it.array is None:
            if compact:
                head.append(Text(it.title, style="bold", no_wrap=True, overflow="ellipsis"))
            head.append(Text(it.source, style="italic"))
            return head
        a = it.array
        if not compact:
            head.append(Text(it.source, style="dim", no_wrap=True, overflow="ellipsis"))
        # at 80×24 the border title already says the shape: the stats wrap without it
        head.append(render.format_stats(self._stats(a), width=width, shape=not compact))
        used = sum(1 + t.plain.count("\n") for t in head)
        budget_rows = max(1, height - used - 1 - FOOTER_LINES)
        self.winners = None
        grid = self._winner_grid(it)
        if grid is not None:
            return head + self._draw_winners(grid, it, width, budget_rows)
        kind = image_kind(it) if self.image_mode else None
        if self.image_mode and kind is None:
            head.append(Text("picture mode is for image-shaped data (MNIST inputs, feature maps, "
                             "conv filters); showing the heatmap", style="dim italic"))
            budget_rows -= 1
        if kind is not None:
            return head + self._draw_picture(a, it, kind, width, budget_rows)
        # the room a zoomed pane (z: the whole screen but its frame) would give the grid
        screen = self.screen.size
        zoomed = (screen.width - 4,
                  budget_rows + screen.height - 3 - height - (3 if compact else 0))
        return head + self._draw_grid(a, it, width, budget_rows, zoomed)

    def _draw_grid(self, a: np.ndarray, it: TensorItem, width: int, rows: int,
                   zoomed: tuple[int, int] = (0, 0)) -> list:
        cell = 2
        max_cols = max(1, (width - 1) // cell)
        sample = min(self.sample, a.shape[0] - 1) if a.ndim == 4 else 0
        key = (id(a), a.shape, rows, width, sample, self.cursor, it.key, self.is_maximized,
               zoomed, self._win_start, self.marks, self._goto)
        if self._draw_cache is not None and self._draw_cache[0] == key:
            return self._draw_cache[1]
        kind = "weight" if a.ndim == 4 and it.role in ("param", "delta") or \
            (a.ndim == 4 and it.key == "dW") else "activation"
        plan = numbers_plan(a, it, self.items, width, rows,
                            (0, 0) if self.is_maximized else zoomed, self._strings)
        win = None
        legend_line = True  # False: the numbers took the legend's line
        if isinstance(plan, NumbersPlan | WindowPlan):  # numbers: the cursor moves over all
            grid = a.reshape(1, -1).shape if a.ndim < 2 else a.shape
            view = render.layout(a, max_rows=grid[0], max_cols=grid[1])
        else:
            view = render.layout(a, max_rows=max(1, rows), max_cols=max_cols, sample=sample,
                                 kind=kind)
        r, c = self._same_entry(view, a)
        if self._goto is not None:  # the entry the cursor was sent to (point_at): found
            # again at every drawing (a resize may change the downsampling) until it moves
            found = self._cell_of(view, self._goto)
            r, c = found or (r, c)
            self._goto_cell = found
        self.view = view
        marks = self._mark_cells(view, a)
        grid_rows, grid_cols = view.data.shape
        self._grid = (grid_rows, grid_cols)
        r, c = max(0, min(r, grid_rows - 1)), max(0, min(c, grid_cols - 1))
        self.cursor = (r, c)
        if isinstance(plan, WindowPlan):
            win = render.numbers_window(a, max_width=width, max_lines=rows, cursor=(r, c),
                                        start=self._win_start, names=plan.names,
                                        width=plan.width, strings=self._strings(a),
                                        marks=marks)
            if win is not None and not win.whole and self.content_size.height < 16:
                # 80×24: the legend's line, if it lets every number show (in blocks of columns)
                wider = render.numbers_window(a, max_width=width, max_lines=rows + 1,
                                              cursor=(r, c), names=plan.names,
                                              width=plan.width, strings=self._strings(a),
                                              marks=marks)
                if wider is not None and wider.blocks > 1:
                    win, legend_line = wider, False
            if win is None:  # not even one column fits (the checks before are estimates)
                plan = None
                view = render.layout(a, max_rows=max(1, rows), max_cols=max_cols)
                r, c = self._same_entry(view, a)
                self.view = view
                marks = self._mark_cells(view, a)
                self._grid = view.data.shape
                r, c = self.cursor = (min(r, self._grid[0] - 1), min(c, self._grid[1] - 1))
        self.window = win
        self._win_start = win.start if win is not None else (0, 0)
        self._per_line = win.per_line if win is not None else 0
        self.shows_numbers = isinstance(plan, NumbersPlan | WindowPlan)
        where = Text(no_wrap=True, overflow="ellipsis", end="")
        if win is not None:
            assert isinstance(plan, WindowPlan)
            where.append("numbers", style="bold")
            where.append_text(window_words(win, plan, a))
            where.append(" · ", style="dim")
            where.append(plan.axes)
        elif isinstance(plan, NumbersPlan):
            where.append("numbers", style="bold")
            if len(plan.axes) + 20 <= width:
                where.append(f", {view.how}", style="dim")
            where.append(" · ", style="dim")
            where.append(plan.axes)
        else:
            if not view.downsampled and view.tile is None and grid_cols:
                # small tensors: wider cells read better than a 2-character strip
                cell = max(2, min(6, (width - 1) // grid_cols))
            if view.downsampled:
                where.append(view.how, style="yellow")
            else:
                where.append("colours only", style="bold")
                if width >= 60 or not plan:
                    where.append(f", {view.how}", style="dim")
            if plan:  # numbers would show when zoomed: say so
                where.append(f" · {plan}", style="dim")
            if view.row_label or view.col_label:
                where.append(" · rows: ", style="dim")
                where.append(view.row_label or "–")
                where.append(" · cols: ", style="dim")
                where.append(view.col_label or "–")
        if view.data.size == 0:
            out = [where, Text("(empty)", style="dim")]
        elif isinstance(plan, NumbersPlan | WindowPlan):
            if win is not None:
                body = win.text
            else:
                assert isinstance(plan, NumbersPlan)
                body = render.numbers(view, cursor=(r, c), width=plan.width,
                                      row_labels=plan.row_labels, col_labels=plan.col_labels,
                                      marks=marks)
            if view.data.dtype == np.bool_:
                legend = Text(end="")
                legend.append("mask: ", style="dim")
                legend.append(" True ", style="reverse bold")
                legend.append("  ")
                legend.append("False", style="dim")
                legend.append("  as numpy prints them", style="dim")
            else:
                legend = self._legend(view, it, width)
            out = [where, body, *([legend] if legend_line else []),
                   self._cursor_line(view, r, c, it.key, width)]
        elif view.data.dtype == np.bool_:
            body = render.bitmap(view, cursor=(r, c), marks=marks)
            legend = Text("mask: ██ True   · False", style="dim")
            out = [where, body, legend, self._cursor_line(view, r, c, it.key, width)]
        else:
            scale = render.auto_scale(view.data)
            body = render.heatmap(view, scale=scale or None, cursor=(r, c), cell=cell,
                                  marks=marks)
            out = [where, body, self._legend(view, it, width),
                   self._cursor_line(view, r, c, it.key, width)]
        if len(where.plain) > width and len(out) > 1 and \
                out[1].plain.count("\n") + 1 < rows:  # a spare line: fold rather than cut
            out[0] = fold(where, width)
        self._draw_cache = (key, out)
        return out

    # -- a max-pool's switches: one arrow per window -------------------------------------------
    def _winner_grid(self, it: TensorItem) -> np.ndarray | None:
        """Which entry won each window of the shown sample, (1, C, OH, OW), for a tensor that
        says so (a max-pool's ``argmax``, or its ``switches`` — read through ``argmax`` when
        the windows overlap). One sample only: all 32 of mnist-cnn's took 7 ms, one 0.04 ms."""
        if it.window is None or it.array is None or it.array.ndim != 4:
            return None
        s = min(self.sample, it.array.shape[0] - 1)
        grid = winners_mod.winner_grid(it.array[s:s + 1], it.window)
        if grid is None:
            for other in self.items:
                if other.window == it.window and other.array is not None and \
                        other.array.dtype != np.bool_ and other.array.ndim == 4:
                    grid = winners_mod.winner_grid(other.array[s:s + 1], it.window)
        return grid

    def _draw_winners(self, grid: np.ndarray, it: TensorItem, width: int, rows: int) -> list:
        assert it.window is not None
        size = it.window[0]
        assert it.array is not None
        sample = min(self.sample, it.array.shape[0] - 1)
        x = next((o.array for o in self.items if o.key == "x"), None)
        ties = None
        if x is not None and x.ndim == 4 and x.shape[1] == grid.shape[1] and \
                x.shape[0] == it.array.shape[0]:
            ties = winners_mod.window_ties(x[sample], it.window)
            if ties.shape != grid.shape[1:]:
                ties = None
        cell = winners_mod.winners_cell(size)
        wv, where = None, Text()
        for lines in (1, 2, 3):  # the header may fold; a cropped channel gives up rows for it
            wv = winners_mod.winners_view(grid, sample, self._chan0, max_rows=rows - lines + 1,
                                          max_cols=max(1, width // cell), cursor=self.cursor,
                                          ties=ties)
            parts = [(w, "dim") for w in wv.words]
            more = [("move past an edge for more", "dim")] if wv.count < wv.channels else []
            # the longest header in `lines` lines (the legend says what the arrows are)
            for words in ([("which entry won each window", "bold"), *parts, *more],
                          [*parts, *more], [*(parts if wv.crop else parts[:1]), *more]):
                where = render.join_parts(words, width)
                if where.plain.count("\n") < lines:
                    break
            where.no_wrap, where.end = True, ""
            if where.plain.count("\n") < lines or rows - lines < 2:
                break
        assert wv is not None
        self.winners, self._chan0 = wv, wv.first
        self.view = wv.view
        self._grid = grid.shape[2:] if wv.crop else wv.view.data.shape
        r = max(0, min(self.cursor[0], self._grid[0] - 1))
        c = max(0, min(self.cursor[1], self._grid[1] - 1))
        self.cursor = (r, c)
        cur = (r - wv.crop[0], c - wv.crop[1]) if wv.crop else (r, c)
        body = winners_mod.winners(wv, size, cursor=cur)
        return [where, body, winners_mod.winners_legend(size, width),
                self._winner_cursor_line(wv, cur, it, grid, x, width)]

    def _winner_cursor_line(self, wv: WinnersView, cur: tuple[int, int], it: TensorItem,
                            grid: np.ndarray, x: np.ndarray | None, width: int) -> Text:
        """``cursor argmax[0, 3, 2, 5] = 1 top-right: x[0, 3, 4, 11] = 0.734 won`` (the
        switches name the window instead), in as many whole parts as fit ``width``."""
        assert it.window is not None
        size, stride, pad = it.window
        text = Text(no_wrap=True, overflow="crop", end="")
        try:
            n, ch, i, j = wv.view.index_of(*cur)
        except IndexError:
            return text
        q = int(grid[0, ch, i, j])
        di, dj = divmod(q, size)
        xi, xj = i * stride - pad + di, j * stride - pad + dj
        if it.array is not None and it.array.dtype == np.bool_:  # switches: name the window
            where = f"window ({n}, {ch}, {i}, {j})"
        else:
            where = f"{it.key}[{n}, {ch}, {i}, {j}] = {q}"
        won = f"x[{n}, {ch}, {xi}, {xj}]"
        if x is not None and x.ndim == 4 and 0 <= xi < x.shape[2] and 0 <= xj < x.shape[3]:
            won += f" = {render.fmt(x[n, ch, xi, xj])}"
        tied = wv.ties is not None and bool(wv.ties[cur])
        words = winners_mod.winner_words(size, q)
        # whole parts only, the longest wording that fits (a number is never cut)
        forms = [[("cursor ", "dim"), (where, "bold"), (f" {words}: ", "dim"), (won, "bold"),
                  (" (a tie: first taken)" if tied else " won", "dim")],
                 [(where, "bold"), (f" {words}: ", "dim"), (won, "bold"),
                  (" (tie)" if tied else " won", "dim")],
                 [(where, "bold"), (": ", "dim"), (won, "bold")],
                 [(where, "bold")]]
        return first_fit(forms, width)

    def _same_entry(self, view: Any, a: np.ndarray) -> tuple[int, int]:
        """The cursor cell in ``view`` that stands for the entry the cursor was on, when the
        grid of the same 1-D/2-D tensor changes between numbers (every entry a cell) and a
        downsampled heatmap (zoom, resize); else the cursor as it is."""
        old, (r, c) = self.view, self.cursor
        if old is None or old.source is not a or a.ndim not in (1, 2) or \
                old.data.shape == view.data.shape or old.tile is not None:
            return r, c
        try:
            idx = old.index_of(r, c)
        except IndexError:
            return r, c
        i, j = idx if a.ndim == 2 else (0, idx[0])
        return i // view.row_step, j // view.col_step

    def _strings(self, a: np.ndarray) -> list[list[str]]:
        """``fmt`` of every entry of ``a`` (kept while only the cursor moves)."""
        hit = self._strings_cache
        if hit is not None and hit[0] is a:
            return hit[1]
        strings = render.number_strings(a)
        self._strings_cache = (a, strings)
        return strings

    def _legend(self, view: Any, it: TensorItem, width: int) -> Text:
        """``units: -0.53 ▕ramp▏ +0.53  diverging, 0 = grey  !! NaN ±∞`` for the drawn values
        (numbers use the same colours): what does not fit goes first — the units' explanation,
        the units, the words, ramp characters — never the ends of the scale or ``!! NaN ±∞``."""
        scale = render.auto_scale(view.data)
        signed = not (self._stats(it.array).min >= 0)
        short = it.units.split(" (")[0]
        forms = ((it.units, True), (short, True), ("", True), (short, False), ("", False))
        for units, words in forms:
            prefix = f"{units}: " if units else ""
            rest = len(prefix) + cell_len(render.legend(scale, 0, signed=signed,
                                                        words=words).plain) - 3
            ramp = min(30, width - rest)
            if ramp >= 8:
                break
        legend = Text(prefix, style="dim", end="")
        legend.append_text(render.legend(scale, width=max(3, ramp), signed=signed,
                                         words=words))
        return legend

    def _cursor_line(self, view: Any, r: int, c: int, name: str, width: int) -> Text:
        """``cursor W[0, 0] = 0.1257   exact 0.1257302210933933`` (a downsampled cell: what it
        summarises, and the exact entry it stands for), in the longest wording that fits."""
        try:
            src = view.source
            goto = None if src is None else self._on_goto(src)
            idx = goto if goto is not None else view.index_of(r, c)
            at = f"{name}[{', '.join(map(str, idx))}]"
            if src is not None and src.dtype == np.bool_ and not view.downsampled:
                return first_fit([[("cursor ", "dim"), (f"{at} = {bool(src[idx])}", "bold")]],
                                 width)
            desc = [(view.describe(r, c, name=name), "bold")]
            exact: list[tuple[str, str]] = []
            only: list[list[tuple[str, str]]] = []  # the exact entry alone
            if src is not None and src.dtype.kind == "f":
                value = all_digits(src[idx])
                exact = [("   exact: ", "dim"), (f"{at} = ", "dim"), (value, "")] \
                    if view.downsampled else [("   exact ", "dim"), (value, "")]
                only = [[(f"{at} = ", "bold"), (value, "")]]
                short = [(f"{at} = {render.fmt(src[idx])}", "bold")]
            else:
                short = [(f"{at} = {src[idx]}", "bold")] if src is not None else desc
        except (IndexError, ValueError):
            return Text("cursor", style="dim", end="")
        cursor = [("cursor ", "dim")]
        return first_fit([cursor + desc + exact, desc + exact, *only, cursor + desc, desc,
                          short], width)

    def _draw_picture(self, a: np.ndarray, it: TensorItem, kind: str, width: int,
                      rows: int) -> list:
        if colour_shape(it) is not None:
            return self._draw_colour(a, it, kind, width, rows)
        sample = min(self.sample, a.shape[0] - 1)
        note = Text(no_wrap=True, overflow="ellipsis", end="", style="dim")
        self._grid = (0, 0)
        if kind == "flat":
            assert it.image_shape is not None
            img = a[sample].reshape(it.image_shape)
            note.append(f"sample {sample + 1}/{a.shape[0]} as a {dims(it.image_shape)} picture "
                        "(2 pixel rows per text row) · , . change sample")
            return [note, render.halfblock(img)]
        if kind == "maps":
            tiles = a[sample]
            c, h, w = tiles.shape[0], tiles.shape[1], tiles.shape[2]
            what = f"sample {sample + 1}/{a.shape[0]}: channels"
        else:  # filters: first input channel of every filter
            tiles = a[:, 0]
            c, h, w = tiles.shape
            what = "filters (input channel 0)"
        gap = 1
        signed = bool(np.nanmin(tiles) < 0)
        colours = "blue −, grey 0, red +" if signed else "black = min, white = max"

        def plan(note_rows: int) -> tuple[int, int, int]:
            """(pictures per row, downsampling factor, pictures shown) in what is left."""
            left = max(1, rows - note_rows)
            # full resolution (or half) while at least 8 pictures fit; else every picture,
            # downsampled by the smallest factor that fits the pane
            for f in (1, 2):
                hh, ww = math.ceil(h / f), math.ceil(w / f)
                cols = max(1, (width + gap) // (ww + gap))
                tile_rows = max(0, (left + gap) // (math.ceil(hh / 2) + gap))
                if cols * tile_rows >= min(c, 8):
                    return cols, f, min(c, cols * tile_rows)
            per_row, factor = render.fit_images(c, h, w, max_rows=left, max_cols=width,
                                                gap=gap)
            return per_row, factor, c

        def words(factor: int, k: int) -> list[tuple[str, str]]:
            out = [f"{what} 1–{k} of {c}", f"each {h}×{w} pixels"]
            if factor > 1:
                out.append(f"downsampled ×{factor} (mean of {factor}×{factor} pixels)")
            return [(part, "") for part in [*out, colours]]

        # the note takes as few lines as fit the pane's width (at most 3, fewer in a short
        # pane); the pictures get what is left
        for lines in range(1, 4 if rows >= 9 else 2):
            per_row, factor, k = plan(lines)
            note = render.join_parts(words(factor, k), width, style="dim")
            if note.plain.count("\n") < lines:
                break
        if note.plain.count("\n") >= lines:  # too narrow: one cropped line
            note = render.join_parts(words(factor, k), None, style="dim")
            note.no_wrap, note.overflow = True, "ellipsis"
        return [note, render.image_grid(tiles[:k], cols=per_row, gap=gap, diverging=signed,
                                        factor=factor)]


    def _draw_colour(self, a: np.ndarray, it: TensorItem, kind: str, width: int,
                     rows: int) -> list:
        """Colour data (one sample as an RGB picture) or the conv filters over it (every
        filter as an RGB tile), downsampled only when the pane is too small; one scale over
        the whole tensor, so samples and filters compare."""
        self._grid = (0, 0)
        shape = colour_shape(it)
        assert shape is not None
        c, h, w = shape
        if kind == "filters":
            tiles = a
            what = f"{len(a)} filters, each {c}×{h}×{w} (red, green, blue input channels)"
        else:
            sample = min(self.sample, a.shape[0] - 1)
            tiles = a[sample].reshape(1, c, h, w)
            what = f"sample {sample + 1}/{a.shape[0]} as a {c}×{h}×{w} colour picture · , . " \
                   "change sample"
        # no legend and cursor lines below a colour picture: it has their room too
        per_row, factor = render.fit_images(len(tiles), h, w, max_rows=rows + FOOTER_LINES,
                                            max_cols=width)
        stats = self._stats(a)
        lo, hi = (stats.min, stats.max) if math.isfinite(stats.min) else (0.0, 1.0)
        parts = [what, f"black = {render.fmt(lo)}, white = {render.fmt(hi)} (all channels)"]
        if factor > 1:
            parts.append(f"downsampled ×{factor} (mean of {factor}×{factor} pixels)")
        note = Text(" · ".join(parts), style="dim", no_wrap=True, overflow="ellipsis", end="")
        return [note, render.colour_grid(tiles, cols=per_row, vmin=lo, vmax=hi,
                                         factor=factor)]


def _group(role: str) -> str:
    return {"activation": "a", "mask": "a", "cache": "a", "target": "a", "param": "p",
            "gradient": "g", "delta": "g"}.get(role, role)

