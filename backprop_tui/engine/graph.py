"""Computational graphs: a DAG of nodes with any number of inputs, walked node by node.

Backprop is first taught on graphs: *Deep Learning from Scratch* opens chapter 5 with
``MulLayer``/``AddLayer`` and the apple/orange shopping graph, micrograd builds ``Value`` graphs
of scalars. Here:

* a :class:`Node` is a leaf (a value given: ``var(2.0, "a")``) or an op applied to other nodes
  (:mod:`~backprop_tui.engine.graphops`, or a book-style two-input layer through
  :class:`BookOp`). Nodes overload ``+ - * / ** @`` and have ``.tanh()``, ``.exp()``… as
  micrograd's ``Value`` does, and are computed as they are built (``o.value``); ``o.backward()``
  fills every node's ``grad``;
* a :class:`Graph` is what one output depends on, in topological order: forward runs the op
  nodes in that order, backward in reverse; the gradient a node sends to an input is *added* to
  that input's gradient (:meth:`Graph.accumulate`), so a value used twice gets both;
* one step is one node, forward or backward (:class:`~backprop_tui.engine.graphstep.GraphWalk`);
  the gradient check compares each node's backward with centered differences
  (:mod:`~backprop_tui.engine.graphcheck`).

Values are float64 arrays (0-d for scalars). This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .contract import LayerError, code_location
from .graphops import OPS, Op


class GraphError(ValueError):
    """A graph that cannot be built or walked: an unknown op, a name used twice, a book op
    whose backward returns the wrong number or shapes of gradients."""


def as_value(v: Any) -> np.ndarray:
    """A float64 array (0-d for a number); a copy, so the node owns it."""
    return np.array(v, dtype=np.float64)


def _num(v: np.ndarray | float) -> str:
    a = np.asarray(v)
    return f"{float(a):g}" if a.ndim == 0 else "×".join(map(str, a.shape))


class Node:
    """A value in a graph: a leaf, or ``op`` applied to ``inputs``. Computed when built."""

    __array_priority__ = 1000  # ndarray + Node → Node.__radd__, not an array of Nodes

    def __init__(self, value: Any = None, name: str = "", *, op: str = "input",
                 inputs: Sequence[Node] = (), fn: Op | BookOp | None = None,
                 attrs: dict[str, Any] | None = None) -> None:
        self.name = name
        self.op = op  # "input", "const", or the op's name
        self.inputs = tuple(inputs)
        self.fn = fn
        self.attrs = dict(attrs or {})
        self.auto_name = not name
        self.value: np.ndarray | None = None if value is None else as_value(value)
        self.grad: np.ndarray | None = None
        #: after this node's backward: the gradient it sent to each input (one per input)
        self.sent: list[np.ndarray] | None = None
        if fn is not None and self.value is None:
            self.value = fn.forward([i.value for i in self.inputs], self.attrs)

    # -- micrograd's spelling -------------------------------------------------------------------
    @property
    def data(self) -> float | np.ndarray:
        """The value (a float for a scalar), as micrograd's ``Value.data``."""
        v = self.value
        return float(v) if v is not None and v.ndim == 0 else v  # type: ignore[return-value]

    def backward(self) -> Graph:
        """Forward and backward through everything this node depends on (every ``grad``
        filled, this node's ``grad`` 1); the :class:`Graph` is returned."""
        g = Graph(self)
        g.forward()
        g.backward()
        return g

    def __repr__(self) -> str:
        grad = "" if self.grad is None else f", grad={_num(self.grad)}"
        value = "?" if self.value is None else _num(self.value)
        return f"Node({self.name or self.op}={value}{grad})"

    # -- building -------------------------------------------------------------------------------
    def _apply(self, op: str, *others: Any, **attrs: Any) -> Node:
        return Node(op=op, inputs=(self, *map(_node, others)), fn=OPS[op], attrs=attrs)

    def __add__(self, o: Any) -> Node:
        return self._apply("add", o)

    def __radd__(self, o: Any) -> Node:
        return _node(o)._apply("add", self)

    def __sub__(self, o: Any) -> Node:
        return self._apply("sub", o)

    def __rsub__(self, o: Any) -> Node:
        return _node(o)._apply("sub", self)

    def __mul__(self, o: Any) -> Node:
        return self._apply("mul", o)

    def __rmul__(self, o: Any) -> Node:
        return _node(o)._apply("mul", self)

    def __truediv__(self, o: Any) -> Node:
        return self._apply("div", o)

    def __rtruediv__(self, o: Any) -> Node:
        return _node(o)._apply("div", self)

    def __neg__(self) -> Node:
        return self._apply("mul", -1.0)

    def __pow__(self, k: float) -> Node:
        if not isinstance(k, int | float):
            raise GraphError(f"pow takes a constant exponent (an int or a float); got "
                             f"{type(k).__name__}")
        return self._apply("pow", k=float(k))

    def __matmul__(self, o: Any) -> Node:
        return self._apply("matmul", o)

    def __rmatmul__(self, o: Any) -> Node:
        return _node(o)._apply("matmul", self)

    def exp(self) -> Node:
        return self._apply("exp")

    def log(self) -> Node:
        return self._apply("log")

    def tanh(self) -> Node:
        return self._apply("tanh")

    def sigmoid(self) -> Node:
        return self._apply("sigmoid")

    def relu(self) -> Node:
        return self._apply("relu")

    def sum(self) -> Node:
        return self._apply("sum")

    def named(self, name: str) -> Node:
        """This node, named (``(a * b).named("e")``); returns it, for chaining."""
        self.name = name
        self.auto_name = not name
        return self


