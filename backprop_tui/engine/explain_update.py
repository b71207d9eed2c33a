"""Explain rules for the update (``engine/optim.py``): ``W_new[i,j]`` from ``W[i,j]``, ``dW[i,j]``
and the optimizer's state for that entry (Momentum's velocity, AdaGrad's accumulated square,
Adam's m and v with their bias corrections), in the order its code computes them.

``explain(net, "update", "affine1.W", (i, j), optimizer=opt, before=before)``: ``before`` is
``{"params": {"affine1.W": W, …}, "state": opt.state_dict()}`` from before the step (the stepper's
snapshot of the iteration: :meth:`Stepper.state_before_update`); ``e.value`` is then the updated
entry as the parameter now holds it. Without ``before`` it explains the update the optimizer
*would* make now, from its current state and the network's gradients, by running the
optimizer's own ``update`` on copies: nothing changes.

Inputs: ``Entry(layer, "W", idx)`` (the value before the update), ``Entry(layer, "dW", idx)``,
and the state before the step as ``Entry("update", "<slot>:<layer>.<param>", idx)`` (its key in
``optimizer.state``: ``"v:affine1.W"``).

This module imports numpy only; importing it registers the rules (``engine/__init__.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from .explain import (
    Context,
    Entry,
    ExplainError,
    Explanation,
    Index,
    explain,
    fmt_index,
    num,
    paren,
    rule,
)
from .layers import Layer
from .network import Network
from .optim import SGD, AdaGrad, Adam, Momentum, Optimizer


@dataclass
class _Update:
    """One entry's update: the numbers before and after, as the optimizer's code has them."""

    key: str
    layer: str
    param: str
    w: np.floating            # W[idx] before the step
    g: np.floating            # dW[idx]
    before: dict[str, np.floating]   # slot → its value before the step
    t: int                    # the step's count (Adam's t), after the increment
    value: float | None       # W_new[idx] as the parameter holds it (None: not updated yet)
    f: type                   # the parameter's float type (the code computes in it)


def _prepare(ctx: Context, idx: Index) -> _Update:
    key = ctx.tensor
    name, k = key.rsplit(".", 1)
    layer = ctx.net.layers[ctx.net.index(name)]
    g = layer.grads.get(k)
    if g is None or np.shape(g) != layer.params[k].shape:
        raise ExplainError(f"update.{key}: d{k} is not computed yet (run the backward pass "
                           "first)")
    opt: Optimizer = ctx.optimizer
    given = ctx.before is not None
    state = dict((ctx.before or {}).get("state") or {}) if given else opt.state_dict()
    t = int(state.get("__t__", opt.t if not given else 0)) + 1
    p = layer.params[k]
    slots = {s: state[f"{s}:{key}"][idx] if f"{s}:{key}" in state else p.dtype.type(0)
             for s in opt.slots}
    value = float(p[idx]) if given else None
    return _Update(key, name, k, ctx.param(k, layer)[idx], g[idx], slots, t, value,
                   p.dtype.type)


def _would_be(ctx: Context, u: _Update, idx: Index) -> float:
    """W_new[idx] as the optimizer's own ``update`` makes it now, run on copies."""
    opt = copy.copy(ctx.optimizer)
    opt.state = {f"{s}:{u.key}": ctx.optimizer.state[f"{s}:{u.key}"].copy()
                 for s in opt.slots if f"{s}:{u.key}" in ctx.optimizer.state}
    opt.t = u.t
    layer = ctx.net.layers[ctx.net.index(u.layer)]
    p = layer.params[u.param].copy()
    opt.update(u.key, p, layer.grads[u.param].copy())
    return float(p[idx])


def _explain(ctx: Context, idx: Index, u: _Update, formula: str, sub: str,
             terms: list[tuple[str, float]], feeds: list[tuple[str, bool]],
             notes: list[str]) -> Explanation:
    inputs = [Entry(u.layer, u.param, idx)]
    for name, fed in feeds:
        if fed:
            inputs.append(Entry(u.layer, f"d{u.param}", idx) if name == "grad"
                          else Entry("update", f"{name}:{u.key}", idx))
    value = u.value if u.value is not None else _would_be(ctx, u, idx)
    if ctx.before is None:
        notes = [*notes, "the update the optimizer would make now (nothing was changed)"]
    return ctx.explanation(idx, formula, sub, terms, inputs, value=value, notes=notes)


@rule(SGD, "update")
def _sgd(ctx: Context, idx: Index) -> Explanation:
    u, lr = _prepare(ctx, idx), ctx.optimizer.lr
    at = fmt_index(idx)
    step = u.f(lr) * u.g
    return _explain(ctx, idx, u, "W_new[i,j] = W[i,j] − lr·dW[i,j]",
                    f"W_new{at} = {paren(u.w)} − {num(lr, 4)}·{paren(u.g)}",
                    [(f"W{at}", u.w), (f"−lr·dW{at} = −{num(lr, 4)}·{paren(u.g)}", -step)],
                    [("grad", lr != 0)], [])


