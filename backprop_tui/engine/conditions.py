"""Conditions to stop a run at: NaN/Inf, a failing gradient check, dead ReLUs, a large gradient.

A :class:`Condition` looks at the record of the step just taken (and the stepper, for context)
and returns a message when it fires; :meth:`Stepper.continue_` and :meth:`Stepper.run_until`
stop there.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .layers import ReLU
from .records import StepRecord

if TYPE_CHECKING:
    from .stepper import Stepper

#: a plain callable condition: ``(stepper, record) -> bool | str | None`` (a str is the message)
ConditionFn = Callable[["Stepper", StepRecord], Any]


class Condition:
    """Something to watch while running: :meth:`check` looks at the record of the step just
    taken and returns a message when the condition fires, else None."""

    name: str = "condition"

    def __init__(self) -> None:
        self.enabled = True

    def check(self, stepper: Stepper, record: StepRecord) -> str | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _layer_filter(layers: Iterable[int | str] | None) -> frozenset[int | str] | None:
    return None if layers is None else frozenset(layers)


def _selected(record: StepRecord, layers: frozenset[int | str] | None) -> bool:
    if record.layer_index is None:
        return False
    return layers is None or record.layer_index in layers or record.layer_name in layers


class NonFinite(Condition):
    """Fires when a step produces NaN or Inf in any of its tensors (or its loss)."""

    name = "nan/inf"

    def check(self, stepper: Stepper, record: StepRecord) -> str | None:
        if not record.nonfinite:
            return None
        return (
            f"NaN/Inf at {stepper.describe_step(record.position)}: "
            + ", ".join(record.nonfinite)
        )


class GradcheckFails(Condition):
    """Fires when a gradient check of a layer fails, right after that layer's backward step.

    ``check(stepper, record)`` runs the check (for example the engine's ``gradcheck`` on
    ``stepper.net`` and ``stepper.batch``, restricted to ``record.layer_name``) and returns a
    bool (True = passed) or an object with a ``passed`` attribute, such as a gradcheck report.
    It must leave the network as it found it (``gradcheck`` works on a copy by default);
    otherwise call :meth:`Stepper.resync` in it. ``layers`` (names or indices) limits the check.
    """

    name = "gradcheck"

    def __init__(
        self,
        check: Callable[[Stepper, StepRecord], Any],
        layers: Iterable[int | str] | None = None,
    ) -> None:
        super().__init__()
        self.fn = check
        self.layers = _layer_filter(layers)
        self.last_result: Any = None

    def check(self, stepper: Stepper, record: StepRecord) -> str | None:
        if record.phase != "backward" or not _selected(record, self.layers):
            return None
        result = self.fn(stepper, record)
        self.last_result = result
        if isinstance(result, bool | np.bool_):
            passed = bool(result)
        else:
            passed = getattr(result, "passed", result)
        if passed:
            return None
        return f"gradient check failed at {stepper.describe_step(record.position)}"


def dead_mask(mask: np.ndarray) -> np.ndarray:
    """THE definition of a dead unit: its ReLU mask (``x ≤ 0``) is set for every sample of the
    batch, so it passed no signal, and passes no gradient, on this batch. One boolean per unit
    (per entry of a sample's shape: a unit of a conv feature map is one position of one
    channel); all False for an empty batch."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 0 or mask.shape[0] == 0:
        return np.zeros(mask.shape[1:], dtype=bool)
    return mask.all(axis=0)


def dead_fraction(mask: np.ndarray) -> float:
    """Fraction of the units that are dead on this batch (:func:`dead_mask`)."""
    dead = dead_mask(mask)
    return float(dead.mean()) if dead.size else 0.0


class DeadReLU(Condition):
    """Fires after the forward step of a ReLU layer whose :func:`dead_fraction` exceeds
    ``threshold`` (a fraction in [0, 1])."""

    name = "dead relu"

    def __init__(self, threshold: float = 0.5, layers: Iterable[int | str] | None = None) -> None:
        super().__init__()
        self.threshold = float(threshold)
        self.layers = _layer_filter(layers)

    def check(self, stepper: Stepper, record: StepRecord) -> str | None:
        if record.phase != "forward" or not _selected(record, self.layers):
            return None
        if not isinstance(stepper.net.layers[record.layer_index], ReLU):
            return None
        mask = record.cache.get("mask")
        if mask is None:
            return None
        frac = dead_fraction(mask)
        if frac <= self.threshold:
            return None
        return (
            f"{frac:.0%} of the units of {record.layer_name} are dead on this batch "
            f"(threshold {self.threshold:.0%})"
        )


class GradNorm(Condition):
    """Fires after a backward step in which the L2 norm of a parameter gradient (and, with
    ``include_input``, of the input gradient ``dx``) exceeds ``threshold``. A NaN norm counts
    as exceeding it: the gradient has certainly exploded."""

    name = "grad norm"

    def __init__(
        self,
        threshold: float,
        layers: Iterable[int | str] | None = None,
        *,
        include_input: bool = False,
    ) -> None:
        super().__init__()
        self.threshold = float(threshold)
        self.layers = _layer_filter(layers)
        self.include_input = include_input

    def check(self, stepper: Stepper, record: StepRecord) -> str | None:
        if record.phase != "backward" or not _selected(record, self.layers):
            return None
        tensors = {f"d{k}": g for k, g in record.grads.items()}
        if self.include_input and record.output is not None:
            tensors["dx"] = record.output
        for name, g in tensors.items():
            norm = float(np.linalg.norm(g.astype(np.float64, copy=False).ravel()))
            if not norm <= self.threshold:
                return (
                    f"‖{name}‖ = {norm:.3g} > {self.threshold:g} at "
                    f"{stepper.describe_step(record.position)}"
                )
        return None


class Predicate(Condition):
    """Wraps a callable ``(stepper, record) -> bool | str | None`` as a condition."""

    def __init__(self, fn: Callable[[Stepper, StepRecord], Any], name: str = "predicate") -> None:
        super().__init__()
        self.fn = fn
        self.name = name

    def check(self, stepper: Stepper, record: StepRecord) -> str | None:
        result = self.fn(stepper, record)
        if not result:
            return None
        return result if isinstance(result, str) else f"{self.name} at {record.phase}"
