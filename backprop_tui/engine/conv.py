"""Convolution and max-pooling on ``(N, C, H, W)`` batches, via im2col / col2im.

``im2col`` turns every receptive field into a row, so that a convolution becomes one matrix
product (Deep Learning from Scratch, ch. 7; cs231n). The windows are read through a strided
view of the padded input, so the only copy is the one into the column matrix itself.

Memory layout (speed, not semantics). Every array keeps its logical ``(N, C, H, W)`` shape, but
inside the layers the image tensors live in *pixel-major* memory order ``(H, W, N, C)``: the
convolution's matrix product writes its output directly in that order (one GEMM, no transpose
copy), and the windows of a max-pool are then whole slabs of ``N·C`` contiguous values instead of
pairs of neighbouring floats, which numpy handles many times faster. Such outputs are returned
as transposed *views* (``out.transpose(2, 3, 0, 1)``), which numpy's elementwise operations
(ReLU and its mask) follow without copying. ``cache['col']`` is still exactly ``im2col(x)`` (the
book's row order ``(n, oh, ow)``); the GEMM uses the same receptive fields in ``(oh, ow, n)``
order, kept in ``_colT``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from .layers import Layer, Shape, ShapeError, dims
from .registry import Build, Option, init_std, positive, register

_POSITIVE_INT = {"check": positive, "expected": "a positive integer"}
_PAD = Option("pad", "int", 0, check=lambda v: v >= 0, expected="an integer ≥ 0")


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int | None:
    """Output length along one axis, or None if the windows do not tile the padded input."""
    span = size + 2 * pad - kernel
    if span < 0 or span % stride:
        return None
    return span // stride + 1


def _windows(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """Strided view (N, C, OH, OW, FH, FW) of the padded input — no copy beyond the padding."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(x, (fh, fw), axis=(2, 3))
    if stride != 1:
        win = win[:, :, ::stride, ::stride]
    return win


