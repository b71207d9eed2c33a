"""The Textual app driven by Pilot: every key binding, and the values the panes display equal
the engine's for a whole iteration on xor (forward, loss, backward, update, step back).

Values are read from what the widgets render (``widget.render().plain``) and from the state
they render (``TensorPane.item.array``), and compared with ``stepper.records`` and the live
parameters of the network.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable

import numpy as np
import pytest

from backprop_tui.scenario import load_scenario
from backprop_tui.tui.app import DARK, LIGHT, BackpropApp
from backprop_tui.tui.screens.debugger import DEBUGGER_KEYS, DebuggerScreen
from backprop_tui.tui.screens.dialogs import ConditionsDialog, ErrorDialog, TrainDialog
from backprop_tui.tui.screens.help import HelpScreen
from backprop_tui.tui.screens.picker import PickerScreen
from backprop_tui.tui.screens.size import MIN_HEIGHT, MIN_WIDTH
from backprop_tui.tui.session import DebugSession
from backprop_tui.tui.widgets.formula import FormulaPane
from backprop_tui.tui.widgets.gradcheck import GradcheckPane
from backprop_tui.tui.widgets.lossline import LossLine
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane

Body = Callable[[BackpropApp, object], Awaitable[None]]


def run(body: Body, scenario: str = "xor", size: tuple[int, int] = (120, 40),
        **session_kw) -> BackpropApp:
    """Run ``body(app, pilot)`` in a test app on a fresh session of ``scenario``."""
    session = DebugSession.from_scenario(load_scenario(scenario), **session_kw)
    app = BackpropApp("debug", session=session, theme=DARK)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(app, pilot)

    asyncio.run(main())
    return app


async def press(app: BackpropApp, pilot, *keys: str) -> None:
    """Press keys and let workers finish, so that the screen shows their result."""
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()


def screen(app: BackpropApp) -> DebuggerScreen:
    scr = app.screen
    assert isinstance(scr, DebuggerScreen), type(scr)
    return scr


def text(app: BackpropApp, widget_type) -> str:
    """What a pane draws, as plain text (rich renderables printed at the pane's width)."""
    from rich.console import Console
    from rich.text import Text

    widget = app.screen.query_one(widget_type)
    out = widget.render()
    if isinstance(out, Text):
        return out.plain
    console = Console(width=max(20, widget.content_size.width), record=True,
                      color_system=None, file=io.StringIO())
    console.print(out)
    return console.export_text()


# -- the values displayed equal the engine's ----------------------------------------------------
def assert_shows(app: BackpropApp, key: str, expected: np.ndarray) -> None:
    """The tensor pane shows ``key`` with exactly ``expected``, and its cursor line prints the
    exact value of the entry under the cursor."""
    pane = app.screen.query_one(TensorPane)
    assert pane.key == key, (pane.key, key)
    item = pane.item
    assert item is not None and item.array is not None
    np.testing.assert_array_equal(item.array, expected)
    plain = pane.render().plain
    idx = pane.view.index_of(*pane.cursor)
    assert repr(float(expected[idx])) in plain, (idx, plain)


def test_full_iteration_on_xor_shows_the_engines_values() -> None:
    async def body(app, pilot):
        s = app.session
        st = s.stepper
        L = len(s.net.layers)
        # forward, layer by layer: the output y of each layer
        for i in range(L):
            await press(app, pilot, "n")
            rec = st.records[-1]
            assert (rec.phase, rec.layer_index) == ("forward", i)
            assert app.screen.query_one(NetworkPane).selected == i
            assert_shows(app, "y", rec.output)
            # move the cursor: the cursor line follows, still exact
            await press(app, pilot, "tab", "right", "down", "shift+tab")
            assert_shows(app, "y", rec.output)
            # the input x and the parameters, via ]
            pane = app.screen.query_one(TensorPane)
            pane.select("x")
            await pilot.pause()
            assert_shows(app, "x", rec.input)
            for k, p in s.net.layers[i].params.items():
                pane.select(k)
                await pilot.pause()
                assert_shows(app, k, p)
            pane.select("y")
        # the loss step: scores, dL/dscores, and the loss line
        await press(app, pilot, "n")
        rec = st.records[-1]
        assert rec.phase == "loss"
        assert app.screen.query_one(NetworkPane).selected == s.loss_row
        assert_shows(app, "dscores", rec.output)
        loss_text = text(app, LossLine)
        from backprop_tui.tui import render

        assert render.fmt(rec.loss) in loss_text
        assert f"{100 * rec.accuracy:.1f}%" in loss_text
        assert f"loss {rec.loss:.6g}" in screen(app).message
        # backward, layer by layer: dW for affine layers, dx otherwise
        for i in range(L - 1, -1, -1):
            await press(app, pilot, "n")
            rec = st.records[-1]
            assert (rec.phase, rec.layer_index) == ("backward", i)
            if "W" in s.net.layers[i].params:
                assert_shows(app, "dW", rec.grads["W"])
                app.screen.query_one(TensorPane).select("db")
                await pilot.pause()
                assert_shows(app, "db", rec.grads["b"])
            else:
                assert_shows(app, "dx", rec.output)
            app.screen.query_one(TensorPane).select("dout")
            await pilot.pause()
            assert_shows(app, "dout", rec.input)
        # the update: the change of each parameter, and the new parameters
        w_before = s.net.layers[0].params["W"].copy()
        await press(app, pilot, "n")
        rec = st.records[-1]
        assert rec.phase == "update" and st.complete
        assert app.screen.query_one(NetworkPane).selected == s.update_row
        first = next(iter(rec.deltas))
        assert_shows(app, f"Δ{first}", rec.deltas[first])
        app.screen.query_one(NetworkPane).selected = 0
        await pilot.pause()
        pane = app.screen.query_one(TensorPane)
        pane.select("W")
        await pilot.pause()
        assert_shows(app, "W", s.net.layers[0].params["W"])
        assert not np.array_equal(s.net.layers[0].params["W"], w_before)
        np.testing.assert_array_equal(s.net.layers[0].params["W"], rec.params["affine1.W"])
        # step back: the update is undone exactly, its tensors are pending again
        await press(app, pilot, "p")
        assert st.position == len(st.steps) - 1
        np.testing.assert_array_equal(s.net.layers[0].params["W"], w_before)
        assert app.screen.query_one(NetworkPane).selected == 0  # backward L1 is the last step
        pane = app.screen.query_one(TensorPane)
        pane.select("W")
        await pilot.pause()
        assert_shows(app, "W", w_before)
        app.screen.query_one(NetworkPane).selected = s.update_row
        await pilot.pause()
        assert not any(it.ready for it in pane.items)
        assert "press n" in pane.render().plain

    run(body)


def test_network_pane_marks_the_next_step_and_progress() -> None:
    async def body(app, pilot):
        lines = text(app, NetworkPane).splitlines()
        assert "layer" in lines[0] and "output" in lines[0] and "params" in lines[0]
        assert lines[1].startswith("▶↓") and "affine1" in lines[1]
        await press(app, pilot, "f")
        lines = text(app, NetworkPane).splitlines()
        loss_line = next(x for x in lines if " loss " in x)
        assert loss_line.startswith("▶")
        assert "iteration 0" in app.screen.query_one(NetworkPane).border_subtitle
        await press(app, pilot, "b")
        lines = text(app, NetworkPane).splitlines()
        assert next(x for x in lines if "update" in x).startswith("▶")
        assert all(x.endswith("↓↑") for x in lines[1:4])

    run(body)


def test_formula_pane_substitutes_shapes() -> None:
    async def body(app, pilot):
        plain = text(app, FormulaPane)
        assert "y = x·W + b" in plain and "(4×2)·(2×6) + (6) → 4×6" in plain
        assert "dW = xᵀ·dout" in plain and "(2×4)·(4×6) → 2×6" in plain
        await press(app, pilot, "down")
        assert "4×6 elementwise" in text(app, FormulaPane)

    run(body)


# -- every key binding ------------------------------------------------------------------------
def test_step_keys_n_space_p_backspace() -> None:
    async def body(app, pilot):
        st = app.session.stepper
        await press(app, pilot, "n")
        assert st.position == 1
        await press(app, pilot, "space")
        assert st.position == 2
        await press(app, pilot, "p")
        assert st.position == 1
        await press(app, pilot, "backspace")
        assert st.position == 0
        await press(app, pilot, "p")  # nothing before: says why, does not crash
        assert st.position == 0 and "first iteration" in screen(app).message

    run(body)


def test_finish_forward_backward_update_keys() -> None:
    async def body(app, pilot):
        st = app.session.stepper
        await press(app, pilot, "f")
        assert st.upcoming == ("loss", None)
        await press(app, pilot, "b")
        assert st.upcoming == ("update", None)
        await press(app, pilot, "u")
        assert st.complete and len(st.loss_history) == 1
        assert "update applied" in screen(app).message

    run(body)


def test_breakpoint_and_continue() -> None:
    async def body(app, pilot):
        st = app.session.stepper
        await press(app, pilot, "down", "B")  # relu1
        assert ("forward", 1) in st.breakpoints and ("backward", 1) in st.breakpoints
        assert "●" in text(app, NetworkPane).splitlines()[2]  # header, affine1, relu1
        await press(app, pilot, "c")
        assert st.upcoming == ("forward", 1)
        assert "breakpoint" in screen(app).message
        await press(app, pilot, "c")
        assert st.upcoming == ("backward", 1)
        # stopped at a breakpoint, the ▶ row (relu1) is selected: B acts on it
        assert app.screen.query_one(NetworkPane).selected == 1
        await press(app, pilot, "B")
        assert not st.breakpoints
        await press(app, pilot, "up", "up")  # update row (the cursor wraps): no breakpoint
        assert app.screen.query_one(NetworkPane).selected == app.session.update_row
        await press(app, pilot, "B")
        assert not st.breakpoints and "layer" in screen(app).message

    run(body)


def test_escape_cancels_a_long_continue() -> None:
    async def body(app, pilot):
        st = app.session.stepper
        await pilot.press("c")  # no breakpoint: would run 100 000 steps
        await pilot.pause(0.2)
        assert screen(app).busy
        await pilot.press("n")  # refused while the run owns the stepper
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen(app).busy is None
        assert "cancelled" in screen(app).message
        assert 0 < st.iteration * len(st.steps) + st.position < 100_000

    run(body, scenario="mnist-cnn")  # slow enough steps that the run is surely still going


def test_conditions_dialog() -> None:
    async def body(app, pilot):
        await press(app, pilot, "C")
        assert isinstance(app.screen, ConditionsDialog)
        app.screen.query_one("#grad_norm").value = True
        app.screen.query_one("#grad_norm_threshold").value = "1e-12"
        await press(app, pilot, "enter")  # in the threshold input: submits
        app.screen.query_one("#grad_norm_threshold").focus()
        await press(app, pilot, "enter")
        assert isinstance(app.screen, DebuggerScreen)
        c = app.session.conditions
        assert c.grad_norm and c.grad_norm_threshold == 1e-12
        assert "grad" in str(app.screen.query_one("#status").render())
        await press(app, pilot, "c")
        assert "grad norm" in screen(app).message
        # a bad threshold is refused inside the dialog
        await press(app, pilot, "C")
        app.screen.query_one("#dead_relu_threshold").value = "2"
        app.screen.query_one("#dead_relu_threshold").focus()
        await press(app, pilot, "enter")
        assert isinstance(app.screen, ConditionsDialog)
        assert "fraction" in str(app.screen.query_one("#cond-error").render())
        await press(app, pilot, "escape")
        assert isinstance(app.screen, DebuggerScreen)

    run(body)


def test_gradcheck_key() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")  # forward, loss and backward done
        await press(app, pilot, "g")
        pane = app.screen.query_one(GradcheckPane)
        assert pane.result is not None and pane.result.report.passed
        assert pane.result.job.layers == [app.session.net.layers[pane_row(app)].name]
        plain = pane.render()
        from rich.console import Console

        console = Console(width=100, record=True, color_system=None)
        console.print(plain)
        out = console.export_text()
        assert "dW" in out and "pass" in out
        for c in pane.result.report.checks:  # every tensor's errors, as the report has them
            assert f"{c.max_rel_error:.1e}" in out and f"{c.max_abs_error:.1e}" in out
        # the header and the legend are whole in the pane, wrapped rather than cropped
        from textual.geometry import Region

        whole = Region(0, 0, pane.size.width, pane.size.height)
        text = "\n".join(strip.text for strip in pane.render_lines(whole))
        for words in ("loss evaluations", "pass: rel ≤", "a = analytic (backward), n = numeric"):
            assert words in text, text
        assert "…" not in text
        await press(app, pilot, "p")  # the state moved: the report says so
        assert pane.stale

    run(body)


def pane_row(app) -> int:
    return app.screen.query_one(NetworkPane).selected


def test_gradcheck_of_the_update_row_asks_for_a_layer() -> None:
    async def body(app, pilot):
        await press(app, pilot, "up", "g")  # update row
        assert "Select a layer" in app.screen.query_one(GradcheckPane).message

    run(body)


def test_train_dialog() -> None:
    async def body(app, pilot):
        await press(app, pilot, "t")
        assert isinstance(app.screen, TrainDialog)
        inp = app.screen.query_one("#k")
        assert inp.value == "100"
        inp.value = "7"
        await press(app, pilot, "enter")
        assert isinstance(app.screen, DebuggerScreen)
        st = app.session.stepper
        assert len(st.loss_history) == 7 and st.complete
        assert "trained 7 iteration" in screen(app).message
        await press(app, pilot, "t")
        app.screen.query_one("#k").value = "0"
        await press(app, pilot, "enter")
        assert isinstance(app.screen, TrainDialog)  # refused: K must be ≥ 1
        await press(app, pilot, "escape")
        assert len(st.loss_history) == 7

    run(body)


def test_next_batch_and_reset() -> None:
    async def body(app, pilot):
        st = app.session.stepper
        first = st.batch[0].copy()
        await press(app, pilot, "n", "n", "x")
        assert st.position == 0 and st.batch_index == 1
        assert not np.array_equal(st.batch[0], first)
        await press(app, pilot, "r")
        assert st.iteration == 0 and st.position == 0 and st.batch_index == 0
        np.testing.assert_array_equal(st.batch[0], first)

    run(body, scenario="iris")


def test_tensor_keys_brackets() -> None:
    async def body(app, pilot):
        pane = app.screen.query_one(TensorPane)
        keys = [it.key for it in pane.items]
        start = pane.key
        await press(app, pilot, "right_square_bracket")
        assert pane.key == keys[(keys.index(start) + 1) % len(keys)]
        await press(app, pilot, "left_square_bracket", "left_square_bracket")
        assert pane.key == keys[(keys.index(start) - 1) % len(keys)]

    run(body)


def test_arrows_tab_and_cursor() -> None:
    async def body(app, pilot):
        net = app.screen.query_one(NetworkPane)
        assert net.has_focus
        await press(app, pilot, "down", "down")
        assert net.selected == 2
        await press(app, pilot, "up")
        assert net.selected == 1
        await press(app, pilot, "n", "n")  # follow the step: relu1 forward → row 1
        pane = app.screen.query_one(TensorPane)
        await press(app, pilot, "tab")
        assert pane.has_focus
        await press(app, pilot, "right", "right", "down")
        assert pane.cursor == (1, 2)
        assert pane.view.index_of(1, 2) == (1, 2)
        await press(app, pilot, "left", "up", "up")
        assert pane.cursor == (0, 1)

    run(body)


def test_image_mode_and_samples_on_mnist() -> None:
    async def body(app, pilot):
        pane = app.screen.query_one(TensorPane)
        await press(app, pilot, "n")  # conv1 forward
        pane.select("x")
        await press(app, pilot, "i")
        assert pane.image_mode
        plain = pane.render().plain
        assert "sample 1/32" in plain and "▀" in plain
        await press(app, pilot, "full_stop")
        assert pane.sample == 1 and "sample 2/32" in pane.render().plain
        await press(app, pilot, "comma", "comma")
        assert pane.sample == 31
        pane.select("W")
        await pilot.pause()
        assert "filters" in pane.render().plain
        await press(app, pilot, "i")
        assert not pane.image_mode and "▀" not in pane.render().plain

    run(body, scenario="mnist-cnn")


def test_zoom_help_and_quit() -> None:
    async def body(app, pilot):
        await press(app, pilot, "z")
        assert app.screen.maximized is app.screen.query_one(NetworkPane)
        await press(app, pilot, "escape")
        assert app.screen.maximized is None
        await press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(app, pilot, "escape")
        assert isinstance(app.screen, DebuggerScreen)
        await pilot.press("q")
        await pilot.pause()
        assert app._exit_renderables is not None or not app.is_running or app.return_code == 0

    run(body)


def test_help_lists_every_key() -> None:
    keys = [k.shown or k.keys for k in DEBUGGER_KEYS]
    assert {"n / space", "p / backspace", "f", "b", "u", "c", "B", "C", "g", "t", "x", "r",
            "[", "]", "i", "?", "q", "escape"} <= set(keys)


def test_command_palette_lists_every_action() -> None:
    async def body(app, pilot):
        cmds = list(app.get_system_commands(app.screen))
        titles = " ".join(c.title for c in cmds)
        for k in DEBUGGER_KEYS:
            if k.action != "cancel":
                assert k.title in titles, k.title
        assert "Light / dark theme" in titles
        # running a command from the palette runs the action
        step = next(c for c in cmds if c.title.startswith("Step  "))
        await step.callback()
        await pilot.pause()
        assert app.session.stepper.position == 1
        await press(app, pilot, "ctrl+p")
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)
        await press(app, pilot, "escape")

    run(body)


