"""The step sequence of training, one unit at a time — the debugger's engine, without any UI.

One iteration on one mini-batch is the sequence::

    forward L1 → … → forward Ln → loss → backward Ln → … → backward L1 → update

and :meth:`Stepper.step` performs exactly one unit of it, by calling the network's own
``forward_layer`` / ``compute_loss`` / ``backward_loss`` / ``backward_layer`` and the optimizer's
``step`` — no math is re-implemented here. Each step returns a :class:`StepRecord` with what the
step consumed and produced (named tensors), which is all a debugger needs to draw.

After the update the stepper sits in the state "iteration complete" (``position ==
len(steps)``); the next :meth:`~Stepper.step` draws the next batch and runs its first forward
step. The loss step also computes ``dL/dscores`` (``backward_loss``), the gradient that the
first backward step consumes; the backward step of the first layer computes its input gradient
too, because the debugger shows it (training never needs it).

**Stepping back** is exact, not approximate. At the start of each iteration the stepper takes a
snapshot — parameters, buffers (BatchNorm running statistics), optimizer state, the state of every
Dropout generator, the batch and the :class:`~backprop_tui.engine.batches.Batches` state. To step
back it restores the snapshot and replays the iteration to ``position − 1``; the engine is
deterministic, so the replay reproduces the same numbers bit for bit. Snapshots of earlier
iterations are kept in a ring bounded by ``history_bytes`` (array bytes, measured with
``nbytes``), so that stepping back also crosses iteration boundaries as far as the ring reaches;
beyond that :meth:`~Stepper.back` refuses and says why. The snapshot of the current iteration is
always kept, whatever the budget, and so is the initial one (for :meth:`~Stepper.reset`).

Invariants the callers may rely on:

* ``len(stepper.records) == stepper.position``: the records of the current iteration (after a
  fast :meth:`~Stepper.train` they are filled in by replay on first access);
* the same network, optimizer and batches (same seeds) give bit-identical numbers, and stepping
  through an iteration gives exactly the parameters of ``train(1)``;
* floating-point warnings are silenced inside the stepper: NaN and Inf are data here, reported by
  name in :attr:`StepRecord.nonfinite` and by the :class:`NonFinite` condition.

The network is put in training mode. The stepper is not thread-safe: a UI that runs
:meth:`~Stepper.train` or :meth:`~Stepper.run_until` in a worker must not step meanwhile, and
anything else that runs the network (a gradient check working in place) must be followed by
:meth:`~Stepper.resync`.

This module imports numpy only.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from .batches import Batches
from .layers import ReLU
from .network import Network
from .optim import Optimizer

Phase = Literal["forward", "loss", "backward", "update"]
Step = tuple[str, int | None]
#: a plain callable condition: ``(stepper, record) -> bool | str | None`` (a str is the message)
ConditionFn = Callable[["Stepper", "StepRecord"], Any]

DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_STEPS = 100_000


# -- when a layer's own code raises ------------------------------------------------------------
class LayerError(RuntimeError):
    """A layer's forward or backward (or the loss, or the optimizer) raised while stepping.

    The debugger runs code a user wrote (their own :class:`~backprop_tui.engine.layers.Layer`
    subclasses); a shape mistake there must become a message that names the layer, the step
    and the line — not a crash. The stepper's position is unchanged: the step did not happen
    (an optimizer that raised halfway may have updated some parameters).
    ``where`` is the innermost frame outside numpy (``mylayers.py:12 in backward``).
    """

    def __init__(self, what: str, error: BaseException) -> None:
        self.what = what
        self.error = error
        self.where = _where(error)
        super().__init__(f"{what} raised {describe_error(error, self.where)}")


def describe_error(error: BaseException, where: str | None = None) -> str:
    """``ValueError at mylayers.py:12 in backward: shapes (8,4) and (5,3) not aligned``
    (``where`` when the caller has already found it)."""
    where = _where(error) if where is None else where
    return f"{type(error).__name__}{' at ' + where if where else ''}: {error}"


def _where(error: BaseException) -> str:
    """``file.py:LINE in function`` of the innermost traceback frame that is not numpy's."""
    import os
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    numpy_dir = os.path.dirname(np.__file__)
    mine = [f for f in frames if not f.filename.startswith(numpy_dir)]
    if not mine:
        return ""
    f = mine[-1]
    return f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}"


