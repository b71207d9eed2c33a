"""cs231n's layers, sandwiches, losses and models as students write them, in with one call.

Function pairs go in with ``bt.from_functions`` (parameters named after the forward's own
arguments, param dicts passed as they are), losses with ``bt.from_functions(loss)``, models
(``params`` + ``loss(X, y) -> (loss, grads)``) with ``bt.gradcheck`` and the one-function style
with ``bt.gradcheck_function``. Fixtures: ``tests/own_code/cs231n_style.py``.
"""

# ruff: noqa: NPY002 - cs231n's code draws from numpy's global generator
from __future__ import annotations

import numpy as np
import pytest
from own_code import cs231n_style as C

import backprop_tui as bt
from backprop_tui.tui.session import DebugSession


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def flat(n: int = 8, d: int = 5, k: int = 3, seed: int = 0):
    r = rng(seed)
    return r.normal(size=(n, d)), r.integers(0, k, size=n)


def imgs(n: int = 2, seed: int = 0):
    r = rng(seed)
    return r.normal(size=(n, 1, 6, 6)), r.integers(0, 3, size=n)


def failed(report) -> set[str]:
    return {c.layer for c in report.checks if not c.passed} - {"network"}


def fc_net(relu_bwd=C.relu_backward, affine_bwd=C.affine_backward, loss=C.softmax_loss,
           middle=()):
    r = rng(1)
    w1, b1 = r.normal(size=(5, 6)), np.zeros(6)
    w2, b2 = r.normal(size=(6, 3)), np.zeros(3)
    return bt.Network([
        bt.from_functions(C.affine_forward, affine_bwd, w1, b1, name="fc1"),
        bt.from_functions(C.relu_forward, relu_bwd, name="relu1"),
        *middle,
        bt.from_functions(C.affine_forward, C.affine_backward, w2, b2, name="fc2"),
    ], bt.from_functions(loss))


def conv_net(fast: bool):
    r = rng(2)
    w, b = r.normal(size=(2, 1, 3, 3)), np.zeros(2)
    conv = (C.conv_forward_fast, C.conv_backward_fast) if fast else \
        (C.conv_forward_naive, C.conv_backward_naive)
    pool = (C.max_pool_forward_fast, C.max_pool_backward_fast) if fast else \
        (C.max_pool_forward_naive, C.max_pool_backward_naive)
    return bt.Network([
        bt.from_functions(*conv, w, b, {"stride": 1, "pad": 1}, name="conv"),
        bt.from_functions(C.relu_forward, C.relu_backward, name="relu"),
        bt.from_functions(*pool, {"pool_height": 2, "pool_width": 2, "stride": 2},
                          name="pool"),
        bt.from_functions(C.affine_forward, C.affine_backward, r.normal(size=(18, 3)),
                          np.zeros(3), name="fc"),
    ], bt.from_functions(C.softmax_loss))


# -- layers, correct: no false FAIL --------------------------------------------------------------
def correct_networks():
    yield "affine-relu-affine, softmax", fc_net(), flat()
    yield "svm loss", fc_net(loss=C.svm_loss), flat()
    r = rng(3)
    yield "affine_relu sandwich", bt.Network([
        bt.from_functions(C.affine_relu_forward, C.affine_relu_backward, r.normal(size=(5, 6)),
                          np.zeros(6), name="ar"),
        bt.from_functions(C.affine_forward, C.affine_backward, r.normal(size=(6, 3)),
                          np.zeros(3), name="fc"),
    ], bt.from_functions(C.softmax_loss)), flat()
    yield "batchnorm", fc_net(middle=[bt.from_functions(
        C.batchnorm_forward, C.batchnorm_backward, np.ones(6), np.zeros(6),
        {"mode": "train"}, name="bn")]), flat(16)
    yield "layernorm", fc_net(middle=[bt.from_functions(
        C.layernorm_forward, C.layernorm_backward, 1 + rng(4).normal(size=6) * 0.1,
        np.zeros(6), {}, name="ln")]), flat()
    yield "dropout with a seed", fc_net(middle=[bt.from_functions(
        C.dropout_forward, C.dropout_backward, {"mode": "train", "p": 0.6, "seed": 7},
        name="drop")]), flat()
    yield "dropout from the global generator", fc_net(middle=[bt.from_functions(
        C.dropout_forward, C.dropout_backward, {"mode": "train", "p": 0.6}, name="drop")]), \
        flat()
    yield "conv and max-pool, naive", conv_net(fast=False), imgs()
    yield "conv and max-pool, fast", conv_net(fast=True), imgs()
    r = rng(5)
    yield "conv_relu_pool sandwich", bt.Network([
        bt.from_functions(C.conv_relu_pool_forward, C.conv_relu_pool_backward,
                          r.normal(size=(2, 1, 3, 3)), np.zeros(2), {"stride": 1, "pad": 1},
                          {"pool_height": 2, "pool_width": 2, "stride": 2}, name="crp"),
        bt.from_functions(C.affine_forward, C.affine_backward, r.normal(size=(18, 3)),
                          np.zeros(3), name="fc"),
    ], bt.from_functions(C.softmax_loss)), imgs()


