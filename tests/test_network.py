"""Network: the book's 3-layer example, shape propagation, L2, dtypes, determinism, state,
prediction and the ``frozen()`` context."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_tui.engine import (
    SGD,
    Affine,
    BatchNorm,
    Conv2D,
    Dropout,
    Flatten,
    MaxPool2D,
    MeanSquaredError,
    Momentum,
    Network,
    ReLU,
    ShapeError,
    Sigmoid,
    SigmoidBCE,
    SoftmaxCrossEntropy,
    Tanh,
)


def book_network() -> Network:
    """``init_network()`` from Deep Learning from Scratch, ch. 3 (sigmoid hidden layers,
    identity output), built from Affine/Sigmoid layers."""
    layers = [
        Affine(np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), np.array([0.1, 0.2, 0.3]), "a1"),
        Sigmoid("z1"),
        Affine(np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), np.array([0.1, 0.2]), "a2"),
        Sigmoid("z2"),
        Affine(np.array([[0.1, 0.3], [0.2, 0.4]]), np.array([0.1, 0.2]), "a3"),
    ]
    return Network(layers, MeanSquaredError(), input_shape=(2,))


def test_the_books_three_layer_network():
    net = book_network()
    y = net.forward(np.array([[1.0, 0.5]]))
    np.testing.assert_allclose(y, [[0.31682708, 0.69627909]], rtol=0, atol=5e-9)
    assert net.shapes == [(3,), (3,), (2,), (2,), (2,)]
    assert net.describe() == "Affine 2→3 → Sigmoid → Affine 3→2 → Sigmoid → Affine 2→2"
    assert net.param_count() == 6 + 3 + 6 + 2 + 4 + 2


def mixed_network(rng: np.random.Generator, *, dtype="float64", l2=0.0, loss=None) -> Network:
    """Every layer kind in one small CNN: conv → relu → pool → flatten → affine → bn → tanh →
    dropout → affine → sigmoid → affine."""
    layers = [
        Conv2D(0.3 * rng.standard_normal((3, 2, 3, 3)), 0.1 * rng.standard_normal(3), pad=1,
               name="conv"),
        ReLU("relu"),
        MaxPool2D(2, name="pool"),
        Flatten("flat"),
        Affine(0.3 * rng.standard_normal((12, 5)), 0.1 * rng.standard_normal(5), "fc1"),
        BatchNorm(5, name="bn"),
        Tanh("tanh"),
        Dropout(0.3, np.random.default_rng(rng.integers(2**32)), name="drop"),
        Affine(0.3 * rng.standard_normal((5, 4)), 0.1 * rng.standard_normal(4), "fc2"),
        Sigmoid("sig"),
        Affine(0.3 * rng.standard_normal((4, 3)), 0.1 * rng.standard_normal(3), "fc3"),
    ]
    return Network(layers, loss or SoftmaxCrossEntropy(), l2=l2, input_shape=(2, 4, 4),
                   dtype=dtype)


# -- shapes ------------------------------------------------------------------------------------


def test_shapes_propagate_through_every_layer():
    net = mixed_network(np.random.default_rng(0))
    assert net.shapes == [(3, 4, 4), (3, 4, 4), (3, 2, 2), (12,), (5,), (5,), (5,), (5,), (4,),
                          (4,), (3,)]
    x = np.random.default_rng(1).standard_normal((6, 2, 4, 4))
    net.forward(x)
    for i, shape in enumerate(net.shapes):
        out = net.inputs[i + 1] if i + 1 < len(net) else net.output
        assert out.shape == (6, *shape), net.layers[i].name


def test_the_books_simple_conv_net_shapes():
    rng = np.random.default_rng(0)
    net = Network(
        [Conv2D(rng.standard_normal((30, 1, 5, 5)), np.zeros(30), name="conv1"), ReLU("relu1"),
         MaxPool2D(2, name="pool1"), Affine(rng.standard_normal((4320, 100)), np.zeros(100), "fc1"),
         ReLU("relu2"), Affine(rng.standard_normal((100, 10)), np.zeros(10), "fc2")],
        SoftmaxCrossEntropy(), input_shape=(1, 28, 28))
    assert net.shapes[:3] == [(30, 24, 24), (30, 24, 24), (30, 12, 12)]
    assert net.shapes[-1] == (10,)


@pytest.mark.parametrize(
    ("layers", "input_shape", "message"),
    [
        ([Affine(np.zeros((4, 3)), np.zeros(3), "fc1"),
          Affine(np.zeros((4, 2)), np.zeros(2), "fc2")], (4,),
         r"Affine layer 'fc2' has 4 inputs, but the layer before it produces 3 values"),
        ([Conv2D(np.zeros((2, 3, 3, 3)), np.zeros(2), name="conv1")], (1, 8, 8),
         r"Conv2D layer 'conv1' has 3 input channels, but its input has 1"),
        ([MaxPool2D(2, name="pool1")], (1, 5, 5), r"MaxPool2D layer 'pool1'.*does not tile"),
        ([Affine(np.zeros((4, 3)), np.zeros(3), "fc1"), BatchNorm(4, name="bn1")], (4,),
         r"BatchNorm layer 'bn1' normalises 4 features, but its input has 3"),
        ([Affine(np.zeros((4, 1)), np.zeros(1), "fc1")], (4,), r"at least 2 class scores"),
    ],
    ids=["affine", "conv-channels", "pool-geometry", "batchnorm", "loss"],
)
def test_shape_mismatches_raise_a_clear_shape_error(layers, input_shape, message):
    with pytest.raises(ShapeError, match=message):
        Network(layers, SoftmaxCrossEntropy(), input_shape=input_shape)


def test_layer_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        Network([ReLU(), ReLU()], MeanSquaredError())


class BookStyleRelu:  # a student's layer, written the book's way: not a bt.Layer
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


def test_a_book_style_layer_or_loss_is_told_how_to_get_in():
    """Handed straight to bt.Network, a student's own layer was an AttributeError ('name')."""
    with pytest.raises(TypeError, match=r"layer 1 is a BookStyleRelu, not a bt.Layer.*"
                                        r"bt.from_book\(obj\)"):
        Network([ReLU(), BookStyleRelu()], MeanSquaredError())
    with pytest.raises(TypeError, match="the loss is a BookStyleRelu, not a bt.Loss"):
        Network([ReLU()], BookStyleRelu())


