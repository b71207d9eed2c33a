"""Optimizers (the book's ch. 6). Parameters are updated in place; state is keyed ``layer.param``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .network import Network


class Optimizer:
    kind: ClassVar[str] = "optimizer"
    equations: ClassVar[tuple[str, ...]] = ()
    #: the state it keeps per parameter: ``state["<slot>:<layer>.<param>"]``, shaped like it
    slots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)
        self.state: dict[str, np.ndarray] = {}
        self.t = 0  # number of updates applied

    def step(self, net: Network) -> None:
        """Apply one update to every trainable parameter of ``net`` from its ``grads``."""
        self.t += 1
        for layer in net.layers:
            if not layer.trainable:
                continue
            for k, p in layer.params.items():
                g = layer.grads.get(k)
                if g is not None:
                    self.update(f"{layer.name}.{k}", p, g)

    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _slot(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        full = f"{name}:{key}"
        s = self.state.get(full)
        if s is None:
            s = self.state[full] = np.zeros_like(like)
        return s

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {k: v.copy() for k, v in self.state.items()}
        out["__t__"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        state = dict(state)
        self.t = int(state.pop("__t__", 0))
        self.state = {k: np.array(v) for k, v in state.items()}

    def describe(self) -> str:
        return f"{self.kind} lr={self.lr:g}"


class SGD(Optimizer):
    kind = "sgd"
    equations = ("W ← W − lr · dW",)

    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        p -= p.dtype.type(self.lr) * g


class Momentum(Optimizer):
    kind = "momentum"
    slots = ("v",)
    equations = ("v ← μ · v − lr · dW", "W ← W + v")

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = float(momentum)

    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        v = self._slot("v", key, p)
        v *= p.dtype.type(self.momentum)
        v -= p.dtype.type(self.lr) * g
        p += v

    def describe(self) -> str:
        return f"momentum lr={self.lr:g} μ={self.momentum:g}"


class AdaGrad(Optimizer):
    kind = "adagrad"
    slots = ("h",)
    equations = ("h ← h + dW ⊙ dW", "W ← W − lr · dW / (√h + 1e-7)")

    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        h = self._slot("h", key, p)
        h += g * g
        p -= p.dtype.type(self.lr) * g / (np.sqrt(h) + p.dtype.type(1e-7))


class Adam(Optimizer):
    kind = "adam"
    slots = ("m", "v")
    equations = (
        "m ← β₁ · m + (1 − β₁) · dW",
        "v ← β₂ · v + (1 − β₂) · dW ⊙ dW",
        "W ← W − lrₜ · m / (√v + ε),   lrₜ = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)   (the book's form)",
    )

    def __init__(
        self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        m = self._slot("m", key, p)
        v = self._slot("v", key, p)
        f = p.dtype.type
        m *= f(self.beta1)
        m += f(1 - self.beta1) * g
        v *= f(self.beta2)
        v += f(1 - self.beta2) * (g * g)
        step = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        p -= f(step) * m / (np.sqrt(v) + f(self.eps))

    def describe(self) -> str:
        return f"adam lr={self.lr:g} β=({self.beta1:g}, {self.beta2:g})"


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "adagrad": AdaGrad,
    "adam": Adam,
}
