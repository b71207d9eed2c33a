"""explain on the find-the-bug exercises' planted pieces: a variant is a built-in with one
wrong method, so it is explained by the real piece's formula (the code's entry that differs
from the terms is noted), never as "your own code"; a user's subclass keeps the numeric
treatment."""

from __future__ import annotations

import numpy as np
import pytest

import backprop_tui as bt
from backprop_tui.engine import mistakes
from backprop_tui.engine.explain import ExplainError, explain


def _net(loss: object, seed: int = 0) -> tuple[bt.Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 3))
    def affine(name: str) -> bt.Affine:
        return bt.Affine(rng.normal(size=(3, 3)), rng.normal(size=3), name=name)

    layers = [affine("affine1"), bt.ReLU(name="relu1"), affine("affine2"),
              bt.Sigmoid(name="sig1"), affine("affine3")]
    t = rng.integers(0, 3, size=6) if isinstance(loss, bt.SoftmaxCrossEntropy) else \
        rng.random(size=(6, 3))
    return bt.Network(layers, loss), x, t


CASES = [(m, site, loss) for loss in (bt.SoftmaxCrossEntropy(), bt.MeanSquaredError())
         for m, sites in mistakes.applicable(_net(loss)[0], bt.SGD(lr=0.1), 6)
         if m.phase != "update" for site in sites[:1]]


@pytest.mark.parametrize("m, site, loss", CASES, ids=[f"{m.id}-{s}" for m, s, _ in CASES])
def test_a_planted_piece_is_explained_by_the_real_pieces_formula(m, site, loss) -> None:
    net, x, t = _net(type(loss)())
    mistakes.plant(m, site, net, bt.SGD(lr=0.1))
    net.loss(x, t)
    net.backward()
    layer = "loss" if site == "loss" else site
    shape = np.shape(net.loss_layer.cache.get(m.tensor)) if site == "loss" else None
    idx = (0,) * (len(shape) if shape else 2)
    try:
        e = explain(net, layer, m.tensor, idx)
    except ExplainError as err:  # a loss tensor the rule names otherwise
        pytest.fail(str(err))
    text = str(e)
    assert "your own code" not in text and "no rule" not in text, text
    assert e.numeric is None and e.formula and not e.formula.startswith("no formula")


def test_a_users_subclass_of_a_built_in_keeps_the_numeric_treatment() -> None:
    class MyAffine(bt.Affine):
        def backward(self, dout, need_dx=True):
            return super().backward(dout, need_dx)

    net, x, t = _net(bt.SoftmaxCrossEntropy())
    net.layers[0].__class__ = MyAffine
    net.loss(x, t)
    net.backward()
    e = explain(net, "affine1", "dW", (0, 0))
    assert e.formula.startswith("no formula") and e.numeric is not None


def test_the_planted_entry_that_differs_from_its_formula_is_noted() -> None:
    net, x, t = _net(bt.SoftmaxCrossEntropy())
    mistakes.plant(mistakes.BY_ID["loss-no-mean"], "loss", net, bt.SGD(lr=0.1))
    net.loss(x, t)
    net.backward()
    e = explain(net, "loss", "dscores", (0, 0))
    assert any(n.startswith("the code's dscores[0,0]") for n in e.notes), e.notes