# -- the step sequence -------------------------------------------------------------------------


def test_stepping_layer_by_layer_matches_forward_and_backward():
    rng = np.random.default_rng(0)
    net = mixed_network(rng)
    x = rng.standard_normal((4, 2, 4, 4))
    t = rng.integers(0, 3, size=4)
    with net.frozen():  # the same Dropout mask and BatchNorm statistics for both passes
        net.forward(x)
        loss = net.loss(x, t)
        net.backward()
        whole = {f"{layer.name}.{k}": g.copy() for layer in net.layers
                 for k, g in layer.grads.items()}
        dx_whole = net.dinputs[0].copy()

        h = x
        for i in range(len(net)):
            h = net.forward_layer(i, h)
        assert net.compute_loss(h, t) == loss
        dout = net.backward_loss()
        for i in reversed(range(len(net))):
            assert net.inputs[i] is not None
            dout = net.backward_layer(i, dout)
    for layer in net.layers:
        for k, g in layer.grads.items():
            np.testing.assert_array_equal(g, whole[f"{layer.name}.{k}"])
    np.testing.assert_array_equal(dout, dx_whole)


def test_backward_can_skip_the_input_gradient():
    rng = np.random.default_rng(0)
    net = mixed_network(rng)
    net.loss(rng.standard_normal((3, 2, 4, 4)), np.array([0, 1, 2]))
    assert net.backward(need_input_grad=False) is None
    assert net.dinputs[0] is None and net.dinputs[1] is not None
    assert set(net.layers[0].grads) == {"W", "b"}


# -- L2 ----------------------------------------------------------------------------------------


