"""The training loop, shared by the headless command and the TUI's live dashboard.

:class:`Trainer` runs iterations as fast as numpy allows and reports what happens as events
(:class:`EpochStart`, :class:`BatchEnd`, :class:`EpochEnd`, :class:`CheckpointSaved`,
:class:`NonFiniteFound`). It knows nothing about how they are shown: the headless command prints
rich progress bars or plain lines, the TUI draws charts.

Every iteration is exactly the engine's step sequence (``net.loss`` → ``net.backward`` →
``optimizer.step``), and everything that decides the next numbers — parameters, optimizer state,
the batch iterator's position and generator, Dropout generators, the running sums of the
current epoch — is saved in a checkpoint, so a resumed run is bit-identical to one that was
never interrupted. Numpy's global generator is part of that state too: the book's Dropout (and
other code of the user's) draws its masks from ``np.random``, so the trainer keeps its own copy
of the global state between runs and saves it in every checkpoint.

A trainer trains a :class:`RunSpec`: a :class:`~backprop_tui.scenario.Scenario`, or a network of
the user's own from a .py file (:class:`~backprop_tui.ownrun.NetworkFileRun`). Code of the user's
that raises stops training with a :class:`~backprop_tui.errors.TrainingError` naming the layer,
the step and the line, after saving the state from before the failed batch.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np

from . import __version__
from .blas import threads_for
from .checkpoint import Checkpoint, atomic_write, load_checkpoint, save_checkpoint
from .engine.batches import Batches
from .engine.contract import LayerError, check_grads
from .engine.health import HealthTracker
from .engine.network import Network
from .engine.optim import Optimizer
from .engine.records import count_nonfinite
from .engine.walk import Walk, locate_error
from .errors import (
    CheckpointError,
    DataError,
    RunFolderError,
    TrainingError,
    UsageError,
    UserError,
)
from .restore import (
    check_optimizer_state,
    check_train_state,
    history_rows,
    load_weights,
    numpy_global_state,
    saved_train,
)
from .safetext import safe_name

if TYPE_CHECKING:
    from .scenario import TrainSpec


class RunSpec(Protocol):
    """What the :class:`Trainer` trains: a :class:`~backprop_tui.scenario.Scenario` is one, and so
    is a network of the user's own from a .py file (:class:`~backprop_tui.ownrun.NetworkFileRun`).
    """

    name: str
    path: Path  #: the file the run comes from (a scenario's .toml, the user's .py)
    train: TrainSpec  #: optimizer, lr, batch size, epochs, seed, dtype

    @property
    def architecture(self) -> str: ...

    @property
    def param_count(self) -> int: ...

    def architecture_hash(self) -> str:
        """What a checkpoint of this run must match to be loaded into it."""
        ...

    def config(self) -> dict[str, Any]:
        """The resolved run as plain data (its ``train`` table is what a resume keeps)."""
        ...

    def rng(self, seed: int | None, stream: str) -> np.random.Generator: ...

    def epoch_lr(self, epoch: int) -> float: ...

    def build_network(self, seed: int | None = None, dtype: str | np.dtype = "float64"
                      ) -> Network: ...

    def build_optimizer(self) -> Optimizer: ...

    def load_data(self, data_dir: str | Path | None = None, dtype: str | np.dtype = "float64"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def with_train(self, **overrides: Any) -> RunSpec:
        """A copy with some training settings replaced (None values ignored)."""
        ...

    def check_checkpoint(self, ckpt: Checkpoint) -> None:
        """Raise a CheckpointError if ``ckpt`` was not made by a run of this network."""
        ...

    def record_run(self, out_dir: Path) -> Path:
        """Write the run folder's record of what ran (``config.toml``, ``run.toml``)."""
        ...


# ---------------------------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpochStart:
    epoch: int  # 1-based
    epochs: int
    batches: int  # batches in this epoch
    start_batch: int  # > 0 when resuming in the middle of an epoch


