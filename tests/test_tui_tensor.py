"""The tensor pane prints small tensors' numbers (``render.numbers``), a window onto them
when they do not all fit (``render.numbers_window``), and says when it shows colours only.

Driven by Pilot on xor and iris; the expected values come from the stepper's records (what the
engine computed), and the pane's text is parsed back into a grid, so a value in the wrong cell
fails as surely as a wrong value.
"""

from __future__ import annotations

import re

import numpy as np
from test_tui_app import run

from backprop_tui.tui import render
from backprop_tui.tui.app import BackpropApp
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane


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


def printed_block(plain: str, row: str, col: str) -> dict[tuple[int, int], str]:
    """{(i, j): printed text} of a numbers grid or window, located by its labels alone: the
    column labels ``j=8 j=9 …`` above, the row labels ``i=0`` … on the left."""
    cols: list[int] = []
    cells: dict[tuple[int, int], str] = {}
    for line in plain.split("\n"):
        tokens = line.replace("[", " ").replace("]", " ").split()
        if tokens and all(re.fullmatch(rf"{col}=\d+", t) for t in tokens):
            cols = [int(t[len(col) + 1:]) for t in tokens]
            continue
        m = re.match(rf"^{row}=(\d+)$", tokens[0]) if tokens and cols else None
        if m:
            assert len(tokens) - 1 == len(cols), line
            for j, text in zip(cols, tokens[1:], strict=True):
                cells[(int(m.group(1)), j)] = text
    return cells


def printed_vector(plain: str, name: str) -> dict[int, str]:
    """{j: printed text} of a vector wrapped into lines: ``j=10`` + column ``+2`` → 12."""
    offsets: list[int] = []
    cells: dict[int, str] = {}
    for line in plain.split("\n"):
        tokens = line.replace("[", " ").replace("]", " ").split()
        if tokens and all(re.fullmatch(r"\+\d+", t) for t in tokens):
            offsets = [int(t[1:]) for t in tokens]
            continue
        m = re.match(rf"^{name}=(\d+)$", tokens[0]) if tokens and offsets else None
        if m:
            for k, text in zip(offsets, tokens[1:], strict=False):
                cells[int(m.group(1)) + k] = text
    return cells


def cursor_cell(plain: str, row: str, col: str) -> tuple[int, int] | None:
    """The (i, j) of the bracketed cell, by the labels."""
    cols: list[int] = []
    for line in plain.split("\n"):
        tokens = line.replace("[", " ").replace("]", " ").split()
        if tokens and all(re.fullmatch(rf"{col}=\d+", t) for t in tokens):
            cols = [int(t[len(col) + 1:]) for t in tokens]
        elif cols and "[" in line and tokens and re.fullmatch(rf"{row}=\d+", tokens[0]):
            k = len(line[:line.index("[")].split()) - 1
            return int(tokens[0][len(row) + 1:]), cols[k]
    return None


def assert_block(cells: dict[tuple[int, int], str], expected: np.ndarray) -> None:
    assert cells
    for (i, j), text in cells.items():
        assert text == render.fmt(expected[i, j]), (i, j, text, expected[i, j])


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


def test_xor_at_80x24_shows_a_window_of_columns_and_zoom_shows_them_all() -> None:
    async def body(app, pilot):
        await press(app, pilot, "n")  # affine1 forward: y is 4×6, too wide for 80 columns
        pane = app.screen.query_one(TensorPane)
        y = app.session.stepper.records[-1].output
        plain = pane.render().plain
        assert pane.shows_numbers and pane.window is not None
        cells = printed_block(plain, "n", "j")
        shown = sorted({j for _, j in cells})
        assert 3 <= len(shown) < 6 and shown == list(range(len(shown)))
        assert f"columns j=0…{shown[-1]} of 6" in plain and "scroll" in plain
        assert_block(cells, y)
        # the cursor walks right: the window follows it to the last column
        await press(app, pilot, "tab", *["right"] * 5)
        assert pane.cursor == (0, 5)
        plain = pane.render().plain
        cells = printed_block(plain, "n", "j")
        shown = sorted({j for _, j in cells})
        assert shown[-1] == 5 and shown == list(range(shown[0], 6)) and shown[0] > 0
        assert f"columns j={shown[0]}…5 of 6" in plain
        assert_block(cells, y)
        # the cursor line: the exact entry, whole (its 4-digit form and "exact" do not both fit
        # 40 columns; the line cut them to "exact 0.3615" before)
        assert f"y[0, 5] = {repr(float(y[0, 5]))}" in plain.split("\n")[-1]
        # zoomed, every column fits
        await press(app, pilot, "z")
        assert pane.is_maximized
        plain = pane.render().plain
        assert pane.shows_numbers and pane.window is None, plain
        assert printed_grid(plain) == [[render.fmt(v) for v in row] for row in y]
        await press(app, pilot, "escape")
        assert not pane.is_maximized and pane.window is not None

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


