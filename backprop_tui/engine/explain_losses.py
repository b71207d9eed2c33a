"""Explain rules for the losses (``engine/losses.py``) and the L2 term: softmax, one sample's
loss term, ``dscores[n,k] = (y[n,k] − [k = tₙ]) / N`` (one-hot targets too), sigmoid-BCE and
the seeds' squared loss with its ½ — each as its code computes it.

The loss's tensors (``Context.loss_tensors``): ``scores`` (the network's output), ``t`` (the
targets as the loss used them), its cache (``y``: probabilities; ``diff``), ``dscores``, the
scalar ``loss`` (data loss + L2, as ``net.loss`` returns it; index ``()``, or ``(n,)`` for
sample n's own term) and, with L2, ``l2``.

This module imports numpy only; importing it registers the rules (``engine/__init__.py``).
"""

from __future__ import annotations

import numpy as np

from .explain import Context, Entry, Explanation, Index, fmt_index, num, paren, rule
from .layers import _sigmoid
from .losses import Loss, MeanSquaredError, SigmoidBCE, SoftmaxCrossEntropy


def _n(ctx: Context) -> int:
    return int(ctx.array("scores").shape[0])


# -- every loss: its input, its targets, L2 ------------------------------------------------------
@rule(Loss, "scores")
def _scores(ctx: Context, idx: Index) -> Explanation:
    scores = ctx.array("scores")
    if not ctx.net.layers:
        return ctx.explanation(idx, "scores = the batch's data (no layers)", "",
                               [(f"data{fmt_index(idx)}", scores[idx])], [])
    last = ctx.net.layers[-1].name
    return ctx.explanation(idx, f"scores = y of {last}, the network's output",
                           f"scores{fmt_index(idx)} = {last}.y{fmt_index(idx)}",
                           [(f"{last}.y{fmt_index(idx)}", scores[idx])],
                           [Entry(last, "y", idx)])


@rule(Loss, "t")
def _targets(ctx: Context, idx: Index) -> Explanation:
    return ctx.explanation(idx, "t = the batch's targets", f"t{fmt_index(idx)} is data",
                           [(f"t{fmt_index(idx)}", ctx.array("t")[idx])], [],
                           notes=["nothing in the network feeds it"])


def l2_terms(ctx: Context) -> tuple[list[tuple[str, float]], list[Entry]]:
    """``½·λ·‖W‖²`` for every parameter L2 applies to, and the entries that feed them."""
    terms, inputs = [], []
    if not ctx.l2:
        return terms, inputs
    for layer in ctx.net.layers:
        if not layer.trainable:
            continue
        for k in layer.decay:
            w = ctx.param(k, layer)
            terms.append((f"½·λ·‖{layer.name}.{k}‖² = ½·{num(ctx.l2, 4)}·{num(np.vdot(w, w), 6)}",
                          0.5 * ctx.l2 * float(np.vdot(w, w))))
            inputs += [Entry(layer.name, k, i) for i in np.ndindex(w.shape)]
    return terms, inputs


@rule(Loss, "l2")
def _l2(ctx: Context, idx: Index) -> Explanation:
    terms, inputs = l2_terms(ctx)
    return ctx.explanation(idx, "L2 = ½·λ·Σ ‖W‖²   (over the weights L2 applies to)",
                           f"λ = {num(ctx.l2)}", terms, inputs,
                           notes=["its gradient λ·W is added to each dW by the backward step"])


Part = tuple[str, str, float]  # a term of the loss: symbol, its numbers, value


def _total(ctx: Context, idx: Index, formula: str, per: list[Part], inputs: list[Entry],
           data_loss: float) -> Explanation:
    """The loss (data loss + L2): one term per sample (or entry), then the L2 terms.
    ``formula`` is ``"L = … | ℓ = …"``: the sum, then what one term is."""
    n = _n(ctx)
    terms = [(f"{symbol} / N   ({detail})", v / n) for symbol, detail, v in per]
    l2, l2_inputs = l2_terms(ctx)
    total, term = formula.split(" | ")
    sub = f"loss = {num(data_loss)}" + (f" + L2 {num(ctx.net.l2_loss)}" if l2 else "")
    return ctx.explanation(idx, total + (" + ½·λ·Σ‖W‖²" if l2 else "") + ",  " + term, sub,
                           terms + l2, inputs + l2_inputs, notes=[f"N = {n}"])


