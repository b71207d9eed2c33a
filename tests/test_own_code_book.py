"""The book's networks and layers as students write them, in with one call and no false verdict.

Every correct network passes the default audit; every planted mistake fails on exactly its
layer (the end-to-end ``network`` row aside); the habits that used to give false verdicts — a
backward writing into ``dout``, ``log(y + 1e-7)``, Dropout from ``np.random`` — are checked
for what they are. The fixtures are in ``tests/own_code/book_style.py``.
"""

# ruff: noqa: NPY002 - the book's code draws from numpy's global generator
from __future__ import annotations

import numpy as np
import pytest
from own_code import book_style as B

import backprop_tui as bt
from backprop_tui.engine.ways_in import NotANetwork
from backprop_tui.tui.session import DebugSession


def data(n: int = 8, d: int = 4, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, size=n)


def images(n: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1, 10, 10)), rng.integers(0, 4, size=n)


def failed(report) -> set[str]:
    return {c.layer for c in report.checks if not c.passed} - {"network"}


def two_layer(**kw) -> B.TwoLayerNet:
    np.random.seed(1)
    return B.TwoLayerNet(4, 6, 3, weight_init_std=0.5, **kw)


# -- the four networks, correct: no false FAIL ---------------------------------------------------
def correct_networks():
    np.random.seed(2)
    yield "TwoLayerNet", B.TwoLayerNet(4, 6, 3, weight_init_std=0.5), data()
    np.random.seed(3)
    yield "MultiLayerNet relu+L2", B.MultiLayerNet(4, [6, 5], 3, weight_decay_lambda=0.1), data()
    np.random.seed(4)
    yield "MultiLayerNet sigmoid", B.MultiLayerNet(4, [6], 3, activation="sigmoid",
                                                   weight_init_std=1.0), data()
    np.random.seed(5)
    yield ("MultiLayerNetExtend bn+dropout+L2",
           B.MultiLayerNetExtend(4, [6, 6], 3, weight_decay_lambda=0.05, use_dropout=True,
                                 dropout_ration=0.3, use_batchnorm=True), data(16))
    np.random.seed(6)
    yield "SimpleConvNet", B.SimpleConvNet(), images()


@pytest.mark.parametrize(("name", "net", "xt"), list(correct_networks()),
                         ids=[n for n, _, _ in correct_networks()])
def test_the_books_networks_pass_the_default_audit(name, net, xt) -> None:
    x, t = xt
    report = bt.gradcheck(net, x, t)
    assert report.passed, str(report)
    assert all(c.checked > 0 for c in report.checks)
    names = {c.layer for c in report.checks}
    assert set(net.layers) <= names  # every layer has its rows
    loss = next(c for c in report.checks if c.layer == "loss")
    assert loss.explained or loss.max_rel_error <= 1e-6  # log(y + 1e-7): said, not failed


def test_weight_decay_counts_exactly_as_the_books_loss() -> None:
    np.random.seed(7)
    book = B.MultiLayerNet(4, [6, 5], 3, weight_decay_lambda=0.3)
    x, t = data()
    net = bt.from_book(book)
    assert net.l2 == 0.3
    assert net.loss(x, t) == pytest.approx(book.loss(x, t), rel=1e-12)
    net.backward()
    grads = book.gradient(x, t)
    assert np.allclose(net.layers[0].grads["W"], grads["W1"], rtol=1e-12)
    assert net.layers[0].params["W"] is book.params["W1"]  # shared, not copied


def test_a_book_networks_dropout_is_really_checked() -> None:
    """The book's Dropout draws a new mask at every forward: the check puts numpy's generator
    back before each evaluation, so the mask is the same — and a Dropout that ignores its mask
    in backward fails, on its own layer."""
    np.random.seed(8)
    net = B.MultiLayerNetExtend(4, [6, 6], 3, use_dropout=True, dropout_ration=0.5)
    x, t = data(16)
    good = bt.gradcheck(net, x, t)
    assert good.passed, str(good)
    drop = [c for c in good.checks if c.layer.startswith("Dropout")]
    assert drop and all(c.kinks == 0 and c.checked > 0 for c in drop)
    net.layers["Dropout1"] = B.DropoutNoMask(0.5)
    assert failed(bt.gradcheck(net, x, t)) == {"Dropout1"}


