"""The gradient check leaves what it touches as it found it, and never passes on nothing.

Found by a review: numpy's global generator moved on by a check broke exact step back for the
book's Dropout; a parameter perturbed when the user's code raised (or the check was cancelled)
stayed perturbed; a transposed parameter was perturbed through a copy (a false FAIL); a typo in
``layers=`` checked nothing and passed."""

# ruff: noqa: NPY002 - the book's Dropout draws from numpy's global generator
from __future__ import annotations

import numpy as np
import pytest
from own_code import book_style as B

import backprop_tui as bt
from backprop_tui.engine.numeric import GradcheckCancelled


def test_numpys_global_generator_is_as_it_was_after_a_check() -> None:
    rng = np.random.default_rng(0)
    net = bt.Network([bt.from_book(B.Dropout(0.5), "drop"),
                      bt.Affine(rng.normal(size=(4, 3)), np.zeros(3), name="fc")],
                     bt.SoftmaxCrossEntropy())
    x, t = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    np.random.seed(1)
    st = bt.Stepper(net, bt.SGD(0.1), bt.Batches(x, t, 6, seed=0))
    before = np.random.get_state()[1].copy(), np.random.get_state()[2]
    bt.gradcheck(st.net, *st.batch)
    after = np.random.get_state()
    assert np.array_equal(after[1], before[0]) and after[2] == before[1]
    first = st.step().output.copy()
    st.back()
    assert np.array_equal(st.step().output, first)  # step back stays exact


@pytest.mark.parametrize("how", ["raises", "cancelled"])
def test_a_parameter_is_put_back_when_the_check_stops_midway(how) -> None:
    W0 = np.arange(6, dtype=np.float64).reshape(2, 3) / 10
    calls = {"n": 0}

    def f(params):
        calls["n"] += 1
        if how == "raises" and calls["n"] == 4:
            raise ValueError("boom")
        return 0.5 * np.sum(params["W"] ** 2), {"W": params["W"].copy()}

    params = {"W": W0.copy()}
    stop = {"n": 0}

    def cancelled() -> bool:
        stop["n"] += 1
        return how == "cancelled" and stop["n"] == 2

    with pytest.raises(bt.LayerError if how == "raises" else GradcheckCancelled):
        bt.gradcheck_function(f, params, cancelled=cancelled)
    assert np.array_equal(params["W"], W0)


def test_a_transposed_parameter_is_really_perturbed() -> None:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4)).T  # Fortran order: reshape(-1) would be a copy
    net = bt.Network([bt.Affine(W, np.zeros(3), name="fc")], bt.SoftmaxCrossEntropy())
    report = bt.gradcheck(net, rng.normal(size=(5, 4)), rng.integers(0, 3, 5))
    assert report.passed, str(report)


def test_a_check_of_nothing_does_not_pass() -> None:
    rng = np.random.default_rng(0)
    net = bt.Network([bt.Affine(rng.normal(size=(4, 3)), np.zeros(3), name="affine1")],
                     bt.SoftmaxCrossEntropy())
    x, t = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    with pytest.raises(ValueError, match="no layer 'afine1' in this network; its layers are "
                                         "affine1, loss"):
        bt.gradcheck(net, x, t, layers=["afine1"])
    with pytest.raises(ValueError, match="no parameter 'w'; the parameters are W"):
        bt.gradcheck_function(lambda p: (np.sum(p["W"] ** 2), {"W": 2 * p["W"]}),
                              {"W": np.ones(3)}, layers=["w"])
    from backprop_tui.engine.checks import GradcheckReport
    assert not GradcheckReport([], "auto", 1e-5, 1e-6, 1e-9, 0.0, 0).passed


def test_a_float32_book_networks_own_gradient_is_compared_too() -> None:
    class Doubled(B.TwoLayerNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            grads["W1"] = 2 * grads["W1"]
            return grads

    np.random.seed(0)
    book = Doubled(4, 6, 3, weight_init_std=0.5)
    for key in book.params:
        book.params[key] = book.params[key].astype(np.float32)
    for name, (w, b) in (("Affine1", ("W1", "b1")), ("Affine2", ("W2", "b2"))):
        book.layers[name].W, book.layers[name].b = book.params[w], book.params[b]
    rng = np.random.default_rng(1)
    report = bt.gradcheck(book, rng.normal(size=(8, 4)), rng.integers(0, 3, 8))
    assert [c.tensor for c in report.checks if not c.passed] == ["W1"]
    assert book.params["W1"].dtype == np.float32  # the student's own object untouched
