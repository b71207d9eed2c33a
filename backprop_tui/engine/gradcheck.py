"""Numerical gradient checking, per layer and per tensor.

For every parameter of every layer, and for every layer's input, the analytic gradient from
``backward`` is compared with centered differences of the loss::

    numeric = (L(θ + h) − L(θ − h)) / 2h          (float64, h = 1e-5 by default)
    rel     = |a − n| / max(|a|, |n|)              (both zero counts as a pass)

An entry passes when ``rel ≤ tol`` (default 1e-6) *or* ``|a − n| ≤ atol·max(1, |f|)`` (default
atol 1e-9, scaled by the magnitude of the function being differenced, since round-off is
relative to it).
Centered differences carry an absolute error of roughly ``ε·|L|/h + h²·|L‴|/6`` — measured here
at 1e-11…5e-11 for losses of order 1 — so the relative error of a gradient entry that is itself
~1e-8 says nothing about the code. Entries smaller than ``atol/tol`` (1e-3 by default) are
therefore judged by their absolute error, and the reported ``max_rel_error`` is taken over the
larger entries only, where a relative error means something.

Modes, per tensor:

* ``full``        — every entry (2 loss evaluations each);
* ``sampled``     — ``k`` entries: half the largest ``|analytic|``, half at random (seeded);
* ``directional`` — one random unit direction ``v``: compare ``(L(θ+hv) − L(θ−hv)) / 2h`` with
  ``g·v``; O(1) evaluations however large the tensor (the idea behind PyTorch's fast mode);
* ``auto``        — ``full`` for tensors up to ``full_limit`` entries, otherwise ``sampled`` plus
  ``directional``.

A perturbation of a parameter of layer ``i`` only changes layers ``i…n``, so the loss is re-run
from layer ``i``'s saved input, not from the start.

An entry that misses at ``h`` is measured again at ``h/10``: truncation error shrinks as
``h²·f‴``, so a correct but very curved layer (BatchNorm over a feature that barely varies) agrees
there, while a wrong backward misses at every step. Such entries are counted in ``refined``.

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
SCOPES: tuple[str, ...] = ("local", "global")

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
    #: entries that missed at h but agreed at h/10 (truncation error, not a bug)
    refined: int = 0

    @property
    def verdict(self) -> str:
        if self.checked and self.kinks == self.checked:
            return "kink"
        return "pass" if self.passed else "FAIL"

    @property
    def label(self) -> str:
        """How the error compares on the cs231n scale (good / fair / suspicious / wrong)."""
        if not self.passed:
            return "wrong" if self.max_rel_error > WRONG else scale_label(self.max_rel_error)
        return scale_label(self.max_rel_error)

    def as_dict(self) -> dict:
        return {
            "layer": self.layer,
            "tensor": self.tensor,
            "kind": self.kind,
            "shape": list(self.shape),
            "mode": self.mode,
            "checked": self.checked,
            "kinks": self.kinks,
            "refined": self.refined,
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
    scope: str = "local"

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

    def __str__(self) -> str:
        """A plain-text table, for ``print(report)`` in a script or a notebook (the CLI draws
        the same numbers with rich)."""
        failed = sum(not c.passed for c in self.checks)
        head = (f"gradient check {'passed' if self.passed else 'FAILED'}"
                + (f" ({failed} of {len(self.checks)} tensors)" if failed else
                   f" ({len(self.checks)} tensors)")
                + f" · {self.scope} scope, mode {self.mode}, h={self.h:g}, "
                  f"{self.evaluations:,} loss evaluations")
        rows = [("layer", "gradient", "shape", "checked", "kinks", "max |a−n|", "max rel",
                 "verdict")]
        for c in self.checks:
            grad = "all" if c.layer == "network" else (f"d{c.tensor}" if c.kind == "param"
                                                       else "dx")
            rows.append((c.layer, grad, "×".join(map(str, c.shape)) or "–", f"{c.checked:,}",
                         str(c.kinks), f"{c.max_abs_error:.1e}", f"{c.max_rel_error:.1e}",
                         f"{c.verdict} ({c.label})"))
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        right = {3, 4, 5, 6}
        lines = [head]
        for r in rows:
            lines.append("  ".join(v.rjust(w) if j in right else v.ljust(w)
                                   for j, (v, w) in enumerate(zip(r, widths, strict=True)))
                         .rstrip())
        lines.append(f"an entry passes if |a−n|/max(|a|,|n|) ≤ {self.tol:g} or |a−n| ≤ "
                     f"{self.atol:g} (a: analytic, from backward; n: numeric)")
        return "\n".join(lines)

    def _repr_pretty_(self, p: object, cycle: bool) -> None:  # IPython / Jupyter display
        p.text(str(self))  # type: ignore[attr-defined]


class _Counter:
    """Counts loss evaluations for progress, and lets a caller cancel between them."""

    def __init__(
        self,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.progress = progress
        self.cancelled = cancelled
        self.count = 0
        self.total = 0

    def tick(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise GradcheckCancelled()
        self.count += 1
        if self.progress is not None:
            self.progress(self.count, self.total)


def _signature(layers) -> list[np.ndarray | None]:
    return [None if (s := layer.kink_signature()) is None else s.copy() for layer in layers]


def _changed(layers, base: list[np.ndarray | None]) -> bool:
    for layer, sig in zip(layers, base, strict=True):
        if sig is not None and not np.array_equal(sig, layer.kink_signature()):
            return True
    return False


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


@dataclass
class _Job:
    layer: str
    layer_index: int
    kind: Literal["param", "input"]
    tensor: str
    target: np.ndarray  # the array that is perturbed in place
    analytic: np.ndarray
    run: Callable[[], tuple[float, bool]]  # the function value, and whether a kink flipped
    label: str
    n_entries: int
    n_dirs: int


def _passes(a: float, n: float, tol: float, atol: float) -> bool:
    err = abs(a - n)
    scale = max(abs(a), abs(n))
    return bool(np.isfinite(a) and np.isfinite(n) and (err <= atol or err <= tol * scale))


def _compare(job: _Job, h: float, rng: np.random.Generator, tol: float, atol: float) -> TensorCheck:
    g, target = job.analytic, job.target
    if job.n_entries >= g.size:
        idx = np.arange(g.size)
    elif job.n_entries:
        idx = _pick_entries(g, job.n_entries, rng)
    else:
        idx = np.zeros(0, dtype=np.int64)
    flat = target.reshape(-1) if idx.size else None  # a view: perturbing it perturbs the tensor
    ana, num, kink, atols = [], [], [], []
    refined = 0

    def central(apply: Callable[[float], None], step: float) -> tuple[float, bool, float]:
        apply(step)
        lp, kp = job.run()
        apply(-step)
        lm, km = job.run()
        apply(0.0)
        return (lp - lm) / (2 * step), kp or km, max(abs(lp), abs(lm), 1.0)

    def judge(a: float, apply: Callable[[float], None]) -> None:
        nonlocal refined
        n, kinked, scale = central(apply, h)
        if not kinked and not _passes(a, n, tol, atol * scale):
            # Truncation error grows as h²·f‴: a correct layer with a very curved forward
            # (BatchNorm over a feature that barely varies) can miss at h and agree at h/10,
            # while a wrong backward misses at every h. Keep the estimate that agrees, and say so.
            n2, kinked2, scale2 = central(apply, h / 10)
            if not kinked2 and _passes(a, n2, tol, atol * scale2):
                n, scale = n2, scale2
                refined += 1
        ana.append(a)
        num.append(n)
        kink.append(kinked)
        atols.append(atol * scale)

    for j in idx:
        orig = flat[j]

        def apply(d: float, j: int = j, orig: float = orig) -> None:
            flat[j] = orig + d if d else orig

        judge(float(g.flat[j]), apply)
    for _ in range(job.n_dirs):
        v = rng.standard_normal(g.shape)
        v /= np.linalg.norm(v)
        orig = target.copy()

        def apply(d: float, v: np.ndarray = v, orig: np.ndarray = orig) -> None:
            target[...] = orig + d * v if d else orig

        judge(float(np.vdot(g, v)), apply)
    return _summarise(job, idx, ana, num, kink, atols, refined, tol)


def gradcheck(
    net: Network,
    x: np.ndarray,
    t: np.ndarray,
    *,
    mode: Mode | str = "auto",
    scope: Literal["local", "global"] = "local",
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    atol: float = DEFAULT_ATOL,
    k: int = DEFAULT_K,
    full_limit: int = DEFAULT_FULL_LIMIT,
    seed: int = 0,
    layers: list[str] | None = None,
    inputs: bool = True,
    end_to_end: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    inplace: bool = False,
) -> GradcheckReport:
    """Check every parameter gradient and every layer-input gradient of ``net`` on ``(x, t)``.

    ``scope="local"`` (the default) checks each layer against *its own* forward: with ``dout``
    the gradient that reached the layer's output in the real backward pass, it differentiates
    ``f(θ, x) = ⟨forward(x; θ), dout⟩ (+ ½·λ·‖W‖²)`` numerically and compares with what the
    layer's ``backward(dout)`` returned. A wrong backward therefore fails on exactly its own
    layer, whatever the layers around it do. The loss layer is checked the same way, as
    ``loss``, and — unless ``end_to_end`` is false — one more row, ``network``, compares the
    whole chain: the full loss along one random direction in the space of all parameters.

    ``scope="global"`` perturbs each tensor and re-runs the real loss from that layer on: the
    classic check, in which a bug also shows in every layer below it.

    The network must be float64. Unless ``inplace`` is true the check runs on a deep copy, so the
    caller's network (caches, gradients, Dropout masks, BatchNorm statistics) is untouched.
    Dropout masks are drawn once and then frozen, so every evaluation sees the same function.
    """
    if mode not in MODES:
        raise ValueError(f"unknown gradcheck mode {mode!r}; expected one of {', '.join(MODES)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown gradcheck scope {scope!r}; expected "
                         + " or ".join(repr(s) for s in SCOPES))
    if net.dtype != np.float64:
        raise ValueError(f"gradient checks need a float64 network, this one is {net.dtype}")
    if not inplace:
        net = copy.deepcopy(net)
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    net.train(True)
    net.loss(x, t)  # draws the Dropout masks that every later evaluation reuses
    counter = _Counter(progress, cancelled)
    with net.frozen():
        base_loss = net.loss(x, t)
        net.backward(need_input_grad=True)
        base_inputs = [h.copy() for h in net.inputs]
        jobs: list[_Job] = []
        for i, layer in enumerate(net.layers):
            if layers is not None and layer.name not in layers:
                continue
            jobs.extend(_layer_jobs(net, i, base_inputs, t, scope, inputs, mode, k, full_limit,
                                    counter))
        if scope == "local" and inputs and (layers is None or "loss" in layers):
            jobs.append(_loss_job(net, t, mode, k, full_limit, counter))
        if scope == "local" and end_to_end and layers is None:
            job = _end_to_end_job(net, x, t, counter)
            if job is not None:
                jobs.append(job)
        counter.total = sum(2 * (j.n_entries + j.n_dirs) for j in jobs)

        checks = [_compare(job, h, rng, tol, atol) for job in jobs]
        # leave the network exactly as the unperturbed pass left it
        net.loss(x, t)
        net.backward(need_input_grad=True)
    return GradcheckReport(checks, str(mode), h, tol, atol, base_loss, counter.count, scope)


def _layer_jobs(net, i, base_inputs, t, scope, inputs, mode, k, full_limit, counter) -> list[_Job]:
    layer = net.layers[i]
    n = len(net.layers)
    upstream = net.dout if i == n - 1 else net.dinputs[i + 1]
    jobs = []
    if scope == "local":
        base_sig = _signature([layer])
        decay = [name for name in layer.decay if net.l2 and layer.trainable]

        def local(h_in: np.ndarray) -> tuple[float, bool]:
            counter.tick()
            value = float(np.vdot(layer.forward(h_in), upstream))
            for name in decay:
                w = layer.params[name]
                value += 0.5 * net.l2 * float(np.vdot(w, w))
            return value, _changed([layer], base_sig)

        x_in = base_inputs[i]
        run_param = lambda: local(x_in)  # noqa: E731
        x_pert = x_in.copy()
        run_input = lambda: local(x_pert)  # noqa: E731
    else:
        base_sig = _signature(net.layers[i:])

        def global_(h_in: np.ndarray) -> tuple[float, bool]:
            counter.tick()
            value = net.compute_loss(net.forward_from(i, h_in), t)
            return value, _changed(net.layers[i:], base_sig)

        x_in = base_inputs[i]
        run_param = lambda: global_(x_in)  # noqa: E731
        x_pert = x_in.copy()
        run_input = lambda: global_(x_pert)  # noqa: E731

    for name, g in layer.grads.items():
        if name in layer.params:
            label, n_ent, n_dir = _plan(g.size, mode, k, full_limit)
            jobs.append(_Job(layer.name, i, "param", name, layer.params[name], g.copy(),
                             run_param, label, n_ent, n_dir))
    if inputs and net.dinputs[i] is not None:
        dx = net.dinputs[i]
        label, n_ent, n_dir = _plan(dx.size, mode, k, full_limit)
        jobs.append(_Job(layer.name, i, "input", "x", x_pert, dx.copy(), run_input, label,
                         n_ent, n_dir))
    return jobs


def _loss_job(net, t, mode, k, full_limit, counter) -> _Job:
    out = net.output.copy()
    loss_layer = net.loss_layer

    def run() -> tuple[float, bool]:
        counter.tick()
        return loss_layer.forward(out, t), False

    label, n_ent, n_dir = _plan(out.size, mode, k, full_limit)
    return _Job("loss", len(net.layers), "input", "x", out, net.dout.copy(), run, label,
                n_ent, n_dir)


class _AllParams:
    """All trainable parameters seen as one vector, for the end-to-end directional check."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = arrays
        self.size = sum(a.size for a in arrays)
        self.shape = (self.size,)

    def copy(self) -> np.ndarray:
        return np.concatenate([a.ravel() for a in self.arrays])

    def reshape(self, *_):
        raise TypeError("entries of the end-to-end check are not addressable")

    def _assign(self, flat: np.ndarray) -> None:
        pos = 0
        for a in self.arrays:
            a[...] = flat[pos : pos + a.size].reshape(a.shape)
            pos += a.size

    def __iadd__(self, delta: np.ndarray) -> _AllParams:
        self._assign(self.copy() + delta)
        return self

    def __setitem__(self, key, value: np.ndarray) -> None:
        self._assign(np.asarray(value))


