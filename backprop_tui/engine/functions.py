"""Layers and losses written cs231n's way — pairs of functions — used as they are.

cs231n writes a layer as two functions: ``f_forward(x, *params, [param dict]) -> (out, cache)``
and ``f_backward(dout, cache) -> (dx, *dparams)`` (or just ``dx`` when it has no parameters),
and a loss as one, ``loss(x, y) -> (loss, dx)``. :func:`from_functions` wraps them:

* ``bt.from_functions(affine_forward, affine_backward, w, b)`` is a :class:`Layer` whose
  parameters are ``w`` and ``b`` — named after the forward's own parameter names, and the very
  arrays given, so an update or a gradient-check perturbation in place reaches the function;
* dicts among the arguments (``conv_param``, ``pool_param``, ``bn_param``, ``dropout_param``)
  pass as they are; one with a ``mode`` key is set to ``"train"`` or ``"test"`` with the
  network's mode, as cs231n's models do;
* the cache, whatever it is (a tuple, nested tuples for the ``layer_utils`` sandwiches, a dict),
  goes back to the backward untouched; its arrays are shown in the debugger by their place
  (``cache[1][0]``) or key;
* ``bt.from_functions(softmax_loss)`` is a :class:`Loss`.

The functions write into the arrays they are handed (``dx = dout; dx[x <= 0] = 0``): the layer
gets copies (``writes_inputs``). A dropout drawing from numpy's global generator sees the same
draws in every evaluation of a gradient check (see :mod:`~backprop_tui.engine.gradcheck`).

This module imports numpy only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .layers import Layer
from .losses import Loss


def from_functions(forward: Callable[..., Any], backward: Callable[..., Any] | None = None,
                   *args: Any, name: str | None = None) -> Layer | Loss:
    """A :class:`Layer` running ``forward``/``backward`` with ``args`` after ``x`` — or, given
    one function ``(x, y) -> (loss, dx)``, a :class:`Loss`."""
    if not callable(forward):
        raise TypeError(f"from_functions takes functions: got {type(forward).__name__}")
    if backward is None:
        if args:
            raise TypeError("from_functions(loss_fn) takes one function (x, y) -> (loss, dx); "
                            "for a layer give its forward and its backward first")
        return FunctionLoss(forward)
    if not callable(backward):
        raise TypeError(f"from_functions(forward, backward, ...): backward must be a function, "
                        f"got {type(backward).__name__}")
    return FunctionLayer(forward, backward, args, name)


def _kind(fn: Callable[..., Any]) -> str:
    """``affine_relu_forward`` → ``affine_relu``; ``conv_forward_naive`` → ``conv_naive``."""
    base = getattr(fn, "__name__", "layer")
    return base.replace("_forward", "") or base


def _arg_names(fn: Callable[..., Any], n: int) -> list[str]:
    """The names of the ``n`` positional parameters after ``x``, as the function calls them."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    named = [p.name for p in params
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
    return [named[i] if i < len(named) else f"p{i + 1}" for i in range(n)]


def _arrays_in(obj: Any, path: str, out: dict[str, np.ndarray], depth: int = 0) -> None:
    """The arrays inside a cache (tuples, lists, dicts, nested), named by where they are."""
    if depth > 4:
        return
    if isinstance(obj, np.ndarray):
        out[path] = obj
    elif isinstance(obj, tuple | list):
        for i, v in enumerate(obj):
            _arrays_in(v, f"{path}[{i}]", out, depth + 1)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _arrays_in(v, f"{k}" if depth == 0 else f"{path}[{k!r}]", out, depth + 1)


class FunctionLayer(Layer):
    """A cs231n-style function pair behind the :class:`Layer` contract."""

    def __init__(self, forward: Callable[..., Any], backward: Callable[..., Any],
                 args: tuple[Any, ...], name: str | None = None) -> None:
        self.kind = _kind(forward)  # type: ignore[misc] - per instance: the user's function
        super().__init__(name)
        self.forward_fn = forward
        self.backward_fn = backward
        self.arg_names = _arg_names(forward, len(args))
        self.args = list(args)
        self.params = {n: a for n, a in zip(self.arg_names, args, strict=True)
                       if isinstance(a, np.ndarray)}
        self._cache: Any = None
        self._dx_shape: tuple[int, ...] | None = None

    def _call_args(self) -> list[Any]:
        out = []
        for n, a in zip(self.arg_names, self.args, strict=True):
            if n in self.params:
                out.append(self.params[n])  # the current array (cast, restored…)
            else:
                if isinstance(a, dict) and "mode" in a:
                    a["mode"] = "train" if self.training else "test"
                out.append(a)
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        result = self.forward_fn(x, *self._call_args())
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{self.forward_fn.__name__} returned {type(result).__name__}; a "
                            "cs231n-style forward returns (out, cache)")
        out, self._cache = result
        self.cache.clear()
        cached: dict[str, np.ndarray] = {}
        _arrays_in(self._cache, "cache", cached)
        self.cache.update(cached)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        result = self.backward_fn(dout, self._cache)
        names = list(self.params)
        if isinstance(result, tuple):
            dx, grads = result[0], result[1:]
        else:
            dx, grads = result, ()
        if len(grads) != len(names):
            if names:
                want = "(dx, " + ", ".join(f"d{n}" for n in names) + ")"
            else:
                want = "dx alone, for a layer without parameters"
            raise ValueError(f"{self.backward_fn.__name__} returned {len(grads)} gradient(s) "
                             f"after dx, for {len(names)} parameter(s) "
                             f"({', '.join(names) or 'none'}): it must return {want}")
        self.grads = dict(zip(names, grads, strict=True))
        return dx

    def cast(self, dtype: np.dtype) -> None:
        for i, (n, a) in enumerate(zip(self.arg_names, self.args, strict=True)):
            if n in self.params and a.dtype != dtype:
                self.args[i] = self.params[n] = a.astype(dtype)

    def describe(self) -> str:
        shapes = ", ".join(f"{n} {'×'.join(map(str, p.shape))}" for n, p in self.params.items())
        return f"{self.kind}({shapes})" if shapes else self.kind


class FunctionLoss(Loss):
    """A cs231n-style loss ``(x, y) -> (loss, dx)``: ``backward`` returns that ``dx``."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.kind = _kind(fn)  # type: ignore[misc]
        super().__init__()
        self.fn = fn
        self._dx: np.ndarray | None = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        result = self.fn(x, t)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{self.fn.__name__} returned {type(result).__name__}; a "
                            "cs231n-style loss returns (loss, dx)")
        loss, self._dx = result
        self.value = float(loss)
        return self.value

    def backward(self, dout: float = 1.0) -> np.ndarray:
        if self._dx is None:
            raise RuntimeError("backward before forward")
        return self._dx * dout if dout != 1.0 else self._dx

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x.argmax(axis=1) if x.ndim == 2 and x.shape[1] > 1 else \
            (x.reshape(len(x)) > 0).astype(np.int64)
