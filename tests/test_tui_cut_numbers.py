"""No number is cut anywhere on screen, and no line of a pane is cropped without a mark.

Walks the built-in scenarios through a whole iteration in the debugger at 80×24 and 120×40
(forward, loss, backward, update, one step at a time), and after it every row and every tensor
of that row, and the explain view of an entry of each (and one step along the chain from it),
and checks the whole screen each time:

* ``…`` never touches a number: not after a digit, ``.``, ``=``, ``×``, a sign or a bracket
  (``784→20…``, ``μ=…``, ``32×30×12×…``) and not before a digit;
* a pane never crops a line silently: a line wider than its pane that is not shortened with
  ``…`` lost its end unseen (``!!`` without ``NaN ±∞``, ``(kept by for``, ``exact 0.11860``).

Also the training dashboard, and the ``eval``/``gradcheck`` tables at COLUMNS=80 and 120: a
table cell keeps every digit (``992``, not ``9…``).
"""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from backprop_tui.engine.layers import dims
from backprop_tui.scenario import load_scenario
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.screens.explain import ExplainScreen
from backprop_tui.tui.session import DebugSession
from backprop_tui.tui.widgets.lines import CachedLines
from backprop_tui.tui.widgets.network import NetworkPane, _compact
from backprop_tui.tui.widgets.tensor import TensorPane

SIZES = [(80, 24), (120, 40)]
#: a word that ends in ``…`` (``0…3``, a range of indices, goes on with a digit: not a cut)
ELLIPSIS = re.compile(r"(\S*)…(?![0-9])")


def cut_numbers(text: str) -> list[str]:
    """The lines of ``text`` where ``…`` cuts into a number: the word it ends holds a digit or
    ``=`` (``784→20…``, ``9…``, ``μ=…``, ``(32×30×12×…``; ``cross-…`` is a word)."""
    return [line for line in text.split("\n")
            if any(re.search(r"[0-9=]", m.group(1)) for m in ELLIPSIS.finditer(line))]


def silent_crops(pane: CachedLines) -> list[str]:
    """The lines of ``pane`` wider than the pane that its drawing crops without a mark."""
    width = pane.content_size.width
    drawn = getattr(pane, "_clipped", None)  # what render_line draws, where there is a step
    t = drawn(width) if drawn else pane.render()
    if not isinstance(t, Text):
        return []
    no_wrap = t.no_wrap if t.no_wrap is not None else not pane.WRAP
    if not no_wrap or t.overflow not in (None, "crop"):
        return []
    return [line for line in t.plain.split("\n") if cell_len(line) > width]


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def network_rows(pane: NetworkPane) -> list[str]:
    """The network pane's rows whose numbers are not whole numbers of what the row stands for
    (``Affine 784→20`` for 784→200 and ``Dropout p=0`` for 0.5 are cut silently: the line fits
    the pane, the column does not)."""
    drawn = pane.render().plain.split("\n")[1:]  # the column headings first
    bad = []
    for row, line in zip(pane.rows, drawn, strict=False):
        counts = [f"{row.params:,}", _compact(row.params)] if row.params else []  # else "–"
        source = " ".join([row.label, row.name, row.describe, dims(row.out_shape), *counts])
        whole = set(NUMBER.findall(source))
        if any(n not in whole for n in NUMBER.findall(line.replace("…", " "))):
            bad.append(line)
    return bad


def screen_problems(app: BackpropApp, where: str) -> list[str]:
    strips = app.screen._compositor.render_strips()
    screen = "\n".join(s.text for s in strips)
    out = [f"{where}: cut number: {line.strip()}" for line in cut_numbers(screen)]
    for pane in app.screen.query(CachedLines):
        if pane.display and pane.content_size.width > 0:
            out += [f"{where}: {pane.id} crops: {line!r}" for line in silent_crops(pane)]
    for pane in app.screen.query(NetworkPane):
        out += [f"{where}: network row: {line.strip()}" for line in network_rows(pane)]
    return out


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


#: mnist-mlp with Dropout after each hidden layer (no built-in scenario has one)
DROPOUT = """
name = "mnist-dropout"
[data]
source = "mnist"
layout = "flat"
[network]
loss = "softmax_cross_entropy"
layers = [
  { type = "affine", out = 200 }, { type = "relu" }, { type = "dropout", p = 0.5 },
  { type = "affine", out = 10 },
]
"""


