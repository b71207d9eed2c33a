"""The help screen (`?`): every key of a screen, and what each of its panes shows and in what
units. One layout for every screen; each screen passes its own keys, panes and words."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .once import DismissOnce


class HelpScreen(DismissOnce, ModalScreen[None]):
    """Lists ``keys`` (keys as written, what they do) under ``heading`` and ``intro``, then
    explains ``panes`` (name, what it shows)."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "close help")]

    def __init__(self, keys: list[tuple[str, str]], panes: Sequence[tuple[str, str]], *,
                 heading: str, intro: str) -> None:
        super().__init__(classes="dialog-screen")
        self.keys = keys
        self.panes = panes
        self.heading = heading
        self.intro = intro

    def compose(self) -> ComposeResult:
        keys = Table(box=None, show_header=False, pad_edge=False)
        keys.add_column(style="bold cyan", no_wrap=True)
        keys.add_column()
        for key, what in self.keys:
            keys.add_row(key, what)
        panes = Table(box=None, show_header=False, pad_edge=False)
        panes.add_column(style="bold", no_wrap=True)
        panes.add_column()
        for name, what in self.panes:
            panes.add_row(name, what)
        with VerticalScroll(classes="dialog help-dialog", id="help"):
            yield Static(Text(self.heading, style="bold"), classes="dialog-title")
            yield Static(Text(self.intro, style="italic"))
            yield Static(keys)
            yield Static(Text("panes", style="bold"), classes="dialog-title")
            yield Static(panes)
            yield Static(Text("escape closes this help", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
