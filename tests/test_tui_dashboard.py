"""The live training dashboard (screens/dashboard.py), driven by Pilot.

The trainer is the headless command's, so the checks are about the dashboard's promises: pausing
really stops the worker, a paused and resumed run ends bit-identical to an uninterrupted
headless run, ``d`` opens the debugger on an exact float64 copy and leaving it changes nothing,
``s``/``q`` save, a NaN run says where, the screen repaints at most ~10×/s and answers keys while
xor trains flat out. Snapshots are taken paused, with the trainer's clock pinned.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from rich.console import Console
from textual import events

from backprop_tui import training
from backprop_tui.checkpoint import load_checkpoint
from backprop_tui.scenario import load_scenario
from backprop_tui.training import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    EpochMetrics,
    EpochStart,
    NonFiniteFound,
    Trainer,
)
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.monitor import RunMonitor, fmt_duration, fmt_short_duration, progress_bar
from backprop_tui.tui.screens.dashboard import DASHBOARD_KEYS, TICK, DashboardScreen
from backprop_tui.tui.screens.handoff import TrainingDebugger, debug_session
from backprop_tui.tui.screens.help import HelpScreen
from backprop_tui.tui.widgets.chart import LineChart
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane

Body = Callable[[BackpropApp, DashboardScreen, object], Awaitable[None]]


def trainer(name: str, out: Path | None, **train) -> Trainer:
    return Trainer(load_scenario(name).with_train(**train), out_dir=out)


def run(tr: Trainer, body: Body, size: tuple[int, int] = (120, 40), **kw) -> DashboardScreen:
    screen = DashboardScreen(tr, **kw)
    app = BackpropApp("screen", screen=lambda: screen, theme=DARK)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(app, screen, pilot)

    asyncio.run(main())
    return screen


async def until(pilot, cond: Callable[[], bool], timeout: float = 30.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out waiting")
        await pilot.pause(0.02)


def same_state(a: Trainer | dict, b: Trainer | dict) -> bool:
    """Bit-identical parameters, buffers and optimizer state."""
    def flat(x):
        if isinstance(x, Trainer):
            return {**x.net.state_dict(), **{f"opt:{k}": v for k, v in
                                            x.optimizer.state_dict().items()}}
        return x
    fa, fb = flat(a), flat(b)
    return fa.keys() == fb.keys() and all(
        fa[k].dtype == fb[k].dtype and np.array_equal(fa[k], fb[k]) for k in fa)


def headless(name: str, iterations: int, **train) -> Trainer:
    ref = trainer(name, None, **train)
    ref.run(max_iterations=iterations)
    assert ref.iteration == iterations
    return ref


def rendered(renderable) -> str:
    """Plain text of a rich renderable (a Table in a Static), as a wide terminal shows it."""
    console = Console(width=300, color_system=None)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get()


def plain(screen: DashboardScreen, selector: str) -> str:
    """The text a Static pane shows."""
    return str(screen.query_one(selector).render())


# -- pause / resume --------------------------------------------------------------------------
def test_pause_stops_the_worker_and_resume_equals_an_uninterrupted_run(tmp_path) -> None:
    """iris has 12 batches per epoch, so the pauses fall mid-epoch; epochs are plenty so the run
    is still going when space is pressed."""
    tr = trainer("iris", tmp_path / "run", epochs=100_000)
    seen = {}

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 30)
        assert screen.state == "running"
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        n1 = tr.iteration
        await pilot.pause(0.4)  # several ticks: nothing moves while paused
        assert tr.iteration == n1 and screen.monitor.iteration == n1
        assert "paused" in plain(screen, "#dash-run")
        await pilot.press("space")
        await until(pilot, lambda: tr.iteration >= n1 + 40)
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused")
        seen["n1"], seen["n2"] = n1, tr.iteration

    run(tr, body)
    n2 = seen["n2"]
    ref = headless("iris", n2, epochs=100_000)
    assert same_state(tr, ref)
    assert tr.batches.state() == ref.batches.state()


def test_pause_at_then_resume_to_the_end_equals_headless(tmp_path) -> None:
    tr = trainer("iris", tmp_path / "run", epochs=4)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        assert tr.iteration == 17  # pause_at is exact
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "done")

    run(tr, body, pause_at=17)
    ref = headless("iris", 48, epochs=4)
    assert same_state(tr, ref)
    assert [m.test_accuracy for m in tr.history] == [m.test_accuracy for m in ref.history]


# -- the debugger ----------------------------------------------------------------------------
def test_d_opens_the_debugger_on_the_trainers_weights_and_q_comes_back(tmp_path) -> None:
    tr = trainer("iris", tmp_path / "run", epochs=10)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        before = {**tr.net.state_dict(), **tr.optimizer.state_dict()}
        expected_batch = copy.deepcopy(tr.batches).next()  # the batch the trainer takes next
        await pilot.press("d")
        await pilot.pause()
        dbg = app.screen
        assert isinstance(dbg, TrainingDebugger)
        s = dbg.session
        assert s.net.dtype == np.float64 and s.net is not tr.net
        # the debugger shows the trainer's weights: select L1 and its W in the tensor pane
        dbg.query_one(NetworkPane).selected = 0
        await pilot.pause()
        pane = dbg.query_one(TensorPane)
        pane.select("W")
        await pilot.pause()
        assert pane.item is not None and pane.item.key == "W"
        np.testing.assert_array_equal(pane.item.array, tr.net.layers[0].params["W"])
        for mine, theirs in zip(s.net.layers, tr.net.layers, strict=True):
            for k in theirs.params:
                np.testing.assert_array_equal(mine.params[k], theirs.params[k])
        np.testing.assert_array_equal(s.stepper.batch[0], expected_batch[0])
        np.testing.assert_array_equal(s.stepper.batch[1], expected_batch[1])
        # a whole iteration in the debugger (its update included) …
        await pilot.press("u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert s.stepper.complete
        # … leaves the trainer as it was; q returns to the dashboard
        assert same_state(before, {**tr.net.state_dict(), **tr.optimizer.state_dict()})
        debugger_after = s.net.state_dict()
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is screen
        assert "untouched" in screen.message
        # escape leaves it too
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, TrainingDebugger)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        # the debugger's update was exactly the trainer's next iteration (both float64)
        screen.pause_at = 31
        await pilot.press("space")
        await until(pilot, lambda: screen.state == "paused" and tr.iteration == 31)
        assert same_state(debugger_after, tr.net.state_dict())

    run(tr, body, pause_at=30)


def test_debug_session_steps_exactly_the_trainers_next_iteration() -> None:
    for name in ("xor", "iris"):  # float64 scenarios: the copy loses nothing
        tr = trainer(name, None)
        tr.run(max_iterations=37)
        s = debug_session(tr)
        s.stepper.update()  # forward, loss, backward, update of one batch in the debugger
        tr.run(max_iterations=1)
        assert same_state(s.net.state_dict(), tr.net.state_dict())


def test_debug_session_of_a_float32_run_is_a_float64_copy(tmp_path) -> None:
    sc = load_scenario("iris").with_train(dtype="float32", optimizer="adam")
    tr = Trainer(sc, out_dir=None)
    tr.run(max_iterations=5)
    s = debug_session(tr)
    for mine, theirs in zip(s.net.layers, tr.net.layers, strict=True):
        for k, p in theirs.params.items():
            assert mine.params[k].dtype == np.float64
            np.testing.assert_array_equal(mine.params[k], p.astype(np.float64))
    assert s.optimizer.t == tr.optimizer.t == 5
    for k, v in tr.optimizer.state_dict().items():
        np.testing.assert_array_equal(s.optimizer.state_dict()[k], v)


def test_d_while_training_pauses_first(tmp_path) -> None:
    tr = trainer("iris", tmp_path / "run", epochs=100_000)

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 20)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, TrainingDebugger))
        assert screen.state == "paused"
        n = tr.iteration
        await pilot.pause(0.3)
        assert tr.iteration == n
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is screen and screen.state == "paused"

    run(tr, body)


# -- save, quit, help, log ---------------------------------------------------------------------
def test_s_saves_a_checkpoint_paused_and_while_running(tmp_path) -> None:
    out = tmp_path / "run"
    tr = trainer("iris", out, epochs=100_000)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        await pilot.press("s")
        await pilot.pause()
        ck = load_checkpoint(out / "checkpoint.npz")
        assert ck.meta["iteration"] == 25 == tr.iteration
        assert "saved checkpoint.npz" in screen.message
        screen.pause_at = None
        await pilot.press("space")
        await until(pilot, lambda: tr.iteration >= 60)
        await pilot.press("s")  # pauses between two batches, saves, resumes
        await until(pilot, lambda: "saved checkpoint.npz" in screen.message and
                    load_checkpoint(out / "checkpoint.npz").meta["iteration"] >= 60)
        await until(pilot, lambda: screen.state == "running")
        saved_at = load_checkpoint(out / "checkpoint.npz").meta["iteration"]
        assert saved_at >= 60
        await until(pilot, lambda: tr.iteration > saved_at)  # training went on

    run(tr, body, pause_at=25)


def test_q_stops_saves_and_exits(tmp_path) -> None:
    out = tmp_path / "run"
    tr = trainer("iris", out, epochs=100_000)

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 40)
        await pilot.press("q")
        await until(pilot, lambda: screen.outcome is not None)

    screen = run(tr, body)
    out_ = screen.outcome
    assert out_.status == "stopped" and out_.saved == out / "checkpoint.npz"
    assert load_checkpoint(out_.saved).meta["iteration"] == tr.iteration == out_.iteration
    # the saved run resumes to the same numbers as an uninterrupted one
    n = tr.iteration
    resumed = Trainer.resume(load_scenario("iris").with_train(epochs=100_000), out)
    resumed.run(max_iterations=7)
    assert same_state(resumed, headless("iris", n + 7, epochs=100_000))


def test_finish_after_the_app_exited_without_q_still_saves(tmp_path) -> None:
    """ctrl+q (Textual's own quit) ends the app without the dashboard's q: the CLI's finish()
    stops the worker and saves."""
    out = tmp_path / "run"
    tr = trainer("iris", out, epochs=100_000)

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 10)
        await pilot.press("ctrl+q")

    screen = run(tr, body)
    outcome = screen.finish()
    assert outcome.status == "stopped"
    assert load_checkpoint(out / "checkpoint.npz").meta["iteration"] == tr.iteration


def test_completed_run_reports_done_and_the_last_checkpoint(tmp_path) -> None:
    out = tmp_path / "run"
    tr = trainer("xor", out, epochs=300)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "done")
        assert "finished" in plain(screen, "#dash-run")
        await pilot.press("space")  # nothing to resume
        assert "finished" in screen.message
        await pilot.press("q")

    screen = run(tr, body)
    assert screen.outcome.status == "completed"
    assert screen.outcome.saved == out / "checkpoint.npz"
    assert same_state(tr, headless("xor", 300, epochs=300))


def test_help_and_log_toggle_and_every_binding_is_listed(tmp_path) -> None:
    tr = trainer("xor", tmp_path / "run", epochs=50)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(rendered(s.content) for s in app.screen.query("Static"))
        for k in DASHBOARD_KEYS:
            assert k.help in " ".join(text.split()), k.help
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        chart = screen.query_one("#dash-loss", LineChart)
        assert chart.log_y
        await pilot.press("l")
        assert not chart.log_y and "linear" in screen.message
        await pilot.press("l")
        assert chart.log_y

    run(tr, body, pause_at=10)
    bound = {b.key for b in DashboardScreen.BINDINGS}
    assert {"space", "d", "s", "l", "question_mark", "q"} <= bound


def test_help_inside_the_training_debugger_says_q_goes_back(tmp_path) -> None:
    tr = trainer("xor", tmp_path / "run", epochs=50)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert any("training dashboard" in what for _, what in app.screen.keys)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TrainingDebugger)

    run(tr, body, pause_at=5)


# -- NaN ---------------------------------------------------------------------------------------
def test_a_nan_run_shows_the_layer_and_d_replays_the_failing_batch(tmp_path) -> None:
    # lr = 1e200: the first update makes affine1's weights ~1e200, the next forward overflows
    tr = trainer("xor", tmp_path / "run", lr=1e200, epochs=100)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "nonfinite")
        nf = screen.monitor.nonfinite
        assert isinstance(nf, NonFiniteFound) and nf.layer
        alert = plain(screen, "#dash-alert")
        assert nf.message() in alert and repr(nf.layer) in alert
        assert screen.query_one("#dash-alert").display
        assert "stopped: NaN/Inf" in plain(screen, "#dash-run")
        n = tr.iteration
        await pilot.press("space")  # cannot resume
        assert "cannot resume" in screen.message and tr.iteration == n
        await pilot.press("d")
        await pilot.pause()
        dbg = app.screen
        assert isinstance(dbg, TrainingDebugger)
        # the debugger replays the batch that failed, from the weights before its update
        st = dbg.session.stepper
        rec = None
        while not st.complete:
            rec = st.step()
            if rec.nonfinite:
                break
        assert rec is not None and rec.nonfinite, "the failing batch reproduces the NaN/Inf"
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("q")

    screen = run(tr, body)
    assert screen.outcome.status == "nonfinite" and screen.outcome.saved is None


# -- speed: throttled repaints, a UI that answers ----------------------------------------------
def test_repaints_are_throttled_and_keys_answer_at_xors_batch_rate(tmp_path) -> None:
    tr = trainer("xor", tmp_path / "run", epochs=10**7)
    seen = {}

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 100)
        r0, c0, i0, t0 = screen.redraws, screen.query_one("#dash-loss").renders, \
            tr.iteration, time.monotonic()
        chart = screen.query_one("#dash-loss", LineChart)
        latencies = []
        for _ in range(6):
            await pilot.pause(0.2)
            before = chart.log_y
            k0 = time.monotonic()
            # the key as the terminal driver posts it (pilot.press would also wait for every
            # widget to go idle, which a 10 Hz dashboard never quite does)
            app.post_message(events.Key("l", "l"))
            while chart.log_y == before:
                assert time.monotonic() - k0 < 5, "the key was never handled"
                await asyncio.sleep(0.001)
            latencies.append(time.monotonic() - k0)
        await pilot.pause(0.3)
        dt = time.monotonic() - t0
        seen.update(redraws=(screen.redraws - r0) / dt, renders=(chart.renders - c0) / dt,
                    its=(tr.iteration - i0) / dt, latency=max(latencies))
        await pilot.press("q")

    run(tr, body)
    # ≤ 1/TICK redraws a second (+ the key presses' own), however many batches came
    assert seen["redraws"] <= 1 / TICK + 8, seen
    assert seen["renders"] <= 1 / TICK + 14, seen
    assert seen["its"] > 500, seen  # xor trains hundreds-thousands of batches a second
    assert seen["latency"] < 0.25, seen  # measured ≈ 10–20 ms on a loaded 2-core box


# -- the monitor (no UI) -----------------------------------------------------------------------
def _metrics(epoch: int, acc: float) -> EpochMetrics:
    return EpochMetrics(epoch=epoch, iterations=12 * epoch, train_loss=0.5, train_accuracy=acc,
                        test_loss=0.4, test_accuracy=acc, seconds=1.0, eval_seconds=0.5,
                        samples_per_second=120.0, lr=0.05)


def test_run_monitor_folds_events() -> None:
    tr = trainer("iris", None, epochs=3)
    m = RunMonitor(tr)
    assert (m.epochs, m.batches, m.batch_size, m.n_train) == (3, 12, 10, 120)
    events = [EpochStart(1, 3, 12, 0)]
    events += [BatchEnd(1, b, 12, b, 1.0 / b, 0.5, 10 * b, 0.01 * b) for b in range(1, 13)]
    events += [EpochEnd(_metrics(1, 0.8), True),
               CheckpointSaved(Path("runs/x/best.npz"), 1, "best")]
    assert m.feed(events)
    assert m.iteration == 12 and m.samples == 120 and m.epochs_done == 1
    x, y = m.loss.arrays()
    np.testing.assert_array_equal(x, np.arange(1, 13))
    np.testing.assert_array_equal(y, 1.0 / np.arange(1, 13))
    assert m.best is not None and m.best.epoch == 1
    assert m.notices[-1].text == "saved best.npz (epoch 1)"
    m.feed([EpochStart(2, 3, 12, 0), EpochEnd(_metrics(2, 0.7), False)])
    assert m.best.epoch == 1 and [r[0].epoch for r in m.recent] == [1, 2]
    assert not m.feed([])


def test_run_monitor_rate_and_eta() -> None:
    tr = trainer("iris", None, epochs=3)
    m = RunMonitor(tr)
    m.mark(100.0)
    assert m.rate() is None and m.eta() is None
    m.feed([BatchEnd(1, b, 12, b, 1.0, 1.0, 10 * b, 0.0) for b in range(1, 7)])  # 60 samples
    m.mark(101.0)
    assert m.rate() == pytest.approx(60.0)
    # 30 iterations left of 10 samples at 60/s = 5 s, no evaluation timed yet
    assert m.eta() == pytest.approx(30 * 10 / 60.0)
    m.reset_rate()
    assert m.rate() is None


def test_run_monitor_starts_from_a_resumed_trainers_history(tmp_path) -> None:
    tr = trainer("iris", tmp_path / "run", epochs=3)
    tr.run(max_iterations=30)  # 2 epochs and a half
    tr.save_interrupt()
    resumed = Trainer.resume(load_scenario("iris").with_train(epochs=3), tmp_path / "run")
    m = RunMonitor(resumed)
    assert m.iteration == 30 and m.epochs_done == 2 and m.epoch == 3 and m.batch == 6
    assert [r[0].epoch for r in m.recent] == [1, 2] and m.best is not None


def test_fmt_duration_and_progress_bar() -> None:
    assert [fmt_duration(s) for s in (0, 42.4, 185, 3725)] == ["0s", "42s", "3m05s", "1h02m"]
    assert [fmt_short_duration(s) for s in (5.94e-5, 0.012, 1.144, 65.23, 185, float("nan"))] \
        == ["59µs", "12ms", "1.14s", "65.2s", "3m05s", "–"]
    assert progress_bar(0.5, 10).plain == "▕█████     ▏"
    assert progress_bar(0.05, 10).plain == "▕▌         ▏"  # half a cell: 4 eighths
    assert progress_bar(1 / 16, 10).plain == "▕▋         ▏"  # 5 eighths
    assert progress_bar(2.0, 4).plain == "▕████▏"
    assert progress_bar(float("nan"), 4).plain == "▕    ▏"


# -- snapshots ---------------------------------------------------------------------------------
@pytest.fixture
def pinned(tmp_path, monkeypatch):
    """The trainer's clock advances 1 ms per reading (seconds and samples/s in the epoch table
    are then the same every run); the run folder is relative, in a fresh directory."""
    counter = itertools.count()
    fake = SimpleNamespace(perf_counter=lambda: next(counter) * 1e-3,
                           monotonic=lambda: next(counter) * 1e-3)
    monkeypatch.setattr(training, "time", fake)
    monkeypatch.chdir(tmp_path)
    return Path("runs")


def paused(pilot) -> Awaitable[None]:
    screen = pilot.app.screen

    async def wait() -> None:
        await until(pilot, lambda: screen.state in ("paused", "nonfinite", "done"))
        await pilot.pause(2 * TICK)

    return wait()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_iris_paused_mid_epoch(snap_compare, pinned, size) -> None:
    tr = trainer("iris", pinned / "iris", epochs=200)
    screen = DashboardScreen(tr, pause_at=12 * 40 + 5)
    app = BackpropApp("screen", screen=lambda: screen, theme=DARK)
    assert snap_compare(app, terminal_size=size, run_before=paused)


def test_snapshot_nan_stop(snap_compare, pinned) -> None:
    tr = trainer("xor", pinned / "xor", lr=1e200, epochs=100)
    screen = DashboardScreen(tr)
    app = BackpropApp("screen", screen=lambda: screen, theme=DARK)
    assert snap_compare(app, terminal_size=(80, 24), run_before=paused)


def test_snapshot_dashboard_health_iris(snap_compare, pinned) -> None:
    # measured every 5 iterations from the start (deterministic), paused at iteration 485
    from backprop_tui.engine.health import HealthTracker

    tr = trainer("iris", pinned / "iris", epochs=200)
    screen = DashboardScreen(tr, autostart=False, pause_at=12 * 40 + 5)
    screen.health = HealthTracker(every=5)

    async def run_before(pilot) -> None:
        await pilot.press("h")
        await pilot.press("space")
        await paused(pilot)
        await pilot.pause(2 * TICK)

    app = BackpropApp("screen", screen=lambda: screen, theme=DARK)
    assert snap_compare(app, terminal_size=(100, 32), run_before=run_before)


# -- the command: backprop-tui train SCENARIO (no --headless) ------------------------------------
def test_train_without_a_terminal_asks_for_headless(tmp_path) -> None:
    from typer.testing import CliRunner

    from backprop_tui.cli import app as cli_app

    result = CliRunner().invoke(cli_app, ["train", "xor", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "needs a terminal" in result.output and "--headless" in result.output
    assert not (tmp_path / "r").exists()


class Terminal:
    """``backprop-tui ARGS`` in a pseudo-terminal (stdin and stdout), with keys to type."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        import os
        import pty
        import subprocess
        import sys

        self.os = os
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        env.update(TERM="xterm-256color", COLUMNS="100", LINES="30", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "backprop_tui", *args],
                                     stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path,
                                     env=env, start_new_session=True)
        os.close(slave)
        self.chunks: list[bytes] = []

    def read(self, seconds: float) -> None:
        import select

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = self.os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.chunks.append(data)
            elif self.proc.poll() is not None:
                return

    def wait_for(self, cond: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, "timed out"
            assert self.proc.poll() is None, self.text()
            self.read(0.1)

    def type(self, keys: str) -> None:
        self.os.write(self.master, keys.encode())

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        self.read(0.3)
        self.os.close(self.master)
        return self.proc.wait(timeout=5)

    def text(self) -> str:
        import re

        out = b"".join(self.chunks).decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?<>=]*[A-Za-z~]", "", out)


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="needs a POSIX terminal")
def test_the_command_trains_in_the_dashboard_and_q_leaves_after_the_end(tmp_path) -> None:
    term = Terminal(tmp_path, "train", "xor", "--epochs", "60", "--out", "run")
    ck = tmp_path / "run" / "checkpoint.npz"
    term.wait_for(lambda: ck.exists() and load_checkpoint(ck).meta["epochs_done"] == 60)
    term.read(0.5)
    term.type("q")
    assert term.finish() == 0
    out = " ".join(term.text().split())  # a terminal: the summary wraps at words
    assert "done: test accuracy" in out and "Saved in run" in out
    assert same_state(load_checkpoint(ck).params, headless("xor", 60, epochs=60).net.state_dict())


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="needs a POSIX terminal")
@pytest.mark.parametrize("key", ["q", "\x11"], ids=["q", "ctrl+q"])
def test_the_command_saves_and_exits_130_when_stopped_early(tmp_path, key: str) -> None:
    term = Terminal(tmp_path, "train", "iris", "--epochs", "100000", "--out", "run")
    term.wait_for(lambda: (tmp_path / "run" / "best.npz").exists())
    term.read(0.5)
    term.type(key)
    assert term.finish() == 130
    out = term.text()
    meta = load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta
    assert f"after iteration {meta['iteration']}: saved run/checkpoint.npz" in out
    assert "resume with: backprop-tui train iris --resume run" in out