def test_light_and_dark_themes() -> None:
    async def body(app, pilot):
        assert app.theme == DARK
        app.action_toggle_theme()
        await pilot.pause()
        assert app.theme == LIGHT
        await press(app, pilot, "n")
        assert screen(app).session.stepper.position == 1

    run(body)


def test_too_small_terminal_shows_a_notice() -> None:
    async def body(app, pilot):
        await pilot.resize_terminal(MIN_WIDTH - 1, 30)
        await pilot.pause()
        scr = screen(app)
        assert scr.has_class("too-small")
        assert f"at least {MIN_WIDTH}×{MIN_HEIGHT}" in str(scr.query_one("#too-small").render())
        assert not scr.query_one("#main").display
        await press(app, pilot, "n")  # keys still work
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not scr.has_class("too-small") and scr.query_one("#main").display

    run(body, size=(100, 30))


def test_checkpoint_weights_are_shown(tmp_path) -> None:
    from backprop_tui.checkpoint import save_checkpoint

    sc = load_scenario("xor")
    trained = sc.build_network(seed=7)
    path = save_checkpoint(tmp_path / "c.npz", trained.state_dict(), {}, {
        "scenario": "xor", "architecture_hash": sc.architecture_hash(),
        "optimizer": {"kind": "sgd"}, "dtype": "float64"})  # as every checkpoint says

    async def body(app, pilot):
        pane = app.screen.query_one(TensorPane)
        pane.select("W")
        await pilot.pause()
        assert_shows(app, "W", trained.layers[0].params["W"])
        assert str(path) in screen(app).message

    run(body, checkpoint=path)


