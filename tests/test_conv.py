"""im2col/col2im, Conv2D and MaxPool2D: shapes from the book, values against naive loops, and
gradient checks over random geometries (hypothesis draws the geometry so that it tiles)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backprop_tui.engine import Conv2D, MaxPool2D, ShapeError, col2im, im2col
from backprop_tui.engine.conv import conv_output_size

SMOOTH_TOL = 1e-7
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True)


@st.composite
def conv_geometry(draw):
    """(N, C, H, W, FN, FH, FW, stride, pad) whose windows tile the padded input exactly."""
    n = draw(st.integers(1, 2))
    c = draw(st.integers(1, 3))
    fn = draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    oh, ow = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = (oh - 1) * stride + fh - 2 * pad
    w = (ow - 1) * stride + fw - 2 * pad
    assume(h >= 1 and w >= 1)
    return n, c, h, w, fn, fh, fw, stride, pad


def naive_im2col(x, fh, fw, stride, pad):
    """The book's layout, one loop per output position: rows (n, oh, ow), columns (c, fh, fw)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    rows = []
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                win = xp[b, :, i * stride : i * stride + fh, j * stride : j * stride + fw]
                rows.append(win.ravel())
    return np.array(rows).reshape(n * oh * ow, c * fh * fw)


def naive_conv(x, W, b, stride, pad):
    n, c, h, w = x.shape
    fn, _, fh, fw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    out = np.zeros((n, fn, oh, ow))
    for bi in range(n):
        for f in range(fn):
            for i in range(oh):
                for j in range(ow):
                    win = xp[bi, :, i * stride : i * stride + fh, j * stride : j * stride + fw]
                    out[bi, f, i, j] = np.sum(win * W[f]) + b[f]
    return out


def naive_maxpool(x, size, stride, pad):
    """Max over each window; padding never wins (−∞, as in PyTorch)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    oh = (h + 2 * pad - size) // stride + 1
    ow = (w + 2 * pad - size) // stride + 1
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride : i * stride + size, j * stride : j * stride + size]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out


# -- im2col / col2im ---------------------------------------------------------------------------


def test_im2col_shapes_from_the_book():
    """Deep Learning from Scratch, ch. 7: a 5×5 filter over 7×7×3 gives 9 rows of 75."""
    rng = np.random.default_rng(0)
    assert im2col(rng.random((1, 3, 7, 7)), 5, 5, stride=1, pad=0).shape == (9, 75)
    assert im2col(rng.random((10, 3, 7, 7)), 5, 5, stride=1, pad=0).shape == (90, 75)


@EXAMPLES
@given(geom=conv_geometry(), seed=st.integers(0, 2**32 - 1))
def test_im2col_matches_a_naive_loop_and_col2im_is_its_adjoint(geom, seed):
    n, c, h, w, _fn, fh, fw, stride, pad = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    col = im2col(x, fh, fw, stride, pad)
    np.testing.assert_array_equal(col, naive_im2col(x, fh, fw, stride, pad))
    # adjoint: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c
    cmat = rng.standard_normal(col.shape)
    back = col2im(cmat, x.shape, fh, fw, stride, pad)
    assert back.shape == x.shape
    lhs, rhs = np.vdot(col, cmat), np.vdot(x, back)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


def test_col2im_sums_overlapping_windows():
    """A 3×3 input, 2×2 windows, stride 1: the centre pixel is in all 4 windows."""
    ones = np.ones((4, 4))  # 4 windows × (1 channel · 2 · 2)
    counts = col2im(ones, (1, 1, 3, 3), 2, 2, stride=1, pad=0)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_conv_output_size():
    assert conv_output_size(7, 5, 1, 0) == 3
    assert conv_output_size(28, 5, 1, 0) == 24
    assert conv_output_size(5, 3, 2, 1) == 3
    assert conv_output_size(6, 3, 2, 0) is None  # 3 does not divide by 2
    assert conv_output_size(2, 5, 1, 0) is None  # filter larger than the padded input


# -- Conv2D ------------------------------------------------------------------------------------


@EXAMPLES
@given(geom=conv_geometry(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_forward_and_gradients(geom, seed, numgrad, max_errors):
    n, c, h, w, fn, fh, fw, stride, pad = geom
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((fn, c, fh, fw))
    b = rng.standard_normal(fn)
    layer = Conv2D(W, b, stride=stride, pad=pad)
    x = rng.standard_normal((n, c, h, w))
    out = layer.forward(x)
    assert out.shape[1:] == layer.output_shape((c, h, w))
    np.testing.assert_allclose(out, naive_conv(x, W, b, stride, pad), rtol=1e-12, atol=1e-12)

    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    assert dx.shape == x.shape and set(grads) == {"W", "b"}
    dx_num = numgrad.array(layer.forward, x, dout)
    dW_num = numgrad.array(lambda _: layer.forward(x), layer.params["W"], dout)
    db_num = numgrad.array(lambda _: layer.forward(x), layer.params["b"], dout)
    pairs = (("dx", dx, dx_num), ("dW", grads["W"], dW_num), ("db", grads["b"], db_num))
    floor = numgrad.noise_floor(out, dout)
    for name, a, num in pairs:
        err = max_errors.record(f"Conv2D {name}", numgrad.rel_error(a, num, floor))
        assert err <= SMOOTH_TOL, f"Conv2D {name}: relative error {err:.2e} for {geom}"


def test_conv2d_need_dx_false_and_caches():
    rng = np.random.default_rng(0)
    layer = Conv2D(rng.standard_normal((2, 1, 3, 3)), np.zeros(2), stride=1, pad=1)
    x = rng.standard_normal((2, 1, 4, 4))
    out = layer.forward(x)
    assert layer.cache["col"].shape == (2 * 4 * 4, 9)
    assert layer.backward(np.ones_like(out), need_dx=False) is None
    np.testing.assert_allclose(layer.grads["b"], [32.0, 32.0])
    assert layer.describe() == "Conv2D 1→2 3×3 pad 1"


def test_conv2d_rejects_bad_geometry_with_a_clear_message():
    layer = Conv2D(np.zeros((4, 3, 3, 3)), np.zeros(4), stride=2, name="conv1")
    assert layer.output_shape((3, 7, 7)) == (4, 3, 3)
    with pytest.raises(ShapeError, match=r"conv1.*does not tile a 6×6"):
        layer.output_shape((3, 6, 6))
    with pytest.raises(ShapeError, match=r"conv1.*3 input channels.*has 1"):
        layer.output_shape((1, 7, 7))
    with pytest.raises(ShapeError, match=r"conv1.*\(C, H, W\)"):
        layer.output_shape((49,))
    with pytest.raises(ShapeError):
        Conv2D(np.zeros((4, 3, 3)), np.zeros(4))


# -- MaxPool2D ---------------------------------------------------------------------------------


def distinct_values(rng, shape, gap=0.05):
    """All different, at least ``gap`` apart: no tie within any finite-difference step."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - np.prod(shape) / 2) * gap


