"""The data a user hands over, checked before anything is blamed on a layer.

A NaN in the inputs makes every gradient NaN, and a gradient check then fails every layer: the
report would say that every backward is wrong when the data is. A label of −1 indexes the last
class in numpy, so a network silently trains (and checks) against the wrong class. Both are
said here, once, in words that name the array, how many entries and where the first one is:

* :func:`check_finite` — no NaN or ±inf in an array of numbers;
* :func:`check_labels` — targets used as class indices (one per sample, with ``classes``
  scores per sample) are whole numbers in ``[0, classes)``.

Every consumer uses these: ``bt.gradcheck`` and ``bt.debug``, the command line's ``.py``
networks, the scenario data loaders, and the losses that index by label (the last line of
defence, for the trainer's batches). The problem is a :class:`BadData` (a ``ValueError``);
the command line turns it into one ``error:`` line.

This module imports numpy only.
"""

from __future__ import annotations

import numpy as np


class BadData(ValueError):
    """Inputs or targets that no network can be trained or checked on; ``key`` names the
    array (``x``, ``t``, ``t_test``…)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def _where(name: str, mask: np.ndarray) -> str:
    first = np.unravel_index(int(np.flatnonzero(mask)[0]), mask.shape)
    return f"{name}[{', '.join(str(int(i)) for i in first)}]"


def check_finite(a: object, name: str = "x") -> None:
    """Refuse NaN or ±inf in ``a`` (arrays that are not floating point have none)."""
    arr = np.asarray(a)
    if not np.issubdtype(arr.dtype, np.inexact) or arr.size == 0:
        return
    with np.errstate(invalid="ignore"):
        if np.isfinite(arr).all():
            return
    nan, inf = np.isnan(arr), np.isinf(arr)
    what = " and ".join(f"{int(m.sum()):,} {label}" for m, label in ((nan, "NaN"), (inf, "±inf"))
                        if m.any())
    first = _where(name, nan | inf)
    raise BadData(
        f"the data {name} holds {what} of its {arr.size:,} entries (the first at {first}): "
        "every loss and gradient computed from it is NaN, whatever the layers do; clean or "
        "drop those samples", name)


def check_labels(t: object, classes: int | None, name: str = "t") -> np.ndarray | None:
    """When ``t`` holds one label per sample for ``classes`` > 1 scores, refuse labels that are
    not whole numbers in ``[0, classes)`` — numpy would take −1 for the last class — and return
    them as int64; None when ``t`` is not a vector of labels (one-hot rows, regression
    targets of one output). ``classes=None`` (not known yet): whole numbers ≥ 0."""
    arr = np.asarray(t)
    if arr.ndim != 1 or (classes is not None and classes < 2) \
            or not np.issubdtype(arr.dtype, np.number):
        return None
    check_finite(arr, name)
    labels = arr.astype(np.int64)
    bad = (labels != arr) | (labels < 0)
    if classes is not None:
        bad |= labels >= classes
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = arr[i].item()
        span = f"0…{classes - 1}" if classes is not None else "0, 1, 2…"
        has = f"; the network has {classes} class scores per sample" if classes else ""
        raise BadData(
            f"{name} holds {int(bad.sum()):,} label(s) that are not class indices (whole "
            f"numbers {span}), the first {name}[{i}] = {value!r}{has}"
            + (": numpy would silently take a negative label for a class counted from the end"
               if value < 0 else ""), name)
    return labels
