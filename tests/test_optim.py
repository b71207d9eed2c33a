"""Optimizers (the book's ch. 6): one and two steps against hand-computed values, state round
trips that reproduce the next step bit for bit, and non-trainable layers left alone.

The hand computations use one Affine layer with ``W = [[1, −2]]``, ``b = [0.5, 0]``, the constant
gradients ``dW = [[0.5, −0.25]]``, ``db = [0.1, 0]`` and ``lr = 0.1``.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_tui.engine import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Affine,
    Momentum,
    Network,
    ReLU,
    SoftmaxCrossEntropy,
)

DW = np.array([[0.5, -0.25]])
DB = np.array([0.1, 0.0])


def one_layer(dtype="float64") -> Network:
    layer = Affine(np.array([[1.0, -2.0]]), np.array([0.5, 0.0]), "fc")
    net = Network([layer], SoftmaxCrossEntropy(), dtype=dtype)
    layer.grads = {"W": DW.astype(dtype), "b": DB.astype(dtype)}
    return net


def run(opt, steps: int, dtype="float64") -> Network:
    net = one_layer(dtype)
    for _ in range(steps):
        opt.step(net)
    assert opt.t == steps
    return net


def params(net: Network) -> tuple[np.ndarray, np.ndarray]:
    return net.layers[0].params["W"], net.layers[0].params["b"]


def test_sgd_one_step():
    # W − 0.1·dW = [[1 − 0.05, −2 + 0.025]],  b − 0.1·db = [0.5 − 0.01, 0]
    W, b = params(run(SGD(0.1), 1))
    np.testing.assert_allclose(W, [[0.95, -1.975]], rtol=1e-15)
    np.testing.assert_allclose(b, [0.49, 0.0], rtol=1e-15)


def test_momentum_two_steps():
    # step 1: v = −0.1·dW = [[−0.05, 0.025]]                    → W = [[0.95, −1.975]]
    # step 2: v = 0.9·v − 0.1·dW = [[−0.095, 0.0475]]           → W = [[0.855, −1.9275]]
    opt = Momentum(0.1, momentum=0.9)
    W, _ = params(run(opt, 1))
    np.testing.assert_allclose(W, [[0.95, -1.975]], rtol=1e-15)
    W, b = params(run(Momentum(0.1, momentum=0.9), 2))
    np.testing.assert_allclose(W, [[0.855, -1.9275]], rtol=1e-14)
    np.testing.assert_allclose(b, [0.5 - 0.01 - 0.019, 0.0], rtol=1e-14)


def test_adagrad_two_steps():
    # step 1: h = dW² = [[0.25, 0.0625]]; W −= 0.1·dW / (√h + 1e-7)
    #         = 1 − 0.05/0.5000001 = 0.90000002…,  −2 + 0.025/0.2500001 = −1.90000004…
    # step 2: h = 2·dW²; the step shrinks to 0.1/√2 = 0.0707107…
    W, _ = params(run(AdaGrad(0.1), 1))
    np.testing.assert_allclose(W, [[0.900000019999996, -1.900000039999984]], rtol=1e-14)
    W, b = params(run(AdaGrad(0.1), 2))
    np.testing.assert_allclose(W, [[0.8292893518813398, -1.8292893818813234]], rtol=1e-14)
    # a zero gradient leaves the entry alone (0 / (0 + 1e-7) = 0)
    assert b[1] == 0.0


def test_adam_two_steps():
    # step 1: m = 0.1·dW, v = 0.001·dW², lr₁ = 0.1·√0.001/0.1 = √0.001
    #         step = lr₁·m/(√v + 1e-8) = 0.1·(1 − 1e-8/√v): Adam's first step is ≈ lr per entry
    #         → W = [[0.9000000632…, −1.9000001264…]]
    # step 2: constant gradient: m̂/√v̂ = sign(dW) again → another ≈ 0.1
    W, _ = params(run(Adam(0.1), 1))
    np.testing.assert_allclose(W, [[0.9000000632455132, -1.9000001264909463]], rtol=1e-14)
    W, b = params(run(Adam(0.1), 2))
    np.testing.assert_allclose(W, [[0.8000001079780379, -1.8000002159559552]], rtol=1e-14)
    assert b[1] == 0.0


def test_registry_names():
    assert OPTIMIZERS == {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "adam": Adam}


def _small_net(seed: int) -> Network:
    rng = np.random.default_rng(seed)
    return Network(
        [Affine(rng.standard_normal((3, 4)), rng.standard_normal(4), "fc1"), ReLU("relu"),
         Affine(rng.standard_normal((4, 2)), rng.standard_normal(2), "fc2")],
        SoftmaxCrossEntropy(), l2=1e-2)


def _train_step(net: Network, opt, data: np.random.Generator) -> None:
    net.loss(data.standard_normal((5, 3)), data.integers(0, 2, size=5))
    net.backward(need_input_grad=False)
    opt.step(net)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_reproduces_the_next_step_bit_for_bit(name):
    make = {"sgd": lambda: SGD(0.1), "momentum": lambda: Momentum(0.1, 0.8),
            "adagrad": lambda: AdaGrad(0.1), "adam": lambda: Adam(0.01, 0.8, 0.9)}[name]
    net = _small_net(0)
    data = np.random.default_rng(1)
    opt = make()
    for _ in range(3):
        _train_step(net, opt, data)
    opt_state, net_state = opt.state_dict(), net.state_dict()
    assert int(opt_state["__t__"]) == 3
    assert len(opt_state) == 1 + {"sgd": 0, "momentum": 4, "adagrad": 4, "adam": 8}[name]
    for v in opt.state_dict().values():  # copies: changing them leaves the optimizer alone
        v += 1
    for k, v in opt.state_dict().items():
        np.testing.assert_array_equal(v, opt_state[k])
    batch_seed = 42
    _train_step(net, opt, np.random.default_rng(batch_seed))  # the original takes step 4

    restored = _small_net(5)  # different initial values, overwritten by the state
    restored.load_state_dict(net_state)
    opt2 = make()
    opt2.load_state_dict(opt_state)
    assert opt2.t == 3
    _train_step(restored, opt2, np.random.default_rng(batch_seed))
    for key, v in net.state_dict().items():
        assert v.tobytes() == restored.state_dict()[key].tobytes(), key
    assert opt2.t == opt.t == 4
    for key, v in opt.state_dict().items():
        assert v.tobytes() == opt2.state_dict()[key].tobytes(), key


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_non_trainable_layers_are_untouched(name):
    net = _small_net(0)
    net.layers[0].trainable = False
    before = {k: v.copy() for k, v in net.state_dict().items()}
    opt = OPTIMIZERS[name](0.1)
    _train_step(net, opt, np.random.default_rng(1))
    assert net.layers[0].grads  # it has gradients, and still nothing moves
    after = net.state_dict()
    for k in ("fc1.W", "fc1.b"):
        np.testing.assert_array_equal(after[k], before[k])
    assert not np.array_equal(after["fc2.W"], before["fc2.W"])
    assert not any("fc1." in k for k in opt.state)  # and no optimizer state for it


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_parameters_and_state_stay_float32(name):
    opt = OPTIMIZERS[name](0.1)
    net = run(opt, 2, dtype="float32")
    for v in (*params(net), *opt.state.values()):
        assert v.dtype == np.float32


def test_describe():
    assert Momentum(0.1, 0.9).describe() == "momentum lr=0.1 μ=0.9"
    assert SGD(0.01).describe() == "sgd lr=0.01"
    assert all(cls.equations for cls in OPTIMIZERS.values())
