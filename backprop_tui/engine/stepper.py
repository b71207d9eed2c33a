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
from typing import Literal

import numpy as np

from .batches import Batches
from .conditions import Condition, ConditionFn, Predicate
from .contract import LayerError, cached_arrays
from .network import Network
from .optim import Optimizer
from .records import (
    BackResult,
    LossPoint,
    StepRecord,
    StopReason,
    TrainStepsResult,
    nonfinite_names,
)
from .walk import Step, Walk, batch_accuracy

DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_STEPS = 100_000


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
        self.x, self.t = stepper.walk.x, stepper.walk.t
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
        #: walks the units of the current batch (and holds it: ``walk.x``, ``walk.t``)
        self.walk = Walk(net, optimizer)
        #: the planned sequence of one iteration: ``(phase, layer_index)``
        self.steps: list[Step] = self.walk.steps
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
        return self.walk.x, self.walk.t

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

    def state_before_update(self) -> dict[str, dict[str, np.ndarray]] | None:
        """The parameters and optimizer state the current iteration's update starts (or
        started) from — its snapshot, ``{"params": {"affine1.W": …}, "state":
        optimizer.state_dict()}``, the ``before`` that ``explain`` of the update takes. Never
        modify them. None when this iteration's snapshot is not kept."""
        snap = self._ring[-1] if self._ring else None
        if snap is None or snap.iteration != self.iteration:
            return None
        return {"params": snap.params, "state": snap.opt_state}

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
        self.walk.start(snap.x, snap.t)
        self.batch_epoch, self.batch_index = snap.batch_epoch, snap.batch_index
        self.iteration = snap.iteration
        del self.loss_history[snap.history_len :]
        self.position = 0

    def _begin_iteration(self, iteration: int, *, push: bool = True) -> None:
        """Draw the next batch and start ``iteration`` at position 0 (snapshot unless told)."""
        x, t = self.batches.next()
        self.batch_epoch = self.batches.epoch
        self.batch_index = self.batches.position - 1
        self.walk.start(np.asarray(x, dtype=self.net.dtype), t)
        self.iteration = iteration
        self.position = 0
        self._records = []
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
        """Run unit ``pos`` of the walk; with ``record``, keep what it consumed and produced."""
        phase, i = self.steps[pos]
        before = self._trained_params() if record and phase == "update" else {}
        unit = self.walk.run(pos)
        if phase == "loss":
            self.loss_history.append(LossPoint(self.iteration, unit.loss, unit.accuracy))
        self.position = pos + 1
        if not record:
            return None
        rec = StepRecord(
            index=self.iteration * len(self.steps) + pos,
            iteration=self.iteration,
            position=pos,
            phase=phase,  # type: ignore[arg-type]
            layer_index=i,
            layer_name=None if i is None else self.net.layers[i].name,
            input=unit.input,
            output=unit.output,
        )
        if phase == "loss":
            net = self.net
            rec.target = self.walk.t
            rec.cache = cached_arrays(net.loss_layer.cache)
            rec.loss, rec.accuracy = unit.loss, unit.accuracy
            rec.data_loss, rec.l2_loss = net.data_loss, net.l2_loss
        elif phase == "update":
            for layer in self.net.layers:
                for k, p in layer.params.items():
                    key = f"{layer.name}.{k}"
                    if key in before:
                        rec.params[key] = p.copy()
                        rec.grads[key] = layer.grads[k].copy()
                        rec.deltas[key] = rec.params[key] - before[key]
        else:  # a layer's forward or backward: its state after the step
            layer = self.net.layers[i]
            rec.cache = cached_arrays(layer.cache)
            rec.params = {k: p.copy() for k, p in layer.params.items()}
            if phase == "backward":
                rec.grads = {k: g.copy() for k, g in layer.grads.items()}
            rec.buffers = {k: b.copy() for k, b in layer.buffers.items()}
        rec.nonfinite = nonfinite_names(rec)
        self._records.append(rec)
        return rec

    def _trained_params(self) -> dict[str, np.ndarray]:
        """Copies of the parameters the update will change, keyed ``layer.param``: those of
        trainable layers that have a gradient."""
        return {f"{layer.name}.{k}": p.copy()
                for layer in self.net.layers if layer.trainable
                for k, p in layer.params.items() if k in layer.grads}

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
    ) -> TrainStepsResult:
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
    ) -> TrainStepsResult:
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
        return TrainStepsResult(done, last, reason)

    def _fast_iteration(self) -> None:
        """One whole iteration with the network's batch methods (same arithmetic as stepping)."""
        net = self.net
        x, t = self.walk.x, self.walk.t
        scores = net.forward_from(0, x)
        loss = net.compute_loss(scores, t)
        self.loss_history.append(LossPoint(self.iteration, float(loss),
                                           batch_accuracy(net, scores, t)))
        net.backward(need_input_grad=False)
        self.optimizer.step(net)
        self.position = len(self.steps)

    def __repr__(self) -> str:
        return (
            f"<Stepper iteration={self.iteration} position={self.position}/{len(self.steps)} "
            f"next={self.next_step!r}>"
        )
