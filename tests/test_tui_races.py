"""Screens close once, whatever arrives: two or three submits (Enter, OK, escape) posted in one
frame — before the first pop is drawn — close the dialog once, call its callback once and leave
the screen under it showing and answering keys. Textual's ``dismiss`` pops the top of the
stack, so a second one used to pop the debugger itself (a blank screen, dead keys) and a third
raised ``ScreenStackError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from test_tui_app import run
from test_tui_fuzz import send_keys
from textual.widgets import Button, Input

from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.screens.dashboard import DashboardScreen
from backprop_tui.tui.screens.dialogs import ConditionsDialog, ErrorDialog, TrainDialog
from backprop_tui.tui.screens.handoff import TrainingDebugger
from backprop_tui.tui.screens.help import HelpScreen

Body = Callable[[BackpropApp, object], Awaitable[None]]


async def settle(app: BackpropApp, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def stack(app: BackpropApp) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack]


async def assert_debugger_answers(app: BackpropApp, pilot) -> None:
    """The debugger is on top, alone above Textual's default screen, and its keys work."""
    assert stack(app) == ["Screen", "DebuggerScreen"], stack(app)
    st = app.session.stepper
    before = (st.iteration, st.position)
    await pilot.press("n")
    await settle(app, pilot)
    assert (st.iteration, st.position) != before
    await pilot.press("question_mark")
    await settle(app, pilot)
    assert isinstance(app.screen, HelpScreen)
    await pilot.press("escape")
    await settle(app, pilot)
    assert stack(app) == ["Screen", "DebuggerScreen"], stack(app)


def post_submits(dialog, how: str, times: int) -> None:
    """Post ``times`` submits to ``dialog`` at once (no await between: one frame)."""
    if how == "enter-in-input":
        inp = dialog.query(Input).first()
        for _ in range(times):
            inp.post_message(Input.Submitted(inp, inp.value))
    elif how in ("ok", "cancel"):
        button = dialog.query_one(f"#{how}", Button)
        for _ in range(times):
            button.post_message(Button.Pressed(button))
    else:  # keys, as the terminal delivers them
        send_keys(dialog.app, [how] * times)


@pytest.mark.parametrize("times", [2, 3])
@pytest.mark.parametrize("how", ["enter-in-input", "ok", "enter"])
def test_train_dialog_submitted_twice_in_one_frame_trains_once(how: str, times: int) -> None:
    async def body(app, pilot):
        await pilot.press("t")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, TrainDialog)
        dialog.query_one("#k", Input).value = "3"
        post_submits(dialog, how, times)
        await settle(app, pilot)
        assert len(app.session.stepper.loss_history) == 3  # the callback ran once
        assert app.session.stepper.complete
        await assert_debugger_answers(app, pilot)

    run(body)


@pytest.mark.parametrize("times", [2, 3])
@pytest.mark.parametrize("how", ["enter-in-input", "ok", "cancel", "escape"])
def test_conditions_dialog_submitted_twice_in_one_frame_closes_once(how: str,
                                                                     times: int) -> None:
    async def body(app, pilot):
        applied = []
        await pilot.press("C")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ConditionsDialog)
        dialog._result_callbacks[-1].callback = _spy(dialog._result_callbacks[-1].callback,
                                                     applied)
        dialog.query_one("#grad_norm").value = True
        post_submits(dialog, how, times)
        await settle(app, pilot)
        assert len(applied) == 1, applied
        assert app.session.conditions.grad_norm == (how in ("enter-in-input", "ok"))
        await assert_debugger_answers(app, pilot)

    run(body)


def _spy(callback, calls: list):
    def spy(result):
        calls.append(result)
        return callback(result)

    return spy


@pytest.mark.parametrize("times", [2, 3])
@pytest.mark.parametrize("how", ["ok", "enter", "escape"])
def test_error_dialog_closed_twice_in_one_frame_closes_once(how: str, times: int) -> None:
    async def body(app, pilot):
        closed = []
        app.push_screen(ErrorDialog("a layer raised an error", "ValueError: shapes"),
                        closed.append)
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorDialog)
        post_submits(app.screen, how, times)
        await settle(app, pilot)
        assert closed == [None]
        await assert_debugger_answers(app, pilot)

    run(body)


