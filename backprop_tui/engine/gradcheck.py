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
``kinks`` and left out of the verdict instead of being reported as a failure. Code that does not
say which choice it made (a layer of the user's own, cs231n's max-pool with ties, a ReLU at exact
0) is found out by its numbers: an entry that misses at ``h`` and at ``h/10`` is a kink when the
one-sided differences ``(f(θ+s) − f(θ))/s`` and ``(f(θ) − f(θ−s))/s`` (s = h/10) disagree by
more than 1e-3 of their size and by as much as at s = h — the slope jumps at θ. On a smooth
function they differ by ``s·f″``, which shrinks tenfold with the step, so a wrong backward of a
smooth layer (or a sharply curved but correct one) is not taken for a kink.

Users' code is checked as it is: layers that may write into the arrays they receive get copies
(``Layer.writes_inputs``), and a layer that draws from numpy's global generator (the book's
Dropout) sees the same draws in every evaluation — the generator is put back, before each, to
where it stood before that layer's forward in the checked pass. A check that checked nothing does
not pass: a gradient of a shape other than its parameter's or input's, a parameter without a
gradient, or a tensor with no entries is a failure naming the layer. A loss whose forward takes
``log(p + ε)`` while its backward is the exact gradient without ε (the book's
``SoftmaxWithLoss``) is recognised, reported with ε and the difference, and passes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .network import Network, given
from .walk import Walk
from .ways_in import as_network

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
    #: what the numbers alone do not say: why it failed without a comparison (a gradient of the
    #: wrong shape, none at all), or why a difference is not a mistake (ε inside a loss's log)
    note: str = ""
    #: the difference is real but explained (see ``note``) and does not fail the check
    explained: bool = False

    @property
    def verdict(self) -> str:
        if self.checked and self.kinks == self.checked:
            return "kink"
        return "pass" if self.passed else "FAIL"

    @property
    def label(self) -> str:
        """How the error compares on the cs231n scale (good / fair / suspicious / wrong), or
        ``explained`` (see ``note``)."""
        if self.explained:
            return "explained"
        if not self.passed:
            if self.checked == self.kinks or self.max_rel_error > WRONG:
                return "wrong"
            return scale_label(self.max_rel_error)
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
            "note": self.note,
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
    #: layers not checked because no well-shaped gradient reached them (see ``note``)
    unchecked: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        if not self.unchecked:
            return ""
        return (f"not checked: {', '.join(self.unchecked)} — no gradient of the right shape "
                "reached them (see the failed dx above them)")

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
        for c in self.checks:
            if c.note:
                lines.append(f"{c.layer} {c.tensor}: {c.note}")
        if self.note:
            lines.append(self.note)
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
    #: why this gradient cannot be compared (wrong shape, missing): a failure, nothing checked
    problem: str = ""
    #: end-to-end row: the loss's measured forward/backward difference (an explained ε) per
    #: score, subtracted from the function so that the row checks the layers' chain alone
    loss_delta: np.ndarray | None = None


def _passes(a: float, n: float, tol: float, atol: float) -> bool:
    err = abs(a - n)
    scale = max(abs(a), abs(n))
    return bool(np.isfinite(a) and np.isfinite(n) and (err <= atol or err <= tol * scale))


