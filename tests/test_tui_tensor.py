"""The tensor pane prints small tensors' numbers (``render.numbers``) and says when it cannot.

Driven by Pilot on xor and iris; the expected values come from the stepper's records (what the
engine computed), and the pane's text is parsed back into a grid, so a value in the wrong cell
fails as surely as a wrong value.
"""

from __future__ import annotations

import asyncio
import re

import numpy as np

from backprop_tui.scenario import load_scenario
from backprop_tui.tui import render
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.session import DebugSession
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane


def run(body, scenario: str = "xor", size: tuple[int, int] = (120, 40)) -> None:
    app = BackpropApp("debug", session=DebugSession(load_scenario(scenario)), theme=DARK)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(app, pilot)

    asyncio.run(main())


async def press(app: BackpropApp, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()


def printed_grid(plain: str, row: str = "n") -> list[list[str]]:
    """The values printed in a numbers grid with row labels ``n=0``, ``n=1`` …, by row, read
    back from the pane's text (the cursor's brackets removed)."""
    grid = []
    for line in plain.split("\n"):
        m = re.match(rf"^{row}=(\d+) (.*)$", line)
        if m:
            assert int(m.group(1)) == len(grid), line  # rows in order, none missing
            grid.append(m.group(2).replace("[", " ").replace("]", " ").split())
    return grid


def column_labels(plain: str, col: str = "j") -> list[str]:
    for line in plain.split("\n"):
        if line.strip().startswith(f"{col}=0"):
            return line.split()
    return []


async def show(app: BackpropApp, pilot, row: int, key: str) -> TensorPane:
    app.screen.query_one(NetworkPane).selected = row
    await pilot.pause()
    pane = app.screen.query_one(TensorPane)
    assert pane.select(key), (row, key, [it.key for it in pane.items])
    await pilot.pause()
    return pane


def test_xor_after_f_prints_every_output_value_exactly() -> None:
    async def body(app, pilot):
        await press(app, pilot, "f")
        st = app.session.stepper
        L = len(app.session.net.layers)
        recs = [st.record_for("forward", i) for i in range(L)]
        # f leaves the last layer selected, showing its output
        pane = app.screen.query_one(TensorPane)
        assert app.screen.query_one(NetworkPane).selected == L - 1 and pane.key == "y"
        for i, rec in enumerate(recs):
            pane = await show(app, pilot, i, "y")
            plain = pane.render().plain
            assert pane.shows_numbers, plain
            y = rec.output
            assert printed_grid(plain) == [[render.fmt(v) for v in row] for row in y], plain
            assert column_labels(plain) == [f"j={j}" for j in range(y.shape[1])]
            assert "numbers" in plain and "y[n, j]" in plain
            # and the input x, the weights W (rows i), the bias b (one row)
            pane = await show(app, pilot, i, "x")
            plain = pane.render().plain
            assert printed_grid(plain) == [[render.fmt(v) for v in r] for r in rec.input]
            assert column_labels(plain, "i") == [f"i={j}" for j in range(rec.input.shape[1])]
            layer = app.session.net.layers[i]
            if "W" in layer.params:
                pane = await show(app, pilot, i, "W")
                plain = pane.render().plain
                assert printed_grid(plain, "i") == [[render.fmt(v) for v in r]
                                                    for r in layer.params["W"]]
                pane = await show(app, pilot, i, "b")
                plain = pane.render().plain
                b = layer.params["b"]
                labels = column_labels(plain)
                assert labels == [f"j={j}" for j in range(b.size)]
                row = next(line for line in plain.split("\n")
                           if line.split() == [render.fmt(v) for v in b] or
                           line.replace("[", " ").replace("]", " ").split()
                           == [render.fmt(v) for v in b])
                assert row

    run(body)


def test_xor_mask_prints_true_false_where_numpy_would() -> None:
    async def body(app, pilot):
        await press(app, pilot, "f")
        rec = app.session.stepper.record_for("forward", 1)  # relu1
        pane = await show(app, pilot, 1, "mask")
        plain = pane.render().plain
        assert pane.shows_numbers
        assert printed_grid(plain) == [[str(bool(v)) for v in row] for row in rec.cache["mask"]]
        # the cursor line still says the exact entry
        await press(app, pilot, "tab", "right", "down")
        assert pane.cursor == (1, 1)
        assert f"mask[1, 1] = {bool(rec.cache['mask'][1, 1])}" in pane.render().plain

    run(body)


def test_xor_at_80x24_says_when_the_numbers_do_not_fit_and_zoom_shows_them() -> None:
    async def body(app, pilot):
        await press(app, pilot, "n")  # affine1 forward: y is 4×6, too wide for 80 columns
        pane = app.screen.query_one(TensorPane)
        plain = pane.render().plain
        assert not pane.shows_numbers
        assert "colours only" in plain and "zoom" in plain
        # the cursor line keeps the exact value
        y = app.session.stepper.records[-1].output
        assert repr(float(y[0, 0])) in plain
        await press(app, pilot, "tab", "z")
        assert pane.is_maximized
        plain = pane.render().plain
        assert pane.shows_numbers, plain
        assert printed_grid(plain) == [[render.fmt(v) for v in row] for row in y]
        await press(app, pilot, "escape")
        assert not pane.is_maximized and not pane.shows_numbers
        # the last layer's 4×2 output fits without zooming
        await press(app, pilot, "f")
        pane = await show(app, pilot, 2, "y")
        plain = pane.render().plain
        assert pane.shows_numbers
        y = app.session.stepper.record_for("forward", 2).output
        assert printed_grid(plain) == [[render.fmt(v) for v in row] for row in y]

    run(body, size=(80, 24))


def test_parameters_updated_in_place_are_redrawn() -> None:
    """The pane caches drawings by array identity; a parameter changes in place at the update,
    so what is shown after ``c``/``t``/``u`` must be the new values, not the cached ones."""

    async def body(app, pilot):
        pane = await show(app, pilot, 0, "W")
        W = app.session.net.layers[0].params["W"]
        before = printed_grid(pane.render().plain, "i")
        assert before == [[render.fmt(v) for v in r] for r in W]
        # change the live parameter in place and push the session state, as a step does
        W[...] = np.arange(W.size).reshape(W.shape) / 4 - 1  # -1, -0.75 … 1.75
        app.screen.refresh_panes()
        await pilot.pause()
        after = printed_grid(pane.render().plain, "i")
        assert after == [[render.fmt(v) for v in r] for r in W] != before

    run(body)


def test_iris_wide_tensors_stay_heatmaps_and_narrow_ones_print() -> None:
    async def body(app, pilot):
        await press(app, pilot, "f")
        st = app.session.stepper
        # 10 samples × 4 features: numbers
        pane = await show(app, pilot, 0, "x")
        assert pane.shows_numbers
        x = st.record_for("forward", 0).input
        assert printed_grid(pane.render().plain) == [[render.fmt(v) for v in r] for r in x]
        # 10 × 20 hidden units: too wide for numbers, a heatmap that says so
        pane = await show(app, pilot, 0, "y")
        plain = pane.render().plain
        assert not pane.shows_numbers and "colours only" in plain
        assert np.asarray(pane.view.data).shape == (10, 20)
        # the scores of 3 classes: numbers, columns named k (classes)
        pane = await show(app, pilot, len(app.session.net.layers) - 1, "y")
        plain = pane.render().plain
        assert pane.shows_numbers
        assert printed_grid(plain) == [[render.fmt(v) for v in r]
                                       for r in st.record_for("forward", 4).output]

    run(body, scenario="iris")


def test_iris_zoom_hint_only_where_zooming_shows_the_numbers() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")  # the whole forward and backward pass
        st = app.session.stepper
        # affine3's dW is 20×3: 20 rows do not fit at 120×40 (downsampled), a zoom does
        pane = await show(app, pilot, 4, "dW")
        plain = pane.render().plain
        assert not pane.shows_numbers and pane.view.downsampled
        assert "numbers need 20 lines: tab, z zooms" in plain
        await press(app, pilot, "tab", "z")
        plain = pane.render().plain
        assert pane.shows_numbers
        dW = st.record_for("backward", 4).grads["W"]
        assert printed_grid(plain, "i") == [[render.fmt(v) for v in r] for r in dW]
        await press(app, pilot, "escape")
        # affine2's dW is 20×20: no zoom shows 20 numbers across, so numbers are not offered
        pane = await show(app, pilot, 2, "dW")
        plain = pane.render().plain
        assert pane.view.downsampled and "numbers" not in plain

    run(body, scenario="iris")
