"""Truth tables of the logic gates the seed tutorials learn: AND, OR, NAND, NOT and XOR.

Inputs are float64 rows in the fixed order ``(0,0), (0,1), (1,0), (1,1)`` (``0, 1`` for NOT), so
the debugger always shows sample ``n`` as the same input; targets are int64 class labels 0/1.
"""

from __future__ import annotations

import numpy as np

#: Output column of each gate, in the input order above.
_TRUTH_TABLES: dict[str, tuple[int, ...]] = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "xor": (0, 1, 1, 0),
    "not": (1, 0),
}

GATE_NAMES: tuple[str, ...] = tuple(_TRUTH_TABLES)


def gate_data(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The four (two for ``"not"``) samples of a gate: ``x`` float64 ``(4, 2)`` / ``(2, 1)`` and
    ``t`` int64 ``(4,)`` / ``(2,)``. Fresh arrays on every call (safe to modify).

    An unknown name is a programming error (the scenario layer validates names first): ValueError.
    """
    key = name.lower()
    if key not in _TRUTH_TABLES:
        raise ValueError(f"unknown gate {name!r}; expected one of {', '.join(GATE_NAMES)}")
    if key == "not":
        x = np.array([[0.0], [1.0]], dtype=np.float64)
    else:
        x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=np.float64)
    t = np.array(_TRUTH_TABLES[key], dtype=np.int64)
    return x, t