def im2col(x: np.ndarray, fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """(N, C, H, W) → (N·OH·OW, C·FH·FW): one receptive field per row (the book's layout).

    The matrix is stored column-major (its transpose is C-contiguous): the copy out of the
    strided window view then runs along whole output rows, about 3× faster than row-major.
    """
    n, c = x.shape[:2]
    win = _windows(x, fh, fw, stride, pad)
    oh, ow = win.shape[2], win.shape[3]
    colT = np.empty((c, fh, fw, n, oh, ow), dtype=x.dtype)
    np.copyto(colT, win.transpose(1, 4, 5, 0, 2, 3))
    return colT.reshape(c * fh * fw, n * oh * ow).T


def col2im(
    col: np.ndarray, x_shape: Shape, fh: int, fw: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add each row back onto its receptive field."""
    n, c, h, w = x_shape
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    cols = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for i in range(fh):
        i_end = i + stride * oh
        for j in range(fw):
            j_end = j + stride * ow
            img[:, :, i:i_end:stride, j:j_end:stride] += cols[:, :, i, j]
    if pad:
        return img[:, :, pad:-pad, pad:-pad]
    return img


# -- the layouts used inside the layers ---------------------------------------------------------
def _to_chwn(x: np.ndarray, pad: int = 0, fill: float = 0.0) -> np.ndarray:
    """(N, C, H, W) → C-contiguous (C, H + 2·pad, W + 2·pad, N), the input order of im2col."""
    if not pad:
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    n, c, h, w = x.shape
    xt = np.full((c, h + 2 * pad, w + 2 * pad, n), fill, dtype=x.dtype)
    xt[:, pad : pad + h, pad : pad + w, :] = x.transpose(1, 2, 3, 0)
    return xt


def _to_hwnc(x: np.ndarray, pad: int = 0, fill: float = 0.0) -> np.ndarray:
    """(N, C, H, W) → C-contiguous (H + 2·pad, W + 2·pad, N, C); free (a view) if ``x`` is
    already a transposed (H, W, N, C) array, as the outputs of Conv2D and ReLU are."""
    if not pad:
        return np.ascontiguousarray(x.transpose(2, 3, 0, 1))
    n, c, h, w = x.shape
    xt = np.full((h + 2 * pad, w + 2 * pad, n, c), fill, dtype=x.dtype)
    xt[pad : pad + h, pad : pad + w] = x.transpose(2, 3, 0, 1)
    return xt


def _from_hwnc(xt: np.ndarray) -> np.ndarray:
    """(H, W, N, C) → the (N, C, H, W) view of the same memory."""
    return xt.transpose(2, 3, 0, 1)


def _im2colT(
    xt: np.ndarray, fh: int, fw: int, stride: int, oh: int, ow: int, extra_rows: int = 0
) -> np.ndarray:
    """Padded (C, H, W, N) → (C·FH·FW + extra_rows, OH·OW·N): the receptive fields as columns,
    ordered (oh, ow, n), so that ``colTᵀ·Wᵣᵀ`` comes out in (OH, OW, N, FN) order. The
    ``extra_rows`` at the bottom are left for the caller (Conv2D puts the bias's ones there)."""
    c, _, _, n = xt.shape
    sc, sh, sw, sn = xt.strides
    win = as_strided(
        xt, (c, fh, fw, oh, ow, n), (sc, sh, sw, sh * stride, sw * stride, sn), writeable=False
    )
    k = c * fh * fw
    colT = np.empty((k + extra_rows, oh * ow * n), dtype=xt.dtype)
    np.copyto(colT[:k].reshape(c, fh, fw, oh, ow, n), win)
    return colT


def _col2imT(
    dcolT: np.ndarray, c: int, hp: int, wp: int, n: int, fh: int, fw: int, stride: int
) -> np.ndarray:
    """Adjoint of :func:`_im2colT`: (C·FH·FW, OH·OW·N) → padded (C, HP, WP, N)."""
    oh = (hp - fh) // stride + 1
    ow = (wp - fw) // stride + 1
    cols = dcolT.reshape(c, fh, fw, oh, ow, n)
    img = np.zeros((c, hp, wp, n), dtype=dcolT.dtype)
    for i in range(fh):
        for j in range(fw):
            img[:, i : i + stride * oh : stride, j : j + stride * ow : stride] += cols[:, i, j]
    return img


@register("conv")
class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework) with stride and zero padding."""

    kind = "Conv2D"
    writes_inputs = False
    fresh_output = True
    forward_equations = (
        "col = im2col(x)          (one receptive field per row)",
        "y = col·Wᵣᵀ + b          (Wᵣ = W reshaped to (FN, C·FH·FW))",
    )
    backward_equations = (
        "dW = reshape(doutᵣᵀ·col, (FN, C, FH, FW))",
        "db = Σ dout over n, h, w",
        "dx = col2im(doutᵣ·Wᵣ)",
    )
    decay = ("W",)
    options = (
        Option("filters", "int", **_POSITIVE_INT),
        Option("size", "int", **_POSITIVE_INT),
        Option("stride", "int", 1, **_POSITIVE_INT),
        _PAD,
        Option("init", "init"),
    )
    cache_hints = {"col": "im2col: one receptive field per row"}

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> Conv2D:
        c = in_shape[0] if len(in_shape) == 3 else 1  # output_shape refuses the rest
        k = opts["size"]
        W = build.normal((opts["filters"], c, k, k), init_std(opts["init"], c * k * k))
        return cls(W, build.zeros(opts["filters"]), opts["stride"], opts["pad"], name=name)

    @classmethod
    def arch_part(cls, opts: dict[str, Any]) -> str | None:
        return f"conv{opts['filters']}@{opts['size']}×{opts['size']}"

    def __init__(
        self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0, name: str | None = None
    ) -> None:
        super().__init__(name)
        if W.ndim != 4 or b.shape != (W.shape[0],):
            raise ShapeError(f"Conv2D {self.name!r}: W must be (FN, C, FH, FW) and b (FN,)")
        self.params = {"W": W, "b": b}
        self.stride = int(stride)
        self.pad = int(pad)
        self.x_shape: Shape | None = None
        #: the columns of the last forward in GEMM order, (C·FH·FW + 1, OH·OW·N) with a last row
        #: of ones for the bias; cache['col'] holds the same fields in the book's order
        self._colT: np.ndarray | None = None

    def output_shape(self, in_shape: Shape) -> Shape:
        fn, c, fh, fw = self.params["W"].shape
        if len(in_shape) != 3:
            raise ShapeError(
                f"Conv2D layer {self.name!r} expects image inputs (C, H, W), "
                f"but its input has per-sample shape {in_shape}"
            )
        if in_shape[0] != c:
            raise ShapeError(
                f"Conv2D layer {self.name!r} has {c} input channels, but its input has "
                f"{in_shape[0]} (shape {in_shape})"
            )
        oh = conv_output_size(in_shape[1], fh, self.stride, self.pad)
        ow = conv_output_size(in_shape[2], fw, self.stride, self.pad)
        if oh is None or ow is None:
            raise ShapeError(
                f"Conv2D layer {self.name!r}: a {fh}×{fw} filter with stride {self.stride} and "
                f"padding {self.pad} does not tile a {in_shape[1]}×{in_shape[2]} input "
                f"((size + 2·pad − filter) must be ≥ 0 and divisible by the stride)"
            )
        return (fn, oh, ow)

    def forward(self, x: np.ndarray) -> np.ndarray:
        W, b = self.params["W"], self.params["b"]
        fn, c, fh, fw = W.shape
        n = x.shape[0]
        s, p = self.stride, self.pad
        oh = (x.shape[2] + 2 * p - fh) // s + 1
        ow = (x.shape[3] + 2 * p - fw) // s + 1
        k = c * fh * fw
        # the bias rides along in the GEMM as a row of ones under the columns: adding it
        # afterwards to the (OH·OW·N, FN) result would be a slow broadcast over rows of FN
        colT = _im2colT(_to_chwn(x, p), fh, fw, s, oh, ow, extra_rows=1)
        colT[k] = 1
        Wb = np.empty((fn, k + 1), dtype=W.dtype)
        Wb[:, :k] = W.reshape(fn, k)
        Wb[:, k] = b
        out = colT.T @ Wb.T  # (OH·OW·N, FN): already the (H, W, N, C) layout
        self.x_shape = x.shape
        self._colT = colT
        self.cache["x"] = x
        if self.lean:  # only shown by the debugger; backward uses _colT
            self.cache.pop("col", None)
        else:
            self.cache["col"] = im2col(x, fh, fw, s, p)
        return _from_hwnc(out.reshape(oh, ow, n, fn))

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        # (OH·OW·N, FN): a view when dout is in the layout forward produced
        d2 = dout.transpose(2, 3, 0, 1).reshape(-1, fn)
        # one GEMM against the columns and their row of ones gives [dW | db]: db = Σ dout over
        # n, h, w comes for free instead of a second pass over dout
        dWb = d2.T @ self._colT.T  # (FN, C·FH·FW + 1)
        self.grads["W"] = np.ascontiguousarray(dWb[:, :-1]).reshape(W.shape)
        self.grads["b"] = np.ascontiguousarray(dWb[:, -1])
        if not need_dx:
            return None
        n, _, h, w = self.x_shape
        p = self.pad
        dcolT = W.reshape(fn, -1).T @ d2.T
        img = _col2imT(dcolT, c, h + 2 * p, w + 2 * p, n, fh, fw, self.stride)
        return img[:, p : p + h, p : p + w, :].transpose(3, 0, 1, 2)

    def scratch_per_sample(self, in_shape: Shape) -> int:
        """The GEMM's columns (C·FH·FW + 1 rows per output pixel) and the padded input copy;
        the debugger also keeps the book-order ``col`` and backward makes ``dcol``, the same
        size again each."""
        fn, c, fh, fw = self.params["W"].shape
        _, oh, ow = self.output_shape(in_shape)
        p = self.pad
        return 3 * (c * fh * fw + 1) * oh * ow + c * (in_shape[1] + 2 * p) * (in_shape[2] + 2 * p)

    def describe(self) -> str:
        fn, c, fh, fw = self.params["W"].shape
        extra = ""
        if self.stride != 1:
            extra += f" stride {self.stride}"
        if self.pad:
            extra += f" pad {self.pad}"
        return f"Conv2D {c}→{fn} {fh}×{fw}{extra}"

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        n = xs[0]
        fn, c, fh, fw = self.params["W"].shape
        _, _, oh, ow = ys
        rows, k = n * oh * ow, c * fh * fw
        return (
            [f"x {dims(xs)} → col {rows}×{k}   ({n}·{oh}·{ow} windows × {c}·{fh}·{fw} values)",
             f"({rows}×{k})·({k}×{fn}) + ({fn}) → {rows}×{fn}, reshaped to {dims(ys)}"],
            [f"({fn}×{rows})·({rows}×{k}) → {fn}×{k} → {fn}×{c}×{fh}×{fw}",
             f"dout {dims(ys)} → {fn}",
             f"({rows}×{fn})·({fn}×{k}) → {rows}×{k} → col2im → {dims(xs)}"],
        )


@register("maxpool")
class MaxPool2D(Layer):
    """Max pooling. ``cache['switches']`` marks, in the input's shape, the one entry per window
    that won (first maximum on ties); backward routes each gradient through its switch.

    The windows are read as ``size²`` strided views of the pixel-major (H, W, N, C) input, one
    view per position inside the window, each made of slabs of ``N·C`` contiguous values: every
    step is then a plain, fast elementwise numpy operation. ``switches`` and ``argmax`` are
    stored in that memory order too (shapes and values are the usual (N, C, …) ones).
    """

    kind = "MaxPool2D"
    writes_inputs = False
    fresh_output = True
    forward_equations = ("y = max over each window of x", "switches = where x was that max")
    backward_equations = ("dx = dout routed to the switch of each window, 0 elsewhere",)
    has_kinks = True
    options = (
        Option("size", "int", **_POSITIVE_INT),
        Option("stride", "int", lambda o: o["size"], **_POSITIVE_INT),
        _PAD,
    )
    cache_hints = {"switches": "True where x was the max of its window",
                   "argmax": "index of the max inside each window"}

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> MaxPool2D:
        return cls(opts["size"], opts["stride"], opts["pad"], name=name)

    @classmethod
    def arch_part(cls, opts: dict[str, Any]) -> str | None:
        return f"pool{opts['size']}"

    def __init__(self, size: int, stride: int | None = None, pad: int = 0, name: str | None = None):
        super().__init__(name)
        self.size = int(size)
        self.stride = int(stride if stride is not None else size)
        self.pad = int(pad)
        self.x_shape: Shape | None = None
        #: lean mode: the (H, W, N, C) input of the last forward, free to be overwritten by dx
        self._spare: np.ndarray | None = None

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3:
            raise ShapeError(
                f"MaxPool2D layer {self.name!r} expects image inputs (C, H, W), "
                f"but its input has per-sample shape {in_shape}"
            )
        c, h, w = in_shape
        if self.pad >= self.size:
            raise ShapeError(
                f"MaxPool2D layer {self.name!r}: padding {self.pad} must be smaller than the "
                f"{self.size}×{self.size} window, or some windows see nothing but padding"
            )
        oh = conv_output_size(h, self.size, self.stride, self.pad)
        ow = conv_output_size(w, self.size, self.stride, self.pad)
        if oh is None or ow is None:
            raise ShapeError(
                f"MaxPool2D layer {self.name!r}: a {self.size}×{self.size} window with stride "
                f"{self.stride} and padding {self.pad} does not tile a {h}×{w} input "
                f"((size + 2·pad − window) must be ≥ 0 and divisible by the stride)"
            )
        return (c, oh, ow)

    def _geometry(self, x_shape: Shape) -> tuple[int, int, bool]:
        """(OH, OW, tiles): ``tiles`` when the windows cover the input exactly, side by side."""
        _, _, h, w = x_shape
        k, s, p = self.size, self.stride, self.pad
        oh = (h + 2 * p - k) // s + 1
        ow = (w + 2 * p - k) // s + 1
        return oh, ow, (p == 0 and s == k and oh * k == h and ow * k == w)

    def _views(self, a: np.ndarray, oh: int, ow: int) -> list[np.ndarray]:
        """The k² strided (OH, OW, N, C) views of a padded (H, W, N, C) array, in window order."""
        k, s = self.size, self.stride
        return [
            a[i : i + s * (oh - 1) + 1 : s, j : j + s * (ow - 1) + 1 : s]
            for i in range(k)
            for j in range(k)
        ]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_shape = x.shape
        n, c, h, w = x.shape
        k, p = self.size, self.pad
        oh, ow, tiles = self._geometry(x.shape)
        xt = _to_hwnc(x, p, fill=-np.inf)
        views = self._views(xt, oh, ow)
        m = views[0].copy() if k == 1 else np.maximum(views[0], views[1])
        for v in views[2:]:
            np.maximum(m, v, out=m)
        # the first window entry equal to the max wins: won_q = (v_q == m) and no earlier winner
        if tiles:
            sw = np.empty((h, w, n, c), dtype=bool)  # every input entry is in exactly one window
            won = self._views(sw, oh, ow)
            for q, v in enumerate(views):
                np.equal(v, m, out=won[q])
        else:
            won = [np.equal(v, m) for v in views]
        found = won[0].copy()
        for q in range(1, k * k):
            np.greater(won[q], found, out=won[q])  # bools: a > b ⇔ a and not b
            if q < k * k - 1:
                np.logical_or(found, won[q], out=found)
        if not tiles:  # overlapping windows: an entry may win several; padding never wins
            swp = np.zeros((h + 2 * p, w + 2 * p, n, c), dtype=bool)
            for sv, wq in zip(self._views(swp, oh, ow), won, strict=True):
                np.logical_or(sv, wq, out=sv)
            sw = swp[p : p + h, p : p + w]
        self.cache["switches"] = _from_hwnc(sw)
        # lean training: backward may write dx over the input, which nobody reads again if it
        # is our own copy or the previous layer's fresh output (same shape and layout as dx)
        own = xt.base is None or not np.shares_memory(xt, x)
        reusable = self.lean and self.training and tiles
        reusable = reusable and (own or (self.input_is_fresh and xt.flags.writeable))
        self._spare = xt if reusable else None
        if self.lean and tiles:  # only shown (and used as kink signature); backward uses switches
            self.cache.pop("argmax", None)
        else:
            small = np.uint8 if k * k < 256 else np.intp
            arg = np.zeros((oh, ow, n, c), dtype=small)
            for q in range(1, k * k):
                arg += won[q].view(np.uint8) * small(q)
            self.cache["argmax"] = _from_hwnc(arg.astype(np.intp, copy=False))
        # the output goes on in the usual (N, C, OH, OW) order: Affine flattens it as a view
        return np.ascontiguousarray(_from_hwnc(m))

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        n, c, h, w = self.x_shape
        k, p = self.size, self.pad
        oh, ow, tiles = self._geometry(self.x_shape)
        dt = _to_hwnc(dout)  # (OH, OW, N, C)
        if tiles:
            sw = _to_hwnc(self.cache["switches"])  # a view: forward stored it pixel-major
            dx, self._spare = self._spare, None
            if dx is None or dx.dtype != dout.dtype or dx.shape != (h, w, n, c):
                dx = np.empty((h, w, n, c), dtype=dout.dtype)
            k2 = (oh, k, ow, k, n * c)
            np.multiply(sw.reshape(k2), dt.reshape(oh, 1, ow, 1, n * c), out=dx.reshape(k2))
            return _from_hwnc(dx)
        arg = _to_hwnc(self.cache["argmax"])
        dxp = np.zeros((h + 2 * p, w + 2 * p, n, c), dtype=dout.dtype)
        for q, dv in enumerate(self._views(dxp, oh, ow)):
            dv += dt * (arg == q)
        return _from_hwnc(dxp[p : p + h, p : p + w])

    def kink_signature(self) -> np.ndarray | None:
        return self.cache.get("argmax")

    def cache_window(self, key: str) -> tuple[int, int, int] | None:
        return (self.size, self.stride, self.pad) if key in ("switches", "argmax") else None

    def describe(self) -> str:
        extra = f" stride {self.stride}" if self.stride != self.size else ""
        if self.pad:
            extra += f" pad {self.pad}"
        return f"MaxPool2D {self.size}×{self.size}{extra}"

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        win = f"{self.size}×{self.size} windows, stride {self.stride}"
        return (
            [f"{dims(xs)} → {dims(ys)}   ({win})", f"{dims(xs)} (bool)"],
            [f"dout {dims(ys)} → dx {dims(xs)}"],
        )
