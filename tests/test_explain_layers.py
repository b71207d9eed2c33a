"""bt.explain on ReLU, Step, Sigmoid, Tanh, Dropout, BatchNorm and Flatten: for random shapes and
batch sizes, every entry of every tensor the layer computes — its output, what it caches, each
gradient — has terms that sum to it and exactly the inputs that feed it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_explain import EXAMPLES, assert_sums, check_all, one_layer_net

import backprop_tui as bt
from backprop_tui.engine.explain import Entry, explain

shapes = st.tuples(st.integers(1, 4), st.integers(1, 4))


def _net(layer: bt.Layer, seed: int, shape: tuple[int, ...]) -> bt.Network:
    x = np.random.default_rng(seed).normal(size=shape)
    return one_layer_net(layer, x, int(np.prod(layer.output_shape(shape[1:]))), seed)


@EXAMPLES
@given(seed=st.integers(0, 10**6), shape=shapes)
def test_relu(seed, shape):
    net = _net(bt.ReLU(name="relu"), seed, shape)
    for tensor in ("y", "mask", "dx"):
        check_all(net, "relu", tensor)


@EXAMPLES
@given(seed=st.integers(0, 10**6), shape=shapes)
def test_step(seed, shape):
    net = _net(bt.engine.Step(name="step"), seed, shape)
    for tensor in ("y", "fired", "dx"):
        check_all(net, "step", tensor)


@EXAMPLES
@given(seed=st.integers(0, 10**6), shape=shapes, kind=st.sampled_from([bt.Sigmoid, bt.Tanh]))
def test_sigmoid_and_tanh(seed, shape, kind):
    net = _net(kind(name="act"), seed, shape)
    for tensor in ("y", "dx"):
        check_all(net, "act", tensor)


@EXAMPLES
@given(seed=st.integers(0, 10**6), shape=shapes, p=st.sampled_from([0.0, 0.3, 0.5]))
def test_dropout(seed, shape, p):
    layer = bt.Dropout(p, np.random.default_rng(seed), name="drop")
    net = _net(layer, seed, shape)
    for tensor in ("y", "dx") + (("mask",) if p else ()):
        check_all(net, "drop", tensor)


@EXAMPLES
@given(seed=st.integers(0, 10**6), shape=shapes)
def test_batchnorm(seed, shape):
    rng = np.random.default_rng(seed)
    layer = bt.BatchNorm(shape[1], name="bn")
    layer.params["gamma"][...] = rng.normal(size=shape[1])
    layer.params["beta"][...] = rng.normal(size=shape[1])
    net = _net(layer, seed, shape)
    for tensor in ("y", "xc", "xn", "std", "dgamma", "dbeta", "dx"):
        check_all(net, "bn", tensor)


@pytest.mark.filterwarnings("ignore:invalid value")  # a running_var perturbed below 0
def test_batchnorm_evaluating_uses_the_running_statistics():
    rng = np.random.default_rng(5)
    layer = bt.BatchNorm(3, name="bn")
    layer.buffers["running_mean"][...] = rng.normal(size=3)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, size=3)
    layer.params["gamma"][...] = rng.normal(size=3)
    net = bt.Network([layer], bt.MeanSquaredError())
    net.loss(rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), train=False)
    net.backward()
    for tensor in ("y", "std", "dx"):
        check_all(net, "bn", tensor)
    assert "running statistics" in explain(net, "bn", "y", (1, 2)).notes[0]


@EXAMPLES
@given(seed=st.integers(0, 10**6), n=st.integers(1, 3),
       image=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))
def test_flatten(seed, n, image):
    net = _net(bt.Flatten(name="flat"), seed, (n, *image))
    for tensor in ("y", "dx"):
        check_all(net, "flat", tensor)


def test_relu_names_the_mask_that_decides():
    x = np.array([[1.5, -2.0]])
    net = one_layer_net(bt.ReLU(name="relu"), x, 2, 0)
    blocked = explain(net, "relu", "dx", (0, 1))
    assert blocked.value == 0 and blocked.inputs == [Entry("relu", "mask", (0, 1))]
    assert "x ≤ 0 → blocked" in blocked.notes[0]
    passed = explain(net, "relu", "dx", (0, 0))
    assert passed.inputs == [Entry("relu", "mask", (0, 0)), Entry("relu", "dout", (0, 0))]
    assert passed.value == net.dout[0, 0]


def test_sigmoid_dx_uses_y_and_shows_its_numbers():
    net = one_layer_net(bt.Sigmoid(name="sig"), np.array([[0.5]]), 1, 0)
    e = explain(net, "sig", "dx", (0, 0))
    y = 1 / (1 + np.exp(-0.5))
    assert e.formula.startswith("dx = dout · y · (1 − y)")
    assert f"{y:.4g}" in e.substituted
    assert e.inputs == [Entry("sig", "dout", (0, 0)), Entry("sig", "y", (0, 0))]


def test_dropout_scale_is_the_codes_1_over_1_minus_p():
    layer = bt.Dropout(0.25, np.random.default_rng(0), name="drop")
    net = one_layer_net(layer, np.ones((1, 8)), 8, 0)
    kept = int(np.argmax(layer.cache["mask"]))
    e = explain(net, "drop", "y", (0, kept))
    assert e.value == pytest.approx(1 / 0.75) and "1/(1 − p) = 1.33333" in e.notes[0]


def test_batchnorm_dx_terms_are_the_codes_backward_term_by_term():
    layer = bt.BatchNorm(2, name="bn")
    net = _net(layer, 1, (5, 2))
    e = explain(net, "bn", "dx", (3, 1))
    dxn = layer.params["gamma"] * net.dout
    xn, std = layer.cache["xn"], layer.cache["std"]
    assert [v for _, v in e.terms] == [dxn[3, 1] / std[1], -dxn.mean(axis=0)[1] / std[1],
                                       -xn[3, 1] * (dxn * xn).mean(axis=0)[1] / std[1]]
    assert_sums(e)
