"""The operations of a computational graph: each one's forward, its backward (the gradient it
sends to each input, given the gradient ``dout`` of its output) and the rules as a student
writes them, for the formula pane.

The ops are those *Deep Learning from Scratch* (chapter 5) and micrograd use: add, mul, sub,
div, pow (a constant exponent), exp, log, tanh, sigmoid, relu, sum and matmul. Values are
float64 arrays (0-d for scalars); add, sub, mul and div broadcast as numpy does, and their
backward sums the gradient back to each input's shape.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Arrays = Sequence[np.ndarray]


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``g`` summed over the axes numpy broadcast an input of ``shape`` along."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


@dataclass(frozen=True)
class Op:
    """One operation. ``forward(xs, attrs)`` → the output; ``backward(dout, xs, out, attrs)``
    → one gradient per input (its local derivative times ``dout``). ``rule`` and ``grad_rules``
    are the forward and backward rules in the inputs' names ``x``, ``y`` (``k`` for pow's
    exponent); ``local`` is each input's local derivative, written with ``{x}``, ``{y}``,
    ``{out}`` and ``{k}`` for the chain-rule line."""

    name: str
    arity: int
    forward: Callable[[Arrays, dict[str, Any]], np.ndarray]
    backward: Callable[[np.ndarray, Arrays, np.ndarray, dict[str, Any]], list[np.ndarray]]
    rule: str
    grad_rules: tuple[str, ...]
    local: tuple[str, ...]
    #: the discrete choice a piecewise op made (relu's x > 0): a gradient-check step that
    #: changes it crossed a kink
    kink: Callable[[Arrays], np.ndarray] | None = None
    symbol: str = ""


def _matmul_backward(d: np.ndarray, xs: Arrays, out: np.ndarray, a: dict) -> list[np.ndarray]:
    x, y = xs
    if x.ndim == 1 and y.ndim == 1:
        return [d * y, d * x]
    x2 = x.reshape(1, -1) if x.ndim == 1 else x
    y2 = y.reshape(-1, 1) if y.ndim == 1 else y
    d2 = d.reshape(x2.shape[0], y2.shape[1])
    return [(d2 @ y2.T).reshape(x.shape), (x2.T @ d2).reshape(y.shape)]


def _pow(xs: Arrays, a: dict) -> np.ndarray:
    return xs[0] ** a["k"]


OPS: dict[str, Op] = {op.name: op for op in (
    Op("add", 2, lambda xs, a: xs[0] + xs[1],
       lambda d, xs, o, a: [unbroadcast(d, xs[0].shape), unbroadcast(d, xs[1].shape)],
       "out = x + y", ("dx = dout · 1", "dy = dout · 1"), ("1", "1"), symbol="+"),
    Op("sub", 2, lambda xs, a: xs[0] - xs[1],
       lambda d, xs, o, a: [unbroadcast(d, xs[0].shape), unbroadcast(-d, xs[1].shape)],
       "out = x − y", ("dx = dout · 1", "dy = dout · (−1)"), ("1", "(−1)"), symbol="−"),
    Op("mul", 2, lambda xs, a: xs[0] * xs[1],
       lambda d, xs, o, a: [unbroadcast(d * xs[1], xs[0].shape),
                            unbroadcast(d * xs[0], xs[1].shape)],
       "out = x · y", ("dx = dout · y", "dy = dout · x"), ("{y}", "{x}"), symbol="×"),
    Op("div", 2, lambda xs, a: xs[0] / xs[1],
       lambda d, xs, o, a: [unbroadcast(d / xs[1], xs[0].shape),
                            unbroadcast(-d * xs[0] / xs[1] ** 2, xs[1].shape)],
       "out = x / y", ("dx = dout / y", "dy = −dout · x / y²"), ("1/{y}", "(−{x}/{y}²)"),
       symbol="÷"),
    Op("pow", 1, _pow,
       lambda d, xs, o, a: [d * a["k"] * xs[0] ** (a["k"] - 1)],
       "out = x^k", ("dx = dout · k · x^(k−1)",), ("{k}·{x}^({k}−1)",), symbol="^"),
    Op("exp", 1, lambda xs, a: np.exp(xs[0]), lambda d, xs, o, a: [d * o],
       "out = exp(x)", ("dx = dout · out",), ("{out}",)),
    Op("log", 1, lambda xs, a: np.log(xs[0]), lambda d, xs, o, a: [d / xs[0]],
       "out = log(x)", ("dx = dout / x",), ("1/{x}",)),
    Op("tanh", 1, lambda xs, a: np.tanh(xs[0]), lambda d, xs, o, a: [d * (1 - o ** 2)],
       "out = tanh(x)", ("dx = dout · (1 − out²)",), ("(1 − {out}²)",)),
    Op("sigmoid", 1, lambda xs, a: 1 / (1 + np.exp(-xs[0])),
       lambda d, xs, o, a: [d * o * (1 - o)],
       "out = 1 / (1 + exp(−x))", ("dx = dout · out · (1 − out)",), ("{out}·(1 − {out})",)),
    Op("relu", 1, lambda xs, a: np.maximum(xs[0], 0.0), lambda d, xs, o, a: [d * (xs[0] > 0)],
       "out = max(0, x)", ("dx = dout · [x > 0]",), ("[{x} > 0]",),
       kink=lambda xs: xs[0] > 0),
    Op("sum", 1, lambda xs, a: np.asarray(xs[0].sum()),
       lambda d, xs, o, a: [np.broadcast_to(d, xs[0].shape).copy()],
       "out = Σ x", ("dx = dout · 1 (every entry)",), ("1",), symbol="Σ"),
    Op("matmul", 2, lambda xs, a: np.asarray(xs[0] @ xs[1]), _matmul_backward,
       "out = x @ y", ("dx = dout @ yᵀ", "dy = xᵀ @ dout"), ("yᵀ", "xᵀ"), symbol="@"),
)}


def local_text(op: Op, slot: int, names: Sequence[str], out: str, attrs: dict[str, Any]) -> str:
    """Input ``slot``'s local derivative in the graph's names: ``all_price`` for the tax of
    ``price = all_price × tax``."""
    x = names[0] if names else "x"
    y = names[1] if len(names) > 1 else "y"
    return op.local[slot].format(x=x, y=y, out=out, k=_num(attrs.get("k", "k")))


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float | int) else str(v)
