"""Network health (engine/health.py): numbers against hand computations on small nets, the
tracker in training, the initial-loss check on the built-in scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop_tui as bt
from backprop_tui.engine.health import (
    HealthTracker,
    LossCheck,
    loss_check,
    measure,
    weights_of,
)
from backprop_tui.engine.layers import Affine, ReLU, Sigmoid, Tanh
from backprop_tui.engine.losses import SoftmaxCrossEntropy
from backprop_tui.engine.network import Network
from backprop_tui.engine.optim import SGD
from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer

X = np.array([[1.0, 0.0], [0.0, 1.0]])
T = np.array([0, 1])
# pre-activations: sample 0 → [1, −1, 2], sample 1 → [1, −1, −1]: unit 1 is ≤ 0 for both
W1 = np.array([[1.0, -1.0, 2.0], [1.0, -1.0, -1.0]])
W2 = np.array([[0.5, -0.5], [1.0, 1.0], [-1.0, 0.5]])


def small_net() -> Network:
    return Network([Affine(W1.copy(), np.zeros(3), name="affine1"), ReLU(name="relu1"),
                    Affine(W2.copy(), np.zeros(2), name="affine2")], SoftmaxCrossEntropy())


def hand_gradients():
    """The two-layer net's gradients, written out without the engine."""
    a = X @ W1
    h = np.maximum(a, 0)
    s = h @ W2
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ds = p.copy()
    ds[np.arange(2), T] -= 1
    ds /= 2
    dW2 = h.T @ ds
    dh = ds @ W2.T
    da = dh * (a > 0)
    dW1 = X.T @ da
    loss = -np.log(p[np.arange(2), T]).mean()
    return loss, dW1, dW2, dh, da @ W1.T, h


def stepped(net: Network, lr: float = 0.1):
    net.loss(X, T)
    net.backward()
    before = weights_of(net)
    SGD(lr).step(net)
    return before


def test_dead_units_found_by_index() -> None:
    net = small_net()
    net.loss(X, T)
    report = measure(net, iteration=0)
    relu = report.layers[1]
    assert relu.dead_units == (1,)
    assert relu.dead == pytest.approx(1 / 3)
    assert report.layers[0].dead_units is None  # not a ReLU: no column
    assert any("relu1: 1 of 3 units dead (unit 1" in w for w in report.warnings())


def test_norms_and_histogram_against_hand_computation() -> None:
    net = small_net()
    loss, dW1, dW2, dh, dx, h = hand_gradients()
    net.loss(X, T)
    net.backward()
    r = measure(net, iteration=0)
    a1, relu, a2 = r.layers
    assert a1.grad_norm == pytest.approx(np.linalg.norm(dW1), rel=1e-12)
    assert a2.grad_norm == pytest.approx(np.linalg.norm(dW2), rel=1e-12)
    assert a2.dx_norm == pytest.approx(np.linalg.norm(dh), rel=1e-12)  # towards relu1's output
    assert a1.dx_norm == pytest.approx(np.linalg.norm(dx), rel=1e-12)
    assert a1.weight_norm == pytest.approx(np.linalg.norm(W1), rel=1e-12)
    assert relu.grad_norm is None and relu.weight_norm is None
    assert a1.update_ratio is None  # no update yet
    # relu1's output h = [[1, 0, 2], [1, 0, 0]]: 6 entries over [0, 2]
    assert (relu.low, relu.high) == (0.0, 2.0)
    assert relu.counts == tuple(np.histogram(h, bins=10, range=(0, 2))[0])
    assert sum(relu.counts) == 6 and relu.counts[0] == 3
    assert all(x.nonfinite == 0 for x in r.layers)
    assert loss_check(net).loss == pytest.approx(loss, rel=1e-12)


def test_update_ratio_is_lr_dw_over_w_for_sgd() -> None:
    net = small_net()
    lr = 0.1
    _, dW1, dW2, *_ = hand_gradients()
    before = stepped(net, lr)
    r = measure(net, iteration=1, before=before)
    assert r.layers[0].update_ratio == pytest.approx(
        np.linalg.norm(lr * dW1) / np.linalg.norm(W1), rel=1e-12)
    assert r.layers[2].update_ratio == pytest.approx(
        np.linalg.norm(lr * dW2) / np.linalg.norm(W2), rel=1e-12)
    assert r.layers[1].update_ratio is None