@dataclass(slots=True)
class BatchEnd:  # sent after every batch: a plain slotted dataclass is 3× cheaper to build
    epoch: int
    batch: int  # 1-based, within the epoch
    batches: int
    iteration: int  # global, 1-based
    loss: float
    running_loss: float  # mean over this epoch so far
    samples: int  # samples seen in this epoch so far
    seconds: float  # training time in this epoch so far


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    iterations: int
    train_loss: float
    train_accuracy: float  # running, measured on each batch during the epoch
    test_loss: float
    test_accuracy: float
    seconds: float  # training time of the epoch (without the test evaluation)
    eval_seconds: float
    samples_per_second: float
    lr: float


@dataclass(frozen=True)
class EpochEnd:
    metrics: EpochMetrics
    best: bool  # best test accuracy so far


@dataclass(frozen=True)
class CheckpointSaved:
    path: Path
    epoch: int
    kind: str  # "checkpoint", "best" or "interrupt"


@dataclass(frozen=True)
class NonFiniteFound:
    """NaN or Inf appeared: where first, in the engine's step sequence."""

    iteration: int
    epoch: int
    batch: int
    phase: str  # "forward", "loss", "backward"
    layer: str | None
    tensor: str
    count: int
    kind: str  # "NaN", "Inf" or "NaN/Inf"

    def message(self) -> str:
        where = f"the {self.phase} step of layer {self.layer!r}" if self.layer else \
            f"the {self.phase} step"
        return (f"{self.kind} appeared at iteration {self.iteration} (epoch {self.epoch}, batch "
                f"{self.batch}): first in {where}, tensor {self.tensor} ({self.count} entries)")


Event = EpochStart | BatchEnd | EpochEnd | CheckpointSaved | NonFiniteFound


@dataclass
class TrainResult:
    status: str  # "completed", "stopped", "nonfinite"
    epochs_done: int
    iterations: int
    history: list[EpochMetrics]
    nonfinite: NonFiniteFound | None = None
    checkpoint: Path | None = None


# ---------------------------------------------------------------------------------------------
def evaluate(net: Network, x: np.ndarray, t: np.ndarray, batch_size: int = 1000
             ) -> tuple[float, float]:
    """Mean data loss and accuracy of ``net`` on ``(x, t)`` in evaluation mode."""
    if len(x) == 0:
        return float("nan"), float("nan")
    modes = [layer.training for layer in net.layers]
    net.train(False)
    loss_sum, correct = 0.0, 0
    labels = net.loss_layer.labels(t)
    try:
        for i in range(0, len(x), batch_size):
            out = net.forward(x[i : i + batch_size])
            n = len(out)
            loss_sum += net.loss_layer.forward(out, t[i : i + batch_size]) * n
            correct += int((net.loss_layer.predict(out) == labels[i : i + batch_size]).sum())
    finally:
        for layer, m in zip(net.layers, modes, strict=True):
            layer.training = m
    return loss_sum / len(x), correct / len(x)


def default_run_dir(scenario: str, root: str | Path = "runs") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    # one component under root, whatever the name (a .py network's bt.debug(name=...))
    base = Path(root) / f"{safe_name(scenario)}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def latest_run_dir(scenario: str, given_as: str | None = None,
                   root: str | Path = "runs") -> Path:
    """The newest of ``scenario``'s default run folders (:func:`default_run_dir`'s
    ``root/SCENARIO-YYYYmmdd-HHMMSS[-n]``) that holds a checkpoint, for ``--checkpoint``'s
    default; a UsageError if there is none (``given_as``: the scenario as the user typed it,
    for the hint). ``xor`` does not match ``xor-sigmoid``'s runs: the stamp follows the name."""
    pattern = re.compile(re.escape(scenario) + r"-(\d{8}-\d{6})(?:-(\d+))?")
    root = Path(root)
    found = []
    if root.is_dir():
        for path in root.iterdir():
            m = pattern.fullmatch(path.name)
            if m and (path / "checkpoint.npz").is_file():
                found.append(((m.group(1), int(m.group(2) or 1)), path))
    if not found:
        raise UsageError(f"no run of {scenario} with a checkpoint in {root}/",
                         key="--checkpoint", hint=f"Train one (backprop-tui train "
                         f"{given_as or scenario} --headless) or give --checkpoint RUN_FOLDER")
    return max(found)[1]


