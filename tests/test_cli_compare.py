"""``train EXPERIMENT`` without --headless (the compare view, driven by Pilot in place of a
terminal) and ``--plots DIR`` (every chart as an SVG file), as a user meets them: the files
listed, q stopping with the resume command shown (exit 130), a finished folder only shown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_cli_train import assert_ok, assert_refused, cli

from backprop_tui.experiments import ExperimentResult
from backprop_tui.experiments.result import RESULT_FILE
from backprop_tui.tui import app as tui_app
from backprop_tui.tui.render.compare import charts


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list:
    """The app runs under Pilot instead of the terminal: it waits until the experiment's
    first update has been drawn, then presses q; returns the screens it showed."""
    shown: list = []
    monkeypatch.setattr(tui_app, "need_terminal", lambda *a, **k: None)

    def run(self) -> None:
        async def main() -> None:
            async with self.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                screen = self.screen
                shown.append(screen)
                for _ in range(2000):
                    if screen.result is not None:
                        break
                    await pilot.pause(0.05)
                await pilot.press("q")
                for _ in range(2000):
                    if screen.outcome is not None:
                        break
                    await pilot.pause(0.05)

        asyncio.run(main())

    monkeypatch.setattr(tui_app.BackpropApp, "run", run)
    return shown


def test_plots_writes_every_chart_as_svg_and_lists_them(tmp_path: Path) -> None:
    out, plots = tmp_path / "exp", tmp_path / "plots"
    result = cli("train", "optimizer-paths", "--headless", "--out", out, "--plots", plots)
    assert_ok(result)
    saved = ExperimentResult.load(out)
    names = [f"optimizer-paths-{c.key}.svg" for c in charts(saved)]
    assert names == ["optimizer-paths-paths.svg", "optimizer-paths-f.svg"]
    for name in names:
        path = plots / name
        assert f"plot: {path}" in result.stdout
        svg = path.read_text().replace("&#160;", " ")
        assert svg.startswith("<svg") and "SGD" in svg and "Adam" in svg
    assert "distance from (0, 0)" in (plots / names[0]).read_text().replace("&#160;", " ")


def test_plots_is_refused_for_a_scenario_and_an_unwritable_folder(tmp_path: Path) -> None:
    assert_refused(cli("train", "xor", "--headless", "--plots", tmp_path),
                   "--plots", "only applies to an experiment")
    blocked = tmp_path / "file"
    blocked.write_text("in the way")
    err = assert_refused(cli("train", "optimizer-paths", "--headless", "--out",
                             tmp_path / "exp", "--plots", blocked / "sub"),
                         "cannot write the plots", "--plots")
    assert str(blocked) in err
    assert ExperimentResult.load(tmp_path / "exp").done  # the experiment itself is saved


def test_the_compare_view_runs_an_experiment_and_q_shows_the_resume_command(
        tmp_path: Path, terminal: list) -> None:
    out = tmp_path / "exp"
    result = cli("train", "optimizer-compare", "--quick", "--out", out)
    assert result.exit_code == 130, result.output
    assert f"resume with: backprop-tui train optimizer-compare --resume {out}" in result.stdout
    assert not ExperimentResult.load(out).done
    assert terminal[0].experiment == "optimizer-compare"


def test_resume_of_a_finished_experiment_just_shows_it(tmp_path: Path, terminal: list
                                                       ) -> None:
    out = tmp_path / "exp"
    assert_ok(cli("train", "optimizer-paths", "--headless", "--out", out))
    before = (out / RESULT_FILE).stat().st_mtime_ns
    result = cli("train", "optimizer-paths", "--resume", out, "--plots", tmp_path / "p")
    assert_ok(result)
    assert f"shown: optimizer-paths · saved in {out}" in result.stdout
    assert "AdaGrad ends nearest the minimum" in result.stdout
    assert terminal[0].state == "quitting" and terminal[0].view_only
    assert (out / RESULT_FILE).stat().st_mtime_ns == before  # nothing ran, nothing rewritten
    assert (tmp_path / "p" / "optimizer-paths-paths.svg").is_file()
