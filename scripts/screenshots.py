"""Export the README's screenshots: SVGs saved by the app itself (Textual's screenshot), driven
by Pilot with fixed seeds, so they are reproducible.

Run from the repository root::

    .venv/bin/python scripts/screenshots.py            # writes assets/screenshots/*.svg
    .venv/bin/python scripts/screenshots.py picker.svg # only those named
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backprop_tui.graphfile import is_graph_ref, load_graph_scenario  # noqa: E402
from backprop_tui.scenario import load_scenario  # noqa: E402
from backprop_tui.tui.app import DARK, LIGHT, BackpropApp  # noqa: E402
from backprop_tui.tui.graphsession import GraphSession  # noqa: E402
from backprop_tui.tui.screens.graph import GraphScreen  # noqa: E402
from backprop_tui.tui.session import DebugSession  # noqa: E402

#: file name → (scenario, terminal size, theme, keys)
SHOTS = {
    "debugger-xor.svg": ("xor", (120, 40), DARK, ["n", "n", "n", "n", "n"]),
    "debugger-xor-gradcheck.svg": ("xor", (120, 40), DARK, ["b", "g"]),
    "debugger-mnist-cnn-pictures.svg": ("mnist-cnn", (120, 40), DARK, ["f", "home", "i"]),
    "debugger-mnist-cnn-80x24.svg": ("mnist-cnn", (80, 24), DARK, ["b"]),
    "debugger-xor-light.svg": ("xor", (120, 40), LIGHT, ["f", "n", "n"]),
    "debugger-iris-numbers.svg": ("iris", (120, 40), DARK,
                                  ["f", "home", "tab", "right_square_bracket", *["right"] * 9]),
    "explain-xor.svg": ("xor", (120, 40), DARK, ["b", "tab", "e"]),
    "explain-mnist-cnn.svg": ("mnist-cnn", (120, 40), DARK,
                              ["f", "home", "tab", "down", "right", "e"]),
    "picker.svg": (None, (120, 30), DARK, []),
    "graph-apple-orange.svg": ("apple-orange", (120, 40), DARK, ["f", "n", "n", "g"]),
    "graph-mlp-80x24.svg": ("mlp", (80, 24), DARK, ["b", *["right"] * 6]),
}


async def shoot(name: str, scenario: str | None, size: tuple[int, int], theme: str,
                keys: list[str], out: Path) -> None:
    if scenario is None:
        app = BackpropApp("picker", theme=theme)
    elif is_graph_ref(scenario):
        graph = load_graph_scenario(scenario)
        session = GraphSession(graph.name, graph.build())
        app = BackpropApp("screen", screen=lambda: GraphScreen(session), theme=theme)
    else:
        session = DebugSession.from_scenario(load_scenario(scenario))
        app = BackpropApp("debug", session=session, theme=theme)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.save_screenshot(filename=name, path=str(out))


def main() -> None:
    out = ROOT / "assets" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    wanted = sys.argv[1:] or list(SHOTS)
    for name in wanted:
        scenario, size, theme, keys = SHOTS[name]
        asyncio.run(shoot(name, scenario, size, theme, keys, out))
        print(out / name)


if __name__ == "__main__":
    main()
