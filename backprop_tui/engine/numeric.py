"""Comparing an analytic gradient with centered differences, one tensor at a time.

A :class:`Job` is one tensor to check: the array that is perturbed in place, the analytic
gradient, and a function that evaluates the checked function (and says whether a kink flipped).
:func:`compare` picks the entries (or a direction) as the mode says, measures each at ``h`` and,
where it misses, at ``h/10``, tells kinks from mistakes, and summarises a :class:`TensorCheck`.
The network check (:mod:`~backprop_tui.engine.gradcheck`) and the check of a parameter dict
(:mod:`~backprop_tui.engine.paramcheck`) both build jobs and hand them here.

This module imports numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .checks import TensorCheck, relative_error
from .contract import LayerError

Mode = Literal["auto", "full", "sampled", "directional"]
MODES: tuple[str, ...] = ("auto", "full", "sampled", "directional")

DEFAULT_H = 1e-5
DEFAULT_TOL = 1e-6
DEFAULT_ATOL = 1e-9
DEFAULT_K = 24
DEFAULT_FULL_LIMIT = 1000


class GradcheckCancelled(Exception):
    """Raised when the ``cancelled`` callback asks the check to stop."""


class Counter:
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


def pick_entries(analytic: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    size = analytic.size
    if size <= k:
        return np.arange(size)
    top = np.argsort(-np.abs(analytic.ravel()), kind="stable")[: k // 2]
    rest = np.setdiff1d(np.arange(size), top, assume_unique=True)
    rand = rng.choice(rest, size=k - top.size, replace=False)
    return np.sort(np.concatenate([top, rand]))


def plan(size: int, mode: str, k: int, full_limit: int) -> tuple[str, int, int]:
    """(label, number of entries, number of directions) for one tensor."""
    if mode == "full" or (mode == "auto" and size <= full_limit):
        return "full", size, 0
    if mode == "sampled":
        return f"sampled({min(k, size)})", min(k, size), 0
    if mode == "directional":
        return "directional", 0, 1
    return f"sampled({min(k, size)})+directional", min(k, size), 1


@dataclass
class Job:
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


def passes(a: float, n: float, tol: float, atol: float) -> bool:
    err = abs(a - n)
    scale = max(abs(a), abs(n))
    return bool(np.isfinite(a) and np.isfinite(n) and (err <= atol or err <= tol * scale))


def compare(job: Job, h: float, rng: np.random.Generator, tol: float, atol: float) -> TensorCheck:
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
        idx = pick_entries(g, job.n_entries, rng)
    else:
        idx = np.zeros(0, dtype=np.int64)
    ana, num, kink, atols = [], [], [], []
    refined = 0

    base: list[float] = []  # f(θ), evaluated once if a one-sided difference needs it
    apply_none: Callable[[], None] = lambda: None  # noqa: E731

    def evaluate() -> tuple[float, bool]:
        try:
            return job.run()
        except (GradcheckCancelled, LayerError):
            apply_none()  # the tensor (the user's own array, perhaps) as it was
            raise
        except Exception as e:  # the user's code raised on a perturbed input: name it
            apply_none()
            what = {"network": "the network, in the end-to-end check,",
                    "loss": "the loss, in its gradient check (scores perturbed),"}.get(
                job.layer, f"the forward of layer {job.layer!r}, in its gradient check "
                           f"({job.tensor} perturbed),")
            raise LayerError(what, e, layer=None if job.layer in ("network", "loss")
                             else job.layer, phase="forward") from e

    def central(apply: Callable[[float], None], step: float
                ) -> tuple[float, bool, float, float, float]:
        nonlocal apply_none
        apply_none = lambda: apply(0.0)  # noqa: E731 - put the tensor back before raising
        apply(step)
        lp, kp = evaluate()
        apply(-step)
        lm, km = evaluate()
        apply(0.0)
        return (lp - lm) / (2 * step), kp or km, max(abs(lp), abs(lm), 1.0), lp, lm

    def one_sided_kink(far: tuple[float, float], near: tuple[float, float], scale: float
                       ) -> bool:
        """The slope jumps at θ: the one-sided differences at s = h/10 disagree beyond
        round-off, and by as much as at h. On a smooth function they differ by s·|f″|, which
        shrinks tenfold with the step; across a kink by the jump in slope, which does not."""
        if not base:
            base.append(evaluate()[0])
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
        if not kinked and not passes(a, n, tol, atol * scale):
            # Truncation error grows as h²·f‴: a correct layer with a very curved forward
            # (BatchNorm over a feature that barely varies) can miss at h and agree at h/10,
            # while a wrong backward misses at every h. Keep the estimate that agrees, and say so.
            n2, kinked2, scale2, lp, lm = central(apply, h / 10)
            if not kinked2 and passes(a, n2, tol, atol * scale2):
                n, scale = n2, scale2
                refined += 1
            elif kinked2 or one_sided_kink((lp_h, lm_h), (lp, lm), scale2):
                kinked = True
        ana.append(a)
        num.append(n)
        kink.append(kinked)
        atols.append(atol * scale)

    for j in idx:
        # by index into the tensor itself: reshape(-1) of a transposed or Fortran-order
        # parameter is a copy, and perturbing a copy would check nothing
        where = np.unravel_index(int(j), target.shape)
        orig = target[where]

        def apply(d: float, where: tuple = where, orig: float = orig) -> None:
            target[where] = orig + d if d else orig

        judge(float(g.flat[j]), apply)
    for _ in range(job.n_dirs):
        v = rng.standard_normal(g.shape)
        v /= np.linalg.norm(v)
        orig = target.copy()

        def apply(d: float, v: np.ndarray = v, orig: np.ndarray = orig) -> None:
            target[...] = orig + d * v if d else orig

        judge(float(np.vdot(g, v)), apply)
    return summarise(job, idx, ana, num, kink, atols, refined, tol)


def summarise(job: Job, idx, ana, num, kink, atols, refined: int, tol: float) -> TensorCheck:
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
