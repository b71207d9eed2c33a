"""Loss layers: reference values from the book, stability at extreme logits, and gradient checks
of ``backward()`` against the numerical derivative of ``forward(x, t)`` over random shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_tui.engine import MeanSquaredError, ShapeError, SigmoidBCE, SoftmaxCrossEntropy

SMOOTH_TOL = 1e-7
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True)
seeds = st.integers(0, 2**32 - 1)
NO_OVERFLOW = {"over": "raise", "invalid": "raise", "divide": "raise"}


def softmax(x):
    loss = SoftmaxCrossEntropy()
    loss.forward(np.atleast_2d(x), np.zeros(np.atleast_2d(x).shape[0], dtype=np.int64))
    return loss.cache["y"]


def check_loss_gradient(loss, x, t, numgrad, max_errors, label):
    value = loss.forward(x, t)
    assert isinstance(value, float) and np.isfinite(value)
    dx = loss.backward()
    assert dx.shape == x.shape
    num = numgrad.array(lambda z: loss.forward(z, t), x)
    # the rounding noise of a finite difference of L is ~ε·|L|/h: scale the floor with |L|
    floor = 1e-3 * max(1.0, abs(value))
    err = max_errors.record(f"{label} dx", numgrad.rel_error(dx, num, floor=floor))
    assert err <= SMOOTH_TOL, f"{label}: dx relative error {err:.2e}"
    # backward(dout) scales the gradient, as a loss inside a larger graph would need
    loss.forward(x, t)
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * dx, rtol=1e-15)


# -- softmax cross-entropy ---------------------------------------------------------------------


def test_softmax_reference_value_from_the_book():
    """Deep Learning from Scratch, ch. 3: softmax([0.3, 2.9, 4.0])."""
    np.testing.assert_allclose(
        softmax([0.3, 2.9, 4.0])[0], [0.01821127, 0.24519181, 0.73659691], rtol=0, atol=5e-9
    )


def test_softmax_is_stable_for_huge_logits():
    """The book's naive softmax overflows on [1010, 1000, 990]; shifting by the max doesn't."""
    with np.errstate(**NO_OVERFLOW):
        y = softmax([1010.0, 1000.0, 990.0])[0]
    np.testing.assert_allclose(y, [9.99954600e-01, 4.53978686e-05, 2.06106005e-09], rtol=1e-8)
    assert y.sum() == pytest.approx(1.0, abs=1e-15)


# The book's ch. 4 example: the target is class 2; y is a probability vector.
BOOK_Y_RIGHT = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
BOOK_Y_WRONG = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]


@pytest.mark.parametrize(
    ("y", "book_value"), [(BOOK_Y_RIGHT, 0.510825457), (BOOK_Y_WRONG, 2.302584)]
)
@pytest.mark.parametrize("one_hot", [False, True])
def test_cross_entropy_examples_from_the_book(y, book_value, one_hot):
    """The book's ``cross_entropy_error`` computes ``−Σ t·log(y + δ)`` with ``δ = 1e-7``, which
    keeps ``log(0)`` finite when it is handed probabilities. The engine's loss takes *logits* and
    uses log-sum-exp, so it never forms ``log(0)`` and has no δ: it reproduces the exact
    ``−log y[t]`` (0.5108256237659907 and 2.302585092994046), which differs from the book's
    printed values by ``δ / y[t]`` (1.7e-7 and 1.0e-6).
    """
    y = np.array(y)
    with_delta = -math.log(y[2] + 1e-7)
    exact = -math.log(y[2])
    # the book's printed digits are the δ version …
    assert with_delta == pytest.approx(book_value, abs=1e-9 if book_value < 1 else 1e-6)
    assert abs(exact - with_delta) == pytest.approx(1e-7 / y[2], rel=1e-3)
    # … feed the same distribution as logits: log y, with −1000 (exp underflows to 0) for y = 0
    logits = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), -1000.0)[None, :]
    t = np.eye(10)[[2]] if one_hot else np.array([2])
    loss = SoftmaxCrossEntropy()
    with np.errstate(**NO_OVERFLOW):
        value = loss.forward(logits, t)
    exact_from_logits = exact + math.log(y.sum())  # y sums to 1 up to rounding
    assert value == pytest.approx(exact_from_logits, rel=1e-14)
    assert value != pytest.approx(with_delta, rel=1e-8)  # the engine adds no δ


@EXAMPLES
@given(seed=seeds, n=st.integers(1, 6), k=st.integers(2, 7), one_hot=st.booleans(),
       scale=st.sampled_from([1.0, 5.0]))
def test_softmax_cross_entropy_gradient(seed, n, k, one_hot, scale, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, k))
    labels = rng.integers(0, k, size=n)
    t = np.eye(k)[labels] if one_hot else labels
    loss = SoftmaxCrossEntropy()
    value = loss.forward(x, t)
    expected = -np.mean(np.log(np.exp(x[np.arange(n), labels]) / np.exp(x).sum(axis=1)))
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.cache["y"].sum(axis=1), 1.0, rtol=1e-15)
    check_loss_gradient(loss, x, t, numgrad, max_errors,
                        "SoftmaxCE " + ("one-hot" if one_hot else "labels"))
    # integer labels and their one-hot rows are the same loss with the same gradient
    other = SoftmaxCrossEntropy()
    assert other.forward(x, labels if one_hot else np.eye(k)[labels]) == pytest.approx(value)
    np.testing.assert_allclose(other.backward(), loss.backward(), rtol=1e-15)


def test_softmax_cross_entropy_with_soft_targets():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    t = rng.dirichlet(np.ones(3), size=4)
    loss = SoftmaxCrossEntropy()
    loss.forward(x, t)
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss.backward(), (y - t) / 4, rtol=1e-13)


def test_softmax_cross_entropy_huge_logits_stay_finite():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    loss = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(x, np.array([1, 2]))
        dx = loss.backward()
    assert value == pytest.approx((2000.0 + math.log(2)) / 2)
    np.testing.assert_allclose(dx, [[0.5, -0.5, 0.0], [0.0, 0.25, -0.25]], atol=1e-15)


def test_softmax_cross_entropy_needs_two_classes():
    with pytest.raises(ShapeError, match="at least 2 class scores"):
        SoftmaxCrossEntropy().check_output((1,))
    SoftmaxCrossEntropy().check_output((10,))


# -- sigmoid binary cross-entropy --------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=st.integers(1, 6), k=st.integers(1, 3), scale=st.sampled_from([1.0, 6.0]))
def test_sigmoid_bce_gradient(seed, n, k, scale, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, k))
    t = rng.integers(0, 2, size=(n, k)).astype(float)
    loss = SigmoidBCE()
    # −t·log σ(x) − (1−t)·log(1 − σ(x)), written with logaddexp so the reference stays exact
    # where 1 − σ(x) rounds (the naive form is off by 4e-9 at x ≈ 15)
    expected = np.sum(t * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x)) / n
    assert loss.forward(x, t) == pytest.approx(expected, rel=1e-10)
    check_loss_gradient(loss, x, t, numgrad, max_errors, "SigmoidBCE")


@given(x=st.floats(-1000.0, 1000.0), t=st.sampled_from([0.0, 1.0]))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_sigmoid_bce_extreme_logits_neither_overflow_nor_nan(x, t):
    loss = SigmoidBCE()
    with np.errstate(**NO_OVERFLOW):
        value = loss.forward(np.array([[x]]), np.array([[t]]))
        dx = loss.backward()
    # exact value: softplus(x) − x·t, i.e. max(x, 0) − x·t + log(1 + e^−|x|)
    assert value == pytest.approx(max(x, 0.0) - x * t + math.log1p(math.exp(-abs(x))), rel=1e-14)
    assert np.isfinite(dx).all() and -1.0 <= dx[0, 0] <= 1.0


def test_sigmoid_bce_at_plus_minus_1000():
    loss = SigmoidBCE()
    x = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    t = np.array([1.0, 0.0, 0.0, 1.0])  # flat targets are reshaped to the output
    with np.errstate(**NO_OVERFLOW):
        value = loss.forward(x, t)
        dx = loss.backward()
    assert value == pytest.approx(2000.0 / 4)  # two perfect answers, two losses of 1000
    np.testing.assert_array_equal(dx, [[0.0], [0.0], [0.25], [-0.25]])
    np.testing.assert_array_equal(loss.predict(x), [1, 0, 1, 0])


# -- mean squared error ------------------------------------------------------------------------


@EXAMPLES
@given(seed=seeds, n=st.integers(1, 6), k=st.integers(1, 4))
def test_mean_squared_error_has_the_half(seed, n, k, numgrad, max_errors):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, k))
    t = rng.standard_normal((n, k))
    loss = MeanSquaredError()
    assert loss.forward(x, t) == pytest.approx(0.5 * np.sum((x - t) ** 2) / n, rel=1e-14)
    check_loss_gradient(loss, x, t, numgrad, max_errors, "MSE")
    loss.forward(x, t)
    np.testing.assert_allclose(loss.backward(), (x - t) / n, rtol=1e-15)


def test_mean_squared_error_one_hot_encodes_integer_labels():
    loss = MeanSquaredError()
    x = np.array([[0.9, 0.1, 0.0], [0.2, 0.2, 0.6]])
    assert loss.forward(x, np.array([0, 2])) == pytest.approx(0.5 * (0.01 + 0.01 + 0.04 + 0.04
                                                                     + 0.16) / 2)
    np.testing.assert_array_equal(loss.labels(np.array([0, 2])), [0, 2])
    np.testing.assert_array_equal(loss.predict(x), [0, 2])
    # a single output column is thresholded at ½
    np.testing.assert_array_equal(loss.predict(np.array([[0.7], [0.2]])), [1, 0])


def test_labels_from_one_hot_and_integers():
    loss = SoftmaxCrossEntropy()
    np.testing.assert_array_equal(loss.labels(np.eye(3)[[2, 0, 1]]), [2, 0, 1])
    np.testing.assert_array_equal(loss.labels(np.array([2, 0, 1])), [2, 0, 1])
    np.testing.assert_array_equal(loss.labels(np.array([[1.0], [0.0]])), [1, 0])


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, SigmoidBCE, MeanSquaredError])
def test_loss_exposes_equations(loss_cls):
    loss = loss_cls()
    assert loss.forward_equations and loss.backward_equations
    assert "N" in " ".join(loss.forward_equations + loss.backward_equations)  # the batch mean


def test_softmax_cross_entropy_accepts_whole_float_labels():
    """Labels read as floats ([0., 2.]) mean the same classes as integers; fractions are refused."""
    from backprop_tui.engine.losses import SoftmaxCrossEntropy

    x = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    a, b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert a.forward(x, np.array([0.0, 2.0])) == b.forward(x, np.array([0, 2]))
    np.testing.assert_array_equal(a.backward(), b.backward())
    with pytest.raises(ValueError, match="whole numbers"):
        SoftmaxCrossEntropy().forward(x, np.array([0.5, 2.0]))