def test_l2_adds_half_lambda_sum_of_squared_weights_and_lambda_w_to_dw_only():
    lam = 0.3
    x = np.random.default_rng(5).standard_normal((4, 2, 4, 4))
    t = np.array([0, 1, 2, 1])
    nets = {}
    for l2 in (0.0, lam):
        net = mixed_network(np.random.default_rng(1), l2=l2)
        with net.frozen():
            net.layers[7].p = 0.0  # no Dropout randomness between the two networks
            nets[l2] = (net, net.loss(x, t))
            net.backward()
    (plain, loss0), (reg, loss1) = nets[0.0], nets[lam]
    weights = [reg.layers[i].params["W"] for i in (0, 4, 8, 10)]  # conv + 3 affine
    expected = 0.5 * lam * sum(float(np.sum(W * W)) for W in weights)
    assert reg.l2_loss == pytest.approx(expected, rel=1e-14)
    assert reg.data_loss == plain.data_loss
    assert loss1 == pytest.approx(loss0 + expected, rel=1e-14)
    for a, b in zip(plain.layers, reg.layers, strict=True):
        for k in a.grads:
            if k == "W":
                np.testing.assert_allclose(b.grads[k] - a.grads[k], lam * b.params[k],
                                           rtol=1e-12, atol=1e-15)
            else:  # biases, gamma and beta are not decayed
                np.testing.assert_array_equal(b.grads[k], a.grads[k])


def test_l2_leaves_non_trainable_layers_alone():
    W = np.array([[0.5, 1.0], [0.5, -1.0]])
    net = Network([Affine(W.copy(), np.zeros(2), "gate")], SoftmaxCrossEntropy(), l2=1.0)
    net.layers[0].trainable = False
    net.loss(np.ones((1, 2)), np.array([0]))
    assert net.l2_loss == 0.0
    net.backward()
    np.testing.assert_array_equal(net.layers[0].grads["W"],
                                  np.ones((2, 1)) @ net.dout)  # no λ·W added


# -- dtypes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, SigmoidBCE, MeanSquaredError])
@pytest.mark.parametrize("one_hot", [False, True])
def test_float32_network_stays_float32(loss_cls, one_hot):
    """No silent upcast: every activation, cache, gradient and parameter stays float32."""
    rng = np.random.default_rng(0)
    net = mixed_network(rng, dtype="float32", l2=1e-3, loss=loss_cls())
    x = rng.standard_normal((5, 2, 4, 4))  # float64 input: cast on entry
    labels = rng.integers(0, 3, size=5)
    t = np.eye(3)[labels] if one_hot or loss_cls is SigmoidBCE else labels
    loss = net.loss(x, t)
    assert isinstance(loss, float) and np.isfinite(loss)
    dx = net.backward()
    f32 = np.dtype(np.float32)
    assert net.output.dtype == f32 and net.dout.dtype == f32 and dx.dtype == f32
    for i, layer in enumerate(net.layers):
        assert net.inputs[i].dtype == f32, f"input of {layer.name}"
        assert net.dinputs[i].dtype == f32, f"dx of {layer.name}"
        for store in ("params", "grads", "buffers"):
            for k, v in getattr(layer, store).items():
                assert v.dtype == f32, f"{layer.name}.{store}[{k}] is {v.dtype}"
        for k, v in layer.cache.items():
            if v.dtype.kind == "f":
                assert v.dtype == f32, f"{layer.name}.cache[{k}] is {v.dtype}"
    # an optimizer step keeps the parameters float32 too
    Momentum(0.1).step(net)
    for layer in net.layers:
        for k, v in layer.params.items():
            assert v.dtype == f32, f"{layer.name}.{k} after the update"


# -- determinism and state ---------------------------------------------------------------------


def _train(seed: int, steps: int = 4) -> Network:
    rng = np.random.default_rng(seed)
    net = mixed_network(rng, l2=1e-3)
    data = np.random.default_rng(100)
    opt = Momentum(0.05)
    for _ in range(steps):
        net.loss(data.standard_normal((6, 2, 4, 4)), data.integers(0, 3, size=6))
        net.backward(need_input_grad=False)
        opt.step(net)
    return net


def test_same_seed_is_bit_identical():
    a, b, c = _train(7), _train(7), _train(8)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].tobytes() == sb[k].tobytes(), k
    np.testing.assert_array_equal(a.layers[7].cache["mask"], b.layers[7].cache["mask"])
    assert any(sa[k].tobytes() != sc[k].tobytes() for k in sa)  # and the seed matters