def var(value: Any, name: str = "") -> Node:
    """A leaf of a graph: ``a = bt.var(2.0, "a")`` (a number, or an array)."""
    return Node(value, name)


def apply(op: str, *inputs: Any, name: str = "", **attrs: Any) -> Node:
    """``op`` (a name of :data:`~backprop_tui.engine.graphops.OPS`) applied to ``inputs``."""
    if op not in OPS:
        raise GraphError(f"unknown op {op!r}; the ops are {', '.join(OPS)}")
    fn = OPS[op]
    if len(inputs) != fn.arity:
        raise GraphError(f"{op} takes {fn.arity} input(s); got {len(inputs)}")
    if op == "pow" and "k" not in attrs:
        raise GraphError("pow needs its exponent k")
    node = Node(op=op, inputs=tuple(map(_node, inputs)), fn=fn, attrs=attrs)
    return node.named(name) if name else node


def _node(v: Any) -> Node:
    if isinstance(v, Node):
        return v
    return Node(v, op="const")


class BookOp:
    """A two-input (or any-input) layer written the book's way — ``forward(x, y)`` and
    ``backward(dout) -> (dx, dy)``, as chapter 5's ``MulLayer`` and ``AddLayer`` — used as it
    is: calling it on nodes (``bt.from_book(mul_apple)(apple, apple_num)``) adds a node whose
    forward and backward are the object's own."""

    kink = None
    symbol = ""

    def __init__(self, obj: Any, arity: int) -> None:
        self.obj = obj
        self.arity = arity
        self.name = type(obj).__name__
        args = ", ".join("xyzuvw"[i] if i < 6 else f"x{i}" for i in range(arity))
        self.rule = f"out = {self.name}.forward({args})"
        self.grad_rules = (f"d{args.replace(', ', ', d')} = {self.name}.backward(dout)",)
        self.local = tuple(f"∂out/∂{'xyzuvw'[i] if i < 6 else i}" for i in range(arity))

    def __call__(self, *inputs: Any, name: str = "") -> Node:
        if len(inputs) != self.arity:
            raise GraphError(f"{self.name}.forward takes {self.arity} input(s); got "
                             f"{len(inputs)}")
        node = Node(op=self.name, inputs=tuple(map(_node, inputs)), fn=self)
        return node.named(name) if name else node

    def forward(self, xs: Sequence[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
        return as_value(self.obj.forward(*(_plain(x) for x in xs)))

    def backward(self, dout: np.ndarray, xs: Sequence[np.ndarray], out: np.ndarray,
                 attrs: dict[str, Any]) -> list[np.ndarray]:
        got = self.obj.backward(_plain(dout))
        grads = list(got) if isinstance(got, tuple | list) else [got]
        if len(grads) != self.arity:
            raise GraphError(f"{self.name}.backward returned {len(grads)} gradient(s) for "
                             f"{self.arity} input(s) ({code_location(self.obj.backward)}): "
                             "it must return one per input of forward, in order")
        return [as_value(g) for g in grads]


def _plain(x: np.ndarray) -> Any:
    """A 0-d value as the float the book's code is written for."""
    return float(x) if x.ndim == 0 else x


class Graph:
    """Everything ``output`` depends on, in topological order (see the module docstring)."""

    def __init__(self, output: Node, name: str = "graph") -> None:
        if not isinstance(output, Node):
            raise GraphError(f"a graph is built from its output node; got "
                             f"{type(output).__name__}")
        self.output = output
        self.name = name
        self.nodes = _topological(output)
        self.ops = [n for n in self.nodes if n.fn is not None]
        self.leaves = [n for n in self.nodes if n.fn is None]
        self.index = {n: i for i, n in enumerate(self.nodes)}
        #: for each node, the (consumer, input slot) pairs that use its value
        self.consumers: dict[Node, list[tuple[Node, int]]] = {n: [] for n in self.nodes}
        for n in self.ops:
            for slot, inp in enumerate(n.inputs):
                self.consumers[inp].append((n, slot))
        for n in self.leaves:
            if n.value is None:
                raise GraphError(f"leaf {n.name or '?'} has no value")
        _name_nodes(self.nodes)
        self._by_name = {n.name: n for n in self.nodes}

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def fans_out(self, node: Node) -> bool:
        """Whether ``node``'s value is used more than once: its gradient is a sum."""
        return len(self.consumers[node]) > 1

    # -- the units --------------------------------------------------------------------------
    def clear(self) -> None:
        """Before the forward pass: op nodes have no value yet, no node has a gradient."""
        for n in self.nodes:
            if n.fn is not None:
                n.value = None
            n.grad = None
            n.sent = None

    def forward_node(self, node: Node) -> None:
        node.value = _run(node, "forward",
                          lambda: node.fn.forward([i.value for i in node.inputs], node.attrs))

    def start_backward(self) -> None:
        """Every gradient 0, the output's 1 (d out / d out)."""
        for n in self.nodes:
            n.grad = np.zeros_like(n.value)
            n.sent = None
        self.output.grad = np.ones_like(self.output.value)

    def backward_node(self, node: Node) -> None:
        """Send ``node``'s gradient to its inputs: each gets its local derivative times it,
        added to what it has (:meth:`accumulate`)."""
        xs = [i.value for i in node.inputs]
        sent = _run(node, "backward",
                    lambda: node.fn.backward(node.grad, xs, node.value, node.attrs))
        for slot, (inp, g) in enumerate(zip(node.inputs, sent, strict=True)):
            if np.shape(g) != inp.value.shape:
                raise LayerError(f"backward of {node.name}", GraphError(
                    f"the gradient for input {slot + 1} ({inp.name}) has shape "
                    f"{np.shape(g)}, but {inp.name} has {inp.value.shape}"), layer=node.name,
                    phase="backward", where=code_location(getattr(node.fn, "obj", None)
                                                          and node.fn.obj.backward))
        node.sent = [np.asarray(g, dtype=np.float64) for g in sent]
        for inp, g in zip(node.inputs, node.sent, strict=True):
            self.accumulate(inp, g)

    def accumulate(self, node: Node, g: np.ndarray) -> None:
        """``node.grad += g``: a value used twice gets the gradient of both uses."""
        node.grad = node.grad + g

    def forward(self) -> np.ndarray:
        for n in self.ops:
            self.forward_node(n)
        return self.output.value  # type: ignore[return-value]

    def backward(self) -> None:
        self.start_backward()
        for n in reversed(self.ops):
            self.backward_node(n)

    # -- layout -------------------------------------------------------------------------------
    def depths(self) -> dict[Node, int]:
        """Longest path from a leaf: leaves 0, each op one more than its deepest input."""
        depth: dict[Node, int] = {}
        for n in self.nodes:
            depth[n] = 1 + max((depth[i] for i in n.inputs), default=-1)
        return depth

    def summary(self) -> str:
        ops, leaves = len(self.ops), len(self.leaves)
        return f"{ops} op{'s' * (ops != 1)}, {leaves} lea{'ves' if leaves != 1 else 'f'}"


def _run(node: Node, phase: str, fn: Any) -> Any:
    try:
        return fn()
    except LayerError:
        raise
    except Exception as e:  # the user's book op (or a domain error): name the node
        raise LayerError(f"{phase} of {node.name} ({node.op})", e, layer=node.name,
                         phase=phase) from e


def _topological(output: Node) -> list[Node]:
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(output, False)]
    while stack:  # iterative: a few thousand nodes deep must not hit the recursion limit
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if id(inp) not in seen:
                stack.append((inp, False))
    return order


def _name_nodes(nodes: Iterable[Node]) -> None:
    """Auto-named nodes get their op and a number (``mul3``), constants their value; a name
    given twice is refused (the check and the panes refer to nodes by name)."""
    nodes = list(nodes)
    taken: dict[str, Node] = {}
    for n in nodes:
        if n.auto_name:
            continue
        if n.name in taken and taken[n.name] is not n:
            raise GraphError(f"two nodes are named {n.name!r}: every node needs its own name")
        taken[n.name] = n
    counts: dict[str, int] = {}
    for n in nodes:
        if not n.auto_name:
            continue
        base = _num(n.value) if n.op == "const" else n.op
        i = counts.get(base, 0)
        while True:
            i += 1
            name = base if (n.op == "const" and i == 1) else f"{base}{i}"
            if n.op == "const" and i > 1:
                name = f"{base}#{i}"
            if name not in taken:
                break
        counts[base] = i
        n.name = name
        taken[name] = n
