"""Convolution and max-pooling on ``(N, C, H, W)`` batches, via im2col / col2im.

``im2col`` turns every receptive field into a row, so that a convolution becomes one matrix
product (Deep Learning from Scratch, ch. 7; cs231n). The windows are read through a strided
view of the padded input, so the only copy is the one into the column matrix itself.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers import Layer, Shape, ShapeError


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
    """(N, C, H, W) → (N·OH·OW, C·FH·FW): one receptive field per row (the book's layout)."""
    n, c = x.shape[:2]
    win = _windows(x, fh, fw, stride, pad)
    oh, ow = win.shape[2], win.shape[3]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * fh * fw)


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


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework) with stride and zero padding."""

    kind = "Conv2D"
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
        fn, _, fh, fw = W.shape
        n = x.shape[0]
        col = im2col(x, fh, fw, self.stride, self.pad)
        oh = (x.shape[2] + 2 * self.pad - fh) // self.stride + 1
        ow = (x.shape[3] + 2 * self.pad - fw) // self.stride + 1
        out = col @ W.reshape(fn, -1).T
        out += b
        self.x_shape = x.shape
        self.cache["x"] = x
        self.cache["col"] = col
        return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        d2 = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        col = self.cache["col"]
        self.grads["W"] = (d2.T @ col).reshape(W.shape)
        self.grads["b"] = d2.sum(axis=0)
        if not need_dx:
            return None
        dcol = d2 @ W.reshape(fn, -1)
        return col2im(dcol, self.x_shape, fh, fw, self.stride, self.pad)

    def describe(self) -> str:
        fn, c, fh, fw = self.params["W"].shape
        extra = ""
        if self.stride != 1:
            extra += f" stride {self.stride}"
        if self.pad:
            extra += f" pad {self.pad}"
        return f"Conv2D {c}→{fn} {fh}×{fw}{extra}"


class MaxPool2D(Layer):
    """Max pooling. ``cache['switches']`` marks, in the input's shape, the one entry per window
    that won (first maximum on ties); backward routes each gradient through its switch."""

    kind = "MaxPool2D"
    forward_equations = ("y = max over each window of x", "switches = where x was that max")
    backward_equations = ("dx = dout routed to the switch of each window, 0 elsewhere",)
    has_kinks = True

    def __init__(self, size: int, stride: int | None = None, pad: int = 0, name: str | None = None):
        super().__init__(name)
        self.size = int(size)
        self.stride = int(stride if stride is not None else size)
        self.pad = int(pad)
        self.x_shape: Shape | None = None

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

    def _tiles(self, x: np.ndarray) -> bool:
        """Fast path: non-overlapping windows without padding that cover the input exactly."""
        return self.pad == 0 and self.stride == self.size

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x_shape = x.shape
        n, c, h, w = x.shape
        k, s = self.size, self.stride
        if self._tiles(x):
            oh, ow = h // k, w // k
            blocks = x.reshape(n, c, oh, k, ow, k).transpose(0, 1, 2, 4, 3, 5)
            flat = blocks.reshape(n, c, oh, ow, k * k)
        else:
            xp = x
            if self.pad:
                xp = np.pad(x, ((0, 0), (0, 0), (self.pad,) * 2, (self.pad,) * 2),
                            constant_values=-np.inf)
            win = _windows(xp, k, k, s, 0)
            oh, ow = win.shape[2], win.shape[3]
            flat = win.reshape(n, c, oh, ow, k * k)
        arg = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        self.cache["switches"] = self._scatter(
            (arg[..., None] == np.arange(k * k)), x.shape, oh, ow
        ).astype(bool)
        self.cache["argmax"] = arg
        return out

    def _scatter(self, vals: np.ndarray, x_shape: Shape, oh: int, ow: int) -> np.ndarray:
        """Place per-window values (N, C, OH, OW, K·K) back onto the input grid (summing overlaps)."""
        n, c, h, w = x_shape
        k, s = self.size, self.stride
        if self.pad == 0 and s == k:
            return (
                vals.reshape(n, c, oh, ow, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
            )
        cols = vals.reshape(n, c, oh, ow, k, k).transpose(0, 2, 3, 1, 4, 5)
        return col2im(cols.reshape(n * oh * ow, c * k * k), x_shape, k, k, s, self.pad)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        if not need_dx:
            return None
        arg = self.cache["argmax"]
        n, c, oh, ow = arg.shape
        k = self.size
        routed = np.zeros((n, c, oh, ow, k * k), dtype=dout.dtype)
        np.put_along_axis(routed, arg[..., None], dout[..., None], axis=-1)
        return self._scatter(routed, self.x_shape, oh, ow)

    def kink_signature(self) -> np.ndarray | None:
        return self.cache.get("argmax")

    def describe(self) -> str:
        extra = f" stride {self.stride}" if self.stride != self.size else ""
        if self.pad:
            extra += f" pad {self.pad}"
        return f"MaxPool2D {self.size}×{self.size}{extra}"
