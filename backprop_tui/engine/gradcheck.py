"""Numerical gradient checking, per layer and per tensor.

For every parameter of every layer, and for every layer's input, the analytic gradient from
``backward`` is compared with centered differences of the loss::

    numeric = (L(θ + h) − L(θ − h)) / 2h          (float64, h = 1e-5 by default)
    rel     = |a − n| / max(|a|, |n|)              (both zero counts as a pass)

An entry passes when ``rel ≤ tol`` (default 1e-6) *or* ``|a − n| ≤ atol`` (default 1e-9).
Centered differences carry an absolute error of roughly ``ε·|L|/h + h²·|L‴|/6`` — measured here
at 1e-11…5e-11 for losses of order 1 — so the relative error of a gradient entry that is itself
~1e-8 says nothing about the code. Entries smaller than ``atol/tol`` (1e-3 by default) are
therefore judged by their absolute error, and the reported ``max_rel_error`` is taken over the
larger entries only, where a relative error means something.

Modes, per tensor:

* ``full``        — every entry (2 loss evaluations each);
* ``sampled``     — ``k`` entries: half the largest ``|analytic|``, half uniformly at random (seeded);
* ``directional`` — one random unit direction ``v``: compare ``(L(θ+hv) − L(θ−hv)) / 2h`` with
  ``g·v``; O(1) evaluations however large the tensor (the idea behind PyTorch's fast mode);
* ``auto``        — ``full`` for tensors up to ``full_limit`` entries, otherwise ``sampled`` plus
  ``directional``.

A perturbation of a parameter of layer ``i`` only changes layers ``i…n``, so the loss is re-run
from layer ``i``'s saved input, not from the start.

Kinks: ReLU, max-pool and step layers make discrete choices. When a ``±h`` evaluation makes a
different choice than the unperturbed pass (a ReLU mask flips, a max-pool switch moves), the
entry straddles a kink: the finite difference is meaningless there, so the entry is counted in
``kinks`` and left out of the verdict instead of being reported as a failure.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .network import Network

Mode = Literal["auto", "full", "sampled", "directional"]
MODES: tuple[str, ...] = ("auto", "full", "sampled", "directional")

DEFAULT_H = 1e-5
DEFAULT_TOL = 1e-6
DEFAULT_ATOL = 1e-9
DEFAULT_K = 24
DEFAULT_FULL_LIMIT = 1000

#: the cs231n scale for relative errors
GOOD, SUSPICIOUS, WRONG = 1e-7, 1e-4, 1e-2


class GradcheckCancelled(Exception):
    """Raised when the ``cancelled`` callback asks the check to stop."""


def relative_error(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``|a − n| / max(|a|, |n|)``, with 0 where both are exactly zero."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    diff = np.abs(a - n)
    scale = np.maximum(np.abs(a), np.abs(n))
    out = np.zeros_like(diff)
    nz = scale > 0
    out[nz] = diff[nz] / scale[nz]
    return out


def scale_label(rel: float) -> str:
    """Name a relative error on the cs231n scale."""
    if not np.isfinite(rel) or rel > WRONG:
        return "wrong"
    if rel > SUSPICIOUS:
        return "suspicious"
    if rel > GOOD:
        return "fair"
    return "good"


@dataclass
class TensorCheck:
    """The result for one tensor (a parameter, or a layer's input) of one layer."""

    layer: str
    layer_index: int
    tensor: str  # parameter name (W, b, gamma…) or "x" for the layer's input
    kind: Literal["param", "input"]
    shape: tuple[int, ...]
    mode: str
    checked: int  # entries (or directions) compared
    kinks: int  # of which straddled a kink and were not judged
    max_abs_error: float
    max_rel_error: float  # over judged entries with max(|a|, |n|) ≥ atol / tol
    passed: bool
    #: flat indices of the compared entries (−1 for a directional comparison)
    indices: np.ndarray = field(repr=False)
    analytic: np.ndarray = field(repr=False)
    numeric: np.ndarray = field(repr=False)
    kinked: np.ndarray = field(repr=False)  # bool per compared entry

    @property
    def verdict(self) -> str:
        if self.checked and self.kinks == self.checked:
            return "kink"
        return "pass" if self.passed else "FAIL"

    def as_dict(self) -> dict:
        return {
            "layer": self.layer,
            "tensor": self.tensor,
            "kind": self.kind,
            "shape": list(self.shape),
            "mode": self.mode,
            "checked": self.checked,
            "kinks": self.kinks,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "passed": self.passed,
        }


@dataclass
class GradcheckReport:
    checks: list[TensorCheck]
    mode: str
    h: float
    tol: float
    atol: float
    loss: float
    evaluations: int

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed_layers(self) -> list[str]:
        seen: list[str] = []
        for c in self.checks:
            if not c.passed and c.layer not in seen:
                seen.append(c.layer)
        return seen

    def for_layer(self, name: str) -> list[TensorCheck]:
        return [c for c in self.checks if c.layer == name]


class _Evaluator:
    """Re-runs the loss from a layer, counting evaluations and detecting kink crossings."""

    def __init__(
        self,
        net: Network,
        t: np.ndarray,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.net = net
        self.t = t
        self.progress = progress
        self.cancelled = cancelled
        self.count = 0
        self.total = 0
        self.base_sig = [
            None if (s := layer.kink_signature()) is None else s.copy() for layer in net.layers
        ]

    def loss_from(self, i: int, h: np.ndarray) -> tuple[float, bool]:
        """Loss when layer ``i`` receives ``h``; and whether a kink choice changed."""
        if self.cancelled is not None and self.cancelled():
            raise GradcheckCancelled()
        net = self.net
        out = net.forward_from(i, h)
        loss = net.compute_loss(out, self.t)
        kinked = False
        for j in range(i, len(net.layers)):
            base = self.base_sig[j]
            if base is not None and not np.array_equal(base, net.layers[j].kink_signature()):
                kinked = True
                break
        self.count += 1
        if self.progress is not None:
            self.progress(self.count, self.total)
        return loss, kinked


def _pick_entries(analytic: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    size = analytic.size
    if size <= k:
        return np.arange(size)
    top = np.argsort(-np.abs(analytic.ravel()), kind="stable")[: k // 2]
    rest = np.setdiff1d(np.arange(size), top, assume_unique=True)
    rand = rng.choice(rest, size=k - top.size, replace=False)
    return np.sort(np.concatenate([top, rand]))


def _plan(size: int, mode: str, k: int, full_limit: int) -> tuple[str, int, int]:
    """(label, number of entries, number of directions) for one tensor."""
    if mode == "full" or (mode == "auto" and size <= full_limit):
        return "full", size, 0
    if mode == "sampled":
        return f"sampled({min(k, size)})", min(k, size), 0
    if mode == "directional":
        return "directional", 0, 1
    return f"sampled({min(k, size)})+directional", min(k, size), 1


def gradcheck(
    net: Network,
    x: np.ndarray,
    t: np.ndarray,
    *,
    mode: Mode | str = "auto",
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    atol: float = DEFAULT_ATOL,
    k: int = DEFAULT_K,
    full_limit: int = DEFAULT_FULL_LIMIT,
    seed: int = 0,
    layers: list[str] | None = None,
    inputs: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    inplace: bool = False,
) -> GradcheckReport:
    """Check every parameter gradient and every layer-input gradient of ``net`` on ``(x, t)``.

    The network must be float64. Unless ``inplace`` is true the check runs on a deep copy, so the
    caller's network (its caches, gradients, Dropout masks, BatchNorm statistics) is untouched.
    Dropout masks are drawn once and then frozen, so every evaluation sees the same function.
    """
    if mode not in MODES:
        raise ValueError(f"unknown gradcheck mode {mode!r}; expected one of {', '.join(MODES)}")
    if net.dtype != np.float64:
        raise ValueError(f"gradient checks need a float64 network, this one is {net.dtype}")
    if not inplace:
        net = copy.deepcopy(net)
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    net.train(True)
    base_loss = net.loss(x, t)
    with net.frozen():
        # Re-run frozen so that BatchNorm's running statistics are not part of what we compare.
        base_loss = net.loss(x, t)
        net.backward(need_input_grad=True)
        base_inputs = list(net.inputs)
        ev = _Evaluator(net, t, progress, cancelled)

        # plan the work so that progress has a total
        jobs: list[tuple[int, str, str, np.ndarray, str, int, int]] = []
        for i, layer in enumerate(net.layers):
            if layers is not None and layer.name not in layers:
                continue
            for name, g in layer.grads.items():
                if name in layer.params:
                    label, n_ent, n_dir = _plan(g.size, mode, k, full_limit)
                    jobs.append((i, "param", name, g.copy(), label, n_ent, n_dir))
            if inputs and net.dinputs[i] is not None:
                dx = net.dinputs[i]
                label, n_ent, n_dir = _plan(dx.size, mode, k, full_limit)
                jobs.append((i, "input", "x", dx.copy(), label, n_ent, n_dir))
        ev.total = sum(2 * (n_ent + n_dir) for *_, n_ent, n_dir in jobs)

        checks = []
        for i, kind, name, g, label, n_ent, n_dir in jobs:
            layer = net.layers[i]
            if kind == "param":
                target = layer.params[name]

                def run(i=i):
                    return ev.loss_from(i, base_inputs[i])
            else:
                target = base_inputs[i].copy()

                def run(i=i, target=target):
                    return ev.loss_from(i, target)

            idx = _pick_entries(g, n_ent, rng) if n_ent < g.size else np.arange(g.size)
            if n_ent == 0:
                idx = np.zeros(0, dtype=np.int64)
            flat = target.reshape(-1)  # a view: perturbing it perturbs the tensor
            ana, num, kink = [], [], []
            for j in idx:
                orig = flat[j]
                flat[j] = orig + h
                lp, kp = run()
                flat[j] = orig - h
                lm, km = run()
                flat[j] = orig
                ana.append(g.flat[j])
                num.append((lp - lm) / (2 * h))
                kink.append(kp or km)
            for _ in range(n_dir):
                v = rng.standard_normal(g.shape)
                v /= np.linalg.norm(v)
                orig = target.copy()
                target += h * v
                lp, kp = run()
                target[...] = orig - h * v
                lm, km = run()
                target[...] = orig
                ana.append(float(np.vdot(g, v)))
                num.append((lp - lm) / (2 * h))
                kink.append(kp or km)
            checks.append(
                _summarise(layer.name, i, kind, name, g.shape, label, idx, n_dir, ana, num, kink,
                           tol, atol)
            )
        # leave the network as the unperturbed pass left it
        net.loss(x, t)
        net.backward(need_input_grad=True)
    return GradcheckReport(checks, str(mode), h, tol, atol, base_loss, ev.count)


def _summarise(layer, i, kind, name, shape, label, idx, n_dir, ana, num, kink, tol, atol):
    analytic = np.asarray(ana, dtype=np.float64)
    numeric = np.asarray(num, dtype=np.float64)
    kinked = np.asarray(kink, dtype=bool)
    indices = np.concatenate([np.asarray(idx, dtype=np.int64), -np.ones(n_dir, dtype=np.int64)])
    abs_err = np.abs(analytic - numeric)
    rel = relative_error(analytic, numeric)
    judged = ~kinked
    ok = (rel <= tol) | (abs_err <= atol)
    ok &= np.isfinite(analytic) & np.isfinite(numeric)
    passed = bool(ok[judged].all())
    significant = judged & (np.maximum(np.abs(analytic), np.abs(numeric)) >= atol / tol)
    return TensorCheck(
        layer=layer,
        layer_index=i,
        tensor=name,
        kind=kind,
        shape=tuple(shape),
        mode=label,
        checked=int(analytic.size),
        kinks=int(kinked.sum()),
        max_abs_error=float(abs_err[judged].max()) if judged.any() else 0.0,
        max_rel_error=float(rel[significant].max()) if significant.any() else 0.0,
        passed=passed,
        indices=indices,
        analytic=analytic,
        numeric=numeric,
        kinked=kinked,
    )