def test_state_dict_round_trip():
    trained = _train(3)
    state = trained.state_dict()
    assert {"conv.W", "conv.b", "bn.gamma", "bn.beta", "bn.running_mean", "bn.running_var",
            "fc3.W"} <= set(state)
    assert not np.all(state["bn.running_mean"] == 0)  # buffers are part of the state
    state["fc1.W"][0, 0] += 1.0  # a copy: changing it leaves the network alone
    assert trained.layers[4].params["W"][0, 0] != state["fc1.W"][0, 0]
    state = trained.state_dict()

    fresh = mixed_network(np.random.default_rng(99), l2=1e-3)
    fresh.load_state_dict(state)
    x = np.random.default_rng(4).standard_normal((5, 2, 4, 4))
    np.testing.assert_array_equal(fresh.forward(x, train=False), trained.forward(x, train=False))
    for k, v in fresh.state_dict().items():
        assert v.tobytes() == state[k].tobytes(), k

    with pytest.raises(KeyError, match="missing.*conv.W"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "conv.W"})
    with pytest.raises(KeyError, match="unexpected.*extra"):
        fresh.load_state_dict({**state, "extra.W": np.zeros(1)})
    with pytest.raises(ValueError, match="fc1.W"):
        fresh.load_state_dict({**state, "fc1.W": np.zeros((3, 3))})


# -- prediction --------------------------------------------------------------------------------


def test_predict_and_accuracy_run_in_eval_mode_and_restore_it():
    rng = np.random.default_rng(0)
    net = mixed_network(rng)
    x = rng.standard_normal((7, 2, 4, 4))
    scores = net.forward(x, train=False)
    net.train(True)
    expected = scores.argmax(axis=1)
    np.testing.assert_array_equal(net.predict(x), expected)
    np.testing.assert_array_equal(net.predict(x, batch_size=3), expected)  # batches agree
    assert all(layer.training for layer in net.layers)  # training mode restored
    labels = expected.copy()
    labels[:2] = (labels[:2] + 1) % 3
    assert net.accuracy(x, labels) == pytest.approx(5 / 7)
    assert net.accuracy(x, np.eye(3)[labels]) == pytest.approx(5 / 7)
    assert np.isnan(net.accuracy(x[:0], labels[:0]))


def test_predict_with_a_single_sigmoid_output():
    net = Network([Affine(np.array([[1.0]]), np.array([0.0]), "fc")], SigmoidBCE())
    np.testing.assert_array_equal(net.predict(np.array([[-2.0], [0.5], [3.0]])), [0, 1, 1])
    assert net.accuracy(np.array([[-2.0], [0.5]]), np.array([[0.0], [0.0]])) == 0.5


# -- frozen ------------------------------------------------------------------------------------


def test_frozen_reuses_dropout_masks_and_keeps_batchnorm_statistics():
    rng = np.random.default_rng(0)
    net = mixed_network(rng)
    x = rng.standard_normal((6, 2, 4, 4))
    net.forward(x)
    drop, bn = net.layers[7], net.layers[5]
    mask = drop.cache["mask"].copy()
    stats = {k: v.copy() for k, v in bn.buffers.items()}
    with net.frozen():
        assert all(layer.frozen for layer in net.layers)
        y1 = net.forward(x)
        y2 = net.forward(x)
        np.testing.assert_array_equal(y1, y2)
        np.testing.assert_array_equal(drop.cache["mask"], mask)
        for k, v in stats.items():
            np.testing.assert_array_equal(bn.buffers[k], v)
    assert not any(layer.frozen for layer in net.layers)
    net.forward(x)  # outside: a fresh mask and updated statistics
    assert not np.array_equal(drop.cache["mask"], mask)
    assert not np.array_equal(bn.buffers["running_mean"], stats["running_mean"])


def test_frozen_restores_previous_flags_even_on_error():
    net = mixed_network(np.random.default_rng(0))
    net.layers[2].frozen = True  # already frozen before: stays frozen after
    with pytest.raises(RuntimeError), net.frozen():
        with net.frozen():
            pass
        assert all(layer.frozen for layer in net.layers)
        raise RuntimeError("boom")
    assert [layer.frozen for layer in net.layers] == [i == 2 for i in range(len(net))]


def test_sgd_on_the_network_reduces_the_loss():
    """A sanity run: 50 SGD steps on a fixed batch reduce the loss (the gradient points uphill)."""
    rng = np.random.default_rng(0)
    net = mixed_network(rng)
    net.layers[7].p = 0.0
    x = rng.standard_normal((8, 2, 4, 4))
    t = rng.integers(0, 3, size=8)
    first = net.loss(x, t)
    opt = SGD(0.5)
    for _ in range(50):
        net.loss(x, t)
        net.backward(need_input_grad=False)
        opt.step(net)
    assert net.loss(x, t) < 0.5 * first