@st.composite
def tiling_pool(draw):
    size = draw(st.integers(1, 3))
    oh, ow = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return draw(st.integers(1, 2)), draw(st.integers(1, 3)), oh * size, ow * size, size, size, 0


@st.composite
def overlapping_pool(draw):
    """Overlapping windows (stride < size) and/or padding: the general path."""
    size = draw(st.integers(2, 3))
    stride = draw(st.integers(1, size))
    pad = draw(st.integers(0, size - 1))  # every window still touches the input
    assume(stride != size or pad > 0)
    oh, ow = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = (oh - 1) * stride + size - 2 * pad
    w = (ow - 1) * stride + size - 2 * pad
    assume(h >= 1 and w >= 1)
    return draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w, size, stride, pad


def _check_pool(geom, seed, numgrad, max_errors, label):
    n, c, h, w, size, stride, pad = geom
    rng = np.random.default_rng(seed)
    layer = MaxPool2D(size, stride, pad)
    x = distinct_values(rng, (n, c, h, w))
    out = layer.forward(x)
    assert out.shape[1:] == layer.output_shape((c, h, w))
    np.testing.assert_array_equal(out, naive_maxpool(x, size, stride, pad))
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    dx_num = numgrad.array(layer.forward, x, dout)
    err = max_errors.record(f"{label} dx",
                            numgrad.rel_error(dx, dx_num, numgrad.noise_floor(out, dout)))
    assert err <= SMOOTH_TOL, f"{label}: dx relative error {err:.2e} for {geom}"
    # the gradient of a max is routed, not created: it sums to the sum of dout
    np.testing.assert_allclose(dx.sum(), dout.sum())
    return layer, x


@EXAMPLES
@given(geom=tiling_pool(), seed=st.integers(0, 2**32 - 1))
def test_maxpool_tiling_fast_path(geom, seed, numgrad, max_errors):
    layer, x = _check_pool(geom, seed, numgrad, max_errors, "MaxPool2D (tiling)")
    n, c, h, w, size, _, _ = geom
    # exactly one switch per window, in the input's shape
    sw = layer.cache["switches"]
    assert sw.shape == x.shape and sw.dtype == bool
    per_window = sw.reshape(n, c, h // size, size, w // size, size).sum(axis=(3, 5))
    assert np.all(per_window == 1)
    # the switches mark exactly the winners (values are distinct, so compare as sets)
    np.testing.assert_array_equal(np.sort(x[sw]), np.sort(layer.forward(x).ravel()))


@EXAMPLES
@given(geom=overlapping_pool(), seed=st.integers(0, 2**32 - 1))
def test_maxpool_overlapping_and_padded_path(geom, seed, numgrad, max_errors):
    _check_pool(geom, seed, numgrad, max_errors, "MaxPool2D (overlap/pad)")


def test_maxpool_tie_goes_to_the_first_maximum():
    layer = MaxPool2D(2)
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    assert layer.forward(x)[0, 0, 0, 0] == 3.0
    np.testing.assert_array_equal(layer.cache["switches"][0, 0], [[False, True], [False, False]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[7.0]]]]))[0, 0], [[0, 7], [0, 0]])


def test_maxpool_padding_never_wins():
    """All-negative inputs with padding: a zero-padded pool would return 0, −∞ padding doesn't."""
    layer = MaxPool2D(2, stride=2, pad=1)
    x = -np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(layer.forward(x)[0, 0], [[-1, -2], [-3, -4]])


def test_maxpool_rejects_bad_geometry():
    layer = MaxPool2D(2, name="pool1")
    assert layer.output_shape((3, 4, 6)) == (3, 2, 3)
    with pytest.raises(ShapeError, match=r"pool1.*does not tile a 5×4"):
        layer.output_shape((3, 5, 4))
    with pytest.raises(ShapeError, match=r"pool1.*\(C, H, W\)"):
        layer.output_shape((12,))


def test_maxpool_rejects_windows_that_lie_entirely_in_the_padding():
    """With pad ≥ size a window can hold nothing but padding: its max is −∞ and the loss NaN."""
    assert MaxPool2D(2, stride=2, pad=1).output_shape((1, 2, 2)) == (1, 2, 2)
    with pytest.raises(ShapeError, match=r"pool2.*padding 2.*window"):
        MaxPool2D(2, stride=2, pad=2, name="pool2").output_shape((1, 2, 2))
