"""Geometry: ``layout`` turns any tensor into a 2-D grid of *cells* (a :class:`View`), downsampling
by whole blocks when it does not fit, and keeps the map cell → index into the original tensor.
``max_rows``/``max_cols`` count cells; a heatmap/bitmap cell is ``cell`` (default 2) characters
wide and one line high, and the blank gap between channel/filter tiles counts as one cell.

``View.index_of``/``block_of`` map a cell back into the tensor; :func:`_as_grid`,
:func:`_with_gaps` and :func:`_valid_cursor` are the cell-grid helpers the painters share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...engine.layers import dims
from .blocks import _block_reduce, _ceil_div, _how_blocks, _pick, _plan_tiles
from .numtext import count, fmt


# -- layout --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """How an N-D tensor is laid out as a 2-D grid of cells on screen.

    ``data[r, c]`` is what cell ``(r, c)`` draws; ``index_of(r, c)`` is the index into the
    original tensor that the cell stands for: the entry itself at full size, and when downsampled
    the entry whose value is drawn (``maxabs``, ``any``) or the block's first entry (``mean``);
    ``block_of(r, c)`` is the block of the original tensor the cell summarises, ready to index
    it (``view.source[view.block_of(r, c)]``): slices, or integer index arrays where the columns
    are several axes flattened (5-D+ tensors, too many tiles).
    ``tile``/``tiles``: for tiled channels/filters, the size of one tile in cells and the tile
    grid (rows, cols); the heatmap leaves a one-cell gap between tiles (not part of ``data``).
    """

    data: np.ndarray
    index_of: Callable[[int, int], tuple[int, ...]]
    row_label: str
    col_label: str
    how: str
    row_step: int = 1
    col_step: int = 1
    block_of: Callable[[int, int], tuple[slice | np.ndarray, ...]] | None = None
    tile: tuple[int, int] | None = None
    tiles: tuple[int, int] | None = None
    reduce: str = "none"  #: "none" (full size) | "mean" | "maxabs" | "any"
    source: np.ndarray | None = None  #: the original tensor (not a copy)

    @property
    def downsampled(self) -> bool:
        return self.reduce != "none"

    def tile_of(self, r: int, c: int) -> int | None:
        """Tile number (reading order) of cell ``(r, c)``: the channel, or filter·C + channel."""
        if self.tile is None or self.tiles is None:
            return None
        return (r // self.tile[0]) * self.tiles[1] + c // self.tile[1]

    def describe(self, r: int, c: int, name: str = "x") -> str:
        """The cell in words with its exact value: ``x[0, 3, 5, 7] = 0.1234``, or for a
        downsampled cell ``mean of x[0, 3, 4:8, 4:8] = 0.01 (16 entries)``."""
        idx = self.index_of(r, c)
        where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
        drawn = self.data[r, c]
        if self.reduce == "none" or self.block_of is None:
            return f"{where} = {fmt(drawn)}"
        blk = self.block_of(r, c)
        if all(isinstance(s, slice) for s in blk):
            sl = ", ".join(
                str(s.start) if s.stop - s.start == 1 else f"{s.start}:{s.stop}" for s in blk
            )
            n = math.prod(s.stop - s.start for s in blk)
        else:  # flattened axes: not a box; name the first and last entry
            n = int(np.asarray(blk[0]).size)
            first = ", ".join(str(int(np.asarray(v)[0])) for v in blk)
            last = ", ".join(str(int(np.asarray(v)[-1])) for v in blk)
            sl = f"{first}]…{name}[{last}"
        if self.reduce == "mean":
            return f"mean of {name}[{sl}] = {fmt(drawn)} ({n} entries)"
        if self.reduce == "maxabs":
            return f"largest |.| of {name}[{sl}]: {where} = {fmt(drawn)}"
        return f"any of {name}[{sl}] = {bool(drawn)}" + (f" (first at {where})" if drawn else "")


def _grid_view(m: np.ndarray, max_rows: int, max_cols: int, reduce: str,
               to_index: Callable[[int, int], tuple[int, ...]],
               row_label: str, col_label: str, source: np.ndarray, names=("rows", "columns"),
               prefix: str = "", rect: bool = True) -> View:
    """A 2-D matrix ``m`` drawn as is or block-downsampled; ``to_index`` maps (i, j) of ``m`` to
    the original tensor's index (it must also accept index arrays). ``rect=False`` when the
    columns of ``m`` are several axes flattened: a block is then not a box of the original
    tensor, and ``block_of`` returns integer index arrays instead of slices."""
    rows, cols = m.shape
    rs, cs = max(1, _ceil_div(rows, max_rows)), max(1, _ceil_div(cols, max_cols))
    data = _block_reduce(m, {0: rs, 1: cs}, reduce)
    red = "none" if rs == cs == 1 else reduce

    def block_of_ij(r: int, c: int) -> tuple[slice, slice]:
        return slice(r * rs, min((r + 1) * rs, rows)), slice(c * cs, min((c + 1) * cs, cols))

    def index_of(r: int, c: int) -> tuple[int, ...]:
        _check_cell(data, r, c)
        if red == "none":
            return _ints(to_index(r, c))
        bi, bj = block_of_ij(r, c)
        if red == "mean":
            return _ints(to_index(bi.start, bj.start))
        blk = m[bi, bj]
        fi = _pick(blk, data[r, c], red)
        i, j = divmod(fi, blk.shape[1])
        return _ints(to_index(bi.start + i, bj.start + j))

    def block_of(r: int, c: int) -> tuple[slice | np.ndarray, ...]:
        _check_cell(data, r, c)
        bi, bj = block_of_ij(r, c)
        if not rect:
            ii, jj = np.meshgrid(np.arange(bi.start, bi.stop), np.arange(bj.start, bj.stop),
                                 indexing="ij")
            idx = to_index(ii.ravel(), jj.ravel())
            return tuple(np.broadcast_to(np.asarray(v), ii.size).copy() for v in idx)
        a0 = _ints(to_index(bi.start, bj.start))
        a1 = _ints(to_index(bi.stop - 1, bj.stop - 1))
        return tuple(slice(p, q + 1) for p, q in zip(a0, a1, strict=True))

    how = _how_blocks([(rows, data.shape[0], rs, names[0]), (cols, data.shape[1], cs, names[1])],
                      reduce)
    return View(data, index_of, row_label, col_label, prefix + how, rs, cs, block_of,
                reduce=red, source=source)


def _ints(idx: tuple) -> tuple[int, ...]:
    return tuple(int(v) for v in idx)


def _check_cell(data: np.ndarray, r: int, c: int) -> None:
    if not (0 <= r < data.shape[0] and 0 <= c < data.shape[1]):
        raise IndexError(f"cell ({r}, {c}) outside the {data.shape[0]}×{data.shape[1]} grid")


def _tiled_view(x: np.ndarray, k: int, tc: int, reduce: str, lead: tuple[int, ...],
                split: int, row_label: str, col_label: str, how_prefix: str,
                source: np.ndarray) -> View:
    """``x`` is (T, H, W) tiles; tile t maps to original index ``lead + divmod(t, split) + (h, w)``
    (``split`` = channels per filter for weights; 0 means the tile number is one index)."""
    t, h, w = x.shape
    red_x = _block_reduce(x, {1: k, 2: k}, reduce)
    th, tw = red_x.shape[1], red_x.shape[2]
    tr = t // tc
    data = red_x.reshape(tr, tc, th, tw).transpose(0, 2, 1, 3).reshape(tr * th, tc * tw)
    red = "none" if k == 1 else reduce

    def tile_index(tile: int) -> tuple[int, ...]:
        return lead + (divmod(tile, split) if split else (tile,))

    def locate(r: int, c: int) -> tuple[int, int, int]:
        _check_cell(data, r, c)
        return (r // th) * tc + c // tw, r % th, c % tw

    def index_of(r: int, c: int) -> tuple[int, ...]:
        tile, i, j = locate(r, c)
        if red == "none":
            return tile_index(tile) + (i, j)
        bi = slice(i * k, min((i + 1) * k, h))
        bj = slice(j * k, min((j + 1) * k, w))
        if red == "mean":
            return tile_index(tile) + (bi.start, bj.start)
        blk = x[tile, bi, bj]
        fi = _pick(blk, data[r, c], red)
        di, dj = divmod(fi, blk.shape[1])
        return tile_index(tile) + (bi.start + di, bj.start + dj)

    def block_of(r: int, c: int) -> tuple[slice, ...]:
        tile, i, j = locate(r, c)
        head = tuple(slice(p, p + 1) for p in tile_index(tile))
        return head + (slice(i * k, min((i + 1) * k, h)), slice(j * k, min((j + 1) * k, w)))

    if k == 1:
        how = f"{how_prefix}; full size"
    else:
        what = {"mean": "mean", "maxabs": "largest |value|", "any": "any()"}[reduce]
        how = f"{how_prefix}; downsampled {h}×{w}→{th}×{tw} per tile, {what} of {k}×{k} blocks"
    return View(data, index_of, row_label, col_label, how, k, k, block_of, tile=(th, tw),
                tiles=(tr, tc), reduce=red, source=source)


def layout(a: np.ndarray, *, max_rows: int, max_cols: int, sample: int = 0,
           channel: int | None = None, reduce: str = "mean", kind: str = "activation") -> View:
    """Lay a tensor out as a 2-D grid of at most ``max_rows × max_cols`` cells.

    * 0-D: one cell. 1-D ``(D,)``: one row. 2-D ``(N, D)`` / ``(in, out)``: as is.
    * 3-D ``(C, H, W)``: channels tiled in reading order with one-cell gaps.
    * 4-D activations ``(N, C, H, W)`` (``kind="activation"``): sample ``sample``, its channels
      tiled (or only ``channel``, as one H×W picture).
    * 4-D conv weights ``(FN, C, FH, FW)`` (``kind="weight"``): every filter's channels tiled,
      tile ``t`` = filter ``t // C``, channel ``t % C`` (rows hold whole filters when they fit);
      ``channel`` picks one filter ``channel`` (its C channels tiled).
    * 5-D and more: rows = first axis, columns = the rest flattened (C order).

    Too large → downsampled by whole blocks: block mean (``reduce="mean"``), the entry of largest
    magnitude (``"maxabs"``, so a single spike is not averaged away), or ``any()`` for bool
    tensors (always). Spatial axes use the same factor along H and W (pictures keep their
    aspect); matrices use independent row/column factors. When tiles would have to shrink below
    2×2, the channels are drawn as rows of a matrix instead (``how`` says so).
    """
    a = np.asarray(a)
    max_rows, max_cols = max(1, int(max_rows)), max(1, int(max_cols))
    if a.dtype == np.bool_:
        reduce = "any"
    elif reduce not in ("mean", "maxabs"):
        raise ValueError(f"reduce must be 'mean' or 'maxabs' (any() is for bool), not {reduce!r}")
    if kind not in ("activation", "weight"):
        raise ValueError(f"kind must be 'activation' or 'weight', not {kind!r}")

    if a.size == 0:
        data = np.zeros((0, 0), dtype=a.dtype)

        def none(r: int, c: int) -> tuple[int, ...]:
            raise IndexError(f"empty tensor of shape {dims(a.shape)} has no cells")

        return View(data, none, "", "", f"empty ({dims(a.shape)}, 0 entries)", source=a)
    if a.ndim == 0:
        return View(a.reshape(1, 1), lambda r, c: (_check_cell(a.reshape(1, 1), r, c), ())[1],
                    "", "", "scalar", block_of=lambda r, c: (), source=a)
    if a.ndim == 1:
        return _grid_view(a.reshape(1, -1), max_rows, max_cols, reduce, lambda i, j: (j,),
                          "", "index i", a)
    if a.ndim == 2:
        return _grid_view(a, max_rows, max_cols, reduce, lambda i, j: (i, j), "row i",
                          "column j", a)

    if a.ndim == 3:
        return _spatial(a, a, (), 0, max_rows, max_cols, reduce, channel,
                        count(a.shape[0], "channel"), "channel c", a)
    if a.ndim == 4 and kind == "activation":
        n = a.shape[0]
        if not 0 <= sample < n:
            raise IndexError(f"sample {sample} outside 0..{n - 1}")
        return _spatial(a[sample], a, (sample,), 0, max_rows, max_cols, reduce, channel,
                        f"sample {sample} of {n}: {count(a.shape[1], 'channel')}", "channel c", a)
    if a.ndim == 4:
        fn, c = a.shape[:2]
        if channel is not None:
            if not 0 <= channel < fn:
                raise IndexError(f"filter {channel} outside 0..{fn - 1}")
            return _spatial(a[channel], a, (channel,), 0, max_rows, max_cols, reduce, None,
                            f"filter {channel} of {fn}: {count(c, 'channel')}", "channel c", a)
        tiles = a.reshape(fn * c, *a.shape[2:])
        return _spatial(tiles, a, (), c, max_rows, max_cols, reduce, None,
                        f"{count(fn, 'filter')} × {count(c, 'channel')}", "filter f · channel c",
                        a, group=c)
    # 5-D and more
    rest = a.shape[1:]
    m = a.reshape(a.shape[0], -1)
    return _grid_view(m, max_rows, max_cols, reduce,
                      lambda i, j: (i, *np.unravel_index(j, rest)),
                      "axis 0", f"axes 1…{a.ndim - 1} flattened", a, rect=False)


def _spatial(x: np.ndarray, a: np.ndarray, lead: tuple[int, ...], split: int, max_rows: int,
             max_cols: int, reduce: str, channel: int | None, what: str, tile_name: str,
             source: np.ndarray, group: int = 1) -> View:
    """Tiles of ``x`` (T, H, W) whose tile t is ``lead + (t,)`` (or ``divmod(t, split)``)."""
    t, h, w = x.shape
    if channel is not None:
        if not 0 <= channel < t:
            raise IndexError(f"channel {channel} outside 0..{t - 1}")
        img = x[channel]
        k = max(1, _ceil_div(h, max_rows), _ceil_div(w, max_cols))
        v = _tiled_view(img[None], k, 1, reduce, lead + (channel,), 0, "y", "x",
                        f"{what}, channel {channel}", source)
        # one picture: index_of already includes the channel via lead; drop the tile index 0
        inner_index, inner_block = v.index_of, v.block_of

        def index_of(r: int, c: int) -> tuple[int, ...]:
            idx = inner_index(r, c)
            return idx[:len(lead) + 1] + idx[len(lead) + 2:]

        def block_of(r: int, c: int) -> tuple[slice, ...]:
            blk = inner_block(r, c)  # type: ignore[misc]
            return blk[:len(lead) + 1] + blk[len(lead) + 2:]

        return View(v.data, index_of, "y", "x", v.how, k, k, block_of, reduce=v.reduce,
                    source=source)
    plan = _plan_tiles(t, h, w, max_rows, max_cols, group)
    if plan is not None:
        k, tc = plan
        tr = t // tc
        return _tiled_view(x, k, tc, reduce, lead, split, f"{tile_name} tile row · y",
                           f"{tile_name} tile column · x",
                           f"{what} as {tr}×{tc} tiles of {h}×{w} (reading order)", source)
    # too many tiles: a matrix, one row per channel (per filter for weights), the rest flattened
    if split:
        m = x.reshape(t // split, split * h * w)
        inner = (split, h, w)
        labels = ("filter f", f"channel·{h}×{w} flattened (c·{h * w} + y·{w} + x)")
        names, prefix = ("filters", "entries"), f"{what}, one row per filter; "
    else:
        m = x.reshape(t, h * w)
        inner = (h, w)
        labels = (tile_name, f"{h}×{w} flattened (y·{w} + x)")
        names, prefix = ("channels", "pixels"), f"{what}, one row per channel; "

    def to_index(i: int, j: int) -> tuple[int, ...]:
        return lead + (i,) + tuple(np.unravel_index(j, inner))

    return _grid_view(m, max_rows, max_cols, reduce, to_index, labels[0], labels[1], source,
                      names=names, prefix=prefix, rect=False)


# -- cells, for the painters ----------------------------------------------------------------------
def _with_gaps(codes: np.ndarray, tile: tuple[int, int] | None, gap_code: int,
               cursor: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Insert one gap row/column between tiles; move the cursor with the cells."""
    if tile is None or codes.size == 0:
        return codes, cursor
    th, tw = tile
    rows, cols = codes.shape
    rp = np.arange(rows) + np.arange(rows) // th
    cp = np.arange(cols) + np.arange(cols) // tw
    out = np.full((rp[-1] + 1, cp[-1] + 1), gap_code, dtype=codes.dtype)
    out[np.ix_(rp, cp)] = codes
    if cursor is not None:
        cursor = (int(rp[cursor[0]]), int(cp[cursor[1]]))
    return out, cursor


def _valid_cursor(cursor: tuple[int, int] | None, shape: tuple[int, ...]) -> bool:
    return (cursor is not None and len(shape) == 2 and 0 <= cursor[0] < shape[0]
            and 0 <= cursor[1] < shape[1])


def _as_grid(view_or_2d: View | np.ndarray) -> tuple[np.ndarray, tuple[int, int] | None]:
    if isinstance(view_or_2d, View):
        return view_or_2d.data, view_or_2d.tile
    d = np.asarray(view_or_2d)
    if d.ndim < 2:
        d = d.reshape(1, -1) if d.size else d.reshape(0, 0)
    elif d.ndim > 2:
        d = d.reshape(d.shape[0], -1)
    return d, None
