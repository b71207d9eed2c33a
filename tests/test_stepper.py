"""The step sequence: order, records, exact step back, runs, conditions, breakpoints, train.

Every network here is built directly from engine classes and seeded, so two builds with the same
seed are bit-identical twins: one is stepped, the other replayed "from scratch" (or driven through
the engine's own batch methods) and the two are compared array by array, byte for byte.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from backprop_tui.engine import (
    SGD,
    Adam,
    Affine,
    BatchNorm,
    Conv2D,
    Dropout,
    Flatten,
    MaxPool2D,
    Momentum,
    Network,
    ReLU,
    SoftmaxCrossEntropy,
)
from backprop_tui.engine.batches import Batches
from backprop_tui.engine.conditions import (
    DeadReLU,
    GradcheckFails,
    GradNorm,
    NonFinite,
    Predicate,
    dead_fraction,
)
from backprop_tui.engine.records import StepRecord
from backprop_tui.engine.stepper import Stepper

KINDS = ("xor", "bn_dropout", "conv")


# -- networks ----------------------------------------------------------------------------------
def he(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def make(
    kind: str = "xor",
    seed: int = 0,
    *,
    lr: float | None = None,
    history_bytes: int = 64 * 1024 * 1024,
    b1: float = 0.0,
    layer_cls: type[Affine] = Affine,
) -> Stepper:
    """A fresh, seeded stepper; the same arguments always give a bit-identical twin."""
    rng = np.random.default_rng(seed)
    if kind == "xor":  # the scenario's TwoNet 2-6-2, ReLU, softmax CE
        layers = [
            Affine(he(rng, 2, 6), np.full(6, b1), name="a1"),
            ReLU(name="r1"),
            layer_cls(he(rng, 6, 2), np.zeros(2), name="a2"),
        ]
        net = Network(layers, SoftmaxCrossEntropy(), l2=1e-3, input_shape=(2,))
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
        t = np.array([0, 1, 1, 0])
        opt = SGD(0.1 if lr is None else lr)
        batches = Batches(x, t, 2, seed=seed + 1)
    elif kind == "bn_dropout":
        layers = [
            Affine(he(rng, 4, 8), np.zeros(8), name="a1"),
            BatchNorm(8, name="bn1"),
            ReLU(name="r1"),
            Dropout(0.3, np.random.default_rng(seed + 2), name="drop1"),
            Affine(he(rng, 8, 3), np.zeros(3), name="a2"),
        ]
        net = Network(layers, SoftmaxCrossEntropy(), l2=1e-3, input_shape=(4,))
        x = rng.standard_normal((20, 4))
        t = rng.integers(0, 3, 20)
        opt = Adam(0.01 if lr is None else lr)
        batches = Batches(x, t, 6, seed=seed + 1)  # 6, 6, 6, 2: a partial last batch
    elif kind == "conv":
        layers = [
            Conv2D(rng.standard_normal((3, 1, 3, 3)) * 0.5, np.zeros(3), pad=1, name="conv1"),
            ReLU(name="r1"),
            MaxPool2D(2, name="pool1"),
            Flatten(name="flat"),
            Affine(he(rng, 27, 3), np.zeros(3), name="a1"),
        ]
        net = Network(layers, SoftmaxCrossEntropy(), l2=1e-3, input_shape=(1, 6, 6))
        x = rng.standard_normal((12, 1, 6, 6))
        t = rng.integers(0, 3, 12)
        opt = Momentum(0.05 if lr is None else lr)
        batches = Batches(x, t, 4, seed=seed + 1)
    else:
        raise ValueError(kind)
    return Stepper(net, opt, batches, history_bytes=history_bytes)


# -- comparing states byte for byte ------------------------------------------------------------
def akey(a: np.ndarray) -> tuple:
    a = np.asarray(a)
    return (a.dtype.str, a.shape, a.tobytes())


def fkey(v: float | None) -> str | None:
    return None if v is None else float(v).hex()


def record_key(r: StepRecord) -> tuple:
    return (
        r.index, r.iteration, r.position, r.phase, r.layer_index, r.layer_name,
        {name: akey(v) for name, v in r.tensors().items()},
        fkey(r.loss), fkey(r.data_loss), fkey(r.l2_loss), fkey(r.accuracy), r.nonfinite,
    )


def generator_states(s: Stepper) -> list:
    return [
        layer.rng.bit_generator.state for layer in s.net.layers if isinstance(layer, Dropout)
    ]


def fingerprint(s: Stepper, *, records: bool = True) -> dict:
    """Everything that must be equal between a stepped-back stepper and a replayed one."""
    fp: dict = {}
    for layer in s.net.layers:
        for k, v in layer.params.items():
            fp[f"param {layer.name}.{k}"] = akey(v)
        for k, v in layer.buffers.items():
            fp[f"buffer {layer.name}.{k}"] = akey(v)
    for k, v in s.optimizer.state_dict().items():
        fp[f"opt {k}"] = akey(v)
    fp["rng"] = generator_states(s)
    fp["batches"] = s.batches.state()
    fp["where"] = (s.iteration, s.position, s.batch_epoch, s.batch_index)
    fp["batch"] = tuple(akey(a) for a in s.batch)
    fp["history"] = [(p.iteration, fkey(p.loss), fkey(p.accuracy)) for p in s.loss_history]
    if records:
        fp["records"] = [record_key(r) for r in s.records]
    return fp


def assert_same(a: Stepper, b: Stepper, *, then_steps: int | None = None) -> None:
    """Same state now, and — to catch stale live caches — after stepping both onward."""
    fa, fb = fingerprint(a), fingerprint(b)
    assert fa.keys() == fb.keys()
    for key in fa:
        assert fa[key] == fb[key], f"{key} differs"
    steps = a.steps_per_iteration + 2 if then_steps is None else then_steps
    for _ in range(steps):
        ra, rb = a.step(), b.step()
        assert record_key(ra) == record_key(rb)
    if steps:
        assert fingerprint(a) == fingerprint(b)


def advance(s: Stepper, iteration: int, position: int) -> Stepper:
    """Step a stepper forward to ``(iteration, position)``: the "replay from scratch"."""
    if position == 0 and iteration > 0:
        advance(s, iteration - 1, s.steps_per_iteration)
        s.next_batch()  # from "complete": draws the next batch and stands at position 0
        return s
    while (s.iteration, s.position) != (iteration, position):
        assert (s.iteration, s.position) < (iteration, position)
        s.step()
    return s


def stored(s: Stepper) -> dict[str, np.ndarray]:
    return {
        f"{layer.name}.{k}": p.copy() for layer in s.net.layers for k, p in layer.params.items()
    }


# -- the sequence ------------------------------------------------------------------------------
def test_sequence_order_and_descriptions() -> None:
    s = make("xor")
    assert s.steps == [
        ("forward", 0), ("forward", 1), ("forward", 2), ("loss", None),
        ("backward", 2), ("backward", 1), ("backward", 0), ("update", None),
    ]
    L = s.steps_per_iteration
    assert (s.iteration, s.position, s.phase, s.complete) == (0, 0, "forward", False)
    assert s.next_step == "forward L1 a1"
    seen = []
    for pos in range(L):
        assert s.upcoming == s.steps[pos]
        r = s.step()
        seen.append((r.phase, r.layer_index))
        assert (r.index, r.iteration, r.position) == (pos, 0, pos)
        assert r.layer_name == (None if r.layer_index is None else s.net.layers[r.layer_index].name)
        assert len(s.records) == s.position == pos + 1
    assert seen == s.steps
    assert s.complete and s.phase == "complete"
    assert s.next_step.startswith("iteration 0 complete; next: forward L1 a1")
    assert s.upcoming == ("forward", 0)

    # the next step starts iteration 1 with the next batch of the Batches sequence
    twin = make("xor").batches  # already drew batch 0 when its stepper was built
    x1, t1 = twin.next()
    r = s.step()
    assert (r.index, r.iteration, r.position, r.phase) == (L, 1, 0, "forward")
    assert akey(s.batch[0]) == akey(x1) and akey(s.batch[1]) == akey(t1)
    assert len(s.records) == 1
    assert s.describe_step(3) == "loss" and s.describe_step(4) == "backward L3 a2"


@pytest.mark.parametrize("kind", KINDS)
def test_records_equal_the_engines_values(kind: str) -> None:
    """Stepping one iteration records exactly what the network's own batch methods compute."""
    s = make(kind)
    twin = make(kind)  # drive the twin's network with forward / loss / backward / step
    net, opt = twin.net, twin.optimizer
    x, t = twin.batch
    before = stored(twin)
    loss = net.loss(x, t)
    acc = float(np.mean(net.loss_layer.predict(net.output) == t))
    net.backward(need_input_grad=True)
    opt.step(net)

    recs = [s.step() for _ in range(s.steps_per_iteration)]
    n = len(net.layers)
    for r in recs:
        i = r.layer_index
        if r.phase == "forward":
            layer = net.layers[i]
            assert akey(r.input) == akey(net.inputs[i])
            out = net.inputs[i + 1] if i + 1 < n else net.output
            assert akey(r.output) == akey(out)
            assert r.cache.keys() == layer.cache.keys()
            for k in layer.cache:
                assert akey(r.cache[k]) == akey(layer.cache[k]), k
            for k in layer.params:
                assert akey(r.params[k]) == akey(before[f"{layer.name}.{k}"])
            for k in layer.buffers:
                assert akey(r.buffers[k]) == akey(layer.buffers[k])
            assert r.grads == {}
        elif r.phase == "loss":
            assert akey(r.input) == akey(net.output)
            assert akey(r.output) == akey(net.dout)
            assert akey(r.target) == akey(t)
            assert r.loss == loss and r.data_loss == net.data_loss and r.l2_loss == net.l2_loss
            assert r.l2_loss > 0 and r.accuracy == acc
            assert set(r.cache) == set(net.loss_layer.cache)
        elif r.phase == "backward":
            layer = net.layers[i]
            dout = net.dinputs[i + 1] if i + 1 < n else net.dout
            assert akey(r.input) == akey(dout)
            assert akey(r.output) == akey(net.dinputs[i])  # the first layer's dx too
            assert r.grads.keys() == layer.grads.keys()
            for k in layer.grads:
                assert akey(r.grads[k]) == akey(layer.grads[k]), k
        else:
            after = stored(twin)
            assert r.deltas.keys() == after.keys()
            for key in after:
                assert akey(r.params[key]) == akey(after[key])
                assert akey(r.deltas[key]) == akey(after[key] - before[key])
            assert r.input is None and r.output is None
        assert r.nonfinite == ()
    assert s.loss_history == [(0, loss, acc)]
    assert fingerprint(s, records=False)["opt __t__"] == akey(np.array(1))