# -- planted mistakes: each fails on exactly its layer ------------------------------------------
def _with(net, key: str, layer):
    net.layers[key] = layer
    return net


def planted():
    np.random.seed(9)
    yield "missing /batch_size", two_layer(loss=B.SoftmaxWithLossNoN), {"loss"}
    np.random.seed(9)
    yield "transposed dW", two_layer(affine=B.AffineTransposedDW), {"Affine1"}
    np.random.seed(9)
    yield "ReLU mask from the output", two_layer(relu=B.ReluMaskFromOutput), {"Relu1"}
    np.random.seed(10)
    yield ("sigmoid backward from x", _with(
        B.MultiLayerNet(4, [6], 3, activation="sigmoid", weight_init_std=1.0),
        "Activation_function1", B.SigmoidFromInput()), {"Activation_function1"})
    np.random.seed(11)
    conv = B.SimpleConvNet()
    pool = conv.layers["Pool1"]
    yield ("max-pool routes to the wrong element", _with(
        conv, "Pool1", B.PoolingWrongRoute(pool.pool_h, pool.pool_w, pool.stride)), {"Pool1"})
    np.random.seed(12)
    yield "empty dx", two_layer(affine=B.AffineEmptyDx), {"Affine1"}
    np.random.seed(13)
    conv = B.SimpleConvNet()
    affine = conv.layers["Affine1"]
    yield "dx of the wrong shape", _with(conv, "Affine1", B.AffineFlatDx(affine.W, affine.b)), \
        {"Affine1"}


@pytest.mark.parametrize(("name", "net", "layers"), list(planted()),
                         ids=[n for n, _, _ in planted()])
def test_each_planted_mistake_fails_on_exactly_its_layer(name, net, layers) -> None:
    x, t = images() if "Conv1" in net.layers else data()
    report = bt.gradcheck(net, x, t)
    assert not report.passed
    assert failed(report) == layers, str(report)


def test_a_check_that_checked_nothing_is_a_failure_that_says_why() -> None:
    x, t = data()
    report = bt.gradcheck(two_layer(affine=B.AffineEmptyDx), x, t)
    (row,) = [c for c in report.checks if not c.passed and c.layer != "network"]
    assert (row.layer, row.tensor, row.checked) == ("Affine1", "x", 0)
    assert "dx of shape (8, 0)" in row.note and "(8, 4)" in row.note
    assert row.verdict == "FAIL" and row.label == "wrong"
    assert "Affine1 x: Affine1's backward returned dx of shape (8, 0)" in str(report)


