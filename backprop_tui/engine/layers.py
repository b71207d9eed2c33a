"""Layers with the book's shape: ``forward(x)`` keeps what ``backward(dout)`` needs.

Every layer exposes, by name, what a debugger wants to show:

* ``params`` — trainable tensors (``W``, ``b``, ``gamma`` …);
* ``grads``  — the gradients of the loss w.r.t. ``params`` (same keys), filled by ``backward``;
* ``cache``  — tensors saved by ``forward`` for ``backward`` (ReLU ``mask``, Dropout ``mask`` …);
* ``buffers`` — non-trainable state that persists across iterations (BatchNorm running stats);
* ``forward_equations`` / ``backward_equations`` — the math as text, with the code's names.

Batches are row-major: ``(N, features)`` or ``(N, C, H, W)``.

This module imports numpy only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .registry import Build, Option, init_std, positive, register

Shape = tuple[int, ...]


def dims(shape: tuple[int, ...]) -> str:
    """``(4, 6)`` → ``4×6``; a scalar shape → ``scalar``."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


#: what the cached tensors of a layer of the user's own usually are, by the names the book and
#: cs231n use; the built-in layers say it for themselves (``Layer.cache_hints``)
COMMON_CACHE_HINTS = {
    "mask": "True where x ≤ 0: those units pass no gradient",
    "col": "im2col: one receptive field per row",
    "switches": "True where x was the max of its window",
    "argmax": "index of the max inside each window",
    "fired": "True where the unit fired (x > 0)",
    "y": "the output, reused by backward",
    "xc": "x − μ",
    "xn": "normalised x",
    "std": "√(σ² + ε) per feature",
}


class ShapeError(ValueError):
    """A layer cannot accept the shape it is given (raised while a network is built)."""


