"""Explain rules for the built-in layers other than Affine (``engine/layers.py``): ReLU, Step,
Sigmoid, Tanh, Dropout, BatchNorm, Flatten — each explains the numbers its own code computes,
in the order and form that code uses.

This module imports numpy only; importing it registers the rules (``engine/__init__.py``).
"""

from __future__ import annotations

from .explain import Context, Explanation, Index, fmt_index, num, paren, rule
from .layers import ReLU


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
    if bool(ctx.cache("mask")[idx]):
        return ctx.explanation(idx, "dx = 0 where mask, else dout",
                               f"mask{at} = True (x{at} ≤ 0) → dx{at} = 0",
                               [(f"0 (blocked by mask{at})", 0.0)], [ctx.entry("mask", idx)],
                               notes=[f"mask: x ≤ 0 → blocked; dout{at} = "
                                      f"{num(ctx.dout()[idx])} does not pass"])
    d = ctx.dout()[idx]
    return ctx.explanation(idx, "dx = 0 where mask, else dout",
                           f"mask{at} = False (x{at} > 0) → dx{at} = dout{at} = {paren(d)}",
                           [(f"dout{at}", d)],
                           [ctx.entry("mask", idx), ctx.entry("dout", idx)],
                           notes=["mask: x > 0 → passes"])
