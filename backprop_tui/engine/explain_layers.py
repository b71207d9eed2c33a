"""Explain rules for the built-in layers other than Affine (``engine/layers.py``): ReLU, Step,
Sigmoid, Tanh, Dropout, BatchNorm, Flatten — each explains the numbers its own code computes,
in the order and form that code uses.

This module imports numpy only; importing it registers the rules (``engine/__init__.py``).
"""

from __future__ import annotations

import math

import numpy as np

from .explain import Context, Explanation, Index, feeding, fmt_index, num, paren, products, rule
from .layers import BatchNorm, Dropout, Flatten, ReLU, Sigmoid, Step, Tanh, _sigmoid


# -- ReLU ----------------------------------------------------------------------------------------
@rule(ReLU, "y")
def _relu_y(ctx: Context, idx: Index) -> Explanation:
    x, blocked = ctx.x()[idx], bool(ctx.cache("mask")[idx])
    at = fmt_index(idx)
    if blocked:
        return ctx.explanation(idx, "y = 0 where mask (x ≤ 0), else x",
                               f"mask{at} = (x{at} ≤ 0) = ({paren(x)} ≤ 0) = True → y{at} = 0",
                               [("0 (blocked: x ≤ 0)", 0.0)], [ctx.entry("x", idx)])
    return ctx.explanation(idx, "y = 0 where mask (x ≤ 0), else x",
                           f"mask{at} = (x{at} ≤ 0) = ({paren(x)} ≤ 0) = False → y{at} = x{at}",
                           [(f"x{at}", x)], [ctx.entry("x", idx)])


@rule(ReLU, "mask")
def _relu_mask(ctx: Context, idx: Index) -> Explanation:
    x, at = ctx.x()[idx], fmt_index(idx)
    blocked = bool(ctx.cache("mask")[idx])
    return ctx.explanation(idx, "mask = (x ≤ 0)   (True: the unit passes no gradient)",
                           f"mask{at} = ({paren(x)} ≤ 0) = {blocked}",
                           [(f"x{at} ≤ 0: {blocked}", float(blocked))], [ctx.entry("x", idx)])


@rule(ReLU, "dx")
def _relu_dx(ctx: Context, idx: Index) -> Explanation:
    at = fmt_index(idx)
    # the mask decides; flipping it changes dx only where dout is not 0
    mask = [ctx.entry("mask", idx)] if ctx.dout()[idx] != 0 else []
    if bool(ctx.cache("mask")[idx]):
        return ctx.explanation(idx, "dx = 0 where mask, else dout",
                               f"mask{at} = True (x{at} ≤ 0) → dx{at} = 0",
                               [(f"0 (blocked by mask{at})", 0.0)], mask,
                               notes=[f"mask: x ≤ 0 → blocked; dout{at} = "
                                      f"{num(ctx.dout()[idx])} does not pass"])
    d = ctx.dout()[idx]
    return ctx.explanation(idx, "dx = 0 where mask, else dout",
                           f"mask{at} = False (x{at} > 0) → dx{at} = dout{at} = {paren(d)}",
                           [(f"dout{at}", d)], [*mask, ctx.entry("dout", idx)],
                           notes=["mask: x > 0 → passes"])


# -- Step ----------------------------------------------------------------------------------------
@rule(Step, "y", "fired")
def _step_y(ctx: Context, idx: Index) -> Explanation:
    x, at = ctx.x()[idx], fmt_index(idx)
    fired = bool(ctx.cache("fired")[idx])
    what = "y = 1 if x > 0 else 0" if ctx.tensor == "y" else "fired = (x > 0)"
    return ctx.explanation(idx, what, f"x{at} = {paren(x)} {'>' if fired else '≤'} 0 → "
                           f"{ctx.tensor}{at} = {int(fired)}",
                           [(f"x{at} > 0: {fired}", float(fired))], [ctx.entry("x", idx)])


