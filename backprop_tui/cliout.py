"""The command line's console and the escaping of text that is not ours (names, messages,
paths from files) on its way into rich markup: shared by cli.py and trainrun.py."""

from __future__ import annotations

from typing import Any

from rich.console import Console


class CliConsole(Console):
    """``print(..., soft_wrap=True)`` means: one line per message where output is a log (a
    pipe, a file, CI), and word-wrapped at the width in a terminal, where the terminal itself
    would otherwise break a long line mid-word ("train accurac|y" at 80 columns)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if kwargs.get("soft_wrap") and self.is_terminal:
            kwargs["soft_wrap"] = False
        super().print(*objects, **kwargs)


def console(stderr: bool = False) -> Console:
    return CliConsole(stderr=stderr, highlight=False, soft_wrap=False)


def escape(text: object) -> str:
    """Text that is not ours (names, messages, paths) for a markup string: its control
    characters escaped (safetext) and its brackets too (rich markup)."""
    from rich.markup import escape as markup_escape

    from .safetext import printable

    return markup_escape(printable(text))