def test_iris_wide_activations_print_a_window_and_narrow_ones_print_whole() -> None:
    async def body(app, pilot):
        await press(app, pilot, "f")
        st = app.session.stepper
        # 10 samples × 4 features: every number
        pane = await show(app, pilot, 0, "x")
        assert pane.shows_numbers and pane.window is None
        x = st.record_for("forward", 0).input
        assert printed_grid(pane.render().plain) == [[render.fmt(v) for v in r] for r in x]
        # 10 × 20 hidden units: all 10 rows, a window of the columns
        pane = await show(app, pilot, 0, "y")
        plain = pane.render().plain
        y = st.record_for("forward", 0).output
        assert pane.shows_numbers and pane.window is not None, plain
        cells = printed_block(plain, "n", "j")
        assert sorted({i for i, _ in cells}) == list(range(10))
        assert_block(cells, y)
        assert "columns j=0…" in plain and "of 20" in plain
        # the scores of 3 classes: every number, columns named k (classes)
        pane = await show(app, pilot, len(app.session.net.layers) - 1, "y")
        plain = pane.render().plain
        assert pane.shows_numbers and pane.window is None
        assert printed_grid(plain) == [[render.fmt(v) for v in r]
                                       for r in st.record_for("forward", 4).output]

    run(body, scenario="iris")


def test_iris_affine1_W_window_follows_the_cursor_past_column_8() -> None:
    async def body(app, pilot):
        pane = await show(app, pilot, 0, "W")
        W = app.session.net.layers[0].params["W"]  # 4 × 20: rows i fit, columns j do not
        assert W.shape == (4, 20)
        await press(app, pilot, "tab")
        assert pane.has_focus
        seen: set[int] = set()
        for j in range(1, 20):
            await press(app, pilot, "right")
            assert pane.cursor == (0, j)
            plain = pane.render().plain
            cells = printed_block(plain, "i", "j")
            shown = sorted({c for _, c in cells})
            # a contiguous block of true column indices holding the cursor, all 4 rows
            assert shown == list(range(shown[0], shown[-1] + 1)) and j in shown
            assert sorted({r for r, _ in cells}) == [0, 1, 2, 3]
            assert len(shown) < 20
            assert f"columns j={shown[0]}…{shown[-1]} of 20" in plain
            assert_block(cells, W)  # the engine's values, in the cells their labels name
            assert cursor_cell(plain, "i", "j") == (0, j)
            assert f"W[0, {j}] = {render.fmt(W[0, j])}" in plain
            assert repr(float(W[0, j])) in plain
            seen.update(shown)
        assert seen == set(range(20)) and 8 < max(shown) == 19
        # down and home: the window goes back to the first columns
        await press(app, pilot, "down", "home")
        assert pane.cursor == (0, 0)
        cells = printed_block(pane.render().plain, "i", "j")
        assert min(c for _, c in cells) == 0

    run(body, scenario="iris")


def test_iris_bias_wraps_into_lines_and_up_down_move_a_line() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")  # forward and backward: db is there
        pane = await show(app, pilot, 2, "db")
        db = app.session.stepper.record_for("backward", 2).grads["b"]
        assert db.shape == (20,)
        plain = pane.render().plain
        win = pane.window
        assert pane.shows_numbers and win is not None and win.per_line == 5 and win.whole
        assert "all 20, 5 a line" in plain
        cells = printed_vector(plain, "j")
        assert sorted(cells) == list(range(20))
        for j, text in cells.items():
            assert text == render.fmt(db[j]), j
        await press(app, pilot, "tab", "right", "right", "down", "down")
        assert pane.cursor == (0, 12)
        assert f"db[12] = {render.fmt(db[12])}" in pane.render().plain
        await press(app, pilot, "down", "down")  # the last line: stays there
        assert pane.cursor == (0, 17)
        await press(app, pilot, "right", "right", "right")
        assert pane.cursor == (0, 19)
        await press(app, pilot, "up")
        assert pane.cursor == (0, 14)

    run(body, scenario="iris")