# -- robustness --------------------------------------------------------------------------------
def test_random_keys_and_resizes_never_crash_nor_change_the_numbers(tmp_path) -> None:
    """Hundreds of random keys (the dashboard's, the debugger's, dialogs', escape) and resizes
    from 40×12 to 200×60 while iris trains: the app survives, and whatever happened, the
    trainer holds exactly the numbers of an uninterrupted headless run of its length."""
    import random

    tr = trainer("iris", tmp_path / "run", epochs=100_000)
    rnd = random.Random(4)
    keys = ["space", "space", "d", "s", "l", "question_mark", "escape", "escape", "n", "p",
            "f", "b", "u", "x", "r", "g", "t", "C", "tab", "up", "down", "left", "right",
            "left_square_bracket", "right_square_bracket", "i", "z", "enter"]

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 5)
        for i in range(250):
            if i % 25 == 0:
                await pilot.resize_terminal(rnd.randint(40, 200), rnd.randint(12, 60))
            key = rnd.choice(keys)
            # as the terminal driver posts keys (pilot.press would wait for an idle screen,
            # which a dashboard repainting 10 times a second never quite is)
            char = {"space": " ", "question_mark": "?", "left_square_bracket": "[",
                    "right_square_bracket": "]", "enter": "\r", "tab": "\t"}.get(key)
            app.post_message(events.Key(key, char if char else (key if len(key) == 1
                                                                  else None)))
            await asyncio.sleep(0.01)
            if i % 10 == 0:
                await pilot.pause(0.05)
        for _ in range(6):  # back to the dashboard, whatever is open
            if app.screen is screen:
                break
            await pilot.press("escape")
            await pilot.pause(0.1)  # (not wait_for_complete: the trainer's worker runs on)
            if isinstance(app.screen, TrainingDebugger):
                await pilot.press("q")
                await pilot.pause()
        assert app.screen is screen
        if screen.state == "running":
            await pilot.press("space")
        await until(pilot, lambda: screen.state in ("paused", "done"))

    run(tr, body)
    assert same_state(tr, headless("iris", tr.iteration, epochs=100_000))