@pytest.mark.parametrize("times", [2, 3])
@pytest.mark.parametrize("how", ["escape", "action"])
def test_help_closed_twice_in_one_frame_closes_once(how: str, times: int) -> None:
    async def body(app, pilot):
        await pilot.press("question_mark")
        await settle(app, pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        if how == "action":
            for _ in range(times):
                help_screen.action_close()
        else:
            send_keys(app, [how] * times)
        await settle(app, pilot)
        await assert_debugger_answers(app, pilot)

    run(body)


def over_a_paused_dashboard(tmp_path, body) -> None:
    """``body(app, pilot, dashboard)`` with the training debugger open (d) over a dashboard
    paused mid-run on iris; the run is finished afterwards."""
    tr = Trainer(load_scenario("iris").with_train(epochs=10), out_dir=tmp_path / "run")
    dashboard = DashboardScreen(tr, pause_at=5)
    app = BackpropApp("screen", screen=lambda: dashboard, theme=DARK)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            while dashboard.state != "paused":
                await pilot.pause(0.02)
            await pilot.press("d")
            await settle(app, pilot)
            assert isinstance(app.screen, TrainingDebugger)
            await body(app, pilot, dashboard)

    asyncio.run(main())
    dashboard.finish()


@pytest.mark.parametrize("times", [2, 3])
def test_the_training_debugger_left_twice_in_one_frame_returns_to_the_dashboard_once(
        tmp_path, times: int) -> None:
    async def body(app, pilot, dashboard) -> None:
        dbg = app.screen
        for _ in range(times):
            dbg.action_quit()
        await settle(app, pilot)
        assert stack(app) == ["Screen", "DashboardScreen"], stack(app)
        assert dashboard.state == "paused"
        await pilot.press("d")  # and the dashboard's keys still work
        await settle(app, pilot)
        assert isinstance(app.screen, TrainingDebugger)
        await pilot.press("escape")
        await settle(app, pilot)
        assert stack(app) == ["Screen", "DashboardScreen"], stack(app)

    over_a_paused_dashboard(tmp_path, body)


# -- a job cancelled before its thread started still reports back -----------------------------
@pytest.mark.parametrize("key", ["f", "b", "u", "c"])
def test_escape_in_the_same_frame_as_a_run_leaves_the_debugger_usable(key: str) -> None:
    """escape right behind f/b/u/c cancelled the worker before its thread ran: nothing reported
    back, and the debugger said "busy" for ever, refusing every step."""
    async def body(app, pilot):
        dbg = app.screen
        send_keys(app, [key, "escape"])
        await settle(app, pilot)
        for _ in range(100):  # the run reports back (cancelled or done) within a few frames
            if dbg.busy is None:
                break
            await pilot.pause(0.02)
        assert dbg.busy is None, dbg.message
        await assert_debugger_answers(app, pilot)

    run(body)


def test_escape_in_the_same_frame_as_a_gradient_check_ends_the_check() -> None:
    async def body(app, pilot):
        from backprop_tui.tui.widgets.gradcheck import GradcheckPane

        await pilot.press("b")
        await settle(app, pilot)
        pane = app.screen.query_one(GradcheckPane)
        send_keys(app, ["g", "escape"])
        await settle(app, pilot)
        for _ in range(100):
            if pane.running is None:
                break
            await pilot.pause(0.02)
        assert pane.running is None  # not "checking…" for ever
        await pilot.press("g")  # and a new check runs to its end
        await settle(app, pilot)
        assert pane.running is None and pane.result is not None and pane.result.report.passed

    run(body)


# -- keys typed into a screen that has closed do nothing -----------------------------------------
@pytest.mark.parametrize("key", ["q", "question_mark", "escape"])
def test_a_key_pressed_twice_to_close_help_does_not_reach_the_debugger(key: str) -> None:
    """`q` twice to close the help screen: the first closes it, the second was typed into it
    too and must not quit the debugger underneath."""
    async def body(app, pilot):
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        send_keys(app, [key, key])
        await settle(app, pilot)
        assert app.is_running
        await assert_debugger_answers(app, pilot)

    run(body)


def test_escape_twice_on_a_dialog_over_the_training_debugger_stays_in_the_debugger(
        tmp_path) -> None:
    async def body(app, pilot, dashboard) -> None:
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, TrainDialog)
        send_keys(app, ["escape", "escape"])
        await settle(app, pilot)
        assert stack(app) == ["Screen", "DashboardScreen", "TrainingDebugger"], stack(app)

    over_a_paused_dashboard(tmp_path, body)


@pytest.mark.parametrize("keys", [["ctrl+p", "escape", "ctrl+p"],
                                  ["ctrl+p", "escape", "ctrl+p", "escape", "ctrl+p"]])
