"""Key commands: each full screen describes its commands in one table of :class:`KeyCommand`,
which gives its key bindings (and footer), the rows of its help screen and, for the debugger,
the command palette's entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class KeyCommand:
    """One command of a screen: its keys, action, footer label (empty: not in the footer), the
    description used by the help screen and the command palette, how the help screen writes
    the keys (empty: as bound), and its title in the command palette (empty: not listed)."""

    keys: str
    action: str
    label: str
    help: str
    shown: str = ""
    title: str = ""


def bindings(commands: Iterable[KeyCommand]) -> list[Binding]:
    """The screen's bindings: shown in the footer when they have a label, under the first of
    the keys the help screen writes."""
    return [Binding(k.keys, k.action, k.label, show=bool(k.label),
                    key_display=k.shown.split(" / ")[0] if k.shown else None)
            for k in commands]


def help_rows(commands: Iterable[KeyCommand]) -> list[tuple[str, str]]:
    """(keys, description) for the help screen."""
    return [(k.shown or k.keys, k.help) for k in commands]
