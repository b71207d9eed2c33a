"""``optimizer-paths``: the book's Figure 6-8 — each optimizer's path on
f(x, y) = x²/20 + y² from (−7, 2), 30 steps (``optimizer_compare_naive.py``).

The point (x, y) is the one parameter of a one-layer network, and each step is the engine's own
``Optimizer.step`` — the update code the trainer runs — on the exact gradient (x/10, 2y).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..engine.layers import Layer
from ..engine.losses import MeanSquaredError
from ..engine.network import Network
from ..engine.optim import OPTIMIZERS
from .base import Context, ExperimentSpec, RunStatus
from .result import ExperimentResult, RunResult

START = (-7.0, 2.0)
STEPS = 30
#: the book's learning rates (Momentum's μ 0.9, Adam's β 0.9/0.999: the engine's defaults too)
RUNS = (("SGD", "sgd", 0.95), ("Momentum", "momentum", 0.1), ("AdaGrad", "adagrad", 1.5),
        ("Adam", "adam", 0.3))
CONTOUR = {"f": "x**2/20 + y**2", "xlim": [-10.0, 10.0], "ylim": [-5.0, 5.0]}


def f(x: float, y: float) -> float:
    return x * x / 20 + y * y


class Point(Layer):
    """The parameter ``p = (x, y)``; its gradient is set from f's, not by a backward pass."""

    kind = "Point"
    writes_inputs = False

    def __init__(self, x: float, y: float) -> None:
        super().__init__("point")
        self.params = {"p": np.array([x, y], dtype=np.float64)}
        self.grads = {"p": np.zeros(2)}

    def set_gradient(self) -> None:
        x, y = self.params["p"]
        self.grads["p"][:] = (x / 10, 2 * y)


def plan(settings: dict[str, Any]) -> list[RunResult]:
    return [RunResult(label, {"optimizer": kind, "lr": lr, "steps": STEPS,
                              "x0": START[0], "y0": START[1]})
            for label, kind, lr in RUNS]


def walk(settings: dict[str, Any]) -> list[tuple[float, float]]:
    """The positions from the start through every step (``steps + 1`` points)."""
    point = Point(float(settings["x0"]), float(settings["y0"]))
    net = Network([point], MeanSquaredError())
    opt = OPTIMIZERS[str(settings["optimizer"])](float(settings["lr"]))
    path = [tuple(float(v) for v in point.params["p"])]
    for _ in range(int(settings["steps"])):
        point.set_gradient()
        opt.step(net)
        path.append(tuple(float(v) for v in point.params["p"]))
    return path


def execute(ctx: Context, index: int) -> RunStatus:
    run = ctx.result.runs[index]
    t0 = time.perf_counter()
    run.path = walk(run.settings)
    run.seconds = time.perf_counter() - t0
    curve = run.curve("f")
    for i, (x, y) in enumerate(run.path):
        curve.add(i, f(x, y))
    return "done"


def distance(run: RunResult) -> float:
    """How far the run ended from the minimum (0, 0)."""
    x, y = run.path[-1] if run.path else (math.nan, math.nan)
    return math.hypot(x, y)


def summarize(result: ExperimentResult) -> list[str]:
    done = [r for r in result.runs if r.status == "done" and r.path]
    if not done:
        return []
    parts = ", ".join(f"{r.name} {distance(r):.3g}" for r in done)
    nearest = min(done, key=distance)
    return [f"distance from (0, 0) after {STEPS} steps: {parts}",
            f"{nearest.name} ends nearest the minimum; f at the end: "
            + ", ".join(f"{r.name} {r.last('f'):.3g}" for r in done)]


SPEC = ExperimentSpec(
    name="optimizer-paths",
    title="SGD, Momentum, AdaGrad, Adam on x²/20 + y² (book Fig. 6-8)",
    description="The four optimizers' paths over f(x, y) = x²/20 + y² from (-7, 2), 30 steps "
                "each, drawn on its contours",
    kind="paths", x_label="step", metrics=("f",), data_label="f(x, y) = x²/20 + y²",
    quick="nothing (30 steps, well under a second)",
    plan=plan, execute=execute, summarize=summarize, contour=CONTOUR)
