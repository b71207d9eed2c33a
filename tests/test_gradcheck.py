"""The gradient-check audit: it passes on correct networks, reports kinks as kinks, and — with
one realistic bug planted at a time — fails on exactly the faulty layer.

Each planted bug is a subclass of an engine class whose backward is written out in full, so the
bug stays planted whatever the engine's own implementation looks like.

About the ``network`` row: in local scope every layer is checked against its own forward with
the real upstream gradient, so a wrong backward fails only on its own row — and the last row,
``network`` (the whole loss along one random direction in the space of all parameters), fails
too whenever the bug corrupts any parameter gradient, which every bug below does. That is
intended: the per-layer rows say *where*, the ``network`` row confirms that the gradients the
optimizer would use are wrong. So ``failed_layers == [faulty layer, "network"]`` exactly. Two
refinements: the L2 bug lives in the network, not a layer, and is caught by every decayed ``W``
row; and a bug in the first layer's input gradient with no parameter below it leaves the
``network`` row passing (nothing the optimizer uses is wrong).

In global scope there is no ``loss`` or ``network`` row, and the failure spreads to the layers
below the faulty one; the deepest failing layer is the faulty one.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backprop_tui.engine import (
    Affine,
    BatchNorm,
    Conv2D,
    Dropout,
    Flatten,
    MaxPool2D,
    MeanSquaredError,
    Network,
    ReLU,
    Sigmoid,
    SigmoidBCE,
    SoftmaxCrossEntropy,
    Step,
    Tanh,
)
from backprop_tui.engine.gradcheck import gradcheck
from backprop_tui.engine.numeric import GradcheckCancelled

GOOD = 1e-7  # the cs231n "good" level for a relative error


# -- networks ----------------------------------------------------------------------------------


def mlp(
    seed: int = 0,
    *,
    act=ReLU,
    fc2=Affine,
    loss=None,
    width: int = 5,
    n_in: int = 4,
    n_out: int = 3,
    l2: float = 0.0,
    net_cls=Network,
) -> Network:
    """fc1 → act → fc2 (square W) → tanh → fc3 → loss."""
    rng = np.random.default_rng(seed)
    layers = [
        Affine(rng.standard_normal((n_in, width)), 0.1 * rng.standard_normal(width), "fc1"),
        act("act"),
        fc2(rng.standard_normal((width, width)) / np.sqrt(width),
            0.1 * rng.standard_normal(width), "fc2"),
        Tanh("tanh"),
        Affine(rng.standard_normal((width, n_out)) / np.sqrt(width),
               0.1 * rng.standard_normal(n_out), "fc3"),
    ]
    return net_cls(layers, loss or SoftmaxCrossEntropy(), l2=l2, input_shape=(n_in,))


def cnn(seed: int = 0, *, pool=MaxPool2D) -> Network:
    """conv 3@3×3 pad 1 → relu → pool 2 → flatten → affine 12→3."""
    rng = np.random.default_rng(seed)
    layers = [
        Conv2D(0.5 * rng.standard_normal((3, 2, 3, 3)), 0.1 * rng.standard_normal(3), pad=1,
               name="conv"),
        ReLU("relu"),
        pool(2, name="pool"),
        Flatten("flat"),
        Affine(0.5 * rng.standard_normal((12, 3)), 0.1 * rng.standard_normal(3), "fc"),
    ]
    return Network(layers, SoftmaxCrossEntropy(), input_shape=(2, 4, 4))


def batch(net: Network, n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *net.input_shape))
    k = net.shapes[-1][0]
    return x, rng.integers(0, k, size=n)


def record(report, net, max_errors):
    for c in report.checks:
        kind = c.layer if c.layer in ("loss", "network") else net.layers[c.layer_index].kind
        max_errors.record(f"gradcheck {kind} {c.tensor}", c.max_rel_error)


# -- correct networks pass ---------------------------------------------------------------------


@st.composite
def small_networks(draw):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    widths = draw(st.lists(st.integers(1, 5), min_size=0, max_size=2))
    layers, d = [], n_in
    for i, w in enumerate(widths):
        # weights ~ N(0, 1/fan_in), as a real initialisation: activations and loss stay O(1)
        W = rng.standard_normal((d, w)) / np.sqrt(d)
        layers.append(Affine(W, 0.1 * rng.standard_normal(w), f"fc{i}"))
        if draw(st.booleans()) and w > 0:
            layers.append(BatchNorm(w, name=f"bn{i}"))
        act = draw(st.sampled_from([ReLU, Sigmoid, Tanh]))
        layers.append(act(f"act{i}"))
        if draw(st.booleans()):
            layers.append(Dropout(0.3, np.random.default_rng(seed), name=f"drop{i}"))
        d = w
    W = rng.standard_normal((d, n_out)) / np.sqrt(d)
    layers.append(Affine(W, 0.1 * rng.standard_normal(n_out), "out"))
    loss_cls = draw(st.sampled_from([SoftmaxCrossEntropy, SigmoidBCE, MeanSquaredError]))
    n = draw(st.integers(2, 5))
    x = rng.standard_normal((n, n_in))
    if loss_cls is SoftmaxCrossEntropy:
        t = rng.integers(0, n_out, size=n)
    elif loss_cls is SigmoidBCE:
        t = rng.integers(0, 2, size=(n, n_out)).astype(float)
    else:
        t = rng.standard_normal((n, n_out))
    l2 = draw(st.sampled_from([0.0, 0.1]))
    return Network(layers, loss_cls(), l2=l2, input_shape=(n_in,)), x, t


@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=small_networks())
def test_random_small_networks_pass_with_good_errors(case, max_errors):
    net, x, t = case
    # BatchNorm is sharply curved where a feature barely varies over the batch: keep to smooth
    # points (see test_batchnorm_with_a_nearly_constant_feature_*). A copy draws the same
    # Dropout masks as the checker's own copy will.
    probe = copy.deepcopy(net)
    probe.loss(x, t)
    for i, layer in enumerate(probe.layers):
        if isinstance(layer, BatchNorm):
            assume(probe.inputs[i].std(axis=0).min() > 0.1)
    # Smooth networks must reach the "good" level: tol = 1e-7 (entries below atol/tol = 1e-2 are
    # judged by |a − n| ≤ 1e-9). With BatchNorm the product's default 1e-6: over 4000 random
    # examples 2 BatchNorm inputs (curvature ~1/σ³) were between the two, nothing else was.
    tol = 1e-6 if any(isinstance(layer, BatchNorm) for layer in net.layers) else GOOD
    report = gradcheck(net, x, t, mode="full", tol=tol)
    record(report, net, max_errors)
    assert report.passed, [(c.layer, c.tensor, c.max_rel_error) for c in report.checks
                           if not c.passed]
    assert report.failed_layers == []
    # one row per parameter and per layer input, then the loss and the end-to-end row
    expected = [(layer.name, k) for layer in net.layers for k in (*layer.params, "x")]
    expected += [("loss", "x"), ("network", "all parameters")]
    rows = [(c.layer, c.tensor) for c in report.checks]
    assert sorted(rows) == sorted(expected) and rows[-2:] == expected[-2:]
    assert [c.layer_index for c in report.checks[:-2]] == sorted(c.layer_index
                                                                 for c in report.checks[:-2])
    for c in report.checks:
        assert c.max_rel_error <= tol, (c.layer, c.tensor, c.max_rel_error)
        assert c.checked == (1 if c.layer == "network" else int(np.prod(c.shape)))
    assert report.evaluations == 2 * sum(c.checked for c in report.checks)


@pytest.mark.parametrize("mode", ["full", "sampled", "directional", "auto"])
def test_cnn_passes_in_every_mode(mode, max_errors):
    net = cnn()
    x, t = batch(net, 3)
    report = gradcheck(net, x, t, mode=mode, k=10)
    record(report, net, max_errors)
    assert report.passed and report.failed_layers == []
    rows = {(c.layer, c.tensor): c for c in report.checks}
    assert set(rows) == {("conv", "W"), ("conv", "b"), ("conv", "x"), ("relu", "x"),
                         ("pool", "x"), ("flat", "x"), ("fc", "W"), ("fc", "b"), ("fc", "x"),
                         ("loss", "x"), ("network", "all parameters")}
    conv_x = rows[("conv", "x")]  # 3·2·4·4 = 96 entries
    expected_checked = {"full": 96, "sampled": 10, "directional": 1, "auto": 96}[mode]
    assert conv_x.checked == expected_checked
    assert conv_x.mode == {"full": "full", "sampled": "sampled(10)", "directional": "directional",
                           "auto": "full"}[mode]


def test_auto_mode_samples_large_tensors_and_checks_small_ones_fully():
    net = mlp(width=40, n_in=30)
    x, t = batch(net, 4)
    report = gradcheck(net, x, t, mode="auto", k=16)
    rows = {(c.layer, c.tensor): c for c in report.checks}
    assert rows[("fc2", "W")].checked == 16 + 1  # 1600 > 1000 entries: sampled + directional
    assert rows[("fc2", "W")].mode == "sampled(16)+directional"
    assert rows[("fc1", "W")].checked == 16 + 1  # 1200 entries
    assert rows[("fc2", "b")].checked == 40 and rows[("fc2", "b")].mode == "full"
    assert report.passed


def test_batchnorm_and_dropout_are_checked_with_frozen_state(max_errors):
    rng = np.random.default_rng(0)
    layers = [Affine(rng.standard_normal((3, 6)), np.zeros(6), "fc1"), BatchNorm(6, name="bn"),
              Tanh("tanh"), Dropout(0.5, np.random.default_rng(1), name="drop"),
              Affine(rng.standard_normal((6, 2)), np.zeros(2), "fc2")]
    net = Network(layers, SoftmaxCrossEntropy(), input_shape=(3,))
    x, t = batch(net, 8)
    report = gradcheck(net, x, t, mode="full")
    record(report, net, max_errors)
    assert report.passed
    assert {c.tensor for c in report.for_layer("bn")} == {"gamma", "beta", "x"}


def _bn_nearly_constant_feature():
    """BatchNorm whose first feature has batch standard deviation σ = 1.6e-3 (< √ε = 3.2e-3)."""
    rng = np.random.default_rng(0)
    net = Network([BatchNorm(3, name="bn"), Affine(rng.standard_normal((3, 2)), np.zeros(2), "fc")],
                  SoftmaxCrossEntropy(), input_shape=(3,))
    x = np.array([[0.0, 0.3, 1.0], [0.004, -0.5, 0.2], [0.002, 0.1, -1.0]])
    return net, x, np.array([0, 1, 1])


def test_batchnorm_with_a_nearly_constant_feature_is_a_truncation_effect():
    """There BatchNorm is sharply curved (its scale is √(σ² + ε) ≈ 3.6e-3), and the h² error of
    centered differences is what the audit sees: 1e-4 → 1.9e-4, 1e-5 → 1.9e-6, 1e-6 → 1.9e-8.
    The layer is right; a smaller step agrees."""
    net, x, t = _bn_nearly_constant_feature()

    def bn_x(h):
        return gradcheck(net, x, t, mode="full", h=h).for_layer("bn")[2]

    fine = bn_x(1e-6)
    assert fine.passed and fine.refined == 0
    assert fine.max_rel_error == pytest.approx(1.9e-8, rel=0.1)
    # at 1e-4 the retry at h/10 = 1e-5 still misses (1.9e-6 > 1e-6): reported as measured at h
    coarse = bn_x(1e-4)
    assert not coarse.passed
    assert coarse.max_rel_error / fine.max_rel_error == pytest.approx(1e4, rel=0.05)  # ∝ h²


def test_batchnorm_with_a_nearly_constant_feature_passes_at_the_default_step():
    """At the default h = 1e-5 the entry misses (rel ≈ 1.9e-6 > tol = 1e-6) on a correct layer;
    the checker measures it again at h/10, where it agrees (1.9e-8), and counts it as refined."""
    net, x, t = _bn_nearly_constant_feature()
    report = gradcheck(net, x, t, mode="full")
    assert report.passed
    bn_x = report.for_layer("bn")[2]
    assert bn_x.refined >= 1
    assert bn_x.max_rel_error <= 1e-6


def test_refinement_does_not_rescue_a_wrong_backward():
    """A planted bug misses at every step size: retrying at h/10 must not turn it into a pass."""
    class DoubledAffine(Affine):
        def backward(self, dout, need_dx=True):
            dx = super().backward(dout, need_dx)
            self.grads["W"] = 2 * self.grads["W"]
            return dx

    net, x, t = _bn_nearly_constant_feature()
    fc = net.layers[1]
    net.layers[1] = DoubledAffine(fc.params["W"], fc.params["b"], "fc")
    report = gradcheck(net, x, t, mode="full")
    assert not report.passed and "fc" in report.failed_layers
    assert report.for_layer("fc")[0].refined == 0


def test_step_network_has_honestly_zero_gradients():
    """The perceptron's step passes no gradient; the check agrees (0 = 0 is a pass)."""
    rng = np.random.default_rng(0)
    net = Network([Affine(rng.standard_normal((2, 3)), rng.standard_normal(3), "fc1"),
                   Step("step"), Affine(rng.standard_normal((3, 2)), np.zeros(2), "fc2")],
                  SoftmaxCrossEntropy(), input_shape=(2,))
    x, t = batch(net, 4)
    report = gradcheck(net, x, t, mode="full")
    assert report.passed
    fc1 = {c.tensor: c for c in report.for_layer("fc1")}
    assert not fc1["W"].analytic.any() and not fc1["W"].numeric.any()


