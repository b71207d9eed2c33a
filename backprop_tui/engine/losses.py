"""Loss layers: ``forward(x, t) -> scalar`` and ``backward() -> dL/dx``.

All losses average over the batch (the ``1/N`` in every gradient below), as in the book.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .datacheck import check_labels
from .layers import Shape, ShapeError, _sigmoid


class Loss:
    kind: ClassVar[str] = "Loss"
    #: forward may write into the scores it receives (see ``Layer.writes_inputs``); the
    #: built-in losses do not
    writes_inputs: ClassVar[bool] = True
    forward_equations: ClassVar[tuple[str, ...]] = ()
    backward_equations: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.name = self.kind.lower()
        self.cache: dict[str, np.ndarray] = {}
        self.value: float | None = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self, dout: float = 1.0) -> np.ndarray:
        raise NotImplementedError

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class per sample from the network's final output."""
        raise NotImplementedError

    def labels(self, t: np.ndarray) -> np.ndarray:
        """Class per sample from the targets (integer labels or one-hot / binary targets)."""
        t = np.asarray(t)
        if t.ndim == 1 and np.issubdtype(t.dtype, np.integer):
            return t  # already class indices (the common case, once per training batch)
        if t.ndim == 2 and t.shape[1] > 1:
            return t.argmax(axis=1)
        return t.reshape(t.shape[0]).round().astype(np.int64)

    def check_output(self, out_shape: Shape) -> None:
        """Raise ShapeError if the network's per-sample output cannot feed this loss."""

    def describe(self) -> str:
        return self.kind


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused so that ``dx = (y − t) / N`` is exact and stable.

    Targets may be integer labels ``(N,)`` or one-hot / probability rows ``(N, K)``.
    """

    kind = "SoftmaxCrossEntropy"
    writes_inputs = False
    forward_equations = (
        "y = softmax(x) = exp(x − max x) / Σ exp(x − max x)",
        "L = −(1/N) Σₙ log y[n, tₙ]",
    )
    backward_equations = ("dx = (y − onehot(t)) / N",)

    def check_output(self, out_shape: Shape) -> None:
        if len(out_shape) != 1 or out_shape[0] < 2:
            raise ShapeError(
                f"softmax cross-entropy needs at least 2 class scores per sample; "
                f"the network's output has per-sample shape {out_shape}"
            )

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        z = x - x.max(axis=1, keepdims=True)
        logsum = np.log(np.exp(z).sum(axis=1, keepdims=True))
        logp = z - logsum
        n = x.shape[0]
        t = np.asarray(t)
        if t.ndim == 1:  # class indices (float labels [0., 2.] read from a CSV too), checked:
            labels = check_labels(t, x.shape[1])  # numpy would take −1 for the last class
            t = t if labels is None else labels
        if t.ndim == 1:
            loss = -logp[np.arange(n), t].sum() / n
        else:
            loss = -(t * logp).sum() / n
        self.cache = {"x": x, "t": t, "y": np.exp(logp)}
        self.value = float(loss)
        return self.value

    def backward(self, dout: float = 1.0) -> np.ndarray:
        y, t = self.cache["y"], self.cache["t"]
        n = y.shape[0]
        dx = y.copy()
        if t.ndim == 1:
            dx[np.arange(n), t] -= 1
        else:
            dx -= t
        dx *= dout / n
        return dx

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x.argmax(axis=1)

    def describe(self) -> str:
        return "softmax + cross-entropy"


class SigmoidBCE(Loss):
    """Sigmoid followed by binary cross-entropy, computed from the logits without overflow:
    ``ℓ = max(x, 0) − x·t + log(1 + exp(−|x|))``. Targets have the output's shape, values in [0, 1].
    """

    kind = "SigmoidBCE"
    writes_inputs = False
    forward_equations = (
        "y = σ(x)",
        "L = (1/N) Σ [max(x, 0) − x·t + log(1 + exp(−|x|))]   (= −t log y − (1−t) log(1−y))",
    )
    backward_equations = ("dx = (σ(x) − t) / N",)

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        t = np.asarray(t, dtype=x.dtype).reshape(x.shape)
        n = x.shape[0]
        per = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        self.cache = {"x": x, "t": t, "y": _sigmoid(x)}
        self.value = float(per.sum() / n)
        return self.value

    def backward(self, dout: float = 1.0) -> np.ndarray:
        y, t = self.cache["y"], self.cache["t"]
        return (y - t) * (dout / y.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] == 1:
            return (x[:, 0] > 0).astype(np.int64)
        return x.argmax(axis=1)

    def describe(self) -> str:
        return "sigmoid + binary cross-entropy"


class MeanSquaredError(Loss):
    """The seeds' ``SquareLoss``: ``L = (1/N) Σₙ ½‖yₙ − tₙ‖²``. Integer labels are one-hot encoded
    when the output has several columns."""

    kind = "MeanSquaredError"
    writes_inputs = False
    forward_equations = ("L = (1/N) Σₙ ½ ‖yₙ − tₙ‖²",)
    backward_equations = ("dx = (y − t) / N",)

    def _targets(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t)
        if t.ndim == 1 and x.ndim == 2 and x.shape[1] > 1:
            onehot = np.zeros_like(x)
            onehot[np.arange(x.shape[0]), check_labels(t, x.shape[1])] = 1
            return onehot
        return t.astype(x.dtype, copy=False).reshape(x.shape)

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        t = self._targets(x, t)
        diff = x - t
        self.cache = {"y": x, "t": t, "diff": diff}
        self.value = float(0.5 * (diff * diff).sum() / x.shape[0])
        return self.value

    def backward(self, dout: float = 1.0) -> np.ndarray:
        diff = self.cache["diff"]
        return diff * (dout / diff.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] == 1:
            return (x[:, 0] > 0.5).astype(np.int64)
        return x.argmax(axis=1)

    def describe(self) -> str:
        return "mean squared error (½)"


LOSSES: dict[str, type[Loss]] = {
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "sigmoid_bce": SigmoidBCE,
    "mse": MeanSquaredError,
}
