"""Network health: what cs231n's "babysitting the learning process" looks at, one row per layer.

From a network's last forward and backward (and the weights from before the last update):

* the **activation histogram** of each layer's output (:data:`HIST_BINS` bins over its range);
* **dead ReLU units** by index — :func:`~backprop_tui.engine.conditions.dead_mask`, the one
  definition (zero for every sample of the batch); while training, :class:`HealthTracker`
  calls a unit dead only when it was dead on each of the last :data:`DEAD_WINDOW` batches;
* **saturated** sigmoid/tanh units: a unit whose output lies in the flat part of the curve for
  every sample of the batch — sigmoid ``y < 0.01`` or ``y > 0.99`` (local gradient
  ``y(1−y) < 0.0099``), tanh ``|y| > 0.99`` (``1 − y² < 0.0199``): like a dead unit, it passes
  almost no gradient;
* ``‖dW‖`` (the layer's weights: the parameters L2 decays, else all its parameters) and ``‖dx‖``
  (the gradient that left the layer towards its input): vanishing or exploding gradients show
  as a column of norms that shrinks or grows layer by layer;
* ``‖W‖`` and the update/weight ratio ``‖ΔW‖/‖W‖`` (``W`` before the update; for SGD exactly
  ``‖lr·dW‖/‖W‖``) — cs231n's rule of thumb: about :data:`UPDATE_RULE`;
* NaN/Inf entries in the layer's output, parameters and gradients.

And once, on the first iteration: the initial-loss check (:class:`LossCheck`) of a softmax
cross-entropy against ``ln C``.

This module imports numpy only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .conditions import dead_mask
from .layers import Layer, ReLU, Sigmoid, Tanh
from .network import Network
from .records import count_nonfinite

HIST_BINS = 10
#: sigmoid units are saturated below this or above 1 minus this; tanh units above 1 minus it
SATURATION = 0.01
#: cs231n: the update/weight ratio should be about 1e-3 (much lower: lr too low; higher: too high)
UPDATE_RULE = 1e-3
#: a ratio within this factor of UPDATE_RULE is fine (1e-4 … 1e-2)
UPDATE_FACTOR = 10.0
#: while training, a unit is dead when it was dead on each of this many last batches
DEAD_WINDOW = 10
#: a ReLU layer gets a warning when at least this fraction of its units is dead
DEAD_WARN = 0.1
#: a sigmoid or tanh layer gets a warning when at least this fraction of its units is saturated
SATURATED_WARN = 0.5
#: the initial loss is flagged when it is off ln C by more than this fraction of ln C
LOSS_TOLERANCE = 0.5
#: losses that are softmax cross-entropy: the built-in one, the book's (through bt.from_book)
#: and cs231n's function (through bt.from_functions)
SOFTMAX_LOSSES = frozenset({"SoftmaxCrossEntropy", "SoftmaxWithLoss", "softmax_loss"})


def is_relu(layer: Layer) -> bool:
    """A ReLU: the built-in, or a book-style ``Relu`` that keeps the book's ``mask``."""
    return isinstance(layer, ReLU) or (layer.kind.lower() == "relu" and "mask" in layer.cache)


def weight_keys(layer: Layer) -> tuple[str, ...]:
    """The parameters that are the layer's "W": those L2 decays, else all (BatchNorm's γ, β)."""
    return tuple(k for k in (layer.decay or tuple(layer.params)) if k in layer.params)


def _norm(arrays: list[np.ndarray]) -> float | None:
    if not arrays:
        return None
    return math.sqrt(sum(float(np.vdot(a, a).real) for a in arrays))


def _nonfinite(arrays: list[np.ndarray | None]) -> int:
    return sum(found[0] for a in arrays if a is not None
               and (found := count_nonfinite(a)) is not None)


def saturated_mask(layer: Layer, y: np.ndarray) -> np.ndarray | None:
    """Per unit: True when its output is in the flat part of a sigmoid or tanh for every
    sample (see the module's doc); None for any other layer."""
    if isinstance(layer, Sigmoid) or layer.kind.lower() == "sigmoid":
        flat = (y < SATURATION) | (y > 1 - SATURATION)
    elif isinstance(layer, Tanh) or layer.kind.lower() == "tanh":
        flat = np.abs(y) > 1 - SATURATION
    else:
        return None
    return flat.all(axis=0) if len(y) else np.zeros(y.shape[1:], dtype=bool)