def test_iris_tall_gradients_scroll_their_rows() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")  # the whole forward and backward pass
        st = app.session.stepper
        # affine3's dW is 20×3: a window of rows, every column
        pane = await show(app, pilot, 4, "dW")
        dW = st.record_for("backward", 4).grads["W"]
        plain = pane.render().plain
        assert pane.shows_numbers and not pane.window.whole
        cells = printed_block(plain, "i", "j")
        rows = sorted({i for i, _ in cells})
        assert rows == list(range(len(rows))) and 5 <= len(rows) < 20
        assert sorted({j for _, j in cells}) == [0, 1, 2]
        assert f"rows i=0…{rows[-1]} of 20" in plain
        assert_block(cells, dW)
        await press(app, pilot, "tab", "pagedown", "pagedown", "pagedown")
        assert pane.cursor == (19, 0)
        plain = pane.render().plain
        cells = printed_block(plain, "i", "j")
        rows = sorted({i for i, _ in cells})
        assert rows[-1] == 19 and rows == list(range(rows[0], 20))
        assert_block(cells, dW)
        # affine2's dW is 20×20: a window both ways
        await press(app, pilot, "shift+tab")
        pane = await show(app, pilot, 2, "dW")
        plain = pane.render().plain
        dW = st.record_for("backward", 2).grads["W"]
        assert pane.shows_numbers and "arrows scroll" in plain
        assert_block(printed_block(plain, "i", "j"), dW)

    run(body, scenario="iris")


def test_mnist_big_tensors_stay_heatmaps() -> None:
    async def body(app, pilot):
        await press(app, pilot, "f")
        # affine1's output is 32 × 100: a window would show a few percent of it
        pane = await show(app, pilot, 4, "y")
        plain = pane.render().plain
        assert pane.item.array.shape == (32, 100)
        assert not pane.shows_numbers and pane.window is None
        assert "numbers: tab, z zooms" in plain
        await press(app, pilot, "tab", "z")
        assert pane.shows_numbers and pane.window is not None
        await press(app, pilot, "escape")
        # its weights, 4320 × 100: never numbers, not even zoomed
        pane = await show(app, pilot, 4, "W")
        plain = pane.render().plain
        assert not pane.shows_numbers and "zoom" not in plain and pane.view.downsampled
        # affine2's 100 × 10 weights: a window (more than 5% of them at a time)
        pane = await show(app, pilot, 6, "W")
        assert pane.shows_numbers and pane.window is not None
        assert_block(printed_block(pane.render().plain, "i", "j"),
                     app.session.net.layers[6].params["W"])

    run(body, scenario="mnist-cnn")


def test_zooming_keeps_the_cursor_on_the_same_entry() -> None:
    """At 80×24 iris's 20×20 W is a downsampled heatmap; zoomed, a numbers window. The
    cursor stays on the entry it was on (the first of its block) both ways."""

    async def body(app, pilot):
        pane = await show(app, pilot, 2, "W")
        W = app.session.net.layers[2].params["W"]
        assert pane.view.downsampled and not pane.shows_numbers
        await press(app, pilot, "tab", "right", "right", "right", "down", "down")
        entry = pane.view.index_of(*pane.cursor)
        assert entry != (0, 0)
        await press(app, pilot, "z")
        assert pane.shows_numbers and pane.window is not None
        assert pane.cursor == entry
        plain = pane.render().plain
        assert cursor_cell(plain, "i", "j") == entry
        assert f"W[{entry[0]}, {entry[1]}] = {render.fmt(W[entry])}" in plain
        await press(app, pilot, "right")
        entry = (entry[0], entry[1] + 1)
        await press(app, pilot, "escape")
        assert pane.view.downsampled
        blk = pane.view.block_of(*pane.cursor)
        assert all(s.start <= e < s.stop for s, e in zip(blk, entry, strict=True))

    run(body, scenario="iris", size=(80, 24))


def test_xor_dw_at_80x24_prints_all_six_columns_in_blocks() -> None:
    """xor's dW (2×6) showed 3 of its 6 columns at 80 columns; two blocks of columns, one under
    the other, hold every entry (the colour legend gives up its line for them)."""

    async def body(app, pilot):
        await press(app, pilot, "b")  # forward, loss and the whole backward
        pane = await show(app, pilot, 0, "dW")
        dW = app.session.stepper.record_for("backward", 0).grads["W"]
        plain = pane.render().plain
        cells = printed_block(plain, "i", "j")
        assert sorted(cells) == [(i, j) for i in range(2) for j in range(6)], plain
        assert_block(cells, dW)
        assert pane.window is not None and pane.window.blocks == 2
        assert "all 12, 2 blocks" in plain
        # the cursor crosses into the second block and the line under it says where it is
        await press(app, pilot, "tab", *["right"] * 4)
        assert pane.cursor == (0, 4)
        assert f"dW[0, 4] = {repr(float(dW[0, 4]))}" in pane.render().plain.split("\n")[-1]

    run(body, size=(80, 24))
