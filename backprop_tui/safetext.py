"""Text from files, made safe for a terminal — the one sanitiser every such text goes through.

A scenario's description, a layer's name, a class name, a file's name in an error message or
a message from the user's own code may hold control characters: ``"\\x1b]0;pwned\\x07"`` sets
the terminal's title, ``"\\x1b[2J"`` clears the screen, a right-to-left override reorders what
follows. Printed as they are, they act on the terminal instead of being read. :func:`printable`
shows each such character as its escape (``\\x1b``, ``\\u202e``), so the text reads as what the
file holds and nothing reaches the terminal as a command.

It is applied where text from outside meets output: every :class:`~backprop_tui.errors.UserError`
message, the command line's printing (``cli._escape``), the tables of :mod:`~backprop_tui
.formatting`, the debugger's panes (``tui.widgets.lines``), titles and dialogs; scenario
descriptions are cleaned when read and scenario names are checked (:func:`check_name`).

:func:`safe_name` turns any name into one path component (the default run folder).

Standard library only.
"""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, and the invisible characters that reorder or break lines
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")
_SPACES = re.compile("[\t\n\r]+")

#: a scenario name: letters, digits, ``.``, ``_``, ``-``; a letter or digit first (no ``..``,
#: no ``/``, no hidden file): it becomes a folder name under ``runs/``
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NAME_MAX = 64
NAME_RULE = (f"1 to {NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter or "
             "digit")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, spaces: bool = False, newlines: bool = False) -> str:
    """``str(text)`` with every control character shown as its escape; with ``spaces``, runs
    of tabs and line breaks first become one space (a description written over several lines);
    with ``newlines``, line breaks are kept (a dialog's message)."""
    s = str(text)
    if spaces:
        s = _SPACES.sub(" ", s)
    if newlines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in s.split("\n"))
    return _UNSAFE.sub(_escape, s)


def has_unsafe(text: str) -> bool:
    """Whether :func:`printable` would change ``text`` (apart from kept line breaks)."""
    return _UNSAFE.search(text.replace("\n", "")) is not None


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid scenario name (None if it is)."""
    if len(name) > NAME_MAX:
        return f"too long ({len(name)} characters)"
    if not NAME_PATTERN.fullmatch(name):
        return "not a safe name"
    return None


def safe_name(name: str, fallback: str = "run") -> str:
    """``name`` as one safe path component (:data:`NAME_PATTERN`): every other character
    becomes ``-``, and it is cut to :data:`NAME_MAX` characters."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name).lstrip("._-")[:NAME_MAX]
    return s or fallback