# -- what a step produces ----------------------------------------------------------------------
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
class TrainResult:
    """Outcome of :meth:`Stepper.train`: iterations completed, the last loss, and why it stopped
    (``"done"``, ``"cancelled"`` or ``"nonfinite"`` — the loss became NaN or Inf)."""

    iterations: int
    loss: float | None
    reason: Literal["done", "cancelled", "nonfinite"]


# -- conditions --------------------------------------------------------------------------------
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


def dead_fraction(mask: np.ndarray) -> float:
    """Fraction of units whose ReLU mask (``x ≤ 0``) is set for every sample of the batch:
    units that passed no signal, and so pass no gradient, on this batch."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 0 or mask.shape[0] == 0:
        return 0.0
    return float(mask.all(axis=0).mean())


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


# -- snapshots ---------------------------------------------------------------------------------
class _Snapshot:
    """Everything needed to redo one iteration from its start. Never modified once taken."""

    __slots__ = (
        "iteration", "params", "buffers", "opt_state", "rng_states", "global_rng",
        "batches_state", "x", "t", "batch_epoch", "batch_index", "history_len", "nbytes",
    )

    def __init__(self, stepper: Stepper, reuse: _Snapshot | None = None) -> None:
        """Take a snapshot; ``reuse`` is a dead snapshot whose arrays may be overwritten (to
        spare :meth:`Stepper.train` an allocation per iteration)."""
        net = stepper.net
        self.iteration = stepper.iteration
        self.params = _copies(
            ((f"{layer.name}.{k}", p) for layer in net.layers for k, p in layer.params.items()),
            reuse.params if reuse else None,
        )
        self.buffers = _copies(
            ((f"{layer.name}.{k}", b) for layer in net.layers for k, b in layer.buffers.items()),
            reuse.buffers if reuse else None,
        )
        opt = stepper.optimizer
        if reuse is not None and type(opt).state_dict is Optimizer.state_dict:
            # the base class's state_dict is {state…, "__t__": t}: same, minus the allocations
            self.opt_state = _copies(opt.state.items(), reuse.opt_state)
            self.opt_state["__t__"] = np.array(opt.t, dtype=np.int64)
        else:
            self.opt_state = opt.state_dict()
        self.rng_states = [copy.deepcopy(g.bit_generator.state) for g in stepper._generators]
        # numpy's global generator too: layers written the book's way draw their Dropout masks
        # from np.random, and step back must replay the same masks
        self.global_rng = np.random.get_state()  # noqa: NPY002 - that is the point
        self.batches_state = stepper.batches.state()
        self.x, self.t = stepper._x, stepper._t
        self.batch_epoch, self.batch_index = stepper.batch_epoch, stepper.batch_index
        self.history_len = len(stepper.loss_history)
        arrays = [*self.params.values(), *self.buffers.values(), *self.opt_state.values()]
        self.nbytes = int(sum(a.nbytes for a in arrays) + self.x.nbytes + self.t.nbytes)


def _copies(
    items: Iterable[tuple[str, np.ndarray]], reuse: dict[str, np.ndarray] | None
) -> dict[str, np.ndarray]:
    """Copies of ``items``, written into ``reuse``'s arrays where shape and dtype allow."""
    out = {}
    for key, a in items:
        old = reuse.get(key) if reuse else None
        if old is not None and old.shape == a.shape and old.dtype == a.dtype:
            np.copyto(old, a)
            out[key] = old
        else:
            out[key] = a.copy()
    return out


