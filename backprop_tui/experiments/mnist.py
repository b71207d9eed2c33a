"""The chapter's MNIST experiments, with the book's settings (its ``ch06/*.py`` scripts):

* ``init-compare`` (``weight_init_compare.py``, Fig. 6-15): 4 hidden layers of 100 ReLUs,
  std 0.01 / Xavier / He, SGD lr 0.01, batch 128, 2000 iterations;
* ``optimizer-compare`` (``optimizer_compare_mnist.py``, Fig. 6-9): the same network (He init),
  SGD 0.01, Momentum 0.01, AdaGrad 0.01, Adam 0.001, batch 128, 2000 iterations;
* ``batchnorm`` (``batch_norm_test.py``, Fig. 6-19): 1000 samples, 5 hidden layers of 100,
  SGD lr 0.01, batch 100, 20 epochs, with and without batch norm, weight std
  ``logspace(0, −4, 16)``;
* ``overfit`` (``overfit_weight_decay.py``, ``overfit_dropout.py``, Figs. 6-20 to 6-23): 300
  samples, 6 hidden layers of 100, SGD lr 0.01, batch 100: plain and λ = 0.1 for 201 epochs,
  dropout 0.2 for 301 epochs;
* ``hyperparameter-search`` (``hyperparameter_optimization.py``, Fig. 6-24): 500 samples, 20 %
  of them for validation, lr 10^U(−6, −2), weight decay 10^U(−8, −4), 100 trials of 50 epochs.

Where the book draws each batch at random with replacement (``np.random.choice``), the trainer
takes shuffled epochs; everything else is as in the scripts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario import seeded_rng
from . import train
from .base import ExperimentSpec, fmt
from .result import ExperimentResult, RunResult

#: the network the iteration experiments share: 784 → 4 × 100 ReLU → 10
DEEP4 = {"hidden": 4, "units": 100, "activation": "relu"}
ITERATIONS, ITERATIONS_QUICK = 2000, 300
WEIGHT_SCALES = np.logspace(0, -4, num=16)
TRIALS, TRIALS_QUICK = 100, 10


def _run(name: str, settings: dict[str, Any], **s: Any) -> RunResult:
    return RunResult(name, {"seed": int(settings.get("seed", 0)), **s})


def _done(result: ExperimentResult) -> list[RunResult]:
    return [r for r in result.runs if r.status == "done" and r.curves]


def _tail_loss(run: RunResult, n: int = 100) -> float:
    """The mean loss of the last ``n`` iterations (one batch's loss is noisy)."""
    y = run.curves["loss"].y if "loss" in run.curves else []
    return float(np.mean(y[-n:])) if y else float("nan")


def _iterations(settings: dict[str, Any]) -> int:
    return ITERATIONS_QUICK if settings.get("quick") else ITERATIONS


# -- init-compare -----------------------------------------------------------------------------
def plan_init(settings: dict[str, Any]) -> list[RunResult]:
    return [_run(label, settings, **DEEP4, init=init, optimizer="sgd", lr=0.01,
                 batch_size=128, iterations=_iterations(settings))
            for label, init in (("std=0.01", 0.01), ("Xavier", "xavier"), ("He", "he"))]


def summarize_curves(result: ExperimentResult) -> list[str]:
    done = _done(result)
    if not done:
        return []
    best = min(done, key=_tail_loss)
    return [
        "loss over the last 100 iterations: " + ", ".join(
            f"{r.name} {_tail_loss(r):.3f}{r.diverged}" for r in done),
        "test accuracy at the end: " + ", ".join(
            f"{r.name} {100 * r.last('test_acc'):.1f}%" for r in done),
        f"{best.name} learns fastest",
    ]


# -- optimizer-compare --------------------------------------------------------------------------
def plan_optimizers(settings: dict[str, Any]) -> list[RunResult]:
    return [_run(label, settings, **DEEP4, init="he", optimizer=kind, lr=lr, batch_size=128,
                 iterations=_iterations(settings))
            for label, kind, lr in (("SGD", "sgd", 0.01), ("Momentum", "momentum", 0.01),
                                    ("AdaGrad", "adagrad", 0.01), ("Adam", "adam", 0.001))]


# -- batchnorm ------------------------------------------------------------------------------------
def scales(settings: dict[str, Any]) -> list[float]:
    """The 16 weight stds from 1 to 1e-4 (log-spaced); --quick: every fifth (1, 0.046, 0.0022,
    1e-4)."""
    return [float(w) for w in (WEIGHT_SCALES[::5] if settings.get("quick") else WEIGHT_SCALES)]


def plan_batchnorm(settings: dict[str, Any]) -> list[RunResult]:
    epochs = 10 if settings.get("quick") else 20
    runs = []
    for w in scales(settings):
        for bn in (1, 0):
            runs.append(_run(f"{'batch norm' if bn else 'plain'}, w={fmt(w)}", settings,
                             hidden=5, units=100, activation="relu", init=w, batchnorm=bn,
                             optimizer="sgd", lr=0.01, batch_size=100, epochs=epochs,
                             train_size=1000, test_size=1000, eval_train=1))
    return runs


def _area(run: RunResult) -> float:
    """The mean train accuracy over the epochs: higher is faster learning."""
    y = run.curves["train_acc"].y if "train_acc" in run.curves else []
    return float(np.mean(y)) if y else float("nan")


def batchnorm_pairs(result: ExperimentResult) -> list[tuple[float, RunResult, RunResult]]:
    """``(w, batch norm run, plain run)`` for every weight scale whose two runs are done."""
    by: dict[float, dict[int, RunResult]] = {}
    for r in _done(result):
        by.setdefault(float(r.settings["init"]), {})[int(r.settings["batchnorm"])] = r
    return [(w, d[1], d[0]) for w, d in by.items() if 0 in d and 1 in d]


def summarize_batchnorm(result: ExperimentResult) -> list[str]:
    pairs = batchnorm_pairs(result)
    if not pairs:
        return []
    faster = [w for w, bn, plain in pairs if _area(bn) > _area(plain)]
    return [
        f"batch norm learns faster (higher mean train accuracy over the epochs) at "
        f"{len(faster)} of {len(pairs)} weight scales",
        "final train accuracy, batch norm / plain: " + ", ".join(
            f"w={fmt(w)} {100 * bn.last('train_acc'):.0f}/{100 * plain.last('train_acc'):.0f}%"
            + (" (batch norm diverged)" if bn.diverged else "")
            + (" (plain diverged)" if plain.diverged else "")
            for w, bn, plain in pairs),
    ]


# -- overfit --------------------------------------------------------------------------------------
def plan_overfit(settings: dict[str, Any]) -> list[RunResult]:
    quick = settings.get("quick")
    common = dict(hidden=6, units=100, activation="relu", init="he", optimizer="sgd", lr=0.01,
                  batch_size=100, train_size=300, test_size=2000 if quick else 0, eval_train=1)
    short, long = (101, 151) if quick else (201, 301)
    return [_run("plain", settings, **common, epochs=short),
            _run("λ=0.1", settings, **common, l2=0.1, epochs=short),
            _run("dropout 0.2", settings, **common, dropout=0.2, epochs=long)]


def gap(run: RunResult) -> float:
    """Train minus test accuracy at the end: how much the run overfits."""
    return run.last("train_acc") - run.last("test_acc")


def summarize_overfit(result: ExperimentResult) -> list[str]:
    done = _done(result)
    if not done:
        return []
    lines = [f"{r.name}: train {100 * r.last('train_acc'):.1f}%, test "
             f"{100 * r.last('test_acc'):.1f}%, gap {100 * gap(r):.1f} points after "
             f"{int(r.settings['epochs'])} epochs" for r in done]
    plain = next((r for r in done if r.name == "plain"), None)
    if plain is not None:
        narrower = [r.name for r in done if r is not plain and gap(r) < gap(plain)]
        lines.append(f"narrower gap than plain: {', '.join(narrower) or 'none'}")
    return lines


# -- hyperparameter-search ----------------------------------------------------------------------
def trials(settings: dict[str, Any]) -> int:
    given = settings.get("trials")
    return int(given) if given else (TRIALS_QUICK if settings.get("quick") else TRIALS)


def plan_search(settings: dict[str, Any]) -> list[RunResult]:
    """Trial i draws its weight decay, then its lr, as the book's loop does; the draws do not
    depend on the number of trials (``--trials 5`` runs the first five of the hundred)."""
    rng = seeded_rng(int(settings.get("seed", 0)), "trials")
    epochs = 20 if settings.get("quick") else 50
    runs = []
    for _ in range(trials(settings)):
        weight_decay = float(10 ** rng.uniform(-8, -4))
        lr = float(10 ** rng.uniform(-6, -2))
        runs.append(_run(f"lr={lr:.1e}, λ={weight_decay:.1e}", settings, hidden=6, units=100,
                         activation="relu", init="he", optimizer="sgd", lr=lr, l2=weight_decay,
                         batch_size=100, epochs=epochs, train_size=500, validation=0.2,
                         eval_train=1))
    return runs


def best_trials(result: ExperimentResult, n: int = 5) -> list[RunResult]:
    """The done trials by final validation accuracy, best first."""
    done = [r for r in _done(result) if np.isfinite(r.last("val_acc"))]
    return sorted(done, key=lambda r: -r.last("val_acc"))[:n]


def summarize_search(result: ExperimentResult) -> list[str]:
    best = best_trials(result)
    if not best:
        return []
    lrs = [float(r.settings["lr"]) for r in best]
    decays = [float(r.settings["l2"]) for r in best]
    return [
        f"best {len(best)} of {len(_done(result))} trials by validation accuracy: " + "; ".join(
            f"{100 * r.last('val_acc'):.0f}% ({r.name})" for r in best),
        f"their lr spans {min(lrs):.1e}–{max(lrs):.1e}, their weight decay "
        f"{min(decays):.1e}–{max(decays):.1e}",
    ]


_MNIST = "MNIST"
SPECS = [
    ExperimentSpec(
        name="init-compare",
        title="Weight init: std 0.01 vs Xavier vs He (book Fig. 6-15)",
        description="MNIST, 4 hidden layers of 100 ReLUs, weights std 0.01 / Xavier / He, SGD "
                    "lr 0.01, batch 128, 2000 iterations: loss curves",
        kind="curves", x_label="iteration", metrics=("loss", "test_acc"),
        data_label=f"{_MNIST} 60,000/10,000", quick=f"{ITERATIONS_QUICK} iterations",
        plan=plan_init, execute=train.execute, summarize=summarize_curves),
    ExperimentSpec(
        name="optimizer-compare",
        title="SGD vs Momentum vs AdaGrad vs Adam on MNIST (book Fig. 6-9)",
        description="MNIST, 4 hidden layers of 100 ReLUs, batch 128, 2000 iterations with SGD, "
                    "Momentum, AdaGrad and Adam: loss curves",
        kind="curves", x_label="iteration", metrics=("loss", "test_acc"),
        data_label=f"{_MNIST} 60,000/10,000", quick=f"{ITERATIONS_QUICK} iterations",
        plan=plan_optimizers, execute=train.execute, summarize=summarize_curves),
    ExperimentSpec(
        name="batchnorm",
        title="Batch norm vs none over 16 weight scales (book Fig. 6-19)",
        description="1000 MNIST samples, 5 hidden layers of 100, SGD lr 0.01, 20 epochs, with "
                    "and without batch norm, weight std from 1 to 1e-4: train accuracy",
        kind="grid", x_label="epoch", metrics=("train_acc", "test_acc", "loss"),
        data_label=f"{_MNIST} 1,000/1,000", quick="4 weight scales (1, 0.046, 0.0022, 1e-4), "
                                                 "10 epochs",
        plan=plan_batchnorm, execute=train.execute, summarize=summarize_batchnorm),
    ExperimentSpec(
        name="overfit",
        title="Overfitting, weight decay and dropout (book Figs. 6-20 to 6-23)",
        description="300 MNIST samples, 6 hidden layers of 100, SGD lr 0.01: plain, weight "
                    "decay λ=0.1 (201 epochs), dropout 0.2 (301 epochs): train vs test accuracy",
        kind="curves", x_label="epoch", metrics=("train_acc", "test_acc", "loss"),
        data_label=f"{_MNIST} 300/10,000", quick="101/101/151 epochs, 2,000 test samples",
        plan=plan_overfit, execute=train.execute, summarize=summarize_overfit),
    ExperimentSpec(
        name="hyperparameter-search",
        title="Random search: lr and weight decay (book Fig. 6-24)",
        description="500 MNIST samples (20% validation), lr 10^U(-6,-2), weight decay "
                    "10^U(-8,-4), 100 trials of 50 epochs (--trials N): the best runs",
        kind="search", x_label="epoch", metrics=("val_acc", "train_acc", "loss"),
        data_label=f"{_MNIST} 400/100 validation",
        quick=f"{TRIALS_QUICK} trials of 20 epochs",
        plan=plan_search, execute=train.execute, summarize=summarize_search, takes_trials=True),
]
