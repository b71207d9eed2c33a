"""The health pane (h) in the debugger and the training dashboard, driven by Pilot."""

from __future__ import annotations

import pytest

from backprop_tui.tui.widgets.health import HealthPane
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane
from tests.test_tui_app import press, run, screen, text


def test_h_shows_xors_dead_unit_at_iteration_0_and_h_again_goes_back() -> None:
    async def body(app, pilot) -> None:
        scr = screen(app)
        pane = scr.query_one(HealthPane)
        assert not pane.display and scr.query_one(TensorPane).display
        await press(app, pilot, "h")
        assert pane.display and not scr.query_one(TensorPane).display
        assert app.focused is pane
        assert "no forward step yet" in text(app, HealthPane)
        await press(app, pilot, "f")  # the forward pass of iteration 0
        shown = text(app, HealthPane)
        assert pane.report.iteration == 0
        assert "dead units: 4" in shown and "dead 1/6" in shown
        assert "▸ relu1 unit 4" in shown and "weights in: affine1.W[:, 4] = [" in shown
        w = scr.session.net.layers[0].params["W"][:, 4]
        assert pane.selection() == (1, "relu1", 4)
        assert pane.weights(1, 4)[1].tolist() == w.tolist()
        await press(app, pilot, "b")  # the loss and the backward pass: the loss check shows
        shown = text(app, HealthPane)
        assert "initial loss 0.908 (data loss, without L2) vs ln 2 = 0.693" in shown
        assert "‖dW‖" in shown and "ΔW/W" not in shown.split("ΔW/W: ")[0]
        await press(app, pilot, "u")  # the update: the ratio
        assert pane.report.layers[0].update_ratio is not None
        assert "cs231n: ~0.001" in text(app, HealthPane)
        await press(app, pilot, "h")
        assert not pane.display and scr.query_one(TensorPane).display
        assert isinstance(app.focused, NetworkPane)

    run(body)


def test_selecting_dead_units_moves_through_every_layer() -> None:
    async def body(app, pilot) -> None:
        await press(app, pilot, "h", "f")
        pane = screen(app).query_one(HealthPane)
        dead = pane.dead_units()
        assert [(name, u) for _, name, u in dead] == [("relu2", 2), ("relu2", 6), ("relu2", 8),
                                                      ("relu2", 18)]
        await press(app, pilot, "down")
        assert pane.selection()[2] == 6
        assert "▸ relu2 unit 6" in text(app, HealthPane)
        assert "weights in: affine2.W[:, 6]" in text(app, HealthPane)
        await press(app, pilot, "up", "up")
        assert pane.selection()[2] == 18  # wraps around

    run(body, scenario="iris")


def test_dashboard_h_shows_health_while_training_and_h_again_stops_measuring(tmp_path) -> None:
    from tests.test_tui_dashboard import run as run_dashboard
    from tests.test_tui_dashboard import trainer, until

    tr = trainer("xor", tmp_path / "run", epochs=100000)

    async def body(app, scr, pilot) -> None:
        pane = scr.query_one(HealthPane)
        # the first iteration is watched for the loss check, then, hidden, nothing is measured
        await until(pilot, lambda: tr.iteration >= 1 and tr.health is None)
        assert not pane.display
        await pilot.press("h")
        await pilot.pause()
        assert pane.display and tr.health is scr.health
        assert not scr.query_one("#dash-charts").display
        await until(pilot, lambda: pane.report is not None)
        first = pane.report
        assert [h.name for h in first.layers] == ["affine1", "relu1", "affine2"]
        assert first.layers[0].update_ratio is not None
        await until(pilot, lambda: pane.report is not first)  # measured again while training
        assert "dead" in text(app, HealthPane) and "cs231n: ~0.001" in text(app, HealthPane)
        # issue 12: the first iteration's loss check although h came later, and what "dead"
        # means while training, as the CLI's header says
        assert pane.report.loss_check is not None
        assert "initial loss 0.908 (data loss, without L2) vs ln 2 = 0.693" in text(app,
                                                                                  HealthPane)
        await until(pilot, lambda: pane.report.dead_window > 1)
        assert (f"dead = 0 on each of the last {pane.report.dead_window} batches"
                in text(app, HealthPane))
        await pilot.press("h")
        await pilot.pause()
        assert not pane.display and tr.health is None
        assert scr.query_one("#dash-charts").display
        await pilot.press("q")

    run_dashboard(tr, body)


# -- snapshots ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_debugger_health_xor(snap_compare, size) -> None:
    # iteration 0 whole: the loss check, relu1's dead unit 4 selected with its weights, ratios
    from tests.test_tui_snapshots import keys, make_app

    assert snap_compare(make_app("xor"), terminal_size=size, run_before=keys("h", "u"))


def test_debugger_health_reads_this_iterations_steps_not_stale_arrays() -> None:
    """Issue 12: a layer's output shows as soon as its own forward step ran (not when the
    next layer has), and a step not run yet in this iteration is pending, never last
    iteration's numbers."""
    async def body(app, pilot) -> None:
        await press(app, pilot, "n", "n", "h")  # affine1 and relu1 forward
        pane = screen(app).query_one(HealthPane)
        relu1 = pane.report.layers[1]
        assert (relu1.low, round(relu1.high, 3)) == (0.0, 1.43)
        assert relu1.dead_units == (4,) and relu1.units == 6
        assert "dead 1/6 16.7%" in text(app, HealthPane)
        later = pane.report.layers[2]  # affine2: its forward step has not run
        assert later.units == 0 and later.pending
        assert all(h.grad_norm is None and h.dx_norm is None for h in pane.report.layers)
        assert "pending" in text(app, HealthPane)

    run(body)


def test_debugger_health_after_an_update_does_not_show_the_last_iterations_gradients() -> None:
    async def body(app, pilot) -> None:
        await press(app, pilot, "u", "n", "h")  # iteration 0 whole, then affine1 forward of 1
        s = screen(app).session
        affine1 = screen(app).query_one(HealthPane).report.layers[0]
        y = s.stepper.record_for("forward", 0).output
        assert (affine1.low, affine1.high) == (float(y.min()), float(y.max()))
        assert affine1.grad_norm is None and affine1.update_ratio is None and affine1.pending

    run(body, scenario="iris")


def test_debugger_health_after_train_and_reset_has_no_gradient_of_iteration_100() -> None:
    async def body(app, pilot) -> None:
        await press(app, pilot, "t", "enter")  # 100 iterations
        assert screen(app).session.stepper.iteration == 99
        await press(app, pilot, "r", "n", "h")
        report = screen(app).query_one(HealthPane).report
        assert report.iteration == 0
        assert all(h.grad_norm is None and h.update_ratio is None for h in report.layers)

    run(body)
