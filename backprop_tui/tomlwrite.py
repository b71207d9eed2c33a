"""A small TOML writer for resolved scenarios (``config.toml`` of a training run).

The standard library reads TOML (``tomllib``) but cannot write it. Scenario configs only hold
tables, strings, numbers, booleans, arrays of those, arrays of arrays (hand-wired weights) and
arrays of tables (layers), so a short writer that covers exactly that — and is tested by
round-tripping every built-in scenario through ``tomllib`` — is simpler than a dependency.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _key(k: str) -> str:
    # TOML bare keys are ASCII only: str.isalnum() alone would pass "é" or "²"
    if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k):
        return k
    return _string(k)


def _string(s: str) -> str:
    # JSON escapes are TOML basic-string escapes, but JSON leaves DEL (U+007F) raw, which
    # TOML forbids
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(doc: dict[str, Any]) -> str:
    """Serialise ``doc`` (nested dicts; arrays of dicts become ``[[array.of.tables]]``)."""
    lines: list[str] = []
    _table(doc, [], lines)
    return "\n".join(lines).strip() + "\n"


def _table(doc: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict) and not _is_table_array(v)}
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in doc.items():
        if isinstance(v, dict):
            sub = [*path, k]
            lines.append("")
            lines.append(f"[{'.'.join(_key(p) for p in sub)}]")
            _table(v, sub, lines)
    for k, v in doc.items():
        if _is_table_array(v):
            sub = [*path, k]
            for item in v:
                lines.append("")
                lines.append(f"[[{'.'.join(_key(p) for p in sub)}]]")
                _table(item, sub, lines)
