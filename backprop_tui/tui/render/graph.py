"""A computational graph drawn with box characters (no textual): :func:`layout` places the
nodes in columns by depth, :func:`draw` paints the part of it a pane shows.

Layout: longest-path layering (a node one column right of its deepest input; a leaf one column
left of its first use, so a bias or a tax does not draw a line across the whole graph), then
a few barycenter sweeps that order each column by the mean position of its neighbours — the
two steps of a Sugiyama layout that matter for graphs of tens to a few hundred nodes. A layout
library (grandalf, the pure-Python Sugiyama) would add a dependency with little upkeep for
what is here about forty lines, and would still leave the drawing in a terminal to us.

A node is a box three lines tall: its op symbol and name on the top border, ``= value``, and
``∇ gradient``. An edge leaves its source's value line, turns in the gap before its
target's column and enters the target's line for that input (first input on the value line,
second on the gradient line).

This module imports rich only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text

from ...engine.graph import Graph, Node

BOX_W = 14  # including the two borders
BOX_H = 3
GAP = 5  # between columns: the lanes where edges turn, and the arrowhead
#: (box width, gap) from roomy to narrow: a pane takes the first that shows every column (wide
#: boxes show whole names such as apple_price where there is room)
#: (micrograd's neuron, 5 columns, fits 80 columns only at the narrowest)
GEOMETRIES = ((20, GAP), (17, GAP), (BOX_W, GAP), (13, 4), (12, 4))

UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
LINES = {UP | DOWN: "│", LEFT | RIGHT: "─", DOWN | RIGHT: "┌", DOWN | LEFT: "┐",
         UP | RIGHT: "└", UP | LEFT: "┘", UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤",
         DOWN | LEFT | RIGHT: "┬", UP | LEFT | RIGHT: "┴", UP | DOWN | LEFT | RIGHT: "┼",
         LEFT: "─", RIGHT: "─", UP: "│", DOWN: "│"}

SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "pow": "^", "exp": "exp",
           "log": "log", "tanh": "tanh", "sigmoid": "σ", "relu": "relu", "sum": "Σ",
           "matmul": "@"}


@dataclass
class Layout:
    columns: list[list[Node]]
    col: dict[Node, int]
    row: dict[Node, int]
    top: list[int]  # each column's first line (columns are centred on the tallest)
    box_w: int = BOX_W
    gap: int = GAP

    @property
    def step_x(self) -> int:
        return self.box_w + self.gap

    @property
    def width(self) -> int:
        return max(0, len(self.columns) * self.step_x - self.gap)

    def fitted(self, width: int) -> Layout:
        """This layout in the widest geometry whose drawing fits ``width`` columns (the
        roomiest one if none does: the pane then scrolls)."""
        for box_w, gap in GEOMETRIES:
            fit = replace(self, box_w=box_w, gap=gap)
            if fit.width <= width:
                return fit
        return replace(self, box_w=BOX_W, gap=GAP)

    @property
    def height(self) -> int:
        return max((len(c) for c in self.columns), default=0) * BOX_H

    def box(self, node: Node) -> tuple[int, int]:
        """The top-left corner of ``node``'s box."""
        c = self.col[node]
        return c * self.step_x, self.top[c] + self.row[node] * BOX_H


