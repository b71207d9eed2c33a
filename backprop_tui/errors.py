"""User-facing errors: one family, one clear message, exit code 2.

Anything a user can cause — a bad scenario file, missing or corrupt data, a bad checkpoint, a bad
flag — raises a :class:`UserError` naming the file, the key and the value, and saying what was
expected. The CLI prints ``str(error)`` and exits 2; it never shows a traceback for these.
Bugs (anything else) may still raise.
"""

from __future__ import annotations

from pathlib import Path

from .safetext import printable

_MISSING = object()


class UserError(Exception):
    """An error the user can fix. ``str()`` is the complete message."""

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        key: str | None = None,
        value: object = _MISSING,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.key = key
        self.value = value
        self.expected = expected
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ": ".join(p for p in (self.file, self.key) if p)
        text = f"{where}: {self.problem}" if where else self.problem
        if self.value is not _MISSING:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.hint:
            text += f". {self.hint}"
        # file names, keys and messages may come from files: no control character gets out
        return printable(text)

    def __str__(self) -> str:
        return self.message


class ScenarioError(UserError):
    """A scenario name or file that cannot be used."""


class DataError(UserError):
    """Missing, truncated or corrupt data files."""


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded into this scenario."""


class UsageError(UserError):
    """A bad command-line value."""


class RunFolderError(UserError):
    """A run folder that cannot be used: it holds another run, another training is writing to
    it, or it cannot be written (a file in the way, read-only, a full disk)."""


class TrainingError(UserError):
    """Training stopped because code of the user's raised (a layer of their own, in a network
    from a .py file): the message names the layer, the step and the line."""