def _compare(job: _Job, h: float, rng: np.random.Generator, tol: float, atol: float) -> TensorCheck:
    if job.problem:
        empty = np.zeros(0)
        return TensorCheck(job.layer, job.layer_index, job.tensor, job.kind,
                           tuple(np.shape(job.analytic)), "—", 0, 0, 0.0, 0.0, False,
                           np.zeros(0, dtype=np.int64), empty, empty, np.zeros(0, dtype=bool),
                           note=job.problem)
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

    base: list[float] = []  # f(θ), evaluated once if a one-sided difference needs it

    def central(apply: Callable[[float], None], step: float
                ) -> tuple[float, bool, float, float, float]:
        apply(step)
        lp, kp = job.run()
        apply(-step)
        lm, km = job.run()
        apply(0.0)
        return (lp - lm) / (2 * step), kp or km, max(abs(lp), abs(lm), 1.0), lp, lm

    def one_sided_kink(far: tuple[float, float], near: tuple[float, float], scale: float
                       ) -> bool:
        """The slope jumps at θ: the one-sided differences at s = h/10 disagree beyond
        round-off, and by as much as at h. On a smooth function they differ by s·|f″|, which
        shrinks tenfold with the step; across a kink by the jump in slope, which does not."""
        if not base:
            base.append(job.run()[0])
        f0 = base[0]

        def jump(lp: float, lm: float, step: float) -> tuple[float, float]:
            right, left = (lp - f0) / step, (f0 - lm) / step
            return abs(right - left), max(abs(right), abs(left))

        jump_h, _ = jump(*far, h)
        jump_s, size = jump(*near, h / 10)
        noise = 4 * np.finfo(np.float64).eps * scale / (h / 10)  # round-off of such a slope
        return jump_s > max(1e-3 * size, 100 * noise) and jump_s > 0.5 * jump_h

    def judge(a: float, apply: Callable[[float], None]) -> None:
        nonlocal refined
        n, kinked, scale, lp_h, lm_h = central(apply, h)
        if not kinked and not _passes(a, n, tol, atol * scale):
            # Truncation error grows as h²·f‴: a correct layer with a very curved forward
            # (BatchNorm over a feature that barely varies) can miss at h and agree at h/10,
            # while a wrong backward misses at every h. Keep the estimate that agrees, and say so.
            n2, kinked2, scale2, lp, lm = central(apply, h / 10)
            if not kinked2 and _passes(a, n2, tol, atol * scale2):
                n, scale = n2, scale2
                refined += 1
            elif kinked2 or one_sided_kink((lp_h, lm_h), (lp, lm), scale2):
                kinked = True
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
    net: Network | Any,
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

    ``net`` is a :class:`Network` or a whole network written the book's way (see
    :func:`~backprop_tui.engine.ways_in.as_network`); it must be float64. Unless
    ``inplace`` is true it runs on a deep copy, so the caller's network (caches, gradients,
    Dropout masks, BatchNorm statistics) is untouched. Dropout masks are drawn once and then
    frozen, so every evaluation sees the same function.
    """
    if mode not in MODES:
        raise ValueError(f"unknown gradcheck mode {mode!r}; expected one of {', '.join(MODES)}")
    if scope not in SCOPES:
        raise ValueError(f"unknown gradcheck scope {scope!r}; expected "
                         + " or ".join(repr(s) for s in SCOPES))
    net = as_network(net)
    if net.dtype != np.float64:
        raise ValueError(f"gradient checks need a float64 network, this one is {net.dtype}")
    if not inplace:
        net = copy.deepcopy(net)
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    net.train(True)
    counter = _Counter(progress, cancelled)
    walk = Walk(net)
    n_layers = len(net.layers)
    # numpy's global generator, which the book's Dropout draws from, before the checked pass
    global_rng = np.random.get_state()  # noqa: NPY002 - users' layers draw from it
    walk.start(x, t)
    for pos in range(n_layers + 1):  # draws the Dropout masks that every evaluation reuses
        walk.run(pos, check=False)
    with net.frozen():
        np.random.set_state(global_rng)  # noqa: NPY002
        base_loss, rng_before, reached = _checked_pass(walk, x, t)
        after_pass = np.random.get_state()  # noqa: NPY002
        base_inputs = [h.copy() for h in net.inputs]
        jobs: list[_Job] = []
        unchecked: list[str] = []
        for i, layer in enumerate(net.layers):
            if layers is not None and layer.name not in layers:
                continue
            if i < reached:  # no gradient reached it: the layer above returned a misshapen dx
                unchecked.append(layer.name)
                continue
            jobs.extend(_layer_jobs(net, i, base_inputs, t, scope, inputs, mode, k, full_limit,
                                    counter, rng_before))
        if scope == "local" and inputs and (layers is None or "loss" in layers):
            jobs.append(_loss_job(net, t, mode, k, full_limit, counter))
        if scope == "local" and end_to_end and layers is None and reached == 0:
            job = _end_to_end_job(net, x, t, counter, rng_before[0] if rng_before else None)
            if job is not None:
                jobs.append(job)
        counter.total = sum(2 * (j.n_entries + j.n_dirs) for j in jobs)

        checks = []
        for job in jobs:
            check = _compare(job, h, rng, tol, atol)
            if job.layer == "loss" and check.max_rel_error > tol / 10:
                _explain_loss_epsilon(check, net.output, t, tol, atol)
                if check.explained and check.indices.size == job.analytic.size \
                        and (check.indices >= 0).all():
                    # take the loss's own ε out of the end-to-end row: its subject is the chain
                    # of layers and the L2 term, and the loss row has said what ε does
                    delta = np.zeros(job.analytic.size)
                    delta[check.indices] = check.numeric - check.analytic
                    for other in jobs:
                        if other.layer == "network":
                            other.loss_delta = delta.reshape(job.analytic.shape)
            elif job.layer == "network" and job.loss_delta is not None:
                check.note = ("the loss's ε (see the loss row) is taken out of this "
                              "comparison, which checks the chain of layers and the L2 term")
            checks.append(check)
        # leave the network exactly as the unperturbed pass left it
        np.random.set_state(global_rng)  # noqa: NPY002
        _checked_pass(walk, x, t)
        np.random.set_state(after_pass)  # noqa: NPY002
    return GradcheckReport(checks, str(mode), h, tol, atol, base_loss, counter.count, scope,
                           unchecked)


def _checked_pass(walk: Walk, x: np.ndarray, t: np.ndarray) -> tuple[float, list[tuple], int]:
    """The pass every comparison refers to, unit by unit: forward, loss, backward. Returns the
    loss, where numpy's global generator stood before each layer's forward (the book's Dropout
    draws from it), and the index of the lowest layer a well-shaped gradient reached: a
    backward that returns a dx of the wrong shape ends the pass there (the layer below would
    fail on it, and be blamed for it)."""
    net = walk.net
    n = len(net.layers)
    rng_before = []
    walk.start(x, t)
    for pos in range(n):
        rng_before.append(np.random.get_state())  # noqa: NPY002
        walk.run(pos, check=False)
    unit = walk.run(n, check=False)
    loss, reached = unit.loss, n
    if not _well_shaped(unit.output, net.output):
        return loss, rng_before, reached
    for pos in range(n + 1, 2 * n + 1):
        unit = walk.run(pos, check=False)
        reached = walk.steps[pos][1]
        if not _well_shaped(unit.output, net.inputs[reached]):
            break
    return loss, rng_before, reached


def _well_shaped(dx: object, like: np.ndarray | None) -> bool:
    return isinstance(dx, np.ndarray) and like is not None and dx.shape == like.shape


def _layer_jobs(net, i, base_inputs, t, scope, inputs, mode, k, full_limit, counter,
                rng_before) -> list[_Job]:
    layer = net.layers[i]
    n = len(net.layers)
    upstream = net.dout if i == n - 1 else net.dinputs[i + 1]
    rng_state = rng_before[i]
    jobs = []
    if scope == "local":
        base_sig = _signature([layer])
        decay = [name for name in layer.decay if net.l2 and layer.trainable]

        def local(h_in: np.ndarray) -> tuple[float, bool]:
            counter.tick()
            np.random.set_state(rng_state)  # noqa: NPY002 - the draws of the checked pass
            value = float(np.vdot(layer.forward(given(layer, h_in)), upstream))
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
            np.random.set_state(rng_state)  # noqa: NPY002
            value = net.compute_loss(net.forward_from(i, h_in), t)
            return value, _changed(net.layers[i:], base_sig)

        x_in = base_inputs[i]
        run_param = lambda: global_(x_in)  # noqa: E731
        x_pert = x_in.copy()
        run_input = lambda: global_(x_pert)  # noqa: E731

    def problem(kind, tensor, analytic, note) -> _Job:
        return _Job(layer.name, i, kind, tensor, np.zeros(0), analytic, run_param, "—", 0, 0,
                    problem=note)

    where = f"{layer.name}'s backward"
    for name, p in layer.params.items():
        g = layer.grads.get(name)
        if g is None:
            if layer.trainable:
                jobs.append(problem("param", name, np.zeros(p.shape),
                                    f"{where} set no gradient for {name} (grads[{name!r}] "
                                    f"or d{name}): the update would leave it as it is"))
            continue
        g = np.asarray(g)
        if g.shape != p.shape:
            jobs.append(problem("param", name, g, f"{where} gave d{name} of shape {g.shape}, "
                                f"but {name} has shape {p.shape}"))
        elif g.size == 0:
            jobs.append(problem("param", name, g, f"{name} has no entries: nothing to check"))
        else:
            label, n_ent, n_dir = _plan(g.size, mode, k, full_limit)
            jobs.append(_Job(layer.name, i, "param", name, p, g.astype(np.float64), run_param,
                             label, n_ent, n_dir))
    if inputs:
        dx = net.dinputs[i]
        if not isinstance(dx, np.ndarray):
            jobs.append(problem("input", "x", np.zeros(x_in.shape),
                                f"{where} returned {type(dx).__name__}, not dx (an array shaped "
                                f"like its input {x_in.shape})"))
        elif dx.shape != x_in.shape:
            jobs.append(problem("input", "x", dx, f"{where} returned dx of shape {dx.shape}, "
                                f"but its input x has shape {x_in.shape}"))
        elif dx.size == 0:
            jobs.append(problem("input", "x", dx, "x has no entries: nothing to check"))
        else:
            label, n_ent, n_dir = _plan(dx.size, mode, k, full_limit)
            jobs.append(_Job(layer.name, i, "input", "x", x_pert, dx.astype(np.float64),
                             run_input, label, n_ent, n_dir))
    return jobs


def _loss_job(net, t, mode, k, full_limit, counter) -> _Job:
    out = net.output.copy()
    loss_layer = net.loss_layer

    def run() -> tuple[float, bool]:
        counter.tick()
        return loss_layer.forward(given(loss_layer, out), t), False

    dout = net.dout
    if not isinstance(dout, np.ndarray) or dout.shape != out.shape:
        what = (f"dx of shape {dout.shape}" if isinstance(dout, np.ndarray)
                else type(dout).__name__)
        return _Job("loss", len(net.layers), "input", "x", out, np.zeros(0), run, "—", 0, 0,
                    problem=f"the loss's backward returned {what}, but the scores it was given "
                            f"have shape {out.shape}")
    label, n_ent, n_dir = _plan(out.size, mode, k, full_limit)
    return _Job("loss", len(net.layers), "input", "x", out, dout.astype(np.float64), run, label,
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


def _end_to_end_job(net, x, t, counter, rng_state) -> _Job | None:
    arrays, grads = [], []
    for layer in net.layers:
        if layer.trainable:
            for name, p in layer.params.items():
                g = layer.grads.get(name)
                if g is not None and np.shape(g) == p.shape:  # else: a failed row already
                    arrays.append(p)
                    grads.append(np.asarray(g, dtype=np.float64).ravel())
    if not arrays:
        return None
    base_sig = _signature(net.layers)

    def run() -> tuple[float, bool]:
        counter.tick()
        if rng_state is not None:
            np.random.set_state(rng_state)  # noqa: NPY002
        value = net.loss(x, t)
        if job.loss_delta is not None:
            value -= float(np.vdot(job.loss_delta, net.output))
        return value, _changed(net.layers, base_sig)

    g = np.concatenate(grads)
    job = _Job("network", -1, "param", "all parameters", _AllParams(arrays), g, run,
               "directional", 0, 1)
    return job


def _explain_loss_epsilon(check: TensorCheck, scores: np.ndarray, t: np.ndarray, tol: float,
                          atol: float) -> None:
    """A softmax cross-entropy whose forward takes ``log(p + ε)`` (the book's guard against
    log 0) while its backward is the exact gradient ``(p − onehot(t))/N`` of the loss without ε:
    then ``numeric = analytic · p_t / (p_t + ε)`` row by row, the same ε in every row. If the
    compared entries fit that with one small ε, say so in ``check.note`` and pass the check;
    anything else (a missing 1/N, a wrong sign, mixed-up targets) still fails."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2 or check.indices.size == 0:
        return
    n, k = scores.shape
    z = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    t = np.asarray(t)
    if t.ndim == 2 and t.shape == scores.shape:
        labels = t.argmax(axis=1)
        if not np.array_equal(t, np.eye(k)[labels]):
            return  # soft targets: not the case this recognises
    elif t.ndim == 1 and len(t) == n and np.array_equal(t, np.round(t)) and t.min() >= 0 \
            and t.max() < k:
        labels = t.astype(np.int64)
    else:
        return
    idx = check.indices[check.indices >= 0]  # entries (a direction says nothing per row)
    if idx.size == 0:
        return
    a, num = check.analytic[: idx.size], check.numeric[: idx.size]
    exact = ((p - np.eye(k)[labels]) / n).ravel()[idx]
    if not np.allclose(a, exact, rtol=tol, atol=atol):
        return  # the backward is not the exact cross-entropy gradient
    rows = idx // k
    pt = p[np.arange(n), labels][rows]
    # ε from the entries where the factor p_t / (p_t + ε) is measurable: a confidently wrong
    # row (p_t ≪ ε) has a numeric gradient of ~0 and says only that ε ≫ p_t
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / a
    usable = (np.abs(a) > 1e-3 * np.abs(a).max()) & (ratio > 1e-3) & (ratio < 1.0)
    if not usable.any():
        return
    eps = float(np.median(pt[usable] * (1.0 / ratio[usable] - 1.0)))
    if not (np.isfinite(eps) and 0 < eps <= 1e-3):
        return
    expected = a * pt / (pt + eps)
    fits = np.abs(expected - num) <= np.maximum(tol * np.abs(num), atol)
    if not fits[~check.kinked[: idx.size]].all():
        return
    check.passed = True
    check.explained = True
    check.note = (f"forward takes log(p + ε) with ε ≈ {eps:.0e} while backward is the exact "
                  f"gradient (p − t)/N of the loss without ε: they differ by up to "
                  f"{check.max_rel_error:.1e} (relative), the most where p of the target class "
                  f"is small. The usual guard against log(0), not a mistake in backward.")


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
