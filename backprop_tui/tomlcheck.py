"""Reading a TOML table with checks: every problem names the file and the dotted key.

:class:`TableReader` reads one table of a scenario file: it checks each value's type (and range,
and choices), fills in defaults, says which required key is missing — and, when a misspelt key
stands in its place, suggests it — and finally refuses keys nobody asked about. Each problem is a
:class:`~backprop_tui.errors.ScenarioError` naming the file, the key and the value, and saying
what was expected.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ScenarioError

#: a key without a default must be in the table
REQUIRED: Any = object()


class TableReader:
    """Reads one TOML table, checking types and refusing keys it was not asked about."""

    def __init__(self, table: dict, file: Path, prefix: str) -> None:
        if not isinstance(table, dict):
            raise ScenarioError(
                "must be a table", file=file, key=prefix or None, value=table,
                expected="a TOML table ([section] or { key = value })",
            )
        self.table = table
        self.file = file
        self.prefix = prefix
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, problem: str, value: object, expected: str) -> ScenarioError:
        return ScenarioError(problem, file=self.file, key=self.key(name), value=value,
                             expected=expected)

    def get(
        self,
        name: str,
        kind: str,
        default: Any = REQUIRED,
        *,
        choices: tuple[str, ...] | None = None,
        check: Callable[[Any], bool] | None = None,
        expected: str | None = None,
    ) -> Any:
        self.seen.add(name)
        if name not in self.table:
            if default is REQUIRED:
                # a misspelt required key (`outt = 6`) is missing *and* unknown: say both
                typo = difflib.get_close_matches(
                    name, [k for k in self.table if k not in self.seen], n=1, cutoff=0.75)
                raise ScenarioError(
                    "missing required key", file=self.file, key=self.key(name),
                    expected=expected or describe(kind, choices),
                    hint=f"Found {typo[0]!r}: did you mean {name!r}?" if typo else None,
                )
            return default
        value = self.table[name]
        want = expected or describe(kind, choices)
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "table": isinstance(value, dict),
            "list": isinstance(value, list),
            "any": True,
        }[kind]
        if not ok:
            raise self.error(name, f"wrong type, {toml_type(value)}", value, want)
        if kind == "float":
            value = float(value)
            if not math.isfinite(value):
                raise self.error(name, "must be a finite number", value, want)
        if choices is not None:
            if value not in choices:
                hint = closest(value, choices)
                raise ScenarioError(
                    "unknown value", file=self.file, key=self.key(name), value=value,
                    expected=f"one of {', '.join(choices)}", hint=hint,
                )
        if check is not None and not check(value):
            raise self.error(name, "value out of range", value, want)
        return value

    def done(self) -> None:
        """Refuse keys nobody asked about (typos), suggesting the closest known key."""
        for name in self.table:
            if name not in self.seen:
                raise ScenarioError(
                    "unknown key", file=self.file, key=self.key(name),
                    expected=f"one of {', '.join(sorted(self.seen))}",
                    hint=closest(name, sorted(self.seen)),
                )


def describe(kind: str, choices: tuple[str, ...] | None) -> str:
    if choices:
        return f"one of {', '.join(choices)}"
    return {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
            "table": "a table", "list": "an array", "any": "a value"}[kind]


def toml_type(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def closest(word: object, options) -> str | None:
    if not isinstance(word, str):
        return None
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"Did you mean {match[0]!r}?" if match else None


def positive(v: float) -> bool:
    return v > 0
