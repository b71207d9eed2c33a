"""No key sequence and no resize crashes the app: thousands of seeded random keys, with the
terminal resized between 40×12 and 250×80, on xor and on the CNN.

A fixed number of keys, deterministic in what it presses (a seeded generator), with a time
cap for a loaded machine. ``q`` and the quit chords are left out: quitting is not
a crash, and would end the run early. Any exception inside the app fails ``run_test``.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from textual.screen import ModalScreen, Screen

from backprop_tui.scenario import load_scenario
from backprop_tui.tui.app import BackpropApp
from backprop_tui.tui.screens.debugger import DebuggerScreen
from backprop_tui.tui.screens.help import HelpScreen
from backprop_tui.tui.session import DebugSession

KEYS = [
    "n", "space", "p", "backspace", "f", "b", "u", "c", "B", "C", "g", "t", "x", "r",
    "left_square_bracket", "right_square_bracket", "i", "comma", "full_stop", "z", "escape",
    "question_mark", "tab", "shift+tab", "up", "down", "left", "right", "home", "end",
    "pageup", "pagedown", "enter", "1", "0", "minus", "full_stop", "a", "ctrl+p",
]
#: the keys that do most of the work are pressed more often
WEIGHTS = {"n": 8, "p": 4, "escape": 4, "up": 3, "down": 3, "left": 2, "right": 2, "tab": 2}


def send_keys(app: BackpropApp, keys: list[str]) -> None:
    """Queue key events the way a fast typist (or a held key) delivers them: without waiting
    for the app to go idle between keys (``Pilot.press`` waits ~40 ms per key)."""
    from textual import events
    from textual.keys import _character_to_key

    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        char = key if len(key) == 1 else {"space": " ", "full_stop": ".", "comma": ",",
                                          "minus": "-", "left_square_bracket": "[",
                                          "right_square_bracket": "]",
                                          "question_mark": "?"}.get(key)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


def assert_stack_sane(app: BackpropApp, base: type[Screen] = DebuggerScreen,
                      above: tuple[type[Screen], ...] = ()) -> None:
    """Textual's default screen, then ``base`` (the screen the app opened on), then at most
    one of each of ``above``, then only dialogs, help or the command palette: nothing popped
    the base, nothing else stacked."""
    stack = app.screen_stack
    names = [type(s).__name__ for s in stack]
    assert len(stack) >= 2 and type(stack[0]) is Screen and isinstance(stack[1], base), names
    rest = stack[2:]
    for kind in above:
        assert sum(isinstance(s, kind) for s in rest) <= 1, names
    assert all(isinstance(s, (ModalScreen, *above)) for s in rest), names


async def close_dialogs(app: BackpropApp, pilot) -> None:
    """Escape out of every dialog on top of the base screen (a bounded number of tries)."""
    for _ in range(10):
        if len(app.screen_stack) <= 2:
            return
        await pilot.press("escape")
        await pilot.pause()
    raise AssertionError([type(s).__name__ for s in app.screen_stack])


async def fuzz(scenario: str, seed: int, n_keys: int, seconds: float,
               keys: list[str] = KEYS, weighted: dict[str, int] = WEIGHTS) -> int:
    rng = random.Random(seed)
    session = DebugSession.from_scenario(load_scenario(scenario), seed=seed)
    app = BackpropApp("debug", session=session)
    weights = [weighted.get(k, 1) for k in keys]
    pressed = 0
    async with app.run_test(size=(120, 40)) as pilot:
        t0 = time.monotonic()
        while pressed < n_keys and time.monotonic() - t0 < seconds:
            if rng.random() < 0.03:
                await pilot.resize_terminal(rng.randint(40, 250), rng.randint(12, 80))
            batch = rng.choices(keys, weights, k=24)
            send_keys(app, batch)
            pressed += len(batch)
            await pilot.pause()  # let the app drain the queue and repaint
            assert_stack_sane(app)
        # leave cleanly: close dialogs, cancel what runs the way a user does (escape)
        assert app.is_running
        assert_stack_sane(app)
        await close_dialogs(app, pilot)
        assert type(app.screen) is DebuggerScreen, app.screen_stack
        debugger = app.screen
        deadline = time.monotonic() + 30
        while debugger.jobs_running() and time.monotonic() < deadline:
            debugger.action_cancel()
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        # not dead: the debugger's keys still act
        assert debugger.busy is None, debugger.message
        st = session.stepper
        before = (st.iteration, st.position, len(st.loss_history))
        await pilot.press("n")
        await pilot.pause()
        assert (st.iteration, st.position, len(st.loss_history)) != before
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
    return pressed


@pytest.mark.parametrize(("scenario", "seed", "n_keys"), [
    ("xor", 0, 2400),  # thousands of keys: ~15 s on the 2-core box
    ("mnist-cnn", 1, 480),  # every step is real work on 32 images: fewer keys, ~10 s
])
def test_random_keys_and_resizes_do_not_crash(scenario: str, seed: int, n_keys: int) -> None:
    # the key count is fixed (the same keys every run); the time cap only guards a slow,
    # loaded machine from running for ever — a crash, not slowness, is what fails here
    pressed = asyncio.run(fuzz(scenario, seed, n_keys=n_keys, seconds=90.0))
    print(f"{scenario}: {pressed} keys")
    assert pressed >= min(n_keys, 500)


#: keys that open and close dialogs (train, conditions, help, the palette) and submit them,
#: typed faster than frames
DIALOG_KEYS = ["t", "enter", "C", "escape", "question_mark", "ctrl+p", "tab", "space", "n",
               "1", "down", "up"]
DIALOG_WEIGHTS = {"t": 4, "enter": 6, "C": 2, "escape": 2}


def test_keys_that_open_and_submit_dialogs_never_pop_the_debugger() -> None:
    """Enter typed twice into the train dialog popped the debugger itself (a blank screen,
    dead keys), three times raised ScreenStackError: after every batch of keys the debugger
    is still under its dialogs, and at the end it answers keys."""
    pressed = asyncio.run(fuzz("xor", 5, n_keys=720, seconds=60.0, keys=DIALOG_KEYS,
                               weighted=DIALOG_WEIGHTS))
    assert pressed >= 500


#: the dashboard's keys, and the debugger's once ``d`` has opened it on the current batch
#: (``q`` there goes back; on the dashboard it would end the run, so it is left out)
DASHBOARD_KEYS = ["space", "d", "s", "l", "question_mark", "escape", "n", "p", "f", "b", "u",
                  "g", "tab", "up", "down", "left", "right", "z", "enter", "ctrl+p"]


def test_random_keys_and_resizes_on_the_training_dashboard(tmp_path) -> None:
    """Pause, resume, save, the debugger on the live weights and back, help, resizes — in any
    order while training runs: no crash, and the run still ends with a checkpoint."""
    from backprop_tui.checkpoint import load_checkpoint
    from backprop_tui.training import Trainer
    from backprop_tui.tui.screens.dashboard import DashboardScreen
    from backprop_tui.tui.screens.handoff import TrainingDebugger

    rng = random.Random(7)
    tr = Trainer(load_scenario("iris").with_train(epochs=100_000), out_dir=tmp_path / "run")
    screen = DashboardScreen(tr)
    app = BackpropApp("screen", screen=lambda: screen)
    pressed = 0

    async def main() -> None:
        nonlocal pressed
        async with app.run_test(size=(120, 40)) as pilot:
            t0 = time.monotonic()
            while pressed < 600 and time.monotonic() - t0 < 60:
                if rng.random() < 0.05:
                    await pilot.resize_terminal(rng.randint(40, 250), rng.randint(12, 80))
                batch = rng.choices(DASHBOARD_KEYS, k=12)
                seen.add(type(app.screen).__name__)  # the screen this batch starts on
                send_keys(app, batch)
                pressed += len(batch)
                await pilot.pause()
                seen.add(type(app.screen).__name__)
                assert_stack_sane(app, DashboardScreen, above=(TrainingDebugger,))
            assert app.is_running

    seen: set[str] = set()
    asyncio.run(main())
    outcome = screen.finish()
    assert pressed >= 300
    assert {"DashboardScreen", "TrainingDebugger"} <= seen, seen  # both were driven
    assert outcome.status == "stopped" and outcome.saved is not None
    assert load_checkpoint(outcome.saved).meta["iteration"] == tr.iteration


def test_random_keys_on_a_network_whose_layer_raises() -> None:
    """A user's layer that raises in backward: error dialogs come and go under random keys,
    workers (f, b, u, c, t, g) stop on the error, and nothing crashes."""
    import numpy as np
    from test_custom_layers import Misshapen  # its backward multiplies mismatched shapes

    import backprop_tui as bt

    rng = random.Random(3)
    gen = np.random.default_rng(0)
    x = gen.normal(size=(40, 4))
    t = (x[:, 0] > 0).astype(int)
    net = bt.Network([bt.Affine(gen.normal(size=(4, 4)), np.zeros(4), name="a1"),
                      Misshapen(name="bad"), bt.ReLU(),
                      bt.Affine(gen.normal(size=(4, 2)), np.zeros(2), name="a2")],
                     bt.SoftmaxCrossEntropy())
    session = DebugSession.for_network(net, x, t, batch_size=8)
    app = BackpropApp("debug", session=session)
    weights = [WEIGHTS.get(k, 1) for k in KEYS]
    pressed = 0
    dialogs = 0
    push_screen = app.push_screen

    def counting_push(screen, *args, **kwargs):
        # every error dialog shown, however soon the next random key dismisses it (sampling the
        # screen between key batches saw one only by the luck of the timing)
        nonlocal dialogs
        dialogs += type(screen).__name__ == "ErrorDialog"
        return push_screen(screen, *args, **kwargs)

    app.push_screen = counting_push  # type: ignore[method-assign]

    async def main() -> None:
        nonlocal pressed
        async with app.run_test(size=(120, 40)) as pilot:
            # the error once for sure (b: finish the backward pass, which reaches the layer),
            # then random keys with the dialog up: whether they reach it again is chance
            await pilot.press("b")
            await app.workers.wait_for_complete()
            await pilot.pause()
            t0 = time.monotonic()
            while pressed < 1200 and time.monotonic() - t0 < 60:
                if rng.random() < 0.03:
                    await pilot.resize_terminal(rng.randint(40, 250), rng.randint(12, 80))
                send_keys(app, rng.choices(KEYS, weights, k=24))
                pressed += 24
                await pilot.pause()
            await app.workers.wait_for_complete()
            assert app.is_running

    asyncio.run(main())
    assert pressed >= 500 and dialogs > 0