def test_a_parameter_without_a_gradient_fails_naming_it() -> None:
    class NoDb(B.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            del self.db
            return dx

    np.random.seed(14)
    net = two_layer(affine=NoDb)
    x, t = data()
    report = bt.gradcheck(net, x, t)
    (row,) = [c for c in report.checks if not c.passed and c.layer != "gradient()"]
    assert (row.layer, row.tensor) == ("Affine1", "b")
    assert "set no gradient for b" in row.note
    (own,) = [c for c in report.checks if c.layer == "gradient()"]  # it reads .db: raises
    assert not own.passed and "TwoLayerNet.gradient(x, t) raised AttributeError" in own.note


def test_affine_that_forgets_to_flatten_is_named_with_its_line() -> None:
    np.random.seed(15)
    conv = B.SimpleConvNet()
    affine = conv.layers["Affine1"]
    conv.layers["Affine1"] = B.AffineNoFlatten(affine.W, affine.b)
    x, t = images()
    with pytest.raises(bt.LayerError) as e:
        bt.gradcheck(conv, x, t)
    assert e.value.what == "the forward step of layer 'Affine1' (AffineNoFlatten)"
    assert "book_style.py" in e.value.where and "in forward" in e.value.where


# -- the debugger on the book's code -------------------------------------------------------------
def test_the_debugger_shows_the_true_dx_above_a_relu_that_writes_into_dout() -> None:
    """The book's Relu zeroes the dout it receives: that dout is the dx of the Affine above it,
    which the debugger must still show as the Affine computed it."""
    np.random.seed(16)
    book = B.TwoLayerNet(4, 6, 3, weight_init_std=0.5)
    x, t = data()
    s = DebugSession.for_network(book, x, t, batch_size=8)
    for _ in range(len(s.stepper.steps) - 1):  # up to the update
        s.step()
    affine2 = s.stepper.record_for("backward", 2)
    W2 = book.params["W2"]
    assert np.allclose(affine2.output, affine2.input @ W2.T)
    assert np.count_nonzero(affine2.output) == affine2.output.size  # not zeroed by Relu1
    relu = s.stepper.record_for("backward", 1)
    assert relu.input is affine2.output or np.array_equal(relu.input, affine2.output)
    assert np.array_equal(relu.output == 0, (affine2.output == 0) | relu.cache["mask"])


def test_a_network_that_is_none_of_the_ways_in_says_which_they_are() -> None:
    class Model:
        params = {"W1": np.zeros((2, 2))}

        def loss(self, X, y=None):
            return 0.0, {}

    x, t = data()
    with pytest.raises(NotANetwork) as e:
        bt.gradcheck(3, x, t)
    assert "bt.gradcheck takes a bt.Network" in str(e.value) and "lastLayer" in str(e.value)
    assert "got int" in str(e.value)
    with pytest.raises(NotANetwork, match="bt.debug takes") as e:
        DebugSession.for_network(Model(), x, t)  # a model has no layers to step through
    assert "cs231n model" in str(e.value)


def test_l2_applies_to_from_book_layers_weights() -> None:
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(4, 3)), np.zeros(3)
    net = bt.Network([bt.from_book(B.Affine(W, b), name="fc")], bt.SoftmaxCrossEntropy(), l2=0.5)
    assert net.l2_term() == pytest.approx(0.25 * float(np.sum(W * W)))
    x, t = data()
    assert bt.gradcheck(net, x, t).passed


def test_layers_below_a_misshapen_dx_are_said_to_be_unchecked() -> None:
    np.random.seed(13)
    conv = B.SimpleConvNet()
    affine = conv.layers["Affine1"]
    conv.layers["Affine1"] = B.AffineFlatDx(affine.W, affine.b)
    x, t = images()
    report = bt.gradcheck(conv, x, t)
    assert report.unchecked == ["Conv1", "Relu1", "Pool1"]
    assert "not checked: Conv1, Relu1, Pool1" in str(report)
    assert not {"Conv1", "Relu1", "Pool1"} & {c.layer for c in report.checks}


# -- kinks found from the numbers, for code that does not name its choices ----------------------
class PlainRelu(bt.Layer):
    """A ReLU of a user's own: no kink_signature, so the check knows nothing of its mask."""

    kind = "PlainRelu"

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout, need_dx=True):
        dx = dout
        dx[self.x <= 0] = 0  # cs231n's habit: into the array it was handed
        return dx


