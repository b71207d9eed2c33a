"""Gradient checks and contract tests for the dense layers (float64, random shapes).

Hypothesis draws the shapes and a seed; the values come from a seeded numpy generator, so the
inputs are ordinary floats and each example is reproducible (``derandomize=True``). Every check
compares ``backward`` with the independent numerical helper from ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backprop_tui.engine import (
    Affine,
    BatchNorm,
    Dropout,
    Flatten,
    ReLU,
    ShapeError,
    Sigmoid,
    Step,
    Tanh,
)

SMOOTH_TOL = 1e-7
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True)

seeds = st.integers(0, 2**32 - 1)
batch = st.integers(1, 5)
dims = st.integers(1, 6)
feature_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], gap: float = 0.1):
    """Random values with |x| ≥ gap: no ReLU/Step kink within any finite-difference step."""
    return rng.choice([-1.0, 1.0], size=shape) * (gap + rng.random(shape) * 2.0)


def check_dx(layer, x, dout, numgrad, max_errors, label):
    out = layer.forward(x)
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    dx_num = numgrad.array(layer.forward, x, dout)
    floor = numgrad.noise_floor(out, dout)
    err = max_errors.record(f"{label} dx", numgrad.rel_error(dx, dx_num, floor))
    assert err <= SMOOTH_TOL, f"{label}: dx relative error {err:.2e}"
    return dx


def check_params(layer, x, dout, numgrad, max_errors, label):
    floor = numgrad.noise_floor(layer.forward(x), dout)
    layer.backward(dout)
    assert set(layer.grads) == set(layer.params)
    for name, p in layer.params.items():
        analytic = layer.grads[name].copy()
        assert analytic.shape == p.shape
        num = numgrad.array(lambda _p, x=x: layer.forward(x), p, dout)
        err = max_errors.record(f"{label} d{name}", numgrad.rel_error(analytic, num, floor))
        assert err <= SMOOTH_TOL, f"{label}: d{name} relative error {err:.2e}"


# -- Affine -------------------------------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=batch, in_shape=feature_shapes, m=dims)
def test_affine_gradients_with_nd_input_flattened(seed, n, in_shape, m, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    d = int(np.prod(in_shape))
    layer = Affine(rng.standard_normal((d, m)), rng.standard_normal(m))
    x = rng.standard_normal((n, *in_shape))
    out = layer.forward(x)
    assert out.shape == (n, m)
    np.testing.assert_allclose(out, x.reshape(n, -1) @ layer.params["W"] + layer.params["b"])
    assert layer.output_shape(in_shape) == (m,)
    dout = rng.standard_normal((n, m))
    check_dx(layer, x, dout, numgrad, max_errors, "Affine")
    check_params(layer, x, dout, numgrad, max_errors, "Affine")


def test_affine_rejects_a_wrong_input_size():
    layer = Affine(np.zeros((6, 2)), np.zeros(2), name="fc1")
    assert layer.output_shape((2, 3)) == (2,)
    with pytest.raises(ShapeError, match=r"fc1.*6 inputs.*5 values"):
        layer.output_shape((5,))
    with pytest.raises(ShapeError):
        Affine(np.zeros((3, 2)), np.zeros(3))


def test_affine_need_dx_false_still_fills_grads():
    rng = np.random.default_rng(0)
    layer = Affine(rng.standard_normal((3, 2)), rng.standard_normal(2))
    x = rng.standard_normal((4, 3))
    layer.forward(x)
    assert layer.backward(np.ones((4, 2)), need_dx=False) is None
    np.testing.assert_allclose(layer.grads["b"], [4.0, 4.0])
    np.testing.assert_allclose(layer.grads["W"], x.T @ np.ones((4, 2)))


# -- activations -------------------------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes)
def test_relu_gradient_away_from_the_kink(seed, n, shape, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, (n, *shape))
    layer = ReLU()
    out = layer.forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    np.testing.assert_array_equal(layer.cache["mask"], x <= 0)
    dx = check_dx(layer, x, rng.standard_normal(x.shape), numgrad, max_errors, "ReLU")
    assert np.all(dx[x < 0] == 0)


def test_relu_at_exactly_zero_passes_no_gradient():
    """The subgradient convention of the book's ``mask = (x <= 0)``: d/dx relu(0) = 0."""
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(layer.kink_signature(), [[True, True, False]])


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes, scale=st.sampled_from([1.0, 4.0]))
def test_sigmoid_gradient(seed, n, shape, scale, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, *shape))
    layer = Sigmoid()
    np.testing.assert_allclose(layer.forward(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    check_dx(layer, x, rng.standard_normal(x.shape), numgrad, max_errors, "Sigmoid")


def test_sigmoid_saturates_without_overflow():
    layer = Sigmoid()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = layer.forward(np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]]))
        dx = layer.backward(np.ones_like(y))
    assert y[0, 0] == 0.0 and y[0, -1] == 1.0 and y[0, 2] == 0.5
    assert np.all(np.isfinite(dx)) and dx[0, 2] == 0.25


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes, scale=st.sampled_from([1.0, 3.0]))
def test_tanh_gradient(seed, n, shape, scale, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, *shape))
    layer = Tanh()
    np.testing.assert_allclose(layer.forward(x), np.tanh(x))
    check_dx(layer, x, rng.standard_normal(x.shape), numgrad, max_errors, "Tanh")


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes)
def test_step_gradient_is_honestly_zero(seed, n, shape, numgrad):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, (n, *shape))
    layer = Step()
    out = layer.forward(x)
    np.testing.assert_array_equal(out, (x > 0).astype(float))
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)
    assert dx.shape == x.shape and not dx.any()
    # the numerical derivative agrees: a step function is flat away from 0
    assert not numgrad.array(layer.forward, x, dout).any()
    assert layer.params == {} and layer.grads == {}


