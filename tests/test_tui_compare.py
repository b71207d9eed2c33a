"""The compare view (tui/screens/compare.py) driven by Pilot: a finished experiment opened from its
folder (charts switched by tab, m, 1…9, twice over), ``s`` writing the chart shown as SVG into
the run folder, the help naming every key; and real experiments in their --quick form run in the
worker: drawn as they go, finished and saved, stopped by q (saved, resumable) and resumed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from experiment_results import ALL, histograms, paths, saved
from test_tui_cut_numbers import cut_numbers

from backprop_tui.experiments.result import ExperimentResult
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.render.compare import charts
from backprop_tui.tui.screens.compare import COMPARE_KEYS, ChartPane, CompareScreen
from backprop_tui.tui.screens.help import HelpScreen

Body = Callable[[BackpropApp, object, CompareScreen], Awaitable[None]]


def run(body: Body, make: Callable[[], CompareScreen], size=(120, 40)) -> CompareScreen:
    holder: list[CompareScreen] = []

    def factory() -> CompareScreen:
        holder.append(make())
        return holder[0]

    app = BackpropApp("screen", screen=factory, theme=DARK)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(app, pilot, holder[0])

    asyncio.run(main())
    return holder[0]


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()


async def until(pilot, cond: Callable[[], bool], timeout: float = 120.0) -> None:
    """Let the app run until ``cond()`` (the worker's updates arrive by the timer)."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await pilot.pause(0.05)


def screen_text(app: BackpropApp) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


def chart_shown(screen: CompareScreen) -> str:
    pane = screen.query_one(ChartPane)
    return pane.render().plain


def viewer(result: ExperimentResult, folder: Path) -> Callable[[], CompareScreen]:
    loaded = saved(result, folder)
    return lambda: CompareScreen(loaded.name, folder, result=loaded)


# -- a finished experiment ----------------------------------------------------------------------
def test_opening_a_finished_experiment_and_switching_charts(tmp_path: Path) -> None:
    async def body(app, pilot, screen):
        assert screen.state == "viewing"
        keys = [c.key for c in charts(screen.result)]
        assert keys == ["paths", "f"]
        assert screen.current()[1].key == "paths"
        assert "S" in chart_shown(screen) and "SGD" in chart_shown(screen)
        text = screen_text(app)
        assert "chart 1/2" in text and "4/4 runs done" in text
        for name in ("SGD", "Momentum", "AdaGrad", "Adam"):
            assert f"━ {name}  done  step 30" in text  # the runs pane
        await press(pilot, "tab")
        assert screen.current()[1].key == "f" and "f(x, y)" in chart_shown(screen)
        await press(pilot, "tab")  # around again
        assert screen.current()[1].key == "paths"
        await press(pilot, "shift+tab")
        assert screen.current()[1].key == "f"
        await press(pilot, "1", "1")  # twice: still the first chart
        assert screen.current()[1].key == "paths"
        await press(pilot, "m", "m")  # only charts of curves: f, and f again
        assert screen.current()[1].key == "f"
        await press(pilot, "9")
        assert screen.current()[1].key == "f" and "there are 2 charts" in screen_text(app)
        await press(pilot, "l")
        assert "log scale" not in chart_shown(screen)  # f spans decades: log was the default
        await press(pilot, "l")
        assert "log scale" in chart_shown(screen)
        await press(pilot, "space")
        assert "finished" in screen_text(app)

    screen = run(body, viewer(paths(), tmp_path))
    assert screen.finish().status == "viewed"


def test_l_switches_the_y_axis_where_there_is_one(tmp_path: Path) -> None:
    from experiment_results import curves, grid

    async def on_curves(app, pilot, screen):
        await press(pilot, "2")  # test accuracy: linear, in %, whatever l says
        await press(pilot, "l")
        assert screen.log_y is None and "stays linear" in screen_text(app)
        await press(pilot, "1", "l")  # the loss: log by default, l makes it linear
        assert screen.log_y is False and "log scale" not in chart_shown(screen)
        await press(pilot, "l")
        assert screen.log_y is True and "log scale" in chart_shown(screen)

    run(on_curves, viewer(curves(), tmp_path / "curves"))

    async def on_grid(app, pilot, screen):
        await press(pilot, "m")  # the loss grid: 2.3 … 0.01, log by default
        assert screen.current()[1].key == "loss-grid" and "log scale" in chart_shown(screen)
        await press(pilot, "l")
        assert screen.log_y is False and "log scale" not in chart_shown(screen)
        await press(pilot, "l")  # and back
        assert screen.log_y is True and "log scale" in chart_shown(screen)

    run(on_grid, viewer(grid(), tmp_path / "grid"))


def test_s_saves_the_chart_shown_as_svg_in_the_run_folder(tmp_path: Path) -> None:
    async def body(app, pilot, screen):
        await press(pilot, "s")
        path = tmp_path / "init-histograms-histograms-1.svg"
        assert path.is_file()
        assert f"saved {path}" in screen_text(app).replace("\n", " ") or \
            "saved …" in screen_text(app)
        svg = path.read_text().replace("&#160;", " ")
        for name in ("sigmoid std=1", "sigmoid std=0.01", "sigmoid Xavier"):
            assert name in svg
        assert "layer 5" in svg and "activations per layer" in svg
        first = path.read_text()
        await press(pilot, "s")  # again: the same file, whole
        assert path.read_text() == first
        await press(pilot, "tab", "s")
        assert (tmp_path / "init-histograms-histograms-2.svg").is_file()
        assert "relu He" in (tmp_path / "init-histograms-histograms-2.svg").read_text().replace(
        "&#160;", " ")
        assert screen.saved == [path, path, tmp_path / "init-histograms-histograms-2.svg"]

    run(body, viewer(histograms(), tmp_path))


def test_s_says_why_when_the_folder_cannot_be_written(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("in the way")
    result = paths()

    async def body(app, pilot, screen):
        await press(pilot, "s")
        assert "could not save" in screen_text(app)
        assert not screen.saved

    run(body, lambda: CompareScreen(result.name, blocked / "sub", result=result))


def test_help_lists_every_key(tmp_path: Path) -> None:
    async def body(app, pilot, screen):
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for k in COMPARE_KEYS:
            assert (k.shown or k.keys) in text, k.keys
        assert "1 … 9" in text
        await press(pilot, "q")
        assert app.screen is screen

    run(body, viewer(paths(), tmp_path))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("kind", list(ALL))
def test_no_number_cut_at_80_and_120_columns(tmp_path: Path, size, kind) -> None:
    make = ALL[kind]

    async def body(app, pilot, screen):
        for _ in charts(screen.result):
            text = screen_text(app)
            assert not cut_numbers(text), text
            await press(pilot, "tab")

    run(body, viewer(make(), tmp_path), size=size)


# -- running real experiments (--quick) ---------------------------------------------------------
def test_a_quick_experiment_runs_in_the_worker_and_is_saved(tmp_path: Path) -> None:
    out = tmp_path / "run"

    async def body(app, pilot, screen):
        await until(pilot, lambda: screen.state == "done")
        assert "finished" in screen_text(app)
        assert screen.result is not None and screen.result.summary
        assert "histograms" in screen.current()[1].key
        await press(pilot, "q")

    screen = run(body, lambda: CompareScreen("init-histograms", out, quick=True))
    assert screen.finish().status == "completed"
    back = ExperimentResult.load(out)
    assert all(r.status == "done" for r in back.runs) and back.summary


def test_q_stops_saves_and_the_experiment_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    seen: list[str] = []

    async def body(app, pilot, screen):
        # drawn as it runs: the first run's curve grows before it is done
        await until(pilot, lambda: screen.result is not None and any(
            c.x for c in screen.result.runs[0].curves.values()))
        seen.append(screen_text(app))
        await press(pilot, "q", "q")  # twice: one stop, one save

    screen = run(body, lambda: CompareScreen("optimizer-compare", out, quick=True))
    outcome = screen.finish()
    assert outcome.status == "stopped"
    assert "running" in seen[0] and "iteration" in seen[0]
    back = ExperimentResult.load(out)
    assert any(r.status != "done" for r in back.runs)

    async def resume(app, pilot, screen):
        await until(pilot, lambda: screen.state == "done", timeout=300)
        assert "4/4 runs done" in screen_text(app)
        await press(pilot, "q")

    again = run(resume, lambda: CompareScreen("optimizer-compare", out, resume=True))
    assert again.finish().status == "completed"
    assert all(r.status == "done" for r in ExperimentResult.load(out).runs)


def test_space_pauses_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"

    async def body(app, pilot, screen):
        await until(pilot, lambda: screen.result is not None and screen.state == "running")
        await press(pilot, "space")
        await until(pilot, lambda: screen.state == "paused")
        assert "paused" in screen_text(app)
        saved_runs = ExperimentResult.load(out).runs  # saved where it stopped
        assert any(r.status in ("stopped", "pending") for r in saved_runs)
        await press(pilot, "space")
        assert screen.state in ("running", "done")  # done: the rest was a few batches
        await until(pilot, lambda: screen.state == "done", timeout=300)
        await press(pilot, "q")

    screen = run(body, lambda: CompareScreen("init-compare", out, quick=True))
    assert screen.finish().status == "completed"


# -- from the picker ----------------------------------------------------------------------------
def test_the_picker_runs_an_experiment_in_the_compare_view_and_q_comes_back(
        tmp_path: Path, monkeypatch) -> None:
    from backprop_tui.tui.screens.picker import PickerScreen

    monkeypatch.chdir(tmp_path)  # the run folder: runs/optimizer-paths-TIME
    app = BackpropApp("picker", scenario_names=["xor", "optimizer-paths"], theme=DARK)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            detail = str(app.screen.query_one("#picker-detail").render())
            assert "xor" in detail
            await press(pilot, "down")
            detail = str(app.screen.query_one("#picker-detail").render())
            assert "compare view" in detail and "4 runs" in detail
            await press(pilot, "enter")
            screen = app.screen
            assert isinstance(screen, CompareScreen)
            await until(pilot, lambda: screen.state == "done")
            assert "paths" in screen.current()[1].key
            await press(pilot, "q", "q")  # the second q reaches the picker: nothing happens
            assert isinstance(app.screen, PickerScreen)

    asyncio.run(main())
    folders = list((tmp_path / "runs").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("optimizer-paths-")
    assert all(r.status == "done" for r in ExperimentResult.load(folders[0]).runs)


def test_snapshot_is_equal_and_shares_nothing_the_experiment_changes() -> None:
    from backprop_tui.tui.screens.compare import snapshot

    for make in (paths, histograms):
        r = make()
        snap = snapshot(r)
        assert snap == r
        run = r.runs[0]
        for c in run.curves.values():
            c.add(99.0, 1.0)  # the experiment goes on: curves grow in place
        if run.path is not None:
            run.path.append((0.0, 0.0))
        for h in run.histograms:
            h.counts[0] += 1
        run.status = "running"
        r.summary.append("more")
        assert snap != r and snap == make()


@pytest.mark.parametrize("running", [False, True])
def test_random_keys_and_resizes_do_not_crash(tmp_path: Path, running: bool) -> None:
    """Keys typed faster than frames and resizes between 40×12 and 200×60, on a finished
    batch-norm grid and on a quick experiment running; then the view still answers."""
    import random

    from experiment_results import grid
    from test_tui_fuzz import assert_stack_sane, close_dialogs, send_keys

    rng = random.Random(7)
    keys = ["tab", "shift+tab", "m", "l", "s", "space", "1", "2", "9", "question_mark",
            "escape", "ctrl+p"]
    if running:
        make = lambda: CompareScreen("optimizer-compare", tmp_path / "run", quick=True)  # noqa: E731
    else:
        make = viewer(grid(), tmp_path / "grid")

    async def body(app, pilot, screen):
        for _ in range(12):
            send_keys(app, [rng.choice(keys) for _ in range(15)])
            await pilot.pause()
            await pilot.resize_terminal(rng.randint(40, 200), rng.randint(12, 60))
            await pilot.pause()
        await close_dialogs(app, pilot)
        assert_stack_sane(app, base=CompareScreen)
        await pilot.resize_terminal(120, 40)
        await press(pilot, "1")
        assert screen.current()[0] == 0 and "chart 1/" in screen_text(app)

    screen = run(body, make)
    assert screen.finish().status in ("stopped", "completed", "viewed")
