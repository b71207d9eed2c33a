"""Max-pool switches in the tensor pane (Pilot, mnist-cnn): one arrow per window pointing at the
entry that won it, a dot where the window was a tie, read back from the screen and compared
with the engine's own argmax and with the ties found here from the pool's input."""

from __future__ import annotations

import re

import numpy as np
from test_tui_app import run as run_app

from backprop_tui.tui.render import fmt
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane

ARROWS = "↖↗↙↘"
WORDS = ["top-left", "top-right", "bottom-left", "bottom-right"]
POOL = 2  # mnist-cnn's maxpool1 is layer 3


def run(body, size: tuple[int, int]) -> None:
    run_app(body, "mnist-cnn", size, batch_size=4)


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def show_pool(app, pilot, key: str) -> TensorPane:
    await press(pilot, "n", "n", "n")  # conv1, relu1, maxpool1 forward
    app.screen.query_one(NetworkPane).selected = POOL
    await pilot.pause()
    pane = app.screen.query_one(TensorPane)
    assert pane.select(key)
    await pilot.pause()
    return pane


def expected(app, sample: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The engine's argmax and, computed here, which windows of ``sample`` tie."""
    rec = app.session.stepper.record_for("forward", POOL)
    x = rec.input[sample]  # (C, 24, 24)
    c, h, w = x.shape
    blocks = x.reshape(c, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4).reshape(
        c, h // 2, w // 2, 4)
    ties = (blocks == blocks.max(axis=-1, keepdims=True)).sum(axis=-1) > 1
    return rec.cache["argmax"][sample], ties


def arrow_tiles(plain: str) -> list[list[str]]:
    """The arrow grids on screen, tile by tile: each tile a list of rows of glyphs."""
    tiles: list[list[str]] = []
    for line in plain.split("\n"):
        if not line.strip() or set(line) - set(ARROWS + "· "):
            continue
        glyphs = line[0::2]  # a window is its glyph and a space; channels apart by a cell
        for k, part in enumerate(glyphs.rstrip().split(" ")):
            while len(tiles) <= k:
                tiles.append([])
            tiles[k].append(part)
    return tiles


def glyph_rows(argmax: np.ndarray, ties: np.ndarray) -> list[str]:
    return ["".join("·" if t else ARROWS[q] for q, t in zip(qs, ts, strict=True))
            for qs, ts in zip(argmax, ties, strict=True)]


def test_switches_show_which_entry_won_each_window_at_full_size() -> None:
    async def body(app, pilot):
        pane = await show_pool(app, pilot, "switches")
        plain = pane.render().plain
        argmax, ties = expected(app)
        assert "██" not in plain and "any()" not in plain  # the old solid tiles
        m = re.search(r"channels 0–(\d+) of 30", plain)
        assert m, plain
        tiles = arrow_tiles(plain)
        assert len(tiles) == int(m.group(1)) + 1 >= 2
        for ch, tile in enumerate(tiles):
            assert tile == glyph_rows(argmax[ch], ties[ch]), ch  # all 12 rows, full size
        assert ties.any() and (~ties).any()  # both kinds were on screen
        assert "↖ ↗ ↙ ↘ where each 2×2 window's max was" in plain
        # the cursor on a window that was won outright names the input entry and its value
        i, j = map(int, np.argwhere(~ties[0])[0])
        q = int(argmax[0, i, j])
        await press(pilot, "tab", *["down"] * i, *["right"] * j)
        rec = app.session.stepper.record_for("forward", POOL)
        xi, xj = 2 * i + q // 2, 2 * j + q % 2
        line = pane.render().plain.split("\n")[-1]
        value = rec.input[0, 0, xi, xj]
        assert value == rec.output[0, 0, i, j]
        assert line == f"window (0, 0, {i}, {j}) {WORDS[q]}: x[0, 0, {xi}, {xj}] = {fmt(value)} won"

    run(body, (120, 40))


def test_the_cursor_past_the_right_edge_pages_to_the_next_channels() -> None:
    async def body(app, pilot):
        pane = await show_pool(app, pilot, "argmax")
        argmax, ties = expected(app)
        shown = len(arrow_tiles(pane.render().plain))
        await press(pilot, "tab", *["right"] * (shown * 12))  # the last one passes the edge
        plain = pane.render().plain
        assert f"channels {shown}–{2 * shown - 1} of 30" in plain
        tiles = arrow_tiles(plain)
        assert tiles[0] == glyph_rows(argmax[shown], ties[shown])
        await press(pilot, "left")  # back over the left edge
        assert "channels 0–" in pane.render().plain

    run(body, (120, 40))


def test_a_small_pane_shows_the_rows_of_one_channel_around_the_cursor() -> None:
    async def body(app, pilot):
        pane = await show_pool(app, pilot, "switches")
        argmax, ties = expected(app)
        plain = pane.render().plain
        m = re.search(r"channel 0 of 30 · window rows 0–(\d+) of 12", plain)
        assert m, plain
        rows = glyph_rows(argmax[0], ties[0])
        assert arrow_tiles(plain) == [rows[:int(m.group(1)) + 1]]
        await press(pilot, "tab", *["down"] * 11)  # the last row of windows scrolls into view
        plain = pane.render().plain
        m = re.search(r"window rows (\d+)–11 of 12", plain)
        assert m, plain
        assert arrow_tiles(plain) == [rows[int(m.group(1)):]]
        await press(pilot, "down")  # past the bottom: the next channel
        assert "channel 1 of 30" in pane.render().plain
        for line in pane.render().plain.split("\n")[1:]:  # (the tabs line ends in …)
            assert len(line) <= pane.content_size.width, line

    run(body, (80, 24))


def test_the_next_sample_shows_its_own_winners() -> None:
    async def body(app, pilot):
        pane = await show_pool(app, pilot, "switches")
        await press(pilot, "tab", "full_stop")  # . : the next sample
        argmax, ties = expected(app, 1)
        assert (argmax != expected(app, 0)[0]).any()
        tiles = arrow_tiles(pane.render().plain)
        assert tiles and all(tile == glyph_rows(argmax[ch], ties[ch])
                             for ch, tile in enumerate(tiles))
        assert pane.render().plain.split("\n")[-1].startswith("window (1, 0, 0, 0)")

    run(body, (120, 40))
