"""SVG snapshots of the debugger screen (pytest-textual-snapshot).

Deterministic: fixed seeds (the scenarios' own), a pinned theme, no clock anywhere on screen,
and every worker finished before the picture is taken. Regenerate after an intended change of
the look with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import pytest

from backprop_tui.scenario import load_scenario
from backprop_tui.tui.app import DARK, LIGHT, BackpropApp
from backprop_tui.tui.session import DebugSession

SIZES = [(120, 40), (80, 24)]


def make_app(scenario: str, theme: str = DARK) -> BackpropApp:
    session = DebugSession.from_scenario(load_scenario(scenario))
    return BackpropApp("debug", session=session, theme=theme)


def keys(*presses: str):
    """A run_before that presses keys and waits for the workers they start."""

    async def run_before(pilot) -> None:
        for key in presses:
            await pilot.press(key)
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_xor_mid_backward(snap_compare, size) -> None:
    # forward ×3, loss, backward L3: the tensor pane prints affine2's dW (6×2) as numbers
    assert snap_compare(make_app("xor"), terminal_size=size,
                        run_before=keys("n", "n", "n", "n", "n"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mnist_cnn_after_forward(snap_compare, size) -> None:
    # the forward pass done; conv1 selected, its feature maps as pictures
    assert snap_compare(make_app("mnist-cnn"), terminal_size=size,
                        run_before=keys("f", "home", "i"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_xor_explain_a_dW_entry(snap_compare, size) -> None:
    # the backward pass done: affine1's dW[0, 0] explained, dout's column 0 marked
    assert snap_compare(make_app("xor"), terminal_size=size,
                        run_before=keys("b", "tab", "e"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mnist_cnn_explain_a_conv1_output(snap_compare, size) -> None:
    # the forward pass done: an entry of conv1's y explained — its 5×5 window and kernel
    assert snap_compare(make_app("mnist-cnn"), terminal_size=size,
                        run_before=keys("f", "home", "tab", "down", "right", "e"))


def test_xor_light_theme(snap_compare) -> None:
    assert snap_compare(make_app("xor", LIGHT), terminal_size=(120, 40),
                        run_before=keys("b", "up", "up", "up"))


def test_xor_mask_numbers_light_theme(snap_compare) -> None:
    # relu1's mask printed as True/False (inverted True cells), cursor on [1, 1] in yellow
    assert snap_compare(make_app("xor", LIGHT), terminal_size=(120, 40),
                        run_before=keys("n", "n", "right_square_bracket", "tab", "right",
                                        "down"))


def test_mnist_cnn_heatmap_light_theme(snap_compare) -> None:
    assert snap_compare(make_app("mnist-cnn", LIGHT), terminal_size=(120, 40),
                        run_before=keys("n"))


def test_iris_numbers_window(snap_compare) -> None:
    # after the forward pass, affine1's 10×20 output as numbers: all 10 rows, a window of the
    # columns that followed the cursor to j=9
    assert snap_compare(make_app("iris"), terminal_size=(120, 40),
                        run_before=keys("f", "home", "tab", *["right"] * 9))


def test_xor_numbers_window_80x24(snap_compare) -> None:
    # affine1's 4×6 output at 80×24: a window of 4 columns, scrolled to the last one
    assert snap_compare(make_app("xor", LIGHT), terminal_size=(80, 24),
                        run_before=keys("n", "tab", *["right"] * 5))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_picker(snap_compare, size) -> None:
    # the learning path from the top, each description wrapped in its column; the first
    # (apple) selected
    assert snap_compare(BackpropApp("picker", theme=DARK), terminal_size=size,
                        run_before=keys())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mnist_cnn_pool_switches(snap_compare, size) -> None:
    # maxpool1 forward done: its switches, one arrow per 2×2 window (a dot for a tie); at
    # 80×24 the rows of channel 0 around the cursor
    assert snap_compare(make_app("mnist-cnn"), terminal_size=size,
                        run_before=keys("n", "n", "n", "]"))


def test_cifar10_colour_picture_zoomed(snap_compare, tmp_path) -> None:
    # conv1's input in picture mode, the tensor pane zoomed: a synthetic CIFAR-10 picture (one
    # colour and a bright square per class, tests/cifar_files.py) pixel for pixel in truecolor
    from cifar_files import write_cifar10

    data = write_cifar10(tmp_path, "python", per_batch=40, n_test=20)
    session = DebugSession.from_scenario(load_scenario("cifar10-cnn"), data_dir=data)

    async def run_before(pilot) -> None:
        await keys("n")(pilot)
        pilot.app.screen.query_one("TensorPane").select("x")
        await keys("i", "tab", "z")(pilot)

    assert snap_compare(BackpropApp("debug", session=session, theme=DARK),
                        terminal_size=(120, 40), run_before=run_before)


# -- the compare view (experiments) -------------------------------------------------------------
def compare_app(kind: str) -> BackpropApp:
    """A finished experiment in the compare view (tests/experiment_results.py: computed, not
    run), its folder a fixed relative path that nothing is written to."""
    from pathlib import Path

    import experiment_results

    from backprop_tui.tui.screens.compare import CompareScreen

    result = experiment_results.ALL[kind]()
    return BackpropApp("screen", theme=DARK, screen=lambda: CompareScreen(
        result.name, Path("runs") / result.name, result=result))


@pytest.mark.parametrize("kind", ["curves", "histograms", "paths"])
def test_compare_view(snap_compare, kind) -> None:
    # init-compare's loss curves (log axis), init-histograms' sigmoid columns, the four
    # optimizers' paths in 2×2 panels on the contours
    assert snap_compare(compare_app(kind), terminal_size=(120, 40), run_before=keys())


def test_compare_view_80x24(snap_compare) -> None:
    # the accuracy chart (2 of 2) at 80×24: no side column, the runs counted in the head
    assert snap_compare(compare_app("curves"), terminal_size=(80, 24), run_before=keys("tab"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_exercise_result(snap_compare, size) -> None:
    # find the bug on iris, solved after one wrong answer: the transposed dW next to the correct
    # code, why, and one affected entry (the clock stopped at the start: "in 0 s")
    from textual.widgets import Button, Select

    from backprop_tui.tui.exercise import start_exercise
    from backprop_tui.tui.screens.exercise import ExerciseScreen

    exercise = start_exercise("iris", seed=0, mistake="affine-dw-transposed")
    exercise.clock = lambda: exercise.started

    async def run_before(pilot) -> None:
        await keys("b", "a")(pilot)
        for layer, tensor in (("affine3", "dW"), ("affine2", "dW")):
            pilot.app.screen.query_one("#layer", Select).value = layer
            await keys()(pilot)
            await pilot.pause()
            pilot.app.screen.query_one("#tensor", Select).value = tensor
            await pilot.pause()
            pilot.app.screen.query_one("#ok", Button).press()
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    app = BackpropApp("screen", screen=lambda: ExerciseScreen(exercise), theme=DARK)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