def walk(scenario: str, size: tuple[int, int]) -> list[str]:
    session = DebugSession.from_scenario(load_scenario(scenario), batch_size=4)
    app = BackpropApp("debug", session=session, theme=DARK)
    problems: list[str] = []

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            steps = app.session.status()["steps"]
            problems.extend(screen_problems(app, "start"))
            for k in range(steps):
                await press(pilot, "n")
                problems.extend(screen_problems(app, f"step {k + 1}"))
            net = app.screen.query_one(NetworkPane)
            pane = app.screen.query_one(TensorPane)
            for row in range(len(net.rows)):
                net.selected = row
                await pilot.pause()
                for key in [it.key for it in pane.items]:
                    pane.select(key)
                    await pilot.pause()
                    problems.extend(screen_problems(app, f"row {row} {key}"))
            # the explain view (e) on an entry of every tensor that has values, and from each
            # row one step down the chain (d) and one up (enter); escape back each time
            for row in range(len(net.rows)):
                net.selected = row
                await pilot.pause()
                for n, key in enumerate([it.key for it in pane.items if it.ready]):
                    pane.select(key)
                    await pilot.pause()
                    await press(pilot, "e")
                    if not isinstance(app.screen, ExplainScreen):
                        problems.append(f"row {row} {key}: e did not explain: "
                                        f"{app.screen.message}")
                        continue
                    problems.extend(screen_problems(app, f"explain row {row} {key}"))
                    if n < 2:  # one step down the chain and one up, from each row
                        await press(pilot, "enter" if n else "d")
                        problems.extend(screen_problems(app, f"explain row {row} {key} + 1"))
                    while isinstance(app.screen, ExplainScreen):
                        await press(pilot, "escape")
            # pictures of what can be drawn as one (the first row's input, conv maps)
            await press(pilot, "i")
            for row in range(len(net.rows)):
                net.selected = row
                await pilot.pause()
                problems.extend(screen_problems(app, f"row {row} picture"))

    asyncio.run(main())
    return problems


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", ["xor", "iris", "mnist-mlp", "mnist-cnn", "dropout"])
def test_no_pane_cuts_a_number_or_crops_a_line_unseen(scenario, size, tmp_path) -> None:
    if scenario == "dropout":
        scenario = tmp_path / "dropout.toml"
        scenario.write_text(DROPOUT)
    problems = walk(str(scenario), size)
    assert not problems, "\n".join(dict.fromkeys(problems))  # each problem once


def test_the_check_catches_what_it_is_for() -> None:
    assert cut_numbers("L5 affine1 Affine 784→20… 32×100")
    assert cut_numbers("dropout1 Dropout p=…")
    assert cut_numbers("Tensor · maxpool1 · argmax (32×30×12×…")
    assert cut_numbers("  7    9…   ")
    assert cut_numbers("momentum lr=0.05 μ=…")
    assert not cut_numbers("softmax + cross-ent…") and not cut_numbers("992 of 1,010")
    assert not cut_numbers("numbers · columns j=0…3 of 6 · ←→ scroll")


def drawn(pane) -> str:
    from textual.geometry import Region

    whole = Region(0, 0, pane.outer_size.width, pane.outer_size.height)
    return "\n".join(strip.text for strip in pane.render_lines(whole))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_colour_legend_and_a_description_are_whole(size) -> None:
    """At 120 columns the legend ended in ``!!`` (no ``NaN ±∞``) and relu1's mask description
    stopped at ``(kept by for``."""
    session = DebugSession.from_scenario(load_scenario("mnist-cnn"), batch_size=4)
    app = BackpropApp("debug", session=session, theme=DARK)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await press(pilot, "n", "n")  # conv1, relu1
            pane = app.screen.query_one(TensorPane)
            for key in ("x", "y", "W"):
                app.screen.query_one(NetworkPane).selected = 0
                await pilot.pause()
                pane.select(key)
                await pilot.pause()
                text = drawn(pane)
                assert "!! NaN ±∞" in text, text
                assert re.search(r"(-\d\.\d+|0) ▕ *▏ \+\d", text), text  # both ends
            app.screen.query_one(NetworkPane).selected = 1
            await pilot.pause()
            pane.select("mask")
            await pilot.pause()
            text = " ".join(line.strip(" │") for line in drawn(pane).split("\n"))
            if size[0] >= 120:  # the description is shown when the pane is tall enough
                assert "pass no gradient (kept by forward for backward)" in text, text

    asyncio.run(main())


def test_the_network_pane_abbreviates_a_kind_without_cutting_its_numbers() -> None:
    from backprop_tui.tui.widgets.network import _abbreviate

    assert _abbreviate("Affine 784→200", 14) == "Affine 784→200"
    assert _abbreviate("Affine 784→200", 13) == "784→200"
    assert _abbreviate("Dropout p=0.5", 11) == "p=0.5"
    assert _abbreviate("Affine 4320→100", 7) == "Affine"
    assert _abbreviate("MaxPool2D 2×2 stride 2", 9) == "MaxPool2D"
    assert _abbreviate("MaxPool2D 2×2 stride 2", 8) == "2×2"
    assert _abbreviate("Affine 4320→100", 5) == ""


