"""Layers written the book's way (attributes W, b, dW, db; forward(x), backward(dout)), wrapped
by ``bt.from_book`` and used as they are: gradient-checked, stepped, trained.

The classes below are written here in the book's style (they are the kind of code a student
types while reading *Deep Learning from Scratch*), not taken from anywhere."""

from __future__ import annotations

import numpy as np
import pytest
from own_code.book_style import Convolution, Pooling  # the book's, shared with the own-code tests

import backprop_tui as bt
from backprop_tui.engine.book import BookLayer, BookLoss
from backprop_tui.tui.session import DebugSession


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout = dout.copy()
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = None
        self.dW, self.db = None, None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


class AffineTransposed(Affine):
    """A classic slip: dW computed as (dout.T · x) — the transpose — then reshaped to fit."""

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(dout.T, self.x).reshape(self.W.shape)
        self.db = np.sum(dout, axis=0)
        return dx


class Dropout:
    def __init__(self, dropout_ratio=0.5):
        self.dropout_ratio = dropout_ratio
        self.mask = None

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio  # noqa: NPY002 - as in the book
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout):
        return dout * self.mask


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = self.y = self.t = None

    def forward(self, x, t):
        self.t = t
        z = x - x.max(axis=1, keepdims=True)
        self.y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        n = x.shape[0]
        self.loss = -np.sum(np.log(self.y[np.arange(n), t] + 1e-7)) / n
        return self.loss

    def backward(self, dout=1):
        n = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / n


def data(n: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)


def book_net(affine=Affine, seed: int = 0, dropout: float | None = None) -> bt.Network:
    rng = np.random.default_rng(seed)
    layers = [bt.from_book(affine(rng.normal(size=(4, 6)) * 0.5, np.zeros(6)), "Affine1"),
              bt.from_book(Relu(), "Relu1")]
    if dropout is not None:
        layers.append(bt.from_book(Dropout(dropout), "Dropout1"))
    layers.append(bt.from_book(Affine(rng.normal(size=(6, 2)) * 0.5, np.zeros(2)), "Affine2"))
    return bt.Network(layers, bt.from_book(SoftmaxWithLoss()))


def test_from_book_wraps_layers_and_the_loss() -> None:
    net = book_net()
    a1 = net.layers[0]
    assert isinstance(a1, BookLayer) and isinstance(net.loss_layer, BookLoss)
    assert a1.kind == "Affine" and a1.name == "Affine1"
    assert a1.params["W"] is a1.obj.W and a1.params["b"] is a1.obj.b  # the object's own arrays
    assert a1.describe() == "Affine 4→6"
    assert net.layers[1].params == {}
    with pytest.raises(TypeError, match=r"object has no forward\(\) method"):
        bt.from_book(object())


def test_gradients_of_the_book_layers_check_out_and_the_slip_is_found() -> None:
    x, t = data(16)
    assert bt.gradcheck(book_net(), x, t).passed
    report = bt.gradcheck(book_net(AffineTransposed), x, t)
    assert {(c.layer, c.tensor) for c in report.checks if not c.passed} == {
        ("Affine1", "W"), ("network", "all parameters")}


def test_the_same_numbers_as_the_engines_own_layers() -> None:
    """Wrapped book layers and the engine's Affine/ReLU/softmax give the same loss and
    gradients for the same weights."""
    x, t = data(16)
    book = book_net()
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(size=(4, 6)) * 0.5, rng.normal(size=(6, 2)) * 0.5
    mine = bt.Network([bt.Affine(W1, np.zeros(6), name="a1"), bt.ReLU(),
                       bt.Affine(W2, np.zeros(2), name="a2")], bt.SoftmaxCrossEntropy())
    assert book.loss(x, t) == pytest.approx(mine.loss(x, t), rel=1e-6)  # the book's +1e-7
    book.backward()
    mine.backward()
    np.testing.assert_allclose(book.layers[0].grads["W"], mine.layers[0].grads["W"], rtol=1e-9)
    np.testing.assert_allclose(book.layers[2].grads["b"], mine.layers[2].grads["b"], rtol=1e-9)


def test_stepping_shows_the_objects_own_cache_and_updates_its_weights() -> None:
    x, t = data(64)
    net = book_net(dropout=0.0)
    obj = net.layers[0].obj
    W0 = obj.W.copy()
    s = DebugSession.for_network(net, x, t, batch_size=16)
    assert s.net.shapes == [(6,), (6,), (6,), (2,)]
    rec = s.step()  # forward Affine1
    assert set(rec.cache) == {"x"} and rec.cache["x"].shape == (16, 4)
    rec = s.step()  # forward Relu1
    assert set(rec.cache) == {"mask"} and rec.cache["mask"].dtype == bool
    s.stepper.update()
    assert not np.array_equal(obj.W, W0)  # the book object's W is what was trained
    assert s.net.layers[0].params["W"] is obj.W
    first = s.stepper.loss_history[0].loss
    s.stepper.train(200)
    assert s.stepper.loss_history[-1].loss < first


