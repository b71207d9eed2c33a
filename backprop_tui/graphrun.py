"""The command line's graph commands: ``backprop-tui graph``, and ``gradcheck`` / ``debug`` when
they are given a graph (a built-in graph scenario, a graph ``.toml``, or a ``.py`` file whose
``bt.debug``/``bt.gradcheck`` call hands over a graph node). ``cli.py`` parses the options and
calls these; what goes wrong is a :class:`~backprop_tui.errors.UserError` (exit 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .cliout import escape
from .engine.contract import LayerError
from .engine.graph import Graph
from .errors import ScenarioError, UsageError
from .formatting import json_text
from .graphfile import graph_names, is_graph_ref, load_graph_scenario
from .safetext import printable


def open_graph(ref: str) -> tuple[str, Graph] | None:
    """``(title, graph)`` for a graph scenario or a ``.py`` file that hands over a graph;
    None for anything else (a network scenario, a network file)."""
    from .netfile import is_network_file, load_network_file

    if is_network_file(ref):
        nf = load_network_file(ref)
        return (nf.name, nf.net) if nf.kind == "graph" else None
    if is_graph_ref(ref):
        sc = load_graph_scenario(ref)
        return sc.name, sc.build()
    return None


def need_graph(ref: str) -> tuple[str, Graph]:
    found = open_graph(ref)
    if found is None:
        raise ScenarioError(
            "is not a graph", file=ref,
            expected=f"a built-in graph ({', '.join(graph_names())}), a .toml with kind = "
                     "\"graph\", or a .py file that calls bt.debug(node) or bt.gradcheck(node)")
    return found


def plain(a: np.ndarray | None) -> Any:
    """A value or gradient for JSON: a float for a scalar, nested lists for an array."""
    if a is None:
        return None
    return float(a) if a.ndim == 0 else a.tolist()


def run_passes(title: str, graph: Graph) -> None:
    """One forward and one backward pass; code of the user's that raises is one error line."""
    try:
        graph.forward()
        graph.backward()
    except LayerError as e:
        raise ScenarioError(str(e), file=title) from None


def graph_doc(graph: Graph) -> dict[str, Any]:
    return {"name": graph.name, "output": graph.output.name,
            "nodes": [{"name": n.name, "op": n.op, "inputs": [i.name for i in n.inputs],
                       "value": plain(n.value), "grad": plain(n.grad)} for n in graph.nodes]}


def graph_table(title: str, graph: Graph) -> Table:
    # node names come from the user's files and code: Text (not markup), printable
    table = Table(title=Text(printable(f"{title} · {graph.summary()} · forward and backward")),
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("node", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("inputs", overflow="fold")
    table.add_column("value", justify="right", no_wrap=True)  # a float's digits stay whole
    table.add_column("grad", justify="right", no_wrap=True)
    for n in graph.nodes:
        table.add_row(Text(printable(n.name)), n.op,
                      Text(printable(", ".join(i.name for i in n.inputs) or "—")),
                      _fmt(n.value), _fmt(n.grad))
    return table


def _fmt(a: np.ndarray | None) -> str:
    if a is None:
        return "—"
    if a.ndim == 0:
        return repr(float(a))
    return np.array2string(a, precision=6, separator=", ")


def graph_command(ref: str, as_json: bool, console: Console) -> None:
    title, graph = need_graph(ref)
    run_passes(title, graph)
    if as_json:
        print(json_text(graph_doc(graph)))
    else:
        console.print(graph_table(title, graph))


def graph_gradcheck(title: str, graph: Graph, options: dict[str, Any], as_json: bool,
                    console: Console, err_console: Console) -> int:
    """The gradient check of every node (``options``: mode, h, tol, atol, k, full_limit,
    seed, layers = node names); the exit code: 0 passed, 1 failed."""
    import time

    from .engine.graphcheck import gradcheck_graph
    from .formatting import gradcheck_summary, gradcheck_table

    names = [n.name for n in graph.nodes]
    for name in options.get("layers") or []:
        if name not in names:
            raise UsageError("no such node", key="--layer", value=name,
                             expected=f"one of {', '.join(names)}")
    t0 = time.perf_counter()
    try:
        report = gradcheck_graph(graph, **options)
    except LayerError as e:
        if as_json:
            print(json_text({"scenario": title, "passed": False, "error": e.as_dict(),
                             "checks": []}))
        else:
            err_console.print(f"[bold red]FAILED:[/] {escape(str(e))}", soft_wrap=True)
        return 1
    seconds = time.perf_counter() - t0
    if as_json:
        print(json_text({
            "scenario": title, "kind": "graph", "mode": options["mode"], "scope": "graph",
            "passed": report.passed, "tol": report.tol, "atol": report.atol, "h": report.h,
            "seed": options["seed"], "output": report.loss, "evaluations": report.evaluations,
            "seconds": round(seconds, 3), "checks": [c.as_dict() for c in report.checks],
        }))
    else:
        console.print(gradcheck_table(report, title=f"gradient check · {title}"))
        console.print(gradcheck_summary(report, title, 0, options["seed"], seconds))
    return 0 if report.passed else 1
