"""The one walk through the step sequence of one batch — every consumer's way of calling layers.

::

    forward L1 → … → forward Ln → loss → backward Ln → … → backward L1 → update

:class:`Walk` performs one unit of that sequence at a time through the network's own
``forward_layer`` / ``compute_loss`` + ``backward_loss`` / ``backward_layer`` and the optimizer's
``step``, carrying the activation and the gradient from one unit to the next. It is also where the
engine holds a layer's code to the contract (:mod:`backprop_tui.engine.contract`): a unit that
raises becomes a :class:`~backprop_tui.engine.contract.LayerError` naming the step, and a forward
or backward that returns no array, loses the batch axis or leaves a gradient out is blamed on the
layer that did it. Three consumers walk it:

* the :class:`~backprop_tui.engine.stepper.Stepper` (the debugger), one unit per key press, with
  a record of each;
* the trainer's NaN/Inf localisation, which replays a failing iteration unit by unit to name the
  first layer and tensor where NaN or Inf appeared;
* the debugger's shape probe for a network of the user's own, forward units only;
* :func:`locate_error`: when code raised during a training batch (run whole, without checks),
  the trainer replays the batch here to name the layer and step.

Whole training iterations run the network's batch methods instead (``Network.forward_from``,
``Network.backward``): the same arithmetic, without the per-unit checks.

This module imports numpy only.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .contract import LayerError, check_grads, check_returned, code_location, raised_by_the_contract
from .network import Network
from .optim import Optimizer

#: one unit of the sequence: ``(phase, layer index)``; the index is None for loss and update
Step = tuple[str, int | None]


def step_sequence(n_layers: int) -> list[Step]:
    """The units of one iteration through ``n_layers`` layers, in order."""
    return (
        [("forward", i) for i in range(n_layers)]
        + [("loss", None)]
        + [("backward", i) for i in range(n_layers - 1, -1, -1)]
        + [("update", None)]
    )


def _user_method(layer: Any, phase: str) -> Any:
    """The function of the user's that a layer's ``phase`` runs: a wrapped book object's or
    cs231n function's, else the layer's own method."""
    obj = getattr(layer, "obj", None)
    if obj is not None:
        return getattr(obj, phase, None)
    fn = getattr(layer, f"{phase}_fn", None)
    return fn if fn is not None else getattr(layer, phase, None)


def batch_accuracy(net: Network, scores: np.ndarray, t: np.ndarray) -> float:
    """The fraction of samples whose predicted class is the target's."""
    lossl = net.loss_layer
    return float(np.mean(lossl.predict(scores) == lossl.labels(t)))


@dataclass(eq=False)
class Unit:
    """What one unit consumed and produced: for ``forward`` the layer's input ``x`` and output
    ``y``; for ``loss`` the scores and ``dL/dscores`` (and the loss and batch accuracy); for
    ``backward`` the incoming ``dout`` and ``dx`` (None when not asked for); for ``update``
    nothing."""

    phase: str
    index: int | None
    input: np.ndarray | None = None
    output: np.ndarray | None = None
    loss: float | None = None
    accuracy: float | None = None


