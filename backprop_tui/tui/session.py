"""DebugSession: everything the debugger screen shows, built from a scenario, without any UI.

The session owns the float64 network (stepping is exact and matches the gradient check), the
optimizer, the batches and the :class:`~backprop_tui.engine.stepper.Stepper`, and answers the
questions the panes ask:

* :meth:`DebugSession.rows` — the network pane: one row per layer, then ``loss`` and ``update``,
  with output shapes, parameter counts, breakpoints and where the next step runs;
* :meth:`DebugSession.tensors` — the tensor pane: the named tensors of a row, taken from the
  latest :class:`~backprop_tui.engine.stepper.StepRecord` of this iteration (never recomputed);
* :meth:`DebugSession.formulas` — the formula pane: the layer's equations with this network's
  shapes substituted (``dW = xᵀ·dout   (2×4)·(4×6) → 2×6``; :mod:`backprop_tui.tui.formulas`);
* :attr:`DebugSession.loss_history`, :meth:`DebugSession.status` — the loss line and status bar.

It imports numpy and the engine only (no textual), so it is tested without a terminal.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..blas import threads_for
from ..engine.batches import Batches
from ..engine.checks import GradcheckReport
from ..engine.conditions import DeadReLU, GradcheckFails, GradNorm, NonFinite
from ..engine.contract import LayerError, same_data
from ..engine.datacheck import BadData, check_finite, check_labels
from ..engine.gradcheck import gradcheck
from ..engine.health import (
    HealthReport,
    LossCheck,
    Observed,
    incoming_weights,
    loss_check,
    measure,
)
from ..engine.layers import Layer
from ..engine.network import Network
from ..engine.optim import Optimizer
from ..engine.records import LossPoint, StepRecord, StopReason
from ..engine.stepper import DEFAULT_HISTORY_BYTES, Stepper
from ..engine.walk import Walk
from ..errors import UsageError
from ..safetext import printable
from ..scenario import Scenario
from .formulas import Formula, layer_formulas, loss_formulas, update_formulas

if TYPE_CHECKING:
    from .graphsession import GraphSession

RowKind = Literal["layer", "loss", "update"]
TensorRole = Literal["activation", "gradient", "param", "mask", "cache", "target", "delta"]

PHASE_LABEL = {
    "forward": "forward ↓",
    "loss": "loss",
    "backward": "backward ↑",
    "update": "update",
    "complete": "iteration complete",
}


# -- rows of the network pane ------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One row of the network pane."""

    kind: RowKind
    index: int | None  #: layer index for layer rows
    name: str  #: layer name, ``loss`` or ``update``
    describe: str  #: ``Affine 2→6``, ``SoftmaxCrossEntropy``, ``sgd lr=0.1``
    out_shape: tuple[int, ...]  #: per-batch output shape (batch size first); () for the loss
    params: int
    bp_forward: bool = False
    bp_backward: bool = False
    #: ``forward``/``backward``/``loss``/``update`` when the next step runs on this row, else None
    next_phase: str | None = None
    forward_done: bool = False
    backward_done: bool = False

    @property
    def label(self) -> str:
        return f"L{self.index + 1}" if self.index is not None else ""


# -- tensors of the tensor pane ----------------------------------------------------------------
@dataclass(frozen=True)
class TensorItem:
    """A named tensor of a row, or a placeholder for one not computed yet in this iteration."""

    key: str  #: stable name, used to keep the selection across steps: ``x``, ``y``, ``dW`` …
    title: str  #: what it is, in words: ``dW = ∂L/∂W, the gradient of the loss w.r.t. W``
    role: TensorRole
    array: np.ndarray | None
    #: where the values come from (``forward step of L1 affine1``), or when they will exist
    source: str
    #: for flat MNIST-like data: the picture shape of one sample (28, 28); 4-D data needs none;
    #: (3, H, W) marks colour pictures: RGB data (flat or 4-D) and conv filters over it
    image_shape: tuple[int, ...] | None = None
    #: (size, stride, pad) when the tensor says which entry of each pooling window won
    #: (``Layer.cache_window``): the tensor pane draws one arrow per window
    window: tuple[int, int, int] | None = None

    @property
    def ready(self) -> bool:
        return self.array is not None

    @property
    def is_mask(self) -> bool:
        return self.array is not None and self.array.dtype == np.bool_

    @property
    def units(self) -> str:
        """What one number of the tensor means, for the legend."""
        if self.role == "gradient":
            of = self.key[1:] if self.key.startswith("d") else self.key
            of = {"out": "y", "scores": "scores"}.get(of, of)
            return f"∂L/∂{of} (loss change per unit of {of})"
        return {
            "activation": "activation values",
            "param": "parameter values",
            "mask": "True/False per entry",
            "cache": "values kept for backward",
            "target": "class index per sample",
            "delta": "change of the parameter (after − before)",
        }.get(self.role, "values")


