"""Find the bug, played with Pilot: step, check, answer wrong (a hint), answer right (the
result), leave (the time and the hints printed); the answer dialog closes once; the picker's
``f``; the command line's ``exercise``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from test_tui_fuzz import send_keys
from textual.widgets import Button, Select, Static

from backprop_tui.engine.mistakes import CATALOGUE
from backprop_tui.exerciserun import print_summaries
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.exercise import Exercise, start_exercise
from backprop_tui.tui.screens.exercise import AnswerDialog, ExerciseScreen, ResultDialog
from backprop_tui.tui.screens.help import HelpScreen
from backprop_tui.tui.widgets.gradcheck import GradcheckPane
from backprop_tui.tui.widgets.network import NetworkPane


def exercise_app(ex: Exercise) -> BackpropApp:
    return BackpropApp("screen", screen=lambda: ExerciseScreen(ex), theme=DARK)


def play(ex: Exercise, body, size=(120, 40)) -> BackpropApp:
    app = exercise_app(ex)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await body(app, pilot)

    asyncio.run(main())
    return app


async def settle(app: BackpropApp, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def choose(app, pilot, layer: str, tensor: str) -> None:
    dialog = app.screen
    assert isinstance(dialog, AnswerDialog)
    dialog.query_one("#layer", Select).value = layer
    await settle(app, pilot)
    dialog.query_one("#tensor", Select).value = tensor
    await settle(app, pilot)


def stack(app) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack]


def test_one_exercise_played_to_the_end(capsys) -> None:
    ex = start_exercise("xor", seed=0, mistake="loss-no-mean")

    async def body(app, pilot):
        scr = app.screen
        assert isinstance(scr, ExerciseScreen)
        assert "find the bug" in scr.sub_title and "a to answer" in scr.message
        # step: the forward pass (3 layers) and the loss
        await press(app, pilot, "n", "n", "n", "n")
        assert scr.session.stepper.records[-1].phase == "loss"
        # g on the loss row: the check fails there
        assert scr.query_one(NetworkPane).selected == scr.session.loss_row
        await press(app, pilot, "g")
        result = scr.query_one(GradcheckPane).result
        assert result is not None and not result.report.passed
        # a: the answer dialog; a wrong answer earns the first hint and stays
        await press(app, pilot, "a")
        await choose(app, pilot, "affine2", "dW")
        app.screen.query_one("#ok", Button).press()
        await settle(app, pilot)
        assert isinstance(app.screen, AnswerDialog)
        hint = str(app.screen.query_one("#hints", Static).render())
        assert "Hint 1 of 3" in hint and "backward pass" in hint
        assert ex.hints_used == 1
        # the right answer: the result, with the mistake next to the correct code
        await choose(app, pilot, "loss", "dscores")
        app.screen.query_one("#ok", Button).press()
        await settle(app, pilot)
        assert isinstance(app.screen, ResultDialog), stack(app)
        shown = " ".join(str(w.render()) for w in app.screen.query(Static))
        m = ex.planted.mistake
        assert m.wrong in shown and m.right in shown and "1/N" in shown
        assert "dscores[" in shown  # one affected entry, with its numbers
        await press(app, pilot, "escape")
        assert stack(app) == ["Screen", "ExerciseScreen"]
        assert "solved" in app.screen.message
        await press(app, pilot, "q")

    play(ex, body)
    print_summaries([ex])
    out = capsys.readouterr().out
    assert out.startswith("exercise solved in ") and "with 1 hint and 2 answers" in out
    assert "missing 1/N in the loss backward in the loss" in out
    assert "--seed 0" in out


@pytest.mark.parametrize("keys", [["escape", "escape"], ["escape", "escape", "escape"]])
def test_the_answer_dialog_closes_once(keys: list[str]) -> None:
    ex = start_exercise("xor", seed=0, mistake="relu-mask-from-dout")

    async def body(app, pilot):
        await press(app, pilot, "a")
        assert isinstance(app.screen, AnswerDialog)
        send_keys(app, keys)  # in one frame
        await settle(app, pilot)
        assert stack(app) == ["Screen", "ExerciseScreen"]
        await press(app, pilot, "n")
        assert app.screen.session.stepper.position == 1  # and it still steps

    play(ex, body)


def test_the_right_answer_submitted_twice_shows_one_result() -> None:
    ex = start_exercise("xor", seed=0, mistake="relu-mask-from-dout")

    async def body(app, pilot):
        await press(app, pilot, "a")
        await choose(app, pilot, "relu1", "dx")
        ok = app.screen.query_one("#ok", Button)
        for _ in range(3):
            ok.post_message(Button.Pressed(ok))
        await settle(app, pilot)
        await settle(app, pilot)
        assert stack(app) == ["Screen", "ExerciseScreen", "ResultDialog"]
        assert ex.solved and ex.attempts == 1
        send_keys(app, ["escape", "enter"])
        await settle(app, pilot)
        assert stack(app) == ["Screen", "ExerciseScreen"]

    play(ex, body)


def test_the_answer_dialog_opens_on_the_selected_row_and_tab_skips_the_hints() -> None:
    ex = start_exercise("xor", seed=0, mistake="relu-mask-from-dout")

    async def body(app, pilot):
        await press(app, pilot, "down", "down")  # the network pane: affine1 → relu1 → affine2
        await press(app, pilot, "a")
        dialog = app.screen
        assert isinstance(dialog, AnswerDialog)
        assert dialog.query_one("#layer", Select).value == "affine2"
        await press(app, pilot, "tab")
        assert app.focused is dialog.query_one("#tensor", Select)
        await press(app, pilot, "tab")
        assert app.focused is dialog.query_one("#ok", Button)  # not the empty hints area
        await press(app, pilot, "enter")  # affine2 y: wrong, the first hint
        await settle(app, pilot)
        assert ex.hints_used == 1
        dialog.query_one("#ok", Button).press()  # the same answer again: said, no new hint
        await settle(app, pilot)
        assert ex.hints_used == 1
        assert "again: not that either" in str(dialog.query_one("#hints", Static).render())

    play(ex, body)


def test_help_lists_the_answer_key() -> None:
    ex = start_exercise("xor", seed=0, mistake="loss-no-mean")

    async def body(app, pilot):
        await press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert any(keys == "a" and "Find the bug" in what for keys, what in app.screen.keys)

    play(ex, body)


def test_the_picker_starts_an_exercise_on_the_highlighted_scenario() -> None:
    from textual.widgets import DataTable

    app = BackpropApp("picker", theme=DARK)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            table = app.screen.query_one(DataTable)
            keys = [k.value for k in table.rows]
            table.move_cursor(row=keys.index("apple"))  # a graph: no network to plant in
            await press(app, pilot, "f")
            assert stack(app)[-1] == "ErrorDialog"
            await press(app, pilot, "escape")
            table.move_cursor(row=keys.index("init-compare"))  # an experiment: many networks
            await press(app, pilot, "f")
            assert stack(app)[-1] == "ErrorDialog"
            assert "is an experiment of chapter 6" in app.screen.message
            await press(app, pilot, "escape")
            table.move_cursor(row=keys.index("xor"))
            await press(app, pilot, "f")
            assert isinstance(app.screen, ExerciseScreen), stack(app)
            assert app.screen.session.name == "xor"
            assert app.exercises == [app.screen.exercise]

    asyncio.run(main())


# -- the command line ------------------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "backprop_tui", "exercise", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_exercise_list_prints_the_catalogue() -> None:
    proc = cli("--list")
    assert proc.returncode == 0, proc.stderr
    for m in CATALOGUE:
        assert m.id in proc.stdout
    proc = cli("--list", "--json")
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == [m.id for m in CATALOGUE]
    by_id = {r["id"]: r for r in rows}
    assert by_id["sigmoid-derivative-of-x"]["scenarios"] == ["xor-sigmoid"]
    assert by_id["maxpool-first-entry"]["phase"] == "backward"


@pytest.mark.parametrize(("args", "says"), [
    (["nosuch"], "unknown scenario 'nosuch'"),
    (["perceptron"], "no mistake of the catalogue applies to this network"),
    (["apple"], "is a computational graph"),
    (["xor", "--seed", "-1"], "--seed"),
])
def test_exercise_refuses_in_one_line(args: list[str], says: str) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_exercise_without_a_terminal_says_so() -> None:
    proc = cli("xor", "--seed", "3")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "terminal" in proc.stderr


def test_random_keys_on_an_exercise_do_not_crash() -> None:
    """The answer dialog's selects and buttons under random keys (enter answers whatever is
    selected: hints, and sometimes the result), between steps and checks."""
    import random

    from test_tui_fuzz import assert_stack_sane

    ex = start_exercise("xor", seed=2, mistake="relu-mask-from-dout")
    rng = random.Random(4)
    keys = ["a", "a", "a", "enter", "enter", "escape", "tab", "down", "up", "space", "n", "n",
            "g", "b", "question_mark"]

    async def body(app, pilot):
        for _ in range(20):
            send_keys(app, rng.choices(keys, k=20))
            await pilot.pause()
            assert_stack_sane(app, base=ExerciseScreen)
        for _ in range(10):
            if len(app.screen_stack) <= 2:
                break
            await press(app, pilot, "escape")
        assert stack(app) == ["Screen", "ExerciseScreen"]
        await press(app, pilot, "a")
        assert isinstance(app.screen, (AnswerDialog, ResultDialog))  # still answers

    play(ex, body)


def _footer_text(app: BackpropApp) -> str:
    """The footer's keys and labels as drawn (each FooterKey widget's rendered text)."""
    from textual.widgets import Footer

    footer = app.screen.query_one(Footer)
    return " ".join(str(k.render()) for k in footer.children
                    if k.region.right <= app.size.width and k.region.width > 0)


@pytest.mark.parametrize("width", [80, 120])
def test_every_footer_key_fits_the_debugger_and_the_exercise(width: int) -> None:
    """'? help' and 'q quit' are never pushed off the footer by the keys added since (e explain,
    a answer): below 100 columns the ^p palette hint goes, in an exercise `t train` leaves the
    footer (both keys still work)."""
    from backprop_tui.scenario import load_scenario
    from backprop_tui.tui.session import DebugSession

    seen = {}

    async def body(app, pilot) -> None:
        await pilot.pause()
        seen["exercise"] = (_footer_text(app), [k.region.right for k in
                                                app.screen.query("FooterKey")])

    play(start_exercise("xor", seed=0), body, size=(width, 24))
    app = BackpropApp("debug", session=DebugSession.from_scenario(load_scenario("xor")),
                      theme=DARK)

    async def main() -> None:
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            seen["debugger"] = (_footer_text(app), [k.region.right for k in
                                                    app.screen.query("FooterKey")])

    asyncio.run(main())
    for screen, (text, rights) in seen.items():
        assert max(rights) <= width, (screen, text)
        assert "help" in text and "quit" in text and "explain" in text, (screen, text)
    assert "answer" in seen["exercise"][0]
