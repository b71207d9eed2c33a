"""DebugSession: what the debugger panes show, checked against the engine without any UI."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_tui.checkpoint import save_checkpoint
from backprop_tui.engine.batches import Batches, RowBatches
from backprop_tui.engine.conditions import DeadReLU, GradNorm, NonFinite
from backprop_tui.engine.layers import dims
from backprop_tui.engine.numeric import GradcheckCancelled
from backprop_tui.errors import CheckpointError, ScenarioError, UsageError
from backprop_tui.scenario import load_scenario
from backprop_tui.tui.session import DebugSession, SessionSpec


@pytest.fixture
def xor() -> DebugSession:
    return DebugSession.from_scenario(load_scenario("xor"))


def test_builds_float64_network_with_scenario_batch_size(xor: DebugSession) -> None:
    assert xor.net.dtype == np.float64
    assert xor.batch_size == xor.scenario.debug_batch_size == 4
    x, t = xor.stepper.batch
    assert x.dtype == np.float64 and x.shape == (4, 2) and t.shape == (4,)


def test_same_seed_same_weights_and_batches() -> None:
    a = DebugSession.from_scenario(load_scenario("iris"), seed=3)
    b = DebugSession.from_scenario(load_scenario("iris"), seed=3)
    c = DebugSession.from_scenario(load_scenario("iris"), seed=4)
    for la, lb, lc in zip(a.net.layers, b.net.layers, c.net.layers, strict=True):
        for k in la.params:
            np.testing.assert_array_equal(la.params[k], lb.params[k])
            assert not np.array_equal(la.params[k], lc.params[k]) or la.params[k].std() == 0
    np.testing.assert_array_equal(a.stepper.batch[0], b.stepper.batch[0])


def test_batch_size_and_seed_are_validated() -> None:
    sc = load_scenario("iris")
    assert DebugSession.from_scenario(sc, batch_size=7).n == 7
    with pytest.raises(UsageError):
        DebugSession.from_scenario(sc, batch_size=0)
    with pytest.raises(UsageError):
        DebugSession.from_scenario(sc, seed=-1)


def test_rows_show_layers_shapes_params_and_next_step(xor: DebugSession) -> None:
    rows = xor.rows()
    assert [r.name for r in rows] == ["affine1", "relu1", "affine2", "loss", "update"]
    assert [r.out_shape for r in rows[:3]] == [(4, 6), (4, 6), (4, 2)]
    assert [r.params for r in rows[:3]] == [18, 0, 14]
    assert rows[0].next_phase == "forward" and all(r.next_phase is None for r in rows[1:])
    for _ in range(3):
        xor.step()
    rows = xor.rows()
    assert rows[3].next_phase == "loss"
    assert all(r.forward_done for r in rows[:3]) and not rows[3].forward_done
    xor.step()  # loss
    assert xor.rows()[2].next_phase == "backward"
    for _ in range(3):
        xor.step()
    rows = xor.rows()
    assert rows[4].next_phase == "update" and all(r.backward_done for r in rows[:3])
    xor.step()
    rows = xor.rows()
    # iteration complete: the next step is the first forward on the next batch
    assert rows[0].next_phase == "forward" and rows[4].forward_done


def test_breakpoint_toggle_shows_in_rows(xor: DebugSession) -> None:
    msg = xor.toggle_breakpoint(1)
    assert msg is not None and "set" in msg
    r = xor.rows()[1]
    assert r.bp_forward and r.bp_backward
    assert "removed" in (xor.toggle_breakpoint(1) or "")
    assert not xor.rows()[1].bp_forward
    assert xor.toggle_breakpoint(xor.loss_row) is None


def test_layer_tensors_are_the_records_arrays(xor: DebugSession) -> None:
    items = {it.key: it for it in xor.tensors(0)}
    # before the first step, what goes in is known already: the batch
    assert items["x"].array is xor.stepper.batch[0] and "next step" in items["x"].source
    assert not items["y"].ready and "press n" in items["y"].source
    assert not xor.tensors(1)[0].ready  # relu1's x: two steps away, not computed yet
    assert items["W"].ready  # parameters always exist
    rec = xor.step()
    items = {it.key: it for it in xor.tensors(0)}
    assert items["x"].array is rec.input and items["y"].array is rec.output
    assert items["W"].array is xor.net.layers[0].params["W"]
    assert not items["dW"].ready and not items["dx"].ready
    xor.stepper.finish_forward()
    xor.step()  # the loss: the gradient about to enter backward L3 is known
    dout = {it.key: it for it in xor.tensors(2)}["dout"]
    assert dout.array is xor.stepper.record_for("loss").output and "loss" in dout.source
    xor.stepper.finish_backward()
    bwd = xor.stepper.record_for("backward", 0)
    items = {it.key: it for it in xor.tensors(0)}
    assert items["dout"].array is bwd.input and items["dx"].array is bwd.output
    np.testing.assert_array_equal(items["dW"].array, bwd.grads["W"])
    np.testing.assert_array_equal(items["db"].array, bwd.grads["b"])


def test_relu_mask_is_a_mask(xor: DebugSession) -> None:
    xor.stepper.finish_forward()
    items = {it.key: it for it in xor.tensors(1)}
    assert items["mask"].is_mask and items["mask"].role == "mask"
    np.testing.assert_array_equal(items["mask"].array, items["x"].array <= 0)


def test_loss_and_update_tensors(xor: DebugSession) -> None:
    xor.stepper.finish_forward()
    rec = xor.step()  # loss
    items = {it.key: it for it in xor.tensors(xor.loss_row)}
    assert items["scores"].array is rec.input and items["dscores"].array is rec.output
    np.testing.assert_array_equal(items["t"].array, xor.stepper.batch[1])
    np.testing.assert_allclose(items["y"].array.sum(axis=1), 1.0)
    assert not any(it.ready for it in xor.tensors(xor.update_row))
    xor.stepper.update()
    upd = xor.stepper.record_for("update", None)
    items = {it.key: it for it in xor.tensors(xor.update_row)}
    assert set(items) == {"Δaffine1.W", "Δaffine1.b", "Δaffine2.W", "Δaffine2.b"}
    np.testing.assert_array_equal(items["Δaffine1.W"].array, upd.deltas["affine1.W"])


def test_tensor_keys_are_stable_across_steps(xor: DebugSession) -> None:
    before = [it.key for it in xor.tensors(1)]
    xor.stepper.finish_backward()
    after = [it.key for it in xor.tensors(1)]
    assert before == after or set(before) <= set(after)


def test_formulas_substitute_this_networks_shapes(xor: DebugSession) -> None:
    f = {x.equation: x.shapes for x in xor.formulas(0)}
    assert f["y = x·W + b"] == "(4×2)·(2×6) + (6) → 4×6"
    assert f["dW = xᵀ·dout"] == "(2×4)·(4×6) → 2×6"
    assert f["dx = dout·Wᵀ"] == "(4×6)·(6×2) → 4×2"
    assert any("λ" in x.shapes for x in xor.formulas(0))  # xor has L2
    assert all("4×6" in x.shapes for x in xor.formulas(1))
    assert any("→ scalar" in x.shapes for x in xor.formulas(xor.loss_row))
    assert xor.formulas(xor.update_row)[0].equation == "W ← W − lr · dW"


def test_conv_formulas() -> None:
    s = DebugSession.from_scenario(load_scenario("mnist-cnn"))
    text = " ".join(f.shapes for f in s.formulas(0))
    assert "32×1×28×28" in text and "18432×25" in text and "30×1×5×5" in text


def test_dims() -> None:
    assert dims((4, 6)) == "4×6" and dims(()) == "scalar"


def test_row_batches_equal_array_batches() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 3))
    t = rng.integers(0, 2, 23)
    a = Batches(x, t, 5, np.random.default_rng(9))
    b = RowBatches(23, t, lambda rows: x[rows], 5, np.random.default_rng(9))
    for _ in range(12):
        (xa, ta), (xb, tb) = a.next(), b.next()
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ta, tb)
    b.set_state(a.state())
    np.testing.assert_array_equal(a.next()[0], b.next()[0])


def test_mnist_session_converts_only_its_batch() -> None:
    from backprop_tui.data.mnist import load_mnist

    s = DebugSession.from_scenario(load_scenario("mnist-cnn"))
    assert isinstance(s.batches, RowBatches)
    x, t = s.stepper.batch
    assert x.shape == (32, 1, 28, 28) and x.dtype == np.float64
    raw_x, raw_t = load_mnist()[:2]
    rows = s.batches.order[:32]
    np.testing.assert_array_equal(t, raw_t[rows])
    np.testing.assert_array_equal(x[:, 0], raw_x[rows].astype(np.float64) / 255)


def _save(tmp_path, sc, net, optimizer=None, **meta):
    state = {k: v.astype(np.float32) for k, v in net.state_dict().items()}
    return save_checkpoint(tmp_path / "ckpt.npz", state, optimizer or {}, {
        "scenario": sc.name, "architecture_hash": sc.architecture_hash(),
        "optimizer": {"kind": "sgd"}, "dtype": "float32", **meta})


def test_checkpoint_loads_weights_as_float64(tmp_path) -> None:
    sc = load_scenario("xor")
    trained = sc.build_network(seed=42, dtype="float32")
    path = _save(tmp_path, sc, trained)
    s = DebugSession.from_scenario(sc, checkpoint=path)
    assert s.net.dtype == np.float64 and s.checkpoint_path == path
    for a, b in zip(s.net.layers, trained.layers, strict=True):
        for k in a.params:
            assert a.params[k].dtype == np.float64
            np.testing.assert_array_equal(a.params[k], b.params[k].astype(np.float64))


def test_checkpoint_of_another_scenario_is_refused(tmp_path) -> None:
    other = load_scenario("iris")
    path = _save(tmp_path, other, other.build_network())
    with pytest.raises(CheckpointError):
        DebugSession.from_scenario(load_scenario("xor"), checkpoint=path)
    with pytest.raises(CheckpointError):
        DebugSession.from_scenario(load_scenario("xor"), checkpoint=tmp_path / "missing.npz")


def test_gradcheck_runs_on_a_copy(xor: DebugSession) -> None:
    xor.stepper.finish_backward()
    before = [r.output for r in xor.stepper.records]
    w = xor.net.layers[0].params["W"].copy()
    job = xor.prepare_gradcheck(0, mode="full")
    assert job.layers == ["affine1"] and job.net is not xor.net
    seen = []
    result = DebugSession.run_gradcheck(job, progress=lambda i, n: seen.append((i, n)))
    assert result.report.passed and {c.tensor for c in result.report.checks} >= {"W", "b"}
    assert seen and seen[-1][0] == seen[-1][1]
    np.testing.assert_array_equal(xor.net.layers[0].params["W"], w)
    assert [r.output for r in xor.stepper.records] == before
    assert xor.prepare_gradcheck(xor.loss_row).layers == ["loss"]


def test_gradcheck_can_be_cancelled(xor: DebugSession) -> None:
    job = xor.prepare_gradcheck(0, mode="full")
    with pytest.raises(GradcheckCancelled):
        DebugSession.run_gradcheck(job, cancelled=lambda: True)


def test_conditions_are_applied_to_the_stepper(xor: DebugSession) -> None:
    assert [type(c) for c in xor.stepper.conditions] == [NonFinite]
    xor.conditions.dead_relu = True
    xor.conditions.dead_relu_threshold = 0.25
    xor.conditions.grad_norm = True
    xor.conditions.grad_norm_threshold = 1e-9
    xor.apply_conditions()
    kinds = [type(c) for c in xor.stepper.conditions]
    assert kinds == [NonFinite, DeadReLU, GradNorm]
    assert "dead ReLU > 25%" in xor.describe_conditions()
    stop = xor.continue_()
    assert stop.kind == "condition" and stop.name in ("grad norm", "dead relu")


def test_gradcheck_condition_stops_after_a_backward_step(xor: DebugSession) -> None:
    xor.conditions.nonfinite = False
    xor.conditions.gradcheck = True
    xor.apply_conditions()
    # a correct network passes every check: continue runs to max_steps
    stop = xor.stepper.continue_(max_steps=len(xor.stepper.steps))
    assert stop.kind == "max_steps"


def test_back_says_why_it_cannot(xor: DebugSession) -> None:
    assert "first iteration" in xor.back()
    xor.step()
    assert xor.back().startswith("stepped back")


def test_session_spec_builds_or_raises() -> None:
    s = SessionSpec("xor", seed=1, batch_size=2).build()
    assert s.n == 2 and s.seed == 1
    with pytest.raises(ScenarioError):
        SessionSpec("no-such-scenario").build()


def test_a_cached_output_is_not_listed_twice() -> None:
    """Sigmoid and Tanh keep their output y for backward; the pane lists it once, as y."""
    from backprop_tui.scenario import load_scenario
    from backprop_tui.tui.session import DebugSession

    session = DebugSession.from_scenario(load_scenario("xor-sigmoid"))
    session.stepper.finish_forward()
    for i, layer in enumerate(session.net.layers):
        names = [item.key for item in session.tensors(i)]
        assert len(names) == len(set(names)), (layer.name, names)
        assert "y" in names