@rule(Step, "dx")
def _step_dx(ctx: Context, idx: Index) -> Explanation:
    return ctx.explanation(idx, "dx = 0   (step′(x) = 0 for x ≠ 0; undefined at x = 0)",
                           f"dx{fmt_index(idx)} = 0, whatever dout{fmt_index(idx)} is",
                           [("0 (no gradient passes a step)", 0.0)], [],
                           notes=["nothing feeds it: gradient descent cannot train the layers "
                                  "before a step"])


# -- Sigmoid, Tanh -------------------------------------------------------------------------------
@rule(Sigmoid, "y")
def _sigmoid_y(ctx: Context, idx: Index) -> Explanation:
    x, at = ctx.x()[idx], fmt_index(idx)
    y = _sigmoid(np.asarray(ctx.x())[idx][None])[0]  # the code's stable form, for this entry
    return ctx.explanation(idx, "y = 1 / (1 + exp(−x))",
                           f"y{at} = 1 / (1 + exp(−{paren(x)})) = 1 / (1 + "
                           f"{num(math.exp(-x) if x > -700 else math.inf, 4)})",
                           [(f"σ(x{at})", y)], [ctx.entry("x", idx)])


@rule(Tanh, "y")
def _tanh_y(ctx: Context, idx: Index) -> Explanation:
    x, at = ctx.x()[idx], fmt_index(idx)
    return ctx.explanation(idx, "y = tanh(x)", f"y{at} = tanh({num(x, 4)})",
                           [(f"tanh(x{at})", np.tanh(ctx.x()[idx]))], [ctx.entry("x", idx)])


@rule(Sigmoid, "dx")
def _sigmoid_dx(ctx: Context, idx: Index) -> Explanation:
    d, y, at = ctx.dout()[idx], ctx.y()[idx], fmt_index(idx)
    return ctx.explanation(idx, "dx = dout · y · (1 − y)   (y = σ(x), kept by forward)",
                           f"dx{at} = {paren(d)} · {num(y, 4)} · (1 − {num(y, 4)})",
                           [(f"dout{at}·y{at}·(1 − y{at})", d * y * (1.0 - y))],
                           feeding((ctx.entry("dout", idx), d),
                                   (ctx.entry("y", idx), y * (1.0 - y))),
                           notes=[f"σ′(x) = y·(1 − y) = {num(y * (1.0 - y), 4)}, from y, "
                                  f"not from x{at} = {num(ctx.x()[idx], 4)}"])


@rule(Tanh, "dx")
def _tanh_dx(ctx: Context, idx: Index) -> Explanation:
    d, y, at = ctx.dout()[idx], ctx.y()[idx], fmt_index(idx)
    return ctx.explanation(idx, "dx = dout · (1 − y²)   (y = tanh(x), kept by forward)",
                           f"dx{at} = {paren(d)} · (1 − {paren(y)}²)",
                           [(f"dout{at}·(1 − y{at}²)", d * (1.0 - y * y))],
                           feeding((ctx.entry("dout", idx), d), (ctx.entry("y", idx), 1.0 - y * y)),
                           notes=[f"tanh′(x) = 1 − y² = {num(1.0 - y * y, 4)}"])


# -- Dropout -------------------------------------------------------------------------------------
def _dropout_scale(ctx: Context, a: np.ndarray) -> float:
    return float(a.dtype.type(1.0 / (1.0 - ctx.layer.p)))


