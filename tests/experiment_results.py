"""Small, deterministic experiment results of every kind, for the compare view's tests: real
``ExperimentResult`` objects (saved and loaded back by :func:`saved`) whose numbers are computed
here — the optimizers' paths by the optimizers' own update rules on f = x²/20 + y², the
histograms of sigmoid/ReLU activations through 5 layers of 100 units — so the pictures show
what the book's figures show, in a few milliseconds and without running an experiment."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from backprop_tui.engine.optim import SGD, AdaGrad, Adam, Momentum
from backprop_tui.experiments.result import Curve, ExperimentResult, Histogram, RunResult

CONTOUR = {"f": "x**2/20 + y**2", "xlim": [-10, 10], "ylim": [-5, 5]}


def histograms() -> ExperimentResult:
    """Activations of 5 layers of 100 units for 1000 random inputs (the book's ch. 6 setup,
    with 200 inputs to stay fast), sigmoid at std 1, 0.01 and Xavier, ReLU at 0.01, Xavier
    and He."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((200, 100))
    runs = []
    for act, name, std in (("sigmoid", "std=1", 1.0), ("sigmoid", "std=0.01", 0.01),
                           ("sigmoid", "Xavier", math.sqrt(1 / 100)),
                           ("relu", "std=0.01", 0.01), ("relu", "Xavier", math.sqrt(1 / 100)),
                           ("relu", "He", math.sqrt(2 / 100))):
        x, hists = x0, []
        for layer in range(5):
            a = x @ (rng.standard_normal((100, 100)) * std)
            x = 1 / (1 + np.exp(-a)) if act == "sigmoid" else np.maximum(a, 0)
            hi = 1.0 if act == "sigmoid" else max(float(x.max()), 1e-12)
            counts, edges = np.histogram(x, bins=30, range=(0.0, hi))
            hists.append(Histogram(f"layer {layer + 1}", edges.tolist(), counts.tolist()))
        runs.append(RunResult(f"{act} {name}", {"activation": act, "std": std},
                              histograms=hists, status="done", seconds=0.2))
    return ExperimentResult("init-histograms", "Activations per layer (book Fig. 6-10 to 6-14)",
                            "histograms", "iteration", [], runs,
                            summary=["sigmoid std=1: most activations in the outer bins"])


def paths() -> ExperimentResult:
    """SGD lr 0.95, Momentum lr 0.1, AdaGrad lr 1.5, Adam lr 0.3 from (−7, 2), 30 steps, the
    package's own optimizers."""
    runs = []
    for name, opt in (("SGD", SGD(lr=0.95)), ("Momentum", Momentum(lr=0.1)),
                      ("AdaGrad", AdaGrad(lr=1.5)), ("Adam", Adam(lr=0.3))):
        p = {"x": np.array([-7.0]), "y": np.array([2.0])}
        points = [(-7.0, 2.0)]
        for _ in range(30):
            opt.t += 1  # what Optimizer.step does before its updates
            opt.update("x", p["x"], p["x"] / 10.0)
            opt.update("y", p["y"], 2.0 * p["y"])
            points.append((float(p["x"][0]), float(p["y"][0])))
        f = [x * x / 20 + y * y for x, y in points]
        runs.append(RunResult(name, {"optimizer": name}, path=points, status="done",
                              curves={"f": Curve("f", list(range(31)), f)}))
    return ExperimentResult("optimizer-paths", "Optimizer paths (book Fig. 6-8)", "paths",
                            "step", ["f"], runs, contour=dict(CONTOUR),
                            summary=["Adam ends nearest (0, 0)"])


def curves(status: tuple[str, ...] = ("done", "done", "done")) -> ExperimentResult:
    """Three loss curves falling at different rates over 2000 iterations, and accuracies."""
    rng = np.random.default_rng(1)
    runs = []
    for (name, rate), st in zip((("std=0.01", 0.0), ("Xavier", 1e-3), ("He", 2e-3)), status,
                                strict=True):
        x = np.arange(0, 2000, 10, dtype=float)
        loss = 2.3 * np.exp(-rate * x) + 0.05 + 0.05 * rng.random(x.size)
        acc = 1 - loss / 2.5
        runs.append(RunResult(name, {"init": name}, status=st, seconds=12.0, curves={
            "loss": Curve("loss", x.tolist(), loss.tolist()),
            "test_acc": Curve("test_acc", x[::20].tolist(), acc[::20].tolist())}))
    return ExperimentResult("init-compare", "Weight init (book Fig. 6-15)", "curves",
                            "iteration", ["loss", "test_acc"], runs,
                            summary=["He ends at the lowest loss"])


def grid() -> ExperimentResult:
    """Training accuracy with and without batch norm over 16 weight scales."""
    runs = []
    for w in np.logspace(0, -4, 16):
        for bn in (1, 0):
            speed = 0.9 if bn else 0.9 * math.exp(-abs(math.log10(w) + 1.5))
            x = list(range(1, 21))
            runs.append(RunResult(f"{'batch norm, ' if bn else ''}w={w:.2g}",
                                  {"w": float(w), "batch_norm": bn}, status="done", curves={
                                      "train_acc": Curve("train_acc", x,
                                                         [speed * i / 20 for i in x]),
                                      "loss": Curve("loss", x, [2.3 * math.exp(-speed * i / 4)
                                                                for i in x])}))
    return ExperimentResult("batchnorm", "Batch norm (book Fig. 6-19)", "grid", "epoch",
                            ["train_acc", "loss"], runs)


def search(n: int = 12) -> ExperimentResult:
    rng = np.random.default_rng(2)
    runs = []
    for lr, wd in zip(10 ** rng.uniform(-6, -2, n), 10 ** rng.uniform(-8, -4, n), strict=True):
        x = list(range(1, 51))
        top = min(0.9, 80 * lr)
        runs.append(RunResult(f"lr={lr:.2g}, λ={wd:.2g}", {"lr": float(lr),
                                                           "weight_decay": float(wd)},
                              status="done", curves={
                                  "val_acc": Curve("val_acc", x, [top * i / 50 for i in x]),
                                  "train_acc": Curve("train_acc", x,
                                                     [min(1, 1.1 * top * i / 50) for i in x])}))
    return ExperimentResult("hyperparameter-search", "Hyperparameter search (book Fig. 6-24)",
                            "search", "epoch", ["val_acc", "train_acc"], runs)


ALL = {"histograms": histograms, "paths": paths, "curves": curves, "grid": grid,
       "search": search}


def saved(result: ExperimentResult, folder: Path) -> ExperimentResult:
    """``result`` saved in ``folder`` and loaded back: what the compare view opens."""
    result.save(folder)
    return ExperimentResult.load(folder)