def _end_to_end_job(net, x, t, counter) -> _Job | None:
    arrays, grads = [], []
    for layer in net.layers:
        if layer.trainable:
            for name, p in layer.params.items():
                if name in layer.grads:
                    arrays.append(p)
                    grads.append(layer.grads[name].ravel())
    if not arrays:
        return None
    base_sig = _signature(net.layers)

    def run() -> tuple[float, bool]:
        counter.tick()
        return net.loss(x, t), _changed(net.layers, base_sig)

    g = np.concatenate(grads)
    return _Job("network", -1, "param", "all parameters", _AllParams(arrays), g, run,
                "directional", 0, 1)


def _summarise(job: _Job, idx, ana, num, kink, atols, refined: int, tol: float) -> TensorCheck:
    analytic = np.asarray(ana, dtype=np.float64)
    numeric = np.asarray(num, dtype=np.float64)
    kinked = np.asarray(kink, dtype=bool)
    atol_eff = np.asarray(atols, dtype=np.float64)
    indices = np.concatenate(
        [np.asarray(idx, dtype=np.int64), -np.ones(job.n_dirs, dtype=np.int64)]
    )
    abs_err = np.abs(analytic - numeric)
    rel = relative_error(analytic, numeric)
    judged = ~kinked
    ok = (rel <= tol) | (abs_err <= atol_eff)
    ok &= np.isfinite(analytic) & np.isfinite(numeric)
    passed = bool(ok[judged].all())
    significant = judged & (np.maximum(np.abs(analytic), np.abs(numeric)) >= atol_eff / tol)
    return TensorCheck(
        layer=job.layer,
        layer_index=job.layer_index,
        tensor=job.tensor,
        kind=job.kind,
        shape=tuple(job.analytic.shape),
        mode=job.label,
        checked=int(analytic.size),
        kinks=int(kinked.sum()),
        max_abs_error=float(abs_err[judged].max()) if judged.any() else 0.0,
        max_rel_error=float(rel[significant].max()) if significant.any() else 0.0,
        passed=passed,
        indices=indices,
        analytic=analytic,
        numeric=numeric,
        kinked=kinked,
        refined=refined,
    )
