"""Where the built-in scenarios and data live.

In a wheel they are packaged under ``backprop_tui/_builtin/`` (see ``force-include`` in
pyproject.toml); in a source checkout (editable install, tests) they are the top-level
``scenarios/`` and ``assets/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def builtin_dir(kind: str) -> Path:
    """The folder of built-in ``"scenarios"`` or ``"assets"``."""
    if kind not in ("scenarios", "assets"):
        raise ValueError(kind)
    packaged = _PACKAGE / "_builtin" / kind
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / kind


def scenarios_dir() -> Path:
    return builtin_dir("scenarios")


def assets_dir() -> Path:
    return builtin_dir("assets")
