"""Guards for the engine's speed work: the fast paths must compute exactly what the plain
formulas compute, whatever the memory layout of their inputs, and lean mode must change nothing
but the debugger-only cache tensors.

The layer tests (test_layers.py, test_conv.py) check the math against naive loops and numerical
gradients; this file checks the *tricks*: bit-pattern ReLU, batch-layout views, the bias and
db rows in the convolution's GEMMs, float32 staying float32, and Network.lean().
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from backprop_tui.engine import (
    SGD,
    Affine,
    BatchNorm,
    Conv2D,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    im2col,
)
from backprop_tui.engine.layers import _relu, _zero_where


def layouts(a: np.ndarray) -> list[np.ndarray]:
    """The same logical array in C order, Fortran order and as a transposed (batch-last) view."""
    order = tuple(range(1, a.ndim)) + (0,)
    back = tuple(np.argsort(order))
    return [
        np.ascontiguousarray(a),
        np.asfortranarray(a),
        np.ascontiguousarray(a.transpose(order)).transpose(back),
    ]


SPECIAL = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_equals_np_maximum_in_every_layout(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 6)).astype(dtype)
    x.flat[: SPECIAL.size] = SPECIAL
    for xl in layouts(x):
        y = _relu(xl)
        assert y.dtype == dtype and y.shape == x.shape
        np.testing.assert_array_equal(y, np.maximum(x, 0))
        layer = ReLU()
        np.testing.assert_array_equal(layer.forward(xl), np.maximum(x, 0))
        np.testing.assert_array_equal(layer.cache["mask"], x <= 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_exactly_np_where_even_for_nan_and_inf(dtype):
    """Multiplying the bit pattern by the mask must zero NaN/Inf where the unit was off (a float
    multiplication would give NaN there) and keep every other bit."""
    rng = np.random.default_rng(1)
    dout = rng.standard_normal((4, 3, 5, 6)).astype(dtype)
    dout.flat[: SPECIAL.size] = SPECIAL
    dout.flat[SPECIAL.size : 2 * SPECIAL.size] = SPECIAL
    keep = rng.random(dout.shape) < 0.5
    expected = np.where(keep, dout, dtype(0))
    for dl in layouts(dout):
        for kl in layouts(keep):
            dx = _zero_where(dl, kl)
            assert dx.dtype == dtype
            bits = f"u{dx.itemsize}"  # compare bit patterns: NaN == NaN, -0.0 != 0.0
            np.testing.assert_array_equal(dx.view(bits), expected.view(bits))


def test_relu_layer_backward_uses_its_cached_mask():
    layer = ReLU()
    x = np.array([[-1.0, 0.0, 2.0, np.nan]])
    layer.forward(x)
    np.testing.assert_array_equal(layer.cache["mask"], [[True, True, False, False]])
    dx = layer.backward(np.array([[np.inf, np.nan, 3.0, 4.0]]))
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 3.0, 4.0]])


def naive_conv(x, W, b, stride, pad):
    n, _, h, w = x.shape
    fn, _, fh, fw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    out = np.zeros((n, fn, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride : i * stride + fh, j * stride : j * stride + fw]
            out[:, :, i, j] = np.tensordot(win, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (1, 2)])
def test_conv_fast_layout_matches_naive_for_any_input_layout(stride, pad):
    """Conv2D computes in (C, H, W, N) order and returns a transposed view: values, the book's
    col, and the gradients (db comes out of the dW GEMM) must not depend on that."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 7, 7))
    W, b = rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
    ref = naive_conv(x, W, b, stride, pad)
    dout = rng.standard_normal(ref.shape)
    results = []
    for xl in layouts(x):
        layer = Conv2D(W.copy(), b.copy(), stride=stride, pad=pad)
        out = layer.forward(xl)
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(layer.cache["col"], im2col(x, 3, 3, stride, pad))
        for dl in layouts(dout):
            dx = layer.backward(dl)
            results.append((dx.copy(), layer.grads["W"].copy(), layer.grads["b"].copy()))
    dx0, dW0, db0 = results[0]
    np.testing.assert_allclose(db0, dout.sum(axis=(0, 2, 3)), rtol=1e-12)
    for dx, dW, db in results[1:]:
        np.testing.assert_allclose(dx, dx0, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dW, dW0, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(db, db0, rtol=1e-12, atol=1e-12)
    assert dW0.flags.c_contiguous and db0.flags.c_contiguous


@pytest.mark.parametrize("size,stride,pad", [(2, 2, 0), (3, 3, 0), (3, 2, 1)])
def test_maxpool_does_not_depend_on_the_input_layout(size, stride, pad):
    rng = np.random.default_rng(3)
    h = 6 if stride == size else 5
    x = rng.permutation(2 * 3 * h * h).reshape(2, 3, h, h).astype(np.float64)
    ref_layer = MaxPool2D(size, stride, pad)
    ref = ref_layer.forward(np.ascontiguousarray(x))
    dout = rng.standard_normal(ref.shape)
    ref_dx = ref_layer.backward(dout)
    for xl in layouts(x):
        layer = MaxPool2D(size, stride, pad)
        np.testing.assert_array_equal(layer.forward(xl), ref)
        np.testing.assert_array_equal(layer.cache["switches"], ref_layer.cache["switches"])
        np.testing.assert_array_equal(layer.cache["argmax"], ref_layer.cache["argmax"])
        for dl in layouts(dout):
            np.testing.assert_array_equal(layer.backward(dl), ref_dx)


def test_maxpool_argmax_is_the_window_index_of_the_first_maximum():
    x = np.array([[[[1.0, 3.0, 5.0, 5.0], [3.0, 0.0, 5.0, 5.0]]]])
    layer = MaxPool2D(2)
    layer.forward(x)
    np.testing.assert_array_equal(layer.cache["argmax"], [[[[1, 0]]]])
    assert np.issubdtype(layer.cache["argmax"].dtype, np.integer)


def small_cnn(rng: np.random.Generator, dtype) -> Network:
    layers = [
        Conv2D(0.3 * rng.standard_normal((4, 1, 3, 3)), 0.1 * rng.standard_normal(4), name="c"),
        ReLU("r1"),
        MaxPool2D(2, name="p"),
        Affine(0.3 * rng.standard_normal((36, 5)), 0.1 * rng.standard_normal(5), "a1"),
        ReLU("r2"),
        Affine(0.3 * rng.standard_normal((5, 3)), 0.1 * rng.standard_normal(3), "a2"),
    ]
    return Network(layers, SoftmaxCrossEntropy(), input_shape=(1, 8, 8), dtype=dtype)


def test_lean_mode_changes_nothing_but_the_debugger_only_tensors():
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((5, 1, 8, 8)), rng.integers(0, 3, 5)
    full, lean = (
        small_cnn(np.random.default_rng(5), "float64"),
        small_cnn(np.random.default_rng(5), "float64"),
    )
    loss_full = full.loss(x, t)
    full.backward()
    with lean.lean():
        assert all(layer.lean for layer in lean.layers)
        loss_lean = lean.loss(x, t)
        dx_lean = lean.backward()
        assert "col" not in lean.layers[0].cache and "argmax" not in lean.layers[2].cache
        assert {"x"} <= set(lean.layers[0].cache) and "switches" in lean.layers[2].cache
    assert not any(layer.lean for layer in lean.layers)
    assert loss_lean == loss_full
    np.testing.assert_array_equal(dx_lean, full.dinputs[0])
    for a, b in zip(full.layers, lean.layers, strict=True):
        for k in a.grads:
            np.testing.assert_array_equal(a.grads[k], b.grads[k])
    # outside lean mode the next forward shows them again
    lean.loss(x, t)
    np.testing.assert_array_equal(lean.layers[0].cache["col"], full.layers[0].cache["col"])
    np.testing.assert_array_equal(lean.layers[2].cache["argmax"], full.layers[2].cache["argmax"])


def tricky_network(rng: np.random.Generator) -> Network:
    """ReLUs after layers whose output is their input (Flatten, Dropout in eval mode) or their
    cache (Tanh and Sigmoid keep y): lean mode must not overwrite those in place."""

    def w(*shape):
        return 0.8 * rng.standard_normal(shape)

    layers = [
        ReLU("r0"),  # the batch itself: never overwritten
        Conv2D(w(2, 1, 3, 3), w(2), pad=1, name="c1"),
        Tanh("t1"),
        ReLU("r1"),  # Tanh's output is its cache['y']
        MaxPool2D(2, name="p1"),  # its input is ReLU's fresh output: dx may go over it
        Conv2D(w(2, 2, 3, 3), w(2), pad=1, name="c2"),
        Tanh("t2"),
        MaxPool2D(2, name="p2"),  # its input is Tanh's y: dx must not go over it
        Flatten("f"),
        ReLU("r2"),
        Affine(w(8, 6), w(6), "a1"),
        Tanh("t3"),
        Flatten("f2"),
        ReLU("r3"),  # on (N, D) Flatten returns a view of Tanh's y
        Affine(w(6, 6), w(6), "a1b"),
        Tanh("t4"),
        Dropout(0.5, np.random.default_rng(0), name="d"),
        ReLU("r3b"),  # in eval mode Dropout returns Tanh's y itself
        Affine(w(6, 6), w(6), "a2"),
        Sigmoid("s"),
        ReLU("r4"),  # Sigmoid keeps y too (a ReLU of it would change nothing anyway)
        BatchNorm(6, name="bn"),
        ReLU("r5"),  # BatchNorm's output is new: may be overwritten
        Affine(w(6, 3), w(3), "a3"),
    ]
    return Network(layers, SoftmaxCrossEntropy(), input_shape=(1, 8, 8))


@pytest.mark.parametrize("training", [True, False])
def test_lean_in_place_relu_never_touches_what_others_keep(training):
    rng = np.random.default_rng(8)
    x, t = rng.standard_normal((4, 1, 8, 8)), rng.integers(0, 3, 4)
    x_before = x.copy()
    full, lean = tricky_network(np.random.default_rng(9)), tricky_network(np.random.default_rng(9))
    full.train(training)
    lean.train(training)
    loss_full = full.loss(x, t)
    full.backward()
    with lean.lean():
        loss_lean = lean.loss(x, t)
        lean.backward()
    np.testing.assert_array_equal(x, x_before)
    assert loss_lean == loss_full
    for a, b in zip(full.layers, lean.layers, strict=True):
        for k in a.grads:
            np.testing.assert_array_equal(a.grads[k], b.grads[k], err_msg=f"{a.name}.{k}")
        for k in ("y", "xn", "x"):  # what Sigmoid/Tanh/BatchNorm/Conv keep for backward
            if k in a.cache:
                np.testing.assert_array_equal(a.cache[k], b.cache[k], err_msg=f"{a.name}.{k}")
    assert not any(layer.input_is_fresh for layer in lean.layers)


def test_float32_training_step_never_upcasts():
    """Every activation, cache tensor, gradient and parameter of a CNN step stays float32."""
    rng = np.random.default_rng(6)
    net = small_cnn(rng, "float32")
    x, t = rng.standard_normal((5, 1, 8, 8)), rng.integers(0, 3, 5)
    opt = SGD(0.1)
    for lean in (False, True):
        with net.lean() if lean else contextlib.nullcontext():
            net.loss(x, t)
            net.backward(need_input_grad=True)
            opt.step(net)
        f32 = np.dtype(np.float32)
        assert net.output.dtype == f32 and net.dout.dtype == f32
        for i, layer in enumerate(net.layers):
            assert net.inputs[i].dtype == f32 and net.dinputs[i].dtype == f32, layer.name
            for store in (layer.params, layer.grads):
                assert all(v.dtype == f32 for v in store.values()), layer.name
            for k, v in layer.cache.items():
                assert v.dtype.kind != "f" or v.dtype == f32, f"{layer.name}.{k}"


def test_cnn_gradients_match_finite_differences_in_float64():
    """End to end through the fast paths: dL/dθ and dL/dx of a small CNN against centered
    differences (h = 1e-6), away from kinks (random data; the check is on the loss)."""
    rng = np.random.default_rng(7)
    net = small_cnn(rng, "float64")
    x, t = rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 3, 3)
    net.loss(x, t)
    dx = net.backward()
    h = 1e-6

    def numeric(a: np.ndarray, idx: tuple[int, ...]) -> float:
        old = a[idx]
        a[idx] = old + h
        lp = net.loss(x, t)
        a[idx] = old - h
        lm = net.loss(x, t)
        a[idx] = old
        return (lp - lm) / (2 * h)

    checks = [(x, dx)] + [
        (layer.params[k], layer.grads[k].copy()) for layer in net.layers for k in layer.params
    ]
    for a, g in checks:
        for flat in rng.choice(a.size, size=min(a.size, 12), replace=False):
            idx = np.unravel_index(flat, a.shape)
            num = numeric(a, idx)
            assert abs(num - g[idx]) <= 1e-7 * max(1.0, abs(num), abs(g[idx])), (idx, num, g[idx])
