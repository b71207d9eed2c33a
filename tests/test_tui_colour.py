"""Colour pictures (issue 14): CIFAR-10 inputs and the conv filters over them as truecolor
half-blocks — the renderer (``render.colour_pictures``), which tensors the session marks as
colour, and the debugger's tensor pane in picture mode (Pilot). Synthetic data only."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from cifar_files import write_cifar10
from test_render_colors import bg, fg
from test_tui_app import press
from test_tui_app import run as run_app

from backprop_tui.scenario import load_scenario
from backprop_tui.tui import render as R
from backprop_tui.tui.app import BackpropApp
from backprop_tui.tui.session import DebugSession
from backprop_tui.tui.widgets.tensor import TensorPane


def expected(v: float, lo: float = 0.0, hi: float = 1.0) -> int:
    """A channel value as the renderer maps it: 64 levels from lo to hi, then 0–255."""
    return round(round((v - lo) / (hi - lo) * 63) * 255 / 63)


# -- the renderer ---------------------------------------------------------------------------------
def test_colour_picture_pairs_rgb_pixels_upper_fg_lower_bg() -> None:
    img = np.zeros((3, 3, 2))  # odd height: 3 rows → 2 lines
    img[0, 0, 0] = 1.0  # red
    img[1, 1, 0] = 1.0  # green below it
    img[:, 0, 1] = 1.0  # white
    img[2, 2, 1] = 1.0  # blue, last row
    t = R.colour_picture(img, vmin=0, vmax=1)
    assert t.plain == "▀▀\n▀▀"
    assert (fg(t, 0), bg(t, 0)) == ((255, 0, 0), (0, 255, 0))
    assert (fg(t, 1), bg(t, 1)) == ((255, 255, 255), (0, 0, 0))
    assert (fg(t, 3), bg(t, 3)) == ((0, 0, 0), None)  # the padded line: no background
    assert (fg(t, 4), bg(t, 4)) == ((0, 0, 255), None)


def test_colour_scale_nan_and_constant() -> None:
    img = np.full((3, 2, 1), 0.25)
    img[:, 1, 0] = [0.5, 0.0, 1.0]
    t = R.colour_picture(img)  # default scale: min 0 → 0, max 1 → 255 over all channels
    assert fg(t, 0) == (expected(0.25),) * 3 and bg(t, 0) == (expected(0.5), 0, 255)
    img[1, 0, 0] = np.nan  # one channel not finite: the pixel is magenta
    assert fg(R.colour_picture(img), 0) == R.NONFINITE
    flat = R.colour_picture(np.full((3, 2, 1), 7.0))
    assert fg(flat, 0) == bg(flat, 0) == (expected(0.5),) * 3  # constant: mid grey


def test_colour_grid_layout_shared_scale_and_downsampling() -> None:
    imgs = np.zeros((5, 3, 4, 3))
    imgs[4] = 2.0  # one scale over all five: the last is white, the rest black
    t = R.colour_grid(imgs, cols=2, gap=1)
    lines = t.plain.split("\n")
    assert lines == ["▀▀▀ ▀▀▀", "▀▀▀ ▀▀▀", "       ", "▀▀▀ ▀▀▀", "▀▀▀ ▀▀▀", "       ",
                     "▀▀▀    ", "▀▀▀    "]
    assert fg(t, 0) == (0, 0, 0)
    assert fg(t, lines_offset(lines, 6, 0)) == (255, 255, 255)
    half = R.colour_grid(np.arange(3 * 4 * 4, dtype=float).reshape(1, 3, 4, 4), cols=1,
                         factor=2)  # 2×2 block means, on the scale of the full-size picture
    assert half.plain == "▀▀"
    with pytest.raises(ValueError, match=r"\(K, 3, H, W\)"):
        R.colour_grid(np.zeros((2, 1, 4, 4)), cols=1)


def lines_offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(s) + 1 for s in lines[:line]) + col


# -- which tensors are colour ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("cifar"), "python", per_batch=40, n_test=20)


def test_the_session_marks_the_data_and_first_layer_filters_as_colour(data_dir) -> None:
    cnn = DebugSession.from_scenario(load_scenario("cifar10-cnn"), data_dir=data_dir)
    shapes = {it.key: it.image_shape for it in cnn.tensors(0)}
    assert shapes["x"] == shapes["dx"] == (3, 32, 32)  # the pictures, and dL/d(picture)
    assert shapes["W"] == shapes["dW"] == (3, 5, 5)  # 16 colour filters
    assert shapes["y"] is None and shapes["b"] is None
    assert all(it.image_shape is None for it in cnn.tensors(4))  # affine1: not pictures
    flat = DebugSession.from_scenario(load_scenario("cifar10-twolayer"), data_dir=data_dir)
    shapes = {it.key: it.image_shape for it in flat.tensors(0)}
    assert shapes["x"] == (3, 32, 32) and shapes["W"] is None  # a 3072×100 matrix
    mnist = DebugSession.from_scenario(load_scenario("mnist-twolayer"))
    assert {it.key: it.image_shape for it in mnist.tensors(0)}["x"] == (28, 28)


# -- the debugger ---------------------------------------------------------------------------------
def run(body, scenario: str, data_dir, size=(120, 40)) -> None:
    run_app(body, scenario, size, data_dir=data_dir)


def picture_offset(text: str) -> int:
    """Where the picture starts: the first half-block of the pane's text."""
    return text.index("▀")


