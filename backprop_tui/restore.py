"""What a checkpoint must hold to be restored into a run, checked before anything is loaded.

Its SHA-256 proves a checkpoint is the file that was written, not that what was written makes
sense: a file edited by hand and signed again passes it. So every metadata field and array is
checked against the run it is loaded into — the scenario's (or network file's) network, its
optimizer and its data — and every problem is one :class:`~backprop_tui.errors.CheckpointError`
naming the file, the field and the value (exit 2), never a ``TypeError`` deep in numpy, a
network silently evaluated in int8 or complex numbers, or a resumed run that never ends:

* the weights (``eval``, ``debug --checkpoint``, resume): ``dtype`` one of
  :data:`~backprop_tui.scenario.DTYPES`; the parameters and buffers exactly the network's
  names and shapes, real floating-point arrays in that dtype;
* the optimizer's state: its kind, its learning rate, its step count, and one array per
  slot of that kind (``m``/``v`` for Adam …) shaped like a parameter of the network;
* where the run stands (resume): the ``[train]`` table it was trained with (checked as a
  scenario's), epochs and iterations ≥ 0, the batch iterator's position consistent with the
  epochs done, the running sums of the epoch, the best accuracy, one history row per epoch,
  and the random generators' states.

UI-free: numpy and the package's own modules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .checkpoint import Checkpoint
from .engine.network import Network
from .engine.optim import OPTIMIZERS
from .errors import CheckpointError, ScenarioError
from .scenario import DTYPES, TrainSpec, read_train
from .tomlcheck import TableReader


def _bad(ckpt: Checkpoint, key: str, value: object, expected: str,
         problem: str = "bad value in the checkpoint's metadata") -> CheckpointError:
    return CheckpointError(problem, file=ckpt.path, key=key, value=_short(value),
                           expected=expected,
                           hint="Was it edited? Use a checkpoint as `backprop-tui train` wrote "
                                "it")


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."


def _int(ckpt: Checkpoint, meta: dict, key: str, minimum: int = 0, label: str | None = None
         ) -> int:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(ckpt, label or key, value, f"an integer ≥ {minimum}")
    return value


def _number(ckpt: Checkpoint, meta: dict, key: str, lo: float, hi: float, label: str
            ) -> float:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not (math.isfinite(value) and lo <= value <= hi):
        span = "a finite number" if math.isinf(lo) and math.isinf(hi) else \
            f"a number ≥ {lo:g}" if math.isinf(hi) else f"a number in [{lo:g}, {hi:g}]"
        raise _bad(ckpt, label, value, span)
    return float(value)


def _table(ckpt: Checkpoint, meta: dict, key: str, label: str | None = None) -> dict:
    value = meta.get(key)
    if not isinstance(value, dict):
        raise _bad(ckpt, label or key, value, "a table")
    return value


# ---------------------------------------------------------------------------------------------
def checkpoint_dtype(ckpt: Checkpoint) -> str:
    """The dtype the checkpoint's network was trained in: one of DTYPES."""
    dtype = ckpt.meta.get("dtype")
    if dtype not in DTYPES:
        raise _bad(ckpt, "dtype", dtype, f"one of {', '.join(DTYPES)}")
    return dtype


def load_weights(ckpt: Checkpoint, net: Network) -> None:
    """Copy the checkpoint's parameters and buffers into ``net`` (converted to its dtype),
    after checking their names, shapes and dtype."""
    dtype = np.dtype(checkpoint_dtype(ckpt))
    expected = net.state_dict()
    missing = sorted(set(expected) - set(ckpt.params))
    extra = sorted(set(ckpt.params) - set(expected))
    if missing or extra:
        raise CheckpointError(
            "its weights do not match the network's", file=ckpt.path, key="param",
            value=f"missing {missing}, unexpected {extra}",
            expected=f"exactly {', '.join(expected)}")
    for key, mine in expected.items():
        theirs = ckpt.params[key]
        if theirs.shape != mine.shape:
            raise CheckpointError("a weight's shape differs from the network's", file=ckpt.path,
                                  key=f"param/{key}", value=theirs.shape, expected=str(mine.shape))
        if theirs.dtype != dtype:
            raise CheckpointError("a weight is not in the checkpoint's dtype", file=ckpt.path,
                                  key=f"param/{key}", value=str(theirs.dtype),
                                  expected=f"{dtype} (its metadata's dtype)")
    try:
        net.load_state_dict(ckpt.params)
    except (KeyError, ValueError, TypeError) as e:  # what the checks above did not foresee
        raise CheckpointError(f"cannot load these weights: {e}", file=ckpt.path) from None