class Layer:
    """Base class: one step of the forward pass and its mirror in the backward pass."""

    kind: ClassVar[str] = "Layer"
    forward_equations: ClassVar[tuple[str, ...]] = ()
    backward_equations: ClassVar[tuple[str, ...]] = ()
    #: names of params that the L2 penalty ½·λ·Σ‖W‖² applies to
    decay: ClassVar[tuple[str, ...]] = ()
    #: the layer is piecewise (ReLU, max-pool, step): a finite-difference step may cross a kink
    has_kinks: ClassVar[bool] = False
    #: forward returns a new array that nothing else refers to (not its input, not its cache),
    #: so that in lean mode the next layer may overwrite it (see ``input_is_fresh``)
    fresh_output: ClassVar[bool] = False
    #: forward/backward may write into the arrays they receive, as the book's ``Relu.backward``
    #: (``dout[self.mask] = 0``) and cs231n's ``relu_backward`` (``dx = dout; dx[x <= 0] = 0``)
    #: do: such a layer gets copies, so that what the tool recorded (the layer above's dx, an
    #: input it will perturb again) never changes under it. The built-in layers never write
    #: into what they receive (outside lean mode, where it is planned) and set this False.
    writes_inputs: ClassVar[bool] = True

    # -- as a scenario file's layer type (see engine/registry.py) ------------------------------
    #: ``type`` in scenario files; set by ``@register``, None for unregistered classes
    type_name: ClassVar[str | None] = None
    #: the keys a scenario's layer table may hold besides ``type`` and ``name``
    options: ClassVar[tuple[Option, ...]] = ()
    #: the name of an activation in the architecture string (``2-6-2 ReLU``)
    arch_activation: ClassVar[str | None] = None
    #: what each cached tensor is, for the tensor pane
    cache_hints: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> Layer:
        """The layer a scenario file describes: ``opts`` are the checked :attr:`options`,
        ``in_shape`` the per-sample input shape. ``build`` holds the random streams (or none,
        for a dry build that only asks about shapes)."""
        return cls(name=name)

    @classmethod
    def arch_part(cls, opts: dict[str, Any]) -> str | None:
        """This layer's part of the compact architecture string (``conv30@5×5``), if any."""
        return None

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.kind.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        #: training mode (Dropout drops, BatchNorm uses batch statistics)
        self.training = True
        #: frozen randomness/state: Dropout reuses its last mask and BatchNorm leaves its running
        #: statistics alone. The gradient checker sets this so that perturbed evaluations see
        #: exactly the function whose gradient ``backward`` computed.
        self.frozen = False
        #: False for hand-wired layers (the perceptron): the optimizer leaves them alone
        self.trainable = True
        #: lean mode, for training at full speed: skip the cache tensors that only the debugger
        #: shows and backward never reads (Conv2D's book-order ``col``, MaxPool2D's ``argmax``
        #: when its windows tile), and layers reuse arrays nobody reads again (ReLU works in
        #: place on its input when ``input_is_fresh`` and on its ``dout``; MaxPool2D writes dx
        #: over its input), so ``Network.inputs``/``dinputs`` may show later values. The trainer
        #: turns it on (``Network.lean()``); the stepper and the gradient checker leave it off.
        self.lean = False
        #: set by Network.forward_from before each forward: the input is the previous layer's
        #: output and that layer's ``fresh_output`` is true
        self.input_is_fresh = False

    # -- the contract ------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """Fill ``self.grads`` and return ``dx`` (or ``None`` when ``need_dx`` is false)."""
        raise NotImplementedError

    def output_shape(self, in_shape: Shape) -> Shape:
        """Per-sample output shape for a per-sample input shape; raise ShapeError if invalid."""
        return in_shape

    def decay_grad(self, name: str, l2: float) -> np.ndarray | float:
        """The L2 penalty's share of the gradient of the parameter ``name`` (one of
        :attr:`decay`): ∂(½·λ·‖W‖²)/∂W = λ·W. The network adds it after ``backward``."""
        return l2 * self.params[name]

    # -- introspection -----------------------------------------------------------------------
    def kink_signature(self) -> np.ndarray | None:
        """For piecewise layers: the discrete choice made in the last forward (e.g. ReLU mask)."""
        return None

    def describe(self) -> str:
        """A short human description, e.g. ``Affine 784→200``."""
        return self.kind

    def cache_window(self, key: str) -> tuple[int, int, int] | None:
        """``(size, stride, pad)`` of the square windows when the cached tensor ``key`` says
        which entry of each window won (a max-pool's ``argmax``: the index inside the window,
        in the output's shape; its ``switches``: True at the winner, in the input's shape), so
        that the tensor pane can draw one arrow per window; None for every other tensor."""
        return None

    def cache_hint(self, key: str) -> str:
        """What the cached tensor ``key`` holds, in a few words."""
        return self.cache_hints.get(key) or COMMON_CACHE_HINTS.get(key, "used by backward")

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]] | None:
        """The shapes each forward and backward equation works on, for input ``xs`` and output
        ``ys`` (batch axis first): ``(2×4)·(4×6) + (6) → 2×6``. None when they say no more than
        ``input → output`` (the formula pane then shows that)."""
        return None

    def param_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def scratch_per_sample(self, in_shape: Shape) -> int:
        """Entries of working memory one sample costs beyond the layer's input and output
        (im2col's columns, a padded copy), for the memory estimate made before a scenario's
        network is built (:mod:`backprop_tui.memory`). Most layers need none."""
        return 0

    def cast(self, dtype: np.dtype) -> None:
        for store in (self.params, self.buffers):
            for k, v in store.items():
                store[k] = v.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name!r}: {self.describe()}>"


def _check_ndim(layer: Layer, in_shape: Shape, ndims: tuple[int, ...], what: str) -> None:
    if len(in_shape) not in ndims:
        raise ShapeError(
            f"{layer.kind} layer {layer.name!r} expects {what}, "
            f"but its input has per-sample shape {in_shape}"
        )