@rule(Dropout, "y", "dx")
def _dropout(ctx: Context, idx: Index) -> Explanation:
    at, mask = fmt_index(idx), ctx.cache("mask")
    src, name = (ctx.x(), "x") if ctx.tensor == "y" else (ctx.dout(), "dout")
    v = src[idx]
    if mask is None:  # evaluating (or p = 0): the identity
        return ctx.explanation(idx, f"{ctx.tensor} = {name}   (no mask: evaluating, or p = 0)",
                               f"{ctx.tensor}{at} = {name}{at} = {paren(v)}",
                               [(f"{name}{at}", v)], [ctx.entry(name, idx)])
    p, scale = ctx.layer.p, _dropout_scale(ctx, src)
    formula = f"{ctx.tensor} = {name} · mask / (1 − p)"
    keep = bool(mask[idx])
    if not keep:
        return ctx.explanation(idx, formula, f"mask{at} = False (dropped) → {ctx.tensor}{at} = 0",
                               [(f"0 (dropped by mask{at})", 0.0)],
                               [ctx.entry("mask", idx)] if v != 0 else [],
                               notes=[f"p = {num(p)}: this unit was dropped in this batch"])
    return ctx.explanation(idx, formula,
                           f"{ctx.tensor}{at} = {paren(v)} · 1 / (1 − {num(p, 4)}) = "
                           f"{paren(v)} · {num(scale, 4)}",
                           [(f"{name}{at}·mask{at}·1/(1 − p)", v * keep * scale)],
                           feeding((ctx.entry(name, idx), 1.0), (ctx.entry("mask", idx), v)),
                           notes=[f"kept (mask{at} = True) and scaled by 1/(1 − p) = "
                                  f"{num(scale)}, so that evaluating needs no scale"])


@rule(Dropout, "mask")
def _dropout_mask(ctx: Context, idx: Index) -> Explanation:
    keep = bool(ctx.cache("mask")[idx])
    return ctx.explanation(idx, "mask ~ Bernoulli(1 − p): u ≥ p, u uniform in [0, 1)",
                           f"mask{fmt_index(idx)} = {keep} (p = {num(ctx.layer.p)})",
                           [(f"drawn: {'kept' if keep else 'dropped'}", float(keep))], [],
                           notes=["drawn from the layer's own seeded generator; nothing in the "
                                  "network feeds it"])


# -- BatchNorm -----------------------------------------------------------------------------------
def _bn_stats(ctx: Context, j: int) -> str:
    """``μ, σ², std`` of column ``j`` as the forward computed them (the code's own order)."""
    x = ctx.x()
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    return (f"column {j} over {x.shape[0]} samples: μ = {num(mu[j])}, σ² = {num(var[j])}, "
            f"std = √(σ² + ε) = {num(ctx.cache('std')[j])} (ε = {num(ctx.layer.eps)})")


def _bn_column(ctx: Context, tensor: str, j: int, n: int) -> list:
    """The entries of column ``j`` that feed through the batch statistics: the whole column
    — except for a batch of one, where x − μ is exactly 0 whatever x is."""
    rows = range(ctx.x().shape[0]) if ctx.x().shape[0] > 1 else []
    return [ctx.entry(tensor, (m, j)) for m in rows]


def _training(ctx: Context) -> bool:
    return "xc" in ctx.layer.cache


@rule(BatchNorm, "y")
def _bn_y(ctx: Context, idx: Index) -> Explanation:
    n, j = idx
    g, b, xn = ctx.param("gamma")[j], ctx.param("beta")[j], ctx.cache("xn")[n, j]
    terms = [(f"γ[{j}]·xn[{n},{j}] = {paren(g)}·{paren(xn)}", g * xn), (f"β[{j}]", b)]
    sub = f"y[{n},{j}] = {paren(g)}·{paren(xn)} + {paren(b)}"
    if not _training(ctx):
        rm, rv = ctx.layer.buffers["running_mean"], ctx.layer.buffers["running_var"]
        return ctx.explanation(idx, "y = γ·xn + β,  xn = (x − running_mean) / √(running_var + ε)",
                               sub, terms,
                               [ctx.entry("x", idx), ctx.entry("gamma", (j,)),
                                ctx.entry("beta", (j,)), ctx.entry("running_mean", (j,)),
                                ctx.entry("running_var", (j,))],
                               notes=[f"evaluating: the running statistics μ = {num(rm[j])}, "
                                      f"σ² = {num(rv[j])}"])
    inputs = _bn_column(ctx, "x", j, n) if g != 0 else []
    inputs += [ctx.entry("gamma", (j,))] if xn != 0 else []
    return ctx.explanation(idx, "y = γ·xn + β,  xn = (x − μ) / √(σ² + ε)  (μ, σ² of the column)",
                           sub, terms, [*inputs, ctx.entry("beta", (j,))],
                           notes=[_bn_stats(ctx, j),
                                  f"xn[{n},{j}] = (x − μ) / std = ({paren(ctx.x()[n, j])} − "
                                  f"μ) / std = {num(xn)}"])