def table_text(renderable, width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"),  # noqa: SIM115
                      color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_the_confusion_matrix_keeps_every_digit(width) -> None:
    """``eval mnist-cnn`` at 80 columns printed ``9…`` on the diagonal instead of 992."""
    from backprop_tui.formatting import confusion_table

    cm = np.diag([992, 1125, 1010, 998, 970, 880, 950, 1020, 960, 1000])
    cm[3, 5], cm[7, 2] = 12, 8
    per_class = list(np.diag(cm) / cm.sum(axis=1))
    out = table_text(confusion_table(cm, tuple(str(d) for d in range(10)), per_class), width)
    assert not cut_numbers(out), out
    for v in (992, 1125, 1010, 998, 12):
        assert re.search(rf"(?<![\d,]){v}(?![\d,])", out), (v, out)
    assert "98.81%" in out and "99.22%" in out  # 998/1010, 1020/1028
    assert all(len(line.rstrip()) <= width for line in out.split("\n"))
    iris = confusion_table(np.array([[10, 0, 0], [0, 9, 1], [0, 2, 8]]),
                           ("Iris-setosa", "Iris-versicolor", "Iris-virginica"), [1, 0.9, 0.8])
    out = table_text(iris, width)
    assert "versicolor" in out and "90.00%" in out and not cut_numbers(out)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", ["iris", "mnist-mlp"])
def test_the_dashboard_cuts_no_number(scenario, size, tmp_path) -> None:
    """The training dashboard, running and paused, after its first epochs' numbers arrived."""
    from backprop_tui.training import Trainer
    from backprop_tui.tui.screens.dashboard import DashboardScreen

    sc = load_scenario(scenario)
    # epochs: still training when the health pane is measured (paused, never finished)
    tr = Trainer(sc.with_train(epochs=10_000, batch_size=min(600, 20 * sc.train.batch_size)),
                 out_dir=tmp_path / "run")
    screen = DashboardScreen(tr)
    app = BackpropApp("screen", screen=lambda: screen, theme=DARK)
    problems: list[str] = []

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            for _ in range(3000):  # the first epoch's numbers, then pause
                await pilot.pause(0.02)
                if screen.monitor.epochs_done >= 1:
                    break
            problems.extend(screen_problems(app, "running"))
            await pilot.press("space")
            for _ in range(500):
                await pilot.pause(0.02)
                if screen.state != "running":
                    break
            problems.extend(screen_problems(app, screen.state))
            await pilot.press("h")  # the health pane, measured on the first epochs' batches
            await pilot.press("space")
            for _ in range(500):
                await pilot.pause(0.02)
                if screen.health.latest is not None:
                    break
            await pilot.press("space")
            await pilot.pause(0.2)
            assert screen.health.latest is not None
            problems.extend(screen_problems(app, "health"))

    asyncio.run(main())
    assert not problems, "\n".join(dict.fromkeys(problems))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", ["xor", "iris", "mnist-mlp", "mnist-cnn"])
def test_the_health_pane_cuts_no_number(scenario, size) -> None:
    """The health pane (h) through a whole iteration, each dead unit selected, scrolled."""
    from backprop_tui.tui.widgets.health import HealthPane

    session = DebugSession.from_scenario(load_scenario(scenario), batch_size=4)
    app = BackpropApp("debug", session=session, theme=DARK)
    problems: list[str] = []

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await press(pilot, "h")
            problems.extend(screen_problems(app, "no step yet"))
            for key in ("f", "b", "u"):
                await press(pilot, key)
                problems.extend(screen_problems(app, f"after {key}"))
            pane = app.screen.query_one(HealthPane)
            for k in range(min(5, len(pane.dead_units()))):
                await press(pilot, "down")
                problems.extend(screen_problems(app, f"dead unit {k + 1}"))
            await press(pilot, "pagedown")
            problems.extend(screen_problems(app, "page down"))

    asyncio.run(main())
    assert not problems, "\n".join(dict.fromkeys(problems))


def cli(columns: int, *args: str):
    from typer.testing import CliRunner

    from backprop_tui.cli import app as cli_app

    result = CliRunner().invoke(cli_app, list(args),
                                env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("width", [80, 120])
def test_eval_and_gradcheck_tables_cut_no_number(width, tmp_path) -> None:
    """``eval`` and ``gradcheck`` as a terminal of ``width`` columns prints them (COLUMNS)."""
    from backprop_tui.training import Trainer

    out = tmp_path / "run"
    Trainer(load_scenario("iris").with_train(epochs=2, lr=0.01), out_dir=out).run()
    for args in (("eval", "iris", "--checkpoint", str(out)), ("gradcheck", "xor"),
                 ("gradcheck", "iris"), ("gradcheck", "mnist-twolayer")):
        result = cli(width, *args)
        assert result.exit_code == 0, result.output
        text = result.stdout
        assert not cut_numbers(text), text
        # the tables fit (a long first line of eval, with the checkpoint's path, soft-wraps)
        table = [line for line in text.split("\n") if "─" in line or "  " in line.strip()]
        assert table and all(cell_len(line.rstrip()) <= width for line in table), text
