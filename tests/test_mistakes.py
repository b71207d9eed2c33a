"""The find-the-bug catalogue (engine/mistakes.py): each planted mistake shows where it is —
the local gradient check fails on exactly its layer and passes every other one, or the update
of exactly its parameter leaves the correct optimizer's — and nowhere else; the catalogue says
which built-in scenarios each applies to; the exercise's answers and hints (tui/exercise.py)."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_tui.engine import mistakes as M
from backprop_tui.engine.conv import Conv2D, MaxPool2D
from backprop_tui.engine.gradcheck import gradcheck
from backprop_tui.engine.layers import Affine, Flatten, ReLU
from backprop_tui.engine.losses import SoftmaxCrossEntropy
from backprop_tui.engine.network import Network
from backprop_tui.engine.optim import SGD, AdaGrad, Momentum
from backprop_tui.scenario import load_scenario
from backprop_tui.tui.exercise import catalogue_scenarios, start_exercise

# where each layer mistake is checked: a small built-in scenario it applies to, and the site
GRADIENT_MISTAKES = {
    "loss-no-mean": ("xor", "loss"),
    "affine-dw-transposed": ("iris", "affine2"),
    "relu-mask-from-dout": ("iris", "relu2"),
    "sigmoid-derivative-of-x": ("xor-sigmoid", "sigmoid1"),
    "l2-lambda-without-w": ("xor", "affine1"),
    "dropout-no-scale": ("iris-dropout", "dropout2"),
}


def first_batch(name: str):
    sc = load_scenario(name)
    x, t = sc.batches(sc.debug_batch_size, 0).next()
    return sc, np.asarray(x, dtype=np.float64), t


def failing_layers(net: Network, x, t) -> set[str]:
    report = gradcheck(net, x, t, mode="full", end_to_end=False)
    assert {c.layer for c in report.checks} == {*(lay.name for lay in net.layers), "loss"}
    return {c.layer for c in report.checks if not c.passed}


def test_the_catalogue_is_the_issues_list() -> None:
    assert [m.id for m in M.CATALOGUE] == [
        "loss-no-mean", "affine-dw-transposed", "relu-mask-from-dout",
        "sigmoid-derivative-of-x", "sgd-bias-from-itself", "l2-lambda-without-w",
        "momentum-uphill", "adagrad-no-sqrt", "softmax-no-max", "dropout-no-scale",
        "maxpool-first-entry"]
    for m in M.CATALOGUE:  # each variant is a subclass of the real piece, one method wrong
        for real, variant in m.variants.items():
            assert issubclass(variant, real) and variant is not real
        assert m.title and m.wrong and m.right and m.wrong != m.right and m.explanation


@pytest.mark.parametrize("mistake", list(GRADIENT_MISTAKES))
def test_gradient_check_fails_on_exactly_the_planted_layer(mistake: str) -> None:
    name, site = GRADIENT_MISTAKES[mistake]
    sc, x, t = first_batch(name)
    net, opt = sc.build_network(), sc.build_optimizer()
    assert failing_layers(net, x, t) == set()  # the real pieces pass
    m = M.BY_ID[mistake]
    assert site in m.sites(net, opt, len(x))
    planted = M.plant(m, site, net, opt)
    assert failing_layers(net, x, t) == {site}
    layer, tensor = planted.answer
    assert (layer, tensor) == (site, m.tensor)


def test_max_pool_to_the_first_entry_fails_on_the_pool_alone() -> None:
    rng = np.random.default_rng(3)
    net = Network([Conv2D(rng.normal(0, 0.5, (3, 1, 3, 3)), np.zeros(3)), ReLU(),
                   MaxPool2D(2), Flatten(), Affine(rng.normal(0, 0.5, (12, 3)), np.zeros(3))],
                  SoftmaxCrossEntropy(), input_shape=(1, 6, 6))
    x, t = rng.normal(size=(4, 1, 6, 6)), np.array([0, 1, 2, 1])
    assert failing_layers(net, x, t) == set()
    M.plant(M.BY_ID["maxpool-first-entry"], "maxpool2d", net, SGD(0.1))
    assert failing_layers(net, x, t) == {"maxpool2d"}


def test_transposed_dW_on_a_square_W_passes_the_shape_checks() -> None:
    # the interesting case: dWᵀ of a 20×20 W has W's shape, so only the numbers tell
    sc, x, t = first_batch("iris")
    net = sc.build_network()
    M.plant(M.BY_ID["affine-dw-transposed"], "affine2", net, sc.build_optimizer())
    net.loss(x, t)
    net.backward()
    layer = net.layers[net.index("affine2")]
    assert layer.grads["W"].shape == layer.params["W"].shape == (20, 20)
    right = layer.cache["x"].T @ net.dinputs[net.index("affine2") + 1]
    np.testing.assert_allclose(layer.grads["W"] - sc.l2 * layer.params["W"], right.T)
    # and it is planted only where W is square (iris's 4×20 and 20×3 would fail the shape check)
    assert M.BY_ID["affine-dw-transposed"].sites(sc.build_network(), SGD(0.1), 10) == ["affine2"]


def updates(net: Network, opt, x, t) -> tuple[dict[str, np.ndarray], ...]:
    net.loss(x, t)
    net.backward()
    before = {k: layer.params[p].copy() for k, layer, p in net.parameters()}
    grads = {k: layer.grads[p].copy() for k, layer, p in net.parameters()}
    opt.step(net)
    return {k: layer.params[p] - before[k] for k, layer, p in net.parameters()}, before, grads


@pytest.mark.parametrize(("mistake", "name", "optimizer", "key"), [
    ("sgd-bias-from-itself", "xor", lambda: SGD(0.1), "affine2.b"),
    ("momentum-uphill", "xor", lambda: Momentum(0.1, 0.9), "affine1.W"),
    ("adagrad-no-sqrt", "iris-dropout", lambda: AdaGrad(0.1), "affine2.W"),
])
def test_an_update_mistake_changes_exactly_its_parameter(mistake, name, optimizer, key) -> None:
    sc, x, t = first_batch(name)
    nets = [sc.build_network(), sc.build_network()]
    opts = [optimizer(), optimizer()]
    M.plant(M.BY_ID[mistake], key, nets[0], opts[0])
    got, before, grads = updates(nets[0], opts[0], x, t)
    want, _, grads2 = updates(nets[1], opts[1], x, t)
    np.testing.assert_array_equal(grads[key], grads2[key])  # the same gradients went in
    lr = opts[0].lr
    for k in want:
        if k != key:
            np.testing.assert_array_equal(got[k], want[k])  # the rest as the real optimizer
    g, p = grads[key], before[key]
    if mistake == "sgd-bias-from-itself":
        np.testing.assert_allclose(got[key], -lr * p)  # b − lr·b, not b − lr·db
        assert not np.allclose(got[key], -lr * g)
    elif mistake == "momentum-uphill":
        np.testing.assert_allclose(got[key], lr * g)  # uphill: W + lr·dW
        np.testing.assert_allclose(want[key], -lr * g)  # the real first step: W − lr·dW
    else:
        np.testing.assert_allclose(got[key], -lr * g / (g * g + 1e-7))  # h where √h belongs
        np.testing.assert_allclose(want[key], -lr * g / (np.abs(g) + 1e-7))
        assert np.abs(got[key]).max() > 100 * np.abs(want[key]).max()


def test_softmax_without_the_max_overflows_on_large_scores() -> None:
    scores = np.array([[1000.0, 0.0, -5.0], [3.0, 800.0, 799.0]])
    t = np.array([0, 2])
    right, wrong = SoftmaxCrossEntropy(), M.SoftmaxCrossEntropyNoMax()
    assert np.isfinite(right.forward(scores, t))
    assert np.isfinite(right.cache["y"]).all()
    assert not np.isfinite(wrong.forward(scores, t))
    assert not np.isfinite(wrong.cache["y"]).all()
    # on small scores both give the same numbers: only large ones give it away
    small = scores / 1000
    assert wrong.forward(small, t) == pytest.approx(right.forward(small, t), rel=1e-12)


def test_the_planted_softmax_makes_the_loss_nan_and_the_real_one_not() -> None:
    sc, x, t = first_batch("xor")
    net, opt = sc.build_network(), sc.build_optimizer()
    M.plant(M.BY_ID["softmax-no-max"], "loss", net, opt)  # scores raised by 1000
    assert not np.isfinite(net.loss(x, t))
    net.loss_layer.__class__ = SoftmaxCrossEntropy  # the same network, the real softmax
    unraised = sc.build_network()
    assert net.loss(x, t) == pytest.approx(unraised.loss(x, t), rel=1e-9)


def test_the_catalogue_applies_where_its_piece_is() -> None:
    where = catalogue_scenarios()
    assert where["sigmoid-derivative-of-x"] == ["xor-sigmoid"]
    assert "mnist-cnn" in where["maxpool-first-entry"]
    assert where["dropout-no-scale"] == ["iris-dropout"]
    assert where["adagrad-no-sqrt"] == ["iris-dropout"]
    assert where["affine-dw-transposed"] == ["iris", "iris-dropout"]  # the square 20×20 W
    assert "mnist-mlp" in where["momentum-uphill"] and "xor" not in where["momentum-uphill"]
    assert "xor" in where["sgd-bias-from-itself"]
    assert "xor-sigmoid" not in where["loss-no-mean"]  # a batch of one: 1/N = 1
    assert all(where[m.id] for m in M.CATALOGUE)
    assert not any("perceptron" in names for names in where.values())  # no gradient there


@pytest.mark.parametrize("mistake", [m.id for m in M.CATALOGUE])
def test_the_answer_is_exactly_the_planted_layer_and_tensor(mistake: str) -> None:
    name = next(n for n in ("xor", "iris", "xor-sigmoid", "iris-dropout", "mnist-cnn")
                if n in catalogue_scenarios()[mistake])
    ex = start_exercise(name, seed=1, mistake=mistake)
    right = ex.planted.answer
    choices = ex.choices()
    assert right[1] in choices[right[0]]
    for layer, tensors in choices.items():
        for tensor in tensors:
            if (layer, tensor) != right:
                assert not ex.answer(layer, tensor), (layer, tensor)
                assert not ex.solved
    assert ex.answer(*right) and ex.solved
    assert ex.hints_used == 3
    ex.close()  # the measurement is not needed here: stop it


def test_hints_escalate_phase_ratio_place() -> None:
    ex = start_exercise("xor", seed=0, mistake="loss-no-mean")
    assert ex.hints() == []
    assert not ex.answer("affine1", "dW")
    assert ex.hints() == ["The mistake is in the backward pass: a gradient is wrong (the forward "
                          "is right)."]
    assert not ex.answer("relu1", "dx")
    # the ratio, measured: xor's batch is 4, and the loss's gradient is 4 times too large
    # the ratio does not give the place away: that is the third hint
    assert ex.hints()[1] == ("Measured: on the wrong gradient, analytic/numeric = 4 = N on every "
                             "entry.")
    assert "loss" not in ex.hints()[1]
    assert not ex.answer("loss", "y")
    assert ex.hints()[2] == "It is in the loss."
    assert not ex.answer("loss", "loss")
    assert len(ex.hints()) == 3  # three hints, no more
    assert ex.answer("loss", "dscores")
    assert "solved" in ex.summary() and "3 hints" in ex.summary() and "5 answers" in ex.summary()


def test_the_ratio_hint_names_one_minus_p_for_dropout() -> None:
    ex = start_exercise("iris-dropout", seed=0, mistake="dropout-no-scale")
    assert ex.measured().ratio.endswith("analytic/numeric = 4/5 = 1 − p on every entry")


def test_the_seed_decides_the_exercise() -> None:
    a, b = start_exercise("iris", seed=5), start_exercise("iris", seed=5)
    assert (a.planted.mistake.id, a.planted.site) == (b.planted.mistake.id, b.planted.site)
    seen = {start_exercise("iris", seed=s).planted.mistake.id for s in range(12)}
    assert len(seen) >= 4  # the seed moves it around


def test_without_a_scenario_any_built_in_whose_data_are_here() -> None:
    from backprop_tui.tui.exercise import choose

    picks = [choose(None, s) for s in range(30)]
    assert all(p.scenario.missing_data is None for p in picks)  # never CIFAR-10 without it
    assert all(p.site in p.mistake.sites(p.scenario.build_network(dry=True),
                                         p.scenario.build_optimizer(),
                                         p.scenario.debug_batch_size) for p in picks)
    assert len({p.mistake.id for p in picks}) >= 6  # each mistake as likely, not each scenario
    again = choose(None, 7)
    assert (again.scenario.name, again.mistake.id, again.site) == (
        picks[7].scenario.name, picks[7].mistake.id, picks[7].site)


def test_the_summary_says_how_to_play_it_again() -> None:
    from backprop_tui.tui.exercise import choose

    ex = start_exercise(None, seed=11)
    assert ex.replay == "backprop-tui exercise --seed 11"  # no scenario: the same pick again
    again = choose(None, 11)
    assert (again.mistake, again.site) == (ex.planted.mistake, ex.planted.site)
    assert start_exercise("xor", seed=4).replay == "backprop-tui exercise xor --seed 4"
    assert "replay: backprop-tui exercise --seed 11" in ex.summary()


def test_giving_up_prints_the_answer() -> None:
    ex = start_exercise("xor", seed=0, mistake="loss-no-mean")
    ex.close()
    out = ex.summary()
    assert "not solved" in out
    assert "The answer: missing 1/N in the loss backward in the loss (loss dscores)" in out


def test_closing_an_exercise_stops_its_measurement() -> None:
    from backprop_tui.engine.numeric import GradcheckCancelled

    ex = start_exercise("mnist-cnn", seed=0, mistake="maxpool-first-entry")
    ex.close()
    with pytest.raises(GradcheckCancelled):
        ex.measured()


@pytest.mark.parametrize("mistake", list(GRADIENT_MISTAKES))
def test_unplant_puts_the_real_piece_back(mistake: str) -> None:
    name, site = GRADIENT_MISTAKES[mistake]
    sc, x, t = first_batch(name)
    net, opt = sc.build_network(), sc.build_optimizer()
    planted = M.plant(M.BY_ID[mistake], site, net, opt)
    M.unplant(planted, net, opt)
    assert failing_layers(net, x, t) == set()


@pytest.mark.parametrize(("name", "mistake", "says"), [
    ("xor", "sgd-bias-from-itself", "should make = 0 = no change on every entry"),
    ("mnist-twolayer", "momentum-uphill", "should make = -1 = the opposite direction on every"),
    ("xor", "relu-mask-from-dout", "analytic/numeric is 0 on "),
    ("xor", "softmax-no-max", "8 of 8 entries are NaN or Inf"),
])
def test_the_ratio_hint_says_what_was_measured(name: str, mistake: str, says: str) -> None:
    ex = start_exercise(name, seed=1, mistake=mistake)
    assert says in ex.measured().ratio


def test_the_worked_entry_explains_the_right_value_next_to_the_planted_one() -> None:
    from backprop_tui.engine.explain import explain

    ex = start_exercise("xor", seed=0, mistake="loss-no-mean")
    found = ex.measured()
    title, text = ex.worked_entry()
    entry = ", ".join(map(str, found.entry))
    assert title == f"dscores[{entry}] as the correct code computes it"
    # the right value, by bt.explain on the real loss with the same batch and weights
    sc, x, t = first_batch("xor")
    net = sc.build_network()
    net.loss(x, t)
    net.backward()
    right = explain(net, "loss", "dscores", found.entry)
    assert right.value == pytest.approx(found.expected, rel=1e-6)  # = the numerical derivative
    assert str(right) in text
    assert f"your code gives {found.got:.6g}" in text and found.got == pytest.approx(
        4 * right.value)  # N = 4 times the right value
