"""What the steps of the sequence produce, and why a run stopped: the records a debugger draws.

:class:`StepRecord` is one step's tensors by name; :func:`nonfinite_names` says which of them
hold NaN or Inf, with :func:`count_nonfinite`, the one NaN/Inf detector that the stepper and the
trainer's localisation share.

This module imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

Phase = Literal["forward", "loss", "backward", "update"]


@dataclass(eq=False)
class StepRecord:
    """What one step consumed and produced.

    ``input``/``output`` by phase:

    * ``forward``  — the layer's input ``x`` and output ``y``;
    * ``loss``     — the network's output (scores) and ``dL/dscores``, the gradient that enters
      the backward pass; ``target`` is the batch's ``t``;
    * ``backward`` — the incoming ``dout`` and the layer's input gradient ``dx``;
    * ``update``   — None and None.

    ``params`` and ``grads`` are copies (the optimizer updates parameters in place); ``input``,
    ``output`` and ``cache`` are the engine's own arrays, which every later forward or backward
    pass replaces rather than modifies. For layer steps ``params``/``grads``/``buffers`` are keyed
    by the parameter's name (``W``, ``b``); for the update step by ``layer.param``, with
    ``params`` the values after the update, ``grads`` the gradients used and ``deltas`` the change
    (after − before). ``grads`` is empty for forward steps (the layer has no gradient yet).
    """

    index: int  #: global step index: ``iteration · steps_per_iteration + position``
    iteration: int
    position: int  #: position of this step in the iteration (0-based)
    phase: Phase
    layer_index: int | None
    layer_name: str | None
    input: np.ndarray | None = None
    output: np.ndarray | None = None
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    deltas: dict[str, np.ndarray] = field(default_factory=dict)
    target: np.ndarray | None = None
    loss: float | None = None
    data_loss: float | None = None
    l2_loss: float | None = None
    accuracy: float | None = None
    #: names of the tensors above that hold NaN or Inf: ``input``, ``output``, ``cache.mask``,
    #: ``params.W``, ``grads.W``, ``buffers.running_var``, ``deltas.affine1.W``, ``loss`` …
    nonfinite: tuple[str, ...] = ()

    def tensors(self) -> dict[str, np.ndarray]:
        """Every tensor of the record under the names used in :attr:`nonfinite`."""
        out: dict[str, np.ndarray] = {}
        if self.input is not None:
            out["input"] = self.input
        if self.output is not None:
            out["output"] = self.output
        if self.target is not None:
            out["target"] = self.target
        for prefix, store in (
            ("cache", self.cache),
            ("params", self.params),
            ("grads", self.grads),
            ("buffers", self.buffers),
            ("deltas", self.deltas),
        ):
            for k, v in store.items():
                out[f"{prefix}.{k}"] = v
        return out


class LossPoint(NamedTuple):
    """One completed loss step: the iteration, its loss (data + L2) and the batch accuracy."""

    iteration: int
    loss: float
    accuracy: float


@dataclass(frozen=True)
class StopReason:
    """Why a run stopped.

    ``kind`` is ``"breakpoint"`` (the next step has a breakpoint), ``"condition"`` (a condition
    fired on the last step: ``name`` says which, ``message`` what it saw), ``"max_steps"``,
    ``"cancelled"``, ``"done"`` (the requested position was reached) or ``"nothing"`` (there was
    nothing to do, e.g. finishing a forward pass that is already finished).
    """

    kind: Literal["breakpoint", "condition", "max_steps", "cancelled", "done", "nothing"]
    message: str
    steps: int
    name: str | None = None
    record: StepRecord | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class BackResult:
    """Outcome of :meth:`Stepper.back`; false (with a ``reason``) when it could not go back."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class TrainStepsResult:
    """Outcome of :meth:`Stepper.train`: iterations completed, the last loss, and why it stopped
    (``"done"``, ``"cancelled"`` or ``"nonfinite"`` — the loss became NaN or Inf)."""

    iterations: int
    loss: float | None
    reason: Literal["done", "cancelled", "nonfinite"]


def count_nonfinite(a: np.ndarray) -> tuple[int, str] | None:
    """``(entries, "NaN" | "Inf" | "NaN/Inf")`` if the float array ``a`` holds NaN or ±Inf,
    else None (also for integer and boolean arrays, which cannot)."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return None
    nan = bool(np.isnan(a).any())
    inf = bool(np.isinf(a).any())
    count = int((~np.isfinite(a)).sum())
    return count, ("NaN/Inf" if nan and inf else ("NaN" if nan else "Inf"))


def nonfinite_names(rec: StepRecord) -> tuple[str, ...]:
    """The names (as in :meth:`StepRecord.tensors`) of the record's tensors that hold NaN or
    Inf, and ``loss`` if the loss is not finite."""
    names = [
        name
        for name, a in rec.tensors().items()
        if a.dtype.kind in "fc" and not np.isfinite(a).all()
    ]
    if rec.loss is not None and not math.isfinite(rec.loss):
        names.append("loss")
    return tuple(names)
