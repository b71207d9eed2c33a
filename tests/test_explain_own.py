"""bt.explain on a user's own layer (a book-style layer through from_book, a Layer subclass):
no formula, the analytic entry next to its numerical derivative, the dout entries and samples
that move it most, and a mismatch said in the text — the user's network left as it was."""

from __future__ import annotations

import math

import numpy as np
import pytest
from own_code import book_style as B
from test_explain import assert_sums

import backprop_tui as bt
from backprop_tui.engine.explain import Entry, explain, num


def _book_net(affine: type, seed: int = 0) -> tuple[bt.Network, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, t = rng.normal(size=(5, 4)), rng.integers(0, 3, size=5)
    layers = [bt.from_book(affine(rng.normal(size=(4, 3)), rng.normal(size=3)), name="fc"),
              bt.from_book(B.Sigmoid(), name="sig")]
    net = bt.Network(layers, bt.SoftmaxCrossEntropy())
    net.loss(x, t)
    net.backward()
    return net, x


def _local_derivative(net: bt.Network, i: int, name: str, idx: tuple[int, ...]) -> float:
    """⟨forward(x; θ), dout⟩ differentiated by hand, five-point, on the layer's own arrays."""
    layer = net.layers[i]
    a = net.inputs[i].copy() if name == "x" else layer.params[name]
    dout = net.dinputs[i + 1] if i + 1 < len(net.layers) else net.dout
    old, h = a[idx], 1e-4
    values = []
    for step in (2 * h, h, -h, -2 * h):
        a[idx] = old + step
        values.append(float(np.vdot(layer.forward(a if name == "x" else net.inputs[i].copy()),
                                    dout)))
    a[idx] = old
    layer.forward(net.inputs[i].copy())
    return (8 * (values[1] - values[2]) - (values[0] - values[3])) / (12 * h)


def test_a_book_layers_gradient_is_its_value_next_to_the_numerical_derivative():
    net, _ = _book_net(B.Affine)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    grads = net.layers[0].grads["W"].copy()
    e = explain(net, "fc", "dW", (1, 2))
    assert e.value == net.layers[0].grads["W"][1, 2]
    assert e.terms == [("analytic (your code)", e.value)]
    assert_sums(e)
    assert e.numeric == pytest.approx(_local_derivative(net, 0, "W", (1, 2)), rel=1e-7)
    assert e.numeric == pytest.approx(e.value, rel=1e-6)
    assert e.formula.startswith("no formula: fc") and "your own code" in e.formula
    assert any(note.startswith("agrees with the numerical derivative") for note in e.notes)
    assert any(note.startswith("per sample (they sum to the numerical derivative)")
               for note in e.notes)
    # dW[1,2] = Σₙ x[n,1]·dout[n,2]: the dout entries of column 2 move it, no other
    assert set(e.inputs) == {Entry("fc", "dout", (n, 2)) for n in range(5)}
    assert "numerical derivative (centered differences)" in str(e)
    for k, v in net.state_dict().items():  # the user's network is left as it was
        assert np.array_equal(v, before[k])
    assert np.array_equal(net.layers[0].grads["W"], grads)


def test_a_wrong_backward_is_said_with_both_numbers():
    net, _ = _book_net(B.AffineTransposedDW)
    e = explain(net, "fc", "dW", (1, 2))
    flagged = [n for n in e.notes if n.startswith("MISMATCH")]
    assert len(flagged) == 1
    assert f"your backward's dW[1,2] = {num(e.value)}, numerically {num(e.numeric)}" in flagged[0]
    assert not math.isclose(e.value, e.numeric, rel_tol=1e-3)
    assert "MISMATCH" in str(e)


def test_sigmoid_from_input_is_caught_in_dx():
    rng = np.random.default_rng(2)
    net = bt.Network([bt.from_book(B.SigmoidFromInput(), name="sig")], bt.MeanSquaredError())
    net.loss(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    net.backward()
    e = explain(net, "sig", "dx", (1, 0))
    assert any(n.startswith("MISMATCH: your backward's dx[1,0]") for n in e.notes)
    assert e.inputs == [Entry("sig", "dout", (1, 0))]  # elementwise: its own dout only
    good = bt.Network([bt.from_book(B.Sigmoid(), name="sig")], bt.MeanSquaredError())
    good.loss(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    good.backward()
    assert any(n.startswith("agrees") for n in explain(good, "sig", "dx", (1, 0)).notes)


def test_a_forward_entry_names_what_moves_it():
    net, _ = _book_net(B.Affine)
    e = explain(net, "fc", "y", (3, 1))
    assert e.terms == [("your forward's output", net.inputs[1][3, 1])]
    assert set(e.inputs) == ({Entry("fc", "x", (3, i)) for i in range(4)}
                             | {Entry("fc", "W", (i, 1)) for i in range(4)}
                             | {Entry("fc", "b", (1,))})
    assert any(n.startswith("what moves it most") for n in e.notes)


class Cube(bt.Layer):
    """A Layer subclass of the user's: y = x³, with a deliberately wrong backward (2x²)."""

    def forward(self, x):
        self.cache["x"] = x
        return x ** 3

    def backward(self, dout, need_dx=True):
        return dout * 2 * self.cache["x"] ** 2


def test_a_layer_subclass_without_a_rule_is_explained_numerically():
    rng = np.random.default_rng(3)
    net = bt.Network([Cube(name="cube")], bt.MeanSquaredError())
    net.loss(rng.normal(size=(2, 2)), rng.normal(size=(2, 2)))
    net.backward()
    e = explain(net, "cube", "dx", (0, 1))
    x, dout = net.inputs[0][0, 1], net.dout[0, 1]
    assert e.numeric == pytest.approx(3 * x * x * dout, rel=1e-7)
    assert any(n.startswith("MISMATCH") for n in e.notes)


def test_a_book_loss_dscores_next_to_the_numerical_derivative():
    rng = np.random.default_rng(4)
    layer = bt.Affine(rng.normal(size=(3, 3)), np.zeros(3), name="affine1")
    net = bt.Network([layer], bt.from_book(B.SoftmaxWithLoss()))
    net.loss(rng.normal(size=(4, 3)), rng.integers(0, 3, size=4))
    net.backward()
    name = net.loss_layer.name
    e = explain(net, "loss", "dscores", (2, 1))
    assert e.entry == Entry(name, "dscores", (2, 1)) and e.value == net.dout[2, 1]
    assert e.numeric == pytest.approx(e.value, rel=1e-4)  # the book's log(y + 1e-7)
    e = explain(net, "loss", "loss", ())
    assert set(e.inputs) == {Entry(name, "scores", i) for i in np.ndindex(4, 3)}


def test_a_book_loss_has_no_sample_terms_and_one_without_targets_says_so():
    class Half:  # the book's way, keeps no t
        def forward(self, x, t):
            self.out = x
            return float(0.5 * (x * x).sum())

        def backward(self, dout=1):
            return self.out * dout

    rng = np.random.default_rng(5)
    net = bt.Network([bt.Affine(rng.normal(size=(2, 2)), np.zeros(2), name="affine1")],
                     bt.from_book(B.SoftmaxWithLoss()))
    net.loss(rng.normal(size=(3, 2)), np.array([0, 1, 1]))
    net.backward()
    with pytest.raises(bt.ExplainError, match="known for the built-in losses only"):
        explain(net, "loss", "loss", (0,))
    net = bt.Network([bt.Affine(rng.normal(size=(2, 2)), np.zeros(2), name="affine1")],
                     bt.from_book(Half()))
    net.loss(rng.normal(size=(3, 2)), np.zeros(3))
    net.backward()
    e = explain(net, "loss", "dscores", (1, 1))
    assert e.value == net.dout[1, 1] and "keeps no targets" in e.notes[0]