# -- the stepper -------------------------------------------------------------------------------
class Stepper:
    """Walks ``net`` through training iterations on ``batches`` one step at a time.

    The first batch is drawn at construction, so that position 0 (nothing computed yet) already
    shows the batch. ``history_bytes`` bounds the bytes of iteration snapshots kept for stepping
    back across iterations (the current iteration's snapshot is kept regardless).
    """

    def __init__(
        self,
        net: Network,
        optimizer: Optimizer,
        batches: Batches,
        *,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
    ) -> None:
        self.net = net
        self.optimizer = optimizer
        self.batches = batches
        self.history_bytes = int(history_bytes)
        net.train(True)
        n = len(net.layers)
        #: the planned sequence of one iteration: ``(phase, layer_index)``
        self.steps: list[Step] = (
            [("forward", i) for i in range(n)]
            + [("loss", None)]
            + [("backward", i) for i in range(n - 1, -1, -1)]
            + [("update", None)]
        )
        gens: dict[int, np.random.Generator] = {}
        for layer in net.layers:
            rng = getattr(layer, "rng", None)
            if isinstance(rng, np.random.Generator):
                gens.setdefault(id(rng), rng)
        self._generators = list(gens.values())
        #: one point per completed loss step
        self.loss_history: list[LossPoint] = []
        #: conditions checked by :meth:`continue_`
        self.conditions: list[Condition] = []
        self._breakpoints: set[tuple[str, int]] = set()
        self._ring: deque[_Snapshot] = deque()
        self._records: list[StepRecord] = []
        self._floor_cause = ""
        self.iteration = 0
        self.position = 0
        self.batch_epoch = 0
        self.batch_index = 0
        self._x: np.ndarray = np.empty(0)
        self._t: np.ndarray = np.empty(0)
        self._h: np.ndarray | None = None  # output of the last forward step
        self._dout: np.ndarray | None = None  # gradient entering the next backward step
        self._begin_iteration(0)
        self._initial = self._ring[-1]

    # -- where we are -------------------------------------------------------------------------
    @property
    def steps_per_iteration(self) -> int:
        return len(self.steps)

    @property
    def complete(self) -> bool:
        """True after the update: the iteration is complete."""
        return self.position >= len(self.steps)

    @property
    def upcoming(self) -> Step:
        """``(phase, layer_index)`` of the step :meth:`step` runs next (when the iteration is
        complete: the first forward step of the next one)."""
        return self.steps[0] if self.complete else self.steps[self.position]

    @property
    def phase(self) -> str:
        """Phase of the next step, or ``"complete"``."""
        return "complete" if self.complete else self.steps[self.position][0]

    def describe_step(self, position: int) -> str:
        """``forward L2 relu1``, ``loss``, ``backward L1 affine1``, ``update``."""
        phase, i = self.steps[position]
        if i is None:
            return phase
        return f"{phase} L{i + 1} {self.net.layers[i].name}"

    @property
    def next_step(self) -> str:
        """A description of the next step, for a status line."""
        if self.complete:
            return (
                f"iteration {self.iteration} complete; next: {self.describe_step(0)} "
                "on the next batch"
            )
        return self.describe_step(self.position)

    @property
    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The current batch ``(x, t)``, ``x`` in the network's dtype."""
        return self._x, self._t

    @property
    def records(self) -> list[StepRecord]:
        """Records of the steps taken so far in the current iteration (``position`` of them).

        Steps run without records (by :meth:`train`) are replayed, exactly, on first access.
        """
        if len(self._records) < self.position:
            self._goto(self.position)
        return self._records

    @property
    def last_record(self) -> StepRecord | None:
        recs = self.records
        return recs[-1] if recs else None

    def record_for(self, phase: str, layer_index: int | None = None) -> StepRecord | None:
        """The current iteration's record of ``(phase, layer_index)``, if that step was taken."""
        try:
            pos = self.steps.index((phase, layer_index))
        except ValueError:
            return None
        recs = self.records
        return recs[pos] if pos < len(recs) else None

    # -- history ------------------------------------------------------------------------------
    @property
    def history_nbytes(self) -> int:
        """Bytes held by the snapshot ring (the initial snapshot is kept besides, for reset)."""
        return sum(s.nbytes for s in self._ring)

    @property
    def history_iterations(self) -> int:
        """Number of iterations whose snapshot is in the ring (the current one included)."""
        return len(self._ring)

    def back_limit(self) -> int:
        """How many times :meth:`back` can succeed from here."""
        return self.position + (len(self.steps) + 1) * (len(self._ring) - 1)

    def _push(self, snap: _Snapshot) -> None:
        self._ring.append(snap)
        total = self.history_nbytes
        while len(self._ring) > 1 and total > self.history_bytes:
            total -= self._ring.popleft().nbytes
            self._floor_cause = (
                f"older snapshots were dropped to stay within history_bytes="
                f"{self.history_bytes:,}"
            )

    def _restore(self, snap: _Snapshot) -> None:
        """Put the network, optimizer, generators and batches back to ``snap`` (position 0)."""
        for layer in self.net.layers:
            for k, p in layer.params.items():
                p[...] = snap.params[f"{layer.name}.{k}"]  # in place: callers may hold p
            for k in layer.buffers:
                # rebound, as BatchNorm itself does: whoever holds the old array keeps it
                layer.buffers[k] = snap.buffers[f"{layer.name}.{k}"].copy()
        self.optimizer.load_state_dict(snap.opt_state)
        for g, state in zip(self._generators, snap.rng_states, strict=True):
            g.bit_generator.state = state
        np.random.set_state(snap.global_rng)  # noqa: NPY002
        self.batches.set_state(snap.batches_state)
        self._x, self._t = snap.x, snap.t
        self.batch_epoch, self.batch_index = snap.batch_epoch, snap.batch_index
        self.iteration = snap.iteration
        del self.loss_history[snap.history_len :]
        self.position = 0
        self._h = self._dout = None

    def _begin_iteration(self, iteration: int, *, push: bool = True) -> None:
        """Draw the next batch and start ``iteration`` at position 0 (snapshot unless told)."""
        x, t = self.batches.next()
        self.batch_epoch = self.batches.epoch
        self.batch_index = self.batches.position - 1
        self._x = np.asarray(x, dtype=self.net.dtype)
        self._t = t
        self.iteration = iteration
        self.position = 0
        self._records = []
        self._h = self._dout = None
        if push:
            self._push(_Snapshot(self))

    def _goto(self, position: int) -> None:
        """Restore the current iteration's snapshot and replay to ``position``, keeping the
        records already made (replay is exact, so they are what replay would make)."""
        keep = self._records[:position]
        self._restore(self._ring[-1])
        self._records = keep
        with np.errstate(all="ignore"):
            for pos in range(position):
                self._execute(pos, record=pos >= len(keep))

    # -- one step -----------------------------------------------------------------------------
    def _execute(self, pos: int, *, record: bool) -> StepRecord | None:
        try:
            return self._execute_step(pos, record=record)
        except Exception as e:
            phase, i = self.steps[pos]
            if i is not None:
                layer = self.net.layers[i]
                what = f"the {phase} step of layer {layer.name!r} ({layer.kind})"
            else:
                what = {"loss": "the loss step", "update": "the update step"}.get(phase, phase)
            raise LayerError(what, e) from e

    def _execute_step(self, pos: int, *, record: bool) -> StepRecord | None:
        net = self.net
        phase, i = self.steps[pos]
        rec: StepRecord | None = None
        if record:
            rec = StepRecord(
                index=self.iteration * len(self.steps) + pos,
                iteration=self.iteration,
                position=pos,
                phase=phase,  # type: ignore[arg-type]
                layer_index=i,
                layer_name=None if i is None else net.layers[i].name,
            )
        if phase == "forward":
            h = self._x if i == 0 else self._h
            out = net.forward_layer(i, h)
            check_returned(out, h, "forward", "y, its output")
            self._h = out
            if rec is not None:
                layer = net.layers[i]
                rec.input, rec.output = h, out
                rec.cache = _arrays(layer.cache)
                rec.params = {k: p.copy() for k, p in layer.params.items()}
                rec.buffers = {k: b.copy() for k, b in layer.buffers.items()}
        elif phase == "loss":
            scores = self._h
            loss = net.compute_loss(scores, self._t)
            dscores = net.backward_loss()
            self._dout = dscores
            lossl = net.loss_layer
            acc = float(np.mean(lossl.predict(scores) == lossl.labels(self._t)))
            self.loss_history.append(LossPoint(self.iteration, float(loss), acc))
            if rec is not None:
                rec.input, rec.output, rec.target = scores, dscores, self._t
                rec.cache = _arrays(lossl.cache)
                rec.loss, rec.accuracy = float(loss), acc
                rec.data_loss, rec.l2_loss = net.data_loss, net.l2_loss
        elif phase == "backward":
            dout = self._dout
            dx = net.backward_layer(i, dout, need_dx=True)
            check_returned(dx, dout, "backward", "dx, the gradient for its input")
            _check_grads(net.layers[i])
            self._dout = dx
            if rec is not None:
                layer = net.layers[i]
                rec.input, rec.output = dout, dx
                rec.cache = _arrays(layer.cache)
                rec.params = {k: p.copy() for k, p in layer.params.items()}
                rec.grads = {k: g.copy() for k, g in layer.grads.items()}
                rec.buffers = {k: b.copy() for k, b in layer.buffers.items()}
        else:  # update
            before: dict[str, np.ndarray] = {}
            if rec is not None:
                for layer in net.layers:
                    if layer.trainable:
                        for k, p in layer.params.items():
                            if k in layer.grads:
                                before[f"{layer.name}.{k}"] = p.copy()
            self.optimizer.step(net)
            if rec is not None:
                for layer in net.layers:
                    for k, p in layer.params.items():
                        key = f"{layer.name}.{k}"
                        if key in before:
                            rec.params[key] = p.copy()
                            rec.grads[key] = layer.grads[k].copy()
                            rec.deltas[key] = rec.params[key] - before[key]
        self.position = pos + 1
        if rec is not None:
            rec.nonfinite = _nonfinite(rec)
            self._records.append(rec)
        return rec

    def step(self) -> StepRecord:
        """Run the next step and return its record. When the iteration is complete, this first
        draws the next batch and starts the next iteration."""
        if self.complete:
            self._begin_iteration(self.iteration + 1)
        if len(self._records) < self.position:
            self._goto(self.position)
        with np.errstate(all="ignore"):
            rec = self._execute(self.position, record=True)
        assert rec is not None
        return rec

    # -- going back ---------------------------------------------------------------------------
    def _no_history_reason(self) -> str:
        if self._ring[-1].iteration == 0 or not self._floor_cause:
            return "at the start of the first iteration: there is no earlier step"
        return f"no snapshot of iteration {self.iteration - 1} is kept: {self._floor_cause}"

    def back(self) -> BackResult:
        """Undo the last step, exactly: restore the iteration's snapshot and replay to
        ``position − 1``. From position 0 it returns to the completed previous iteration, if
        that iteration's snapshot is still in the ring. Refuses (state untouched) otherwise."""
        if self.position > 0:
            self._goto(self.position - 1)
            return BackResult(True)
        if len(self._ring) < 2:
            return BackResult(False, self._no_history_reason())
        self._ring.pop()
        self._restore(self._ring[-1])
        self._records = []
        with np.errstate(all="ignore"):
            for pos in range(len(self.steps)):
                self._execute(pos, record=True)
        return BackResult(True)

    def resync(self) -> None:
        """Recompute the live state (caches, activations, gradients) for the current position
        by replay — after anything else ran the network in place."""
        self._goto(self.position)

    # -- running ------------------------------------------------------------------------------
    def _run_while(self, keep_going: Callable[[], bool], what: str) -> StopReason:
        """Step while ``keep_going()``; from "iteration complete" the first step (which starts
        the next iteration) is always taken, so that the request applies to the next one."""
        steps = 0
        rec = None
        if self.complete:
            rec = self.step()
            steps += 1
        while keep_going():
            rec = self.step()
            steps += 1
        if steps == 0:
            return StopReason("nothing", f"{what} already: next {self.next_step}", 0)
        return StopReason("done", f"{what}: next {self.next_step}", steps, record=rec)

    def finish_forward(self) -> StopReason:
        """Run the rest of the forward pass (of the next iteration when this one is complete).
        Past the forward pass there is nothing to do (kind ``"nothing"``)."""
        return self._run_while(
            lambda: not self.complete and self.upcoming[0] == "forward", "forward finished"
        )

    def finish_backward(self) -> StopReason:
        """Run up to the update: the rest of the forward pass if needed, the loss and the
        backward pass (of the next iteration when this one is complete)."""
        last = len(self.steps) - 1
        return self._run_while(lambda: self.position < last, "backward finished")

    def run_to_phase_end(self) -> StopReason:
        """Finish the phase of the next step: the forward pass, the loss step, the backward pass
        or the update. When the iteration is complete: the next iteration's forward pass."""
        phase = self.upcoming[0]
        if phase == "forward":
            return self.finish_forward()
        if phase == "backward":
            return self.finish_backward()
        rec = self.step()
        return StopReason("done", f"{phase} done: next {self.next_step}", 1, record=rec)

    def run_iteration_end(self) -> StopReason:
        """Run to "iteration complete" (the update applied); when the iteration is already
        complete, run the whole next one."""
        return self._run_while(lambda: not self.complete, "iteration complete")

    def update(self) -> StopReason:
        """Run until the update has been applied (the same as :meth:`run_iteration_end`:
        exactly one update is applied, that of this iteration or, if complete, of the next)."""
        return self.run_iteration_end()

    def next_batch(self) -> None:
        """Abandon the current iteration: restore its start (parameters untouched by it), take
        the next batch, and stand at position 0. When complete, simply start the next one."""
        if self.complete:
            self._begin_iteration(self.iteration + 1)
            return
        self._restore(self._ring.pop())
        self._begin_iteration(self.iteration)

    def reset(self) -> None:
        """Back to the initial weights, optimizer state, generators and first batch."""
        self._ring.clear()
        self._restore(self._initial)
        self._ring.append(self._initial)
        self._records = []
        self._floor_cause = ""

    def _run(
        self,
        conditions: list[Condition],
        *,
        breakpoints: bool,
        max_steps: int,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> StopReason:
        steps = 0
        rec: StepRecord | None = None
        while True:
            if breakpoints and steps > 0 and self._at_breakpoint():
                where = self.describe_step(0 if self.complete else self.position)
                return StopReason("breakpoint", f"breakpoint before {where}", steps,
                                  name=where, record=rec)
            if steps >= max_steps:
                return StopReason("max_steps", f"stopped after {steps} steps (max_steps)",
                                  steps, record=rec)
            if cancelled is not None and cancelled():
                return StopReason("cancelled", f"cancelled after {steps} steps", steps, record=rec)
            rec = self.step()
            steps += 1
            if progress is not None:
                progress(steps, max_steps)
            for cond in conditions:
                if not cond.enabled:
                    continue
                msg = cond.check(self, rec)
                if msg:
                    return StopReason("condition", msg, steps, name=cond.name, record=rec)

    def run_until(
        self,
        condition: Condition | ConditionFn | list[Condition | ConditionFn]
        | tuple[Condition | ConditionFn, ...],
        max_steps: int = DEFAULT_MAX_STEPS,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> StopReason:
        """Step until ``condition`` fires after a step (at least one step is taken), or
        ``max_steps`` steps were taken, or ``cancelled()`` returns true (checked before each
        step). ``condition`` is a :class:`Condition`, a callable ``(stepper, record) -> bool |
        str | None``, or a list of them. Breakpoints are not consulted; see :meth:`continue_`.
        ``progress(steps, max_steps)`` is called after each step."""
        items = list(condition) if isinstance(condition, list | tuple) else [condition]
        conds = [c if isinstance(c, Condition) else Predicate(c) for c in items]
        return self._run(conds, breakpoints=False, max_steps=max_steps, progress=progress,
                         cancelled=cancelled)

    def continue_(
        self,
        max_steps: int = DEFAULT_MAX_STEPS,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> StopReason:
        """Step until the next step has a breakpoint (after at least one step) or one of
        :attr:`conditions` fires, bounded by ``max_steps`` and ``cancelled``."""
        return self._run(list(self.conditions), breakpoints=True, max_steps=max_steps,
                         progress=progress, cancelled=cancelled)

    # -- breakpoints --------------------------------------------------------------------------
    def _layer_index(self, layer: int | str) -> int:
        if isinstance(layer, str):
            return self.net.index(layer)
        i = int(layer)
        if not 0 <= i < len(self.net.layers):
            raise IndexError(f"no layer {i}: the network has {len(self.net.layers)}")
        return i

    @staticmethod
    def _phases(phase: str) -> tuple[str, ...]:
        if phase == "both":
            return ("forward", "backward")
        if phase not in ("forward", "backward"):
            raise ValueError(f"breakpoint phase must be forward, backward or both, not {phase!r}")
        return (phase,)

    def add_breakpoint(self, layer: int | str, phase: str = "both") -> None:
        """Stop :meth:`continue_` before the forward and/or backward step of ``layer``."""
        i = self._layer_index(layer)
        for ph in self._phases(phase):
            self._breakpoints.add((ph, i))

    def remove_breakpoint(self, layer: int | str, phase: str = "both") -> None:
        i = self._layer_index(layer)
        for ph in self._phases(phase):
            self._breakpoints.discard((ph, i))

    def toggle_breakpoint(self, layer: int | str, phase: str = "both") -> bool:
        """Remove the breakpoint(s) if any is set, else add them; returns whether one is set."""
        i = self._layer_index(layer)
        if any((ph, i) in self._breakpoints for ph in self._phases(phase)):
            self.remove_breakpoint(i, phase)
            return False
        self.add_breakpoint(i, phase)
        return True

    def clear_breakpoints(self) -> None:
        self._breakpoints.clear()

    @property
    def breakpoints(self) -> frozenset[tuple[str, int]]:
        """The set ``(phase, layer_index)`` of breakpoints."""
        return frozenset(self._breakpoints)

    def _at_breakpoint(self) -> bool:
        phase, i = self.upcoming
        return i is not None and (phase, i) in self._breakpoints

    # -- fast training ------------------------------------------------------------------------
    def train(
        self,
        k: int,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        *,
        stop_on_nonfinite: bool = True,
    ) -> TrainResult:
        """Run ``k`` iterations fast: no records, no per-step copies. A partly done iteration
        counts as the first of the ``k`` and is finished. ``cancelled()`` is checked and
        ``progress(done, k)`` called between iterations. Ends in state "iteration complete",
        with the snapshot of the last iteration taken so that :meth:`back` works from there
        (older history is dropped when more than one iteration ran).

        If a layer raises, the iteration is replayed step by step from its snapshot, which
        raises a :class:`LayerError` naming the layer (the fast path runs whole-network
        methods and cannot say which), and leaves the stepper just before that step."""
        try:
            return self._train(k, progress, cancelled, stop_on_nonfinite)
        except LayerError:
            raise
        except Exception:
            if self._ring and self._ring[-1].iteration == self.iteration:
                self._records = []
                self._goto(len(self.steps))  # deterministic: raises again, at the layer
            raise

    def _train(
        self,
        k: int,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
        stop_on_nonfinite: bool,
    ) -> TrainResult:
        L = len(self.steps)
        done = 0
        last: float | None = None
        reason: Literal["done", "cancelled", "nonfinite"] = "done"
        fresh: _Snapshot | None = None
        spare: _Snapshot | None = None  # the snapshot before `fresh`: dead, its arrays reusable
        try:
            with np.errstate(all="ignore"):
                while done < k:
                    if cancelled is not None and cancelled():
                        reason = "cancelled"
                        break
                    if self.complete:
                        self._begin_iteration(self.iteration + 1, push=False)
                        fresh, spare = _Snapshot(self, reuse=spare), fresh
                    if self.position == 0:
                        self._fast_iteration()
                    else:
                        for pos in range(self.position, L):
                            self._execute(pos, record=False)
                    last = self.loss_history[-1].loss
                    done += 1
                    if progress is not None:
                        progress(done, k)
                    if stop_on_nonfinite and not math.isfinite(last):
                        reason = "nonfinite"
                        break
        finally:
            if fresh is not None:
                self._ring.clear()
                self._floor_cause = "train() keeps a snapshot of its last iteration only"
                self._push(fresh)
        return TrainResult(done, last, reason)

    def _fast_iteration(self) -> None:
        """One whole iteration with the network's batch methods (same arithmetic as stepping)."""
        net = self.net
        scores = net.forward_from(0, self._x)
        loss = net.compute_loss(scores, self._t)
        lossl = net.loss_layer
        acc = float(np.mean(lossl.predict(scores) == lossl.labels(self._t)))
        self.loss_history.append(LossPoint(self.iteration, float(loss), acc))
        net.backward(need_input_grad=False)
        self.optimizer.step(net)
        self.position = len(self.steps)

    def __repr__(self) -> str:
        return (
            f"<Stepper iteration={self.iteration} position={self.position}/{len(self.steps)} "
            f"next={self.next_step!r}>"
        )


def check_returned(a: Any, given: np.ndarray, method: str, what: str) -> None:
    """A layer's forward/backward must return an array with one row per sample: a missing
    ``return`` would otherwise surface as a puzzling error in the *next* layer."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{method} returned {type(a).__name__}; it must return {what} "
                        f"(an array with one row per sample)")
    if a.ndim == 0 or len(a) != len(given):
        raise ValueError(f"{method} returned an array of shape {a.shape} for {len(given)} "
                         f"samples; it must return {what} with one row per sample")


def _check_grads(layer: Any) -> None:
    """After backward, ``grads`` has every key of ``params`` with the same shape (else the
    update would fail later with a bare KeyError, far from the cause)."""
    if not layer.trainable:
        return
    for k, p in layer.params.items():
        g = layer.grads.get(k)
        if g is None:
            raise ValueError(f"backward set no grads[{k!r}]: every key of params needs its "
                             f"gradient in grads, of the same shape {p.shape}")
        if np.shape(g) != p.shape:
            raise ValueError(f"grads[{k!r}] has shape {np.shape(g)} but params[{k!r}] has "
                             f"shape {p.shape}")


def _arrays(cache: dict[str, Any]) -> dict[str, np.ndarray]:
    """The cached tensors of a step, as arrays: a layer of a user's own may also cache plain
    numbers or shapes (``self.cache["shape"] = x.shape``), shown as small arrays; anything that
    is not numeric (a string, None, an object) is not a tensor and is left out."""
    out: dict[str, np.ndarray] = {}
    for k, v in cache.items():
        if isinstance(v, np.ndarray):
            out[k] = v
            continue
        try:
            a = np.asarray(v)
        except Exception:  # noqa: BLE001 - e.g. ragged nested lists: not a tensor
            continue
        if a.dtype.kind in "biuf" and a.size:
            out[k] = a
    return out


def _nonfinite(rec: StepRecord) -> tuple[str, ...]:
    names = [
        name
        for name, a in rec.tensors().items()
        if a.dtype.kind in "fc" and not np.isfinite(a).all()
    ]
    if rec.loss is not None and not math.isfinite(rec.loss):
        names.append("loss")
    return tuple(names)