@dataclass(frozen=True)
class LayerHealth:
    index: int
    name: str
    kind: str
    units: int  #: entries of one sample's output
    counts: tuple[int, ...]  #: the output's histogram: HIST_BINS counts over [low, high]
    low: float
    high: float
    dead_units: tuple[int, ...] | None  #: None: not a ReLU
    saturated: float | None  #: fraction of units; None: not a sigmoid or tanh
    grad_norm: float | None  #: ‖dW‖
    dx_norm: float | None  #: ‖dx‖, the gradient towards the layer's input
    weight_norm: float | None  #: ‖W‖ (after the update)
    update_ratio: float | None  #: ‖ΔW‖/‖W‖ of the last update
    nonfinite: int
    #: what is not measured yet in the debugger's current iteration ("" : nothing), e.g.
    #: ``"forward, backward"``: those steps of this layer have not run in this iteration
    pending: str = ""

    @property
    def dead(self) -> float | None:
        """Fraction of the units that are dead."""
        if self.dead_units is None:
            return None
        return len(self.dead_units) / self.units if self.units else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.name, "kind": self.kind, "units": self.units,
                "dead_units": None if self.dead_units is None else list(self.dead_units),
                "dead": self.dead, "saturated": self.saturated, "grad_norm": self.grad_norm,
                "dx_norm": self.dx_norm, "weight_norm": self.weight_norm,
                "update_ratio": self.update_ratio, "nonfinite": self.nonfinite,
                "pending": self.pending or None,
                "histogram": {"low": self.low, "high": self.high, "counts": list(self.counts)}}


@dataclass(frozen=True)
class LossCheck:
    """The first iteration's data loss (without the L2 term) against ``ln C``: a softmax over C
    classes of near-equal scores — what a small random init gives — has loss ln C."""

    loss: float
    classes: int

    @property
    def expected(self) -> float:
        return math.log(self.classes)

    @property
    def flagged(self) -> bool:
        return not abs(self.loss - self.expected) <= LOSS_TOLERANCE * self.expected

    def message(self) -> str:
        said = (f"initial loss {self.loss:.3f} (data loss, without L2) vs ln {self.classes} = "
                f"{self.expected:.3f}")
        if not self.flagged:
            return f"{said}: as expected"
        if self.loss > self.expected:
            return (f"{said}: too high — the scores start far from equal, usually a weight "
                    "scale too large; try a smaller init (xavier, or a std like 0.01)")
        return (f"{said}: too low — the network is sure of the labels before training, "
                "usually a bug (labels leaking into the input, a wrong loss)")


def loss_check(net: Network) -> LossCheck | None:
    """The initial-loss check of ``net``'s last loss step, for a softmax cross-entropy."""
    out = net.output
    if (net.loss_layer.kind not in SOFTMAX_LOSSES or net.data_loss is None or out is None
            or out.ndim != 2 or out.shape[1] < 2):
        return None
    return LossCheck(float(net.data_loss), int(out.shape[1]))


@dataclass(frozen=True)
class HealthReport:
    iteration: int  #: iterations whose update ran (0: none yet)
    layers: tuple[LayerHealth, ...]
    loss_check: LossCheck | None = None
    dead_window: int = 1  #: batches a unit must have been dead on in a row

    def warnings(self) -> list[str]:
        """One line each: what it means and what to try."""
        out = []
        if self.loss_check is not None and self.loss_check.flagged:
            out.append(self.loss_check.message())
        for h in self.layers:
            if h.nonfinite:
                out.append(f"{h.name}: {h.nonfinite} NaN/Inf entries — the numbers overflowed; "
                           "lower the learning rate or the init scale")
            if h.dead_units and h.dead is not None and h.dead >= DEAD_WARN:
                n = len(h.dead_units)
                out.append(f"{h.name}: {n} of {h.units} units dead (unit{'s' * (n != 1)} "
                           f"{unit_list(h.dead_units)}: output 0, so no gradient) — try He "
                           "init or a lower learning rate")
            if h.saturated is not None and h.saturated >= SATURATED_WARN:
                out.append(f"{h.name}: {h.saturated:.0%} of the units are saturated (flat "
                           "curve, no gradient) — try Xavier init or a smaller weight scale")
            r = h.update_ratio
            if r is not None and r > 0 and not _ratio_fine(r):
                what = "too small: raise the learning rate" if r < UPDATE_RULE else \
                    "too large: lower the learning rate"
                out.append(f"{h.name}: update/weight ratio {r:.1e} ({what}; cs231n: ~1e-3)")
        return out

    def as_dict(self) -> dict[str, Any]:
        lc = self.loss_check
        return {"iteration": self.iteration, "dead_window": self.dead_window,
                "initial_loss": lc.loss if lc else None,
                "expected_initial_loss": lc.expected if lc else None,
                "initial_loss_flagged": lc.flagged if lc else None,
                "layers": [h.as_dict() for h in self.layers], "warnings": self.warnings()}


def unit_list(units: tuple[int, ...], most: int = 8) -> str:
    """``6, 8, 18``; past ``most`` indices, ``…, (N more)``."""
    shown = ", ".join(str(u) for u in units[:most])
    return shown + (f", … ({len(units) - most} more)" if len(units) > most else "")


