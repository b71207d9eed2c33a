"""Graph scenarios: a TOML file with ``kind = "graph"`` → a checked :class:`GraphScenario` →
a :class:`~backprop_tui.engine.graph.Graph`.

The built-in graphs live in ``scenarios/graphs/`` (``apple``, ``apple-orange``, ``neuron``,
``fanout``, ``mlp``) and are opened by name like the networks (``backprop-tui debug apple``);
a path to any ``.toml`` with ``kind = "graph"`` works too. A file lists its nodes::

    name = "apple"
    kind = "graph"
    output = "price"                         # default: the last node
    nodes = [
      { name = "apple", value = 100.0 },     # a leaf: a number (or an array of numbers)
      { name = "apple_num", value = 2.0 },
      { name = "apple_price", op = "mul", inputs = ["apple", "apple_num"] },
      { name = "price", op = "mul", inputs = ["apple_price", "tax"] },  # pow also takes k
    ]

or, instead of ``nodes``, an ``[mlp]`` table (``sizes``, ``xs``, ``ys``, ``seed``): micrograd's
``MLP`` of scalar neurons on those samples with the squared loss, built with the same
expression API a user's file uses (:func:`~backprop_tui.engine.graph.var`). Every mistake is a
:class:`~backprop_tui.errors.ScenarioError` naming the file, the key and the value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .engine.graph import Graph, GraphError, Node, apply, var
from .engine.graphops import OPS
from .errors import ScenarioError
from .resources import scenarios_dir
from .safetext import NAME_MAX, NAME_RULE, name_problem, printable, safe_name
from .tomlcheck import TableReader


def graphs_dir() -> Path:
    return scenarios_dir() / "graphs"


def graph_names() -> list[str]:
    """The built-in graph scenarios, in learning order."""
    from .scenario import learning_path

    return learning_path([p.stem for p in graphs_dir().glob("*.toml")])


def is_graph_ref(ref: str | Path) -> bool:
    """A built-in graph's name, or a ``.toml`` file that says ``kind = "graph"``."""
    s = str(ref)
    if s in graph_names():
        return True
    if not s.endswith(".toml"):
        return False
    try:
        return tomllib.loads(Path(s).expanduser().read_text(encoding="utf-8")).get(
            "kind") == "graph"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False  # the scenario loader says what is wrong with it


@dataclass(frozen=True)
class GraphScenario:
    name: str
    description: str
    path: Path
    doc: dict[str, Any]
    builtin: bool = False

    def build(self) -> Graph:
        """A fresh graph (nodes, values), checked: each call builds new nodes."""
        return _build(self.doc, self.path, self.name)

    # what the scenario lists show, as for a network scenario
    @property
    def data_label(self) -> str:
        return "graph"

    @property
    def architecture(self) -> str:
        return self.build().summary()

    @property
    def param_count(self) -> int:
        return len(self.build().leaves)

    @property
    def missing_data(self) -> None:
        """A graph holds its own values: it never needs data from disk (as a Scenario may)."""
        return None

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "graph", "data": self.data_label,
                "architecture": self.architecture, "parameters": self.param_count,
                "description": self.description}


def load_graph_scenario(ref: str | Path) -> GraphScenario:
    """A built-in graph by name, or a graph ``.toml`` by path (checked: it builds)."""
    s = str(ref)
    builtin = s in graph_names()
    path = graphs_dir() / f"{s}.toml" if builtin else Path(s).expanduser()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"cannot read the file: {e}", file=path) from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"not valid TOML: {e}", file=path) from None
    top = TableReader(doc, path, "")
    name = top.get("name", "str", safe_name(path.stem, "graph"))
    if (problem := name_problem(name)) is not None:  # a title everywhere, as a network's name
        raise top.error("name", problem, name, NAME_RULE)
    description = top.get("description", "str", "")  # kept as written; printable when shown
    sc = GraphScenario(name, description, path, doc, builtin)
    sc.build()  # every problem now, before a screen opens
    return sc


def list_graph_scenarios() -> list[GraphScenario]:
    return [load_graph_scenario(n) for n in graph_names()]


# ---------------------------------------------------------------------------------------------
def _build(doc: dict[str, Any], file: Path, default_name: str) -> Graph:
    top = TableReader(doc, file, "")
    top.get("name", "str", default_name)
    top.get("description", "str", "")
    top.get("kind", "str", choices=("graph",))
    output = top.get("output", "str", "")
    if "mlp" in doc:
        nodes = _mlp(TableReader(top.get("mlp", "table"), file, "mlp"))
    else:
        raw = top.get("nodes", "list", expected="an array of node tables ({ name = …, value = "
                                                 "… } or { name = …, op = …, inputs = […] })")
        if not raw:
            raise ScenarioError("a graph needs at least one node", file=file, key="nodes")
        nodes = _nodes(raw, file)
    top.done()
    if output and output not in nodes:
        raise ScenarioError("no such node", file=file, key="output", value=output,
                            expected=f"one of {', '.join(nodes)}")
    out = nodes[output] if output else list(nodes.values())[-1]
    try:
        return Graph(out, name=default_name)
    except GraphError as e:
        raise ScenarioError(str(e), file=file) from None