@rule(BatchNorm, "xc", "xn")
def _bn_xc(ctx: Context, idx: Index) -> Explanation:
    n, j = idx
    x = ctx.x()
    mu = x.mean(axis=0)[j]
    at = fmt_index(idx)
    if ctx.tensor == "xc":
        terms = [(f"x{at}", x[n, j]), (f"−μ[{j}]", -mu)]
        formula = "xc = x − μ   (μ: the column's mean)"
        sub = f"xc{at} = {paren(x[n, j])} − {paren(mu)}"
    else:
        xc, std = ctx.cache("xc")[n, j], ctx.cache("std")[j]
        terms = [(f"xc{at} / std[{j}] = {paren(xc)} / {num(std, 4)}", xc / std)]
        formula, sub = "xn = xc / std   (std = √(σ² + ε))", f"xn{at} = {paren(xc)} / {num(std, 4)}"
    return ctx.explanation(idx, formula, sub, terms, _bn_column(ctx, "x", j, n),
                           notes=[_bn_stats(ctx, j)])


@rule(BatchNorm, "std")
def _bn_std(ctx: Context, idx: Index) -> Explanation:
    (j,) = idx
    std = ctx.cache("std")[j]
    inputs = [] if not _training(ctx) else _bn_column(ctx, "x", j, 0)
    return ctx.explanation(idx, "std = √(σ² + ε)   (σ²: the column's variance, ε = "
                           f"{num(ctx.layer.eps)})", f"std[{j}] = {num(std)}",
                           [(f"√(σ²[{j}] + ε)", std)],
                           inputs if _training(ctx) else [ctx.entry("running_var", (j,))],
                           notes=[_bn_stats(ctx, j)] if _training(ctx) else [])


@rule(BatchNorm, "dgamma", "dbeta")
def _bn_dparams(ctx: Context, idx: Index) -> Explanation:
    (j,) = idx
    dout, xn = ctx.dout(), ctx.cache("xn")
    rows = range(dout.shape[0])
    if ctx.tensor == "dbeta":
        return ctx.explanation(idx, "dβ[j] = Σₙ dout[n,j]", f"dbeta[{j}] = Σ over {len(rows)} "
                               "samples", [(f"dout[{n},{j}]", dout[n, j]) for n in rows],
                               [ctx.entry("dout", (n, j)) for n in rows])
    pairs = [(xn[n, j], dout[n, j]) for n in rows]
    return ctx.explanation(idx, "dγ[j] = Σₙ xn[n,j]·dout[n,j]", f"dgamma[{j}] = {products(pairs)}",
                           [(f"xn[{n},{j}]·dout[{n},{j}] = {paren(a)}·{paren(d)}", a * d)
                            for n, (a, d) in enumerate(pairs)],
                           [e for n, (a, d) in enumerate(pairs)
                            for e in feeding((ctx.entry("xn", (n, j)), a),
                                             (ctx.entry("dout", (n, j)), d))])


