"""Explain an entry of a user's own layer or loss, numerically: no formula is known for code the
tool did not write, so the explanation is the entry as the code computed it next to what the
numbers say.

* A gradient (``dx``, ``dW`` …): the numerical derivative of that entry by centered differences
  of the gradient check's local function ``⟨forward(x; θ), dout⟩ (+ ½·λ·‖W‖²)`` — the same
  comparison (``numeric.compare``: refinement at h/10, kinks), on a copy of the layer — and which
  entries of ``dout`` move it most: ``dout[m,j]·∂y[m,j]/∂θ`` for every output entry, summed per
  sample. A mismatch beyond the gradient check's tolerance is said in the text.
* A forward entry (``y``, a cached tensor): which entries of the layer's input (of the same
  sample) and of its parameters move it, and by how much (``∂y/∂input``), numerically.
* A user's loss: ``dscores`` against the numerical derivative of the loss; the loss value and its
  cache by the scores that move them.

The terms are one, ``("analytic (your code)", value)``: there is no formula to split the entry
into, and ``numeric`` holds the numerical derivative. ``inputs`` are found numerically: the
entries whose change (±h) moves the explained entry.

This module imports numpy only; importing it registers the rules (``engine/__init__.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from .explain import Context, Entry, ExplainError, Explanation, Index, fmt_index, num, rule
from .gradcheck import _numpy_rng_kept, local_function
from .layers import Layer
from .losses import Loss
from .network import given
from .numeric import DEFAULT_ATOL, DEFAULT_H, DEFAULT_TOL, Job, compare

#: forward entries: at most this many input entries are perturbed (two evaluations each)
MAX_PROBES = 2000
#: how many of the largest contributions the notes list
TOP = 5


def _kind(piece: Layer | Loss) -> str:
    """The user's class (or function) name: what a book layer or a function pair calls itself."""
    return piece.kind if piece.kind not in ("Layer", "Loss") else type(piece).__name__


def _no_formula(ctx: Context, piece: Layer | Loss) -> str:
    """A registered layer type with no rule yet is not the user's code: say which it is."""
    if isinstance(piece, Layer) and piece.type_name is not None:
        return f"no formula: explain has no rule for {piece.kind} yet; numerically"
    name = f"{ctx.name} ({_kind(piece)})" if isinstance(piece, Layer) else _kind(piece)
    return f"no formula: {name} is your own code"


def _slice(idx: Index) -> tuple[slice, ...]:
    """A one-entry view: perturbing it perturbs the array (``compare`` writes into it)."""
    return tuple(slice(i, i + 1) for i in idx)


def _numeric(ctx: Context, idx: Index, name: str, target: np.ndarray,
             run: Callable[[], tuple[float, bool]], kind: str) -> tuple[float, list[str]]:
    """The numerical derivative of the explained entry and the verdict, as notes."""
    analytic = np.asarray(ctx.array(), dtype=np.float64)[_slice(idx)]
    job = Job(ctx.name, -1 if ctx.i is None else ctx.i, kind, name, target[_slice(idx)],
              analytic, run, "entry", 1, 0)
    check = compare(job, DEFAULT_H, np.random.default_rng(0), DEFAULT_TOL, DEFAULT_ATOL)
    a, n = float(check.analytic[0]), float(check.numeric[0])
    at = f"{ctx.tensor}{fmt_index(idx)}"
    if check.kinks:
        return n, [f"{at} sits on a kink (a choice your code made flips within ±h): the "
                   "numerical derivative says nothing there"]
    if not check.passed:
        return n, [f"MISMATCH: your backward's {at} = {num(a)}, numerically {num(n)} "
                   f"(relative error {num(check.max_rel_error or abs(a - n), 2)}; the gradient "
                   f"check passes at {num(DEFAULT_TOL, 1)})"]
    return n, [f"agrees with the numerical derivative {num(n)} (centered differences, "
               f"h = {num(DEFAULT_H, 1)})"]


