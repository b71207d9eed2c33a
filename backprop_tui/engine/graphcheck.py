"""The gradient check of a graph, node by node — the same comparison and report as the
network check (:mod:`~backprop_tui.engine.numeric`, :class:`GradcheckReport`).

After one forward and one backward pass, two kinds of rows:

* **one row per node input**: the gradient the node's backward sent to that input, against
  centered differences of ``⟨forward(inputs), d node⟩`` with that one input perturbed (a value
  used twice by the same node, as in ``a + a``, has a row per use). A wrong local rule fails on
  exactly its node;
* **one row per value used more than once** (``tensor == "Σ"``): its gradient against the
  centered differences of ``Σ over its uses ⟨consumer.forward(…), d consumer⟩``. A ``=`` where
  the gradient must be added (``+=``) fails here, on exactly the node that fans out — its
  consumers' rows pass, since each sent the right amount.

Each evaluation runs one node's forward, so the check of a few hundred nodes takes a few
milliseconds. A book-style op's attributes (``self.x``…) are put back afterwards.

This module imports numpy only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .checks import GradcheckReport
from .graph import Graph, Node
from .numeric import (
    DEFAULT_ATOL,
    DEFAULT_FULL_LIMIT,
    DEFAULT_H,
    DEFAULT_K,
    DEFAULT_TOL,
    MODES,
    Counter,
    Job,
    compare,
    plan,
)

#: the tensor name of a fan-out row: the sum of a value's uses
SUM_ROW = "Σ"


def input_label(node: Node, slot: int) -> str:
    """How a row names input ``slot`` of ``node``: the input's name, with its position when
    the node uses the same value twice (``a (1)``, ``a (2)``)."""
    inp = node.inputs[slot]
    if sum(i is inp for i in node.inputs) > 1:
        return f"{inp.name} ({slot + 1})"
    return inp.name


def gradcheck_graph(
    graph: Graph,
    *,
    mode: str = "auto",
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    atol: float = DEFAULT_ATOL,
    k: int = DEFAULT_K,
    full_limit: int = DEFAULT_FULL_LIMIT,
    seed: int = 0,
    layers: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    run_passes: bool = True,
    **ignored: Any,
) -> GradcheckReport:
    """Check every node of ``graph`` (or the nodes named in ``layers``). With ``run_passes``
    (the default) it runs a forward and a backward pass first; otherwise it checks the
    gradients the graph holds (a pass the debugger has stepped to its end)."""
    if mode not in MODES:
        raise ValueError(f"unknown gradcheck mode {mode!r}; expected one of {', '.join(MODES)}")
    unknown = [name for name in layers or () if name not in {n.name for n in graph.nodes}]
    if unknown:
        raise ValueError(f"no node {', '.join(map(repr, unknown))} in the graph")
    if run_passes:
        graph.forward()
        graph.backward()
    rng = np.random.default_rng(seed)
    counter = Counter(progress, cancelled)
    saved = _book_state(graph)  # before any call below runs a book op's forward
    jobs: list[Job] = []
    for i, node in enumerate(graph.nodes):
        if layers is not None and node.name not in layers:
            continue
        for slot in range(len(node.inputs)):
            jobs.append(_input_job(node, i, slot, counter, mode, k, full_limit))
        if graph.fans_out(node):
            jobs.append(_sum_job(graph, node, i, counter, mode, k, full_limit))
    counter.total = sum(2 * (j.n_entries + j.n_dirs) for j in jobs)
    try:
        checks = [compare(job, h, rng, tol, atol) for job in jobs]
    finally:
        _restore_book_state(saved)
    out = graph.output.value
    loss = float(out) if out is not None and out.size == 1 else float("nan")
    return GradcheckReport(checks, str(mode), h, tol, atol, loss, counter.count, "graph")


def _job(node: Node, index: int, tensor: str, kind: str, target: np.ndarray,
         analytic: np.ndarray, run: Callable[[], tuple[float, bool]], mode: str, k: int,
         full_limit: int) -> Job:
    label, n_ent, n_dir = plan(analytic.size, mode, k, full_limit)
    return Job(node.name, index, kind, tensor, target, analytic, run,  # type: ignore[arg-type]
               label, n_ent, n_dir)


def _evaluate(consumer: Node, values: list[np.ndarray]) -> tuple[float, np.ndarray | None]:
    """``⟨consumer.forward(values), d consumer⟩`` and the op's kink signature there."""
    fn = consumer.fn
    assert fn is not None and consumer.grad is not None
    y = fn.forward(values, consumer.attrs)
    kink = fn.kink(values) if fn.kink is not None else None
    return float(np.vdot(np.asarray(y, dtype=np.float64), consumer.grad)), kink


def _input_job(node: Node, index: int, slot: int, counter: Counter, mode: str, k: int,
               full_limit: int) -> Job:
    values = [np.array(i.value, dtype=np.float64) for i in node.inputs]
    target = values[slot]  # this use only: `a + a` perturbs one operand
    base_kink = _evaluate(node, values)[1]

    def run() -> tuple[float, bool]:
        counter.tick()
        f, kink = _evaluate(node, values)
        return f, _flipped(base_kink, kink)

    assert node.sent is not None, "the check runs after backward"
    return _job(node, index, input_label(node, slot), "input", target, node.sent[slot], run,
                mode, k, full_limit)


def _sum_job(graph: Graph, node: Node, index: int, counter: Counter, mode: str, k: int,
             full_limit: int) -> Job:
    target = np.array(node.value, dtype=np.float64)
    uses = []
    for consumer in dict.fromkeys(c for c, _ in graph.consumers[node]):
        values = [target if i is node else np.array(i.value, dtype=np.float64)
                  for i in consumer.inputs]
        uses.append((consumer, values, _evaluate(consumer, values)[1]))

    def run() -> tuple[float, bool]:
        counter.tick()
        total, flipped = 0.0, False
        for consumer, values, base_kink in uses:
            f, kink = _evaluate(consumer, values)
            total += f
            flipped = flipped or _flipped(base_kink, kink)
        return total, flipped

    assert node.grad is not None
    return _job(node, index, SUM_ROW, "param", target, node.grad, run, mode, k, full_limit)


def _flipped(base: np.ndarray | None, now: np.ndarray | None) -> bool:
    return base is not None and now is not None and not np.array_equal(base, now)


def _book_state(graph: Graph) -> list[tuple[Any, dict[str, Any]]]:
    """The attributes of every book-style op object, to put back after the check's calls."""
    objs = {id(n.fn.obj): n.fn.obj for n in graph.ops if hasattr(n.fn, "obj")}
    return [(o, copy.deepcopy(vars(o))) for o in objs.values()]


def _restore_book_state(saved: list[tuple[Any, dict[str, Any]]]) -> None:
    for obj, state in saved:
        vars(obj).clear()
        vars(obj).update(state)
