"""``render.layout``: the cell → tensor-index map for every shape (fixed cases and properties),
downsampling by blocks, tiles, and that heatmaps and bitmaps of a layout fit its budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_tui.tui import render as R

# -- layout: fixed cases --------------------------------------------------------------------------


def test_layout_1d_full_and_downsampled() -> None:
    a = np.arange(10.0)
    v = R.layout(a, max_rows=3, max_cols=20)
    assert v.data.shape == (1, 10) and v.how == "full size" and v.index_of(0, 7) == (7,)
    a = np.arange(784.0)
    v = R.layout(a, max_rows=3, max_cols=98)
    assert v.how == "downsampled 784→98 columns, mean of 8"
    assert v.data.shape == (1, 98) and v.col_step == 8
    assert v.data[0, 1] == np.mean(np.arange(8.0, 16.0))
    assert v.index_of(0, 1) == (8,)
    assert v.describe(0, 1, "b") == "mean of b[8:16] = 11.5 (8 entries)"


def test_layout_2d_partial_blocks_mean() -> None:
    a = np.arange(70.0).reshape(7, 10)
    v = R.layout(a, max_rows=3, max_cols=4)
    # 7 rows → step 3 → 3 rows (last block 1 row); 10 cols → step 3 → 4 cols (last block 1)
    assert (v.row_step, v.col_step, v.data.shape) == (3, 3, (3, 4))
    assert v.how == "downsampled 7→3 rows × 10→4 columns, mean of 3×3 blocks"
    assert v.data[2, 3] == a[6, 9]
    assert v.data[0, 0] == a[0:3, 0:3].mean()
    assert v.data[1, 3] == a[3:6, 9:10].mean()
    assert v.block_of(1, 3) == (slice(3, 6), slice(9, 10))


def test_layout_maxabs_keeps_a_spike() -> None:
    a = np.zeros((2, 100))
    a[1, 57] = -9.0
    a[1, 50] = 8.0
    v = R.layout(a, max_rows=2, max_cols=10, reduce="maxabs")
    assert v.data[1, 5] == -9.0
    assert v.index_of(1, 5) == (1, 57)
    assert v.how == "downsampled 100→10 columns, largest |value| of 10"
    assert v.describe(1, 5, "W") == "largest |.| of W[1, 50:60]: W[1, 57] = -9"
    m = R.layout(a, max_rows=2, max_cols=10)
    assert m.data[1, 5] == pytest.approx(-0.1)


def test_layout_nan_in_a_block_shows_as_nan() -> None:
    a = np.ones((1, 8))
    a[0, 3] = np.nan
    for reduce in ("mean", "maxabs"):
        v = R.layout(a, max_rows=1, max_cols=2, reduce=reduce)
        assert math.isnan(v.data[0, 0]) and v.data[0, 1] == 1.0
    v = R.layout(a, max_rows=1, max_cols=2, reduce="maxabs")
    assert v.index_of(0, 0) == (0, 3)
    assert R.heatmap(v).plain == "!!  "


def test_layout_4d_activation_tiles_channels() -> None:
    a = np.random.default_rng(1).normal(size=(2, 6, 4, 5))
    v = R.layout(a, max_rows=20, max_cols=40, sample=1)
    # 6 channels of 4×5: widest row that fits: 6 tiles → 6*5+5 = 35 ≤ 40
    assert v.tiles == (1, 6) and v.tile == (4, 5) and v.data.shape == (4, 30)
    assert v.how == "sample 1 of 2: 6 channels as 1×6 tiles of 4×5 (reading order); full size"
    assert v.index_of(3, 12) == (1, 2, 3, 2)
    assert v.data[3, 12] == a[1, 2, 3, 2]
    assert v.tile_of(3, 12) == 2
    assert v.describe(3, 12, "y") == f"y[1, 2, 3, 2] = {R.fmt(a[1, 2, 3, 2])}"


def test_layout_mnist_cnn_activation_in_80x20_downsamples_per_tile() -> None:
    a = np.random.default_rng(2).normal(size=(32, 30, 24, 24))
    v = R.layout(a, max_rows=20, max_cols=80)
    assert v.tiles == (3, 10) and v.tile == (6, 6) and v.row_step == v.col_step == 4
    assert v.how == ("sample 0 of 32: 30 channels as 3×10 tiles of 24×24 (reading order); "
                     "downsampled 24×24→6×6 per tile, mean of 4×4 blocks")
    r, c = 6 + 5, 6 * 7 + 2  # tile row 1, tile col 7 → channel 17; block (5, 2)
    assert v.index_of(r, c) == (0, 17, 20, 8)
    assert v.data[r, c] == pytest.approx(a[0, 17, 20:24, 8:12].mean())
    # the heatmap fits the 80×20-cell budget including the gaps
    lines = R.heatmap(v).plain.split("\n")
    assert len(lines) <= 20 and max(len(x) for x in lines) <= 80 * 2


def test_layout_one_channel() -> None:
    a = np.arange(2 * 3 * 28 * 28, dtype=float).reshape(2, 3, 28, 28)
    v = R.layout(a, max_rows=14, max_cols=40, sample=1, channel=2)
    assert v.data.shape == (14, 14) and v.tile is None and v.row_step == 2
    assert v.index_of(13, 1) == (1, 2, 26, 2)
    assert v.block_of(13, 1) == (slice(1, 2), slice(2, 3), slice(26, 28), slice(2, 4))
    assert v.data[13, 1] == a[1, 2, 26:28, 2:4].mean()
    assert "channel 2" in v.how


def test_layout_conv_weights_tile_filters() -> None:
    w = np.random.default_rng(3).normal(size=(4, 3, 2, 2))
    v = R.layout(w, max_rows=20, max_cols=40, kind="weight")
    # 12 tiles; rows hold whole filters (multiples of 3 tiles): 12 per row fits (12*2+11=35)
    assert v.tiles == (1, 12) and v.tile == (2, 2)
    assert v.index_of(1, 5 * 2 + 1) == (1, 2, 1, 1)  # tile 5 = filter 1, channel 2
    v = R.layout(w, max_rows=20, max_cols=14, kind="weight")
    assert v.tiles[1] % 3 == 0
    one = R.layout(w, max_rows=20, max_cols=40, kind="weight", channel=3)
    assert one.tiles == (1, 3) and one.index_of(0, 5) == (3, 2, 0, 1)
    assert "filter 3 of 4" in one.how


def test_layout_too_many_tiles_falls_back_to_rows() -> None:
    w = np.random.default_rng(4).normal(size=(64, 30, 3, 3))
    v = R.layout(w, max_rows=20, max_cols=40, kind="weight")
    assert v.tile is None
    assert v.how.startswith("64 filters × 30 channels, one row per filter; downsampled 64→16")
    blk = v.block_of(3, 5)
    assert v.data[3, 5] == pytest.approx(w[blk].mean())
    assert v.index_of(3, 5) == tuple(int(np.asarray(i)[0]) for i in blk)
    assert "…" in v.describe(3, 5, "W")


def test_layout_bool_4d_and_reduce_validation() -> None:
    m = np.zeros((1, 2, 8, 8), dtype=bool)
    m[0, 1, 7, 7] = True
    v = R.layout(m, max_rows=4, max_cols=40)
    assert v.reduce == "any" and v.data.dtype == np.bool_
    assert v.index_of(3, 4 + 3) == (0, 1, 7, 7)
    with pytest.raises(ValueError):
        R.layout(np.zeros(3), max_rows=1, max_cols=1, reduce="median")
    with pytest.raises(ValueError):
        R.layout(np.zeros((1, 1, 1, 1)), max_rows=1, max_cols=1, kind="bias")
    with pytest.raises(IndexError):
        R.layout(np.zeros((2, 1, 1, 1)), max_rows=1, max_cols=1, sample=2)
    with pytest.raises(IndexError):
        R.layout(np.zeros((2, 2)), max_rows=2, max_cols=2).index_of(2, 0)


def test_layout_edge_shapes() -> None:
    s = R.layout(np.float64(3.0), max_rows=5, max_cols=5)
    assert s.data.shape == (1, 1) and s.index_of(0, 0) == () and s.how == "scalar"
    assert R.heatmap(s).plain == "  "
    assert s.describe(0, 0, "L") == "L = 3"
    e = R.layout(np.zeros((0, 4)), max_rows=5, max_cols=5)
    assert e.data.size == 0 and "empty" in e.how
    assert R.heatmap(e).plain == "(empty)" and R.bitmap(e).plain == "(empty)"
    assert R.halfblock(np.zeros((0, 3))).plain == "(empty)"
    assert R.image_grid(np.zeros((0, 2, 2)), cols=3).plain == "(empty)"
    h = R.layout(np.full((3, 300), 1e308), max_rows=3, max_cols=10)
    assert np.allclose(h.data, 1e308)
    assert "+∞" not in R.heatmap(h).plain
    i = R.layout(np.arange(12).reshape(3, 4), max_rows=3, max_cols=2)
    assert i.data[0, 0] == 0.5
    f5 = R.layout(np.arange(2 * 3 * 2 * 2 * 2.0).reshape(2, 3, 2, 2, 2), max_rows=4, max_cols=30)
    assert f5.data.shape == (2, 24) and f5.index_of(1, 23) == (1, 2, 1, 1, 1)
    assert R.layout(np.zeros((2, 2)), max_rows=0, max_cols=-3).data.shape == (1, 1)


# -- layout: properties ---------------------------------------------------------------------------


@st.composite
def tensors(draw):
    ndim = draw(st.integers(1, 5))
    hi = {1: 60, 2: 25, 3: 9, 4: 7, 5: 4}[ndim]
    shape = tuple(draw(st.integers(1, hi)) for _ in range(ndim))
    seed = draw(st.integers(0, 2**16))
    kind = draw(st.sampled_from(["activation", "weight"]))
    boolean = draw(st.booleans())
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    a[rng.random(shape) < 0.2] = 0.0
    if draw(st.booleans()):
        a[rng.random(shape) < 0.05] = np.nan
    if boolean:
        a = a > 0
    max_rows = draw(st.integers(1, 16))
    max_cols = draw(st.integers(1, 30))
    reduce = draw(st.sampled_from(["mean", "maxabs"]))
    sample = draw(st.integers(0, shape[0] - 1))
    channel = None
    if ndim == 4 and draw(st.booleans()):
        channel = draw(st.integers(0, (shape[0] if kind == "weight" else shape[1]) - 1))
    return a, dict(max_rows=max_rows, max_cols=max_cols, reduce=reduce, sample=sample,
                   channel=channel, kind=kind)


def _same(x: object, y: object) -> bool:
    return bool(x == y) or (isinstance(x, float | np.floating) and np.isnan(x) and np.isnan(y))


def _shown(a: np.ndarray, kw: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(prefix fixed by the view, shape of the part of ``a`` the view covers)."""
    if a.ndim == 4 and kw["kind"] == "activation":
        pre = (kw["sample"],) + (() if kw["channel"] is None else (kw["channel"],))
    elif a.ndim == 4 and kw["channel"] is not None:
        pre = (kw["channel"],)
    else:
        pre = ()
    return pre, a.shape[len(pre):]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tensors())