def test_records_are_not_changed_by_later_steps() -> None:
    s = make("bn_dropout")
    advance(s, 0, s.steps_per_iteration)
    held = list(s.records)
    s.train(2)
    s.step()
    s.back()
    s.back()
    s.back()
    s.step()
    # the records held from iteration 0 still describe iteration 0, array for array
    fresh = advance(make("bn_dropout"), 0, s.steps_per_iteration)
    assert [record_key(r) for r in held] == [record_key(r) for r in fresh.records]


def test_record_for() -> None:
    s = make("xor")
    assert s.record_for("forward", 1) is None
    advance(s, 0, 5)
    assert s.record_for("forward", 1) is s.records[1]
    assert s.record_for("loss") is s.records[3]
    assert s.record_for("backward", 2) is s.records[4]
    assert s.record_for("backward", 1) is None
    assert s.last_record is s.records[-1]


def test_state_before_update_holds_what_the_update_started_from() -> None:
    s = make("xor")
    before = {f"{la.name}.{k}": p.copy() for la in s.net.layers for k, p in la.params.items()}
    state = s.optimizer.state_dict()
    advance(s, 0, s.steps_per_iteration)  # through the update
    assert s.complete
    start = s.state_before_update()
    assert set(start["params"]) == set(before)
    for key, p in before.items():
        np.testing.assert_array_equal(start["params"][key], p)
        layer, k = key.split(".")
        # the update moved it
        assert not np.array_equal(s.net.layers[s.net.index(layer)].params[k], p)
    assert set(start["state"]) == set(state)
    s.step()  # the next iteration starts from the updated parameters
    w = s.state_before_update()["params"]
    for key in before:
        layer, k = key.split(".")
        np.testing.assert_array_equal(w[key], s.net.layers[s.net.index(layer)].params[k])