def _ratio_fine(r: float) -> bool:
    return UPDATE_RULE / UPDATE_FACTOR <= r <= UPDATE_RULE * UPDATE_FACTOR


def ratio_verdict(r: float | None) -> str:
    """``"fine"``, ``"low"``, ``"high"`` against cs231n's rule, or ``""`` without a ratio."""
    if r is None or not math.isfinite(r):
        return ""
    return "fine" if _ratio_fine(r) else ("low" if r < UPDATE_RULE else "high")


def layer_output(net: Network, i: int) -> np.ndarray | None:
    """Layer ``i``'s output in the last forward pass (the next layer's input)."""
    return net.inputs[i + 1] if i + 1 < len(net.layers) else net.output


@dataclass(frozen=True)
class Observed:
    """One layer's numbers from the debugger's current iteration (its step records): the
    forward step's output and cache (None: not run yet in this iteration) and the backward
    step's gradients and ``dx`` (``grads`` None: not run yet)."""

    output: np.ndarray | None = None
    cache: Mapping[str, np.ndarray] | None = None
    grads: Mapping[str, np.ndarray] | None = None
    dx: np.ndarray | None = None


def measure(net: Network, *, iteration: int,
            before: Mapping[str, np.ndarray] | None = None,
            dead: Mapping[int, np.ndarray] | None = None,
            check: LossCheck | None = None, dead_window: int = 1,
            observed: Mapping[int, Observed] | None = None) -> HealthReport:
    """One :class:`LayerHealth` per layer from the network's last forward and backward.

    ``before``: the weights from before the last update (keyed ``layer.param``), for ‖ΔW‖/‖W‖;
    ``dead``: per layer index, the dead units as a tracker found them (else each ReLU's mask on
    the last batch decides). ``observed``: per layer index, what this iteration's steps
    produced (the debugger): when given, the outputs, masks, gradients and ``dx`` come only
    from it — a step it lacks is *pending* — never from the network's arrays, which may be
    left over from an earlier iteration. Without it (the trainer, after a full iteration) they
    come from the network."""
    rows = []
    for i, layer in enumerate(net.layers):
        if observed is None:
            y, cache, grad_map, dx = layer_output(net, i), layer.cache, layer.grads, \
                net.dinputs[i]
            pending = ""
        else:
            ob = observed.get(i, Observed())
            y, cache, grad_map, dx = ob.output, ob.cache or {}, ob.grads or {}, ob.dx
            pending = ", ".join(step for step, missing in
                                (("forward", ob.output is None), ("backward", ob.grads is None))
                                if missing)
        counts, low, high = histogram(y)
        units = int(np.prod(y.shape[1:])) if y is not None else 0
        dead_units = None
        mask = cache.get("mask") if is_relu(layer) else None
        if mask is not None:  # a ReLU whose forward ran
            d = dead[i] if dead is not None and i in dead else dead_mask(mask)
            dead_units = tuple(int(k) for k in np.flatnonzero(d))
        sat = saturated_mask(layer, y) if y is not None else None
        keys = weight_keys(layer)
        grads = [grad_map[k] for k in keys if k in grad_map]
        weights = [layer.params[k] for k in keys]
        ratio = None
        if before is not None and weights:
            old = [before[f"{layer.name}.{k}"] for k in keys if f"{layer.name}.{k}" in before]
            if len(old) == len(keys):
                w_norm = _norm(old) or 0.0
                step = _norm([w - o for w, o in zip(weights, old, strict=True)]) or 0.0
                ratio = step / w_norm if w_norm else None
        rows.append(LayerHealth(
            index=i, name=layer.name, kind=layer.kind, units=units, counts=counts, low=low,
            high=high, dead_units=dead_units,
            saturated=None if sat is None else (float(sat.mean()) if sat.size else 0.0),
            grad_norm=_norm(grads), dx_norm=_norm([dx]) if dx is not None else None,
            weight_norm=_norm(weights), update_ratio=ratio,
            nonfinite=_nonfinite([y, *layer.params.values(), *grad_map.values(), dx]),
            pending=pending))
    return HealthReport(iteration, tuple(rows), check, dead_window)


def histogram(y: np.ndarray | None, bins: int = HIST_BINS) -> tuple[tuple[int, ...], float, float]:
    """``(counts, low, high)`` of the finite entries of ``y`` (all zero when there are none)."""
    if y is None:
        return (0,) * bins, math.nan, math.nan
    v = np.asarray(y).ravel()
    if v.dtype.kind not in "fc":
        v = v.astype(np.float64)
    if count_nonfinite(v) is not None:
        v = v[np.isfinite(v)]
    if v.size == 0:
        return (0,) * bins, math.nan, math.nan
    low, high = float(v.min()), float(v.max())
    counts, _ = np.histogram(v, bins=bins, range=(low, high) if high > low else
                             (low - 0.5, high + 0.5))
    return tuple(int(c) for c in counts), low, high


