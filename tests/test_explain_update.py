"""bt.explain of the update for SGD, Momentum, AdaGrad and Adam: W_new[i,j] from W, dW and the
optimizer's state for that entry — the terms sum to the parameter the update wrote, the inputs
are exactly the entries that change it, and without ``before`` nothing changes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_explain import EXAMPLES, assert_sums, xor_net

import backprop_tui as bt
from backprop_tui.engine.explain import Entry, ExplainError, explain
from backprop_tui.engine.explain_update import explain_update
from backprop_tui.engine.optim import OPTIMIZERS

OPTS = {"sgd": lambda: bt.SGD(0.1), "momentum": lambda: bt.Momentum(0.1, 0.9),
        "adagrad": lambda: bt.AdaGrad(0.1), "adam": lambda: bt.Adam(0.01)}


def _trained(kind: str, seed: int, n: int, d: int, steps: int) -> tuple[bt.Network, object, dict]:
    """An Affine + softmax network after ``steps`` updates, then one more backward: returns the
    network, the optimizer and ``before`` (params and state) of the last update."""
    rng = np.random.default_rng(seed)
    net = bt.Network([bt.Affine(rng.normal(size=(d, 2)), rng.normal(size=2), name="affine1")],
                     bt.SoftmaxCrossEntropy(), l2=0.01)
    opt = OPTS[kind]()
    x, t = rng.normal(size=(n, d)), rng.integers(0, 2, size=n)
    for _ in range(steps):
        net.loss(x, t)
        net.backward()
        before = {"params": {k: p.copy() for k, _, p in
                             ((f"{ly.name}.{k}", ly, p) for ly in net.layers
                              for k, p in ly.params.items())},
                  "state": opt.state_dict()}
        opt.step(net)
    return net, opt, before


@EXAMPLES
@given(kind=st.sampled_from(sorted(OPTS)), seed=st.integers(0, 10**6), n=st.integers(1, 4),
       d=st.integers(1, 3), steps=st.integers(1, 3))
def test_the_update_sums_to_the_parameter_it_wrote(kind, seed, n, d, steps):
    net, opt, before = _trained(kind, seed, n, d, steps)
    for key in ("affine1.W", "affine1.b"):
        for idx in np.ndindex(net.layers[0].params[key[-1]].shape):
            e = explain(net, "update", key, idx, optimizer=opt, before=before)
            assert e.value == net.layers[0].params[key[-1]][idx]
            assert_sums(e)
            _assert_inputs_exact(net, opt, before, key, idx, e)


def _assert_inputs_exact(net, opt, before, key, idx, e) -> None:
    """Perturb each entry of W (before), dW and every state slot of this parameter: W_new[idx],
    as the optimizer's own update computes it, changes exactly for the listed inputs."""
    layer_name, k = key.split(".")
    layer = net.layers[net.index(layer_name)]
    state = {s: v for s, v in before["state"].items() if s.endswith(f":{key}")}

    def update(w, g, st_):
        o = copy.copy(opt)
        o.state = {s: v.copy() for s, v in st_.items()}
        o.t = int(before["state"]["__t__"]) + 1
        p = w.copy()
        o.update(key, p, g.copy())
        return p[idx]

    w, g = before["params"][key].copy(), layer.grads[k].copy()
    base = update(w, g, state)
    assert base == e.value
    arrays = {Entry(layer_name, k, ()): w, Entry(layer_name, f"d{k}", ()): g}
    arrays.update({Entry("update", s, ()): v.copy() for s, v in state.items()})
    listed = set(e.inputs)
    for entry, a in arrays.items():
        for j in np.ndindex(a.shape):
            old = a[j]
            a[j] = 2 * abs(old) + 0.5  # never old; a square stays ≥ 0
            st_ = {s: arrays.get(Entry("update", s, ()), v) for s, v in state.items()}
            changed = update(w, g, st_) != base
            a[j] = old
            assert changed == (Entry(entry.layer, entry.tensor, j) in listed), (entry, j)


@pytest.mark.parametrize("kind", sorted(OPTS))
def test_without_before_it_is_the_update_the_optimizer_would_make(kind):
    net, opt, _ = _trained(kind, 4, 3, 2, 2)
    net.loss(np.ones((3, 2)), np.array([0, 1, 1]))
    net.backward()
    params, state = copy.deepcopy(net.state_dict()), copy.deepcopy(opt.state_dict())
    e = explain(net, "update", "affine1.W", (1, 0), optimizer=opt)
    assert_sums(e)
    assert "would make now" in e.notes[-1]
    for key, v in net.state_dict().items():
        assert np.array_equal(v, params[key])
    assert opt.state_dict().keys() == state.keys()
    assert all(np.array_equal(v, state[s]) for s, v in opt.state_dict().items())
    opt.step(net)
    assert e.value == net.layers[0].params["W"][1, 0]