class _Elementwise(Layer):
    """An activation applied entry by entry: every equation works on the whole tensor."""

    writes_inputs = False

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        return ([f"{dims(xs)} elementwise"] * len(self.forward_equations),
                [f"{dims(ys)} elementwise"] * len(self.backward_equations))


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``, computed as ``(bᵀ·aᵀ)ᵀ`` when the product is wider than tall.

    Same numbers either way, but OpenBLAS splits a product between its threads along the rows
    of numpy's result: with two threads, (100×784)·(784×200) runs ~25% faster and the
    (100×100)·(100×4320) of mnist-cnn's dx ~12% faster as the transposed product. The result is
    then column-major, which every later numpy operation accepts.
    """
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] < b.shape[1]:
        return (b.T @ a.T).T
    return a @ b


_POSITIVE_INT = {"check": positive, "expected": "a positive integer"}


@register("affine")
class Affine(Layer):
    """Fully connected layer ``y = x·W + b``; inputs with more axes are flattened per sample."""

    writes_inputs = False

    kind = "Affine"
    fresh_output = True
    forward_equations = ("y = x·W + b",)
    backward_equations = ("dx = dout·Wᵀ", "dW = xᵀ·dout", "db = Σₙ dout")
    decay = ("W",)
    options = (
        Option("out", "int", **_POSITIVE_INT),
        Option("init", "init"),
        Option("trainable", "bool", True),
        # hand-wired weights (the perceptron's), instead of random ones
        Option("W", "array", None, shape=lambda o, s: (int(np.prod(s)), o["out"])),
        Option("b", "array", None, shape=lambda o, s: (o["out"],)),
    )

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> Affine:
        n_in = int(np.prod(in_shape))
        W = opts.get("W")
        if W is None:
            W = build.normal((n_in, opts["out"]), init_std(opts["init"], n_in))
        b = opts.get("b")
        b = build.zeros(opts["out"]) if b is None else b
        layer = cls(build.params(W), build.params(b), name=name)
        layer.trainable = opts["trainable"]
        return layer

    @classmethod
    def arch_part(cls, opts: dict[str, Any]) -> str | None:
        return str(opts["out"])

    def __init__(self, W: np.ndarray, b: np.ndarray, name: str | None = None) -> None:
        super().__init__(name)
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ShapeError(f"Affine {self.name!r}: W must be (in, out) and b (out,)")
        self.params = {"W": W, "b": b}
        self.x_shape: Shape | None = None

    @property
    def n_in(self) -> int:
        return int(self.params["W"].shape[0])

    @property
    def n_out(self) -> int:
        return int(self.params["W"].shape[1])

    def output_shape(self, in_shape: Shape) -> Shape:
        n_in = int(np.prod(in_shape))
        if n_in != self.n_in:
            raise ShapeError(
                f"Affine layer {self.name!r} has {self.n_in} inputs, but the layer before it "
                f"produces {n_in} values per sample (shape {in_shape})"
            )
        return (self.n_out,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_shape = x.shape
        x2 = x.reshape(x.shape[0], -1)
        self.cache["x"] = x2
        y = _matmul(x2, self.params["W"])
        y += self.params["b"]
        return y

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        x, W = self.cache["x"], self.params["W"]
        self.grads["W"] = np.ascontiguousarray(_matmul(x.T, dout))  # the optimizer's layout
        self.grads["b"] = dout.sum(axis=0)
        if not need_dx:
            return None
        return _matmul(dout, W.T).reshape(self.x_shape)

    def describe(self) -> str:
        return f"Affine {self.n_in}→{self.n_out}"

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        n, d_in, d_out = xs[0], self.n_in, self.n_out
        flat = f" (x flattened from {dims(xs)})" if len(xs) > 2 else ""
        back_x = f"({n}×{d_out})·({d_out}×{d_in}) → {n}×{d_in}"
        if len(xs) > 2:
            back_x += f", reshaped to {dims(xs)}"
        return (
            [f"({n}×{d_in})·({d_in}×{d_out}) + ({d_out}) → {n}×{d_out}{flat}"],
            [back_x,
             f"({d_in}×{n})·({n}×{d_out}) → {d_in}×{d_out}",
             f"sum over {n} rows of ({n}×{d_out}) → {d_out}"],
        )


def _memory_order(a: np.ndarray) -> tuple[int, ...] | None:
    """Axis order that makes ``a`` C-contiguous (``a`` is a transposed contiguous array), or
    None. Lets elementwise kernels see one flat run of memory, whatever the logical order."""
    if a.flags.c_contiguous:
        return tuple(range(a.ndim))
    order = tuple(sorted(range(a.ndim), key=lambda i: -abs(a.strides[i])))
    return order if a.transpose(order).flags.c_contiguous else None


_ZEROS: dict[np.dtype, np.ndarray] = {}


def _zeros(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only run of ``n`` zeros, shared and grown on demand (never written)."""
    z = _ZEROS.get(dtype)
    if z is None or z.size < n:
        z = np.zeros(max(n, 4096), dtype=dtype)
        z.flags.writeable = False
        _ZEROS[dtype] = z
    return z[:n]


def _relu(x: np.ndarray, inplace: bool = False) -> np.ndarray:
    """``max(x, 0)`` in x's memory layout (into x itself if ``inplace``). numpy's ``maximum``
    with a scalar takes a slow non-vectorised loop; against an array of zeros it runs ~3× faster."""
    y = x if inplace else np.empty_like(x)
    order = _memory_order(x) if x.dtype.kind == "f" else None
    if order is None or y.strides != x.strides:
        return np.maximum(x, 0, out=y)
    flat_x, flat_y = x.transpose(order).reshape(-1), y.transpose(order).reshape(-1)
    np.maximum(flat_x, _zeros(x.size, x.dtype), out=flat_y)
    return y