def test_the_palette_reopened_while_the_closed_one_is_still_removed_does_not_crash(
        keys: list[str]) -> None:
    """ctrl+p right after escape: the closed palette was still registered under its id, and
    the new one raised DuplicateIds, which took the app down."""
    async def body(app, pilot):
        send_keys(app, keys)
        await settle(app, pilot)
        await pilot.pause(0.2)
        assert app.is_running
        names = stack(app)
        assert names[:2] == ["Screen", "DebuggerScreen"], names
        assert all(n == "_CommandPalette" for n in names[2:]) and len(names) <= 3, names
        while len(app.screen_stack) > 2:
            await pilot.press("escape")
            await settle(app, pilot)
        await assert_debugger_answers(app, pilot)

    run(body)


def test_ctrl_p_with_the_palette_open_under_an_error_dialog_does_not_crash() -> None:
    """A run's layer error arrives (an error dialog) while the palette is open: ctrl+p on the
    dialog tried to open a second palette under the same id (DuplicateIds: the app died)."""
    async def body(app, pilot):
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        assert stack(app)[-1] == "_CommandPalette"
        app.push_screen(ErrorDialog("a layer raised an error", "ValueError: shapes"))
        await settle(app, pilot)
        send_keys(app, ["ctrl+p", "ctrl+p"])
        await settle(app, pilot)
        assert app.is_running
        assert stack(app) == ["Screen", "DebuggerScreen", "_CommandPalette", "ErrorDialog"]
        while len(app.screen_stack) > 2:
            await pilot.press("escape")
            await settle(app, pilot)
        await assert_debugger_answers(app, pilot)

    run(body)


def test_down_and_enter_arriving_together_open_the_row_below() -> None:
    """The picker's Enter was a priority binding: it ran before the table had moved its cursor
    for a Down typed just before it, and opened the first row instead of the second."""
    from backprop_tui.tui.screens.debugger import DebuggerScreen

    app = BackpropApp("picker", scenario_names=["xor", "iris", "and"])

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            send_keys(app, ["down", "down", "enter", "enter"])
            for _ in range(100):  # the scenario loads in a worker
                await pilot.pause(0.05)
                if isinstance(app.screen, DebuggerScreen):
                    break
            assert isinstance(app.screen, DebuggerScreen)
            assert app.screen.session.scenario.name == "and"
            assert len(app.screen_stack) == 3  # the picker's screen, the picker, one debugger

    asyncio.run(main())


# -- keys typed while a run goes on ----------------------------------------------------------
@pytest.mark.parametrize(("keys", "position"), [
    (["f", "n"], 4),            # xor: 3 forward steps, then the loss
    (["f", "n", "n", "p"], 4),  # … and on, and one back: in the order typed
    (["b", "u"], 8),            # the backward pass, then the update
    (["f", "b"], 7),            # both passes, no update
])
def test_stepping_keys_typed_during_a_run_run_after_it_in_order(keys, position) -> None:
    """`f n` typed fast (the newcomer test in tmux): the n arrived while the forward pass was
    finishing and was dropped with a bell, so the debugger stood at step 3/8, not 4/8."""
    async def body(app, pilot):
        dbg = app.screen
        send_keys(app, keys)
        for _ in range(200):
            await settle(app, pilot)
            if dbg.busy is None and not dbg._queued:
                break
        assert dbg.session.stepper.position == position, dbg.message

    run(body)


def test_escape_drops_the_keys_waiting_for_a_run() -> None:
    async def body(app, pilot):
        dbg = app.screen
        send_keys(app, ["f", "n", "n", "escape"])
        for _ in range(200):
            await settle(app, pilot)
            if dbg.busy is None:
                break
        assert not dbg._queued and dbg.session.stepper.position <= 3, dbg.message
        await assert_debugger_answers(app, pilot)

    run(body)


@pytest.mark.parametrize("keys", [["b", "e"], ["f", "e"]])
def test_e_typed_during_a_run_explains_what_the_run_leaves(keys) -> None:
    """`b e` typed fast: the e arrived while b was running and was dropped with a bell."""
    from backprop_tui.tui.screens.explain import ExplainScreen

    async def body(app, pilot):
        dbg = app.screen
        send_keys(app, keys)
        for _ in range(200):
            await settle(app, pilot)
            if dbg.busy is None and not dbg._queued and isinstance(app.screen, ExplainScreen):
                break
        assert isinstance(app.screen, ExplainScreen), dbg.message
        assert dbg.session.stepper.position == (7 if keys[0] == "b" else 3)

    run(body)