def _sample(ctx: Context, idx: Index, formula: str, per: list[Part], inputs: list[Entry]
            ) -> Explanation:
    """Sample n's own term of the loss (before the 1/N)."""
    value = float(sum(v for _, _, v in per))
    return ctx.explanation(idx, formula + "   (sample n's term of the loss)",
                           f"ℓ{idx[0]} = {num(value)}",
                           [(f"{symbol} = {detail}", v) for symbol, detail, v in per], inputs,
                           value=value)


def _row(ctx: Context, n: int) -> list[Entry]:
    return [ctx.entry("scores", (n, k)) for k in range(ctx.array("scores").shape[1])]


# -- softmax + cross-entropy ---------------------------------------------------------------------
def _logp(ctx: Context) -> np.ndarray:
    """log softmax of the scores, as ``SoftmaxCrossEntropy.forward`` computes it."""
    x = ctx.array("scores")
    z = x - x.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@rule(SoftmaxCrossEntropy, "y")
def _softmax_y(ctx: Context, idx: Index) -> Explanation:
    n, k = idx
    s = ctx.array("scores")[n]
    e = np.exp(s - s.max())
    shown = " + ".join(num(v, 4) for v in e[:4]) + (" + …" if len(e) > 4 else "")
    return ctx.explanation(idx, "y[n,k] = exp(s[n,k] − max s[n]) / Σₘ exp(s[n,m] − max s[n])",
                           f"y[{n},{k}] = exp({num(s[k], 4)} − {num(s.max(), 4)}) / "
                           f"({shown}) = {num(e[k], 4)} / {num(e.sum(), 4)}",
                           [(f"softmax(scores[{n}])[{k}]", np.exp(_logp(ctx)[n, k]))],
                           _row(ctx, n), notes=["s: the scores; max subtracted so that exp "
                                                "cannot overflow"])


@rule(SoftmaxCrossEntropy, "loss")
def _softmax_loss(ctx: Context, idx: Index) -> Explanation:
    logp, t = _logp(ctx), ctx.array("t")
    rows = range(logp.shape[0]) if not idx else [idx[0]]
    per, inputs = [], []
    for n in rows:
        if t.ndim == 1:
            per.append((f"−log y[{n},{t[n]}]", f"−log {num(np.exp(logp[n, t[n]]), 4)}",
                        -logp[n, t[n]]))
            inputs += [*_row(ctx, n), ctx.entry("t", (n,))]
        else:
            hot = [k for k in range(t.shape[1]) if t[n, k] != 0]
            per += [(f"−t[{n},{k}]·log y[{n},{k}]", f"−{num(t[n, k], 4)}·log "
                     f"{num(np.exp(logp[n, k]), 4)}", -t[n, k] * logp[n, k]) for k in hot]
            inputs += (_row(ctx, n) if hot else []) + [ctx.entry("t", (n, k))
                                                       for k in range(t.shape[1])]
    formula = ("ℓₙ = −log y[n,tₙ]" if t.ndim == 1 else "ℓₙ = −Σₖ t[n,k]·log y[n,k]")
    if idx:
        return _sample(ctx, idx, formula, per, inputs)
    return _total(ctx, idx, "L = (1/N) Σₙ ℓₙ | " + formula, per, inputs, ctx.net.data_loss)


@rule(SoftmaxCrossEntropy, "dscores")
def _softmax_dscores(ctx: Context, idx: Index) -> Explanation:
    n, k = idx
    y, t, count = ctx.array("y")[n, k], ctx.array("t"), _n(ctx)
    if t.ndim == 1:
        hot = float(t[n] == k)
        formula = "dscores[n,k] = (y[n,k] − [k = tₙ]) / N"
        sub = f"dscores[{n},{k}] = ({num(y, 4)} − {int(hot)}) / {count}   (t{n} = {t[n]})"
        target = ctx.entry("t", (n,))
        label = f"−[{k} = t{n}] / N"
    else:
        hot = float(t[n, k])
        formula = "dscores[n,k] = (y[n,k] − t[n,k]) / N"
        sub = f"dscores[{n},{k}] = ({num(y, 4)} − {num(hot, 4)}) / {count}"
        target = ctx.entry("t", (n, k))
        label = f"−t[{n},{k}] / N"
    terms = [(f"y[{n},{k}] / N = {num(y, 4)} / {count}", y / count)]
    if hot:
        terms.append((label, -hot / count))
    return ctx.explanation(idx, formula, sub, terms, [ctx.entry("y", idx), target],
                           notes=["softmax and cross-entropy fused: the exp and the log cancel"])