def _top(labels: list[str], values: np.ndarray, what: str) -> str:
    order = np.argsort(-np.abs(values), kind="stable")[:TOP]
    shown = ", ".join(f"{labels[k]} {num(values[k], 4)}" for k in order if values[k] != 0)
    return f"{what}: {shown}" if shown else f"{what}: nothing moves it"


def _probe(work: Layer, x: np.ndarray, state: tuple, read: Callable[[np.ndarray], float]
           ) -> float:
    np.random.set_state(state)  # noqa: NPY002 - the same draws in every evaluation
    return read(work.forward(given(work, x)))


def _rerun_note(ctx: Context, y0: np.ndarray) -> list[str]:
    y = ctx.y()
    if y is not None and np.shape(y0) == np.shape(y) and np.array_equal(y0, y):
        return []
    return ["your forward gave other numbers when run again (does it draw random numbers "
            "without honouring self.frozen?): the numbers below are of the re-run"]


@rule(Layer, "*")
def _own_layer(ctx: Context, idx: Index) -> Explanation:
    layer, tensor = ctx.layer, ctx.tensor
    if tensor in layer.buffers:
        return ctx.explanation(idx, f"{tensor} = a running statistic of {ctx.name}", "",
                               [(f"{tensor}{fmt_index(idx)}", ctx.array()[idx])], [],
                               notes=["state kept between batches; nothing in this pass "
                                      "feeds it"])
    work = copy.deepcopy(layer)  # the user's network is left as it is
    work.frozen = True
    x = np.array(ctx.x(), dtype=np.float64)
    with _numpy_rng_kept() as state:
        y0 = work.forward(given(work, x))
        if tensor == "dx" or (tensor.startswith("d") and tensor[1:] in layer.params):
            return _own_gradient(ctx, idx, work, x, state, _rerun_note(ctx, y0))
        return _own_forward(ctx, idx, work, x, state, _rerun_note(ctx, y0))


def _own_gradient(ctx: Context, idx: Index, work: Layer, x: np.ndarray, state: tuple,
                  notes: list[str]) -> Explanation:
    tensor = ctx.tensor
    what = "x" if tensor == "dx" else tensor[1:]
    dout = np.asarray(ctx.dout(), dtype=np.float64)
    f = local_function(work, dout, ctx.l2, state)
    target = x if what == "x" else work.params[what]
    numeric, verdict = _numeric(ctx, idx, what, target, lambda: f(x),
                                "input" if what == "x" else "param")
    # every output entry's part: dout[m,j]·∂y[m,j]/∂θ, from one more ±h pair
    old, h = target[idx], DEFAULT_H
    target[idx] = old + h
    yp = _probe(work, x, state, lambda y: np.array(y, dtype=np.float64))
    target[idx] = old - h
    ym = _probe(work, x, state, lambda y: np.array(y, dtype=np.float64))
    target[idx] = old
    jac = (yp - ym) / (2 * h)
    parts = jac * dout
    moved = [tuple(int(i) for i in m) for m in np.argwhere(jac != 0)]
    labels = [f"dout{fmt_index(m)}" for m in np.ndindex(dout.shape)]
    notes = [*notes, *verdict,
             _top(labels, parts.reshape(-1), "the dout entries that move it most "
                  "(dout·∂y/∂" + f"{what}{fmt_index(idx)})")]
    if dout.ndim > 1 and dout.shape[0] > 1:
        per = parts.reshape(dout.shape[0], -1).sum(axis=1)
        notes.append(_top([f"sample {n}" for n in range(len(per))], per,
                          "per sample (they sum to the numerical derivative)"))
    at = f"{tensor}{fmt_index(idx)}"
    l2 = " + λ·W" if what in work.decay and ctx.l2 and work.trainable else ""
    return ctx.explanation(idx, _no_formula(ctx, ctx.layer),
                           f"{at} = ∂/∂{what}{fmt_index(idx)} ⟨forward(x), dout⟩{l2}",
                           [("analytic (your code)", ctx.array()[idx])],
                           [ctx.entry("dout", m) for m in moved], notes=notes, numeric=numeric)


