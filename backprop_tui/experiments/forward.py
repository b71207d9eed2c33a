"""``init-histograms``: the book's Figures 6-10 to 6-14 — 1000 random inputs forward through 5
layers of 100 units, and each layer's activations as a histogram of 30 bins over (0, 1)
(``weight_init_activation_histogram.py``: ``plt.hist(a.flatten(), 30, range=(0, 1))``, for the
ReLU figures too, so a ReLU activation above 1 falls outside the picture as it does there).

Forward only, through the engine's own layers: ``Affine`` (zero bias, as the book's ``x @ w``)
then ``Sigmoid`` or ``ReLU``, five times, as one :class:`~backprop_tui.engine.network.Network`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..engine.layers import Affine, ReLU, Sigmoid
from ..engine.losses import SoftmaxCrossEntropy
from ..engine.network import Network
from ..engine.registry import init_std
from ..scenario import seeded_rng
from .base import Context, ExperimentSpec, RunStatus
from .result import ExperimentResult, Histogram, RunResult

SAMPLES, UNITS, LAYERS = 1000, 100, 5
BINS, RANGE = 30, (0.0, 1.0)
#: (activation, init) of the book's six pictures: sigmoid with std 1, 0.01 and Xavier (6-10,
#: 6-11, 6-13), ReLU with std 0.01, Xavier and He (6-14)
RUNS: tuple[tuple[str, str | float], ...] = (
    ("sigmoid", 1.0), ("sigmoid", 0.01), ("sigmoid", "xavier"),
    ("relu", 0.01), ("relu", "xavier"), ("relu", "he"),
)
_ACTIVATIONS = {"sigmoid": Sigmoid, "relu": ReLU}
_LABELS = {"xavier": "Xavier", "he": "He"}


def _label(activation: str, init: str | float) -> str:
    kind = "sigmoid" if activation == "sigmoid" else "ReLU"
    return f"{kind}, {_LABELS[init] if isinstance(init, str) else f'std={init:g}'}"


def plan(settings: dict[str, Any]) -> list[RunResult]:
    return [RunResult(_label(act, init),
                      {"activation": act, "init": init, "layers": LAYERS, "units": UNITS,
                       "samples": SAMPLES, "bins": BINS, "seed": settings.get("seed", 0)})
            for act, init in RUNS]


def network(settings: dict[str, Any]) -> Network:
    """The run's network: ``layers`` × (Affine with weights of the run's std, zero bias, then
    the activation), its weights drawn from the seed's init stream."""
    rng = seeded_rng(int(settings["seed"]), "init")
    n, layers = int(settings["units"]), []
    init = settings["init"]
    for i in range(int(settings["layers"])):
        std = init_std(float(init) if not isinstance(init, str) else init, n)
        layers.append(Affine(rng.standard_normal((n, n)) * std, np.zeros(n), name=f"affine{i + 1}"))
        layers.append(_ACTIVATIONS[str(settings["activation"])](name=f"act{i + 1}"))
    return Network(layers, SoftmaxCrossEntropy(), input_shape=(n,))


def activations(settings: dict[str, Any]) -> list[np.ndarray]:
    """Each layer's activations for the run's 1000 random inputs (the same inputs for every
    run of a seed: the book's one ``x``)."""
    x = seeded_rng(int(settings["seed"]), "inputs").standard_normal(
        (int(settings["samples"]), int(settings["units"])))
    net = network(settings)
    net.forward(x)
    # the input of every second layer is the activation below it; the last is the output
    return [*(net.inputs[i] for i in range(2, len(net.layers), 2)), net.output]


def execute(ctx: Context, index: int) -> RunStatus:
    run = ctx.result.runs[index]
    t0 = time.perf_counter()
    run.histograms = [
        Histogram(f"layer {i + 1}", *_hist(a, int(run.settings["bins"])))
        for i, a in enumerate(activations(run.settings))]
    run.seconds = time.perf_counter() - t0
    return "done"


def _hist(a: np.ndarray, bins: int) -> tuple[list[float], list[int]]:
    counts, edges = np.histogram(a.ravel(), bins, range=RANGE)
    return edges.tolist(), counts.astype(int).tolist()


# -- the result in words --------------------------------------------------------------------------
def outer_share(run: RunResult) -> float:
    """The share of all layers' activations in the outermost bins (below 1/30, above 29/30)."""
    counts = np.array([h.counts for h in run.histograms])
    return float(counts[:, [0, -1]].sum() / counts.sum())


def middle_share(run: RunResult) -> float:
    """The share of all layers' activations in the two middle bins (14/30 to 16/30, around
    sigmoid(0) = 0.5)."""
    counts = np.array([h.counts for h in run.histograms])
    mid = counts.shape[1] // 2
    return float(counts[:, mid - 1 : mid + 1].sum() / counts.sum())


def bins_used(run: RunResult, share: float = 0.01) -> int:
    """How many bins hold at least ``share`` of the activations (all layers together): how far
    they spread."""
    counts = np.array([h.counts for h in run.histograms]).sum(axis=0)
    return int((counts >= share * counts.sum()).sum())


def summarize(result: ExperimentResult) -> list[str]:
    lines = []
    for run in result.runs:
        if run.status != "done" or not run.histograms:
            continue
        if run.settings["activation"] == "sigmoid":
            lines.append(f"{run.name}: {100 * outer_share(run):.0f}% of the activations in the "
                         f"outer bins (<1/30, >29/30), {100 * middle_share(run):.0f}% in the two "
                         f"middle bins, {bins_used(run)} of {BINS} bins hold ≥1%")
        else:
            share_zero = np.array([h.counts[0] for h in run.histograms]) / np.array(
                [sum(h.counts) for h in run.histograms])
            lines.append(f"{run.name}: {bins_used(run)} of {BINS} bins hold ≥1%; share in the "
                         f"first bin (<1/30) by layer: "
                         + " ".join(f"{100 * s:.0f}%" for s in share_zero))
    return lines


SPEC = ExperimentSpec(
    name="init-histograms",
    title="Activations per layer by weight init (book Figs. 6-10 to 6-14)",
    description="Activation histograms of 5 layers of 100 sigmoid/ReLU units for std 1, 0.01, "
                "Xavier and He: saturation, collapse and spread (forward only)",
    kind="histograms", x_label="step", metrics=(), data_label="1000 random inputs",
    quick="nothing (forward only, well under a second)",
    plan=plan, execute=execute, summarize=summarize)
