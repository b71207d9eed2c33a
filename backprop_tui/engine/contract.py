"""What the engine expects of a layer's code, and how it says so when the code does not keep it.

The stepper, the shape probe and the NaN/Inf localisation run code a user wrote (their own
:class:`~backprop_tui.engine.layers.Layer` subclasses, book-style objects through ``from_book``).
A mistake there must become a message that names the layer, the step and the line — never a
crash, and never a puzzle that surfaces one layer later:

* :class:`LayerError` — a layer's forward or backward (or the loss, or the optimizer) raised;
* :func:`check_returned` — forward/backward must return an array with one row per sample;
* :func:`check_grads` — after backward, ``grads`` has every key of ``params``, same shapes;
* :func:`cached_arrays` — what a layer cached, as arrays the debugger can show.

This module imports numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class LayerError(RuntimeError):
    """A layer's forward or backward (or the loss, or the optimizer) raised while stepping.

    The debugger runs code a user wrote (their own :class:`~backprop_tui.engine.layers.Layer`
    subclasses); a shape mistake there must become a message that names the layer, the step
    and the line — not a crash. The stepper's position is unchanged: the step did not happen
    (an optimizer that raised halfway may have updated some parameters).
    ``where`` is the innermost frame outside numpy (``mylayers.py:12 in backward``); ``layer``
    and ``phase`` name the step when it is a layer's (None for the loss and the update).
    """

    def __init__(self, what: str, error: BaseException, *, layer: str | None = None,
                 phase: str | None = None, where: str | None = None) -> None:
        self.what = what
        self.error = error
        self.where = _where(error) if where is None else where
        self.layer = layer
        self.phase = phase
        super().__init__(f"{what} raised {describe_error(error, self.where)}")

    def as_dict(self) -> dict[str, str | None]:
        """For a JSON report: the step, the layer, the line, and the error."""
        return {"step": self.what, "layer": self.layer, "phase": self.phase,
                "where": self.where or None, "error": type(self.error).__name__,
                "message": str(self.error)}


def describe_error(error: BaseException, where: str | None = None) -> str:
    """``ValueError at mylayers.py:12 in backward: shapes (8,4) and (5,3) not aligned``
    (``where`` when the caller has already found it)."""
    where = _where(error) if where is None else where
    return f"{type(error).__name__}{' at ' + where if where else ''}: {error}"


def _where(error: BaseException) -> str:
    """``file.py:LINE in function`` of the innermost traceback frame that is not numpy's."""
    import os
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    numpy_dir = os.path.dirname(np.__file__)
    mine = [f for f in frames if not f.filename.startswith(numpy_dir)]
    if not mine:
        return ""
    f = mine[-1]
    return f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}"


def raised_by_the_contract(error: BaseException) -> bool:
    """Whether ``error`` is a contract check's (this module's), not the layer's own code's: the
    layer returned and the check found what it returned wrong."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename == __file__


def code_location(fn: Any) -> str:
    """``mylayers.py:31 in backward``: where a function (or method) of the user's is defined."""
    import inspect
    import os

    fn = getattr(fn, "__func__", fn)
    try:
        line = inspect.getsourcelines(fn)[1]
        return f"{os.path.basename(inspect.getsourcefile(fn) or '?')}:{line} in {fn.__name__}"
    except (OSError, TypeError):
        return ""


def check_returned(a: Any, given: np.ndarray, method: str, what: str) -> None:
    """A layer's forward must return an array with one row per sample, and its backward an
    array shaped like the layer's input (``given``): a missing ``return`` or a dx of the wrong
    shape would otherwise surface as a puzzling error in the *next* layer."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{method} returned {type(a).__name__}; it must return {what} "
                        f"(an array with one row per sample)")
    if method == "backward" and a.shape != given.shape:
        raise ValueError(f"backward returned dx of shape {a.shape}, but the layer's input x had "
                         f"shape {given.shape}; it must return {what}")
    if a.ndim == 0 or len(a) != len(given):
        raise ValueError(f"{method} returned an array of shape {a.shape} for {len(given)} "
                         f"samples; it must return {what} with one row per sample")


def check_grads(layer: Any) -> None:
    """After backward, ``grads`` has every key of ``params`` with the same shape (else the
    update would fail later with a bare KeyError, far from the cause)."""
    if not layer.trainable:
        return
    for k, p in layer.params.items():
        g = layer.grads.get(k)
        if g is None:
            raise ValueError(f"backward set no grads[{k!r}]: every key of params needs its "
                             f"gradient in grads, of the same shape {p.shape}")
        if np.shape(g) != p.shape:
            raise ValueError(f"grads[{k!r}] has shape {np.shape(g)} but params[{k!r}] has "
                             f"shape {p.shape}")


def same_data(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` is ``b`` or a reshaped view of it (Affine keeps its input flattened)."""
    return a is b or (a.size == b.size and np.shares_memory(a, b))


def cached_arrays(cache: dict[str, Any]) -> dict[str, np.ndarray]:
    """The cached tensors of a step, as arrays: a layer of a user's own may also cache plain
    numbers or shapes (``self.cache["shape"] = x.shape``), shown as small arrays; anything that
    is not numeric (a string, None, an object) is not a tensor and is left out."""
    out: dict[str, np.ndarray] = {}
    for k, v in cache.items():
        if isinstance(v, np.ndarray):
            out[k] = v
            continue
        try:
            a = np.asarray(v)
        except Exception:  # noqa: BLE001 - e.g. ragged nested lists: not a tensor
            continue
        if a.dtype.kind in "biuf" and a.size:
            out[k] = a
    return out