def test_a_too_small_terminal_shows_a_notice_and_training_goes_on(tmp_path) -> None:
    tr = trainer("iris", tmp_path / "run", epochs=100_000)

    async def body(app, screen, pilot):
        await until(pilot, lambda: tr.iteration >= 5)
        assert screen.has_class("too-small")
        notice = plain(screen, "#dash-too-small")
        assert "50×15" in notice and "needs at least 60×20" in notice
        n = tr.iteration
        await until(pilot, lambda: tr.iteration > n + 100)  # training goes on
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not screen.has_class("too-small")
        assert screen.query_one("#dash-loss").display

    run(tr, body, size=(50, 15))


# -- the debugger says where its weights come from ---------------------------------------------
def test_the_debugger_from_the_dashboard_says_which_training_iteration_it_continues(
        tmp_path) -> None:
    """Its stepper counts its own iterations from 0; the network pane says the weights are
    training's after iteration 30 (iris: 12 batches an epoch, so in epoch 3)."""
    tr = trainer("iris", tmp_path / "run", epochs=10)
    per_epoch = tr.batches_per_epoch

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        assert tr.iteration == 30
        await pilot.press("d")
        await pilot.pause()
        dbg = app.screen
        assert isinstance(dbg, TrainingDebugger)
        net = dbg.query_one(NetworkPane)
        epoch = 30 // per_epoch + 1
        line = f"from training: after iteration 30 (epoch {epoch})"
        text = net.render().plain
        assert line in text
        assert "layer" in text.split("\n")[0]  # 120×40: a line of its own, headings kept
        assert net.border_subtitle.startswith("iteration 0 ")  # the debugger's own count
        await pilot.press("u")  # a whole iteration in the debugger: still from there
        await app.workers.wait_for_complete()
        await pilot.pause()
        steps = app.screen.session.stepper.steps_per_iteration
        assert net.border_subtitle.endswith(f"step {steps}/{steps}")
        assert line in net.render().plain
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is screen

    run(tr, body, pause_at=30)