class NaiveMaxPool(bt.Layer):
    """2×2 max-pool with loops, the first maximum of a window winning (ties!), no signature."""

    kind = "NaiveMaxPool"

    def forward(self, x):
        self.x = x
        n, c, h, w = x.shape
        out = np.zeros((n, c, h // 2, w // 2))
        for i in range(h // 2):
            for j in range(w // 2):
                out[:, :, i, j] = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(2, 3))
        return out

    def backward(self, dout, need_dx=True):
        x = self.x
        dx = np.zeros_like(x)
        n, c, h, w = x.shape
        for a in range(n):
            for b in range(c):
                for i in range(h // 2):
                    for j in range(w // 2):
                        win = x[a, b, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                        r, s = np.unravel_index(np.argmax(win), win.shape)
                        dx[a, b, 2 * i + r, 2 * j + s] += dout[a, b, i, j]
        return dx

    def output_shape(self, in_shape):
        c, h, w = in_shape
        return (c, h // 2, w // 2)


def test_kinks_are_found_without_a_signature_relu_at_exact_zero() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4))
    x[:, 1] = 0.0  # exactly at the kink: an image's black pixels, a padded input
    W = rng.normal(size=(4, 6))
    W[1] = 0.0
    W[:, 2] = 0.0  # unit 2 sees exactly 0 for every sample: ReLU at its kink
    net = bt.Network([bt.Affine(W, np.zeros(6), name="fc1"), PlainRelu(name="relu"),
                      bt.Affine(rng.normal(size=(6, 3)), np.zeros(3), name="fc2")],
                     bt.SoftmaxCrossEntropy())
    report = bt.gradcheck(net, x, rng.integers(0, 3, 8))
    assert report.passed, str(report)
    (relu,) = report.for_layer("relu")
    assert relu.kinks == 8 and relu.checked == 48  # the 8 entries of unit 2, and said so


def test_kinks_are_found_without_a_signature_max_pool_with_ties() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 1, 4, 4)).round(1)
    x[0, 0, :2, :2] = 0.5  # a window of four equal values: a tie
    net = bt.Network([NaiveMaxPool(name="pool"), bt.Flatten(),
                      bt.Affine(rng.normal(size=(4, 3)), np.zeros(3), name="fc")],
                     bt.SoftmaxCrossEntropy())
    report = bt.gradcheck(net, x, np.array([0, 2]))
    assert report.passed, str(report)
    (pool,) = report.for_layer("pool")
    assert pool.kinks >= 1


def test_a_wrong_backward_is_not_taken_for_a_kink() -> None:
    class LeakyWrong(PlainRelu):
        kind = "LeakyWrong"

        def backward(self, dout, need_dx=True):
            return dout * (self.x > 0) * 0.5  # half the gradient: smooth, and wrong

    rng = np.random.default_rng(5)
    net = bt.Network([bt.Affine(rng.normal(size=(4, 6)), np.zeros(6), name="fc1"),
                      LeakyWrong(name="relu"),
                      bt.Affine(rng.normal(size=(6, 3)), np.zeros(3), name="fc2")],
                     bt.SoftmaxCrossEntropy())
    report = bt.gradcheck(net, rng.normal(size=(8, 4)), rng.integers(0, 3, 8))
    (relu,) = report.for_layer("relu")
    assert not relu.passed and relu.kinks == 0


def test_the_gradcheck_pane_says_what_the_numbers_do_not() -> None:
    """g on the loss row of a book network: the ε of log(y + 1e-7) is said in the pane, next
    to the row, in words; and an empty dx is a failure with its reason."""
    import asyncio

    from rich.text import Text

    from backprop_tui.tui.app import BackpropApp
    from backprop_tui.tui.widgets.gradcheck import GradcheckPane

    async def check(net, keys: list[str], row: str, label: str, words: str) -> None:
        x, t = data(16)
        app = BackpropApp("debug", session=DebugSession.for_network(net, x, t, batch_size=8))
        async with app.run_test(size=(120, 40)) as pilot:
            for key in (*keys, "g"):
                await pilot.press(key)
                await pilot.pause()
                await app.workers.wait_for_complete()
            await pilot.pause()
            pane = app.screen.query_one(GradcheckPane)
            assert pane.result.job.row_name == row
            assert [c.label for c in pane.result.report.checks if c.note] == [label]
            notes = " ".join(" ".join(str(r) for r in pane.render().renderables
                                      if isinstance(r, Text)).split())
            assert words in notes, notes

    np.random.seed(17)
    asyncio.run(check(B.TwoLayerNet(4, 6, 3, weight_init_std=0.5), ["b", *["down"] * 3],
                      "loss", "noted", "dx: forward takes log(p + ε) with ε ≈ 1e-07"))
    np.random.seed(18)
    # stepping stops at the misshapen dx, in a dialog; the check of the layer says why too
    asyncio.run(check(two_layer(affine=B.AffineEmptyDx), ["b", "enter", "up"], "Affine1", "wrong",
                      "dx: Affine1's backward returned dx of shape (8, 0)"))


def test_the_networks_own_loss_and_gradient_are_checked_against_its_layers() -> None:
    """The chapter 6 mistakes live in the network, not a layer: the decay missing from
    ``loss()``, or its λ·W from ``gradient()``. Both are compared with what the layers, checked
    one by one, give with ``weight_decay_lambda``."""
    x, t = data()
    np.random.seed(19)
    good = bt.gradcheck(B.MultiLayerNet(4, [6, 5], 3, weight_decay_lambda=0.5), x, t)
    own = [c for c in good.checks if c.layer in ("loss()", "gradient()")]
    assert [c.tensor for c in own] == ["value", "W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(c.passed for c in own)

    class NoDecayInGradient(B.MultiLayerNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            for i in range(1, self.hidden_layer_num + 2):
                grads[f"W{i}"] = grads[f"W{i}"] - self.weight_decay_lambda * self.params[f"W{i}"]
            return grads

    class NoDecayInLoss(B.MultiLayerNet):
        def loss(self, x, t):
            return self.last_layer.forward(self.predict(x), t)

    np.random.seed(19)
    report = bt.gradcheck(NoDecayInGradient(4, [6, 5], 3, weight_decay_lambda=0.5), x, t)
    bad = [c for c in report.checks if not c.passed]
    assert [(c.layer, c.tensor) for c in bad] == [("gradient()", f"W{i}") for i in (1, 2, 3)]
    assert bad[0].note.endswith("exactly by λ·W, missing from gradient()")
    np.random.seed(19)
    report = bt.gradcheck(NoDecayInLoss(4, [6, 5], 3, weight_decay_lambda=0.5), x, t)
    (bad,) = [c for c in report.checks if not c.passed]
    assert bad.layer == "loss()" and bad.note.endswith("missing from loss()")


def test_a_book_network_in_float32_is_checked_on_a_copy_and_left_as_it_was() -> None:
    np.random.seed(20)
    book = B.TwoLayerNet(4, 6, 3, weight_init_std=0.5)
    for k in book.params:
        book.params[k] = book.params[k].astype(np.float32)
    book.layers["Affine1"].W, book.layers["Affine1"].b = book.params["W1"], book.params["b1"]
    book.layers["Affine2"].W, book.layers["Affine2"].b = book.params["W2"], book.params["b2"]
    x, t = data()
    assert bt.gradcheck(book, x, t).passed
    assert book.layers["Affine1"].W is book.params["W1"]  # still the student's own arrays
    assert book.params["W1"].dtype == np.float32


def test_a_parameter_under_another_name_is_checked_or_said() -> None:
    class LowerAffine:
        """cs231n's habit in a book-style class: w and dw."""

        def __init__(self, w, b):
            self.w, self.b = w, b

        def forward(self, x):
            self.x = x
            return x @ self.w + self.b

        def backward(self, dout):
            self.dw = 2 * self.x.T @ dout  # a bug: a factor 2
            self.db = dout.sum(axis=0)
            return dout @ self.w.T

    class Weights(LowerAffine):
        def __init__(self, w, b):
            super().__init__(w, b)
            self.weights = self.w

        def backward(self, dout):
            dx = super().backward(dout)
            self.dweights = self.dw
            return dx

    rng = np.random.default_rng(0)
    x, t = data()
    net = bt.Network([bt.from_book(LowerAffine(rng.normal(size=(4, 3)), np.zeros(3)), "fc")],
                     bt.SoftmaxCrossEntropy())
    (w,) = [c for c in bt.gradcheck(net, x, t).checks if c.tensor == "w"]
    assert not w.passed  # w is a parameter (cs231n's name): checked, and the bug found
    layer = bt.from_book(Weights(rng.normal(size=(4, 3)), np.zeros(3)), "fc")
    net = bt.Network([layer], bt.SoftmaxCrossEntropy())
    rows = {c.tensor: c for c in bt.gradcheck(net, x, t).checks if c.layer == "fc"}
    assert not rows["weights"].passed and "not taken for a parameter" in rows["weights"].note


@pytest.mark.parametrize("std", [0.01, 1.0])
def test_the_books_loss_passes_with_more_scores_than_are_checked_in_full(std) -> None:
    """128 samples × 10 classes: more than full_limit, so the loss is sampled — its ε is still
    recognised (the loss alone is then compared in full) and taken out of the network row."""
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(128, 20)), rng.integers(0, 10, size=128)
    np.random.seed(0)
    report = bt.gradcheck(B.TwoLayerNet(20, 8, 10, weight_init_std=std), x, t)
    assert report.passed, str(report)
    (loss,) = report.for_layer("loss")
    assert loss.label == "noted" and loss.checked == 1280


@pytest.mark.parametrize("n", [1, 2])
def test_the_books_loss_passes_when_every_sample_is_confidently_wrong(n) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4))
    np.random.seed(1)
    book = B.TwoLayerNet(4, 6, 3, weight_init_std=8.0)
    t = book.predict(x).argmin(axis=1)  # every target is the least likely class
    report = bt.gradcheck(book, x[:n], t[:n])
    assert report.passed, str(report)
    assert "ε ≈ 1e-07" in report.for_layer("loss")[0].note


def test_layers_only_zeros_reached_are_said_to_be_untested() -> None:
    class ReluTodo(B.Relu):
        def backward(self, dout):
            return np.zeros_like(dout)  # not written yet

    np.random.seed(21)
    report = bt.gradcheck(two_layer(relu=ReluTodo, affine=B.AffineTransposedDW), *data())
    assert report.unchecked == ["Affine1"]
    assert {c.label for c in report.for_layer("Affine1")} == {"untested"}
    assert failed(report) == {"Relu1"}  # the stub; Affine1's own bug cannot be seen from here
    assert "1 layer(s) not checked" in str(report).splitlines()[0]


def test_code_that_raises_in_a_later_evaluation_is_a_layer_error() -> None:
    calls = {"n": 0}

    class Fragile(B.Affine):
        def forward(self, x):
            calls["n"] += 1
            if calls["n"] > 5:
                raise FloatingPointError("overflow at θ + h")
            return super().forward(x)

    np.random.seed(22)
    with pytest.raises(bt.LayerError) as e:
        bt.gradcheck(two_layer(affine=Fragile), *data())
    assert e.value.layer == "Affine1"
    assert str(e.value).startswith("the forward of layer 'Affine1', in its gradient check "
                                   "(W perturbed), raised FloatingPointError at "
                                   "test_own_code_book.py:")


def test_a_broken_contract_points_at_the_users_method_not_the_tools_check() -> None:
    """A backward that returns a misshapen dx or leaves a gradient out raised nothing itself:
    the step names where that backward is written (book_style.py), not the tool's check."""
    np.random.seed(23)
    x, t = data()
    s = DebugSession.for_network(two_layer(affine=B.AffineEmptyDx), x, t, batch_size=8)
    with pytest.raises(bt.LayerError) as e:
        for _ in range(len(s.stepper.steps)):
            s.step()
    assert e.value.layer == "Affine1" and e.value.phase == "backward"
    assert e.value.where.startswith("book_style.py:") and e.value.where.endswith("in backward")
    assert "contract.py" not in str(e.value)