def check_optimizer_state(ckpt: Checkpoint, net: Network) -> str:
    """The optimizer's kind, learning rate, step count and per-parameter slots; returns the
    kind."""
    opt = _table(ckpt, ckpt.meta, "optimizer")
    kind = opt.get("kind")
    if kind not in OPTIMIZERS:
        raise _bad(ckpt, "optimizer.kind", kind, f"one of {', '.join(OPTIMIZERS)}")
    if "lr" in opt:  # what it was when saved: a run goes on with its schedule's
        _number(ckpt, opt, "lr", 0, math.inf, "optimizer.lr")
    params = {f"{layer.name}.{k}": p for layer in net.layers for k, p in layer.params.items()}
    slots = OPTIMIZERS[kind].slots
    for key, value in ckpt.optimizer.items():
        if key == "__t__":
            if value.shape != () or value.dtype.kind not in "iu" or int(value) < 0:
                raise _bad(ckpt, "optim/__t__", value.tolist(), "the step count, an integer ≥ 0")
            continue
        slot, _, name = key.partition(":")
        if slot not in slots or name not in params:
            raise _bad(ckpt, f"optim/{key}", str(value.dtype),
                       f"<slot>:<layer>.<param> with a slot of {kind} "
                       f"({', '.join(slots) or 'none'}) and a parameter of the network",
                       "optimizer state the network has no place for")
        if value.shape != params[name].shape or value.dtype.kind != "f":
            raise _bad(ckpt, f"optim/{key}", f"{value.dtype} {value.shape}",
                       f"floats shaped {params[name].shape}, like {name}",
                       "optimizer state unlike its parameter")
    return kind


def saved_train(ckpt: Checkpoint) -> TrainSpec:
    """The ``[train]`` table the run was trained with, checked as a scenario's is."""
    config = _table(ckpt, ckpt.meta, "config")
    try:
        train = read_train(TableReader(config.get("train", {}), ckpt.path, "config.train"))
    except ScenarioError as e:
        raise CheckpointError(e.problem, file=ckpt.path, key=e.key, value=e.value,
                              expected=e.expected, hint=e.hint) from None
    if train.dtype != checkpoint_dtype(ckpt):
        raise _bad(ckpt, "dtype", ckpt.meta.get("dtype"),
                   f"{train.dtype}, as config.train.dtype says")
    return train


def check_train_state(ckpt: Checkpoint, *, batches_per_epoch: int,
                      generators: dict[str, np.random.Generator], history_fields: list[str]
                      ) -> None:
    """Where the run stands: epochs, iterations, the batch position, the epoch's running sums,
    the best accuracy, the history and the random generators (see the module docstring)."""
    meta = ckpt.meta
    saved_train(ckpt)
    epochs_done = _int(ckpt, meta, "epochs_done")
    _int(ckpt, meta, "iteration")
    in_epoch = meta.get("in_epoch")
    if not isinstance(in_epoch, bool):
        raise _bad(ckpt, "in_epoch", in_epoch, "true or false")
    batches = _table(ckpt, meta, "batches")
    epoch = _int(ckpt, batches, "epoch", label="batches.epoch")
    position = _int(ckpt, batches, "position", label="batches.position")
    mid_epoch = epoch == epochs_done and position < batches_per_epoch
    epoch_end = epochs_done >= 1 and epoch == epochs_done - 1 and position == batches_per_epoch
    if not (mid_epoch or epoch_end):
        raise _bad(ckpt, "batches", {"epoch": epoch, "position": position},
                   f"epoch {epochs_done} and a position below {batches_per_epoch}, or epoch "
                   f"{epochs_done - 1} and position {batches_per_epoch}, after {epochs_done} "
                   "epochs done", "the batch position does not fit the epochs done")
    sums = _table(ckpt, meta, "epoch_sums")
    if set(sums) != {"loss_sum", "correct", "samples", "seconds"}:
        raise _bad(ckpt, "epoch_sums", sorted(sums), "loss_sum, correct, samples, seconds")
    samples = _int(ckpt, sums, "samples", label="epoch_sums.samples")
    _int(ckpt, sums, "correct", label="epoch_sums.correct")
    if sums["correct"] > samples:
        raise _bad(ckpt, "epoch_sums.correct", sums["correct"], f"at most {samples} samples")
    _number(ckpt, sums, "loss_sum", -math.inf, math.inf, "epoch_sums.loss_sum")
    _number(ckpt, sums, "seconds", 0, math.inf, "epoch_sums.seconds")
    _number(ckpt, meta, "best_accuracy", -1, 1, "best_accuracy")
    _check_history(ckpt, epochs_done, history_fields)
    rngs = _table(ckpt, meta, "dropout_rngs")
    if sorted(rngs) != sorted(generators):
        raise _bad(ckpt, "dropout_rngs", sorted(rngs),
                   f"the states of {', '.join(generators) or 'no generators'}")
    for name, state in rngs.items():
        kind = type(generators[name].bit_generator)
        try:
            kind().state = state  # a fresh generator of the layer's kind checks it
        except (TypeError, ValueError, KeyError) as e:
            raise _bad(ckpt, f"dropout_rngs.{name}", state,
                       f"a {kind.__name__} generator's state ({e})") from None
    numpy_global_state(ckpt)


