"""The command line's find-the-bug exercise: ``backprop-tui exercise [SCENARIO] [--seed S]``
opens the debugger on a network with one planted mistake and prints the time and the hints on
exit; ``--list`` prints the catalogue (``--json`` as JSON). ``cli.py`` parses the options and
calls these; what goes wrong is a :class:`~backprop_tui.errors.UserError` (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .engine.mistakes import CATALOGUE


def catalogue_rows() -> list[dict]:
    """The catalogue as plain data: what each mistake is, where it applies, the answer."""
    from .tui.exercise import catalogue_scenarios

    where = catalogue_scenarios()
    return [{"id": m.id, "title": m.title, "phase": m.phase,
             "tensor": (f"<layer>.{m.tensor} (of the update)" if m.phase == "update"
                        else m.tensor),
             "needs": m.needs, "scenarios": where[m.id], "wrong": m.wrong, "right": m.right,
             "explanation": m.explanation} for m in CATALOGUE]


def print_catalogue(as_json: bool, console: Console) -> None:
    rows = catalogue_rows()
    if as_json:
        from .formatting import json_text

        print(json_text(rows))
        return
    table = Table(title="find-the-bug mistakes (backprop-tui exercise)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("mistake", overflow="fold", ratio=2)
    table.add_column("phase · wrong tensor", overflow="fold", ratio=1)
    table.add_column("scenarios", overflow="fold", ratio=2)
    for r in rows:
        name = Text(r["id"], style="bold cyan")
        name.append(f"\n{r['title']}")
        table.add_row(name, f"{r['phase']} · {r['tensor']}",
                      Text(", ".join(r["scenarios"]) or "none built in", style="dim")
                      + Text(f"\nneeds {r['needs']}", style="italic"))
    console.print(table)


def run(scenario: str | None, seed: int | None, data_dir: Path | None, light: bool) -> None:
    """Pick and plant (bad input exits 2 before the screen opens), play, print the score."""
    from .tui.app import DARK, LIGHT, need_terminal, run_exercise
    from .tui.exercise import start_exercise

    exercise = start_exercise(scenario, seed=seed, data_dir=data_dir)
    need_terminal()
    run_exercise(exercise, theme=LIGHT if light else DARK)
    print_summaries([exercise])


def print_summaries(exercises: list) -> None:
    for exercise in exercises:
        print(exercise.summary())
