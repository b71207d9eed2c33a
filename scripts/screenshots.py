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
    "debugger-iris-health.svg": ("iris", (120, 40), DARK, ["h", "u", "down"]),
    "explain-xor.svg": ("xor", (120, 40), DARK, ["b", "tab", "e"]),
    "explain-mnist-cnn.svg": ("mnist-cnn", (120, 40), DARK,
                              ["f", "home", "tab", "down", "right", "e"]),
    "picker.svg": (None, (120, 30), DARK, []),
    "graph-apple-orange.svg": ("apple-orange", (120, 40), DARK, ["f", "n", "n", "g"]),
    "graph-mlp-80x24.svg": ("mlp", (80, 24), DARK, ["b", *["right"] * 6]),
    # chapter 6's experiments in the compare view: run for real (the full experiments, which
    # take well under a second), then opened as a finished experiment
    "compare-optimizer-paths.svg": ("experiment:optimizer-paths", (120, 40), DARK, []),
    "compare-init-histograms.svg": ("experiment:init-histograms", (120, 40), DARK, []),
}

#: find the bug: file name → (scenario, mistake, seed, terminal size, keys, answers); the
#: wrong answers earn hints, the last (right) one opens the result
EXERCISE_SHOTS = {
    "exercise-result.svg": ("iris", "affine-dw-transposed", 0, (120, 40), ["b", "g"],
                            [("affine3", "dW"), ("affine2", "dW")]),
    "exercise-hint-80x24.svg": ("iris", "affine-dw-transposed", 0, (80, 24), ["b"],
                                [("affine3", "dW"), ("relu2", "dx")]),
}


def experiment_screen(name: str):
    """The compare view on experiment ``name``, run into a temporary folder; the folder it
    shows is ``runs/NAME`` (a screenshot should not show a temporary path)."""
    import tempfile

    from backprop_tui.experiments import run_experiment
    from backprop_tui.tui.screens.compare import CompareScreen

    with tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(name, out=Path(tmp))
    return lambda: CompareScreen(name, Path("runs") / name, result=result)


async def shoot(name: str, scenario: str | None, size: tuple[int, int], theme: str,
                keys: list[str], out: Path) -> None:
    if scenario is None:
        app = BackpropApp("picker", theme=theme)
    elif scenario.startswith("experiment:"):
        app = BackpropApp("screen", screen=experiment_screen(scenario.split(":", 1)[1]),
                          theme=theme)
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


async def shoot_exercise(name: str, scenario: str, mistake: str, seed: int,
                         size: tuple[int, int], keys: list[str],
                         answers: list[tuple[str, str]], out: Path) -> None:
    from textual.widgets import Button, Select

    from backprop_tui.tui.exercise import start_exercise
    from backprop_tui.tui.screens.exercise import ExerciseScreen

    exercise = start_exercise(scenario, seed=seed, mistake=mistake)
    exercise.clock = lambda: exercise.started  # no clock in the picture: "in 0 s"
    app = BackpropApp("screen", screen=lambda: ExerciseScreen(exercise), theme=DARK)
    async with app.run_test(size=size) as pilot:
        async def settle() -> None:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()

        await settle()
        for key in [*keys, "a"]:
            await pilot.press(key)
            await settle()
        for layer, tensor in answers:
            app.screen.query_one("#layer", Select).value = layer
            await settle()
            app.screen.query_one("#tensor", Select).value = tensor
            await settle()
            app.screen.query_one("#ok", Button).press()
            await settle()
            await settle()
        app.save_screenshot(filename=name, path=str(out))


def main() -> None:
    out = ROOT / "assets" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    wanted = sys.argv[1:] or [*SHOTS, *EXERCISE_SHOTS]
    for name in wanted:
        if name in EXERCISE_SHOTS:
            asyncio.run(shoot_exercise(name, *EXERCISE_SHOTS[name], out))
        else:
            scenario, size, theme, keys = SHOTS[name]
            asyncio.run(shoot(name, scenario, size, theme, keys, out))
        print(out / name)


if __name__ == "__main__":
    main()