@dataclass
class _EpochSums:
    loss_sum: float = 0.0
    correct: int = 0
    samples: int = 0
    seconds: float = 0.0


METRIC_FIELDS = [f for f in EpochMetrics.__dataclass_fields__]


class Trainer:
    """Trains a scenario's network (or any :class:`RunSpec`'s); emits events; saves and resumes
    checkpoints.

    ``data`` may be given as ``(x_train, t_train, x_test, t_test)`` (already in ``dtype``);
    otherwise the scenario's data is loaded. ``out_dir=None`` keeps everything in memory.
    """

    def __init__(
        self,
        scenario: RunSpec,
        *,
        out_dir: str | Path | None = None,
        data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
        data_dir: str | Path | None = None,
        net: Network | None = None,
        optimizer: Optimizer | None = None,
    ) -> None:
        if not scenario.train.enabled:
            raise UsageError(
                f"scenario {scenario.name!r} is not trainable",
                hint="Its weights are wired by hand ([train] enabled = false); open it in the "
                     "debugger to step through its forward pass.",
            )
        self.scenario = scenario
        spec = scenario.train
        self.dtype = np.dtype(spec.dtype)
        self.net = net if net is not None else scenario.build_network(spec.seed, self.dtype)
        self.optimizer = optimizer if optimizer is not None else scenario.build_optimizer()
        if data is None:
            data = scenario.load_data(data_dir=data_dir, dtype=self.dtype)
        self.x_train, self.t_train, self.x_test, self.t_test = data
        if len(self.x_test) == 0:  # every test accuracy would be 0/0: NaN
            raise DataError("the test set is empty", file=scenario.path,
                            expected="at least one test sample")
        self.batches = Batches(self.x_train, self.t_train, spec.batch_size,
                               scenario.rng(spec.seed, "shuffle"))
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.epochs_done = 0
        self.iteration = 0
        self.history: list[EpochMetrics] = []
        self.best_accuracy = -1.0
        self._sums = _EpochSums()
        self._in_epoch = False
        #: checkpoint.npz is rewritten at most this often (and always after the last epoch);
        #: tiny scenarios run thousands of one-batch epochs
        self.checkpoint_every = 10.0
        self._last_save = time.monotonic()
        self._metrics_rows = 0  # rows of metrics.csv on disk
        self._recorded = False  # config.toml / run.toml written by this trainer
        #: numpy's global generator as this run left it (restored when it runs again, saved in
        #: checkpoints): what else draws from it between two runs cannot change this one
        self._np_global: tuple = np.random.get_state()  # noqa: NPY002
        self._running = False
        #: the metadata of the checkpoint this trainer was restored from, if any
        self.checkpoint_meta: dict[str, Any] | None = None
        #: network health while training (engine/health.py), measured when set; None costs nothing
        self.health: HealthTracker | None = None

    # -- properties ---------------------------------------------------------------------------
    @property
    def epochs(self) -> int:
        return self.scenario.train.epochs

    @property
    def batches_per_epoch(self) -> int:
        return len(self.batches)

    # -- the loop -----------------------------------------------------------------------------
    def run(
        self,
        on_event: Callable[[Event], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        max_iterations: int | None = None,
    ) -> TrainResult:
        """Train until ``epochs`` are done, ``should_stop()`` is true (checked after every
        batch, so the state is always consistent), ``max_iterations`` more iterations have run,
        or a NaN/Inf appears. Can be called again to continue.

        Floating-point warnings are silenced: an overflow is caught by the NaN/Inf check and
        reported once, with the layer where it happened. The network runs in lean mode: layers
        skip the cache tensors only the debugger shows (same numbers, less work), on the
        training's BLAS threads (:mod:`backprop_tui.blas`: one, unless the user set them).

        Code that raises stops training with a :class:`TrainingError` (a user error) naming
        the layer, the step and the line; the state from before the failed batch is saved."""
        np.random.set_state(self._np_global)  # noqa: NPY002
        self._running = True
        try:
            with np.errstate(all="ignore"), self.net.lean(), threads_for("train"):
                return self._run(on_event, should_stop, max_iterations)
        finally:
            self._running = False
            self._np_global = np.random.get_state()  # noqa: NPY002

    def _run(self, on_event, should_stop, max_iterations) -> TrainResult:
        emit = on_event or (lambda e: None)
        net, opt, batches = self.net, self.optimizer, self.batches
        loss_layer = net.loss_layer
        n_batches = len(batches)
        done_now = 0
        checked = False  # the layer contract, held once per call: every gradient there
        if self.out_dir is not None and not self._recorded:
            self.write_config()
            self._recorded = True
        net.train(True)
        while self.epochs_done < self.epochs:
            epoch = self.epochs_done + 1
            if not self._in_epoch:
                self._in_epoch = True
                self._sums = _EpochSums()
            opt.lr = self.scenario.epoch_lr(epoch)
            start_batch = batches.position if not batches.epoch_done else 0
            emit(EpochStart(epoch, self.epochs, n_batches, start_batch))
            sums = self._sums
            while True:
                if batches.epoch_done and batches.epoch == self.epochs_done:
                    # the iterator's lazy roll-over: this epoch's batches are all taken
                    break
                if should_stop is not None and should_stop():
                    return self._result("stopped")
                if max_iterations is not None and done_now >= max_iterations:
                    return self._result("stopped")
                t0 = time.perf_counter()
                xb, tb = batches.next()
                health = self.health  # per batch: the dashboard turns it on and off (h)
                if health is not None:
                    health.begin(net, self.iteration + 1)
                try:  # free in Python ≥ 3.11 unless it raises
                    loss = net.loss(xb, tb)
                    if not math.isfinite(loss):
                        return self._nonfinite(xb, tb, emit)
                    net.backward(need_input_grad=health is not None and health.sampling)
                    if not checked:  # a gradient left out would silently never be trained
                        for layer in net.layers:
                            check_grads(layer)
                        checked = True
                    finite = self._grads_finite()
                except Exception as e:  # code of the user's: name it, save, stop
                    raise self._code_error(e, xb, tb) from None
                if not finite:
                    return self._nonfinite(xb, tb, emit)
                if health is not None:
                    health.before_update(net, self.iteration + 1)
                try:
                    opt.step(net)
                except Exception as e:
                    raise self._code_error(e, xb, tb, updated=True) from None
                if health is not None:
                    health.after_update(net, self.iteration + 1)
                self.iteration += 1
                done_now += 1
                n = len(xb)
                sums.loss_sum += loss * n
                sums.correct += int(np.count_nonzero(
                    loss_layer.predict(net.output) == loss_layer.labels(tb)))
                sums.samples += n
                sums.seconds += time.perf_counter() - t0
                emit(BatchEnd(epoch, batches.position, n_batches, self.iteration, loss,
                              sums.loss_sum / sums.samples, sums.samples, sums.seconds))
            self._finish_epoch(epoch, emit)
        return self._result("completed")

    def _grads_finite(self) -> bool:
        """Whether every gradient is free of NaN and ±Inf — checked after every backward,
        before the update, so that a stop leaves the parameters as they were.

        Fast path: one BLAS dot ⟨g, g⟩ per tensor (12 µs a batch for mnist-mlp's 174k
        gradients; ``isfinite().all()`` takes 19 µs): it is NaN or Inf whenever g holds one.
        It can also overflow for huge but finite entries, so a non-finite result is confirmed
        entry by entry before anyone is told."""
        total = 0.0
        for layer in self.net.layers:
            for g in layer.grads.values():
                total += float(np.vdot(g, g))
        if math.isfinite(total):
            return True
        return all(np.isfinite(g).all() for layer in self.net.layers
                   for g in layer.grads.values())

    def _finish_epoch(self, epoch: int, emit: Callable[[Event], None]) -> None:
        sums = self._sums
        t0 = time.perf_counter()
        try:
            test_loss, test_acc = evaluate(self.net, self.x_test, self.t_test)
        except Exception as e:
            raise self._code_error(e, None, None) from None
        eval_seconds = time.perf_counter() - t0
        metrics = EpochMetrics(
            epoch=epoch,
            iterations=self.iteration,
            train_loss=sums.loss_sum / max(sums.samples, 1),
            train_accuracy=sums.correct / max(sums.samples, 1),
            test_loss=test_loss,
            test_accuracy=test_acc,
            seconds=sums.seconds,
            eval_seconds=eval_seconds,
            samples_per_second=sums.samples / sums.seconds if sums.seconds else float("nan"),
            lr=self.optimizer.lr,
        )
        self.history.append(metrics)
        self.epochs_done = epoch
        self._in_epoch = False
        self._sums = _EpochSums()
        best = bool(np.isfinite(test_acc) and test_acc > self.best_accuracy)
        if best:
            self.best_accuracy = test_acc
        emit(EpochEnd(metrics, best))
        if self.out_dir is not None:
            self.write_metrics()
            if best:
                emit(CheckpointSaved(self.save(self.out_dir / "best.npz"), epoch, "best"))
            now = time.monotonic()
            if epoch == self.epochs or now - self._last_save >= self.checkpoint_every:
                self._last_save = now
                emit(CheckpointSaved(self.save(self.out_dir / "checkpoint.npz"), epoch,
                                     "checkpoint"))

    def _result(self, status: str, nonfinite: NonFiniteFound | None = None) -> TrainResult:
        return TrainResult(status, self.epochs_done, self.iteration, list(self.history),
                           nonfinite)

    # -- NaN/Inf: name the first layer --------------------------------------------------------
    def _nonfinite(self, xb, tb, emit) -> TrainResult:
        """Replay the failing iteration one step at a time (Dropout masks and BatchNorm
        statistics frozen, so it is the same computation) and find the first non-finite
        tensor. The parameters are untouched: the check runs before the update."""
        net = self.net
        epoch = self.epochs_done + 1
        batch = self.batches.position
        iteration = self.iteration + 1
        found = None
        lean = [layer.lean for layer in net.layers]
        for layer in net.layers:  # replay with every cache, as the debugger would
            layer.lean = False
        try:
            found = self._replay_for_nonfinite(xb, tb)
        finally:
            for layer, was in zip(net.layers, lean, strict=True):
                layer.lean = was
        if not found:  # a sum overflowed although every entry is finite
            found = ("backward", None, "gradient sum", 0, "Inf")
        phase, layer, tensor, count, kind = found
        event = NonFiniteFound(iteration, epoch, batch, phase, layer, tensor, count, kind)
        emit(event)
        return self._result("nonfinite", event)

    def _replay_for_nonfinite(self, xb, tb):
        """Walk the iteration unit by unit (no update) and return the first non-finite tensor
        as ``(phase, layer, tensor, count, kind)``, or None."""
        net = self.net
        walk = Walk(net)
        walk.start(net._as_input(xb), tb)
        found = _first_bad("forward", None, "x (the batch)", walk.x)
        with net.frozen(), np.errstate(all="ignore"):
            for pos, (phase, i) in enumerate(walk.steps[:-1]):
                if found:
                    break
                layer = net.layers[i] if i is not None else None
                if phase == "forward":
                    for name, p in layer.params.items():
                        found = found or _first_bad("forward", layer.name, name, p)
                unit = walk.run(pos, need_dx=i != 0)
                if phase == "forward":
                    found = found or _first_bad("forward", layer.name, "output", unit.output)
                elif phase == "loss":
                    if not np.isfinite(unit.loss):
                        found = ("loss", None, "loss", 1, "NaN" if np.isnan(unit.loss) else "Inf")
                    else:
                        found = _first_bad("backward", "loss", "dx", unit.output)
                else:
                    for name, g in layer.grads.items():
                        found = found or _first_bad("backward", layer.name, f"d{name}", g)
                    if unit.output is not None:
                        found = found or _first_bad("backward", layer.name, "dx", unit.output)
        return found

    # -- code that raised: name the layer -----------------------------------------------------
    def _code_error(self, error: Exception, xb: np.ndarray | None, tb: np.ndarray | None, *,
                    updated: bool = False) -> TrainingError:
        """The error to stop with when code raised during the batch ``(xb, tb)`` (``None``: the
        evaluation at the end of the epoch). The layer, step and line come from replaying the
        batch one unit at a time; before the update the parameters are untouched, so the run
        is saved with the batch put back (a resumed run takes it again)."""
        epoch = self.epochs_done + 1
        if xb is None:
            when = f"evaluating the network after epoch {epoch}"
        else:
            when = (f"iteration {self.iteration + 1} (epoch {epoch}, batch "
                    f"{self.batches.position})")
        if isinstance(error, LayerError):
            located = error
        elif updated:
            located = LayerError("the update step", error, phase="update")
        else:
            batches = [(xb, tb)] if xb is not None else \
                [(self.x_test[i : i + 1000], self.t_test[i : i + 1000])
                 for i in range(0, len(self.x_test), 1000)]
            located = locate_error(self.net, error, batches, backward=xb is not None)
        text = " ".join(str(located).split())  # one line, whatever the error's message holds
        if updated:
            hint = ("Nothing was saved: the update had begun"
                    + (f"; the last checkpoint is in {self.out_dir}" if self.out_dir else ""))
        elif self.out_dir is not None:
            if xb is not None:
                self.batches.position -= 1  # the batch is taken again after a resume
            saved = self.save(self.out_dir / "checkpoint.npz")
            hint = (f"The run as it was before this {'batch' if xb is not None else 'evaluation'}"
                    f" is saved in {saved}: fix the code, then continue with --resume "
                    f"{self.out_dir}")
        else:
            hint = None
        return TrainingError(f"training stopped at {when}: {text}",
                             file=self.scenario.path, hint=hint)

    # -- persistence --------------------------------------------------------------------------
    def global_rng_state(self) -> tuple:
        """numpy's global generator as this run will use it next (``np.random.get_state``)."""
        return np.random.get_state() if self._running else self._np_global  # noqa: NPY002

    def state_meta(self) -> dict[str, Any]:
        dropout_rngs = {name: copy.deepcopy(rng.bit_generator.state)
                        for name, rng in self.net.generators().items()}
        algorithm, _key, pos, has_gauss, cached = self.global_rng_state()
        return {
            "scenario": self.scenario.name,
            "architecture_hash": self.scenario.architecture_hash(),
            "config": self.scenario.config(),
            "package_version": __version__,
            "saved_at": datetime.now().isoformat(timespec="seconds"),
            "epochs_done": self.epochs_done,
            "iteration": self.iteration,
            "in_epoch": self._in_epoch,
            "epoch_sums": asdict(self._sums),
            "batches": self.batches.state(),
            "dropout_rngs": dropout_rngs,
            #: numpy's global generator (its key array is extra/numpy_global_rng)
            "numpy_global_rng": {"algorithm": algorithm, "pos": int(pos),
                                 "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
            "optimizer": {"kind": self.optimizer.kind, "lr": self.optimizer.lr},
            "dtype": str(self.dtype),
            "best_accuracy": self.best_accuracy,
            "history_fields": METRIC_FIELDS,
        }

    def history_array(self) -> np.ndarray:
        """The metrics of every epoch as one (epochs, fields) float64 array: a checkpoint stores
        it as an array, not JSON (44,000 one-batch xor epochs would be 50 MB of JSON)."""
        rows = [[float(getattr(m, f)) for f in METRIC_FIELDS] for m in self.history]
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(METRIC_FIELDS))

    def save(self, path: str | Path) -> Path:
        extra = {"history": self.history_array(),
                 "numpy_global_rng": np.asarray(self.global_rng_state()[1], dtype=np.uint32)}
        with _writing(self.out_dir, Path(path)):
            return save_checkpoint(path, self.net.state_dict(), self.optimizer.state_dict(),
                                   self.state_meta(), extra=extra)

    def save_interrupt(self) -> Path | None:
        """Save where the run stands (between two batches); used on Ctrl-C."""
        if self.out_dir is None:
            return None
        return self.save(self.out_dir / "checkpoint.npz")

    def write_config(self) -> Path:
        """The run folder's record of what ran: a scenario's ``config.toml`` (trains the same
        run again), a network file's ``run.toml``."""
        assert self.out_dir is not None
        with _writing(self.out_dir, self.out_dir / "config.toml"):
            return self.scenario.record_run(self.out_dir)

    def write_metrics(self) -> Path:
        """Append the epochs not yet on disk to ``metrics.csv`` (rewritten whole on resume)."""
        assert self.out_dir is not None
        path = self.out_dir / "metrics.csv"
        def rows(f: IO[bytes], start: int, header: bool) -> None:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            w = csv.DictWriter(text, fieldnames=METRIC_FIELDS)
            if header:
                w.writeheader()
            for m in self.history[start:]:
                w.writerow({k: _csv_value(v) for k, v in asdict(m).items()})
            text.flush()
            text.detach()

        with _writing(self.out_dir, path):
            if self._metrics_rows == 0 or not path.exists():  # a new file, or the whole again
                atomic_write(path, lambda f: rows(f, 0, header=True))
            else:
                size = path.stat().st_size
                try:
                    with open(path, "ab") as f:
                        rows(f, self._metrics_rows, header=False)
                except OSError:
                    os.truncate(path, size)  # no half row: the file keeps its whole epochs
                    raise
        self._metrics_rows = len(self.history)
        return path

    def load_state(self, ckpt: Checkpoint) -> None:
        """Restore everything a checkpoint holds into this trainer (same scenario), every
        field checked first (:mod:`~backprop_tui.restore`): a CheckpointError otherwise."""
        self.scenario.check_checkpoint(ckpt)
        meta = ckpt.meta
        kind = check_optimizer_state(ckpt, self.net)
        if kind != self.optimizer.kind:
            raise CheckpointError(
                "the checkpoint's optimizer differs from this run's", file=ckpt.path,
                key="optimizer", value=kind, expected=self.optimizer.kind)
        check_train_state(ckpt, batches_per_epoch=len(self.batches),
                          generators=self.net.generators(), history_fields=METRIC_FIELDS)
        load_weights(ckpt, self.net)
        try:
            self.optimizer.load_state_dict(ckpt.optimizer)
            self.batches.set_state(meta["batches"])
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"cannot restore this checkpoint: {e}", file=ckpt.path) \
                from None
        for name, rng in self.net.generators().items():
            rng.bit_generator.state = meta["dropout_rngs"][name]
        if (state := numpy_global_state(ckpt)) is not None:  # saved since own networks train
            self._np_global = state
        self.epochs_done = int(meta["epochs_done"])
        self.iteration = int(meta["iteration"])
        self._in_epoch = bool(meta["in_epoch"])
        self._sums = _EpochSums(**meta["epoch_sums"])
        self.best_accuracy = float(meta["best_accuracy"])
        self.history = [EpochMetrics(**row) for row in history_rows(ckpt, METRIC_FIELDS)]
        self.checkpoint_meta = meta

    @classmethod
    def resume(
        cls, scenario: RunSpec, ref: str | Path, *, epochs: int | None = None,
        lr: float | None = None, out_dir: str | Path | None = None,
        data_dir: str | Path | None = None, overrides: dict[str, Any] | None = None,
    ) -> Trainer:
        """Continue a run from a checkpoint (or a run folder). Training settings come from the
        checkpoint; only ``epochs`` (to train longer) and ``lr`` may change. Anything else in
        ``overrides`` that differs from the checkpoint is refused, because the result could no
        longer equal an uninterrupted run."""
        ckpt = load_checkpoint(ref)
        scenario.check_checkpoint(ckpt)
        saved = saved_train(ckpt).__dict__
        for key, value in (overrides or {}).items():
            if value is not None and key in saved and saved[key] != value:
                raise UsageError(
                    f"cannot change --{key.replace('_', '-')} when resuming",
                    value=value, expected=f"{saved[key]!r} as in the checkpoint, or no flag",
                    hint=f"The checkpoint {ckpt.path} was trained with {key} = {saved[key]!r}.")
        _same_data_sizes(scenario, ckpt)
        fields = {k: saved[k] for k in ("optimizer", "lr", "lr_decay", "momentum", "beta1",
                                        "beta2", "batch_size", "epochs", "seed", "dtype")
                  if k in saved}
        sc = scenario.with_train(**fields).with_train(epochs=epochs, lr=lr)
        if out_dir is not None:
            out = Path(out_dir)
        elif ckpt.path.name == "checkpoint.npz":
            out = ckpt.path.parent  # continue the run in its own folder
        else:  # e.g. best.npz: branch into a new folder rather than overwrite the run's newer state
            out = default_run_dir(scenario.name, ckpt.path.parent.parent)
        trainer = cls(sc, out_dir=out, data_dir=data_dir)
        trainer.load_state(ckpt)
        trainer.optimizer.lr = sc.epoch_lr(trainer.epochs_done + 1)
        return trainer


