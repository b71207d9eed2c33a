"""What a gradient check found, tensor by tensor: :class:`TensorCheck` rows in a
:class:`GradcheckReport`, the cs231n scale of relative errors and the verdict words.

This module imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

#: the cs231n scale for relative errors
GOOD, SUSPICIOUS, WRONG = 1e-7, 1e-4, 1e-2


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
    #: only zeros reached the layer: the comparison (0 = 0) did not exercise its backward
    untested: bool = False

    @property
    def verdict(self) -> str:
        if self.checked and self.kinks == self.checked:
            return "kink"
        return "pass" if self.passed else "FAIL"

    @property
    def label(self) -> str:
        """How the error compares on the cs231n scale (good / fair / suspicious / wrong), or
        ``noted`` (see ``note``)."""
        if self.explained:
            return "noted"
        if self.untested:
            return "untested"
        if not self.passed:
            # a failure that the significant entries do not show (an empty or misshapen
            # gradient, a tiny entry or a direction off by more than atol) is still wrong
            if self.checked == self.kinks or self.max_rel_error > WRONG \
                    or self.max_rel_error <= GOOD:
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


def gradient_name(check: TensorCheck, scope: str) -> str:
    """The gradient a row compares: ``dW``, ``dx`` (a layer's input), ``all`` (the end-to-end
    row); in a graph ``d(apple)`` (what a node sent to its input ``apple``) or ``d(a) = Σ``
    (the sum of a value's uses)."""
    if scope == "graph":
        return f"d({check.layer}) = Σ" if check.tensor == "Σ" else f"d({check.tensor})"
    if check.layer == "network":
        return "all"
    return f"d{check.tensor}" if check.kind == "param" else "dx"


@dataclass
class GradcheckReport:
    checks: list[TensorCheck]
    mode: str
    h: float
    tol: float
    atol: float
    loss: float
    evaluations: int
    #: local, global, params, or graph (rows are nodes: see engine/graphcheck.py)
    scope: str = "local"
    #: layers not checked because no usable gradient reached them (see ``note``)
    unchecked: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        if not self.unchecked:
            return ""
        return (f"not checked: {', '.join(self.unchecked)} — no usable gradient reached "
                "them: the layer above returned a dx of the wrong shape, or only zeros (dead "
                "units, a step, a backward that returns zeros)")

    @property
    def passed(self) -> bool:
        """Every row passed — and there is a row: a check that compared nothing does not pass."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed_layers(self) -> list[str]:
        """The layers whose check failed — for a check of a parameter dict, the parameters."""
        seen: list[str] = []
        for c in self.checks:
            name = c.tensor if self.scope == "params" else c.layer
            if not c.passed and name not in seen:
                seen.append(name)
        return seen

    def for_layer(self, name: str) -> list[TensorCheck]:
        return [c for c in self.checks if c.layer == name]

    def __str__(self) -> str:
        """A plain-text table, for ``print(report)`` in a script or a notebook (the CLI draws
        the same numbers with rich)."""
        failed = sum(not c.passed for c in self.checks)
        unchecked = f", {len(self.unchecked)} layer(s) not checked" if self.unchecked else ""
        head = (f"gradient check {'passed' if self.passed else 'FAILED'}{unchecked}"
                + (f" ({failed} of {len(self.checks)} tensors)" if failed else
                   f" ({len(self.checks)} tensors)")
                + (" · parameter by parameter" if self.scope == "params"
                   else f" · {self.scope} scope")
                + f", mode {self.mode}, h={self.h:g}, "
                  f"{self.evaluations:,} loss evaluations")
        rows = [("layer", "gradient", "shape", "checked", "kinks", "max |a−n|", "max rel",
                 "verdict")]
        for c in self.checks:
            grad = gradient_name(c, self.scope)
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
