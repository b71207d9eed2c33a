"""Layers written the book's way, used as they are.

*Deep Learning from Scratch* (and the notebooks built on it) writes a layer as a class with
``forward(x)`` and ``backward(dout)``, its parameters as attributes (``self.W``, ``self.b``) and
their gradients next to them (``self.dW``, ``self.db``); a loss as ``forward(x, t)`` returning
the loss and ``backward(dout=1)`` returning dx. :func:`from_book` wraps such an object so that
a :class:`~backprop_tui.engine.network.Network`, the gradient check and the debugger use it
unchanged — the student's own code runs, nothing is re-implemented:

* ``params`` are the object's own arrays (``W``, ``b``, ``gamma``, ``beta``; the same array
  objects, so an update or a gradient-check perturbation in place is seen by its forward);
* ``grads`` are read after ``backward`` from ``d`` + the name (``dW``, ``db``…);
* ``cache`` shows every other array the object holds after a call (``mask``, ``out``, ``x``,
  ``col``, ``arg_max``…): what its backward will use;
* a ``forward`` that takes ``train_flg`` (Dropout, BatchNormalization) gets the network's mode;
* the network's L2 penalty (``Network(l2=λ)``) applies to its ``W``, as the book's
  ``weight_decay_lambda`` does.

A whole network written the book's way — an ordered mapping ``layers`` of such objects and a
``lastLayer`` (chapter 5) or ``last_layer`` (later chapters) — becomes a
:class:`~backprop_tui.engine.network.Network` of wrapped layers under the mapping's keys
(``Affine1``, ``Relu1``…), its last layer the loss and its ``weight_decay_lambda`` the L2
penalty, counted exactly as its own ``loss`` counts it (½·λ·Σ‖W‖² over every W).

The book's Dropout draws a new mask from ``np.random`` at every forward: the gradient check puts
that generator back before each evaluation (see :mod:`~backprop_tui.engine.gradcheck`), and
the stepper's snapshots hold it, so every evaluation and every replay sees the same mask.

This module imports numpy only.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np

from .graph import BookOp
from .layers import Layer
from .losses import Loss
from .network import Network

#: attribute names that hold trainable parameters in the book's layers (and cs231n's w)
PARAM_NAMES = ("W", "b", "gamma", "beta", "w")


def is_book_network(obj: Any) -> bool:
    """Whether ``obj`` is a network written the book's way: ``layers`` (an ordered mapping) and
    ``lastLayer`` or ``last_layer``."""
    return isinstance(getattr(obj, "layers", None), Mapping) and (
        hasattr(obj, "lastLayer") or hasattr(obj, "last_layer"))


def from_book(obj: Any, name: str | None = None) -> Layer | Loss | Network | BookOp:
    """A :class:`Layer` (or a :class:`Loss`, for an object whose ``forward`` takes ``x, t``)
    that runs ``obj``'s own ``forward``/``backward`` — or, for a whole book network, a
    :class:`Network` of such layers (see the module docstring). A layer with two inputs and
    no targets — chapter 5's ``MulLayer``/``AddLayer``: ``forward(x, y)``, ``backward(dout)
    -> (dx, dy)`` — is a graph op (:class:`~backprop_tui.engine.graph.BookOp`): call it on
    graph nodes, ``bt.from_book(mul_apple)(apple, apple_num)``."""
    if is_book_network(obj):
        return _network(obj)
    for method in ("forward", "backward"):
        if not callable(getattr(obj, method, None)):
            raise TypeError(f"{type(obj).__name__} has no {method}() method: a book-style "
                            "layer has forward(x) and backward(dout)")
    n_inputs = _positional(obj.forward)
    if n_inputs >= 2 and "train_flg" not in signature_parameters(obj.forward):
        if is_book_loss(obj):
            return BookLoss(obj)
        return BookOp(obj, n_inputs)
    return BookLayer(obj, name)


#: what the book (and students) call a loss's second argument: the targets
TARGET_NAMES = ("t", "target", "targets", "y_true", "label", "labels")


def is_book_loss(obj: Any) -> bool:
    """A loss takes targets (``forward(x, t)``) and starts the backward pass
    (``backward(dout=1)``: called without a gradient); a two-input layer such as ``MulLayer``
    (``forward(x, y)``, ``backward(dout)``) needs the gradient of its output."""
    names = [p.name for p in signature_parameters(obj.forward).values()]
    return (len(names) > 1 and names[1] in TARGET_NAMES) or _positional(obj.backward) == 0


def _network(obj: Any) -> Network:
    last = obj.lastLayer if hasattr(obj, "lastLayer") else obj.last_layer
    layers: list[Layer] = []
    for key, layer in obj.layers.items():
        if isinstance(layer, Layer):
            layers.append(layer)
            continue
        wrapped = from_book(layer, name=str(key))
        if not isinstance(wrapped, Layer):
            raise TypeError(f"{type(obj).__name__}.layers[{key!r}] ({type(layer).__name__}) "
                            "has a forward of two inputs: a loss belongs in lastLayer/"
                            "last_layer, a two-input layer in a graph (bt.var)")
        layers.append(wrapped)
    loss = last if isinstance(last, Loss) else from_book(last)
    if not isinstance(loss, Loss):
        raise TypeError(f"{type(obj).__name__}'s last layer ({type(last).__name__}) has no "
                        "forward(x, t): the loss layer takes the scores and the targets")
    l2 = float(getattr(obj, "weight_decay_lambda", 0.0) or 0.0)
    # in the dtype the object already has: wrapping must not rebind its arrays (its `params`
    # dict would no longer reach its layers); the check works on a float64 copy
    dtypes = [p.dtype for layer in layers for p in layer.params.values()]
    dtype = dtypes[0] if dtypes and all(d == dtypes[0] for d in dtypes) else np.float64
    return Network(layers, loss, l2=l2, dtype=dtype)


def signature_parameters(fn: Any) -> dict[str, inspect.Parameter]:
    """``fn``'s parameters by name (none when it has no readable signature)."""
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def _positional(fn: Any) -> int:
    """How many positional parameters without defaults ``fn`` takes."""
    return sum(1 for p in signature_parameters(fn).values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def _arrays_of(obj: Any, skip: set[str]) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(obj).items()
            if isinstance(v, np.ndarray) and k not in skip and not k.startswith("_")}