def _same_data_sizes(scenario: RunSpec, ckpt: Checkpoint) -> None:
    """A run resumes on the data it started on: the batch order in the checkpoint counts the
    training set's rows (``--all-data`` drops a scenario's train_size/test_size)."""
    saved = ckpt.meta.get("config", {}).get("data")
    now = scenario.config().get("data")
    if not isinstance(saved, dict) or not isinstance(now, dict):
        return
    for key in ("train_size", "test_size"):
        if saved.get(key) != now.get(key):
            raise UsageError(
                f"cannot change the data's {key} when resuming", value=now.get(key) or "all",
                expected=f"{saved.get(key) or 'all'} as in the checkpoint",
                hint="Resume with --all-data exactly when the run was started with it.")


@contextmanager
def _writing(out_dir: Path | None, path: Path) -> Iterator[None]:
    """A write into the run folder that fails (a full disk, a folder made read-only or
    removed) stops the run with one error naming the file and the checkpoint that is kept:
    every write leaves the file it replaces as it was."""
    try:
        yield
    except OSError as e:
        last = out_dir / "checkpoint.npz" if out_dir is not None else None
        try:
            epoch = load_checkpoint(last).meta.get("epochs_done") if last else None
            kept = (f"Training stopped; the last good checkpoint, {last} (epoch {epoch}), is "
                    f"kept: make room, then continue with --resume {out_dir}")
        except UserError:
            kept = "Training stopped; no checkpoint was saved yet"
        raise RunFolderError(f"cannot write {path.name}"
                             f"{f' ({e.strerror})' if e.strerror else f': {e}'}",
                             file=path.parent, hint=kept) from None


def _csv_value(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v)
    return v


def _first_bad(phase: str, layer: str | None, tensor: str, a: np.ndarray):
    bad = count_nonfinite(a)
    return None if bad is None else (phase, layer, tensor, *bad)


__all__ = [
    "BatchEnd", "CheckpointSaved", "EpochEnd", "EpochMetrics", "EpochStart", "Event",
    "NonFiniteFound", "RunSpec", "TrainResult", "Trainer", "default_run_dir", "evaluate",
]