# -- sigmoid + binary cross-entropy --------------------------------------------------------------
@rule(SigmoidBCE, "y")
def _bce_y(ctx: Context, idx: Index) -> Explanation:
    s = ctx.array("scores")[idx]
    return ctx.explanation(idx, "y = σ(s) = 1 / (1 + exp(−s))",
                           f"y{fmt_index(idx)} = σ({num(s, 4)})",
                           [(f"σ(scores{fmt_index(idx)})", _sigmoid(np.asarray([s]))[0])],
                           [ctx.entry("scores", idx)])


def _bce_parts(s: float, t: float, at: str) -> list[Part]:
    return [(f"max(s{at}, 0)", f"max({paren(s)}, 0)", max(s, 0.0)),
            (f"−s{at}·t{at}", f"−{paren(s)}·{paren(t)}", -s * t),
            (f"log(1 + exp(−|s{at}|))", f"log(1 + exp(−{num(abs(s), 4)}))",
             float(np.log1p(np.exp(-abs(s)))))]


@rule(SigmoidBCE, "loss")
def _bce_loss(ctx: Context, idx: Index) -> Explanation:
    x, t = ctx.array("scores"), ctx.array("t")
    per = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))  # the code's, per entry
    formula = "ℓ[n,k] = max(s, 0) − s·t + log(1 + exp(−|s|))   (= −t log y − (1−t) log(1−y))"
    if idx:
        n = idx[0]
        terms = [p for k in range(x.shape[1]) for p in _bce_parts(x[n, k], t[n, k], f"[{n},{k}]")]
        inputs = [ctx.entry(name, (n, k)) for k in range(x.shape[1]) for name in ("scores", "t")
                  if name == "scores" or x[n, k] != 0]
        return _sample(ctx, idx, "ℓₙ = Σₖ ℓ[n,k],  " + formula, terms, inputs)
    entries = list(np.ndindex(x.shape))
    inputs = [ctx.entry(name, e) for e in entries for name in ("scores", "t")
              if name == "scores" or x[e] != 0]
    return _total(ctx, idx, "L = (1/N) Σ ℓ[n,k] | " + formula,
                  [(f"ℓ{fmt_index(e)}", num(per[e], 4), per[e]) for e in entries], inputs,
                  ctx.net.data_loss)


@rule(SigmoidBCE, "dscores")
def _bce_dscores(ctx: Context, idx: Index) -> Explanation:
    y, t, count, at = ctx.array("y")[idx], ctx.array("t")[idx], _n(ctx), fmt_index(idx)
    return ctx.explanation(idx, "dscores = (σ(s) − t) / N",
                           f"dscores{at} = ({num(y, 4)} − {num(t, 4)}) / {count}",
                           [(f"y{at} / N", y / count), (f"−t{at} / N", -t / count)],
                           [ctx.entry("y", idx), ctx.entry("t", idx)])


# -- the seeds' squared loss ---------------------------------------------------------------------
@rule(MeanSquaredError, "diff")
def _mse_diff(ctx: Context, idx: Index) -> Explanation:
    s, t, at = ctx.array("scores")[idx], ctx.array("t")[idx], fmt_index(idx)
    return ctx.explanation(idx, "diff = y − t   (y: the scores)",
                           f"diff{at} = {paren(s)} − {paren(t)}",
                           [(f"scores{at}", s), (f"−t{at}", -t)],
                           [ctx.entry("scores", idx), ctx.entry("t", idx)])


@rule(MeanSquaredError, "loss")
def _mse_loss(ctx: Context, idx: Index) -> Explanation:
    diff = ctx.array("diff")
    entries = list(np.ndindex(diff.shape)) if not idx else [(idx[0], k)
                                                           for k in range(diff.shape[1])]
    per = [(f"½·diff{fmt_index(e)}²", f"½·{paren(diff[e])}²", 0.5 * diff[e] * diff[e])
           for e in entries]
    inputs = [ctx.entry(name, e) for e in entries for name in ("scores", "t")]
    formula = "ℓₙ = ½ ‖yₙ − tₙ‖²   (the ½ cancels the square's 2 in dscores)"
    if idx:
        return _sample(ctx, idx, formula, per, inputs)
    return _total(ctx, idx, "L = (1/N) Σₙ ℓₙ | " + formula, per, inputs, ctx.net.data_loss)


@rule(MeanSquaredError, "dscores")
def _mse_dscores(ctx: Context, idx: Index) -> Explanation:
    d, count, at = ctx.array("diff")[idx], _n(ctx), fmt_index(idx)
    return ctx.explanation(idx, "dscores = (y − t) / N = diff / N   (the ½ of the loss "
                           "cancels the 2 of the square)",
                           f"dscores{at} = {paren(d)} / {count}",
                           [(f"diff{at} / N", d / count)], [ctx.entry("diff", idx)])