def incoming_weights(net: Network, i: int, unit: int) -> tuple[str, np.ndarray] | None:
    """The weights into unit ``unit`` of layer ``i``'s output (a dead unit's, to see why it is
    dead): from the nearest layer at or before ``i`` with a weight ``W`` — an affine's column
    ``W[:, unit]``, a convolution's filter ``W[c]`` of the unit's channel ``c``. ``(label,
    weights)``, or None when no layer before has such weights."""
    for j in range(i, -1, -1):
        layer = net.layers[j]
        W = layer.params.get("W")
        if W is None:
            continue
        if W.ndim == 2 and 0 <= unit < W.shape[1]:
            return f"{layer.name}.W[:, {unit}]", W[:, unit]
        y = layer_output(net, i)
        if W.ndim == 4 and y is not None and y.ndim == 4:
            c = unit // int(np.prod(y.shape[2:]))
            if 0 <= c < W.shape[0]:
                return f"{layer.name}.W[{c}]", W[c]
        return None
    return None


def weights_of(net: Network) -> dict[str, np.ndarray]:
    """Copies of every layer's weights (:func:`weight_keys`), keyed ``layer.param``."""
    return {f"{layer.name}.{k}": layer.params[k].copy()
            for layer in net.layers for k in weight_keys(layer)}


@dataclass
class HealthTracker:
    """Health while training, for the :class:`~backprop_tui.training.Trainer` (its ``health``).

    Cheap parts run on every batch: the dead-unit streaks (a unit is dead when it was dead on
    each of the last ``window`` batches; fewer at the start). The rest — histograms, norms, the
    update ratio — is measured on *sampled* iterations only: every ``every`` iterations, or at
    most once per ``seconds``. A sampled iteration runs in full mode (not lean), so every input
    and gradient the report reads is intact; the numbers are the same either way.
    """

    every: int | None = None
    seconds: float | None = None
    window: int = DEAD_WINDOW
    latest: HealthReport | None = None  #: the last report (replaced whole: safe to read)
    reports: list[HealthReport] = field(default_factory=list)  #: kept when ``keep`` is set
    keep: bool = False
    loss_checked: LossCheck | None = None
    sampling: bool = False
    _streaks: dict[int, np.ndarray] = field(default_factory=dict)
    _relus: list[tuple[int, Layer]] | None = None
    _seen: int = 0
    _before: dict[str, np.ndarray] | None = None
    _lean: list[bool] = field(default_factory=list)
    _next_time: float = 0.0

    def due(self, iteration: int) -> bool:
        if self.every is not None and iteration % self.every == 0:
            return True
        if self.seconds is not None:
            return time.monotonic() >= self._next_time
        return False

    def begin(self, net: Network, iteration: int) -> None:
        """Before iteration ``iteration``'s forward (1-based): a sampled one runs in full mode."""
        self.sampling = self.due(iteration) or iteration == 1
        if self.sampling:
            self._lean = [layer.lean for layer in net.layers]
            for layer in net.layers:
                layer.lean = False

    def before_update(self, net: Network, iteration: int) -> None:
        """After the backward, before the optimizer's step."""
        self._seen += 1
        if self._relus is None:
            self._relus = [(i, layer) for i, layer in enumerate(net.layers) if is_relu(layer)]
        for i, layer in self._relus:  # per batch: in place, a few µs (benchmarks/health_cost)
            now = dead_mask(layer.cache["mask"])
            s = self._streaks.get(i)
            if s is None or s.shape != now.shape:
                self._streaks[i] = now.astype(np.int64)
            else:  # dead again: one more; alive: back to 0
                np.add(s, now, out=s)
                np.multiply(s, now, out=s)
        if iteration == 1:
            self.loss_checked = loss_check(net)
        if self.sampling:
            self._before = weights_of(net)

    def after_update(self, net: Network, iteration: int) -> None:
        """After the optimizer's step: a sampled iteration's report."""
        if not self.sampling:
            return
        need = min(self.window, self._seen)
        dead = {i: s >= need for i, s in self._streaks.items()}
        report = measure(net, iteration=iteration, before=self._before, dead=dead,
                         check=self.loss_checked, dead_window=need)
        self.latest = report
        if self.keep:
            self.reports.append(report)
        for layer, was in zip(net.layers, self._lean, strict=True):
            layer.lean = was
        self.sampling = False
        self._before = None
        if self.seconds is not None:
            self._next_time = time.monotonic() + self.seconds
