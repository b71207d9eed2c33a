"""Shared fixtures for the test suite.

The engine tests check gradients against an independent numerical helper defined here (in the
style of cs231n's ``eval_numerical_gradient_array``), so that they do not only trust
``backprop_tui.engine.gradcheck``, the module they also test. Add to this file; don't remove.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

#: step of the five-point stencil f′(x) ≈ [8·(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))] / 12h
DEFAULT_H = 1e-4


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray | float],
    x: np.ndarray,
    dout: np.ndarray | float = 1.0,
    h: float = DEFAULT_H,
) -> np.ndarray:
    """Numerical gradient of ``Σ f(x) · dout`` w.r.t. ``x``, entry by entry; with the default
    ``dout = 1`` and a scalar ``f`` (a loss), the gradient of ``f`` itself.

    ``x`` is perturbed in place (and restored). As in cs231n, the outputs are combined *before*
    the sum, so the rounding error is that of the output entries, not of the total. Unlike
    cs231n it uses the five-point stencil (error ∝ h⁴, so h = 1e-4 with 4 evaluations per
    entry): a reference must be more accurate than the checker it is used to judge, whose
    centered differences at h = 1e-5 err by ~1e-7 relative where a layer is sharply curved
    (BatchNorm over a batch with two nearly equal samples).
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        out = {}
        for k in (2, 1, -1, -2):
            x[ix] = old + k * h
            out[k] = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        # differences of nearby values first (exact or nearly so), weights after
        combined = 8.0 * (out[1] - out[-1]) - (out[2] - out[-2])
        grad[ix] = np.sum(combined * dout) / (12.0 * h)
        it.iternext()
    return grad


def rel_error(a: np.ndarray, n: np.ndarray, floor: float = 1e-3) -> float:
    """Largest entry-wise ``|a − n| / max(|a|, |n|, floor)``.

    Finite differences on outputs of order 1 carry an absolute error of about
    ``1.5·ε·|y|/h ≈ 3e-12`` (rounding of the outputs), whatever the size of the derivative. The
    relative error of an entry that is itself 1e-6 (a saturated sigmoid, a BatchNorm gradient that
    cancels to ~0) therefore says nothing about the code; below ``floor`` an entry is measured
    against ``floor`` instead, i.e. judged by its absolute error (``≤ 1e-10`` for a 1e-7
    tolerance). Test data are O(1) by construction, so real gradient entries sit well above it.
    """
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    assert a.shape == n.shape, f"shape {a.shape} vs {n.shape}"
    if a.size == 0:
        return 0.0
    diff = np.abs(a - n)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return float(np.max(diff / scale))


def noise_floor(
    out: np.ndarray, dout: np.ndarray, h: float = DEFAULT_H, tol: float = 1e-7
) -> float:
    """The ``floor`` for :func:`rel_error` when checking ``Σ forward(x)·dout``.

    Rounding the outputs puts a noise of at most ``1.5·ε·Σ|out·dout| / h`` (the stencil's
    weights sum to 1.5 in absolute value) on every numerical entry; below ``noise / tol`` a
    relative error of ``tol`` cannot be resolved. Never below 1e-3.
    """
    noise = 1.5 * np.finfo(np.float64).eps * float(np.sum(np.abs(out * dout))) / h
    return max(1e-3, noise / tol)


@pytest.fixture(scope="session")
def numgrad() -> SimpleNamespace:
    """The independent numerical-gradient helpers: ``array`` (also for scalar functions),
    ``rel_error`` and ``noise_floor``.

    Session-scoped so that hypothesis tests may use it.
    """
    return SimpleNamespace(
        array=eval_numerical_gradient_array,
        rel_error=rel_error,
        noise_floor=noise_floor,
    )


class MaxErrors:
    """Records the largest relative error observed per label, for the summary at the end."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def record(self, label: str, err: float) -> float:
        self.values[label] = max(err, self.values.get(label, 0.0))
        return err


_MAX_ERRORS = MaxErrors()


@pytest.fixture(scope="session")
def max_errors() -> MaxErrors:
    """Call ``max_errors.record(label, err)``; the maxima are printed at the end of the run."""
    return _MAX_ERRORS


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if _MAX_ERRORS.values:
        terminalreporter.section("max relative gradient errors observed")
        for label in sorted(_MAX_ERRORS.values):
            terminalreporter.write_line(f"{label:40s} {_MAX_ERRORS.values[label]:.2e}")