@pytest.mark.parametrize(("name", "net", "xt"), list(correct_networks()),
                         ids=[n for n, _, _ in correct_networks()])
def test_cs231n_layers_pass_the_default_audit(name, net, xt) -> None:
    x, t = xt
    report = bt.gradcheck(net, x, t)
    assert report.passed, str(report)
    assert all(c.checked > 0 for c in report.checks)


def test_parameters_are_named_after_the_forwards_arguments_and_shared() -> None:
    w, b = rng().normal(size=(5, 3)), np.zeros(3)
    layer = bt.from_functions(C.affine_forward, C.affine_backward, w, b)
    assert layer.kind == "affine" and list(layer.params) == ["w", "b"]
    assert layer.params["w"] is w  # the user's own array: an update reaches the function
    bn_param = {"mode": "train"}
    bn = bt.from_functions(C.batchnorm_forward, C.batchnorm_backward, np.ones(3),
                           np.zeros(3), bn_param)
    assert list(bn.params) == ["gamma", "beta"]
    bn.training = False
    bn.forward(rng().normal(size=(4, 3)))
    assert bn_param["mode"] == "test"  # the network's mode, as cs231n's models set it


# -- planted mistakes ------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "net", "layer"), [
    ("relu mask of the wrong sign", fc_net(relu_bwd=C.relu_backward_from_output), "relu1"),
    ("transposed dw", fc_net(affine_bwd=C.affine_backward_transposed), "fc1"),
    ("missing /N in the loss", fc_net(loss=C.softmax_loss_no_n), "loss"),
    ("dropout ignores its mask", fc_net(middle=[bt.from_functions(
        C.dropout_forward, C.dropout_backward_no_mask, {"mode": "train", "p": 0.6},
        name="drop")]), "drop"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_planted_mistake_fails_on_exactly_its_layer(name, net, layer) -> None:
    x, t = flat()
    report = bt.gradcheck(net, x, t)
    assert failed(report) == {layer}, str(report)


def test_a_backward_that_returns_the_wrong_number_of_gradients_is_named() -> None:
    def affine_backward_no_db(dout, cache):
        dx, dw, _ = C.affine_backward(dout, cache)
        return dx, dw

    net = fc_net(affine_bwd=affine_backward_no_db)
    x, t = flat()
    with pytest.raises(bt.LayerError) as e:
        bt.gradcheck(net, x, t)
    assert e.value.layer == "fc1" and e.value.phase == "backward"
    assert "returned 1 gradient(s) after dx, for 2 parameter(s) (w, b): it must return " \
           "(dx, dw, db)" in str(e.value)


def test_from_functions_refuses_what_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="takes functions"):
        bt.from_functions(np.zeros(3))
    with pytest.raises(TypeError, match="backward must be a function"):
        bt.from_functions(C.affine_forward, np.zeros(3))


