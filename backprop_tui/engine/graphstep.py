"""Stepping through a graph one node at a time, with exact step back.

The steps of one pass are: the forward of every op node in topological order, then the
backward of every op node in reverse order (the first backward step also sets d out / d out =
1). Position ``pos`` counts the steps done. Step back restores the start and replays
``pos − 1`` steps: the graph is deterministic, and replaying also restores what a book-style
op object keeps between its forward and backward (``self.x``, ``self.y``), so the result is
exact. A step whose code raises leaves the position where it was.

This module imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Graph, Node


@dataclass(frozen=True)
class GraphStep:
    node: Node
    direction: str  # "forward" or "backward"


class GraphWalk:
    """The stepper of a :class:`Graph` (see the module docstring)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.pos = 0
        graph.clear()

    @property
    def total(self) -> int:
        return 2 * len(self.graph.ops)

    @property
    def n_forward(self) -> int:
        return len(self.graph.ops)

    def step_at(self, pos: int) -> GraphStep | None:
        """The step that moves from ``pos`` to ``pos + 1`` (None at the end)."""
        ops = self.graph.ops
        if pos < len(ops):
            return GraphStep(ops[pos], "forward")
        if pos < self.total:
            return GraphStep(ops[self.total - 1 - pos], "backward")
        return None

    @property
    def next_step(self) -> GraphStep | None:
        return self.step_at(self.pos)

    @property
    def last_step(self) -> GraphStep | None:
        return self.step_at(self.pos - 1) if self.pos > 0 else None

    @property
    def phase(self) -> str:
        if self.pos < self.n_forward:
            return "forward"
        return "backward" if self.pos < self.total else "done"

    def _run(self, step: GraphStep) -> None:
        g = self.graph
        if step.direction == "forward":
            g.forward_node(step.node)
        else:
            if step.node is g.ops[-1]:
                g.start_backward()
            g.backward_node(step.node)

    def step(self) -> GraphStep | None:
        """Run the next step; None at the end of the pass."""
        step = self.next_step
        if step is None:
            return None
        try:
            self._run(step)
        except Exception:
            self.goto(self.pos)  # the graph as it was before the step: the position holds
            raise
        self.pos += 1
        return step

    def goto(self, pos: int) -> None:
        """From the start, replay ``pos`` steps (clamped to the pass)."""
        pos = max(0, min(pos, self.total))
        self.graph.clear()
        self.pos = 0
        for p in range(pos):
            step = self.step_at(p)
            assert step is not None
            self._run(step)
            self.pos = p + 1

    def back(self) -> bool:
        """Undo the last step exactly; False at the start."""
        if self.pos == 0:
            return False
        self.goto(self.pos - 1)
        return True

    def finish_forward(self) -> None:
        while self.pos < self.n_forward:
            self.step()

    def finish_backward(self) -> None:
        while self.pos < self.total:
            self.step()

    def run_until(self, node: Node) -> None:
        """Step until the next step is one of ``node``'s (or the pass ends)."""
        self.step()
        while self.next_step is not None and self.next_step.node is not node:
            self.step()
