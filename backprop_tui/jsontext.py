"""JSON as the tool writes it (the CLI's --json, experiment files): UI-free, so the rooms that
write JSON without a terminal (experiments) use the same writer as the command line."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def json_text(doc: Any) -> str:
    """The one way the command line prints JSON: always valid JSON (``allow_nan=False``), so a
    script can parse it. A number that is undefined (NaN: the accuracy of a class with no
    samples, a loss of NaN data) or infinite has no JSON form and is ``null``; numpy scalars and
    arrays become plain numbers and lists."""
    return json.dumps(_json_ready(doc), indent=2, allow_nan=False)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
