"""Find-the-bug exercises: the mistakes students really make, each a small variant of the real
piece, and how to plant one in a network without saying where.

Every variant below is a subclass of a real layer, loss or optimizer that overrides the one
method the student gets wrong, with the wrong line as students write it; nothing else changes.
:func:`plant` switches one object of a built network (or its optimizer) to its variant by
changing its class in place — parameters, caches and the optimizer's state stay the objects
they were — and only the exercise calls it. :data:`CATALOGUE` lists the mistakes with the answer
(the layer and the tensor that are wrong), the wrong and the correct code, and why it is wrong;
:func:`evidence` measures what the gradient check or the update shows on the planted piece (the
second hint and the answer's worked entry).

One note on "ReLU mask from the output": a mask taken from the forward output y (``y > 0``) is
the same as one from x, since y > 0 exactly where x > 0 — not a mistake at all. What students
get wrong is the mask taken on the output *side*, from the gradient that arrives there
(``dout > 0``): that is the variant here.

This module imports numpy only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from .conv import MaxPool2D, _from_hwnc, _to_hwnc
from .layers import Affine, Dropout, ReLU, Sigmoid, Step
from .losses import MeanSquaredError, SigmoidBCE, SoftmaxCrossEntropy
from .network import Network
from .optim import SGD, AdaGrad, Momentum, Optimizer

Phase = Literal["forward", "backward", "update"]


# -- the variants: one wrong method each -------------------------------------------------------
class SoftmaxCrossEntropyNoMean(SoftmaxCrossEntropy):
    def backward(self, dout: float = 1.0) -> np.ndarray:
        y, t = self.cache["y"], self.cache["t"]
        onehot = t if t.ndim == 2 else np.eye(y.shape[1])[t]
        return (y - onehot) * dout  # the mistake: forward averages over N, this does not


class SigmoidBCENoMean(SigmoidBCE):
    def backward(self, dout: float = 1.0) -> np.ndarray:
        y, t = self.cache["y"], self.cache["t"]
        return (y - t) * dout  # the mistake: no / N


class MeanSquaredErrorNoMean(MeanSquaredError):
    def backward(self, dout: float = 1.0) -> np.ndarray:
        return self.cache["diff"] * dout  # the mistake: no / N


class SoftmaxCrossEntropyNoMax(SoftmaxCrossEntropy):
    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        t = self.labels(t)
        n = x.shape[0]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            e = np.exp(x)  # the mistake: exp of the raw scores, without subtracting the max
            y = e / e.sum(axis=1, keepdims=True)
            loss = -np.log(y[np.arange(n), t]).sum() / n
        self.cache = {"x": x, "t": t, "y": y}
        self.value = float(loss)
        return self.value


class AffineTransposedDW(Affine):
    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        x, W = self.cache["x"], self.params["W"]
        self.grads["W"] = dout.T @ x  # the mistake: that is dWᵀ (the same shape when W is square)
        self.grads["b"] = dout.sum(axis=0)
        if not need_dx:
            return None
        return (dout @ W.T).reshape(self.x_shape)


class AffineL2WithoutW(Affine):
    def decay_grad(self, name: str, l2: float) -> np.ndarray | float:
        return l2  # the mistake: ∂(½·λ·‖W‖²)/∂W is λ·W, not λ


class ReLUMaskFromDout(ReLU):
    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        dx = dout.copy()
        dx[dout <= 0] = 0  # the mistake: masked where the gradient is ≤ 0, not where x ≤ 0
        return dx


class SigmoidDerivativeOfX(Sigmoid):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache["x"] = x  # kept for backward, as the student's self.x = x
        return super().forward(x)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        x = self.cache["x"]
        return dout * x * (1.0 - x)  # the mistake: σ′ is y·(1 − y), with y = σ(x), not x·(1 − x)


class DropoutNoScale(Dropout):
    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        mask = self.cache.get("mask")
        if mask is None:
            return dout
        return dout * mask  # the mistake: forward scaled the kept units by 1/(1 − p)


class MaxPoolFirstEntry(MaxPool2D):
    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        n, c, h, w = self.x_shape
        p = self.pad
        oh, ow, _ = self._geometry(self.x_shape)
        dx = np.zeros((h + 2 * p, w + 2 * p, n, c), dtype=dout.dtype)
        self._views(dx, oh, ow)[0] += _to_hwnc(dout)  # the mistake: window's first entry, always
        return _from_hwnc(dx[p : p + h, p : p + w])


class _OneParameter:
    """The optimizer variants make their mistake on one parameter (``planted``, a key such as
    ``affine2.b``): the line the student got wrong for that one, the others are updated right."""

    planted: str = ""


class SGDBiasFromItself(_OneParameter, SGD):
    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        if key != self.planted:
            return super().update(key, p, g)
        p -= p.dtype.type(self.lr) * p  # the mistake: lr·b where lr·db belongs
        return None


class MomentumUphill(_OneParameter, Momentum):
    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        if key != self.planted:
            return super().update(key, p, g)
        v = self._slot("v", key, p)
        v *= p.dtype.type(self.momentum)
        v += p.dtype.type(self.lr) * g  # the mistake: + lr·dW, so v points uphill
        p += v
        return None


class AdaGradNoSqrt(_OneParameter, AdaGrad):
    def update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        if key != self.planted:
            return super().update(key, p, g)
        h = self._slot("h", key, p)
        h += g * g
        p -= p.dtype.type(self.lr) * g / (h + p.dtype.type(1e-7))  # the mistake: h, not √h
        return None


# -- the catalogue -----------------------------------------------------------------------------
Sites = Callable[[Network, Optimizer, int], list[str]]


@dataclass(frozen=True)
class Mistake:
    """One entry of the catalogue. ``sites(net, optimizer, n)`` says where in a network it can
    be planted (layer names, ``"loss"``, or a parameter key ``layer.param`` for the update),
    for a debugger batch of ``n``; ``variants`` maps each real class to its wrong variant."""

    id: str
    title: str
    phase: Phase
    #: the wrong tensor: of the planted layer (dW, dx…), of the loss (y, dscores), or for the
    #: update the parameter's name (W, b) — the answer's tensor is then ``layer.param``
    tensor: str
    wrong: str
    right: str
    explanation: str
    variants: dict[type, type]
    sites: Sites
    #: what else the exercise needs for the mistake to show (large scores for the softmax)
    prepare: Callable[[Network], None] | None = field(default=None, compare=False)
    #: the scenarios' pieces it needs, in words (for the catalogue table)
    needs: str = ""


def _layers(net: Network, kind: type, test: Callable[..., bool] = lambda layer: True
            ) -> list[str]:
    if any(isinstance(layer, Step) for layer in net.layers):  # no gradient to check there
        return []
    return [layer.name for layer in net.layers if type(layer) is kind and test(layer)]


def _params(net: Network, optimizer: Optimizer, kind: type, names: tuple[str, ...]
            ) -> list[str]:
    if type(optimizer) is not kind or any(isinstance(lay, Step) for lay in net.layers):
        return []
    return [f"{layer.name}.{k}" for layer in net.layers if layer.trainable
            for k in layer.params if k in names]


def _loss_site(net: Network, kinds: tuple[type, ...]) -> list[str]:
    if any(isinstance(layer, Step) for layer in net.layers):
        return []
    return ["loss"] if type(net.loss_layer) in kinds else []


def _raise_scores(net: Network) -> None:
    """Raise every score by 1000 through the last layer's bias. softmax(x + c) = softmax(x):
    the right code's probabilities, loss and gradients do not change at all, while exp of the
    raw scores overflows."""
    net.layers[-1].params["b"] += 1000.0


CATALOGUE: tuple[Mistake, ...] = (
    Mistake(
        "loss-no-mean", "missing 1/N in the loss backward", "backward", "dscores",
        wrong="dx = (y - onehot(t)) * dout",
        right="dx = (y - onehot(t)) * dout / N",
        explanation="The loss is the mean over the batch, L = (1/N) Σₙ ℓₙ, so every entry of "
                    "its gradient carries the 1/N: each sample moves L by 1/N of its own loss. "
                    "Without it every gradient of the network is N times too large.",
        variants={SoftmaxCrossEntropy: SoftmaxCrossEntropyNoMean,
                  SigmoidBCE: SigmoidBCENoMean, MeanSquaredError: MeanSquaredErrorNoMean},
        sites=lambda net, opt, n: _loss_site(net, (SoftmaxCrossEntropy, SigmoidBCE,
                                                   MeanSquaredError)) if n > 1 else [],
        needs="any loss, a batch of more than one sample"),
    Mistake(
        "affine-dw-transposed", "transposed dW", "backward", "dW",
        wrong="self.dW = dout.T @ x",
        right="self.dW = x.T @ dout",
        explanation="dW[i, j] = Σₙ x[n, i]·dout[n, j]: input i, output j, like W[i, j]. "
                    "dout.T @ x is its transpose. With a square W the shapes agree, so no shape "
                    "check sees it: only the numbers do (the gradient check).",
        variants={Affine: AffineTransposedDW},
        sites=lambda net, opt, n: _layers(
            net, Affine, lambda a: a.trainable and a.n_in == a.n_out > 1),
        needs="an Affine layer with a square W (a non-square one: the shape check catches it)"),
    Mistake(
        "relu-mask-from-dout", "ReLU mask from the output side", "backward", "dx",
        wrong="dx = dout.copy(); dx[dout <= 0] = 0",
        right="dx = dout.copy(); dx[self.mask] = 0      # mask = (x <= 0), from forward",
        explanation="Which units pass the gradient was decided in the forward pass: those "
                    "with x > 0. The sign of the gradient arriving from the output says nothing "
                    "about it: masking by dout ≤ 0 blocks negative gradients of live units and "
                    "lets positive ones through dead units.",
        variants={ReLU: ReLUMaskFromDout},
        sites=lambda net, opt, n: _layers(net, ReLU), needs="a ReLU layer"),
    Mistake(
        "sigmoid-derivative-of-x", "sigmoid derivative from x instead of y", "backward", "dx",
        wrong="dx = dout * x * (1.0 - x)",
        right="dx = dout * y * (1.0 - y)      # y = σ(x), kept by forward",
        explanation="σ′(x) = σ(x)·(1 − σ(x)) = y·(1 − y): the derivative is written with the "
                    "output y. Putting the input x in its place gives another function "
                    "altogether (negative for x > 1, where σ′ is always positive).",
        variants={Sigmoid: SigmoidDerivativeOfX},
        sites=lambda net, opt, n: _layers(net, Sigmoid), needs="a Sigmoid layer"),
    Mistake(
        "sgd-bias-from-itself", "b -= lr·b instead of lr·db", "update", "b",
        wrong="params['b'] -= lr * params['b']",
        right="params['b'] -= lr * grads['b']",
        explanation="Gradient descent moves a parameter against its gradient: b ← b − lr·db. "
                    "b − lr·b only shrinks b towards 0 (and a bias that starts at 0 never "
                    "moves), whatever the loss says.",
        variants={SGD: SGDBiasFromItself},
        sites=lambda net, opt, n: _params(net, opt, SGD, ("b",)), needs="SGD"),
    Mistake(
        "l2-lambda-without-w", "L2 gradient λ instead of λ·W", "backward", "dW",
        wrong="dW += weight_decay_lambda",
        right="dW += weight_decay_lambda * W",
        explanation="The penalty is ½·λ·‖W‖² = ½·λ·Σ W[i, j]², whose derivative by W[i, j] is "
                    "λ·W[i, j]: each weight is pulled towards 0 in proportion to its size. "
                    "Adding λ alone pushes every weight the same way, large or small.",
        variants={Affine: AffineL2WithoutW},
        sites=lambda net, opt, n: _layers(net, Affine, lambda a: a.trainable) if net.l2 else [],
        needs="an Affine layer and L2 (l2 > 0)"),
    Mistake(
        "momentum-uphill", "momentum with the wrong sign", "update", "W",
        wrong="v = momentum * v + lr * dW;  W += v",
        right="v = momentum * v - lr * dW;  W += v",
        explanation="The velocity accumulates steps *against* the gradient: v ← μ·v − lr·dW. "
                    "With + the parameter climbs the loss, faster and faster as v builds up.",
        variants={Momentum: MomentumUphill},
        sites=lambda net, opt, n: _params(net, opt, Momentum, ("W",)), needs="Momentum"),
    Mistake(
        "adagrad-no-sqrt", "AdaGrad without the square root", "update", "W",
        wrong="h += dW * dW;  W -= lr * dW / (h + 1e-7)",
        right="h += dW * dW;  W -= lr * dW / (np.sqrt(h) + 1e-7)",
        explanation="AdaGrad divides by the root of the accumulated squares, √h, which has "
                    "the gradient's own scale: the first step is lr·sign(dW). Dividing by h "
                    "makes the step lr/dW — enormous exactly where the gradient is small.",
        variants={AdaGrad: AdaGradNoSqrt},
        sites=lambda net, opt, n: _params(net, opt, AdaGrad, ("W",)), needs="AdaGrad"),
    Mistake(
        "softmax-no-max", "softmax without subtracting the max", "forward", "y",
        wrong="e = np.exp(x);  y = e / e.sum(axis=1, keepdims=True)",
        right="e = np.exp(x - x.max(axis=1, keepdims=True));  y = e / e.sum(axis=1, "
              "keepdims=True)",
        explanation="softmax(x) = softmax(x − c) for any c, and with c = max x the largest "
                    "exponent is exp(0) = 1. Without it exp overflows for scores above ~709.8 "
                    "(float64): inf / inf = NaN, and the loss and every gradient after it are "
                    "NaN. (In this exercise the last layer's bias was raised by 1000: the right "
                    "softmax gives exactly the same numbers, since softmax(x + c) = softmax(x).)",
        variants={SoftmaxCrossEntropy: SoftmaxCrossEntropyNoMax},
        sites=lambda net, opt, n: _loss_site(net, (SoftmaxCrossEntropy,))
        if net.layers and "b" in net.layers[-1].params else [],
        prepare=_raise_scores, needs="softmax cross-entropy after a layer with a bias"),
    Mistake(
        "dropout-no-scale", "Dropout without the 1/(1−p) scale", "backward", "dx",
        wrong="dx = dout * self.mask",
        right="dx = dout * self.mask / (1 - self.p)",
        explanation="Inverted dropout scales the kept units by 1/(1 − p) in forward, so that "
                    "evaluation needs no change: y = x·mask/(1 − p). Its derivative carries the "
                    "same factor; without it the gradient is (1 − p) times too small.",
        variants={Dropout: DropoutNoScale},
        sites=lambda net, opt, n: _layers(net, Dropout, lambda d: d.p > 0),
        needs="a Dropout layer"),
    Mistake(
        "maxpool-first-entry", "max-pool routing to the window's first entry", "backward", "dx",
        wrong="dmax[:, 0] = dout.flatten()",
        right="dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()",
        explanation="Only the entry that won the window (its arg-max) reached the output, so "
                    "only it receives the gradient. Sending it to the first entry of each "
                    "window is right only where the first entry happened to win.",
        variants={MaxPool2D: MaxPoolFirstEntry},
        sites=lambda net, opt, n: _layers(net, MaxPool2D), needs="a MaxPool2D layer"),
)

# every variant declares the real piece it stands in for: explain gives it the real piece's
# formula (and notes where its code's entry differs from the terms), never "your own code"
for _m in CATALOGUE:
    for _real, _variant in _m.variants.items():
        _variant.explain_as = _real

BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}


# -- planting -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planted:
    """A mistake and where it went: a layer's name, ``"loss"``, or a parameter key."""

    mistake: Mistake
    site: str

    @property
    def answer(self) -> tuple[str, str]:
        """(layer, tensor) the student must name: ``("affine2", "dW")``, ``("loss",
        "dscores")``, ``("update", "affine2.b")``."""
        if self.mistake.phase == "update":
            return "update", self.site
        return self.site, self.mistake.tensor

    @property
    def where(self) -> str:
        """The place in words (the third hint)."""
        if self.mistake.phase == "update":
            return f"the update of {self.site}"
        return "the loss" if self.site == "loss" else f"the layer {self.site}"