# -- determinism and train ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_stepping_equals_train_bit_for_bit(kind: str) -> None:
    stepped, trained = make(kind), make(kind)
    for k in (1, 3):
        advance(stepped, k - 1, stepped.steps_per_iteration)
        res = trained.train(1 if k == 1 else 2)
        assert res.reason == "done"
        assert res.loss == stepped.loss_history[-1].loss
        assert fingerprint(stepped, records=False) == fingerprint(trained, records=False)
    # the records of the trained iteration are replayed on demand, and are the stepped ones
    assert fingerprint(stepped) == fingerprint(trained)


def test_same_seed_same_numbers_other_seed_differs() -> None:
    a, b, c = make("bn_dropout", 3), make("bn_dropout", 3), make("bn_dropout", 4)
    for s in (a, b, c):
        advance(s, 2, 5)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a)["param a1.W"] != fingerprint(c)["param a1.W"]


def test_train_finishes_a_partial_iteration_first() -> None:
    s, ref = make("bn_dropout"), make("bn_dropout")
    advance(s, 0, 7)
    res = s.train(3)
    assert (res.iterations, res.reason) == (3, "done")
    ref.train(3)
    assert (s.iteration, s.complete) == (2, True)
    assert_same(s, ref)


def test_train_zero_and_progress() -> None:
    s = make("xor")
    assert s.train(0).iterations == 0 and s.position == 0
    calls: list[tuple[int, int]] = []
    res = s.train(4, progress=lambda d, k: calls.append((d, k)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [p.iteration for p in s.loss_history] == [0, 1, 2, 3]
    assert res.loss == s.loss_history[-1].loss


def test_train_is_cancellable_between_iterations_and_stays_consistent() -> None:
    s = make("conv")
    polls = iter([False, False, False, True])
    res = s.train(10, cancelled=lambda: next(polls))
    assert (res.iterations, res.reason) == (3, "cancelled")
    ref = make("conv")
    ref.train(3)
    assert_same(s, ref, then_steps=0)
    # a fresh snapshot was taken: stepping back from here works, exactly
    assert s.back()
    assert_same(s, advance(make("conv"), 2, 11))


def test_train_stops_on_nonfinite_loss() -> None:
    s = make("xor")
    s.train(1)
    s.net.layers[2].params["W"][0, 0] = np.nan  # planted while complete: the next snapshot has it
    res = s.train(5)
    assert (res.iterations, res.reason) == (1, "nonfinite")
    assert np.isnan(res.loss)


@pytest.mark.parametrize("kind", KINDS)
def test_long_train_then_back_is_exact(kind: str) -> None:
    """train() recycles the arrays of its per-iteration snapshots: the one kept must be right."""
    s = make(kind)
    s.train(7)
    assert s.back()
    assert_same(s, advance(make(kind), 6, s.steps_per_iteration - 1))
    while s.back():
        pass
    assert (s.iteration, s.position) == (6, 0)
    assert_same(s, advance(make(kind), 6, 0))


def test_train_keeps_only_its_last_iteration_as_history() -> None:
    s = make("xor")
    advance(s, 1, 3)
    s.train(3)
    L = s.steps_per_iteration
    assert s.history_iterations == 1 and s.back_limit() == L
    for _ in range(L):
        assert s.back()
    refused = s.back()
    assert not refused and "train()" in refused.reason
    assert_same(s, advance(make("xor"), 3, 0))


# -- stepping back -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_back_within_an_iteration_is_exact(kind: str) -> None:
    L = make(kind).steps_per_iteration
    for pos in range(1, L + 1):
        s = advance(make(kind), 1, pos)  # iteration 1: optimizer state is non-trivial
        assert s.back()
        assert s.position == pos - 1 == len(s.records)
        assert_same(s, advance(make(kind), 1, pos - 1))


@pytest.mark.parametrize("kind", KINDS)
def test_back_across_the_iteration_boundary(kind: str) -> None:
    s = advance(make(kind), 2, 1)
    L = s.steps_per_iteration
    assert s.back() and (s.iteration, s.position) == (2, 0)
    assert s.back() and (s.iteration, s.position) == (1, L) and s.complete
    assert_same(s, advance(make(kind), 1, L), then_steps=0)
    assert s.back()
    assert_same(s, advance(make(kind), 1, L - 1))
    # stepping on again from there re-draws batch 2 exactly
    assert_same(advance(s, 3, 2), advance(make(kind), 3, 2), then_steps=0)


def test_back_across_several_iterations_to_the_start() -> None:
    s = advance(make("bn_dropout"), 3, 4)
    n = s.back_limit()
    assert n == 4 + 3 * (s.steps_per_iteration + 1)
    for _ in range(n):
        assert s.back()
    assert (s.iteration, s.position) == (0, 0)
    refused = s.back()
    assert not refused and "start" in refused.reason
    assert_same(s, make("bn_dropout"))


def test_random_walk_of_steps_and_backs_matches_replay_from_scratch() -> None:
    rng = np.random.default_rng(0)
    s = make("bn_dropout")
    for move in range(150):
        if rng.random() < 0.6 or s.back_limit() == 0:
            s.step()
        else:
            assert s.back()
        assert len(s.records) == s.position
        if move % 15 == 14:
            assert_same(s, advance(make("bn_dropout"), s.iteration, s.position), then_steps=0)


def test_back_refuses_when_history_is_exhausted_and_changes_nothing() -> None:
    s = make("xor", history_bytes=1)  # room for the current iteration's snapshot only
    advance(s, 1, 1)
    assert s.history_iterations == 1 and s.back_limit() == 1
    assert s.back()
    before = fingerprint(s)
    refused = s.back()
    assert not refused and not bool(refused)
    assert "history_bytes" in refused.reason and "iteration 0" in refused.reason
    assert fingerprint(s) == before
    assert_same(s, advance(make("xor"), 1, 0))


def test_fresh_stepper_cannot_step_back() -> None:
    s = make("xor")
    res = s.back()
    assert not res and "start of the first iteration" in res.reason
    assert s.back_limit() == 0


def test_snapshot_ring_is_bounded_by_history_bytes() -> None:
    size = make("xor").history_nbytes  # every xor snapshot has this size (SGD has no slots)
    assert size > 0
    budget = 3 * size + size // 2
    s = make("xor", history_bytes=budget)
    L = s.steps_per_iteration
    for _ in range(10):
        s.run_iteration_end()
    advance(s, 10, 2)
    assert s.history_iterations == 3
    assert s.history_nbytes <= budget
    assert s.back_limit() == 2 + 2 * (L + 1)
    backs = 0
    while s.back():
        backs += 1
    assert backs == 2 + 2 * (L + 1)
    assert (s.iteration, s.position) == (8, 0)


def test_history_grows_with_the_budget() -> None:
    small = make("xor", history_bytes=1)
    large = make("xor")
    for s in (small, large):
        advance(s, 20, 0)
    assert small.history_iterations == 1
    assert large.history_iterations == 21


# -- runs --------------------------------------------------------------------------------------
def test_run_to_phase_end_walks_the_phases() -> None:
    s = make("xor")
    L = s.steps_per_iteration
    stop = s.run_to_phase_end()
    assert (stop.kind, stop.steps, s.position, s.phase) == ("done", 3, 3, "loss")
    stop = s.run_to_phase_end()
    assert (stop.steps, s.position, s.phase) == (1, 4, "backward")
    assert stop.record.phase == "loss"
    stop = s.run_to_phase_end()
    assert (stop.steps, s.position, s.phase) == (3, L - 1, "update")
    stop = s.run_to_phase_end()
    assert (stop.steps, s.complete) == (1, True)
    stop = s.run_to_phase_end()  # complete: the next iteration's forward pass
    assert (stop.steps, s.iteration, s.position) == (3, 1, 3)
    assert_same(s, advance(make("xor"), 1, 3))


def test_finish_forward_and_backward() -> None:
    s = make("conv")
    L = s.steps_per_iteration
    assert s.finish_backward().steps == L - 1 and s.phase == "update"
    nothing = s.finish_forward()
    assert (nothing.kind, nothing.steps, s.position) == ("nothing", 0, L - 1)
    assert s.finish_backward().kind == "nothing"
    s.update()
    assert s.complete
    assert s.finish_forward().steps == 5 and (s.iteration, s.phase) == (1, "loss")
    assert s.finish_backward().steps == L - 1 - 5


def test_update_and_run_iteration_end_apply_exactly_one_update() -> None:
    s, ref = make("bn_dropout"), make("bn_dropout")
    advance(s, 0, 2)
    stop = s.update()
    assert stop.kind == "done" and stop.record.phase == "update" and s.complete
    stop = s.run_iteration_end()  # complete: one whole iteration more
    assert stop.steps == s.steps_per_iteration and s.iteration == 1 and s.complete
    ref.train(2)
    assert_same(s, ref)


def test_next_batch_abandons_the_partial_iteration() -> None:
    s = advance(make("bn_dropout"), 1, 8)  # past the loss step
    start = advance(make("bn_dropout"), 1, 0)
    s.next_batch()
    assert (s.iteration, s.position, s.records) == (1, 0, [])
    assert [p.iteration for p in s.loss_history] == [0]  # the abandoned loss is gone
    for key, p in stored(s).items():
        assert akey(p) == akey(stored(start)[key])
    # the batch is the one after the abandoned one
    seq = make("bn_dropout").batches  # its stepper drew batch 0
    seq.next()  # batch 1, the abandoned one
    x2, t2 = seq.next()
    assert akey(s.batch[0]) == akey(x2) and akey(s.batch[1]) == akey(t2)
    # and the iteration on it equals one whose batches simply skipped the abandoned batch
    ref = advance(make("bn_dropout"), 0, s.steps_per_iteration)
    ref.batches.next()
    s.run_iteration_end()
    ref.run_iteration_end()
    assert fingerprint(s) == fingerprint(ref)


def test_next_batch_when_complete_and_back_over_it() -> None:
    s = advance(make("xor"), 0, 8)
    s.next_batch()
    assert (s.iteration, s.position) == (1, 0)
    assert_same(s, advance(make("xor"), 1, 0), then_steps=0)
    assert s.back()
    assert_same(s, advance(make("xor"), 0, 8))


def test_reset_restores_the_initial_state() -> None:
    s = make("bn_dropout")
    s.train(3)
    advance(s, 4, 6)
    s.back()
    s.next_batch()
    s.reset()
    assert (s.iteration, s.position, s.records, s.loss_history) == (0, 0, [], [])
    assert not s.back()
    assert_same(s, make("bn_dropout"))


# -- conditions --------------------------------------------------------------------------------
def test_run_until_nonfinite_stops_where_the_nan_appears() -> None:
    s = make("xor")
    s.train(2)
    s.net.layers[2].params["W"][0, 0] = np.nan  # planted while complete: the next snapshot has it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN/Inf are data here, not warnings
        stop = s.run_until(NonFinite(), max_steps=50)
    assert (stop.kind, stop.name, stop.steps) == ("condition", "nan/inf", 3)
    r = stop.record
    assert (r.iteration, r.phase, r.layer_name) == (2, "forward", "a2")
    assert "output" in r.nonfinite and "params.W" in r.nonfinite
    assert "a2" in stop.message
    assert np.isnan(r.output).any()


def test_nonfinite_input_is_caught_at_the_first_layer() -> None:
    s = make("xor")
    x = np.array(s.batches.x)
    x[:] = np.inf
    s.batches.x = x  # every later batch is Inf
    s.next_batch()
    stop = s.run_until(NonFinite(), max_steps=50)
    assert stop.record.position == 0 and "input" in stop.record.nonfinite


def test_run_until_grad_norm_with_a_huge_learning_rate() -> None:
    calm = make("xor", lr=0.1)
    stop = calm.run_until(GradNorm(1e3), max_steps=3 * calm.steps_per_iteration)
    assert stop.kind == "max_steps" and stop.steps == 3 * calm.steps_per_iteration

    wild = make("xor", lr=1e5)
    stop = wild.run_until(GradNorm(1e3), max_steps=100)
    assert (stop.kind, stop.name) == ("condition", "grad norm")
    r = stop.record
    assert r.phase == "backward" and r.iteration >= 1
    assert max(np.linalg.norm(g) for g in r.grads.values()) > 1e3
    assert "‖d" in stop.message


def test_grad_norm_layer_filter_and_input_gradient() -> None:
    s = make("xor")
    stop = s.run_until(GradNorm(0.0, layers=["r1"]), max_steps=8)
    assert stop.kind == "max_steps"  # ReLU has no parameter gradient
    s = make("xor")
    stop = s.run_until(GradNorm(0.0, layers=["r1"], include_input=True), max_steps=8)
    assert stop.kind == "condition" and stop.record.layer_name == "r1"


def test_dead_fraction() -> None:
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    assert dead_fraction(mask) == 0.5  # units 0 and 3 are masked for every sample
    assert dead_fraction(np.ones((3, 2, 2), dtype=bool)) == 1.0
    assert dead_fraction(np.zeros((3, 5), dtype=bool)) == 0.0


def test_run_until_dead_relu_with_a_biased_init() -> None:
    s = make("xor", b1=-100.0)  # every pre-activation of r1 is negative
    stop = s.run_until(DeadReLU(0.5), max_steps=50)
    assert (stop.kind, stop.name, stop.steps) == ("condition", "dead relu", 2)
    assert stop.record.layer_name == "r1" and "100%" in stop.message

    # fires exactly when the fraction exceeds the threshold
    s = make("xor")
    r = advance(s, 0, 2).records[1]
    frac = dead_fraction(r.cache["mask"])
    assert make("xor").run_until(DeadReLU(frac), max_steps=2).kind == "max_steps"
    if frac > 0:
        assert make("xor").run_until(DeadReLU(frac / 2), max_steps=2).kind == "condition"


class DoubledAffine(Affine):
    """A planted bug: the weight gradient is twice what it should be."""

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        dx = super().backward(dout, need_dx)
        self.grads["W"] = self.grads["W"] * 2
        return dx


def numeric_check(numgrad: SimpleNamespace) -> Callable[[Stepper, StepRecord], bool]:
    """An independent check (conftest's centered differences) of a record's param gradients."""

    def check(stepper: Stepper, record: StepRecord) -> bool:
        net = copy.deepcopy(stepper.net)  # never touch the stepper's network
        x, t = stepper.batch
        layer = net.layers[record.layer_index]
        for k, g in record.grads.items():
            num = numgrad.array(lambda _p: net.loss(x, t), layer.params[k])
            if numgrad.rel_error(g, num) > 1e-6:
                return False
        return True

    return check


def test_run_until_gradcheck_fails_on_the_planted_bug(numgrad: SimpleNamespace) -> None:
    # b1 > 0 keeps the (0, 0) sample off the ReLU kink, where differences mean nothing
    good = make("xor", b1=0.01)
    L = good.steps_per_iteration
    stop = good.run_until(GradcheckFails(numeric_check(numgrad)), max_steps=2 * L)
    assert stop.kind == "max_steps"

    bad = make("xor", b1=0.01, layer_cls=DoubledAffine)
    cond = GradcheckFails(numeric_check(numgrad))
    stop = bad.run_until(cond, max_steps=2 * L)
    assert (stop.kind, stop.name) == ("condition", "gradcheck")
    assert (stop.record.phase, stop.record.layer_name) == ("backward", "a2")
    assert cond.last_result is False
    assert stop.steps == 5
    # the check ran on a copy: the stepper is exactly where stepping alone would be
    twin = advance(make("xor", b1=0.01, layer_cls=DoubledAffine), 0, 5)
    assert_same(bad, twin, then_steps=0)

    only_a1 = GradcheckFails(numeric_check(numgrad), layers=["a1"])
    bad = make("xor", b1=0.01, layer_cls=DoubledAffine)
    assert bad.run_until(only_a1, max_steps=L).kind == "max_steps"


def test_gradcheck_condition_accepts_reports_with_passed() -> None:
    def report(_s: Stepper, r: StepRecord) -> SimpleNamespace:
        return SimpleNamespace(passed=r.layer_name != "a1")

    stop = make("xor").run_until(GradcheckFails(report), max_steps=20)
    assert stop.kind == "condition" and stop.record.layer_name == "a1"


def test_run_until_a_callable_and_a_list() -> None:
    stop = make("xor").run_until(lambda s, r: r.phase == "loss")
    assert (stop.kind, stop.steps, stop.name) == ("condition", 4, "predicate")
    stop = make("xor").run_until(
        [Predicate(lambda s, r: r.phase == "update", "upd"), lambda s, r: "hit" if r.index == 2
         else None]
    )
    assert (stop.steps, stop.message) == (3, "hit")


def test_run_until_cancel_and_progress() -> None:
    s = make("xor")
    polls = iter([False, False, False, True])
    calls: list[tuple[int, int]] = []
    stop = s.run_until(
        lambda s, r: False, max_steps=100,
        progress=lambda d, k: calls.append((d, k)), cancelled=lambda: next(polls),
    )
    assert (stop.kind, stop.steps, s.position) == ("cancelled", 3, 3)
    assert calls == [(1, 100), (2, 100), (3, 100)]
    stop = s.run_until(lambda s, r: False, max_steps=20)
    assert (stop.kind, stop.steps) == ("max_steps", 20)
    assert_same(s, advance(make("xor"), 2, 7))


# -- breakpoints and continue ------------------------------------------------------------------
def test_layer_breakpoints_stop_before_the_step() -> None:
    s = make("xor")
    s.add_breakpoint("r1")
    assert s.breakpoints == {("forward", 1), ("backward", 1)}
    stop = s.continue_()
    assert (stop.kind, stop.steps, s.position) == ("breakpoint", 1, 1)
    assert stop.message == "breakpoint before forward L2 r1"
    stop = s.continue_()
    assert (stop.steps, s.upcoming) == (4, ("backward", 1))
    stop = s.continue_()  # on to the next iteration
    assert (stop.steps, s.iteration, s.upcoming) == (4, 1, ("forward", 1))

    assert s.toggle_breakpoint("r1", "forward") is False
    assert s.breakpoints == {("backward", 1)}
    assert s.toggle_breakpoint(0, "forward") is True
    s.run_iteration_end()  # no breakpoints consulted
    assert (s.iteration, s.complete) == (1, True)
    stop = s.continue_()  # we sit before forward L1, a breakpoint: run past it first
    assert (stop.steps, s.iteration, s.upcoming) == (5, 2, ("backward", 1))
    stop = s.continue_()
    assert (stop.steps, s.complete, stop.name) == (3, True, "forward L1 a1")
    s.clear_breakpoints()
    stop = s.continue_(max_steps=7)
    assert (stop.kind, stop.steps) == ("max_steps", 7)


def test_breakpoint_before_the_first_layer_across_iterations() -> None:
    s = make("xor")
    s.add_breakpoint(0, "forward")
    stop = s.continue_()
    assert stop.steps == s.steps_per_iteration and s.complete
    assert stop.name == "forward L1 a1"


def test_continue_stops_on_registered_conditions() -> None:
    s = make("xor", b1=-100.0)
    s.add_breakpoint("a2", "backward")
    dead = DeadReLU(0.5)
    s.conditions.append(dead)
    stop = s.continue_()
    assert (stop.kind, stop.name, s.position) == ("condition", "dead relu", 2)
    dead.enabled = False
    stop = s.continue_()
    assert (stop.kind, s.upcoming) == ("breakpoint", ("backward", 2))


def test_breakpoint_arguments_are_checked() -> None:
    s = make("xor")
    with pytest.raises(KeyError):
        s.add_breakpoint("nope")
    with pytest.raises(IndexError):
        s.add_breakpoint(3)
    with pytest.raises(ValueError, match="phase"):
        s.add_breakpoint(0, "loss")


# -- odds and ends -----------------------------------------------------------------------------
def test_resync_restores_the_live_state_after_outside_use() -> None:
    s = advance(make("bn_dropout"), 1, 3)
    s.net.loss(*s.batch)  # somebody ran the network: caches, BN stats and RNG moved
    s.resync()
    assert_same(s, advance(make("bn_dropout"), 1, 3))


def test_float32_network_steps_and_trains_identically() -> None:
    def build() -> Stepper:
        rng = np.random.default_rng(0)
        net = Network(
            [Affine(he(rng, 3, 5), np.zeros(5), name="a1"), ReLU(name="r1"),
             Affine(he(rng, 5, 2), np.zeros(2), name="a2")],
            SoftmaxCrossEntropy(), input_shape=(3,), dtype="float32",
        )
        x, t = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
        return Stepper(net, Adam(0.01), Batches(x, t, 4, seed=1))

    a, b = build(), build()
    assert a.batch[0].dtype == np.float32
    advance(a, 2, a.steps_per_iteration)
    b.train(3)
    assert fingerprint(a) == fingerprint(b)
    assert a.records[0].params["W"].dtype == np.float32
