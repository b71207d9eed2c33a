"""One training run of an experiment, on the project's own :class:`~backprop_tui.training.Trainer`
(no second training loop): its settings become a scenario's tables (MNIST, hidden layers of
ReLUs with optional BatchNorm and Dropout, the init, L2, the optimizer), checked as a file's
are; the trainer's events become the run's curves.

A run is measured in ``iterations`` (the loss after every batch: ``init-compare``,
``optimizer-compare``) or in ``epochs`` (accuracies after every epoch, and before the first, as
the book's scripts record them). The book's *train accuracy* is measured on the whole training
set after the epoch in evaluation mode (``network.accuracy(x_train, t_train)``), not the
running accuracy of the epoch's batches; with ``validation`` the first share of the (shuffled)
training samples is held out and is what the trainer evaluates (``val_acc``).

Stopped between two batches (``should_stop``), the run's trainer state goes to
``RUN/checkpoint.npz`` and the run continues from it on resume — bit-identical to a run that was
never stopped (the trainer's checkpoints hold everything that decides the next numbers).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..checkpoint import load_checkpoint
from ..scenario import Scenario, scenario_from_tables, seeded_rng
from ..training import BatchEnd, EpochEnd, Trainer, evaluate
from .base import Context, RunStatus

CHECKPOINT = "checkpoint.npz"
DTYPE = "float32"


def scenario(experiment: str, index: int, s: dict[str, Any]) -> Scenario:
    """The run's network and training as a scenario (checked like a .toml file's tables)."""
    layers: list[dict[str, Any]] = []
    for _ in range(int(s["hidden"])):
        layers.append({"type": "affine", "out": int(s["units"])})
        if s.get("batchnorm"):
            layers.append({"type": "batchnorm"})
        layers.append({"type": str(s["activation"])})
        if s.get("dropout"):
            layers.append({"type": "dropout", "p": float(s["dropout"])})
    layers.append({"type": "affine", "out": 10})
    data: dict[str, Any] = {"source": "mnist", "layout": "flat", "normalize": "scale"}
    for key in ("train_size", "test_size"):
        if s.get(key):
            data[key] = int(s[key])
    train = {"optimizer": str(s["optimizer"]), "lr": float(s["lr"]),
             "batch_size": int(s["batch_size"]), "epochs": _epochs(s), "seed": int(s["seed"]),
             "dtype": DTYPE}
    return scenario_from_tables({
        "name": f"{experiment}-{index + 1:02d}",
        "description": f"run {index + 1} of the experiment {experiment}",
        "data": data,
        "network": {"loss": "softmax_cross_entropy", "init": s["init"],
                    "l2": float(s.get("l2", 0.0)), "layers": layers},
        "train": train,
    }, f"{experiment}, run {index + 1}")


def _epochs(s: dict[str, Any]) -> int:
    if s.get("iterations"):  # enough epochs to hold them; the run stops at the iteration count
        n = int(s.get("train_size") or 60_000) * (1 - float(s.get("validation", 0.0)))
        return math.ceil(int(s["iterations"]) / max(1, int(n) // int(s["batch_size"])))
    return int(s["epochs"])


def data(ctx: Context, sc: Scenario, s: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """``(x_train, t_train, x_test, t_test)`` of the run, loaded once per experiment; with
    ``validation``, the test pair is the held-out share of the training samples (the book's
    ``shuffle_dataset`` then the first 20 %: a seeded permutation here)."""
    validation = float(s.get("validation", 0.0))
    key = (sc.data, validation, int(s["seed"]) if validation else None)

    def load() -> tuple[np.ndarray, ...]:
        x, t, x_test, t_test = sc.load_data(data_dir=ctx.data_dir, dtype=DTYPE)
        if not validation:
            return x, t, x_test, t_test
        order = seeded_rng(int(s["seed"]), "split").permutation(len(x))
        n_val = int(len(x) * validation)
        val, rest = order[:n_val], order[n_val:]
        return x[rest], t[rest], x[val], t[val]

    return ctx.shared(key, load)


def execute(ctx: Context, index: int) -> RunStatus:
    """Train run ``index`` (or continue it from its checkpoint); its curves grow as it goes."""
    result = ctx.result
    run = result.runs[index]
    s = run.settings
    sc = scenario(result.name, index, s)
    x_train, t_train, x_test, t_test = data(ctx, sc, s)
    trainer = Trainer(sc, data=(x_train, t_train, x_test, t_test))
    ckpt = ctx.run_dir(index) / CHECKPOINT
    if run.status == "stopped" and ckpt.is_file():
        trainer.load_state(load_checkpoint(ckpt))
    else:  # a fresh start: whatever an earlier attempt recorded goes
        run.curves.clear()
        run.seconds = 0.0
    run.status = "running"
    test_metric = "val_acc" if s.get("validation") else "test_acc"
    iterations = int(s.get("iterations", 0))
    eval_train = bool(s.get("eval_train"))
    t0 = time.perf_counter() - run.seconds

    def point_at_epoch(epoch: int, test_acc: float | None = None, loss: float | None = None
                       ) -> None:
        if test_acc is None:
            test_acc = evaluate(trainer.net, x_test, t_test)[1]
        run.curve(test_metric).add(epoch, test_acc)
        if eval_train:
            run.curve("train_acc").add(epoch, evaluate(trainer.net, x_train, t_train)[1])
        if loss is not None:
            run.curve("loss").add(epoch, loss)

    def on_event(event: object) -> None:
        if isinstance(event, BatchEnd):
            if iterations:
                run.curve("loss").add(event.iteration, event.loss)
            run.seconds = time.perf_counter() - t0
            ctx.update()
        elif isinstance(event, EpochEnd):
            m = event.metrics
            if iterations:
                run.curve(test_metric).add(m.iterations, m.test_accuracy)
            else:
                point_at_epoch(m.epoch, m.test_accuracy, m.train_loss)

    if not iterations and trainer.iteration == 0 and not run.curves:
        point_at_epoch(0)  # before training, as the book's scripts record it
    remaining = iterations - trainer.iteration if iterations else None
    outcome = trainer.run(on_event=on_event, should_stop=ctx.stop_requested,
                          max_iterations=remaining)
    run.seconds = time.perf_counter() - t0
    if outcome.status == "stopped" and not (iterations and trainer.iteration >= iterations):
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        trainer.save(ckpt)
        run.status = "stopped"
        return "stopped"
    if outcome.status == "nonfinite" and outcome.nonfinite is not None:
        run.settings["diverged"] = outcome.nonfinite.message()
    elif iterations:  # the test accuracy where the run ends (mid-epoch)
        curve = run.curve(test_metric)
        if not curve.x or curve.x[-1] != trainer.iteration:
            curve.add(trainer.iteration, evaluate(trainer.net, x_test, t_test)[1])
    ckpt.unlink(missing_ok=True)
    return "done"