def test_flat_cifar_inputs_show_as_colour_pictures(data_dir) -> None:
    async def body(app, pilot):
        pane = app.screen.query_one(TensorPane)
        await press(app, pilot, "n")  # affine1 forward
        pane.select("x")
        await press(app, pilot, "i", "full_stop")  # picture mode, the second sample
        out = pane.render()
        plain = out.plain
        assert "sample 2/32 as a 3×32×32 colour picture" in plain
        assert "black = 0, white = 1 (all channels)" in plain
        # the first text cell: pixel (0, 0) of sample 2 above pixel (1, 0), in its own colours
        x = app.screen.session.stepper.batch[0][1].reshape(3, 32, 32)
        at = picture_offset(plain)
        assert "downsampled" not in plain  # 160×60: every pixel fits
        assert fg(out, at) == tuple(expected(v) for v in x[:, 0, 0])
        assert bg(out, at) == tuple(expected(v) for v in x[:, 1, 0])
        colours = {fg(out, i) for i, ch in enumerate(plain) if ch == "▀"}
        assert any(len(set(c)) > 1 for c in colours if c)  # colour, not grey
        pane.select("W")  # a 3072×100 matrix is no picture
        await pilot.pause()
        assert "picture mode is for image-shaped data" in pane.render().plain

    run(body, "cifar10-twolayer", data_dir, size=(160, 60))


def test_conv_inputs_and_filters_in_colour_zoomed_to_full_size(data_dir) -> None:
    async def body(app, pilot):
        pane = app.screen.query_one(TensorPane)
        await press(app, pilot, "n")  # conv1 forward
        pane.select("x")
        await press(app, pilot, "i")
        assert "downsampled ×2" in pane.render().plain  # 120×40: 32 pixel rows do not fit
        await press(app, pilot, "tab", "z")  # zoom the pane: every pixel
        plain = pane.render().plain
        assert "sample 1/16 as a 3×32×32 colour picture" in plain
        assert "downsampled" not in plain
        lines = [line for line in plain.split("\n") if "▀" in line]
        assert len(lines) == 16 and all(line.strip() == "▀" * 32 for line in lines)
        x = app.screen.session.stepper.batch[0][0]
        out = pane.render()
        at = picture_offset(out.plain)
        assert fg(out, at) == tuple(expected(v) for v in x[:, 0, 0])
        pane.select("W")
        await pilot.pause()
        plain = pane.render().plain
        assert "16 filters, each 3×5×5 (red, green, blue input channels)" in plain
        tiles = [line for line in plain.split("\n") if "▀" in line]
        assert tiles and all("▀▀▀▀▀" in line for line in tiles)
        assert "▀▀▀▀▀▀" not in plain  # 5-pixel tiles with gaps between them
        pane.select("y")  # 16 feature maps are not colour: grey tiles as before
        await pilot.pause()
        assert "channels 1–16 of 16" in pane.render().plain

    run(body, "cifar10-cnn", data_dir)


# -- the picker -----------------------------------------------------------------------------------
def test_picker_lists_cifar10_as_needing_it_and_opening_says_where_to_get_it(monkeypatch):
    from backprop_tui.data.cifar10 import CIFAR10_DIR_ENV, CIFAR10_URL
    from backprop_tui.tui.screens.dialogs import ErrorDialog
    from backprop_tui.tui.screens.picker import PickerScreen

    monkeypatch.delenv(CIFAR10_DIR_ENV, raising=False)
    app = BackpropApp("picker", scenario_names=["cifar10-twolayer", "xor"])

    async def main() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, PickerScreen)
            table = app.screen.query_one("DataTable")
            data = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
            assert data == ["CIFAR-10 (5,000/500)\nneeds CIFAR-10", "XOR truth table"]
            await press(app, pilot, "down", "up")  # the cursor starts on the first row
            detail = str(app.screen.query_one("#picker-detail").render())
            assert "needs CIFAR-10 (see README)" in detail
            await press(app, pilot, "enter")
            assert isinstance(app.screen, ErrorDialog)
            message = app.screen.message
            assert "CIFAR-10 not found" in message and CIFAR10_URL in message
            assert "--data-dir" in message and CIFAR10_DIR_ENV in message

    asyncio.run(main())
