"""GraphSession: what the graph debugger's panes show, computed from the engine's graph and its
walk (no textual, no rich): the step position, each node's rules with its numbers, the chain
rule that made its gradient, and the gradient check of a node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..engine.checks import GradcheckReport
from ..engine.graph import BookOp, Graph, Node
from ..engine.graphcheck import gradcheck_graph
from ..engine.graphops import Op, local_text
from ..engine.graphstep import GraphStep, GraphWalk
from .formulas import Formula


def num(a: np.ndarray | None) -> str:
    """A value as the panes write it: ``650``, ``0.7071``, ``−1.5``; ``2×3`` for an array."""
    if a is None:
        return "—"
    if a.ndim == 0:
        return f"{float(a):.6g}".replace("-", "−")
    return "×".join(map(str, a.shape))


@dataclass
class GraphCheck:
    """A gradient check of one node, and when it was made."""

    node: str
    report: GradcheckReport
    position: int
    seconds: float


class GraphSession:
    def __init__(self, name: str, graph: Graph) -> None:
        self.name = name
        self.graph = graph
        self.walk = GraphWalk(graph)

    @property
    def architecture(self) -> str:
        return self.graph.summary()

    # -- where the walk is ----------------------------------------------------------------------
    def status(self) -> str:
        w = self.walk
        nxt = w.next_step
        where = f"step {w.pos}/{w.total}"
        if nxt is None:
            return f"{where} · done: every node has its value and its gradient"
        arrow = "forward ↓" if nxt.direction == "forward" else "backward ↑"
        return f"{where} · next: {arrow} {nxt.node.name} ({nxt.node.op})"

    @property
    def current(self) -> GraphStep | None:
        """The step just done (its node is highlighted)."""
        return self.walk.last_step

    # -- a node's rules and numbers -------------------------------------------------------------
    def formulas(self, node: Node) -> list[Formula]:
        """The op's forward and backward rules, then with this node's names and numbers."""
        if node.fn is None:
            kind = "a constant" if node.op == "const" else "a leaf: a value given"
            return [Formula(f"{node.name} = {num(node.value)}", kind, "forward")]
        names = [i.name for i in node.inputs]
        fn = node.fn
        out = [Formula(fn.rule, "", "forward")]
        if node.value is not None:
            out.append(Formula(f"{node.name} = {_applied(node)} = {num(node.value)}", "",
                               "forward"))
        out += [Formula(rule, "", "backward") for rule in fn.grad_rules]
        for slot, name in enumerate(names):
            local = local_text(fn, slot, names, node.name, node.attrs) \
                if isinstance(fn, Op) else f"∂{node.name}/∂{name}"
            out.append(Formula(f"d({name}) += d({node.name}) · {local}", "", "backward"))
        return out

    def chain_rule(self, node: Node) -> str:
        """How ``node``'s gradient was made: ``d(tax) = d(price) · all_price = 1 · 650 =
        650``; a value used twice adds both (``+``), a use whose backward has not run yet is
        ``…``."""
        if node.grad is None:
            return f"d({node.name}): not yet (the backward pass has not reached it)"
        if node is self.graph.output:
            return f"d({node.name}) = 1 (the output: d{node.name}/d{node.name})"
        uses = self.graph.consumers[node]
        terms, numbers, pending = [], [], 0
        for consumer, slot in uses:
            if consumer.sent is None:
                pending += 1
                continue
            names = [i.name for i in consumer.inputs]
            fn = consumer.fn
            assert fn is not None and consumer.grad is not None
            local = local_text(fn, slot, names, consumer.name, consumer.attrs) \
                if isinstance(fn, Op) else f"∂{consumer.name}/∂{node.name}"
            terms.append(f"d({consumer.name}) · {local}")
            numbers.append(f"{num(consumer.grad)} · {num(_local_value(consumer, slot))}")
        if not terms:
            return f"d({node.name}) = 0 so far: the backward of its uses has not run yet"
        more = " + …" if pending else ""
        lhs = f"d({node.name})"
        if node.grad.ndim:  # a tensor: the rule, and the shape
            return f"{lhs} = {' + '.join(terms)}{more}   ({num(node.grad)})"
        return (f"{lhs} = {' + '.join(terms)}{more} = {' + '.join(numbers)}{more} = "
                f"{num(node.grad)}" + (" so far" if pending else ""))

    def travelling(self) -> tuple[str, list[Node], Node] | None:
        """The edges the last step used: ``("forward", inputs, node)`` — the inputs flowing
        into the node computed — or ``("backward", inputs, node)`` — the gradient travelling
        from the node back to its inputs."""
        step = self.current
        if step is None:
            return None
        return step.direction, list(step.node.inputs), step.node

    # -- the gradient check ---------------------------------------------------------------------
    def gradcheck(self, node: Node, mode: str = "auto") -> GraphCheck:
        """Check ``node`` (its inputs' rows, and its sum if it fans out) on a complete forward
        and backward pass, then put the walk back where it was (exact: a replay)."""
        pos = self.walk.pos
        t0 = time.perf_counter()
        try:
            report = gradcheck_graph(self.graph, mode=mode, layers=[node.name])
        finally:
            self.walk.goto(pos)
        return GraphCheck(node.name, report, pos, time.perf_counter() - t0)


def _applied(node: Node) -> str:
    """``apple × apple_num`` (``100 × 2``) for the forward line with names and numbers."""
    fn = node.fn
    names = [i.name for i in node.inputs]
    values = [num(i.value) for i in node.inputs]
    if isinstance(fn, BookOp):
        return f"{fn.name}.forward({', '.join(names)})"
    assert isinstance(fn, Op)
    if fn.arity == 2:
        sym = fn.symbol
        return f"{names[0]} {sym} {names[1]} = {values[0]} {sym} {values[1]}"
    if fn.name == "pow":
        k = f"{node.attrs['k']:g}"
        return f"{names[0]}^{k} = {values[0]}^{k}"
    if fn.name == "sum":
        return f"Σ {names[0]}"
    return f"{fn.name}({names[0]}) = {fn.name}({values[0]})"


def _local_value(consumer: Node, slot: int) -> np.ndarray | None:
    """The local derivative of ``consumer`` with respect to input ``slot``, as a number: the
    op's backward of 1 (built-in ops are pure), or for a book op the gradient it sent divided
    by its own."""
    fn = consumer.fn
    xs = [i.value for i in consumer.inputs]
    if isinstance(fn, Op):
        assert consumer.value is not None
        return np.asarray(fn.backward(np.ones_like(consumer.value), xs, consumer.value,
                                      consumer.attrs)[slot])
    if consumer.sent is None or consumer.grad is None or not np.all(consumer.grad):
        return None
    return np.asarray(consumer.sent[slot] / consumer.grad)