def test_step_at_zero_does_not_fire():
    """The book's gates use ``y = 1 if x > 0``: exactly 0 stays 0."""
    layer = Step()
    np.testing.assert_array_equal(layer.forward(np.array([[-0.2, 0.0, 0.3]])), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(layer.kink_signature(), [[False, False, True]])


# -- Dropout -----------------------------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes, p=st.sampled_from([0.0, 0.2, 0.5, 0.8]))
def test_dropout_gradient_with_a_frozen_mask(seed, n, shape, p, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    layer = Dropout(p, np.random.default_rng(seed + 1))
    x = rng.standard_normal((n, *shape))
    y = layer.forward(x)
    if p == 0.0:
        np.testing.assert_array_equal(y, x)
    else:
        mask = layer.cache["mask"]
        assert mask.dtype == bool and mask.shape == x.shape
        np.testing.assert_allclose(y, np.where(mask, x / (1 - p), 0.0), rtol=1e-15)
    layer.frozen = True  # every evaluation below sees the same mask
    check_dx(layer, x, rng.standard_normal(x.shape), numgrad, max_errors, "Dropout (train)")


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes)
def test_dropout_in_eval_mode_is_the_identity(seed, n, shape, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    layer = Dropout(0.5, np.random.default_rng(seed))
    layer.training = False
    x = rng.standard_normal((n, *shape))
    np.testing.assert_array_equal(layer.forward(x), x)
    assert "mask" not in layer.cache
    dout = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(check_dx(layer, x, dout, numgrad, max_errors, "Dropout (eval)"),
                                  dout)


def test_dropout_draws_a_new_mask_unless_frozen():
    layer = Dropout(0.5, np.random.default_rng(0))
    x = np.ones((64, 64))
    layer.forward(x)
    first = layer.cache["mask"].copy()
    # inverted dropout keeps about 1 − p of the units and preserves the mean
    assert 0.45 < first.mean() < 0.55
    assert abs(layer.forward(x).mean() - 1.0) < 0.05
    assert not np.array_equal(layer.cache["mask"], first)
    layer.frozen = True
    second = layer.cache["mask"].copy()
    layer.forward(x)
    np.testing.assert_array_equal(layer.cache["mask"], second)
    with pytest.raises(ValueError):
        Dropout(1.0, np.random.default_rng(0))


# -- BatchNorm ---------------------------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=st.integers(3, 6), d=dims)
def test_batchnorm_gradients_in_training_mode(seed, n, d, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    layer = BatchNorm(d)
    layer.params["gamma"] = rng.standard_normal(d) + 1.0
    layer.params["beta"] = rng.standard_normal(d)
    x = 2.0 * rng.standard_normal((n, d)) + 0.5
    # BatchNorm sharpens into a step as a feature's batch spread σ → 0 (its third derivative
    # grows like 1/σ³, and so does the h² error of centered differences): stay at smooth points
    assume(x.std(axis=0).min() > 0.1)
    y = layer.forward(x)
    xn = (x - x.mean(0)) / np.sqrt(x.var(0) + layer.eps)
    np.testing.assert_allclose(y, layer.params["gamma"] * xn + layer.params["beta"],
                               rtol=1e-12, atol=1e-12)
    layer.frozen = True  # the running statistics stay put while we differentiate
    before = {k: v.copy() for k, v in layer.buffers.items()}
    dout = rng.standard_normal((n, d))
    check_dx(layer, x, dout, numgrad, max_errors, "BatchNorm (train)")
    check_params(layer, x, dout, numgrad, max_errors, "BatchNorm (train)")
    for k, v in before.items():
        np.testing.assert_array_equal(layer.buffers[k], v)


@EXAMPLES
@given(seed=seeds, n=batch, d=dims)
def test_batchnorm_gradients_in_eval_mode(seed, n, d, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    layer = BatchNorm(d)
    layer.params["gamma"] = rng.standard_normal(d) + 1.0
    layer.params["beta"] = rng.standard_normal(d)
    layer.buffers["running_mean"] = rng.standard_normal(d)
    layer.buffers["running_var"] = rng.random(d) + 0.5
    layer.training = False
    x = rng.standard_normal((n, d))
    y = layer.forward(x)
    std = np.sqrt(layer.buffers["running_var"] + layer.eps)
    np.testing.assert_allclose(
        y, layer.params["gamma"] * (x - layer.buffers["running_mean"]) / std + layer.params["beta"]
    )
    dout = rng.standard_normal((n, d))
    check_dx(layer, x, dout, numgrad, max_errors, "BatchNorm (eval)")
    check_params(layer, x, dout, numgrad, max_errors, "BatchNorm (eval)")


def test_batchnorm_of_two_samples_is_flat(numgrad):
    """With N = 2 every normalised feature is ±1 (up to ε) whatever x is, so dx is ~0: only
    ε-sized terms remain, and the check is on absolute error."""
    rng = np.random.default_rng(0)
    layer = BatchNorm(4)
    x = rng.standard_normal((2, 4)) + 1.0
    y = layer.forward(x)
    np.testing.assert_allclose(np.abs(y), 1.0, atol=1e-4)
    dout = rng.standard_normal((2, 4))
    layer.frozen = True
    dx = layer.backward(dout)
    assert np.abs(dx).max() < 1e-3
    np.testing.assert_allclose(dx, numgrad.array(layer.forward, x, dout), rtol=0, atol=1e-9)


def test_batchnorm_backward_follows_the_mode_its_forward_ran_in():
    """The debugger may toggle train/eval between the forward and the backward step; the
    gradient must still be that of the function the forward computed."""
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for fwd_mode in (True, False):
        ref = BatchNorm(3)
        ref.training = fwd_mode
        ref.forward(x)
        expected = ref.backward(dout)
        layer = BatchNorm(3)
        layer.training = fwd_mode
        layer.forward(x)
        layer.training = not fwd_mode
        np.testing.assert_array_equal(layer.backward(dout), expected)


def test_batchnorm_running_statistics():
    rng = np.random.default_rng(0)
    layer = BatchNorm(3, momentum=0.9)
    x = rng.standard_normal((8, 3)) * 2 + 1
    layer.forward(x)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.1 * x.mean(0))
    np.testing.assert_allclose(layer.buffers["running_var"], 0.9 + 0.1 * x.var(0))
    with pytest.raises(ShapeError, match="Flatten"):
        layer.output_shape((3, 2, 2))
    with pytest.raises(ShapeError, match="3 features"):
        layer.output_shape((4,))


# -- Flatten -----------------------------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=batch, shape=feature_shapes)
def test_flatten_round_trip(seed, n, shape, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    layer = Flatten()
    x = rng.standard_normal((n, *shape))
    y = layer.forward(x)
    assert y.shape == (n, int(np.prod(shape))) == (n, *layer.output_shape(shape))
    dout = rng.standard_normal(y.shape)
    dx = check_dx(layer, x, dout, numgrad, max_errors, "Flatten")
    np.testing.assert_array_equal(dx.reshape(n, -1), dout)


# -- the layer contract ------------------------------------------------------------------------


def _all_layers():
    rng = np.random.default_rng(0)
    return [
        Affine(rng.standard_normal((4, 3)), np.zeros(3)),
        ReLU(), Sigmoid(), Tanh(), Step(),
        Dropout(0.5, np.random.default_rng(0)),
        BatchNorm(4), Flatten(),
    ]


@pytest.mark.parametrize("layer", _all_layers(), ids=lambda layer: layer.kind)
def test_every_layer_exposes_the_contract(layer):
    """params/grads with the same keys, named cache tensors and the equations as text."""
    x = np.random.default_rng(1).standard_normal((5, 4))
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert dx.shape == x.shape
    assert set(layer.grads) == set(layer.params)
    assert all(isinstance(v, np.ndarray) for v in layer.cache.values())
    assert layer.forward_equations and layer.backward_equations
    assert all(isinstance(e, str) and e for e in layer.forward_equations + layer.backward_equations)
    assert layer.name == layer.kind.lower()
    assert layer.describe().startswith(layer.kind)
    expected_cache = {"ReLU": "mask", "Dropout": "mask", "Sigmoid": "y", "Tanh": "y",
                      "Affine": "x", "BatchNorm": "xn", "Step": "fired"}
    if layer.kind in expected_cache:
        assert expected_cache[layer.kind] in layer.cache