_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _zero_where(dout: np.ndarray, keep: np.ndarray, inplace: bool = False) -> np.ndarray:
    """``np.where(keep, dout, 0)``, exactly (NaN/Inf in dropped entries become 0 too), by
    multiplying the float's bit pattern by the boolean: ~20× faster than ``np.where``. Into
    ``dout`` itself if ``inplace``."""
    dx = dout if inplace else np.empty_like(dout)
    uint = _UINT.get(dout.itemsize) if dout.dtype.kind == "f" else None
    if uint is None:
        return np.multiply(dout, keep, out=dx, casting="unsafe")
    np.multiply(dout.view(uint), keep, out=dx.view(uint))
    return dx


@register("relu")
class ReLU(_Elementwise):
    kind = "ReLU"
    arch_activation = "ReLU"
    cache_hints = {"mask": "True where x ≤ 0: those units pass no gradient"}
    forward_equations = ("mask = (x ≤ 0)", "y = 0 where mask, else x")
    backward_equations = ("dx = 0 where mask, else dout",)
    has_kinks = True

    fresh_output = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache["mask"] = x <= 0
        return _relu(x, inplace=self.lean and self.input_is_fresh and x.flags.writeable)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        # lean mode: dout is the layer above's dx, a temporary nobody reads again
        inplace = self.lean and dout.flags.writeable
        return _zero_where(dout, ~self.cache["mask"], inplace=inplace)

    def kink_signature(self) -> np.ndarray | None:
        return self.cache.get("mask")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function (no overflow for large |x|)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