# -- the picker -------------------------------------------------------------------------------
def test_picker_opens_the_debugger_and_shows_errors(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 3\n")
    app = BackpropApp("picker", scenario_names=["xor", "iris", str(bad)])

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, PickerScreen)
            table = app.screen.query_one("DataTable")
            assert table.row_count == 3
            assert table.cursor_row == 0  # xor
            await press(app, pilot, "enter")
            assert isinstance(app.screen, DebuggerScreen)
            assert app.screen.session.scenario.name == "xor"
            app.pop_screen()
            await pilot.pause()
            await press(app, pilot, "down", "down", "enter")
            assert isinstance(app.screen, ErrorDialog)
            assert "bad.toml" in app.screen.message
            await press(app, pilot, "escape")
            assert isinstance(app.screen, PickerScreen)

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["debug", "screen"])
def test_app_needs_what_its_mode_needs(mode) -> None:
    with pytest.raises(ValueError):
        BackpropApp(mode)


def test_keys_typed_ahead_after_tab_go_to_the_new_pane() -> None:
    """tab then arrows in one burst (as a terminal delivers fast typing): the arrows move the
    tensor cursor, not the network selection (focus moves at once, not later)."""
    from textual import events

    async def body(app, pilot):
        await press(app, pilot, "n", "n")
        net = app.screen.query_one(NetworkPane)
        row = net.selected
        for key in ("tab", "down", "right"):
            event = events.Key(key, None)
            event.set_sender(app)
            app._driver.send_message(event)
        await pilot.pause()
        await pilot.pause()
        assert net.selected == row
        assert app.screen.query_one(TensorPane).cursor == (1, 1)

    run(body)