@rule(Momentum, "update")
def _momentum(ctx: Context, idx: Index) -> Explanation:
    u, opt = _prepare(ctx, idx), ctx.optimizer
    at, v = fmt_index(idx), u.before["v"]
    mv, lg = u.f(opt.momentum) * v, u.f(opt.lr) * u.g
    return _explain(ctx, idx, u, "v ← μ·v − lr·dW,  W_new = W + v",
                    f"W_new{at} = {paren(u.w)} + ({num(opt.momentum, 4)}·{paren(v)} − "
                    f"{num(opt.lr, 4)}·{paren(u.g)})",
                    [(f"W{at}", u.w), (f"μ·v{at} = {num(opt.momentum, 4)}·{paren(v)}", mv),
                     (f"−lr·dW{at} = −{num(opt.lr, 4)}·{paren(u.g)}", -lg)],
                    [("grad", opt.lr != 0), ("v", opt.momentum != 0)],
                    [f"velocity before the step v{at} = {num(v)}, after it "
                     f"{num(mv - lg)}"])


@rule(AdaGrad, "update")
def _adagrad(ctx: Context, idx: Index) -> Explanation:
    u, lr = _prepare(ctx, idx), ctx.optimizer.lr
    at, h = fmt_index(idx), u.before["h"]
    h_new = h + u.g * u.g
    root = np.sqrt(h_new) + u.f(1e-7)
    step = u.f(lr) * u.g / root
    return _explain(ctx, idx, u, "h ← h + dW²,  W_new = W − lr·dW / (√h + 1e−7)",
                    f"W_new{at} = {paren(u.w)} − {num(lr, 4)}·{paren(u.g)} / "
                    f"(√{num(h_new, 4)} + 1e−7)",
                    [(f"W{at}", u.w), (f"−lr·dW{at} / (√h{at} + 1e−7) = −{num(lr, 4)}·"
                      f"{paren(u.g)} / {num(root, 4)}", -step)],
                    [("grad", lr != 0), ("h", lr != 0 and u.g != 0)],
                    [f"h{at} = {num(h)} + {paren(u.g)}² = {num(h_new)} (all squared "
                     f"gradients so far); the step is divided by √h = {num(np.sqrt(h_new))}"])


@rule(Adam, "update")
def _adam(ctx: Context, idx: Index) -> Explanation:
    u, opt = _prepare(ctx, idx), ctx.optimizer
    at, f, t = fmt_index(idx), u.f, u.t
    m = f(opt.beta1) * u.before["m"] + f(1 - opt.beta1) * u.g
    v = f(opt.beta2) * u.before["v"] + f(1 - opt.beta2) * (u.g * u.g)
    lr_t = opt.lr * np.sqrt(1 - opt.beta2**t) / (1 - opt.beta1**t)
    root = np.sqrt(v) + f(opt.eps)
    step = f(lr_t) * m / root
    m_hat, v_hat = m / (1 - opt.beta1**t), v / (1 - opt.beta2**t)
    return _explain(ctx, idx, u, "m ← β₁·m + (1 − β₁)·dW,  v ← β₂·v + (1 − β₂)·dW²,  "
                    "W_new = W − lrₜ·m / (√v + ε),  lrₜ = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)",
                    f"W_new{at} = {paren(u.w)} − {num(lr_t, 4)}·{paren(m)} / "
                    f"(√{num(v, 4)} + {num(opt.eps, 2)})   (t = {t})",
                    [(f"W{at}", u.w),
                     (f"−lrₜ·m{at} / (√v{at} + ε) = −{num(lr_t, 4)}·{paren(m)} / "
                      f"{num(root, 4)}", -step)],
                    [("grad", opt.lr != 0),
                     ("m", opt.lr != 0 and opt.beta1 != 0),
                     ("v", opt.lr != 0 and opt.beta2 != 0 and m != 0)],
                    [f"m{at} = {num(opt.beta1, 4)}·{paren(u.before['m'])} + "
                     f"{num(1 - opt.beta1, 4)}·{paren(u.g)} = {num(m)}",
                     f"v{at} = {num(opt.beta2, 4)}·{paren(u.before['v'])} + "
                     f"{num(1 - opt.beta2, 4)}·{paren(u.g)}² = {num(v)}",
                     f"bias-corrected: m̂ = m / (1 − β₁ᵗ) = {num(m_hat)}, v̂ = v / (1 − β₂ᵗ) "
                     f"= {num(v_hat)}; lrₜ·m / √v = lr·m̂ / √v̂ (the book's form)"])


@rule(Layer, "state")
def _state(ctx: Context, idx: Index) -> Explanation:
    slot, key = ctx.tensor.split(":", 1)
    when = "before the step" if ctx.before is not None else "now"
    return ctx.explanation(idx, f"{slot} = the optimizer's running state for {key}, {when}",
                           "", [(f"{ctx.tensor}{fmt_index(idx)}", ctx.array()[idx])], [],
                           notes=["made by the earlier updates; nothing in this iteration "
                                  "feeds it"])


def explain_update(net: Network, optimizer: Optimizer, key: str, index: Any,
                   params_before: dict[str, np.ndarray] | None = None,
                   state_before: dict[str, np.ndarray] | None = None) -> Explanation:
    """Explain ``W_new[index]`` of the parameter ``key`` (``"affine1.W"``) after the update, from
    the parameters and optimizer state before it — the stepper's snapshot of the iteration
    (``Stepper.state_before_update()`` gives both). Without them: the update the optimizer would
    make now, nothing changed."""
    before = None if params_before is None else {"params": params_before,
                                                 "state": state_before or {}}
    return explain(net, "update", key, index, optimizer=optimizer, before=before)