@register("sigmoid")
class Sigmoid(_Elementwise):
    kind = "Sigmoid"
    arch_activation = "sigmoid"
    cache_hints = {"y": "the output, reused by backward"}
    forward_equations = ("y = 1 / (1 + exp(−x))",)
    backward_equations = ("dx = dout · y · (1 − y)",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = _sigmoid(x)
        self.cache["y"] = y
        return y

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        y = self.cache["y"]
        return dout * y * (1.0 - y)


@register("tanh")
class Tanh(_Elementwise):
    kind = "Tanh"
    arch_activation = "tanh"
    cache_hints = {"y": "the output, reused by backward"}
    forward_equations = ("y = tanh(x)",)
    backward_equations = ("dx = dout · (1 − y²)",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        self.cache["y"] = y
        return y

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        y = self.cache["y"]
        return dout * (1.0 - y * y)


@register("step")
class Step(_Elementwise):
    """The perceptron's activation. Its derivative is 0 wherever it exists (undefined at 0),
    so no gradient flows through it: gradient descent cannot train what lies before it."""

    kind = "Step"
    forward_equations = ("y = 1 if x > 0 else 0",)
    backward_equations = ("dx = 0   (step′(x) = 0 for x ≠ 0; undefined at x = 0)",)
    has_kinks = True
    arch_activation = "step"
    cache_hints = {"fired": "True where the unit fired (x > 0)"}

    def forward(self, x: np.ndarray) -> np.ndarray:
        fired = x > 0
        self.cache["fired"] = fired
        return fired.astype(x.dtype)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        return np.zeros_like(dout)

    def kink_signature(self) -> np.ndarray | None:
        return self.cache.get("fired")


@register("dropout")
class Dropout(Layer):
    """Inverted dropout (cs231n): keep each unit with probability 1 − p and scale by 1/(1 − p)
    while training, so that evaluation is the identity."""

    kind = "Dropout"
    writes_inputs = False
    forward_equations = ("mask ~ Bernoulli(1 − p)   (training only)", "y = x · mask / (1 − p)")
    backward_equations = ("dx = dout · mask / (1 − p)",)
    options = (Option("p", "float", 0.5, check=lambda v: 0 <= v < 1,
                      expected="a probability in [0, 1)"),)
    cache_hints = {"mask": "True where the unit is kept (and scaled by 1/(1 − p))"}

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> Dropout:
        rng = build.dropout_rng if build.dropout_rng is not None else np.random.default_rng(0)
        return cls(opts["p"], rng, name=name)

    @classmethod
    def arch_part(cls, opts: dict[str, Any]) -> str | None:
        return "drop"

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        return (
            [f"mask {dims(xs)} (bool), p = {self.p:g}", f"{dims(xs)} elementwise"],
            [f"{dims(ys)} elementwise"],
        )

    def __init__(self, p: float, rng: np.random.Generator, name: str | None = None) -> None:
        super().__init__(name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = rng

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self.cache.pop("mask", None)
            return x
        mask = self.cache.get("mask")
        if not (self.frozen and mask is not None and mask.shape == x.shape):
            mask = self.rng.random(x.shape) >= self.p
            self.cache["mask"] = mask
        return x * mask * x.dtype.type(1.0 / (1.0 - self.p))

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        mask = self.cache.get("mask")
        if mask is None:
            return dout
        return dout * mask * dout.dtype.type(1.0 / (1.0 - self.p))

    def describe(self) -> str:
        return f"Dropout p={self.p:g}"


@register("batchnorm")
class BatchNorm(Layer):
    """Batch normalisation over the batch axis of ``(N, D)`` inputs (Ioffe & Szegedy 2015)."""

    kind = "BatchNorm"
    writes_inputs = False
    fresh_output = True
    forward_equations = (
        "μ = mean(x), σ² = var(x)   (over the batch; running averages when evaluating)",
        "std = √(σ² + ε),  xc = x − μ,  xn = xc / std",
        "y = γ · xn + β",
    )
    backward_equations = (
        "dβ = Σₙ dout,  dγ = Σₙ xn · dout",
        "dxn = γ · dout",
        "dx = (dxn − mean(dxn) − xn · mean(dxn · xn)) / std",
    )
    options = (
        Option("momentum", "float", 0.9, check=lambda v: 0 <= v < 1,
               expected="a number in [0, 1)"),
        Option("eps", "float", 1e-5, check=positive, expected="a positive number"),
    )
    cache_hints = {"xc": "x − μ", "xn": "normalised x", "std": "√(σ² + ε) per feature"}

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> BatchNorm:
        dim = int(in_shape[0]) if len(in_shape) == 1 else 0  # output_shape refuses the rest
        return cls(dim, opts["momentum"], opts["eps"], name=name)

    @classmethod
    def arch_part(cls, opts: dict[str, Any]) -> str | None:
        return "bn"

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        n, d = xs[0], self.dim
        return (
            [f"over {n} samples → μ, σ² of shape {d}", f"{dims(xs)}", f"γ, β: {d} → {dims(ys)}"],
            [f"dγ, dβ: {d}", f"{dims(ys)}", f"{dims(ys)} → {dims(xs)}"],
        )

    def __init__(
        self, dim: int, momentum: float = 0.9, eps: float = 1e-5, name: str | None = None
    ) -> None:
        super().__init__(name)
        self.params = {"gamma": np.ones(dim), "beta": np.zeros(dim)}
        self.buffers = {"running_mean": np.zeros(dim), "running_var": np.ones(dim)}
        self.momentum = float(momentum)
        self.eps = float(eps)

    @property
    def dim(self) -> int:
        return int(self.params["gamma"].shape[0])

    def output_shape(self, in_shape: Shape) -> Shape:
        _check_ndim(self, in_shape, (1,), "flat (N, D) inputs; put a Flatten before it")
        if in_shape[0] != self.dim:
            raise ShapeError(
                f"BatchNorm layer {self.name!r} normalises {self.dim} features, "
                f"but its input has {in_shape[0]}"
            )
        return in_shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        gamma, beta = self.params["gamma"], self.params["beta"]
        if self.training:
            mu = x.mean(axis=0)
            xc = x - mu
            var = (xc * xc).mean(axis=0)
            std = np.sqrt(var + self.eps)
            xn = xc / std
            if not self.frozen:
                m = self.momentum
                rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
                self.buffers["running_mean"] = m * rm + (1 - m) * mu
                self.buffers["running_var"] = m * rv + (1 - m) * var
            self.cache.update(xc=xc, std=std, xn=xn)
        else:
            std = np.sqrt(self.buffers["running_var"] + self.eps)
            xn = (x - self.buffers["running_mean"]) / std
            self.cache.clear()
            self.cache.update(std=std, xn=xn)
        return gamma * xn + beta

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        xn, std = self.cache["xn"], self.cache["std"]
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = (xn * dout).sum(axis=0)
        if not need_dx:
            return None
        dxn = self.params["gamma"] * dout
        if "xc" not in self.cache:  # forward ran in evaluation mode: an affine map, fixed stats
            return dxn / std
        return (dxn - dxn.mean(axis=0) - xn * (dxn * xn).mean(axis=0)) / std

    def describe(self) -> str:
        return f"BatchNorm {self.dim}"


@register("flatten")
class Flatten(Layer):
    kind = "Flatten"
    writes_inputs = False
    forward_equations = ("y = reshape(x, (N, C·H·W))",)
    backward_equations = ("dx = reshape(dout, shape of x)",)

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.x_shape: Shape | None = None

    def output_shape(self, in_shape: Shape) -> Shape:
        return (int(np.prod(in_shape)),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        return ([f"{dims(xs)} → {dims(ys)}"], [f"{dims(ys)} → {dims(xs)}"])

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        return dout.reshape(self.x_shape)