def _nodes(raw: list[Any], file: Path) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for i, table in enumerate(raw):
        key = f"nodes[{i}]"
        r = TableReader(table, file, key)
        name = r.get("name", "str", check=bool, expected="a non-empty string")
        if printable(name) != name or len(name) > NAME_MAX:  # it reaches the terminal
            raise r.error("name", "not a printable node name", name,
                          f"up to {NAME_MAX} characters, no control characters")
        if name in nodes:
            raise r.error("name", "is the name of an earlier node", name, "a name of its own")
        if "value" in table:
            value = r.get("value", "any")
            try:
                arr = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                arr = None
            if arr is None or not np.isfinite(arr).all():
                raise r.error("value", "not a number or an array of numbers", value,
                              "a finite number, or a (nested) array of them")
            r.done()
            nodes[name] = var(arr, name)
            continue
        op = r.get("op", "str", choices=tuple(OPS), expected="a leaf's value, or an op")
        inputs = r.get("inputs", "list", expected="an array of earlier nodes' names")
        for inp in inputs:
            if inp not in nodes:
                raise r.error("inputs", f"names no earlier node: {inp!r}", inputs,
                              f"names of nodes above this one ({', '.join(nodes) or 'none'})")
        attrs = {"k": r.get("k", "float")} if op == "pow" else {}
        r.done()
        if len(inputs) != OPS[op].arity:
            raise r.error("inputs", f"{op} takes {OPS[op].arity} input(s)", inputs,
                          f"{OPS[op].arity} name(s)")
        try:
            with np.errstate(all="raise"):
                nodes[name] = apply(op, *(nodes[n] for n in inputs), name=name, **attrs)
        except (ValueError, FloatingPointError) as e:  # shapes that do not fit, log(−1)…
            raise ScenarioError(f"cannot compute it: {e}", file=file, key=key) from None
    return nodes


def _mlp(r: TableReader) -> dict[str, Node]:
    """micrograd's ``MLP(nin, nouts)`` on ``xs``, ``ys`` with ``loss = Σ (ŷ − y)²``, spelt as
    micrograd spells it; its weights drawn uniform in [−1, 1) from ``seed``."""
    sizes = r.get("sizes", "list", check=lambda v: len(v) >= 2 and all(
        isinstance(s, int) and s > 0 for s in v), expected="at least two positive integers")
    xs = r.get("xs", "list", check=lambda v: bool(v) and all(
        isinstance(x, list) and len(x) == sizes[0] for x in v),
        expected=f"samples of {sizes[0]} numbers each")
    ys = r.get("ys", "list", check=lambda v: len(v) == len(xs),
               expected=f"one target per sample ({len(xs)})")
    seed = r.get("seed", "int", 0, check=lambda v: v >= 0, expected="an integer ≥ 0")
    r.done()
    if sizes[-1] != 1:
        raise r.error("sizes", "the squared loss here takes one output", sizes,
                      "a last size of 1")
    rng = np.random.default_rng(seed)
    layers = []
    for li, (nin, nout) in enumerate(zip(sizes[:-1], sizes[1:], strict=False), start=1):
        layers.append([([var(rng.uniform(-1, 1), f"w{li}.{j}.{i}") for i in range(1, nin + 1)],
                        var(rng.uniform(-1, 1), f"b{li}.{j}")) for j in range(1, nout + 1)])
    nodes: dict[str, Node] = {}
    preds = []
    for s, x in enumerate(xs, start=1):
        h: list[Any] = [var(v, f"x{s}.{i}") for i, v in enumerate(x, start=1)]
        for li, layer in enumerate(layers):
            last = li == len(layers) - 1
            acts = [sum((wi * xi for wi, xi in zip(w, h, strict=True)), b) for w, b in layer]
            h = acts if last else [a.tanh() for a in acts]
        preds.append(h[0].named(f"pred{s}"))
    loss = sum((yout - var(ygt, f"y{s}")) ** 2
               for s, (ygt, yout) in enumerate(zip(ys, preds, strict=True), start=1))
    nodes["loss"] = loss.named("loss")  # type: ignore[union-attr]
    return nodes