# -- models: params + loss(X, y) -> (loss, grads) --------------------------------------------
def models():
    np.random.seed(0)
    yield "TwoLayerNet", C.TwoLayerNet(reg=0.3)
    np.random.seed(1)
    yield "FullyConnectedNet batchnorm+dropout(seed)", C.FullyConnectedNet(
        [6, 5], normalization="batchnorm", dropout_keep_ratio=0.7, seed=3, reg=0.1)
    np.random.seed(2)
    yield "FullyConnectedNet layernorm+dropout", C.FullyConnectedNet(
        [6], normalization="layernorm", dropout_keep_ratio=0.6, reg=0.05)
    np.random.seed(3)
    yield "ThreeLayerConvNet", C.ThreeLayerConvNet(reg=0.1)


@pytest.mark.parametrize(("name", "model"), list(models()), ids=[n for n, _ in models()])
def test_cs231n_models_pass_parameter_by_parameter(name, model) -> None:
    if isinstance(model, C.ThreeLayerConvNet):
        r = rng(4)
        x, t = r.normal(size=(3, 1, 8, 8)), r.integers(0, 3, size=3)
    else:
        x, t = flat(16)
    report = bt.gradcheck(model, x, t)
    assert report.passed, str(report)
    assert report.scope == "params"
    assert [c.tensor for c in report.checks] == list(model.params)


def test_a_missing_regularisation_gradient_names_the_weights() -> None:
    np.random.seed(0)
    model = C.TwoLayerNetNoRegGrad(reg=0.5)
    x, t = flat(16)
    report = bt.gradcheck(model, x, t)
    assert report.failed_layers == ["W1", "W2"]  # not b1, b2
    assert "gradient check FAILED (2 of 4 tensors) · parameter by parameter" in str(report)


def test_the_one_function_style() -> None:
    x, t = flat(16)
    r = rng(6)
    params = {"W": r.normal(size=(5, 3)), "b": np.zeros(3)}

    def loss_and_grads(params):
        scores = x @ params["W"] + params["b"]
        loss, dscores = C.softmax_loss(scores, t)
        return loss, {"W": x.T @ dscores, "b": dscores.sum(axis=0)}

    report = bt.gradcheck_function(loss_and_grads, params)
    assert report.passed, str(report)
    assert [c.layer for c in report.checks] == ["loss_and_grads"] * 2

    def forgets_the_bias(params):
        loss, grads = loss_and_grads(params)
        return loss, {"W": grads["W"]}

    report = bt.gradcheck_function(forgets_the_bias, params)
    (bad,) = [c for c in report.checks if not c.passed]
    assert bad.tensor == "b" and "gave no gradient for b" in bad.note


def test_a_model_is_refused_by_the_debugger_with_what_to_do() -> None:
    np.random.seed(0)
    x, t = flat()
    with pytest.raises(TypeError, match=r"bt.gradcheck\(model, X, y\) checks it"):
        DebugSession.for_network(C.TwoLayerNet(), x, t)


# -- the debugger on function pairs ------------------------------------------------------------
def test_the_debugger_steps_through_function_pairs_and_shows_their_caches() -> None:
    x, t = flat(8)
    s = DebugSession.for_network(fc_net(), x, t, batch_size=8)
    for _ in range(len(s.stepper.steps)):
        s.step()
    # the cache (x, w, b) holds the input's copy and the parameters: shown once, as x, w, b
    assert [item.key for item in s.tensors(0)] == ["x", "y", "w", "b", "dout", "dw", "db", "dx"]
    fc1 = s.stepper.record_for("backward", 0)
    fc2 = s.stepper.record_for("backward", 2)
    relu = s.stepper.record_for("backward", 1)
    assert np.count_nonzero(fc2.output) == fc2.output.size  # relu_backward wrote into a copy
    assert np.array_equal(relu.input, fc2.output)
    assert fc1.grads["w"].shape == (5, 6)


def test_a_dict_cache_shows_its_own_arrays_by_key_once() -> None:
    x, t = flat(16)
    net = fc_net(middle=[bt.from_functions(C.batchnorm_forward, C.batchnorm_backward,
                                           np.ones(6), np.zeros(6), {"mode": "train"},
                                           name="bn")])
    s = DebugSession.for_network(net, x, t, batch_size=16)
    for _ in range(3):
        s.step()
    keys = [item.key for item in s.tensors(2)]
    assert keys == ["x", "y", "x_hat", "std", "gamma", "beta", "dout", "dgamma", "dbeta", "dx"]