def layout(graph: Graph) -> Layout:
    col = graph.depths()
    for leaf in graph.leaves:
        uses = graph.consumers[leaf]
        if uses:
            col[leaf] = min(col[c] for c, _ in uses) - 1
    n_cols = max(col.values(), default=-1) + 1
    columns: list[list[Node]] = [[] for _ in range(n_cols)]
    for n in graph.nodes:
        columns[col[n]].append(n)
    pos = {n: float(i) for c in columns for i, n in enumerate(c)}

    def order(c: list[Node], neighbours) -> None:
        keys = {}
        for n in c:
            near = [pos[m] for m in neighbours(n)]
            keys[n] = sum(near) / len(near) if near else pos[n]
        c.sort(key=lambda n: keys[n])
        for i, n in enumerate(c):
            pos[n] = float(i)

    def inputs(n: Node) -> list[Node]:
        return list(n.inputs) or [c for c, _ in graph.consumers[n]]

    def uses(n: Node) -> list[Node]:
        return [c for c, _ in graph.consumers[n]]

    for _ in range(3):
        for c in columns[1:]:
            order(c, inputs)
        for c in reversed(columns[:-1]):
            order(c, uses)
    for c in columns[1:]:
        order(c, inputs)
    tallest = max((len(c) for c in columns), default=0)
    top = [(tallest - len(c)) * BOX_H // 2 for c in columns]
    row = {n: i for c in columns for i, n in enumerate(c)}
    return Layout(columns, {n: col[n] for n in graph.nodes}, row, top)


class Canvas:
    """Characters and styles of a window (x0, y0, width, height) of the whole drawing."""

    def __init__(self, x0: int, y0: int, width: int, height: int) -> None:
        self.x0, self.y0, self.w, self.h = x0, y0, width, height
        self.bits: dict[tuple[int, int], int] = {}
        self.chars: dict[tuple[int, int], tuple[str, str]] = {}
        self.line_style: dict[tuple[int, int], str] = {}

    def inside(self, x: int, y: int) -> bool:
        return self.x0 <= x < self.x0 + self.w and self.y0 <= y < self.y0 + self.h

    def line(self, x: int, y: int, bits: int, style: str) -> None:
        if self.inside(x, y):
            self.bits[x, y] = self.bits.get((x, y), 0) | bits
            if style:  # a marked edge keeps its colour where it crosses others
                self.line_style[x, y] = style

    def put(self, x: int, y: int, text: str, style: str = "") -> None:
        for i, ch in enumerate(text):
            if self.inside(x + i, y):
                self.chars[x + i, y] = (ch, style)

    def hline(self, x1: int, x2: int, y: int, style: str) -> None:
        if not (self.y0 <= y < self.y0 + self.h):
            return
        lo, hi = sorted((x1, x2))
        for x in range(max(lo, self.x0 - 1), min(hi, self.x0 + self.w) + 1):
            bits = (LEFT if x > lo else 0) | (RIGHT if x < hi else 0)
            self.line(x, y, bits, style)

    def vline(self, x: int, y1: int, y2: int, style: str) -> None:
        if not (self.x0 <= x < self.x0 + self.w):
            return
        lo, hi = sorted((y1, y2))
        for y in range(max(lo, self.y0 - 1), min(hi, self.y0 + self.h) + 1):
            bits = (UP if y > lo else 0) | (DOWN if y < hi else 0)
            self.line(x, y, bits, style)

    def text(self) -> Text:
        out = Text(no_wrap=True, overflow="crop", end="")
        for y in range(self.y0, self.y0 + self.h):
            for x in range(self.x0, self.x0 + self.w):
                cell = self.chars.get((x, y))
                if cell is not None:
                    out.append(cell[0], style=cell[1])
                elif (x, y) in self.bits:
                    out.append(LINES.get(self.bits[x, y], " "),
                               style=self.line_style.get((x, y)) or "dim")
                else:
                    out.append(" ")
            if y < self.y0 + self.h - 1:
                out.append("\n")
        return out


def fmt(value) -> str:
    if value is None:
        return "?"
    if value.ndim:
        return "×".join(map(str, value.shape))
    return f"{float(value):.6g}".replace("-", "−")


def draw(graph: Graph, lay: Layout, window: tuple[int, int, int, int], *,
         selected: Node | None = None, current: Node | None = None,
         direction: str | None = None, following: Node | None = None) -> Text:
    """The part ``window`` = (x, y, width, height) of the drawing. ``selected`` has a double
    border; ``current`` (the node of the step just done) is magenta, and the edges of that step
    are marked: its inputs flowing in (forward, cyan ▶) or its gradient flowing back to them
    (backward, yellow ◀). ``following`` (the next step's node) gets a ▶ before its name."""
    cv = Canvas(*window)
    for node in graph.ops:
        tx, ty = lay.box(node)
        bw, gap = lay.box_w, lay.gap
        lane_base = tx - gap + 1
        for slot, inp in enumerate(node.inputs):
            sx, sy = lay.box(inp)
            y1, y2 = sy + 1, ty + 1 + min(slot, 1)
            # the first input, entering higher, turns furthest right: it then does not cross
            # the second's way in
            lane = lane_base + (gap - 3) - (lay.row[node] + slot) % (gap - 2)
            lit = node is current
            style = ("bold yellow" if direction == "backward" else "bold cyan") if lit else ""
            cv.hline(sx + bw, lane, y1, style)
            cv.vline(lane, y1, y2, style)
            cv.hline(lane, tx - 1, y2, style)
            if lit and direction == "backward":
                cv.put(sx + bw, y1, "◀", style)
            cv.put(tx - 1, y2, "▶" if lit and direction == "forward" else "›", style or "dim")
    for node in graph.nodes:
        x, y = lay.box(node)
        if not (x + lay.box_w > cv.x0 and x < cv.x0 + cv.w and y + BOX_H > cv.y0
                and y < cv.y0 + cv.h):
            continue
        _box(cv, node, x, y, lay.box_w, node is selected, node is current, node is following)
    return cv.text()


def _box(cv: Canvas, node: Node, x: int, y: int, box_w: int, selected: bool, current: bool,
         following: bool) -> None:
    border = "bold magenta" if current else ("bold" if selected else "")
    tl, tr, side, bar = ("╔", "╗", "║", "═") if selected else ("┌", "┐", "│", "─")
    inner = box_w - 2
    sym = SYMBOLS.get(node.op, "" if node.fn is None else node.op[:5])
    head = ("▶" if following else "") + (f"{sym} " if sym else "") + node.name
    head = head[:inner] if len(head) <= inner else head[:inner - 1] + "…"
    cv.put(x, y, tl, border)
    cv.put(x + 1, y, head, "bold " + (border or "cyan") if sym else "bold " + (border or ""))
    cv.put(x + 1 + len(head), y, bar * (inner - len(head)), border)
    cv.put(x + box_w - 1, y, tr, border)
    value = f"= {fmt(node.value)}"
    grad = f"∇ {fmt(node.grad)}" if node.grad is not None else "∇ —"
    for i, (content, style) in enumerate(((value, "" if node.value is not None else "dim"),
                                          (grad, "green" if node.grad is not None else "dim"))):
        cv.put(x, y + 1 + i, side, border)
        cv.put(x + 1, y + 1 + i, content[:inner].ljust(inner), style)
        cv.put(x + box_w - 1, y + 1 + i, side, border)