# -- gradient check ----------------------------------------------------------------------------
@dataclass
class GradcheckJob:
    """A gradient check prepared on the UI thread (a private copy of the network and batch), to
    be run by :meth:`DebugSession.run_gradcheck` in a worker thread."""

    row_name: str
    layers: list[str]
    net: Network
    x: np.ndarray
    t: np.ndarray
    mode: str
    iteration: int
    position: int
    after_update: bool


@dataclass
class GradcheckResult:
    job: GradcheckJob
    report: GradcheckReport
    seconds: float


# -- breakpoint conditions ---------------------------------------------------------------------
@dataclass
class ConditionSettings:
    """The conditions that :meth:`Stepper.continue_` watches, as the dialog edits them."""

    nonfinite: bool = True
    gradcheck: bool = False
    dead_relu: bool = False
    dead_relu_threshold: float = 0.5
    grad_norm: bool = False
    grad_norm_threshold: float = 10.0


def _load_checkpoint(scenario: Scenario, net: Network, optimizer: Optimizer, ref: str | Path
                     ) -> tuple[Path, dict[str, Any]]:
    """Load a checkpoint of ``scenario`` into ``net`` (float64) and, when the optimizer kind
    matches, ``optimizer``; returns its path and metadata."""
    from ..checkpoint import check_compatible, load_checkpoint
    from ..restore import check_optimizer_state, load_weights

    ckpt = load_checkpoint(ref)
    check_compatible(ckpt, scenario.name, scenario.architecture_hash())
    load_weights(ckpt, net)  # checked, then copied into the float64 arrays
    kind = check_optimizer_state(ckpt, net)
    if kind == optimizer.kind and ckpt.optimizer:
        state = {k: (np.asarray(v, dtype=np.float64) if k != "__t__" else v)
                 for k, v in ckpt.optimizer.items()}
        optimizer.load_state_dict(state)
    return ckpt.path, ckpt.meta


def _probe_shapes(net: Network, x: np.ndarray) -> LayerError | None:
    """Run one forward pass (evaluation mode: no dropout draw, no running-statistics update)
    and take every layer's per-sample output shape from what it really returned.

    A layer written by a user may not override ``output_shape`` (the base class says "same as
    the input"); the network pane shows the shapes that forward produces. A layer that raises
    here is returned as a :class:`~backprop_tui.engine.contract.LayerError` naming it (the
    debugger opens anyway and shows it); the shapes from that layer on are what the layers'
    ``output_shape`` says, or the input's shape."""
    walk = Walk(net)
    # a copy: a layer that writes into its input must not change the user's data set
    walk.start(np.array(x, dtype=np.float64), np.empty(0))
    shapes: list[tuple[int, ...]] = []
    error: LayerError | None = None
    net.train(False)
    try:
        with np.errstate(all="ignore"):
            for pos, layer in enumerate(net.layers):
                given = walk.x if pos == 0 else walk.h
                try:
                    y = walk.run(pos).output
                except LayerError as e:  # say what it was given: the shapes are what is probed
                    error = LayerError(f"the forward of layer {layer.name!r} ({layer.kind}), on "
                                       f"input of shape {given.shape},", e.error,
                                       layer=layer.name, phase="forward")
                    break
                shapes.append(tuple(int(d) for d in y.shape[1:]))
    finally:
        net.train(True)
        for layer in net.layers:
            layer.cache.clear()
    shape = shapes[-1] if shapes else tuple(int(d) for d in x.shape[1:])
    for layer in net.layers[len(shapes):]:
        try:
            shape = tuple(layer.output_shape(shape))
        except Exception:  # noqa: BLE001 - a guess for the pane; the error is said already
            pass
        shapes.append(shape)
    net.input_shape = tuple(int(d) for d in x.shape[1:])
    net.shapes = shapes
    return error


