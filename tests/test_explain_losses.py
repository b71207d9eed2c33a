"""bt.explain on the losses and the L2 term: softmax, each sample's loss term, dscores (integer
and one-hot targets), sigmoid-BCE, the seeds' squared loss with its ½ — for random batch sizes
and class counts, the terms sum to the entry and the inputs are exactly those that feed it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_explain import EXAMPLES, assert_sums, check_all

import backprop_tui as bt
from backprop_tui.engine.explain import Entry, ExplainError, explain


def _net(loss: bt.engine.Loss, seed: int, n: int, k: int, t: np.ndarray, l2: float = 0.0
         ) -> bt.Network:
    """One Affine layer into ``loss``; forward and backward have run."""
    rng = np.random.default_rng(seed)
    layer = bt.Affine(rng.normal(size=(3, k)), rng.normal(size=k), name="affine1")
    net = bt.Network([layer], loss, l2=l2)
    net.loss(rng.normal(size=(n, 3)) * 2, t)
    net.backward()
    return net


def _check_loss(net: bt.Network, name: str, tensors: tuple[str, ...]) -> None:
    for tensor in tensors:
        check_all(net, name, tensor)
    n = net.inputs[0].shape[0]
    whole = explain(net, "loss", "loss", ())
    samples = [explain(net, "loss", "loss", (i,)) for i in range(n)]
    for e in samples:
        assert_sums(e)
    assert math.fsum(e.value for e in samples) / n == pytest.approx(net.data_loss, rel=1e-12)
    assert whole.value == net.data_loss + net.l2_loss


@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 4), k=st.integers(2, 4))
def test_softmax_cross_entropy_with_labels(seed, n, k):
    t = np.random.default_rng(seed + 7).integers(0, k, size=n)
    net = _net(bt.SoftmaxCrossEntropy(), seed, n, k, t)
    _check_loss(net, "softmaxcrossentropy", ("y", "dscores", "loss"))
    e = explain(net, "loss", "scores", (0, 1))
    assert e.inputs == [Entry("affine1", "y", (0, 1))] and e.value == net.output[0, 1]
    e = explain(net, "loss", "t", (n - 1,))
    assert e.inputs == [] and e.value == t[n - 1]


@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 3), k=st.integers(2, 4),
       soft=st.booleans())
def test_softmax_cross_entropy_with_one_hot_or_soft_targets(seed, n, k, soft):
    rng = np.random.default_rng(seed + 7)
    t = rng.dirichlet(np.ones(k), size=n) if soft else np.eye(k)[rng.integers(0, k, size=n)]
    net = _net(bt.SoftmaxCrossEntropy(), seed, n, k, t)
    _check_loss(net, "softmaxcrossentropy", ("y", "dscores", "loss"))


@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 3), k=st.integers(1, 3))
def test_sigmoid_bce(seed, n, k):
    t = np.random.default_rng(seed + 7).uniform(size=(n, k)).round(1)
    net = _net(bt.SigmoidBCE(), seed, n, k, t)
    _check_loss(net, "sigmoidbce", ("y", "dscores", "loss"))


@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 3), k=st.integers(1, 3),
       as_labels=st.booleans())
def test_mean_squared_error(seed, n, k, as_labels):
    rng = np.random.default_rng(seed + 7)
    t = rng.integers(0, k, size=n) if as_labels and k > 1 else rng.normal(size=(n, k))
    net = _net(bt.MeanSquaredError(), seed, n, k, t)
    _check_loss(net, "meansquarederror", ("diff", "dscores", "loss"))


def test_mse_dscores_shows_that_the_half_cancels_the_square():
    net = _net(bt.MeanSquaredError(), 0, 2, 2, np.zeros((2, 2)))
    e = explain(net, "loss", "dscores", (1, 0))
    assert "½" in e.formula and e.value == net.loss_layer.cache["diff"][1, 0] / 2
    assert e.inputs == [Entry("meansquarederror", "diff", (1, 0))]


def test_dscores_is_y_minus_the_one_hot_over_n():
    """The issue's own example: dscores[0,0] = (y[0,0] − [0 = t₀]) / N."""
    net = _net(bt.SoftmaxCrossEntropy(), 3, 4, 3, np.array([0, 2, 1, 0]))
    y = net.loss_layer.cache["y"]
    e = explain(net, "softmaxcrossentropy", "dscores", (0, 0))
    assert [v for _, v in e.terms] == [y[0, 0] / 4, -1 / 4]
    assert e.substituted.startswith(f"dscores[0,0] = ({y[0, 0]:.4g} − 1) / 4")
    other = explain(net, "loss", "dscores", (0, 1))
    assert [v for _, v in other.terms] == [y[0, 1] / 4]
    assert other.inputs == [Entry("softmaxcrossentropy", "y", (0, 1)),
                            Entry("softmaxcrossentropy", "t", (0,))]


def test_l2_term_of_the_loss_names_every_weight_it_sums():
    net = _net(bt.SoftmaxCrossEntropy(), 1, 3, 2, np.array([0, 1, 1]), l2=0.1)
    W = net.layers[0].params["W"]
    e = explain(net, "loss", "l2", ())
    assert e.value == net.l2_loss and e.terms[0][1] == pytest.approx(0.05 * (W * W).sum())
    assert e.inputs == [Entry("affine1", "W", i) for i in np.ndindex(W.shape)]
    whole = explain(net, "loss", "loss", ())
    assert_sums(whole)
    assert set(e.inputs) <= set(whole.inputs)
    assert "λ·W[i,j]" in explain(net, "affine1", "dW", (0, 1)).formula


def test_loss_index_is_the_whole_loss_or_one_sample():
    net = _net(bt.SoftmaxCrossEntropy(), 1, 3, 2, np.array([0, 1, 1]))
    with pytest.raises(ExplainError, match=r"index \(\) for the whole loss or \(n,\)"):
        explain(net, "loss", "loss", (0, 1))
    with pytest.raises(ExplainError, match="outside 0…2"):
        explain(net, "loss", "loss", (3,))