def test_at_80x24_the_training_line_replaces_the_column_headings(tmp_path) -> None:
    tr = trainer("iris", tmp_path / "run", epochs=10)

    async def body(app, screen, pilot):
        await until(pilot, lambda: screen.state == "paused")
        await pilot.press("d")
        await pilot.pause()
        net = app.screen.query_one(NetworkPane)
        lines = net.render().plain.split("\n")
        assert net.content_size.width < len("from training: iteration 5, epoch 1")
        assert lines[0] == "trained: iteration 5, epoch 1"  # the form that fits 80 columns
        assert "affine1" in lines[1]
        assert len(lines) == len(app.screen.session.rows()) + 3  # no line more than before

    run(tr, body, size=(80, 24), pause_at=5)


def test_debug_session_from_training_counts_epochs_from_1() -> None:
    from backprop_tui.tui.screens.handoff import trained_so_far
    from backprop_tui.tui.session import DebugSession

    tr = trainer("iris", None)
    n = tr.batches_per_epoch
    assert debug_session(tr).from_training == (0, 0)
    tr.run(max_iterations=2 * n)  # two whole epochs: the last iteration was in epoch 2
    assert debug_session(tr).from_training == (2 * n, 2)
    tr.run(max_iterations=1)  # the first batch of epoch 3
    assert debug_session(tr).from_training == (2 * n + 1, 3)
    # a state at the start of an epoch (position 0): the last iteration was in the one before
    assert trained_so_far(12_345, 6, 0) == (12_345, 6)
    # a debugger opened on its own says nothing of the kind
    s = DebugSession.from_scenario(load_scenario("iris"))
    assert s.from_training is None and s.status()["from_training"] is None