# -- the CLI entry points ---------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["debug", "no-such-scenario"],
    ["debug", "xor", "--checkpoint", "/no/such/file.npz"],
    ["debug", "xor", "--batch-size", "0"],
    ["debug", "xor", "--seed", "-1"],
])
def test_debug_command_refuses_bad_input_before_the_app_starts(args, monkeypatch) -> None:
    from typer.testing import CliRunner

    import backprop_tui.tui.app as tui_app
    from backprop_tui.cli import app as cli

    started = []
    monkeypatch.setattr(tui_app, "run_debugger", lambda *a, **k: started.append(a))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and not started


def test_debug_command_opens_the_debugger_on_the_session(monkeypatch) -> None:
    from typer.testing import CliRunner

    import backprop_tui.tui.app as tui_app
    from backprop_tui.cli import app as cli

    seen = []
    monkeypatch.setattr(tui_app, "run_debugger",
                        lambda session, theme: seen.append((session, theme)))
    result = CliRunner().invoke(cli, ["debug", "iris", "--batch-size", "5", "--seed", "3",
                                      "--theme", "light"])
    assert result.exit_code == 0, result.output
    (session, theme), = seen
    assert session.scenario.name == "iris" and session.n == 5 and session.seed == 3
    assert theme == LIGHT


def test_no_arguments_without_a_terminal_prints_help(monkeypatch) -> None:
    from typer.testing import CliRunner

    import backprop_tui.tui.app as tui_app
    from backprop_tui.cli import app as cli

    monkeypatch.setattr(tui_app, "run_picker", lambda *a, **k: pytest.fail("picker opened"))
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0
    assert "debug" in result.output and "scenario picker" in result.output