def plant(mistake: Mistake, site: str, net: Network, optimizer: Optimizer) -> Planted:
    """Switch the piece at ``site`` of ``net`` (or ``optimizer``) to the mistake's variant, in
    place. ``site`` must be one of ``mistake.sites(...)``."""
    if mistake.phase == "update":
        obj: object = optimizer
    elif site == "loss":
        obj = net.loss_layer
    else:
        obj = net.layers[net.index(site)]
    obj.__class__ = mistake.variants[type(obj)]
    if isinstance(obj, _OneParameter):
        obj.planted = site
    if mistake.prepare is not None:
        mistake.prepare(net)
    return Planted(mistake, site)


def unplant(planted: Planted, net: Network, optimizer: Optimizer) -> None:
    """Put the real piece back at the planted site of ``net`` / ``optimizer`` (copies of the
    exercise's: what the right code computes, for the answer's worked entry)."""
    m, site = planted.mistake, planted.site
    if m.phase == "update":
        obj: object = optimizer
    elif site == "loss":
        obj = net.loss_layer
    else:
        obj = net.layers[net.index(site)]
    real = {variant: real for real, variant in m.variants.items()}.get(type(obj))
    if real is not None:
        obj.__class__ = real


def answer_choices(net: Network) -> dict[str, list[str]]:
    """What the answer dialog offers: every layer with its tensors (y, its parameters'
    gradients, dx), the loss's, and the update's parameters."""
    out: dict[str, list[str]] = {}
    for layer in net.layers:
        out[layer.name] = ["y", *(f"d{k}" for k in layer.params), "dx"]
    out["loss"] = ["loss", "y", "dscores"]
    out["update"] = [f"{layer.name}.{k}" for layer in net.layers if layer.trainable
                     for k in layer.params]
    return out


