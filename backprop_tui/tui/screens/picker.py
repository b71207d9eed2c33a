"""The scenario picker (``backprop-tui`` with no arguments): a table of the built-in
scenarios; Enter opens the debugger on the highlighted one. A scenario or data error is shown
in a dialog, never a crash."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...errors import UserError
from ..graphsession import GraphSession
from ..session import DebugSession, SessionSpec
from .dialogs import ErrorDialog


def _load(name: str):
    """A network scenario, or a graph scenario (``kind = "graph"``): what a row shows."""
    from ...graphfile import is_graph_ref, load_graph_scenario
    from ...scenario import load_scenario

    return load_graph_scenario(name) if is_graph_ref(name) else load_scenario(name)


class PickerScreen(Screen[None]):
    """Lists scenarios; ``open_session`` (given by the app) shows the debugger."""

    BINDINGS = [
        Binding("enter", "open", "open in the debugger", priority=True),
        Binding("q", "app.quit", "quit"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]

    def __init__(self, open_session: Callable[[DebugSession | GraphSession], None],
                 names: list[str] | None = None) -> None:
        super().__init__()
        self.open_session = open_session
        self.names = names
        self.loading = False

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(
            ("Pick a scenario", "bold"),
            " — ↑↓ choose, Enter opens the step-through debugger on it. A scenario is a "
            "computational graph (scenarios/graphs/*.toml), or a network, its data and its "
            "training settings (scenarios/*.toml).",
        ), id="picker-intro")
        yield DataTable(id="scenarios", cursor_type="row", zebra_stripes=True)
        yield Static(id="picker-detail")
        yield Static(id="picker-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "backprop-tui"
        self.sub_title = "scenarios"
        table = self.query_one(DataTable)
        table.add_columns("name", "data", "architecture", "params", "description")
        from ...graphfile import graph_names
        from ...scenario import builtin_names

        # the computational graphs first: the learning path starts there
        names = self.names if self.names is not None else [*graph_names(), *builtin_names()]
        for name in names:
            try:
                sc = _load(name)
            except UserError as e:  # a broken file still lists, with its problem
                table.add_row(name, "–", "–", "–", Text(str(e), style="red"), key=name)
                continue
            table.add_row(sc.name, sc.data_label, sc.architecture, f"{sc.param_count:,}",
                          sc.description, key=name)
        if "xor" in (self.names or builtin_names()):
            table.move_cursor(row=table.get_row_index("xor"))
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted scenario in full: description, loss, training settings."""
        from ...graphfile import GraphScenario

        key = event.row_key.value if event.row_key is not None else None
        detail = self.query_one("#picker-detail", Static)
        try:
            sc = _load(str(key))
        except UserError as e:
            detail.update(Text(str(e), style="red"))
            return
        if isinstance(sc, GraphScenario):
            detail.update(Text.assemble(
                (sc.name, "bold"), f" — {sc.description}\n",
                (f"computational graph · {sc.architecture} · stepped one node at a time, "
                 "forward then backward", "dim")))
            return
        tr = sc.train
        detail.update(Text.assemble(
            (sc.name, "bold"), f" — {sc.description}\n",
            (f"{sc.architecture} · loss {sc.loss} · {tr.optimizer} lr {tr.lr:g} · "
             f"debugger batch {sc.debug_batch_size} · seed {tr.seed}", "dim"),
        ))

    def action_open(self) -> None:
        if self.loading:
            return
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.loading = True
        self.query_one("#picker-status", Static).update(f"loading {key}…")
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
                                            ("enter", "open it in the debugger"),
                                            ("q", "quit")]))