def test_gc_is_frozen_after_a_screen_opens_and_closed_screens_are_still_freed() -> None:
    """The app freezes the collector after each new screen (full collections re-walking every
    widget made the step latency's tail); a debugger popped back to the picker must still be
    freed, not kept frozen forever."""
    import gc
    import weakref

    refs = []

    async def main() -> None:
        app = BackpropApp("picker", theme=DARK)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            for _ in range(2):
                session = DebugSession.from_scenario(load_scenario("xor"))
                refs.append(weakref.ref(session))
                app.open_debugger(session)
                del session
                await pilot.pause()
                await pilot.pause()
                assert gc.get_freeze_count() > 0
                await pilot.press("n")
                app.pop_screen()
                await pilot.pause()
            # the first session's screen was popped before the second one opened
            assert refs[0]() is None

    try:
        asyncio.run(main())
    finally:
        gc.unfreeze()


def test_after_a_breakpoint_stop_the_next_step_row_is_selected_and_b_acts_on_it() -> None:
    """Down Down B c stops before forward L3 (affine2): the ▶ row, not the last step run
    (relu1), is selected, it shows the input about to go in, and B clears that breakpoint;
    c stops before backward L3: the ▶ row again (not the loss row), with the gradient about
    to arrive, and B acts on it."""
    async def body(app, pilot):
        st = app.session.stepper
        net = app.screen.query_one(NetworkPane)
        await press(app, pilot, "down", "down", "B")
        assert ("forward", 2) in st.breakpoints
        await press(app, pilot, "c")
        assert st.upcoming == ("forward", 2)
        assert net.selected == 2  # affine2, the ▶ row
        assert "▶" in text(app, NetworkPane).splitlines()[3]  # header, affine1, relu1, affine2
        relu1_out = st.record_for("forward", 1).output
        assert_shows(app, "x", relu1_out)  # what forward L3 takes in, already computed
        await press(app, pilot, "c")
        assert st.upcoming == ("backward", 2)
        assert net.selected == 2  # the ▶ row again, not the loss row the last step ran
        assert_shows(app, "dout", st.record_for("loss").output)
        await press(app, pilot, "B")
        assert not st.breakpoints, st.breakpoints
        assert "layer row" not in screen(app).message

    run(body)