# -- what the planted piece shows ----------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """What the numbers show on the planted piece: ``ratio`` (the second hint: how the
    student's numbers compare with the right ones), one affected entry of the answer's tensor
    (``entry``, its index) and that entry's numbers (``detail``)."""

    ratio: str
    entry: tuple[int, ...] | None
    detail: str
    #: the correct value of that entry (numeric derivative, or the correct update)
    expected: float | None = None
    got: float | None = None


def _symbols(net: Network, n: int) -> dict[str, float]:
    """Quantities a measured ratio may turn out to be, by name."""
    out = {"N": float(n), "1/N": 1.0 / n, "the opposite direction": -1.0, "no change": 0.0}
    for layer in net.layers:
        if isinstance(layer, Dropout) and layer.p:
            out.setdefault("1 − p", 1.0 - layer.p)
            out.setdefault("1/(1 − p)", 1.0 / (1.0 - layer.p))
    return out


def _number(r: float) -> str:
    """A ratio as a short fraction when it is one (1/16, 4/5, 16), else 4 digits."""
    f = Fraction(r).limit_denominator(100)
    if abs(f.numerator) <= 100 and abs(float(f) - r) <= 1e-6 * max(1.0, abs(r)):
        return str(f)
    return f"{r:.4g}"


def ratio_text(got: np.ndarray, want: np.ndarray, what: str, symbols: dict[str, float]) -> str:
    """How ``got`` compares with ``want`` entry by entry, in one sentence: one factor (named,
    when it is one of ``symbols``), a few values, or a spread."""
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    if not (np.isfinite(got).all() and np.isfinite(want).all()):
        bad = int((~np.isfinite(got)).sum())
        return f"{what}: {bad} of {got.size} entries are NaN or Inf"
    big = np.abs(want) > 1e-3 * max(float(np.abs(want).max(initial=0.0)), 1e-12)
    if not big.any():
        return f"{what}: the right values are all 0 here, yours reach {np.abs(got).max():.3g}"
    r = got[big] / want[big]
    scale = float(np.abs(want).max())
    stray = int(((~big) & (np.abs(got) > 1e-3 * scale)).sum())
    also = (f"; and {stray} entr{'y' if stray == 1 else 'ies'} whose right value is 0 get "
            "one" if stray else "")
    lo, hi = float(r.min()), float(r.max())
    if r.size == 1:
        return f"{what} = {r[0]:.4g} on the one entry compared{also}"
    if hi - lo <= 1e-4 * max(abs(lo), abs(hi), 1e-12):
        mid = float(np.median(r))
        names = [k for k, v in symbols.items() if abs(v - mid) <= 1e-6 * max(1.0, abs(v))]
        named = f" = {names[0]}" if names else ""
        return f"{what} = {_number(mid)}{named} on every entry{also}"
    vals, counts = np.unique(np.round(r, 6), return_counts=True)
    if len(vals) <= 3:
        parts = ", ".join(f"{_number(float(v))} on {c} entr{'y' if c == 1 else 'ies'}"
                          for v, c in zip(vals, counts, strict=True))
        return f"{what} is {parts}{also}"
    return (f"{what} varies from {lo:.3g} to {hi:.3g} across the entries (median "
            f"{float(np.median(r)):.3g}): no single factor, the formula itself differs{also}")


