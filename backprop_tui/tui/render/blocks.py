"""Downsampling by whole blocks: the block mean, the entry of largest magnitude (a single spike
is not averaged away) or ``any()`` (masks), the words that say so, and how many channel tiles
fit a grid of cells (:func:`_plan_tiles`). Used by :mod:`.grid` and :mod:`.pictures`.
"""

from __future__ import annotations

import numpy as np


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _starts(n: int, step: int) -> np.ndarray:
    return np.arange(0, n, step)


def _block_reduce(x: np.ndarray, steps: dict[int, int], reduce: str) -> np.ndarray:
    """Reduce blocks of ``steps[axis]`` entries along each axis (the last block may be partial).

    ``mean``: block mean (float64; NaN and Inf propagate, +Inf with −Inf gives NaN);
    ``maxabs``: the signed entry of largest magnitude (NaN wins; a tie goes to the positive one);
    ``any``: logical or.
    """
    steps = {ax: s for ax, s in steps.items() if s > 1}
    if not steps:
        return x
    if reduce == "any":
        out = x
        for ax, s in steps.items():
            out = np.logical_or.reduceat(out, _starts(out.shape[ax], s), axis=ax)
        return out
    if reduce == "maxabs":
        hi = lo = x
        for ax, s in steps.items():
            idx = _starts(hi.shape[ax], s)
            hi = np.maximum.reduceat(hi, idx, axis=ax)
            lo = np.minimum.reduceat(lo, idx, axis=ax)
        with np.errstate(invalid="ignore"):
            out = np.where(hi >= -lo, hi, lo)
        nan = np.isnan(hi) | np.isnan(lo) if np.issubdtype(out.dtype, np.floating) else None
        if nan is not None and nan.any():
            out = np.where(nan, np.nan, out)
        return out
    out = _block_mean(x, steps)
    if not np.isfinite(out).all() and np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all():
        # the sums overflowed (values near the float max): average x / max|x| instead
        s = float(np.max(np.abs(x)))
        out = _block_mean(x / s, steps) * s
    return out


def _block_mean(x: np.ndarray, steps: dict[int, int]) -> np.ndarray:
    out = x
    counts = np.ones((1,) * x.ndim)
    for ax, s in steps.items():
        n = out.shape[ax]
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.add.reduceat(out, _starts(n, s), axis=ax, dtype=np.float64)
        sizes = np.minimum(s, n - _starts(n, s)).astype(np.float64)
        shape = [1] * x.ndim
        shape[ax] = sizes.size
        counts = counts * sizes.reshape(shape)
    with np.errstate(invalid="ignore", over="ignore"):
        return out / counts


def _pick(block: np.ndarray, value: object, reduce: str) -> int:
    """Flat index, inside ``block``, of the entry a ``maxabs``/``any`` cell draws."""
    flat = block.ravel()
    if reduce == "any":
        hits = np.flatnonzero(flat)
        return int(hits[0]) if hits.size else 0
    if isinstance(value, float | np.floating) and np.isnan(value):
        hits = np.flatnonzero(np.isnan(flat))
    else:
        hits = np.flatnonzero(flat == value)
    return int(hits[0]) if hits.size else 0


def _how_blocks(steps: list[tuple[int, int, int, str]], reduce: str) -> str:
    """``downsampled 784→98 columns, mean of 8`` from (before, after, step, axis-name) items."""
    parts = [f"{a}→{b} {name}" for a, b, s, name in steps if s > 1]
    if not parts:
        return "full size"
    sizes = [s for _, _, s, _ in steps if s > 1]
    what = {"mean": "mean", "maxabs": "largest |value|", "any": "any()"}[reduce]
    block = "×".join(str(s) for s in sizes)
    blocks = f"{block} blocks" if len(sizes) > 1 else f"{block}"
    return f"downsampled {' × '.join(parts)}, {what} of {blocks}"


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _plan_tiles(t: int, h: int, w: int, max_rows: int, max_cols: int,
                group: int = 1) -> tuple[int, int] | None:
    """Choose (k, tc): spatial downsampling factor and tiles per row for ``t`` tiles of h×w, with
    one-cell gaps, fitting max_rows×max_cols. Tiles per row divide ``t`` (no empty cells); the
    smallest ``k`` wins, then whole groups of ``group`` tiles per row (a filter's channels), then
    the widest row. None when tiles would have to shrink below 2×2 (or 1 along a 1-long axis).
    """
    for k in range(1, max(h, w) + 1):
        th, tw = _ceil_div(h, k), _ceil_div(w, k)
        if th < min(2, h) or tw < min(2, w):
            return None
        fits = [tc for tc in _divisors(t)
                if tc * tw + (tc - 1) <= max_cols and (t // tc) * th + (t // tc - 1) <= max_rows]
        if fits:
            grouped = [tc for tc in fits if tc % group == 0]
            return k, max(grouped or fits)
    return None