def test_the_status_line_says_stop_conditions_once_after_they_are_applied() -> None:
    async def body(app, pilot):
        await press(app, pilot, "C")
        app.screen.query_one("#grad_norm").value = True
        app.screen.query_one("#grad_norm_threshold").focus()
        await press(app, pilot, "enter")
        status = str(app.screen.query_one("#status").render())
        assert status.count("stop conditions") == 1, status
        assert "‖grad‖" in status

    run(body)


def test_on_a_network_with_step_layers_the_check_pane_says_what_g_says() -> None:
    """perceptron: nothing to check (a step's derivative is 0); the pane must not invite g."""
    async def body(app, pilot):
        pane = app.screen.query_one(GradcheckPane)
        before = text(app, GradcheckPane)
        assert "press g" not in before, before
        assert "no gradient to check" in before
        await press(app, pilot, "g")
        after = text(app, GradcheckPane)
        assert "press g" not in after and "no gradient to check" in after
        assert "no gradient to check" in screen(app).message
        assert pane.result is None and pane.running is None

    run(body, scenario="perceptron")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_the_picker_lists_the_learning_path_and_shows_descriptions_whole(size) -> None:
    """Gates and perceptron, xor, iris, MNIST MLP, MNIST CNN, then the rest (the order is
    scenarios/learning-path.txt), then chapter 6's experiments; at 120 columns every
    description is readable in the table, wrapped in its column rather than cut at the screen's
    edge; at 80 there is no room for a description column, and the line under the table shows
    the selected one in full."""
    from rich.text import Text

    from backprop_tui.experiments import EXPERIMENTS
    from backprop_tui.graphfile import graph_names, load_graph_scenario
    from backprop_tui.scenario import learning_path, load_scenario

    app = BackpropApp("picker")

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            table = app.screen.query_one("DataTable")
            keys = [row.key.value for row in table.ordered_rows]
            assert keys == graph_names() + learning_path() + list(EXPERIMENTS)
            path = ["apple", "apple-orange", "fanout", "neuron", "mlp", "not", "and", "or",
                    "nand", "perceptron", "xor", "iris", "iris-dropout", "mnist-mlp", "mnist-cnn",
                    "cifar10-twolayer", "cifar10-cnn"]
            assert keys[:len(path)] == path
            # the cursor starts at the top of the path, whose first row is on the screen
            assert table.cursor_row == 0 and table.scroll_y == 0
            detail = app.screen.query_one("#picker-detail").render()
            assert load_graph_scenario("apple").description in " ".join(str(detail).split())
            # the table fits the screen (no sideways scrolling, no number cut at its edge)
            assert table.virtual_size.width <= table.scrollable_content_region.width
            if size[0] < 120:
                assert "description" not in table.columns
                return
            # … and each description is there in full, over as many lines as it needs
            def description(name: str) -> str:
                graphs = graph_names()
                return (EXPERIMENTS[name] if name in EXPERIMENTS else load_graph_scenario(name)
                        if name in graphs else load_scenario(name)).description

            for name in keys:
                cell = table.get_cell(name, "description")
                assert (Text(cell) if isinstance(cell, str) else cell).plain == description(name)
            longest = max(keys, key=lambda n: len(description(n)))
            assert table.rows[longest].height > 1

    asyncio.run(main())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_stop_conditions_dialog_fits_a_small_terminal_whole(size) -> None:
    """At 80×24 the dialog ran off the screen: its Apply and Cancel labels were cut away, and
    one option's text ended in '…'."""
    from textual.widgets import Button, Checkbox

    async def body(app, pilot):
        await press(app, pilot, "C")
        dialog = app.screen
        for button in dialog.query(Button):
            region = button.region
            assert region.height == 3 and region.bottom <= size[1], (button.id, region)
        text = "\n".join(s.text for s in dialog._compositor.render_strips())
        for box in dialog.query(Checkbox):
            assert str(box.label) in text  # whole, not cut with "…"
        assert "Apply" in text and "Cancel" in text

    run(body, size=size)