class BookLayer(Layer):
    """A book-style layer object behind the :class:`Layer` contract."""

    def __init__(self, obj: Any, name: str | None = None) -> None:
        self.kind = type(obj).__name__  # type: ignore[misc] - per instance: the user's class
        super().__init__(name)
        self.obj = obj
        # W, b, gamma, beta — and any array whose gradient attribute the object declares from
        # the start (the book's habit: self.dW = None in __init__)
        self.params = {k: v for k, v in vars(obj).items()
                       if isinstance(v, np.ndarray) and not k.startswith("_")
                       and (k in PARAM_NAMES or hasattr(obj, "d" + k))}
        self._train_flg = "train_flg" in signature_parameters(obj.forward)
        self._skip = set(self.params) | {"d" + k for k in self.params}
        #: the L2 penalty of the network applies to the weights, as the book's weight decay
        self.decay = ("W",) if "W" in self.params else ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self._train_flg:
            y = self.obj.forward(x, train_flg=self.training)
        else:
            y = self.obj.forward(x)
        self._refresh_cache()
        return y

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        dx = self.obj.backward(dout)
        for k in self.params:
            g = getattr(self.obj, "d" + k, None)
            if g is not None:
                self.grads[k] = np.asarray(g)
        self._refresh_cache()
        return dx

    def unclaimed_grads(self) -> list[str]:
        """Arrays ``X`` of the object for which its backward set a same-shaped ``dX``, but
        which are not among its ``params``: a parameter under a name the wrapper did not know,
        which nothing would check or train."""
        names = []
        for k, v in vars(self.obj).items():
            g = getattr(self.obj, "d" + k, None)
            if (k not in self.params and isinstance(v, np.ndarray) and isinstance(g, np.ndarray)
                    and g.shape == v.shape and not k.startswith(("_", "d"))):
                names.append(k)
        return names

    def _refresh_cache(self) -> None:
        self.cache.clear()
        self.cache.update(_arrays_of(self.obj, self._skip))

    def kink_signature(self) -> np.ndarray | None:
        """The book's piecewise layers keep their discrete choice: Relu's boolean ``mask``,
        Pooling's ``arg_max``. A gradient-check step that changes it crossed a kink."""
        mask = self.cache.get("mask")
        if mask is not None and mask.dtype == np.bool_:
            return mask
        return self.cache.get("arg_max")

    def cast(self, dtype: np.dtype) -> None:
        # the object's own attributes must stay the arrays its code uses
        for k, v in list(self.params.items()):
            if v.dtype != dtype:
                setattr(self.obj, k, v.astype(dtype))
                self.params[k] = getattr(self.obj, k)

    def describe(self) -> str:
        """``Affine 784→50`` for a 2-D W, ``Convolution 30@5×5`` for a 4-D one."""
        W = self.params.get("W")
        if W is not None and W.ndim == 2:
            return f"{self.kind} {W.shape[0]}→{W.shape[1]}"
        if W is not None and W.ndim == 4:
            return f"{self.kind} {W.shape[0]}@{W.shape[2]}×{W.shape[3]}"
        return self.kind


class BookLoss(Loss):
    """A book-style loss (``forward(x, t) -> loss``, ``backward(dout=1) -> dx``)."""

    def __init__(self, obj: Any) -> None:
        self.kind = type(obj).__name__  # type: ignore[misc]
        super().__init__()
        self.obj = obj

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        value = float(self.obj.forward(x, t))
        self.cache.clear()
        self.cache.update(_arrays_of(self.obj, set()))
        self.value = value
        return value

    def backward(self, dout: float = 1.0) -> np.ndarray:
        return self.obj.backward(dout)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if x.ndim == 2 and x.shape[1] > 1:
            return x.argmax(axis=1)
        return (x.reshape(len(x)) > 0).astype(np.int64)
