"""The scenario picker (``backprop-tui`` with no arguments): a table of the built-in
scenarios in learning-path order (``scenarios/learning-path.txt``), then chapter 6's
experiments, each description wrapped in the width the other columns leave; Enter opens the
debugger on the highlighted scenario, or runs the experiment in the compare view. A scenario
or data error is shown in a dialog, never a crash."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...errors import ScenarioError, UserError
from ...safetext import printable
from ..graphsession import GraphSession
from ..session import DebugSession, SessionSpec
from .dialogs import ErrorDialog


def _load(name: str):
    """A network scenario, or a graph scenario (``kind = "graph"``): what a row shows."""
    from ...graphfile import is_graph_ref, load_graph_scenario
    from ...scenario import load_scenario

    return load_graph_scenario(name) if is_graph_ref(name) else load_scenario(name)


def _experiment(name: str):
    """The built-in experiment called ``name`` (chapter 6's), or None."""
    from ...experiments import EXPERIMENTS

    return EXPERIMENTS.get(name)


class ScenarioTable(DataTable):
    """The scenario list: its own Enter (select the row under the cursor, after any key typed
    before it) is the one the footer names."""

    BINDINGS = [Binding("enter", "select_cursor", "open")]


class PickerScreen(Screen[None]):
    """Lists scenarios; ``open_session`` (given by the app) shows the debugger."""

    BINDINGS = [
        # not a priority binding: Enter must reach the table after a Down typed before it (a
        # priority binding ran first and opened the row the cursor had left); the table's own
        # Enter says which row (on_data_table_row_selected)
        Binding("enter", "open", "open"),
        Binding("f", "exercise", "find the bug"),
        Binding("q", "app.quit", "quit"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]

    def __init__(self, open_session: Callable[[DebugSession | GraphSession], None],
                 names: list[str] | None = None) -> None:
        super().__init__()
        self.open_session = open_session
        self.names = names
        self.loading = False
        self._rows: list[tuple[str, tuple[str, ...], Text | str]] = []  # key, cells, description
        self._filled_width = 0

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(
            ("Pick a scenario", "bold"),
            " — ↑↓ choose, Enter opens it: a graph or a network in the step-through debugger, "
            "an experiment of chapter 6 in the compare view. A scenario is a computational "
            "graph (scenarios/graphs/*.toml), a network with its data and training settings "
            "(scenarios/*.toml), or an experiment (many runs, one picture).",
        ), id="picker-intro")
        yield ScenarioTable(id="scenarios", cursor_type="row", zebra_stripes=True)
        yield Static(id="picker-detail")
        yield Static(id="picker-status")
        yield Footer()

    #: the columns before the description, and the narrowest description column: with less
    #: room the table has none (the lines under it show the selected one in full), and if the
    #: rest still does not fit, no data column either (no number is cut at the edge)
    COLUMNS = ("name", "data", "architecture", "params")
    MIN_DESCRIPTION = 24

    def on_mount(self) -> None:
        self.title = "backprop-tui"
        self.sub_title = "scenarios"
        from ...experiments import EXPERIMENTS
        from ...graphfile import graph_names
        from ...scenario import learning_path

        # the computational graphs first: the learning path starts there; chapter 6's
        # experiments last
        names = self.names if self.names is not None else [*graph_names(), *learning_path(),
                                                           *EXPERIMENTS]
        for name in names:
            if (exp := _experiment(name)) is not None:
                self._rows.append((name, (name, exp.data_label, exp.runs_label(), "–"),
                                   printable(exp.description, spaces=True)))
                continue
            try:
                sc = _load(name)
            except UserError as e:  # a broken file still lists, with its problem
                self._rows.append((name, (name, "–", "–", "–"), Text(str(e), style="red")))
                continue
            data = Text(sc.data_label)
            if needs := sc.missing_data:  # listed; opening it says what is missing
                # on a line of its own, short: the column stays narrow (the line under the
                # table says it in full)
                data.append(f"\n{needs.split(' (')[0]}", style="yellow")
            self._rows.append((name, (sc.name, data, sc.architecture, f"{sc.param_count:,}"),
                               printable(sc.description, spaces=True)))
        self._fill(self.size.width)
        table = self.query_one(DataTable)
        table.focus()  # on the first row: the learning path from its start, nothing scrolled off

    def on_resize(self, event: Resize) -> None:
        if self._rows and event.size.width != self._filled_width:
            self._fill(event.size.width)

    def _fill(self, width: int) -> None:
        """(Re)build the table for a screen ``width`` wide: the description column takes what
        the others leave, and each row is as tall as its description needs."""
        self._filled_width = width
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        widths = {head: max(len(head), *(_widest_line(cells[i]) for _, cells, _ in self._rows))
                  for i, head in enumerate(self.COLUMNS)}
        pad = 2 * table.cell_padding
        # the table's margin (2 + 2, app.tcss) and a vertical scrollbar's 2 columns
        room = width - 4 - 2 - sum(w + pad for w in widths.values()) - pad
        wide = room >= self.MIN_DESCRIPTION
        shown = list(self.COLUMNS)
        if not wide and room + pad < 0:
            shown.remove("data")
        for head in shown:
            table.add_column(head, width=widths[head], key=head)
        if wide:
            table.add_column("description", width=room, key="description")
        for key, cells, description in self._rows:
            # Text, not str: a DataTable reads a str cell as markup ("[/]" in a file's text)
            row = [Text(c) if isinstance(c, str) else c
                   for head, c in zip(self.COLUMNS, cells, strict=True) if head in shown]
            desc = Text(description) if isinstance(description, str) else description
            table.add_row(*row, *([desc] if wide else []), key=key,
                          height=None if wide else 1)
        if self._rows:
            table.move_cursor(row=min(cursor, len(self._rows) - 1))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted scenario in full: description, loss, training settings."""
        from ...graphfile import GraphScenario

        key = event.row_key.value if event.row_key is not None else None
        detail = self.query_one("#picker-detail", Static)
        if (exp := _experiment(str(key))) is not None:
            detail.update(Text.assemble(
                (exp.name, "bold"), f" — {printable(exp.description, spaces=True)}\n",
                (f"experiment · {exp.data_label} · {exp.runs_label()} · Enter runs them in the "
                 "compare view (q stops and saves; resume with train NAME --resume DIR)",
                 "dim")))
            return
        try:
            sc = _load(str(key))
        except UserError as e:
            detail.update(Text(str(e), style="red"))
            return
        if isinstance(sc, GraphScenario):
            detail.update(Text.assemble(
                (sc.name, "bold"), f" — {printable(sc.description, spaces=True)}\n",
                (f"computational graph · {sc.architecture} · stepped one node at a time, "
                 "forward then backward", "dim")))
            return
        tr = sc.train
        needs = sc.missing_data
        detail.update(Text.assemble(
            (sc.name, "bold"), f" — {printable(sc.description, spaces=True)}\n",
            (f"{sc.data_label} · {sc.architecture} · loss {sc.loss} · {tr.optimizer} "
             f"lr {tr.lr:g} · "
             f"debugger batch {sc.debug_batch_size} · seed {tr.seed}", "dim"),
            (f"\n{needs}" if needs else "", "yellow"),
        ))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self._open(event.row_key.value)

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        self._open(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_exercise(self) -> None:
        """Find the bug in the highlighted scenario: a mistake planted in one of its pieces."""
        table = self.query_one(DataTable)
        if self.loading or table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None:
            return
        self.loading = True
        self.query_one("#picker-status", Static).update(
            Text(printable(f"planting a mistake in {key}…")))
        self._load_exercise(str(key))

    @work(thread=True, exclusive=True, group="load")
    def _load_exercise(self, name: str) -> None:
        from ...experiments import EXPERIMENTS
        from ...graphfile import is_graph_ref
        from ..exercise import start_exercise

        try:
            what = ("a computational graph" if is_graph_ref(name) else
                    "an experiment of chapter 6" if name in EXPERIMENTS else None)
            if what:
                raise ScenarioError(f"{name!r} is {what}: the exercises plant their mistakes "
                                    "in networks (xor, iris, mnist-cnn…)")
            exercise = start_exercise(name)
        except UserError as e:
            self.app.call_from_thread(self._failed, name, str(e))
            return
        except Exception as e:  # a bug: still a dialog, not a crash
            self.app.call_from_thread(self._failed, name, f"{type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._exercise_ready, exercise)

    def _exercise_ready(self, exercise) -> None:
        from .exercise import ExerciseScreen

        self.loading = False
        self.query_one("#picker-status", Static).update("")
        self.app.push_screen(ExerciseScreen(exercise))

    def _open(self, key: str | None) -> None:
        if self.loading or key is None:
            return
        if _experiment(str(key)) is not None:
            from ...training import default_run_dir
            from .compare import CompareScreen

            self.app.push_screen(CompareScreen(str(key), default_run_dir(str(key)),
                                               leave="back"))
            return
        self.loading = True
        self.query_one("#picker-status", Static).update(Text(printable(f"loading {key}…")))
        self._load(SessionSpec(str(key)))

    @work(thread=True, exclusive=True, group="load")
    def _load(self, spec: SessionSpec) -> None:
        try:
            session = spec.build()
        except UserError as e:
            self.app.call_from_thread(self._failed, str(spec.scenario), str(e))
            return
        except Exception as e:  # a bug: still a dialog, not a crash
            self.app.call_from_thread(self._failed, str(spec.scenario),
                                      f"{type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._loaded, session)

    def _failed(self, name: str, message: str) -> None:
        self.loading = False
        self.query_one("#picker-status", Static).update("")
        self.app.push_screen(ErrorDialog(f"cannot open {name}", message))

    def _loaded(self, session: DebugSession | GraphSession) -> None:
        self.loading = False
        self.query_one("#picker-status", Static).update("")
        self.open_session(session)

    def action_help(self) -> None:
        from .debugger import debugger_help

        self.app.push_screen(debugger_help([("↑ ↓", "choose a scenario"),
                                            ("enter", "open it in the debugger (an "
                                             "experiment: run it in the compare view)"),
                                            ("f", "find the bug: a mistake planted in one "
                                                  "of its pieces, somewhere"),
                                            ("q", "quit")]))


def _widest_line(cell: str | Text) -> int:
    """The columns a cell needs: its longest line (a cell may hold a second line)."""
    return max(cell_len(line) for line in str(cell).split("\n"))