@rule(BatchNorm, "dx")
def _bn_dx(ctx: Context, idx: Index) -> Explanation:
    n, j = idx
    dout, xn, std = ctx.dout(), ctx.cache("xn"), ctx.cache("std")
    g = ctx.param("gamma")
    dxn = g * dout
    at, s = fmt_index(idx), std[j]
    if not _training(ctx):
        return ctx.explanation(idx, "dx = γ·dout / std   (evaluating: fixed statistics)",
                               f"dx{at} = {paren(g[j])}·{paren(dout[n, j])} / {num(s, 4)}",
                               [(f"γ[{j}]·dout{at} / std[{j}]", dxn[n, j] / s)],
                               [ctx.entry("dout", idx), ctx.entry("gamma", (j,)),
                                ctx.entry("std", (j,))])
    m1 = dxn.mean(axis=0)[j]
    m2 = (dxn * xn).mean(axis=0)[j]
    terms = [(f"dxn{at} / std = γ·dout / std = {paren(dxn[n, j])} / {num(s, 4)}", dxn[n, j] / s),
             (f"−mean(dxn[:,{j}]) / std = −{paren(m1)} / {num(s, 4)}", -m1 / s),
             (f"−xn{at}·mean(dxn·xn)[{j}] / std = −{paren(xn[n, j])}·{paren(m2)} / {num(s, 4)}",
              -xn[n, j] * m2 / s)]
    inputs = _bn_dx_inputs(ctx, n, j)
    return ctx.explanation(idx, "dx = (dxn − mean(dxn) − xn · mean(dxn · xn)) / std,  dxn = γ·dout",
                           f"dx{at} = ({paren(dxn[n, j])} − {paren(m1)} − {paren(xn[n, j])}·"
                           f"{paren(m2)}) / {num(s, 4)}", terms, inputs,
                           notes=[f"means over the {dout.shape[0]} samples of column {j}; "
                                  "the code's backward, term by term"])


def _bn_dx_inputs(ctx: Context, n: int, j: int) -> list:
    """What feeds BatchNorm's ``dx[n,j]`` in its training backward, exactly: every dout and xn
    of the column (through the two means) — less those whose coefficient is 0 here, as with a
    batch of one (x − μ = 0) or a dout of 0 from a ReLU above."""
    dout, xn, g = ctx.dout()[:, j], ctx.cache("xn")[:, j], ctx.param("gamma")[j]
    count = dout.shape[0]
    inputs = []
    for m in range(count):
        c = float(m == n) - 1.0 / count - xn[n] * xn[m] / count
        if g != 0 and c != 0:
            inputs.append(ctx.entry("dout", (m, j)))
        others = any(g * dout[k] * xn[k] != 0 for k in range(count) if k != n)
        if (m != n and g * dout[m] != 0 and xn[n] != 0) or (
                m == n and (others or g * dout[n] != 0)):
            inputs.append(ctx.entry("xn", (m, j)))
    bracket = dout[n] - dout.mean() - xn[n] * (dout * xn).mean()
    if bracket != 0:
        inputs.append(ctx.entry("gamma", (j,)))
        if g != 0:
            inputs.append(ctx.entry("std", (j,)))
    return inputs


# -- Flatten -------------------------------------------------------------------------------------
@rule(Flatten, "y")
def _flatten_y(ctx: Context, idx: Index) -> Explanation:
    n, k = idx
    src = (n, *(int(i) for i in np.unravel_index(k, ctx.x().shape[1:])))
    return ctx.explanation(idx, "y = reshape(x, (N, C·H·W))   (row-major)",
                           f"y[{n},{k}] = x{fmt_index(src)}",
                           [(f"x{fmt_index(src)}", ctx.x()[src])], [ctx.entry("x", src)])


@rule(Flatten, "dx")
def _flatten_dx(ctx: Context, idx: Index) -> Explanation:
    k = int(np.ravel_multi_index(idx[1:], ctx.x().shape[1:]))
    src = (idx[0], k)
    return ctx.explanation(idx, "dx = reshape(dout, shape of x)",
                           f"dx{fmt_index(idx)} = dout{fmt_index(src)}",
                           [(f"dout{fmt_index(src)}", ctx.dout()[src])], [ctx.entry("dout", src)])