def evidence(planted: Planted, net: Network, optimizer: Optimizer, x: np.ndarray,
             t: np.ndarray, cancelled: Callable[[], bool] | None = None) -> Evidence:
    """Measure the planted mistake on copies of ``net`` and ``optimizer`` with the batch
    ``(x, t)``: the gradient check of the planted layer (backward mistakes), the update
    against the correct optimizer's (update mistakes), or the loss's non-finite entries
    (forward mistakes). Nothing of the caller's changes. ``cancelled`` stops the gradient check
    (it raises ``GradcheckCancelled``)."""
    phase = planted.mistake.phase
    if phase == "update":
        return _update_evidence(planted, net, optimizer, x, t)
    if phase == "forward":
        return _forward_evidence(planted, net, x, t)
    return _backward_evidence(planted, net, x, t, cancelled)


def _entry_text(tensor: str, idx: tuple[int, ...]) -> str:
    return f"{tensor}[{', '.join(map(str, idx))}]"


def _backward_evidence(planted: Planted, net: Network, x: np.ndarray, t: np.ndarray,
                       cancelled: Callable[[], bool] | None) -> Evidence:
    from .gradcheck import gradcheck

    layer, tensor = planted.answer
    name = "x" if tensor in ("dx", "dscores") else tensor[1:]
    report = gradcheck(net, x, t, layers=[layer], end_to_end=False, cancelled=cancelled)
    row = next(c for c in report.checks if c.layer == layer and c.tensor == name)
    keep = (row.indices >= 0) & ~row.kinked
    a, n, idx = row.analytic[keep], row.numeric[keep], row.indices[keep]
    symbols = _symbols(net, len(x))
    # the place is the third hint: the second says only what the numbers show
    ratio = ratio_text(a, n, "on the wrong gradient, analytic/numeric", symbols)
    if not idx.size:
        return Evidence(ratio, None, "")
    worst = int(np.argmax(np.abs(a - n)))
    entry = tuple(int(i) for i in np.unravel_index(int(idx[worst]), row.shape))
    detail = (f"{_entry_text(tensor, entry)}: your code gives {a[worst]:.6g}, the numerical "
              f"derivative is {n[worst]:.6g}")
    return Evidence(ratio, entry, detail, float(n[worst]), float(a[worst]))