def _own_forward(ctx: Context, idx: Index, work: Layer, x: np.ndarray, state: tuple,
                 notes: list[str]) -> Explanation:
    tensor = ctx.tensor

    def read(y: np.ndarray) -> float:
        out = y if tensor == "y" else work.cache[tensor.removeprefix("cache ")]
        return float(np.asarray(out)[idx])

    rows = [idx[0]] if (x.shape[0] == np.shape(ctx.array())[0] and len(idx) > 1) else \
        range(x.shape[0])
    probes = [("x", x, (n, *rest)) for n in rows for rest in np.ndindex(x.shape[1:])]
    probes += [(k, p, i) for k, p in work.params.items() for i in np.ndindex(p.shape)]
    if len(probes) > MAX_PROBES:
        notes = [*notes, f"only the first {MAX_PROBES} of {len(probes)} input entries were "
                 "probed"]
        probes = probes[:MAX_PROBES]
    h, moved, labels, slopes = DEFAULT_H, [], [], []
    for name, a, i in probes:
        old = a[i]
        a[i] = old + h
        up = _probe(work, x, state, read)
        a[i] = old - h
        down = _probe(work, x, state, read)
        a[i] = old
        slopes.append((up - down) / (2 * h))
        labels.append(f"{name}{fmt_index(i)}")
        if up != down:
            moved.append(ctx.entry(name, i))
    kept = "your forward's output" if tensor == "y" else "kept by your forward"
    notes = [*notes, _top(labels, np.asarray(slopes), f"what moves it most (∂{tensor}/∂…)")]
    return ctx.explanation(idx, _no_formula(ctx, ctx.layer), "", [(kept, ctx.array()[idx])],
                           moved, notes=notes)


@rule(Loss, "*")
def _own_loss(ctx: Context, idx: Index) -> Explanation:
    loss, tensor = ctx.layer, ctx.tensor
    scores = np.array(ctx.array("scores"), dtype=np.float64)
    t = ctx.array("t")
    if t is None:
        return ctx.explanation(idx, _no_formula(ctx, loss), "",
                               [("your code", ctx.array()[idx])], [],
                               notes=["it keeps no targets (self.t), so the tool cannot run "
                                      "it again to say what moves this entry"])
    work = copy.deepcopy(loss)

    def value(s: np.ndarray) -> tuple[float, bool]:
        return float(work.forward(given(work, s), t)), False

    if tensor == "dscores":
        numeric, notes = _numeric(ctx, idx, "scores", scores, lambda: value(scores), "input")
        return ctx.explanation(idx, _no_formula(ctx, loss),
                               f"dscores{fmt_index(idx)} = ∂L/∂scores{fmt_index(idx)}",
                               [("analytic (your code)", ctx.array()[idx])],
                               [ctx.entry("scores", idx)], notes=notes, numeric=numeric)
    if tensor == "loss" and idx:
        raise ExplainError("one sample's term is known for the built-in losses only; "
                           f"explain {ctx.name}.loss with the index ()")

    def probe(s: np.ndarray) -> float:
        v = work.forward(given(work, s), t)
        return float(v) if tensor == "loss" else float(np.asarray(work.cache[tensor])[idx])

    base, moved = probe(scores), []
    for i in np.ndindex(scores.shape):
        old = scores[i]
        scores[i] = old + DEFAULT_H
        if probe(scores) != base:
            moved.append(Entry(ctx.name, "scores", tuple(int(k) for k in i)))
        scores[i] = old
    return ctx.explanation(idx, _no_formula(ctx, loss), "",
                           [("your code", ctx.array()[idx])], moved,
                           notes=["inputs: the scores whose change (+h) moves it"])
