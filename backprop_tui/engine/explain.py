"""Explain any number: one entry of one tensor as the chain rule computed it, with this batch's
numbers (issue 10).

``explain(net, "affine1", "dW", (1, 3))`` after ``net.loss(x, t); net.backward()`` gives an
:class:`Explanation`: the formula with the code's names, the same with the entry's indices and
numbers, every term as ``(label, number)`` — the numbers sum to ``value``, the entry as the tensor
holds it — and ``inputs``, exactly the entries that feed it. ``str(e)`` is the text the debugger
shows.

How it is organised:

* :data:`RULES` maps ``(layer class, tensor name)`` to a rule, registered with :func:`rule`.
  The class is matched exactly (a user's subclass of ``Affine`` with its own backward does not
  get ``Affine``'s formula); rules registered for :class:`Layer` itself apply to every layer
  (``x`` and ``dout``: the identities that follow the chain from one layer to the next;
  ``param``: a parameter's current value). A layer with no rule for a tensor is explained
  numerically (``explain_numeric.py``: rule ``(Layer, "*")``). Losses are keyed by their class,
  the update by the optimizer's class and the tensor ``"update"``.
* A rule gets the :class:`Context` (what the network's last forward/backward left, and which
  layer and tensor is asked about) and the index, re-computes the terms from the inputs and
  returns ``ctx.explanation(...)``, which reads the entry from the tensor, checks that the terms
  sum to it and notes it when they do not (a finding: the layer's code differs from its formula).
* The pieces' rules live beside this module: ``explain_layers.py`` (ReLU … Flatten),
  ``explain_losses.py``, ``explain_update.py``, ``explain_numeric.py`` (a user's layer); each is
  imported by ``engine/__init__.py``, which is what registers its rules.

Which entries feed which (``inputs``): forward entries are fed by the layer's ``x`` and
parameters, backward entries by its ``dout`` and what forward cached; ``x`` of layer k is ``y``
of layer k−1 and ``dout`` of layer k is ``dx`` of layer k+1 (the loss's ``dscores`` after the
last layer) — the rules for ``x`` and ``dout`` say so, which is how the chain is followed.

This module imports numpy only.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .contract import cached_arrays, same_data
from .layers import Affine, Layer
from .losses import Loss
from .network import Network
from .optim import Optimizer

Index = tuple[int, ...]


class ExplainError(ValueError):
    """What was asked cannot be explained: an unknown layer or tensor, an index outside the
    tensor, a tensor not computed yet. The message names what exists."""


@dataclass(frozen=True)
class Entry:
    """One entry of one tensor: ``Entry("affine1", "dW", (1, 3))``."""

    layer: str
    tensor: str
    index: Index

    def __str__(self) -> str:
        return f"{self.layer}.{self.tensor}{fmt_index(self.index)}"


@dataclass
class Grid:
    """A small 2-D picture of numbers the text shows (a conv window, its kernel)."""

    title: str
    values: np.ndarray
    highlight: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class Explanation:
    entry: Entry
    value: float
    formula: str
    substituted: str
    terms: list[tuple[str, float]]
    inputs: list[Entry]
    grids: list[Grid] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    numeric: float | None = None

    @property
    def layer(self) -> str:
        return self.entry.layer

    @property
    def tensor(self) -> str:
        return self.entry.tensor

    @property
    def index(self) -> Index:
        return self.entry.index

    def text(self, width: int = 80, max_terms: int = 8) -> str:
        """The explanation as lines of at most ``width`` characters (a number is never cut:
        lines break between words): the entry and its value, the formula, the formula with
        the numbers, the terms (largest ``|term|`` first, at most ``max_terms``, then how many
        more and the sum of the rest), their sum, the grids and the notes."""
        width = max(int(width), 20)
        out: list[str] = []

        def para(text: str, indent: str = "", first: str = "") -> None:
            out.extend(textwrap.wrap(text, width, initial_indent=first or indent,
                                     subsequent_indent=indent + "    ",
                                     break_long_words=False, break_on_hyphens=False) or [""])

        para(f"{self.entry} = {num(self.value)}")
        para(self.formula, "  ")
        if self.substituted:
            para(self.substituted, "  ")
        if self.terms:
            order = sorted(range(len(self.terms)), key=lambda k: -abs(self.terms[k][1]))
            shown = order if len(order) <= max_terms else order[:max(max_terms - 1, 1)]
            label = "term" if len(self.terms) == 1 else "terms, largest first"
            out.append(f"  {label}:")
            col = max(len(num(self.terms[k][1])) for k in shown) + 2
            for k in shown:
                name, value = self.terms[k]
                para(name, " " * (4 + col), f"    {num(value):<{col}}")
            rest = [self.terms[k][1] for k in order[len(shown):]]
            if rest:
                para(f"… {len(rest)} more terms, sum of the rest = {num(math.fsum(rest))}",
                     "    ")
            para(f"= {num(math.fsum(v for _, v in self.terms))}", "    ")
        for grid in self.grids:
            out.append(f"  {grid.title}:")
            out.extend(_grid_lines(grid, width))
        if self.numeric is not None:
            para(f"numerical derivative (centered differences): {num(self.numeric)}", "  ")
        for note in self.notes:
            para(note, "  ", "  · ")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON): every field, entries as ``{layer, tensor, index}``."""
        def entry(e: Entry) -> dict[str, Any]:
            return {"layer": e.layer, "tensor": e.tensor, "index": list(e.index)}

        return {"entry": entry(self.entry), "value": self.value, "formula": self.formula,
                "substituted": self.substituted,
                "terms": [{"label": label, "value": v} for label, v in self.terms],
                "inputs": [entry(e) for e in self.inputs],
                "grids": [{"title": g.title, "values": np.asarray(g.values).tolist(),
                           "highlight": sorted(list(h) for h in g.highlight)}
                          for g in self.grids],
                "notes": list(self.notes), "numeric": self.numeric}