def test_dropout_gets_the_networks_mode() -> None:
    x, _ = data(8)
    drop = bt.from_book(Dropout(0.5), "drop")
    drop.training = False
    np.testing.assert_allclose(drop.forward(x), x * 0.5)
    drop.training = True
    np.random.seed(0)  # noqa: NPY002 - the book's Dropout draws from the global generator
    y = drop.forward(x)
    mask = drop.cache["mask"]
    assert mask.dtype == bool and 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(y, x * mask)  # train mode: the mask applied, no scaling


def test_the_debugger_on_book_layers() -> None:
    import asyncio

    from backprop_tui.tui.app import BackpropApp
    from backprop_tui.tui.widgets.gradcheck import GradcheckPane
    from backprop_tui.tui.widgets.tensor import TensorPane

    x, t = data(64)
    session = DebugSession.for_network(book_net(AffineTransposed), x, t, batch_size=8)
    app = BackpropApp("debug", session=session)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            for key in ("b", "g"):
                await pilot.press(key)
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
            pane = app.screen.query_one(GradcheckPane)
            assert pane.result is not None and pane.result.job.row_name == "Affine1"
            assert {c.tensor: c.verdict for c in pane.result.report.checks} == {
                "W": "FAIL", "b": "pass", "x": "pass"}
            keys = [it.key for it in app.screen.query_one(TensorPane).items]
            assert {"x", "y", "W", "b", "dW", "db", "dx"} <= set(keys)

    asyncio.run(main())


def test_a_kink_of_the_books_relu_is_reported_as_a_kink() -> None:
    """An input within h of 0 makes Relu's mask flip under the ±h perturbation: the check says
    "kink" instead of failing, as for the engine's own ReLU."""
    relu = bt.from_book(Relu(), "Relu1")
    net = bt.Network([relu, bt.from_book(Affine(np.eye(3), np.zeros(3)), "Affine1")],
                     bt.from_book(SoftmaxWithLoss()))
    x = np.array([[1e-6, 0.5, -0.3], [0.2, -1e-6, 0.7]])
    t = np.array([0, 2])
    report = bt.gradcheck(net, x, t, mode="full")
    (check,) = [c for c in report.checks if (c.layer, c.tensor) == ("Relu1", "x")]
    assert check.kinks == 2 and check.passed


def test_the_books_convolution_and_pooling_check_out_and_step() -> None:
    """A book-style SimpleConvNet slice — Convolution, Relu, Pooling, Affine (which flattens
    like the book's) — passes the check; its cache shows col and arg_max."""

    class FlatAffine(Affine):
        def forward(self, x):
            self.original_x_shape = x.shape
            return super().forward(x.reshape(x.shape[0], -1))

        def backward(self, dout):
            return super().backward(dout).reshape(*self.original_x_shape)

    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 1, 8, 8))
    t = rng.integers(0, 3, 4)
    net = bt.Network([
        bt.from_book(Convolution(rng.normal(size=(2, 1, 3, 3)) * 0.3, np.zeros(2)), "Conv1"),
        bt.from_book(Relu(), "Relu1"),
        bt.from_book(Pooling(2, 2, stride=2), "Pool1"),
        bt.from_book(FlatAffine(rng.normal(size=(18, 3)) * 0.3, np.zeros(3)), "Affine1"),
    ], bt.from_book(SoftmaxWithLoss()))
    report = bt.gradcheck(net, x, t)
    assert report.passed, [(c.layer, c.tensor, c.max_rel_error) for c in report.checks]
    assert net.layers[0].describe() == "Convolution 2@3×3"
    s = DebugSession.for_network(net, x, t)
    assert s.net.shapes == [(2, 6, 6), (2, 6, 6), (2, 3, 3), (3,)]
    recs = [s.step() for _ in range(3)]
    assert {"col", "col_W", "x"} <= set(recs[0].cache)
    assert "arg_max" in recs[2].cache


def test_step_back_replays_the_books_dropout_masks_exactly() -> None:
    """The book's Dropout draws from numpy's global generator; the stepper's snapshot holds
    its state, so a step back and forward again reproduces the same mask (and numbers)."""
    x, t = data(64)
    s = DebugSession.for_network(book_net(dropout=0.5), x, t, batch_size=16)
    st = s.stepper
    for _ in range(3):  # Affine1, Relu1, Dropout1
        rec = s.step()
    mask = rec.cache["mask"].copy()
    s.step()
    s.step()  # Affine2, loss
    loss = st.loss_history[-1].loss
    s.back()
    s.back()
    s.back()  # back before the dropout step
    assert st.position == 2
    rec = s.step()
    np.testing.assert_array_equal(rec.cache["mask"], mask)
    s.step()
    s.step()
    assert st.loss_history[-1].loss == loss