@pytest.mark.parametrize(("layer", "x", "saturated"), [
    # sigmoid(±10) is 4.5e-5 / 0.99995: flat; sigmoid(0) = 0.5 is not
    (Sigmoid(), np.array([[10.0, 0.0, -10.0, 10.0], [-10.0, 0.0, -10.0, 0.1]]), 0.5),
    # tanh(3) = 0.995 > 0.99 is flat; tanh(2) = 0.964 is not
    (Tanh(), np.array([[3.0, 2.0, -3.0, 3.0], [-3.0, 3.0, -3.0, 0.0]]), 0.5),
])
def test_saturated_units(layer, x, saturated) -> None:
    net = Network([Affine(np.eye(4), np.zeros(4), name="a"), layer,
                   Affine(np.ones((4, 2)), np.zeros(2), name="b")], SoftmaxCrossEntropy())
    net.loss(x, np.array([0, 1]))
    h = measure(net, iteration=0).layers[1]
    assert h.saturated == saturated  # units 0 and 2 of 4: flat for both samples
    assert h.dead_units is None


def test_nonfinite_counted() -> None:
    net = small_net()
    net.layers[0].params["W"][0, 0] = np.nan
    with np.errstate(all="ignore"):
        net.loss(X, T)
    r = measure(net, iteration=0)
    assert r.layers[0].nonfinite == 1 + 2  # W[0, 0], and unit 0 of both outputs (0·NaN is NaN)
    assert any("NaN/Inf" in w for w in r.warnings())


def test_tracker_dead_means_dead_on_each_of_the_last_batches() -> None:
    net = small_net()
    tracker = HealthTracker(every=1, window=2)
    x_alive = np.array([[-1.0, 0.0], [0.0, 1.0]])  # unit 1's pre-activation: 1 on sample 0
    for it, x in enumerate([X, X, x_alive, X], start=1):
        tracker.begin(net, it)
        net.loss(x, T)
        net.backward()
        tracker.before_update(net, it)
        tracker.after_update(net, it)
        dead = tracker.latest.layers[1].dead_units
        assert dead == {1: (1,), 2: (1,), 3: (), 4: ()}[it], it
    assert tracker.latest.dead_window == 2


def test_initial_loss_check_recognises_the_books_loss() -> None:
    from tests.test_book_layers import book_net, data

    net = book_net()
    x, t = data()
    net.loss(x, t)
    check = loss_check(net)
    assert check is not None and check.classes == 2
    assert check.loss == pytest.approx(net.data_loss)


def test_loss_check_message() -> None:
    assert not LossCheck(2.35, 10).flagged
    high = LossCheck(2.082, 3)
    assert high.flagged and "weight scale too large" in high.message()
    assert "without L2" in high.message()
    assert LossCheck(0.01, 3).flagged and "too low" in LossCheck(0.01, 3).message()


def first_iteration(name: str) -> tuple[Trainer, HealthTracker]:
    trainer = Trainer(load_scenario(name))
    tracker = HealthTracker(every=1)
    trainer.health = tracker
    trainer.run(max_iterations=1)
    return trainer, tracker


@pytest.mark.parametrize(("name", "loss", "classes", "flagged"), [
    ("xor", 0.908, 2, False),
    ("iris", 2.082, 3, True),
    ("mnist-mlp", 2.345, 10, False),
])
def test_initial_loss_on_the_scenarios(name, loss, classes, flagged) -> None:
    _, tracker = first_iteration(name)
    check = tracker.latest.loss_check
    assert check.classes == classes
    assert check.expected == pytest.approx(math.log(classes))
    assert check.loss == pytest.approx(loss, abs=5e-4)
    assert check.flagged == flagged


def test_iris_initial_loss_is_the_issues_2125_with_l2() -> None:
    """The issue's 2.125 is the loss with the L2 term; the check compares the data loss."""
    sc = load_scenario("iris")
    net = sc.build_network(sc.train.seed, sc.train.dtype)
    x, t, *_ = sc.load_data(dtype=sc.train.dtype)
    xb, tb = bt.Batches(x, t, sc.train.batch_size, sc.rng(sc.train.seed, "shuffle")).next()
    assert net.loss(xb, tb) == pytest.approx(2.125, abs=5e-4)
    assert net.data_loss == pytest.approx(2.082, abs=5e-4)


def test_xor_dead_unit_of_relu1_at_iteration_0() -> None:
    _, tracker = first_iteration("xor")
    relu1 = next(h for h in tracker.latest.layers if h.name == "relu1")
    assert relu1.dead_units == (4,)


def test_health_leaves_training_bit_identical() -> None:
    """Sampled iterations run in full mode, the rest lean: the same numbers as no tracker."""
    plain = Trainer(load_scenario("mnist-mlp"))
    plain.run(max_iterations=7)
    watched = Trainer(load_scenario("mnist-mlp"))
    watched.health = HealthTracker(every=3)
    watched.run(max_iterations=7)
    for k, v in plain.net.state_dict().items():
        assert np.array_equal(v, watched.net.state_dict()[k]), k
    assert watched.health.latest.iteration == 6
    assert all(layer.lean is False for layer in watched.net.layers)  # lean only while running