class Walk:
    """Walks ``net`` through the units of one batch; :meth:`start` begins a batch.

    ``x`` and ``t`` are the batch; ``h`` the output of the last forward unit, ``dout`` the
    gradient entering the next backward unit. Units must run in order from 0 (the caller keeps
    the position); the update needs an ``optimizer``.
    """

    def __init__(self, net: Network, optimizer: Optimizer | None = None) -> None:
        self.net = net
        self.optimizer = optimizer
        self.steps: list[Step] = step_sequence(len(net.layers))
        self.x: np.ndarray = np.empty(0)
        self.t: np.ndarray = np.empty(0)
        self.h: np.ndarray | None = None
        self.dout: np.ndarray | None = None

    def start(self, x: np.ndarray, t: np.ndarray) -> None:
        """Begin the batch ``(x, t)`` at unit 0."""
        self.x, self.t = x, t
        self.h = self.dout = None

    def what(self, pos: int) -> str:
        """``the backward step of layer 'affine1' (Affine)``, ``the loss step``."""
        phase, i = self.steps[pos]
        if i is not None:
            layer = self.net.layers[i]
            return f"the {phase} step of layer {layer.name!r} ({layer.kind})"
        return {"loss": "the loss step", "update": "the update step"}.get(phase, phase)

    def run(self, pos: int, *, need_dx: bool = True, check: bool = True) -> Unit:
        """Run unit ``pos``. ``need_dx=False`` lets a backward unit skip its input gradient.
        Raises :class:`LayerError` (naming the unit) if the code it runs raises or, unless
        ``check`` is false, breaks the layer contract (the gradient check reports a misshapen
        gradient as a failed row instead)."""
        try:
            return self._run(pos, need_dx, check)
        except Exception as e:
            phase, i = self.steps[pos]
            layer = self.net.layers[i].name if i is not None else None
            where = None
            if i is not None and raised_by_the_contract(e):
                # the layer's code returned; what it returned broke the contract: point at it
                where = code_location(_user_method(self.net.layers[i], phase))
            raise LayerError(self.what(pos), e, layer=layer, phase=phase, where=where) from e

    def _run(self, pos: int, need_dx: bool, check: bool) -> Unit:
        net = self.net
        phase, i = self.steps[pos]
        if phase == "forward":
            h = self.x if i == 0 else self.h
            out = net.forward_layer(i, h)
            if check:
                check_returned(out, h, "forward", "y, its output")
            self.h = out
            return Unit(phase, i, h, out)
        if phase == "loss":
            scores = self.h
            loss = float(net.compute_loss(scores, self.t))
            dscores = net.backward_loss()
            self.dout = dscores
            return Unit(phase, i, scores, dscores, loss, batch_accuracy(net, scores, self.t))
        if phase == "backward":
            dout = self.dout
            dx = net.backward_layer(i, dout, need_dx=need_dx)
            if check:
                if need_dx:
                    check_returned(dx, net.inputs[i], "backward",
                                   "dx, the gradient for its input, shaped like the input")
                check_grads(net.layers[i])
            self.dout = dx
            return Unit(phase, i, dout, dx)
        if self.optimizer is None:
            raise ValueError("this walk has no optimizer: it cannot run the update")
        self.optimizer.step(net)
        return Unit(phase, i)


def locate_error(net: Network, error: Exception, batches: Sequence[tuple[np.ndarray, Any]], *,
                 backward: bool = True) -> LayerError:
    """Code raised ``error`` while ``net`` ran one of ``batches`` whole (a training batch, or the
    chunks of an evaluation with ``backward=False``): walk them again one unit at a time, with
    the layer contract held, and return the :class:`LayerError` of the unit that raises — a
    layer that returned a misshapen array is blamed, not the layer below that choked on it.
    If the replay does not raise (the code raises only sometimes), the step is read from the
    traceback. Parameters, buffers, the layers' generators, numpy's global generator and the
    layers' modes are put back afterwards."""
    np_state = np.random.get_state()  # noqa: NPY002 - the book's Dropout draws from it
    state = net.state_dict()
    rngs = {k: copy.deepcopy(r.bit_generator.state) for k, r in net.generators().items()}
    modes = [(layer.lean, layer.training) for layer in net.layers]
    try:
        for layer in net.layers:
            layer.lean = False
            if not backward:
                layer.training = False
        with np.errstate(all="ignore"):
            for x, t in batches:
                walk = Walk(net)
                walk.start(net._as_input(x), t)
                for pos, (phase, i) in enumerate(walk.steps[:-1]):
                    if phase == "backward" and not backward:
                        break
                    walk.run(pos, need_dx=i != 0)
    except LayerError as e:
        return e
    finally:
        net.load_state_dict(state)
        for name, rng in net.generators().items():
            rng.bit_generator.state = rngs[name]
        np.random.set_state(np_state)  # noqa: NPY002
        for layer, (lean, training) in zip(net.layers, modes, strict=True):
            layer.lean, layer.training = lean, training
    return step_from_traceback(net, error, "a training iteration" if backward else
                               "the evaluation")


def step_from_traceback(net: Network, error: BaseException, otherwise: str) -> LayerError:
    """The step that raised ``error``, from its traceback: the innermost call of one of the
    network's units (a layer's forward or backward, the loss); ``otherwise`` names it if none."""
    units = {Network.forward_layer.__code__: "forward", Network.backward_layer.__code__: "backward",
             Network.compute_loss.__code__: "loss", Network.backward_loss.__code__: "loss"}
    phase, index = None, None
    tb = error.__traceback__
    while tb is not None:
        unit = units.get(tb.tb_frame.f_code)
        if unit is not None:
            phase, index = unit, tb.tb_frame.f_locals.get("i")
        tb = tb.tb_next
    if phase in ("forward", "backward") and isinstance(index, int):
        layer = net.layers[index]
        return LayerError(f"the {phase} step of layer {layer.name!r} ({layer.kind})", error,
                          layer=layer.name, phase=phase)
    if phase == "loss":
        return LayerError("the loss step", error, phase="loss")
    return LayerError(otherwise, error)