def test_layout_every_cell_maps_into_the_tensor(case) -> None:
    a, kw = case
    v = R.layout(a, **kw)
    rows, cols = v.data.shape
    assert 1 <= rows and 1 <= cols
    pre, sub = _shown(a, kw)
    covered = np.zeros(sub, dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            idx = v.index_of(r, c)
            assert len(idx) == a.ndim
            assert all(0 <= i < n for i, n in zip(idx, a.shape, strict=True))
            assert idx[:len(pre)] == pre
            blk = v.block_of(r, c)
            entries = a[blk]
            assert entries.size >= 1
            if v.reduce == "none":
                assert _same(v.data[r, c], a[idx])
                covered[idx[len(pre):]] += 1
            else:
                # the drawn value summarises exactly its block; blocks tile the shown part
                sub_blk = blk[len(pre):] if all(isinstance(b, slice) for b in blk) else None
                if sub_blk is not None:
                    covered[sub_blk] += 1
                else:
                    covered[tuple(np.asarray(b) for b in blk[len(pre):])] += 1
                first = tuple(b.start if isinstance(b, slice) else int(np.asarray(b)[0])
                              for b in blk)
                if v.reduce == "mean":
                    assert idx == first  # a mean cell points at its block's first entry
                    want = entries.astype(float).mean()
                    assert _same(v.data[r, c], want) or np.isclose(v.data[r, c], want)
                elif v.reduce == "maxabs":
                    assert _same(v.data[r, c], a[idx])
                    fin = entries[~np.isnan(entries)]
                    if fin.size == entries.size:
                        assert abs(a[idx]) == np.max(np.abs(entries))
                    else:
                        assert np.isnan(a[idx])
                else:  # any
                    assert bool(v.data[r, c]) == bool(entries.any())
                    assert _same(v.data[r, c], a[idx])
    # every shown entry is drawn by exactly one cell (full size) or in exactly one block
    assert (covered == 1).all()


@settings(max_examples=200, deadline=None)
@given(tensors(), st.integers(1, 3))
def test_heatmap_and_bitmap_fit_the_budget(case, cell) -> None:
    a, kw = case
    v = R.layout(a, **kw)
    t = R.bitmap(v, cell=cell) if v.data.dtype == np.bool_ else R.heatmap(v, cell=cell)
    lines = t.plain.split("\n")
    assert len(lines) <= kw["max_rows"]
    assert max(len(x) for x in lines) <= max(1, kw["max_cols"]) * cell
    # cursor anywhere: exactly one cursor cell, no exception
    rng = np.random.default_rng(0)
    cur = (int(rng.integers(v.data.shape[0])), int(rng.integers(v.data.shape[1])))
    tc = R.bitmap(v, cursor=cur, cell=cell) if v.data.dtype == np.bool_ else R.heatmap(
        v, cursor=cur, cell=cell)
    assert len(tc.plain) == len(t.plain)