# -- kinks are reported as kinks, not failures -------------------------------------------------


def relu_first(x_values) -> tuple[Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    net = Network([ReLU("relu"), Affine(rng.standard_normal((4, 3)), np.zeros(3), "fc")],
                  SoftmaxCrossEntropy(), input_shape=(4,))
    return net, np.array(x_values, dtype=float), np.array([0, 2])


def test_relu_inputs_at_or_within_h_of_zero_are_kinks():
    h = 1e-5
    x_values = [[0.0, 0.5, -0.5, 3e-6], [-3e-6, 1.0, 0.0, -2.0]]
    net, x, t = relu_first(x_values)
    report = gradcheck(net, x, t, mode="full", h=h)
    relu_x = report.for_layer("relu")[0]
    expected_kinks = np.abs(x).ravel() < h
    np.testing.assert_array_equal(relu_x.kinked, expected_kinks)
    assert relu_x.kinks == 4 and relu_x.passed and report.passed
    assert relu_x.verdict == "pass"
    # they really are kinks: a kink-blind check would have failed there
    assert np.any(relu_x.analytic[expected_kinks] != relu_x.numeric[expected_kinks])
    # and every smooth entry agrees
    smooth = ~expected_kinks
    assert np.max(np.abs(relu_x.analytic[smooth] - relu_x.numeric[smooth])) < 1e-9


def test_all_entries_at_a_kink_give_the_kink_verdict():
    net, x, t = relu_first([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    relu_x = gradcheck(net, x, t, mode="full").for_layer("relu")[0]
    assert relu_x.kinks == relu_x.checked == 8 and relu_x.passed and relu_x.verdict == "kink"


def test_global_scope_reports_kinks_in_the_layers_before_a_relu():
    """A unit whose pre-activation is exactly 0 for every sample: any ±h on its weights or bias
    moves it across the ReLU's kink."""
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((3, 4))
    W1[:, 0] = 0.0
    b1 = np.array([0.0, 1.0, 1.0, 1.0])
    net = Network([Affine(W1, b1, "fc1"), ReLU("relu"),
                   Affine(rng.standard_normal((4, 2)), np.zeros(2), "fc2")],
                  SoftmaxCrossEntropy(), input_shape=(3,))
    x, t = batch(net, 5)
    report = gradcheck(net, x, t, mode="full", scope="global")
    assert report.passed
    rows = {c.tensor: c for c in report.for_layer("fc1")}
    np.testing.assert_array_equal(rows["b"].kinked, [True, False, False, False])
    assert rows["W"].kinked.reshape(3, 4)[:, 0].all()


def test_max_pool_tie_is_a_kink():
    W = np.random.default_rng(0).standard_normal((1, 2))
    layer_net = Network([MaxPool2D(2, name="pool"), Flatten("flat"), Affine(W, np.zeros(2), "fc")],
                        SoftmaxCrossEntropy(), input_shape=(1, 2, 2))
    x = np.array([[[[0.7, 0.7], [0.1, -0.4]]]])  # the top two tie for the max
    report = gradcheck(layer_net, x, np.array([1]), mode="full")
    pool_x = report.for_layer("pool")[0]
    np.testing.assert_array_equal(pool_x.kinked, [True, True, False, False])
    assert pool_x.passed and report.passed
    # without the tie nothing is a kink
    x[0, 0, 0, 1] = 0.6
    pool_x = gradcheck(layer_net, x, np.array([1]), mode="full").for_layer("pool")[0]
    assert pool_x.kinks == 0 and pool_x.passed


# -- planted bugs ------------------------------------------------------------------------------


class SoftmaxCEMissingOneOverN(SoftmaxCrossEntropy):
    """dx = y − t, forgetting to divide by the batch size."""

    def backward(self, dout: float = 1.0) -> np.ndarray:
        x, t = self.cache["x"], self.cache["t"]
        y = np.exp(x - x.max(axis=1, keepdims=True))
        y /= y.sum(axis=1, keepdims=True)
        onehot = np.eye(x.shape[1])[t] if t.ndim == 1 else t
        return (y - onehot) * dout  # bug: no / N


class AffineTransposedDW(Affine):
    """dW = doutᵀ·x instead of xᵀ·dout (shape-correct only because W is square)."""

    def forward(self, x):
        self._x = x.reshape(x.shape[0], -1)
        return self._x @ self.params["W"] + self.params["b"]

    def backward(self, dout, need_dx=True):
        self.grads["W"] = dout.T @ self._x  # bug
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T if need_dx else None


class AffineDbWrongAxis(AffineTransposedDW):
    """db summed over the features instead of the batch (shape-correct because N == width)."""

    def backward(self, dout, need_dx=True):
        self.grads["W"] = self._x.T @ dout
        self.grads["b"] = dout.sum(axis=1)  # bug
        return dout @ self.params["W"].T if need_dx else None


class ReLUMaskFromOutput(ReLU):
    """The mask is taken from the output with the wrong comparison: out < 0 is never true."""

    def forward(self, x):
        out = np.maximum(x, 0)
        self.cache["mask"] = out < 0  # bug: should be x <= 0
        return out

    def backward(self, dout, need_dx=True):
        return np.where(self.cache["mask"], 0.0, dout) if need_dx else None


class SigmoidDerivativeFromX(Sigmoid):
    """dx = dout·x·(1 − x): the derivative evaluated at the input instead of the output."""

    def forward(self, x):
        self._x = x
        y = 1.0 / (1.0 + np.exp(-x))
        self.cache["y"] = y
        return y

    def backward(self, dout, need_dx=True):
        return dout * self._x * (1.0 - self._x) if need_dx else None  # bug


class MaxPoolTransposedSwitch(MaxPool2D):
    """Routes each window's gradient to the switch's mirror: the window index is unravelled as
    (column, row) instead of (row, column)."""

    def forward(self, x):
        self._x = x
        return super().forward(x)

    def backward(self, dout, need_dx=True):
        if not need_dx:
            return None
        x, k, s = self._x, self.size, self.stride
        dx = np.zeros_like(x)
        n, c, oh, ow = dout.shape
        for i in range(oh):
            for j in range(ow):
                win = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(n, c, k * k)
                r, q = np.divmod(win.argmax(axis=-1), k)
                for b in range(n):
                    for ch in range(c):
                        # bug: (q, r) instead of (r, q)
                        dx[b, ch, i * s + q[b, ch], j * s + r[b, ch]] += dout[b, ch, i, j]
        return dx


class NetworkForgetsL2InDW(Network):
    """Adds ½·λ·Σ‖W‖² to the loss but forgets λ·W in the gradient."""

    def backward_layer(self, i, dout, need_dx=True):
        dx = self.layers[i].backward(dout, need_dx=need_dx)  # bug: no + λ·W
        self.dinputs[i] = dx
        return dx


def _bugged(bug: str, width: int):
    """(network, batch size, the layers a local check must name) for one planted bug."""
    if bug == "missing 1/N":
        return mlp(width=width, loss=SoftmaxCEMissingOneOverN()), 6, ["loss"]
    if bug == "transposed dW":
        return mlp(width=width, fc2=AffineTransposedDW), 6, ["fc2"]
    if bug == "db sum axis":
        return mlp(width=width, fc2=AffineDbWrongAxis), width, ["fc2"]
    if bug == "ReLU mask from output":
        return mlp(width=width, act=ReLUMaskFromOutput), 6, ["act"]
    if bug == "sigmoid derivative from x":
        return mlp(width=width, act=SigmoidDerivativeFromX), 6, ["act"]
    if bug == "L2 missing from dW":
        return mlp(width=width, l2=0.1, net_cls=NetworkForgetsL2InDW), 6, ["fc1", "fc2", "fc3"]
    raise ValueError(bug)


BUGS = ["missing 1/N", "transposed dW", "db sum axis", "ReLU mask from output",
        "sigmoid derivative from x", "L2 missing from dW"]


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_fails_on_exactly_its_layer(bug):
    net, n, faulty = _bugged(bug, width=5)
    x, t = batch(net, n)
    report = gradcheck(net, x, t, mode="full")
    assert report.passed is False
    assert report.failed_layers == [*faulty, "network"]
    for c in report.checks:
        if not c.passed:  # far beyond rounding: "wrong" on the cs231n scale
            assert c.label == "wrong", (c.layer, c.tensor, c.max_rel_error)


def test_missing_one_over_n_is_off_by_exactly_n():
    net, n, _ = _bugged("missing 1/N", width=5)
    x, t = batch(net, n)
    loss_row = gradcheck(net, x, t, mode="full").for_layer("loss")[0]
    assert loss_row.label == "wrong"
    np.testing.assert_allclose(loss_row.analytic, n * loss_row.numeric, rtol=1e-6, atol=1e-9)
    assert loss_row.max_rel_error == pytest.approx(1 - 1 / n, rel=1e-6)


def test_each_bug_fails_only_its_own_tensor():
    """Within the faulty layer, the rows that the bug does not touch still pass."""
    failing = {}
    for bug in BUGS:
        net, n, _ = _bugged(bug, width=5)
        x, t = batch(net, n)
        failing[bug] = sorted((c.layer, c.tensor) for c in gradcheck(net, x, t).checks
                              if not c.passed)
    network = ("network", "all parameters")
    assert failing == {
        "missing 1/N": [("loss", "x"), network],
        "transposed dW": [("fc2", "W"), network],
        "db sum axis": [("fc2", "b"), network],
        "ReLU mask from output": [("act", "x"), network],
        "sigmoid derivative from x": [("act", "x"), network],
        # the L2 bug is network-level: every decayed W row catches it (biases are not decayed)
        "L2 missing from dW": [("fc1", "W"), ("fc2", "W"), ("fc3", "W"), network],
    }


def test_max_pool_routing_bug_fails_on_the_pool():
    net = cnn(pool=MaxPoolTransposedSwitch)
    x, t = batch(net, 3)
    report = gradcheck(net, x, t, mode="full")
    assert report.failed_layers == ["pool", "network"]
    # sanity: the same network with the real pool passes
    assert gradcheck(cnn(), x, t, mode="full").passed


@pytest.mark.parametrize("mode", ["sampled", "directional", "auto"])
@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_in_a_larger_layer_is_caught_in_cheap_modes(bug, mode):
    """A 40×40 W (1600 entries): sampled (k entries), directional (one direction) and auto
    (sampled + directional beyond 1000 entries) still name exactly the faulty layer."""
    net, n, faulty = _bugged(bug, width=40)
    x, t = batch(net, n)
    report = gradcheck(net, x, t, mode=mode, k=12, seed=3)
    assert report.passed is False
    assert report.failed_layers == [*faulty, "network"]
    fc2_w = next(c for c in report.checks if (c.layer, c.tensor) == ("fc2", "W"))
    assert fc2_w.checked == {"sampled": 12, "directional": 1, "auto": 13}[mode]  # of 1600


def _deepest_failing(report) -> int:
    return max(c.layer_index for c in report.checks if not c.passed)


@pytest.mark.parametrize("mode", ["full", "directional"])
@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_in_global_scope_deepest_failure_is_the_faulty_layer(bug, mode):
    """Globally, a wrong gradient also corrupts every layer below it, so the failures spread
    downwards; the deepest failing layer is still the faulty one. (The loss is not a row in
    global scope: a loss bug makes every layer fail.)"""
    net, n, faulty = _bugged(bug, width=5)
    x, t = batch(net, n)
    report = gradcheck(net, x, t, mode=mode, scope="global")
    assert report.passed is False
    assert "loss" not in report.failed_layers and "network" not in report.failed_layers
    names = [layer.name for layer in net.layers]
    if faulty == ["loss"]:
        assert report.failed_layers == names
    else:
        assert names[_deepest_failing(report)] == faulty[-1]
    expected_spread = {
        "transposed dW": ["fc2"],  # dx is right, so nothing below is affected
        "db sum axis": ["fc2"],
        "ReLU mask from output": ["fc1", "act"],  # the wrong dx reaches fc1
        "sigmoid derivative from x": ["fc1", "act"],
        "L2 missing from dW": ["fc1", "fc2", "fc3"],
        "missing 1/N": names,
    }[bug]
    assert report.failed_layers == expected_spread


def test_max_pool_routing_bug_in_global_scope_spreads_to_the_conv():
    net = cnn(pool=MaxPoolTransposedSwitch)
    x, t = batch(net, 3)
    report = gradcheck(net, x, t, mode="full", scope="global")
    assert report.failed_layers == ["conv", "relu", "pool"]
    assert net.layers[_deepest_failing(report)].name == "pool"


class ReLUInvertedMask(ReLU):
    """mask = x ≥ 0: blocks the gradient where it should pass and passes it where it should not
    (its kink signature still flips at 0, so kinks are detected as usual)."""

    def backward(self, dout, need_dx=True):
        return np.where(self.cache["mask"], dout, 0.0) if need_dx else None


def test_a_bug_is_not_hidden_behind_kinks():
    """ReLU inputs at the kink are excluded from the verdict, the rest still catch the bug."""
    rng = np.random.default_rng(0)
    net = Network([ReLUInvertedMask("relu"),
                   Affine(rng.standard_normal((4, 3)), np.zeros(3), "fc")],
                  SoftmaxCrossEntropy(), input_shape=(4,))
    x = np.array([[0.0, 0.5, -0.5, 1.0], [-1.0, 1.0, 0.0, -2.0]])
    report = gradcheck(net, x, np.array([0, 2]), mode="full")
    relu_x = report.for_layer("relu")[0]
    assert relu_x.kinks == 2 and not relu_x.passed
    assert report.failed_layers == ["relu"]  # no parameter below it: the network row passes


# -- the API around the check ------------------------------------------------------------------


def test_the_callers_network_is_left_untouched():
    rng = np.random.default_rng(0)
    layers = [Affine(rng.standard_normal((3, 6)), np.zeros(6), "fc1"), BatchNorm(6, name="bn"),
              Dropout(0.5, np.random.default_rng(7), name="drop"),
              Affine(rng.standard_normal((6, 2)), np.zeros(2), "fc2")]
    net = Network(layers, SoftmaxCrossEntropy(), input_shape=(3,))
    x, t = batch(net, 6)
    net.loss(x, t)
    net.backward()
    state = {k: v.copy() for k, v in net.state_dict().items()}
    grads = {(layer.name, k): g.copy() for layer in net.layers for k, g in layer.grads.items()}
    mask = net.layers[2].cache["mask"].copy()
    twin_rng = np.random.default_rng(7)
    twin_rng.random(mask.shape)  # the twin generator has drawn the same single mask

    gradcheck(net, x, t, mode="full")
    for k, v in net.state_dict().items():
        assert v.tobytes() == state[k].tobytes(), k
    for (name, k), g in grads.items():
        np.testing.assert_array_equal(net.layers[net.index(name)].grads[k], g)
    np.testing.assert_array_equal(net.layers[2].cache["mask"], mask)
    assert not any(layer.frozen for layer in net.layers)
    # the Dropout generator was not advanced: the next mask is the one the twin would draw
    net.forward(x)
    np.testing.assert_array_equal(net.layers[2].cache["mask"],
                                  twin_rng.random(mask.shape) >= 0.5)


def test_bad_arguments():
    net = mlp()
    x, t = batch(net, 3)
    with pytest.raises(ValueError, match="mode"):
        gradcheck(net, x, t, mode="exhaustive")
    with pytest.raises(ValueError, match="scope"):
        gradcheck(net, x, t, scope="everywhere")
    net32 = Network([Affine(np.ones((4, 3)), np.zeros(3), "fc")], SoftmaxCrossEntropy(),
                    dtype="float32")
    with pytest.raises(ValueError, match="float64"):
        gradcheck(net32, x, t)


def test_progress_and_cancel():
    net = mlp()
    x, t = batch(net, 3)
    calls = []
    report = gradcheck(net, x, t, mode="full", progress=lambda done, total: calls.append((done,
                                                                                          total)))
    assert calls[-1] == (report.evaluations, report.evaluations)
    assert [c[0] for c in calls] == list(range(1, report.evaluations + 1))
    seen = []
    with pytest.raises(GradcheckCancelled):
        gradcheck(net, x, t, cancelled=lambda: seen.append(1) or len(seen) > 10)


def test_layer_filter_and_options():
    net = mlp()
    x, t = batch(net, 3)
    only = gradcheck(net, x, t, layers=["fc2"])
    assert {c.layer for c in only.checks} == {"fc2"}
    no_inputs = gradcheck(net, x, t, inputs=False)
    assert all(c.kind == "param" for c in no_inputs.checks if c.layer != "loss")
    assert any(c.kind == "param" for c in no_inputs.checks)
    no_e2e = gradcheck(net, x, t, end_to_end=False)
    assert "network" not in {c.layer for c in no_e2e.checks}


def test_reports_are_reproducible_and_serialisable():
    net = mlp(width=40, n_in=30)
    x, t = batch(net, 4)
    a = gradcheck(net, x, t, mode="sampled", k=8, seed=5)
    b = gradcheck(net, x, t, mode="sampled", k=8, seed=5)
    for ca, cb in zip(a.checks, b.checks, strict=True):
        np.testing.assert_array_equal(ca.indices, cb.indices)
        np.testing.assert_array_equal(ca.numeric, cb.numeric)
    row = a.checks[0].as_dict()
    assert {"layer", "tensor", "checked", "max_abs_error", "max_rel_error", "passed"} <= set(row)
    assert row["layer"] == "fc1" and row["tensor"] == "W" and row["checked"] == 8