# -- numbers as text -----------------------------------------------------------------------------
def num(v: float, digits: int = 6) -> str:
    """A number with ``digits`` significant digits and a real minus sign."""
    v = float(v)
    if v == 0:
        return "0"
    return f"{v:.{digits}g}".replace("-", "−")


def paren(v: float, digits: int = 4) -> str:
    """A factor in a product: negative numbers in parentheses, ``(−0.25)``."""
    s = num(v, digits)
    return f"({s})" if s.startswith("−") else s


def fmt_index(index: Iterable[int]) -> str:
    """``[1,3]``; nothing for a scalar's ``()``."""
    index = tuple(index)
    return "[" + ",".join(str(int(i)) for i in index) + "]" if index else ""


def _grid_lines(grid: Grid, width: int) -> list[str]:
    values = np.atleast_2d(np.asarray(grid.values, dtype=np.float64))
    cells = [[num(v, 3) for v in row] for row in values]
    w = max((len(c) for row in cells for c in row), default=1) + 2
    per_line = max((width - 4) // w, 1)
    if values.shape[1] > per_line:  # room for the " …" that says columns are left out
        per_line = max((width - 6) // w, 1)
    lines = []
    for r, row in enumerate(cells):
        text = ""
        for c, cell in enumerate(row[:per_line]):
            mark = "[" if (r, c) in grid.highlight else " "
            end = "]" if (r, c) in grid.highlight else " "
            text += f"{mark}{cell}{end}".rjust(w)
        if len(row) > per_line:
            text += " …"
        lines.append("    " + text.rstrip())
    return lines


def products(pairs: list[tuple[float, float]], limit: int = 3) -> str:
    """``a·b + c·(−d) + …`` for the first ``limit`` pairs (``… (N terms)`` when there are more)."""
    shown = " + ".join(f"{paren(a)}·{paren(b)}" for a, b in pairs[:limit])
    if len(pairs) > limit:
        shown += f" + … ({len(pairs)} terms)"
    return shown or "0"


def feeding(*factors: tuple[Entry, float]) -> list[Entry]:
    """The factors of one product term that feed it: each whose partner factors are not zero
    (``x·dout`` with ``x = 0`` exactly is 0 whatever ``dout`` is — that ``dout`` feeds nothing)."""
    out = []
    for k, (entry, _) in enumerate(factors):
        if all(v != 0 for m, (_, v) in enumerate(factors) if m != k):
            out.append(entry)
    return out


# -- the context ---------------------------------------------------------------------------------
class Context:
    """What the network's last forward and backward left, and what is being explained.

    Per layer ``i``: its input ``inputs[i]``, its output (``inputs[i+1]``, or ``output`` for the
    last layer), the gradient that reached it (``dinputs[i+1]``, or ``dout`` — the loss's
    ``dscores`` — for the last layer), its ``dx`` (``dinputs[i]``), and the layer's own cache,
    params and grads. By default these are the network's (``net.inputs`` …); a debugger that keeps
    its own records passes them instead: ``inputs``/``outputs`` (per layer: its forward record's
    input and output, None where it has not run), ``dinputs``/``douts`` (per layer: its
    backward record's output and input), ``grads`` (per layer: its backward record's grads, None
    where it has not run), ``output`` and ``dout`` (the loss's scores and dscores) — whatever is
    given replaces the network's. ``params`` (``"layer.param"`` → array) overrides the
    layers' parameters: the values the forward and backward used, when an update has changed them
    since (``before["params"]``).

    A rule reads the layer it explains through ``self.layer`` (the object), ``self.i`` (its
    position; None for the loss and the update), ``self.name`` and ``self.tensor`` (what was
    asked), and the accessors below.
    """

    def __init__(
        self,
        net: Network,
        *,
        optimizer: Any = None,
        before: dict[str, Any] | None = None,
        inputs: list[np.ndarray | None] | None = None,
        output: np.ndarray | None = None,
        dinputs: list[np.ndarray | None] | None = None,
        dout: np.ndarray | None = None,
        outputs: list[np.ndarray | None] | None = None,
        douts: list[np.ndarray | None] | None = None,
        grads: list[dict[str, np.ndarray] | None] | None = None,
    ) -> None:
        self.net = net
        self.optimizer = optimizer
        self.before = before
        self.inputs = list(net.inputs if inputs is None else inputs)
        self.output = net.output if output is None and inputs is None else output
        self.dinputs = list(net.dinputs if dinputs is None else dinputs)
        self.dout_net = net.dout if dout is None and dinputs is None else dout
        self.outputs, self.douts, self.grads = outputs, douts, grads
        self.params_before: dict[str, np.ndarray] = dict((before or {}).get("params") or {})
        self.l2 = float(net.l2)
        # what is being explained (set by explain())
        self.layer: Any = None
        self.i: int | None = None
        self.name = ""
        self.tensor = ""

    # -- the layer being explained -----------------------------------------------------------
    def at(self, name: str, tensor: str) -> Context:
        """Point the context at ``name``'s ``tensor``; raises ExplainError for an unknown
        layer."""
        self.name, self.tensor = name, tensor
        for i, layer in enumerate(self.net.layers):
            if layer.name == name:
                self.layer, self.i = layer, i
                return self
        loss = self.net.loss_layer
        if name in (loss.name, "loss"):
            self.layer, self.i, self.name = loss, None, loss.name
            return self
        if name == "update":
            self.layer, self.i = self.optimizer, None
            return self
        names = [layer.name for layer in self.net.layers] + [loss.name, "update"]
        raise ExplainError(f"no layer {name!r} in this network; it has {', '.join(names)}")

    @property
    def is_loss(self) -> bool:
        return isinstance(self.layer, Loss)

    def entry(self, tensor: str, index: Iterable[int], layer: str | None = None) -> Entry:
        return Entry(self.name if layer is None else layer, tensor,
                     tuple(int(i) for i in index))

    def x(self, i: int | None = None) -> np.ndarray | None:
        return self.inputs[self.i if i is None else i]

    def y(self, i: int | None = None) -> np.ndarray | None:
        i = self.i if i is None else i
        if self.outputs is not None:
            return self.outputs[i]
        return self.inputs[i + 1] if i + 1 < len(self.inputs) else self.output

    def dout(self, i: int | None = None) -> np.ndarray | None:
        i = self.i if i is None else i
        if self.douts is not None:
            return self.douts[i]
        return self.dinputs[i + 1] if i + 1 < len(self.dinputs) else self.dout_net

    def dx(self, i: int | None = None) -> np.ndarray | None:
        return self.dinputs[self.i if i is None else i]

    def param(self, k: str, layer: Layer | None = None) -> np.ndarray:
        """A parameter as the last forward/backward used it (``before``'s, when given)."""
        layer = self.layer if layer is None else layer
        return self.params_before.get(f"{layer.name}.{k}", layer.params[k])

    def grad(self, k: str, i: int | None = None) -> np.ndarray | None:
        i = self.i if i is None else i
        grads = self.net.layers[i].grads if self.grads is None else (self.grads[i] or {})
        return grads.get(k)

    def cache(self, k: str) -> np.ndarray | None:
        return self.layer.cache.get(k)

    def decays(self, k: str) -> bool:
        """L2 adds ``λ·param`` to this parameter's gradient (``Network.backward_layer``)."""
        return bool(self.l2) and self.layer.trainable and k in self.layer.decay

    # -- the tensors of the layer being explained --------------------------------------------
    def tensors(self) -> dict[str, np.ndarray | None]:
        """Every tensor of the layer, by the name explain takes (None: not computed yet)."""
        layer = self.layer
        if self.i is not None:
            out: dict[str, np.ndarray | None] = {"x": self.x(), "y": self.y()}
            # a cached tensor that is x, y or a parameter (Affine's flattened x, Sigmoid's y)
            # is explained under that name, as the debugger shows it
            shown = [a for a in (out["x"], out["y"], *layer.params.values()) if a is not None]
            for k, a in cached_arrays(layer.cache).items():
                if any(same_data(a, b) for b in shown):
                    continue
                taken = k in out or k in layer.params or k in ("dout", "dx") or \
                    f"d{k}" in layer.params
                out[f"cache {k}" if taken else k] = a
            for k, p in layer.params.items():
                out[k] = p  # live: what the parameter holds now (the rules read self.param)
            for k, b in layer.buffers.items():
                out[k] = b
            out["dout"] = self.dout()
            for k in layer.params:
                out[f"d{k}"] = self.grad(k)
            out["dx"] = self.dx()
            return out
        if self.is_loss:
            return self.loss_tensors()
        return self.update_tensors()

    def loss_tensors(self) -> dict[str, np.ndarray | None]:
        """The loss's tensors: ``scores`` (the network's output), ``t`` (the targets as the loss
        used them), its cache (``y``: probabilities …), ``dscores`` and the scalar ``loss``."""
        loss = self.layer
        cache = cached_arrays(loss.cache)
        scores = cache.pop("x", None)
        if scores is None:
            scores = self.output
        out: dict[str, np.ndarray | None] = {"scores": scores, "t": cache.pop("t", None)}
        out.update((k, a) for k, a in cache.items()
                   if scores is None or not same_data(a, scores))  # MSE's y is the scores
        out["dscores"] = self.dout_net
        value = self.net.data_loss
        out["loss"] = None if value is None else np.asarray(value + self.net.l2_loss)
        if self.l2:
            out["l2"] = None if value is None else np.asarray(self.net.l2_loss)
        return out

    def update_tensors(self) -> dict[str, np.ndarray | None]:
        """The trainable parameters (``"affine1.W"``: the value after the update), then the
        optimizer's state before it (``"v:affine1.W"``: ``before``'s, or the current state)."""
        out: dict[str, np.ndarray | None] = {
            f"{layer.name}.{k}": layer.params[k] for layer in self.net.layers
            if layer.trainable for k in layer.params}
        state = (self.before or {}).get("state") if self.before is not None else \
            getattr(self.optimizer, "state", None)
        out.update((k, np.asarray(v)) for k, v in (state or {}).items() if ":" in k)
        return out

    def array(self, tensor: str | None = None) -> np.ndarray | None:
        return self.tensors().get(self.tensor if tensor is None else tensor)

    # -- the explanation ---------------------------------------------------------------------
    def explanation(
        self,
        index: Index,
        formula: str,
        substituted: str,
        terms: list[tuple[str, float]],
        inputs: list[Entry],
        *,
        value: float | None = None,
        grids: list[Grid] | None = None,
        notes: list[str] | None = None,
        numeric: float | None = None,
    ) -> Explanation:
        """The explanation of ``self.tensor[index]``: ``value`` is the entry as the tensor
        holds it (or as given, for an entry no tensor holds); when the terms do not sum to it
        within float rounding, a note says so — the layer's code differs from its formula."""
        entry = self.entry(self.tensor, index)
        if value is None:
            a = self.array()
            value = float(np.asarray(a)[index])
            eps = float(np.finfo(a.dtype).eps) if a.dtype.kind == "f" else 2.0 ** -52
        else:
            eps = 2.0 ** -52
        notes = list(notes or [])
        terms = [(label, float(v)) for label, v in terms]
        total = math.fsum(v for _, v in terms)
        scale = math.fsum(abs(v) for _, v in terms)
        if abs(total - value) > 8 * (len(terms) + 2) * eps * max(scale, abs(value)) + 1e-300:
            notes.append(f"the code's {self.tensor}{fmt_index(index)} = {num(value, 10)}, but "
                         f"the terms sum to {num(total, 10)}")
        return Explanation(entry, float(value), formula, substituted, terms, inputs,
                           grids or [], notes, numeric)


# -- the rule table ------------------------------------------------------------------------------
Rule = Callable[[Context, Index], Explanation]
RULES: dict[tuple[type, str], Rule] = {}


def rule(layer_type: type, *tensors: str) -> Callable[[Rule], Rule]:
    """Register the decorated function as the rule for ``layer_type``'s ``tensors``."""
    def register(fn: Rule) -> Rule:
        for tensor in tensors:
            RULES[(layer_type, tensor)] = fn
        return fn
    return register


def stands_for(piece: object) -> type:
    """The class whose rules explain ``piece``: its own, or the built-in its class declares it
    stands in for (``explain_as``, set on the class itself: the find-the-bug exercises'
    planted variants, one wrong method each, are explained by the real piece's formula and
    their code's entry differs from its terms). A user's subclass declares nothing."""
    return vars(type(piece)).get("explain_as") or type(piece)


def find_rule(ctx: Context) -> Rule | None:
    """The rule for what ``ctx`` points at: the layer class's own (or the class it
    :func:`stands_for`), else the rules every layer (or every loss) has, else the numeric
    explanation of a user's piece (``"*"``)."""
    kind, tensor = stands_for(ctx.layer), ctx.tensor
    if ctx.name == "update":
        return RULES.get((Layer, "state") if ":" in tensor else (kind, "update"))
    found = RULES.get((kind, tensor))
    if found is not None:
        return found
    if ctx.is_loss:
        return RULES.get((Loss, tensor)) or RULES.get((Loss, "*"))
    if tensor in ("x", "dout"):
        return RULES.get((Layer, tensor))
    if tensor in ctx.layer.params:
        return RULES.get((Layer, "param"))
    return RULES.get((Layer, "*"))


def as_index(index: Any) -> Index:
    if isinstance(index, int | np.integer):
        return (int(index),)
    try:
        return tuple(int(i) for i in index)
    except (TypeError, ValueError):
        raise ExplainError(f"an index is a tuple of integers, like (1, 3), not {index!r}"
                           ) from None


def check_index(ctx: Context, index: Index, shape: tuple[int, ...]) -> None:
    label = f"{ctx.name}.{ctx.tensor}"
    if ctx.is_loss and ctx.tensor == "loss" and len(index) > 1:
        raise ExplainError(f"{label} takes the index () for the whole loss or (n,) for sample "
                           f"n's term, not {fmt_index(index)}")
    if len(index) != len(shape):
        example = f"{label}[{','.join('0' * len(shape))}]"
        raise ExplainError(f"{label} has {len(shape)} axes (shape {shape}); the index "
                           f"{fmt_index(index) if index else '()'} has {len(index)} — give "
                           f"one index per axis, e.g. {example}")
    for axis, (i, n) in enumerate(zip(index, shape, strict=True)):
        if not 0 <= i < n:
            raise ExplainError(f"{label}{fmt_index(index)}: index {i} on axis {axis} is "
                               f"outside 0…{n - 1} (shape {shape})")


def explain(net: Network, layer: str, tensor: str, index: Any, *, optimizer: Any = None,
            before: dict[str, Any] | None = None) -> Explanation:
    """Explain ``net``'s ``layer``.``tensor``\\ ``[index]`` as its last forward/backward computed
    it. ``layer`` is a layer's name, the loss's (or ``"loss"``), or ``"update"`` (then ``tensor``
    is ``"<layer>.<param>"`` and ``optimizer`` is needed); ``before`` holds the parameters
    (``"params"``: ``"layer.param"`` → array) and optimizer state (``"state"``: its
    ``state_dict()``) from before the update, as the stepper's snapshot has them.
    Raises :class:`ExplainError` when the entry does not exist or is not computed yet, or
    ``optimizer`` or ``before`` is not of that shape."""
    check_update_args(optimizer, before)
    return explain_in(Context(net, optimizer=optimizer, before=before), layer, tensor, index)


#: the keys of ``explain``'s ``before`` (the stepper's snapshot of the iteration)
BEFORE_KEYS = ("params", "state")


def check_update_args(optimizer: Any, before: Any) -> None:
    """ExplainError (one line) unless ``optimizer`` is None or an optimizer and ``before``
    is None or a dict of ``params`` (``"layer.param"`` → array) and ``state`` (the
    optimizer's ``state_dict()``)."""
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise ExplainError(f"optimizer={type(optimizer).__name__}: expected an optimizer "
                           "(bt.SGD, bt.Momentum, bt.AdaGrad, bt.Adam …) or None")
    if before is None:
        return
    expected = f"expected a dict with the keys {' and '.join(BEFORE_KEYS)} " \
        "(Stepper.state_before_update())"
    if not isinstance(before, dict):
        raise ExplainError(f"before={type(before).__name__}: {expected}")
    wrong = [k for k in before if k not in BEFORE_KEYS]
    if wrong:
        raise ExplainError(f"before has the key{'s' if len(wrong) > 1 else ''} "
                           f"{', '.join(map(repr, wrong))}: {expected}")
    for k in BEFORE_KEYS:
        if before.get(k) is not None and not isinstance(before[k], dict):
            raise ExplainError(f"before[{k!r}] is a {type(before[k]).__name__}: {expected}, "
                               "each a dict")


def explain_in(ctx: Context, layer: str, tensor: str, index: Any) -> Explanation:
    """:func:`explain` on a context made by the caller (a debugger's records)."""
    ctx.at(layer, tensor)
    index = as_index(index)
    if ctx.name == "update" and ctx.optimizer is None:
        raise ExplainError("explaining the update needs the optimizer: "
                           "explain(net, 'update', 'affine1.W', (i, j), optimizer=opt)")
    tensors = ctx.tensors()
    if tensor not in tensors:
        raise ExplainError(f"{ctx.name} has no tensor {tensor!r}; it has "
                           f"{', '.join(tensors)}")
    a = tensors[tensor]
    if a is None:
        raise ExplainError(f"{ctx.name}.{tensor} is not computed yet (run the "
                           f"{producing_step(ctx, tensor)} pass first)".replace(
                               "update pass", "update"))
    shape = np.shape(a)
    if ctx.is_loss and tensor == "loss" and len(index) == 1:  # sample n's term
        shape = np.shape(tensors["scores"])[:1]
    check_index(ctx, index, shape)
    found = find_rule(ctx)
    if found is None:
        raise ExplainError(f"no rule explains {ctx.name}.{tensor} ({type(ctx.layer).__name__})")
    return found(ctx, index)


def producing_step(ctx: Context, tensor: str) -> str:
    """Which part of an iteration computes ``tensor`` of the layer ``ctx`` points at:
    ``"forward"`` (activations, caches, the loss, and ``dscores``, which the loss step
    computes), ``"backward"`` (``dout``, ``dx``, the parameters' gradients) or ``"update"``."""
    if ctx.name == "update":
        return "update"
    if tensor in ("dout", "dx") or (tensor.startswith("d") and ctx.i is not None
                                    and tensor[1:] in ctx.layer.params):
        return "backward"
    return "forward"


# -- every layer: the identities that link the layers, parameters ------------------------------
@rule(Layer, "x")
def _x(ctx: Context, idx: Index) -> Explanation:
    if ctx.i == 0:
        return ctx.explanation(idx, "x = the batch's data", f"x{fmt_index(idx)} is data",
                               [(f"data{fmt_index(idx)}", ctx.x()[idx])], [],
                               notes=["the first layer's input: nothing in the network "
                                      "feeds it"])
    before = ctx.net.layers[ctx.i - 1].name
    return ctx.explanation(idx, f"x of {ctx.name} = y of {before}",
                           f"x{fmt_index(idx)} = {before}.y{fmt_index(idx)}",
                           [(f"{before}.y{fmt_index(idx)}", ctx.x()[idx])],
                           [ctx.entry("y", idx, before)])


@rule(Layer, "dout")
def _dout(ctx: Context, idx: Index) -> Explanation:
    if ctx.i + 1 < len(ctx.net.layers):
        after, what = ctx.net.layers[ctx.i + 1].name, "dx"
    else:
        after, what = ctx.net.loss_layer.name, "dscores"
    return ctx.explanation(idx, f"dout of {ctx.name} = {what} of {after}",
                           f"dout{fmt_index(idx)} = {after}.{what}{fmt_index(idx)}",
                           [(f"{after}.{what}{fmt_index(idx)}", ctx.dout()[idx])],
                           [ctx.entry(what, idx, after)])


@rule(Layer, "param")
def _param(ctx: Context, idx: Index) -> Explanation:
    k, at = ctx.tensor, fmt_index(idx)
    formula = f"{k} = a parameter of {ctx.name} (initialised, then changed by every update)"
    live, used = ctx.layer.params[k][idx], ctx.param(k)[idx]
    if live == used:
        return ctx.explanation(idx, formula, "", [(f"{k}{at}", live)], [],
                               notes=[f"explain update.{ctx.name}.{k}{at} shows how the "
                                      "update changes it"])
    key = f"{ctx.name}.{k}"
    return ctx.explanation(idx, formula, f"{k}{at} = {paren(used)} + {paren(live - used)}",
                           [(f"{k}{at} before the update", used),
                            ("the update's change", live - used)],
                           [Entry("update", key, idx)],
                           notes=[f"it is update.{key}{at}: explain that for the step"])


# -- Affine --------------------------------------------------------------------------------------
def _flat_entry(ctx: Context, n: int, i: int) -> Entry:
    """Affine flattens its input per sample: feature ``i`` of sample ``n`` is this entry of x."""
    x = ctx.x()
    return ctx.entry("x", (n, *np.unravel_index(i, x.shape[1:])))


@rule(Affine, "y")
def _affine_y(ctx: Context, idx: Index) -> Explanation:
    n, j = idx
    x = ctx.x().reshape(ctx.x().shape[0], -1)
    W, b = ctx.param("W"), ctx.param("b")
    pairs = [(x[n, i], W[i, j]) for i in range(W.shape[0])]
    terms = [(f"x[{n},{i}]·W[{i},{j}] = {paren(a)}·{paren(w)}", a * w)
             for i, (a, w) in enumerate(pairs)]
    terms.append((f"b[{j}]", b[j]))
    inputs = [e for i, (a, w) in enumerate(pairs)
              for e in feeding((_flat_entry(ctx, n, i), a), (ctx.entry("W", (i, j)), w))]
    inputs.append(ctx.entry("b", (j,)))
    return ctx.explanation(idx, "y[n,j] = Σᵢ x[n,i]·W[i,j] + b[j]",
                           f"y[{n},{j}] = {products(pairs)} + {paren(b[j])}", terms, inputs,
                           notes=_flat_note(ctx))


def _flat_note(ctx: Context) -> list[str]:
    shape = ctx.x().shape
    if len(shape) <= 2:
        return []
    return [f"x is flattened per sample: x[n,i] is x[n,c,…] of shape {shape} in row-major "
            "order"]


@rule(Affine, "dW")
def _affine_dW(ctx: Context, idx: Index) -> Explanation:
    i, j = idx
    x = ctx.x().reshape(ctx.x().shape[0], -1)
    dout = ctx.dout()
    pairs = [(x[n, i], dout[n, j]) for n in range(x.shape[0])]
    terms = [(f"x[{n},{i}]·dout[{n},{j}] = {paren(a)}·{paren(d)}", a * d)
             for n, (a, d) in enumerate(pairs)]
    inputs = [e for n, (a, d) in enumerate(pairs)
              for e in feeding((_flat_entry(ctx, n, i), a), (ctx.entry("dout", (n, j)), d))]
    formula = "dW[i,j] = Σₙ x[n,i]·dout[n,j]"
    substituted = f"dW[{i},{j}] = {products(pairs)}"
    if ctx.decays("W"):
        w = ctx.param("W")[i, j]
        formula += " + λ·W[i,j]"
        substituted += f" + {num(ctx.l2, 4)}·{paren(w)}"
        terms.append((f"λ·W[{i},{j}] = {num(ctx.l2, 4)}·{paren(w)}  (L2)", ctx.l2 * w))
        inputs.append(ctx.entry("W", (i, j)))
    return ctx.explanation(idx, formula, substituted, terms, inputs, notes=_flat_note(ctx))


@rule(Affine, "db")
def _affine_db(ctx: Context, idx: Index) -> Explanation:
    (j,) = idx
    dout = ctx.dout()
    col = [dout[n, j] for n in range(dout.shape[0])]
    shown = " + ".join(paren(d) for d in col[:4]) + (f" + … ({len(col)} terms)"
                                                       if len(col) > 4 else "")
    return ctx.explanation(idx, "db[j] = Σₙ dout[n,j]", f"db[{j}] = {shown}",
                           [(f"dout[{n},{j}]", d) for n, d in enumerate(col)],
                           [ctx.entry("dout", (n, j)) for n in range(len(col))])


@rule(Affine, "dx")
def _affine_dx(ctx: Context, idx: Index) -> Explanation:
    n, flat = idx[0], int(np.ravel_multi_index(idx[1:], ctx.x().shape[1:]))
    dout, W = ctx.dout(), ctx.param("W")
    pairs = [(dout[n, j], W[flat, j]) for j in range(W.shape[1])]
    i = flat
    terms = [(f"dout[{n},{j}]·W[{i},{j}] = {paren(d)}·{paren(w)}", d * w)
             for j, (d, w) in enumerate(pairs)]
    inputs = [e for j, (d, w) in enumerate(pairs)
              for e in feeding((ctx.entry("dout", (n, j)), d), (ctx.entry("W", (i, j)), w))]
    notes = _flat_note(ctx)
    if len(idx) > 2:
        notes.append(f"dx{fmt_index(idx)} is entry i = {i} of sample {n}'s flattened row")
    return ctx.explanation(idx, "dx[n,i] = Σⱼ dout[n,j]·W[i,j]",
                           f"dx[{n},{i}] = {products(pairs)}", terms, inputs, notes=notes)