def _update_evidence(planted: Planted, net: Network, optimizer: Optimizer, x: np.ndarray,
                     t: np.ndarray) -> Evidence:
    key = planted.site
    layer_name, param = key.rsplit(".", 1)
    deltas = []
    for wrong in (True, False):
        work, opt = copy.deepcopy((net, optimizer))
        if not wrong:
            opt.__class__ = next(c for c in type(opt).__mro__[1:]
                                 if issubclass(c, Optimizer) and c is not _OneParameter)
        work.loss(x, t)
        work.backward()
        p = work.layers[work.index(layer_name)].params[param]
        before = p.copy()
        opt.step(work)
        deltas.append(p - before)
    got, want = deltas
    ratio = ratio_text(got, want, "the change the update made to the wrong parameter / the "
                                  "change it should make", _symbols(net, len(x)))
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(got - want))),
                                                   got.shape))
    detail = (f"Δ{_entry_text(key, worst)}: your update changes it by {got[worst]:.6g}, "
              f"the correct {optimizer.kind} update by {want[worst]:.6g}")
    return Evidence(ratio, worst, detail, float(want[worst]), float(got[worst]))


def _forward_evidence(planted: Planted, net: Network, x: np.ndarray, t: np.ndarray
                      ) -> Evidence:
    work = copy.deepcopy(net)
    scores = work.forward(x)
    work.compute_loss(scores, t)
    y = np.asarray(work.loss_layer.cache["y"])
    bad = ~np.isfinite(y)
    top = float(np.max(scores))
    ratio = (f"the loss's y (probabilities): {int(bad.sum())} of {y.size} entries are NaN or "
             f"Inf; the largest score is {top:.6g}, and exp overflows above 709.78 in float64")
    if not bad.any():
        return Evidence(ratio, None, "")
    entry = tuple(int(i) for i in np.argwhere(bad)[0])
    with np.errstate(over="ignore"):
        detail = (f"{_entry_text('y', entry)} = {y[entry]}: exp(scores{list(entry)} = "
                  f"{scores[entry]:.6g}) = {np.exp(scores[entry])}")
    z = scores[entry[0]] - scores[entry[0]].max()
    right = float(np.exp(z[entry[1]]) / np.exp(z).sum())
    return Evidence(ratio, entry, detail, right, float(y[entry]))


def hints(planted: Planted, found: Evidence) -> list[str]:
    """The three hints, in the order a wrong answer earns them: the phase, the ratio on the
    planted piece, the place."""
    phase = {
        "forward": "The mistake is in the forward pass: an output, not a gradient.",
        "backward": "The mistake is in the backward pass: a gradient is wrong (the forward is "
                    "right).",
        "update": "The mistake is in the update step: the gradients are right, the change "
                  "made to a parameter is not.",
    }[planted.mistake.phase]
    return [phase, f"Measured: {found.ratio}.", f"It is in {planted.where}."]


def applicable(net: Network, optimizer: Optimizer, n: int) -> list[tuple[Mistake, list[str]]]:
    """The mistakes that can be planted in ``net`` trained by ``optimizer`` with a debugger
    batch of ``n``, each with its sites."""
    out = []
    for m in CATALOGUE:
        sites = m.sites(net, optimizer, n)
        if sites:
            out.append((m, sites))
    return out