class DebugSession:
    """A network ready to be stepped: network (float64), optimizer, batches and stepper.

    Made from a scenario file (:meth:`from_scenario`) or from a network built in Python
    (:meth:`for_network`); both hand the parts to ``__init__``. ``name`` and ``architecture``
    are what the title bar shows; ``flat_images`` says that flat 784-vectors are pictures
    (MNIST digits); ``scenario`` is None for a network of the user's own.
    """

    def __init__(
        self,
        net: Network,
        optimizer: Optimizer,
        batches: Batches,
        *,
        name: str,
        architecture: str,
        seed: int,
        flat_images: bool = False,
        scenario: Scenario | None = None,
        data_dir: str | Path | None = None,
        checkpoint_path: Path | None = None,
        checkpoint_meta: dict[str, Any] | None = None,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
    ) -> None:
        if net.dtype != np.float64:
            raise ValueError("the debugger steps a float64 network")
        self.scenario = scenario
        #: what the title bar and the first message call this network
        self.name = printable(name)  # bt.debug(name=...) or a file's: shown in the title
        self.architecture = architecture
        self.has_step = any(layer.kind == "Step" for layer in net.layers)
        #: why the gradient check cannot run on this network (None: it can)
        self.no_gradcheck = ("This network has step layers: their derivative is 0 wherever it "
                             "exists, so there is no gradient to check." if self.has_step
                             else None)
        #: flat 784-vectors are MNIST digits (a picture); a user's own data may be anything
        self.flat_images = flat_images
        self.seed = seed
        self.data_dir = data_dir
        self.checkpoint_path = checkpoint_path
        self.checkpoint_meta: dict[str, Any] = checkpoint_meta or {}
        self.net = net
        self.optimizer = optimizer
        self.batches = batches
        self.batch_size = batches.batch_size
        self.stepper = Stepper(net, optimizer, batches, history_bytes=history_bytes)
        self.conditions = ConditionSettings()
        self.apply_conditions()
        #: (iterations, epoch) of training when the training dashboard made this copy: the
        #: network pane says "from training: after iteration 1,200 (epoch 2)", since the
        #: stepper here counts its own iterations from 0
        self.from_training: tuple[int, int] | None = None
        #: a layer of the user's own that raised while the shapes were taken: the debugger
        #: opens anyway and says so first
        self.startup_error: LayerError | None = None
        #: the first iteration's loss against ln C, once its loss step ran
        self.initial_loss: LossCheck | None = None

    @classmethod
    def from_scenario(
        cls,
        scenario: Scenario,
        *,
        seed: int | None = None,
        batch_size: int | None = None,
        checkpoint: str | Path | None = None,
        data_dir: str | Path | None = None,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
        net: Network | None = None,
        optimizer: Optimizer | None = None,
        batches: Batches | None = None,
    ) -> DebugSession:
        """A session on a scenario. ``batch_size`` defaults to the scenario's ``[debug]
        batch_size``; ``seed`` to its training seed (the same seed gives the same weights and
        batches as ``train``). ``checkpoint`` loads trained weights (and the optimizer state,
        when the optimizer matches) and converts them to float64. ``net``/``optimizer``/
        ``batches`` may be given ready-made (the training dashboard hands over a float64 copy
        of its network and its current batch)."""
        if seed is not None and seed < 0:
            raise UsageError("must be an integer ≥ 0", key="--seed", value=seed)
        if batch_size is not None and batch_size < 1:
            raise UsageError("must be a positive integer", key="--batch-size", value=batch_size)
        seed = scenario.train.seed if seed is None else int(seed)
        net = net if net is not None else scenario.build_network(seed, "float64")
        optimizer = optimizer if optimizer is not None else scenario.build_optimizer()
        ckpt_path, ckpt_meta = (None, None) if checkpoint is None else \
            _load_checkpoint(scenario, net, optimizer, checkpoint)
        if batches is None:
            batches = scenario.batches(int(batch_size or scenario.debug_batch_size), seed,
                                       data_dir)
        return cls(net, optimizer, batches, name=scenario.name,
                   architecture=scenario.architecture, seed=seed,
                   flat_images=scenario.data.source == "mnist", scenario=scenario,
                   data_dir=data_dir, checkpoint_path=ckpt_path, checkpoint_meta=ckpt_meta,
                   history_bytes=history_bytes)

    @classmethod
    def for_network(
        cls,
        net: Network | Any,
        x: np.ndarray,
        t: np.ndarray,
        *,
        optimizer: Optimizer | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        name: str = "your network",
        history_bytes: int = DEFAULT_HISTORY_BYTES,
        batches: Batches | None = None,
    ) -> DebugSession:
        """A session on a network built in Python (your own layers, your data) instead of a
        scenario file: :func:`backprop_tui.debug` opens the debugger on it. ``net`` is a
        :class:`Network` or a whole network written the book's way (wrapped, not copied).

        ``x``/``t`` are the whole data set (rows are samples); batches of ``batch_size``
        (default: all of it, at most 32) are drawn from it with ``seed``. ``optimizer``
        defaults to SGD with lr 0.1. The network is stepped in float64 (converted here if
        it was built in another dtype). ``batches`` may be given ready-made (the training
        dashboard hands over its next batch); ``batch_size`` is then theirs."""
        from ..engine.optim import SGD
        from ..engine.ways_in import as_network

        net = as_network(net, "bt.debug")
        if seed < 0:
            raise UsageError("must be an integer ≥ 0", key="seed", value=seed)
        x = np.asarray(x)
        t = np.asarray(t)
        if x.ndim < 2 or len(x) == 0:
            raise UsageError("must be a batch of samples, one per row (N, features) or "
                             "(N, C, H, W)", key="x", value=f"an array of shape {x.shape}")
        if len(t) != len(x):
            raise UsageError(f"must have one target per sample of x ({len(x)})", key="t",
                             value=f"{len(t)} targets")
        try:  # NaN in the data would look like every layer's backward being wrong
            check_finite(x, "x")
            check_finite(t, "t")
        except BadData as e:
            raise UsageError(str(e)) from None
        n = len(x)
        if batches is not None:
            batch_size = batches.batch_size
        if batch_size is None:
            batch_size = min(n, 32)
        if batch_size < 1:
            raise UsageError("must be a positive integer", key="batch_size", value=batch_size)
        batch_size = min(int(batch_size), n)
        net.cast(np.float64)
        if batches is None:
            batches = Batches(x.astype(np.float64, copy=False), t, batch_size,
                              np.random.default_rng(seed))
        error = _probe_shapes(net, x[:batch_size])
        if error is None and len(net.shapes[-1]) == 1:
            try:  # labels for k class scores are 0…k−1: numpy would take −1 for the last one
                check_labels(t, net.shapes[-1][0])
            except BadData as e:
                raise UsageError(str(e)) from None
        architecture = f"{'×'.join(map(str, net.input_shape or ()))} → {net.describe()}"
        session = cls(net, optimizer if optimizer is not None else SGD(lr=0.1), batches,
                      name=name, architecture=architecture, seed=int(seed),
                      flat_images=x.ndim == 2 and x.shape[1] == 784,
                      history_bytes=history_bytes)
        session.startup_error = error
        return session

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return self.net.layers

    @property
    def n_rows(self) -> int:
        return len(self.net.layers) + 2

    @property
    def loss_row(self) -> int:
        return len(self.net.layers)

    @property
    def update_row(self) -> int:
        return len(self.net.layers) + 1

    @property
    def n(self) -> int:
        """Samples in the current batch."""
        return int(len(self.stepper.batch[0]))

    def row_of_layer(self, i: int | None, phase: str | None = None) -> int:
        if i is not None:
            return i
        return self.update_row if phase == "update" else self.loss_row

    def rows(self) -> list[Row]:
        st = self.stepper
        bps = st.breakpoints
        phase, nxt = st.upcoming
        pos = st.position  # == len(steps) when the iteration is complete: everything done
        next_row = self.row_of_layer(nxt, phase)
        L = len(self.net.layers)
        out: list[Row] = []
        n = self.n
        for i, layer in enumerate(self.net.layers):
            out.append(Row(
                kind="layer", index=i, name=layer.name, describe=layer.describe(),
                out_shape=(n, *self.net.shapes[i]), params=layer.param_count(),
                bp_forward=("forward", i) in bps, bp_backward=("backward", i) in bps,
                next_phase=phase if next_row == i else None,
                forward_done=pos > i,
                backward_done=pos > st.steps.index(("backward", i)),
            ))
        out.append(Row(kind="loss", index=None, name="loss",
                       describe=self._loss_describe(), out_shape=(), params=0,
                       next_phase="loss" if next_row == L else None,
                       forward_done=pos > L, backward_done=pos > L))
        out.append(Row(kind="update", index=None, name="update",
                       describe=self.optimizer.describe(), out_shape=(), params=0,
                       next_phase="update" if next_row == L + 1 else None,
                       forward_done=st.complete, backward_done=st.complete))
        return out

    def _loss_describe(self) -> str:
        text = self.net.loss_layer.describe()
        if self.net.l2:
            text += f" + L2 λ={self.net.l2:g}"
        return text

    @property
    def loss_units(self) -> str:
        kind = self.net.loss_layer.kind
        return "squared error" if kind == "MeanSquaredError" else "nats"

    # -- where we are -------------------------------------------------------------------------
    @property
    def loss_history(self) -> list[LossPoint]:
        return self.stepper.loss_history

    def status(self) -> dict[str, Any]:
        """Iteration, step, phase, batch — for the status line."""
        st = self.stepper
        return {
            "iteration": st.iteration,
            "position": st.position,
            "steps": st.steps_per_iteration,
            "phase": st.phase,
            "phase_label": PHASE_LABEL[st.phase],
            "next": st.next_step,
            "epoch": st.batch_epoch,
            "batch": st.batch_index,
            "batches": len(self.batches),
            "n": self.n,
            "from_training": self.from_training,
        }

    def health(self) -> HealthReport | None:
        """The health pane's report, from each layer's last forward and backward step and this
        iteration's update (if it ran); None before this iteration's first forward step."""
        st, net = self.stepper, self.net
        if st.record_for("forward", 0) is None:
            return None
        if st.iteration == 0 and st.record_for("loss") is not None:
            self.initial_loss = loss_check(net)
        rec = st.record_for("update")
        before = {k: rec.params[k] - d for k, d in rec.deltas.items()} if rec else None
        observed = {}
        for i in range(len(net.layers)):  # this iteration's steps only (issue 12)
            fwd, bwd = st.record_for("forward", i), st.record_for("backward", i)
            observed[i] = Observed(
                output=fwd.output if fwd else None, cache=fwd.cache if fwd else None,
                grads=bwd.grads if bwd else None, dx=bwd.output if bwd else None)
        return measure(net, iteration=st.iteration, before=before, check=self.initial_loss,
                       observed=observed)

    def incoming_weights(self, i: int, unit: int) -> tuple[str, np.ndarray] | None:
        return incoming_weights(self.net, i, unit)

    # -- tensors ------------------------------------------------------------------------------
    def _step_name(self, phase: str, i: int | None) -> str:
        pos = self.stepper.steps.index((phase, i))
        return self.stepper.describe_step(pos)

    def _pending(self, phase: str, i: int | None) -> str:
        st = self.stepper
        where = self._step_name(phase, i)
        if st.complete:
            return (f"not computed for the next batch yet: the {where} step computes it "
                    "(press n)")
        return f"not computed yet in this iteration: the {where} step computes it (press n)"

    def _arriving(self, phase: str, i: int) -> tuple[np.ndarray, str] | None:
        """What the step ``(phase, i)`` will take in, if the steps before it have run but it
        has not: the output of the step before it (for the first forward step, the batch),
        and where it comes from. A breakpoint stops just there; what goes in is known."""
        st = self.stepper
        pos = st.steps.index((phase, i))
        if st.complete or pos != st.position:
            return None
        if pos == 0:
            return st.batch[0], "the current batch (goes in at the next step)"
        before = st.records[pos - 1]
        return before.output, (f"from the {st.describe_step(pos - 1)} step (goes in at the "
                               "next step)")

    def _image_shape(self, i: int, what: Literal["in", "out"]) -> tuple[int, ...] | None:
        """A picture shape for flat per-sample vectors that are images (MNIST flat layout), or
        (3, H, W) for the colour data the first layer takes in (CIFAR-10, flat or not)."""
        colour = self._colour_data()
        if colour is not None and what == "in" and i == 0:
            return colour
        shape = self.net.input_shape if (what == "in" and i == 0) else None
        if shape is None or len(shape) != 1:
            return None
        side = math.isqrt(shape[0])
        if side * side == shape[0] and side >= 8 and self.flat_images:
            return (side, side)
        return None

    def _colour_data(self) -> tuple[int, ...] | None:
        """(3, H, W) when the scenario's data are colour pictures."""
        image = self.scenario.data.image_shape if self.scenario is not None else None
        return image if image is not None and image[0] == 3 else None

    def _colour_filters(self, i: int, p: np.ndarray) -> tuple[int, ...] | None:
        """(3, FH, FW) for the filters of a conv layer that looks at the colour data itself."""
        if i == 0 and self._colour_data() is not None and p.ndim == 4 and p.shape[1] == 3:
            return tuple(int(d) for d in p.shape[1:])
        return None

    def tensors(self, row: int) -> list[TensorItem]:
        """The tensors of ``row`` (a layer, the loss or the update), ready or pending, in a
        fixed order: forward tensors, cached tensors, parameters, then gradients."""
        if row == self.loss_row:
            return self._loss_tensors()
        if row == self.update_row:
            return self._update_tensors()
        return self._layer_tensors(row)

    def _layer_tensors(self, i: int) -> list[TensorItem]:
        st = self.stepper
        layer = self.net.layers[i]
        fwd = st.record_for("forward", i)
        bwd = st.record_for("backward", i)
        fsrc = f"from the {self._step_name('forward', i)} step"
        bsrc = f"from the {self._step_name('backward', i)} step"
        fpend = self._pending("forward", i)
        bpend = self._pending("backward", i)
        img_in = self._image_shape(i, "in")
        x_in, x_src = (fwd.input, fsrc) if fwd else (self._arriving("forward", i)
                                                     or (None, fpend))
        dout, dout_src = (bwd.input, bsrc) if bwd else (self._arriving("backward", i)
                                                        or (None, bpend))
        items = [
            TensorItem("x", f"x — the input of {layer.name}", "activation", x_in, x_src,
                       img_in),
            TensorItem("y", f"y — the output (activations) of {layer.name}", "activation",
                       fwd.output if fwd else None, fsrc if fwd else fpend),
        ]
        cache_keys = list(fwd.cache) if fwd else list(layer.cache)
        # shown under their own names already: the input (x), the output (y), the parameters
        # (cs231n's caches keep (x, w, b); a user's layer is handed a copy of x)
        shown = [a for a in (fwd.input, fwd.output) if a is not None] if fwd else []
        shown += list(layer.params.values()) if fwd else []
        for k in cache_keys:
            a = fwd.cache.get(k) if fwd else None
            if a is not None and (any(same_data(a, b) for b in shown) or (
                    layer.writes_inputs and fwd.input is not None
                    and _same_values(a, fwd.input))):
                continue
            if a is None and k in ("x", "y"):
                continue
            role: TensorRole = "mask" if (a is not None and a.dtype == np.bool_) else "cache"
            title = f"{k} — {layer.cache_hint(k)} (kept by forward for backward)"
            key = f"cache {k}" if k in layer.params or k in ("x", "y", "dout", "dx") else k
            items.append(TensorItem(key, title, role, a, fsrc if fwd else fpend,
                                    window=layer.cache_window(k)))
        for k, p in layer.params.items():
            items.append(TensorItem(k, f"{k} — parameter of {layer.name}, current value",
                                    "param", p, "the live parameter (changes at the update)",
                                    self._colour_filters(i, p)))
        for k, b in layer.buffers.items():
            items.append(TensorItem(k, f"{k} — running statistic (not trained)", "cache", b,
                                    "the live buffer"))
        items.append(TensorItem("dout", f"dout = ∂L/∂y — the gradient arriving at {layer.name}'s "
                                "output", "gradient", dout, dout_src))
        for k in layer.params:
            g = bwd.grads.get(k) if bwd else None
            items.append(TensorItem(f"d{k}", f"d{k} = ∂L/∂{k} — the gradient for {k}"
                                    + (" (incl. λ·W)" if self.net.l2 and k in layer.decay
                                       else ""),
                                    "gradient", g, bsrc if bwd else bpend,
                                    self._colour_filters(i, layer.params[k])))
        items.append(TensorItem("dx", f"dx = ∂L/∂x — the gradient {layer.name} sends back",
                                "gradient", bwd.output if bwd else None,
                                bsrc if bwd else bpend, img_in))
        return items

    def _loss_tensors(self) -> list[TensorItem]:
        st = self.stepper
        rec = st.record_for("loss", None)
        src = "from the loss step" if rec else self._pending("loss", None)
        items = [
            TensorItem("scores", "scores — the network's output, the loss's input", "activation",
                       rec.input if rec else None, src),
            TensorItem("t", "t — the batch's targets (class labels)", "target",
                       rec.target if rec else st.batch[1], src if rec else "the current batch"),
        ]
        if rec:
            for k, a in rec.cache.items():
                if k in ("x", "t") or a is None:
                    continue
                title = {"y": "y — the predicted probabilities",
                         "diff": "diff — output minus target"}.get(k, k)
                items.append(TensorItem(k, title, "cache", np.asarray(a), src))
        items.append(TensorItem("dscores", "dscores = ∂L/∂scores — the gradient entering the "
                                "backward pass", "gradient", rec.output if rec else None, src))
        return items

    def _update_tensors(self) -> list[TensorItem]:
        st = self.stepper
        rec = st.record_for("update", None) if st.complete else None
        items = []
        for layer in self.net.layers:
            if not layer.trainable:
                continue
            for k in layer.params:
                key = f"{layer.name}.{k}"
                src = "from the update step" if rec else self._pending("update", None)
                items.append(TensorItem(f"Δ{key}", f"Δ{key} — the change the update made "
                                        "(after − before)", "delta",
                                        rec.deltas.get(key) if rec else None, src))
        return items

    def tensor(self, row: int, key: str) -> TensorItem | None:
        for item in self.tensors(row):
            if item.key == key:
                return item
        return None

    # -- formulas -----------------------------------------------------------------------------
    def formulas(self, row: int) -> list[Formula]:
        """Equations of ``row`` with this network's shapes (batch size ``N`` = the current
        batch) substituted."""
        if row == self.loss_row:
            return loss_formulas(self.net, self.n)
        if row == self.update_row:
            return update_formulas(self.optimizer)
        return layer_formulas(self.net, row, self.n)

    # -- stepping (thin wrappers that say what happened) --------------------------------------
    def step(self) -> StepRecord:
        return self.stepper.step()

    def back(self) -> str:
        res = self.stepper.back()
        return f"stepped back: next {self.stepper.next_step}" if res else res.reason

    def toggle_breakpoint(self, row: int) -> str | None:
        """Toggle the forward+backward breakpoint of a layer row; None for loss/update rows."""
        if row >= len(self.net.layers):
            return None
        on = self.stepper.toggle_breakpoint(row)
        name = self.net.layers[row].name
        return f"breakpoint {'set on' if on else 'removed from'} L{row + 1} {name}"

    # -- conditions ---------------------------------------------------------------------------
    def apply_conditions(self) -> None:
        """Rebuild the stepper's condition list from :attr:`conditions`."""
        c = self.conditions
        conds: list = []
        if c.nonfinite:
            conds.append(NonFinite())
        if c.gradcheck:
            conds.append(GradcheckFails(self._condition_gradcheck))
        if c.dead_relu:
            conds.append(DeadReLU(c.dead_relu_threshold))
        if c.grad_norm:
            conds.append(GradNorm(c.grad_norm_threshold))
        self.stepper.conditions = conds

    def _condition_gradcheck(self, stepper: Stepper, record: StepRecord) -> GradcheckReport:
        x, t = stepper.batch
        return gradcheck(stepper.net, x, t, layers=[record.layer_name], mode="sampled", k=8,
                         end_to_end=False)

    def describe_conditions(self) -> str:
        c = self.conditions
        parts = []
        if c.nonfinite:
            parts.append("NaN/Inf")
        if c.gradcheck:
            parts.append("gradcheck fails")
        if c.dead_relu:
            parts.append(f"dead ReLU > {c.dead_relu_threshold:.0%}")
        if c.grad_norm:
            parts.append(f"‖grad‖ > {c.grad_norm_threshold:g}")
        return ", ".join(parts) if parts else "none"

    # -- gradient check -----------------------------------------------------------------------
    def gradcheck_layers(self, row: int) -> list[str]:
        if row == self.loss_row:
            return ["loss"]
        if row == self.update_row:
            return [layer.name for layer in self.net.layers] + ["loss"]
        return [self.net.layers[row].name]

    def prepare_gradcheck(self, row: int, mode: str = "auto") -> GradcheckJob:
        """Copy what the check needs (call on the UI thread; the copy is the worker's own)."""
        st = self.stepper
        x, t = st.batch
        return GradcheckJob(
            row_name=self.rows()[row].name, layers=self.gradcheck_layers(row),
            net=copy.deepcopy(self.net), x=x.copy(), t=t.copy(), mode=mode,
            iteration=st.iteration, position=st.position, after_update=st.complete,
        )

    @staticmethod
    def run_gradcheck(job: GradcheckJob, progress: Callable[[int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None) -> GradcheckResult:
        """Run a prepared check (in any thread) on the check's BLAS threads. Raises
        ``GradcheckCancelled`` if cancelled."""
        import time

        t0 = time.perf_counter()
        with threads_for("gradcheck"):
            report = gradcheck(job.net, job.x, job.t, layers=job.layers, mode=job.mode,
                               end_to_end=False, progress=progress, cancelled=cancelled,
                               inplace=True)
        return GradcheckResult(job, report, time.perf_counter() - t0)

    # -- long runs (workers call these) -------------------------------------------------------
    def continue_(self, progress=None, cancelled=None) -> StopReason:
        return self.stepper.continue_(progress=progress, cancelled=cancelled)


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """A copy of ``b``, value for value (what a user's layer caches of the copy it was given)."""
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


@dataclass
class SessionSpec:
    """What the CLI or the picker asks for; :meth:`build` makes the session (may raise a
    ``UserError``)."""

    scenario: str | Path
    seed: int | None = None
    batch_size: int | None = None
    checkpoint: str | Path | None = None
    data_dir: str | Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self) -> DebugSession | GraphSession:
        """The session; a graph scenario's is a :class:`GraphSession`."""
        from ..graphfile import is_graph_ref, load_graph_scenario
        from ..scenario import load_scenario
        from .graphsession import GraphSession

        if is_graph_ref(self.scenario):
            graph = load_graph_scenario(self.scenario)
            return GraphSession(graph.name, graph.build())
        sc = load_scenario(self.scenario)
        return DebugSession.from_scenario(sc, seed=self.seed, batch_size=self.batch_size,
                                          checkpoint=self.checkpoint, data_dir=self.data_dir,
                                          **self.extra)
