"""The command line's numbers, checked in one place: every numeric option has a rule, and a
value outside it is one :class:`~backprop_tui.errors.UsageError` (exit 2) naming the option, the
value and what was expected.

Typer parses ``--tol inf`` and ``--min-accuracy nan`` as floats without complaint; a NaN compares
false with everything, so an unchecked ``--min-accuracy nan`` never fails a run and ``--tol inf``
passes every gradient. Every rule for a float therefore requires a finite number.

UI-free: the standard library and the package's errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class Rule:
    """What a value must be: ``problem`` and ``expected`` are the message's words."""

    ok: Callable[[float], bool]
    problem: str
    expected: str


def _finite(check: Callable[[float], bool]) -> Callable[[float], bool]:
    return lambda v: math.isfinite(v) and check(v)


POSITIVE = Rule(_finite(lambda v: v > 0), "must be a positive number", "a finite number > 0")
#: a finite-difference step: centered differences need a small one
STEP = Rule(_finite(lambda v: 0 < v < 1), "must be a positive number below 1",
            "a small finite step, 0 < h < 1 (the default is 1e-5)")
#: a relative error is at most 2 (opposite signs), so a tolerance of 1 or more passes anything
REL_TOL = Rule(_finite(lambda v: 0 < v < 1), "must be a positive number below 1",
               "a relative tolerance 0 < tol < 1 (a relative error ≥ 1 would pass anything)")
FRACTION = Rule(_finite(lambda v: 0 <= v <= 1), "must be a fraction between 0 and 1",
                "a finite number in [0, 1] (0.95 means 95 %)")
POSITIVE_INT = Rule(lambda v: v >= 1, "must be a positive integer", "an integer ≥ 1")
COUNT = Rule(lambda v: v >= 0, "must be an integer ≥ 0", "an integer ≥ 0")
#: numpy seeds must be non-negative; JSON and checkpoints hold them as 64-bit integers
SEED = Rule(lambda v: 0 <= v < 2**63, "must be an integer ≥ 0", "an integer in [0, 2**63)")


def check_options(*options: tuple[str, float | int | None, Rule]) -> None:
    """Refuse the first ``(name, value, rule)`` whose value breaks its rule (None: not given)."""
    for name, value, rule in options:
        if value is not None and not rule.ok(value):
            raise UsageError(rule.problem, key=name, value=value, expected=rule.expected)