def test_the_notes_show_the_optimizers_state_with_numbers():
    net, opt, before = _trained("adam", 1, 3, 2, 2)
    e = explain(net, "update", "affine1.W", (0, 1), optimizer=opt, before=before)
    assert "(t = 2)" in e.substituted
    assert any(note.startswith("bias-corrected: m̂ = m / (1 − β₁ᵗ)") for note in e.notes)
    assert Entry("update", "m:affine1.W", (0, 1)) in e.inputs
    net, opt, before = _trained("adagrad", 1, 3, 2, 2)
    e = explain(net, "update", "affine1.W", (0, 1), optimizer=opt, before=before)
    assert "(all squared gradients so far)" in e.notes[0] and "√" in e.formula


def test_the_stepper_hands_over_its_snapshot_as_before():
    sc = bt.load_scenario("xor")
    session_net = sc.build_network(seed=0, dtype="float64")
    opt = sc.build_optimizer()
    stepper = bt.Stepper(session_net, opt, sc.batches(4, 0))
    for _ in range(stepper.steps_per_iteration):
        stepper.step()
    assert stepper.complete
    before = stepper.state_before_update()
    e = explain(session_net, "update", "affine2.W", (3, 1), optimizer=opt, before=before)
    assert e.value == session_net.layers[2].params["W"][3, 1]
    assert_sums(e)
    same = explain_update(session_net, opt, "affine2.W", (3, 1), before["params"],
                          before["state"])
    assert same.terms == e.terms


def test_update_errors():
    net = xor_net()
    opt = OPTIMIZERS["sgd"](0.1)
    with pytest.raises(ExplainError, match="update has no tensor 'affine1.V'; it has affine1.W"):
        explain(net, "update", "affine1.V", (0, 0), optimizer=opt)
    fresh = bt.load_scenario("xor").build_network(seed=0, dtype="float64")
    with pytest.raises(ExplainError, match="dW is not computed yet"):
        explain(fresh, "update", "affine1.W", (0, 0), optimizer=opt)


def test_an_optimizer_of_the_users_own_has_no_rule():
    class Sign(bt.engine.Optimizer):
        def update(self, key, p, g):
            p -= self.lr * np.sign(g)

    net = xor_net()
    with pytest.raises(ExplainError, match=r"no rule explains update.affine1.W \(Sign\)"):
        explain(net, "update", "affine1.W", (0, 0), optimizer=Sign(0.1))


def test_the_state_an_update_reads_is_explained_too():
    net, opt, before = _trained("momentum", 2, 3, 2, 2)
    e = explain(net, "update", "affine1.W", (1, 1), optimizer=opt, before=before)
    state = next(i for i in e.inputs if i.tensor == "v:affine1.W")
    s = explain(net, state.layer, state.tensor, state.index, optimizer=opt, before=before)
    assert s.value == before["state"]["v:affine1.W"][1, 1] and s.inputs == []
    assert "before the step" in s.formula
    w = next(i for i in e.inputs if i.tensor == "W")
    assert explain(net, w.layer, "W", w.index, optimizer=opt, before=before).terms[0][1] == \
        before["params"]["affine1.W"][1, 1]


@pytest.mark.parametrize("before, words", [
    ({"foo": 1}, "'foo'"), ((1, 2), "before=tuple"), ({"params": (1,)}, "before['params']"),
    ({"state": [1]}, "before['state']")])
def test_a_wrong_before_is_refused_naming_the_keys(before, words) -> None:
    net = xor_net()
    opt = bt.SGD(lr=0.1)
    with pytest.raises(ExplainError) as err:
        explain(net, "update", "affine1.W", (0, 0), optimizer=opt, before=before)
    msg = str(err.value)
    assert words in msg and "params" in msg and "state" in msg and "\n" not in msg


def test_a_wrong_optimizer_is_refused() -> None:
    with pytest.raises(ExplainError, match="optimizer=tuple: expected an optimizer"):
        explain(xor_net(), "update", "affine1.W", (0, 0), optimizer=(0.1,))
