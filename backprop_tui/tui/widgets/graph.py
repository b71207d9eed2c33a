"""The graph pane (the DAG drawn with box characters, the selected node, the step just done and
the edges it used) and the node pane (the selected node's chain rule with its numbers).

A graph larger than the pane shows a window of it that follows the selected node: the arrows
move the selection (↑ ↓ within a column, ← → to the next column), and the window scrolls with it.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from ...engine.graph import Node
from ..graphsession import GraphSession, num
from ..render.graph import BOX_H, Layout, draw, layout
from .lines import CachedLines


class GraphPane(CachedLines, can_focus=True):
    """Draws the session's graph; owns the selected node and the window onto the drawing."""

    BINDINGS = [
        Binding("up", "move(0, -1)", "node up", show=False),
        Binding("down", "move(0, 1)", "node down", show=False),
        Binding("left", "move(-1, 0)", "column left", show=False),
        Binding("right", "move(1, 0)", "column right", show=False),
        Binding("home", "jump(0)", show=False),
        Binding("end", "jump(-1)", show=False),
    ]

    selected: reactive[int] = reactive(0)  # index into the graph's topological order

    class Selected(Message):
        def __init__(self, node: Node) -> None:
            super().__init__()
            self.node = node

    def __init__(self, session: GraphSession, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.session = session
        self.placed: Layout = layout(session.graph)
        self.origin = (0, 0)
        self.border_title = f"Graph · {session.name}"

    @property
    def node(self) -> Node:
        return self.session.graph.nodes[self.selected]

    def select(self, node: Node) -> None:
        self.selected = self.session.graph.index[node]

    def action_move(self, dx: int, dy: int) -> None:
        lay = self.placed
        col, row = lay.col[self.node], lay.row[self.node]
        if dy:
            column = lay.columns[col]
            self.select(column[(row + dy) % len(column)])
            return
        c = col + dx
        if not 0 <= c < len(lay.columns):
            return
        _, y = lay.box(self.node)
        # the node of the next column nearest in height
        self.select(min(lay.columns[c], key=lambda n: abs(lay.box(n)[1] - y)))

    def action_jump(self, where: int) -> None:
        self.selected = where % len(self.session.graph.nodes)

    def watch_selected(self, old: int, new: int) -> None:
        if old != new:
            self.post_message(self.Selected(self.node))
        self.refresh()

    def _window(self) -> tuple[int, int, int, int]:
        """The part of the drawing shown: as before, moved just enough to show the selected
        node whole (centred on it when it jumps out of view)."""
        w, h = max(1, self.content_size.width), max(1, self.content_size.height)
        lay = self.placed
        x, y = lay.box(self.node)
        ox, oy = self.origin
        if not (ox <= x and x + lay.box_w <= ox + w):
            ox = x - (w - lay.box_w) // 2
        if not (oy <= y and y + BOX_H <= oy + h):
            oy = y - (h - BOX_H) // 2
        ox = max(0, min(ox, lay.width - w))
        oy = max(0, min(oy, lay.height - h))
        self.origin = (ox, oy)
        return ox, oy, w, h

    def render(self) -> Text:
        s = self.session
        step = s.current
        nxt = s.walk.next_step
        self.placed = self.placed.fitted(max(1, self.content_size.width))
        window = self._window()
        lay = self.placed
        ox, oy, w, h = window
        cols = len(lay.columns)
        dx = lay.step_x
        shown = f"columns {ox // dx + 1}–{min(cols, (ox + w) // dx + 1)} of {cols}"
        self.border_subtitle = (s.status().split(" · ")[0]
                                + (f" · {shown} (arrows scroll)" if lay.width > w
                                   or lay.height > h else ""))
        return draw(s.graph, lay, window, selected=self.node,
                    current=step.node if step else None,
                    direction=step.direction if step else None,
                    following=nxt.node if nxt else None)


class NodePane(CachedLines, can_focus=True):
    """The selected node: op, value, gradient, and the chain rule that made the gradient."""

    WRAP = True

    def __init__(self, session: GraphSession, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.session = session
        self.node: Node | None = None
        self.border_title = "Node · chain rule"

    def show(self, node: Node) -> None:
        self.node = node
        self.border_title = f"Node · {node.name}"
        self.refresh()

    def render(self) -> Text:
        node = self.node
        if node is None:
            return Text("")
        s = self.session
        text = Text()
        kind = ("leaf" if node.op == "input" else "constant" if node.op == "const"
                else f"op {node.op}")
        text.append(f"{node.name}", style="bold")
        text.append(f"  {kind}", style="cyan")
        if node.inputs:
            text.append(f" of {', '.join(i.name for i in node.inputs)}", style="dim")
        text.append("   value ", style="dim")
        text.append(num(node.value))
        text.append("   grad ", style="dim")
        text.append(num(node.grad), style="green")
        if s.graph.fans_out(node):
            text.append(f"   used {len(s.graph.consumers[node])}×: gradients add up (+=)",
                        style="yellow")
        text.append("\n")
        text.append(s.chain_rule(node), style="bold")
        for label, a in (("value", node.value), ("grad", node.grad)):
            if a is not None and a.ndim:  # a tensor: its numbers where they are few
                text.append(f"\n{label} {num(a)}: ", style="dim")
                text.append(np.array2string(a, precision=4, suppress_small=True,
                                            threshold=24, edgeitems=2)
                            if a.size <= 64 else "too many numbers to list")
        return text