def numpy_global_state(ckpt: Checkpoint) -> tuple | None:
    """numpy's global generator as the run left it (``np.random.set_state``'s tuple), or None
    for a checkpoint from before it was saved."""
    g = ckpt.meta.get("numpy_global_rng")
    if g is None:
        return None
    if not isinstance(g, dict):
        raise _bad(ckpt, "numpy_global_rng", g, "a table")
    key = ckpt.extra.get("numpy_global_rng")
    if key is None or key.shape != (624,) or key.dtype != np.uint32:
        raise _bad(ckpt, "extra/numpy_global_rng", None if key is None else
                   f"{key.dtype} {key.shape}", "624 uint32 words (an MT19937 key)")
    if g.get("algorithm") != "MT19937":
        raise _bad(ckpt, "numpy_global_rng.algorithm", g.get("algorithm"), "MT19937")
    pos = _int(ckpt, g, "pos", label="numpy_global_rng.pos")
    if pos > 624:  # numpy does not check it: a position past the key reads past its end
        raise _bad(ckpt, "numpy_global_rng.pos", pos, "an integer in [0, 624]")
    if g.get("has_gauss") not in (0, 1) or isinstance(g.get("has_gauss"), bool):
        raise _bad(ckpt, "numpy_global_rng.has_gauss", g.get("has_gauss"), "0 or 1")
    cached = _number(ckpt, g, "cached_gaussian", -math.inf, math.inf,
                     "numpy_global_rng.cached_gaussian")
    return ("MT19937", key, pos, g["has_gauss"], cached)


def _check_history(ckpt: Checkpoint, epochs_done: int, fields: list[str]) -> None:
    if ckpt.meta.get("history_fields") != fields:
        raise _bad(ckpt, "history_fields", ckpt.meta.get("history_fields"), ", ".join(fields))
    table = ckpt.extra.get("history")
    if table is None or table.dtype.kind != "f" or table.shape != (epochs_done, len(fields)):
        got = None if table is None else f"{table.dtype} {table.shape}"
        raise _bad(ckpt, "extra/history", got,
                   f"one row of {len(fields)} floats per epoch done ({epochs_done})")
    epochs = table[:, fields.index("epoch")] if epochs_done else np.zeros(0)
    if not np.array_equal(epochs, np.arange(1, epochs_done + 1)):
        raise _bad(ckpt, "extra/history", epochs.tolist()[:10], "epochs 1, 2, … in order")


def history_rows(ckpt: Checkpoint, fields: list[str]) -> list[dict[str, Any]]:
    """The history table as one dict per epoch (ints where the field is a count)."""
    ints = {"epoch", "iterations"}
    return [{f: int(v) if f in ints else float(v) for f, v in zip(fields, row, strict=True)}
            for row in ckpt.extra["history"]]


__all__ = ["check_optimizer_state", "check_train_state", "checkpoint_dtype", "history_rows",
           "load_weights", "numpy_global_state", "saved_train"]
