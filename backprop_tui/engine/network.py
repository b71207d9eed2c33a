"""Network: a list of layers, a loss layer and an optional L2 penalty.

The network is the sequence the debugger steps through::

    forward L1 → … → forward Ln → loss → backward Ln → … → backward L1 → update

``forward_layer``/``backward_layer`` perform one unit of that sequence, so the stepper, the
trainer and the gradient checker all share exactly the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .layers import Layer, Shape
from .losses import Loss


def given(obj: Layer | Loss, a: np.ndarray) -> np.ndarray:
    """What a layer's (or loss's) code receives: ``a`` itself, or a copy when its code may write
    into the arrays it is handed (``writes_inputs``: any layer but the built-ins)."""
    return a.copy() if obj.writes_inputs else a


def _check_pieces(layers: list, loss: object) -> None:
    """A plain object (a book-style layer written by the user) in ``bt.Network`` gets a message
    that says how it gets in, not an AttributeError from deep inside."""
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(
                f"bt.Network: layer {i} is a {type(layer).__name__}, not a bt.Layer. Subclass "
                "bt.Layer, or wrap a book-style layer (forward(x), backward(dout)) with "
                "bt.from_book(obj); a whole book network goes in as bt.from_book(net)")
    if not isinstance(loss, Loss):
        raise TypeError(
            f"bt.Network: the loss is a {type(loss).__name__}, not a bt.Loss. Use a built-in "
            "loss (bt.SoftmaxCrossEntropy()) or wrap a book-style one (forward(x, t), "
            "backward(dout=1)) with bt.from_book(obj)")


class Network:
    def __init__(
        self,
        layers: list[Layer],
        loss: Loss,
        *,
        l2: float = 0.0,
        input_shape: Shape | None = None,
        dtype: np.dtype | str = np.float64,
    ) -> None:
        self.layers = list(layers)
        self.loss_layer = loss
        self.l2 = float(l2)
        self.dtype = np.dtype(dtype)
        self.input_shape: Shape | None = tuple(input_shape) if input_shape else None
        _check_pieces(self.layers, loss)
        #: per-sample output shape of every layer (filled by check_shapes)
        self.shapes: list[Shape] = []
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}: give the layers "
                             "name=... (Affine(W, b, name='affine2'))")
        for layer in self.layers:
            layer.cast(self.dtype)
        if self.input_shape is not None:
            self.check_shapes(self.input_shape)
        #: input of each layer in the last forward pass (references, not copies)
        self.inputs: list[np.ndarray | None] = [None] * len(self.layers)
        self.output: np.ndarray | None = None
        #: gradient w.r.t. each layer's input in the last backward pass (None where skipped)
        self.dinputs: list[np.ndarray | None] = [None] * len(self.layers)
        self.dout: np.ndarray | None = None  # gradient of the loss w.r.t. the network output
        self.data_loss: float | None = None
        self.l2_loss: float = 0.0

    # -- structure ----------------------------------------------------------------------------
    def check_shapes(self, input_shape: Shape) -> list[Shape]:
        """Propagate a per-sample shape through every layer; raises ShapeError on mismatch."""
        shapes = []
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes.append(shape)
        self.loss_layer.check_output(shape)
        self.shapes = shapes
        return shapes

    def __len__(self) -> int:
        return len(self.layers)

    def cast(self, dtype: np.dtype | str) -> None:
        """Convert every layer's parameters and buffers to ``dtype`` (the debugger and the
        gradient check work in float64, whatever a user built the network in)."""
        dtype = np.dtype(dtype)
        if dtype != self.dtype:
            for layer in self.layers:
                layer.cast(dtype)
            self.dtype = dtype

    def index(self, name: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.name == name:
                return i
        raise KeyError(name)

    def param_count(self) -> int:
        return sum(layer.param_count() for layer in self.layers)

    def parameters(self) -> Iterator[tuple[str, Layer, str]]:
        """Yield ``(key, layer, param_name)`` for every parameter, key = ``layer.param``."""
        for layer in self.layers:
            for k in layer.params:
                yield f"{layer.name}.{k}", layer, k

    def generators(self) -> dict[str, np.random.Generator]:
        """The layers' own random generators, by layer name: Dropout's, or a layer of the
        user's that keeps one as ``rng`` (a trainer's checkpoint saves their states)."""
        return {layer.name: rng for layer in self.layers
                if isinstance(rng := getattr(layer, "rng", None), np.random.Generator)}

    def describe(self) -> str:
        dims = []
        for layer in self.layers:
            dims.append(layer.describe())
        return " → ".join(dims)

    # -- modes --------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> None:
        for layer in self.layers:
            layer.training = mode

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Dropout reuses its masks and BatchNorm keeps its running stats while inside."""
        before = [layer.frozen for layer in self.layers]
        for layer in self.layers:
            layer.frozen = True
        try:
            yield
        finally:
            for layer, f in zip(self.layers, before, strict=True):
                layer.frozen = f

    @contextmanager
    def lean(self) -> Iterator[None]:
        """Lean mode while inside: layers skip the cache tensors that only the debugger shows
        (see ``Layer.lean``). Gradients and outputs are identical; training runs faster."""
        before = [layer.lean for layer in self.layers]
        for layer in self.layers:
            layer.lean = True
        try:
            yield
        finally:
            for layer, f in zip(self.layers, before, strict=True):
                layer.lean = f

    # -- the step sequence --------------------------------------------------------------------
    def _as_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    def forward_layer(self, i: int, h: np.ndarray) -> np.ndarray:
        self.inputs[i] = h
        out = self.layers[i].forward(given(self.layers[i], h))
        if i == len(self.layers) - 1:
            self.output = out
        return out

    def forward(self, x: np.ndarray, *, train: bool | None = None) -> np.ndarray:
        """Run every layer; returns the network's output (scores)."""
        if train is not None:
            self.train(train)
        return self.forward_from(0, self._as_input(x))

    def forward_from(self, start: int, h: np.ndarray) -> np.ndarray:
        """Run layers ``start…n-1`` on ``h``, the input of layer ``start``."""
        fresh = False  # h comes from outside: never overwritten
        for i in range(start, len(self.layers)):
            layer = self.layers[i]
            layer.input_is_fresh = fresh
            try:
                h = self.forward_layer(i, h)
            finally:
                layer.input_is_fresh = False
            fresh = layer.fresh_output
        if start >= len(self.layers):
            self.output = h
        return h

    def l2_term(self) -> float:
        if not self.l2:
            return 0.0
        total = 0.0
        for layer in self.layers:
            if layer.trainable:
                for k in layer.decay:
                    w = layer.params[k]
                    total += float(np.vdot(w, w))
        return 0.5 * self.l2 * total

    def compute_loss(self, out: np.ndarray, t: np.ndarray) -> float:
        """The loss step: data loss on the output plus ``½·λ·Σ‖W‖²``."""
        self.data_loss = self.loss_layer.forward(given(self.loss_layer, out), t)
        self.l2_loss = self.l2_term()
        return self.data_loss + self.l2_loss

    def loss(self, x: np.ndarray, t: np.ndarray, *, train: bool | None = None) -> float:
        """Forward through every layer, then the loss (+ L2). ``train`` sets the mode first."""
        return self.compute_loss(self.forward(x, train=train), t)

    def backward_loss(self) -> np.ndarray:
        self.dout = self.loss_layer.backward(1.0)
        return self.dout

    def backward_layer(self, i: int, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """Backward through layer ``i``: fills its grads (+ λ·W) and returns the input gradient."""
        layer = self.layers[i]
        dx = layer.backward(given(layer, dout), need_dx=need_dx)
        if self.l2 and layer.trainable:
            for k in layer.decay:
                layer.grads[k] += layer.decay_grad(k, self.l2)
        self.dinputs[i] = dx
        return dx

    def backward(self, *, need_input_grad: bool = True) -> np.ndarray | None:
        """Backward through the loss and every layer. Returns dL/dx for the network input
        (skipped, and None returned, when ``need_input_grad`` is false — training never needs it).
        """
        dout = self.backward_loss()
        for i in range(len(self.layers) - 1, -1, -1):
            dout = self.backward_layer(i, dout, need_dx=(i > 0 or need_input_grad))
        return dout

    # -- evaluation ---------------------------------------------------------------------------
    def predict(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Predicted class per sample, in evaluation mode (training mode is restored after)."""
        modes = [layer.training for layer in self.layers]
        self.train(False)
        try:
            preds = [
                self.loss_layer.predict(self.forward(x[i : i + batch_size]))
                for i in range(0, len(x), batch_size)
            ]
        finally:
            for layer, m in zip(self.layers, modes, strict=True):
                layer.training = m
        return np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 1000) -> float:
        if len(x) == 0:
            return float("nan")
        return float((self.predict(x, batch_size) == self.loss_layer.labels(t)).mean())

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer, keyed ``layer.name``; arrays are copies."""
        state = {}
        for layer in self.layers:
            for store in (layer.params, layer.buffers):
                for k, v in store.items():
                    state[f"{layer.name}.{k}"] = v.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values into the existing arrays (shapes must match; dtype is converted)."""
        expected = {
            f"{layer.name}.{k}": (layer, store, k)
            for layer in self.layers
            for store in (layer.params, layer.buffers)
            for k in store
        }
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        if missing or extra:
            raise KeyError(
                f"state does not match the network: missing {missing}, unexpected {extra}"
            )
        for key, (_layer, store, k) in expected.items():
            v = np.asarray(state[key])
            if v.shape != store[k].shape:
                raise ValueError(f"{key}: shape {v.shape} does not match {store[k].shape}")
            store[k][...] = v
