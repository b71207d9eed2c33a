"""Layers, sandwiches, losses and models in cs231n's style (assignment 2), with its habits.

* layers are function pairs ``*_forward(x, …) -> (out, cache)`` / ``*_backward(dout, cache)``;
  caches are tuples (nested for the ``layer_utils`` sandwiches) or dicts;
* ``relu_backward`` aliases ``dx = dout`` and zeroes entries in place;
* ``dropout_forward`` reseeds numpy's global generator from ``dropout_param['seed']`` when it
  is given, and draws from it otherwise; ``p`` is the probability of keeping a unit;
* models keep a ``params`` dict and ``loss(X, y) -> (loss, grads)`` with ``0.5·reg·Σ W²``.
"""

# ruff: noqa: NPY002 - cs231n's dropout draws from numpy's global generator
from __future__ import annotations

import numpy as np

from backprop_tui.engine.conv import col2im, im2col


# -- layers.py ------------------------------------------------------------------------------
def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    dx = dout
    dx[x <= 0] = 0
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    cache = None
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        std = np.sqrt(var + eps)
        x_hat = (x - mu) / std
        out = gamma * x_hat + beta
        cache = {"x_hat": x_hat, "std": std, "gamma": gamma}
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0)) / (N * std)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    x_hat = (x - mu) / std
    out = gamma * x_hat + beta
    return out, (x_hat, std, gamma)


def layernorm_backward(dout, cache):
    x_hat, std, gamma = cache
    D = dout.shape[1]
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_hat = dout * gamma
    dx = (D * dx_hat - dx_hat.sum(axis=1, keepdims=True)
          - x_hat * np.sum(dx_hat * x_hat, axis=1, keepdims=True)) / (D * std)
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    cache = (dropout_param, mask)
    return out.astype(x.dtype, copy=False), cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, F, H_out, W_out = dout.shape
    _, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    dw[f] += x_pad[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]
                    dx_pad[n, :, hs:hs + HH, ws:ws + WW] += w[f] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + ph,
                                j * stride:j * stride + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + r, j * stride + s] += dout[n, c, i, j]
    return dx


def conv_forward_fast(x, w, b, conv_param):
    """The im2col version (a matrix product instead of loops)."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    cols = im2col(x, HH, WW, stride, pad)
    out = cols.dot(w.reshape(F, -1).T) + b
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out, (x, w, b, conv_param, cols)


def conv_backward_fast(dout, cache):
    x, w, b, conv_param, cols = cache
    F, C, HH, WW = w.shape
    dout_r = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    db = dout_r.sum(axis=0)
    dw = dout_r.T.dot(cols).reshape(w.shape)
    dcols = dout_r.dot(w.reshape(F, -1))
    dx = col2im(dcols, x.shape, HH, WW, conv_param["stride"], conv_param["pad"])
    return dx, dw, db


def max_pool_forward_fast(x, pool_param):
    """The reshape trick for square, tiling windows (cs231n's fast path)."""
    ph = pool_param["pool_height"]  # stride == ph: the windows tile
    N, C, H, W = x.shape
    x_r = x.reshape(N, C, H // ph, ph, W // ph, ph)
    out = x_r.max(axis=3).max(axis=4)
    return out, (x, x_r, out)


def max_pool_backward_fast(dout, cache):
    x, x_r, out = cache
    dx_r = np.zeros_like(x_r)
    out_newaxis = out[:, :, :, np.newaxis, :, np.newaxis]
    mask = (x_r == out_newaxis)
    dout_newaxis = dout[:, :, :, np.newaxis, :, np.newaxis]
    dout_b, _ = np.broadcast_arrays(dout_newaxis, dx_r)
    dx_r[mask] = dout_b[mask]
    dx_r /= np.sum(mask, axis=(3, 5), keepdims=True)
    return dx_r.reshape(x.shape)


# -- layer_utils.py: the sandwiches -----------------------------------------------------------
def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward_fast(da, conv_cache)


# -- losses -----------------------------------------------------------------------------------
def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def svm_loss(x, y):
    N = x.shape[0]
    correct = x[np.arange(N), y]
    margins = np.maximum(0, x - correct[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx


# -- mistakes -------------------------------------------------------------------------------
def relu_backward_from_output(dout, cache):
    """Uses a mask of the wrong sign."""
    x = cache
    dx = dout
    dx[x > 0] = 0
    return dx


def affine_backward_transposed(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = dout.T.dot(x.reshape(x.shape[0], -1)).reshape(w.shape)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def softmax_loss_no_n(x, y):
    loss, dx = softmax_loss(x, y)
    return loss, dx * x.shape[0]


def dropout_backward_no_mask(dout, cache):
    return dout


# -- classifiers: models with params and loss(X, y) -> (loss, grads) -------------------------
class TwoLayerNet:
    def __init__(self, input_dim=5, hidden_dim=8, num_classes=3, weight_scale=1e-1, reg=0.0):
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }
        self.reg = reg

    def loss(self, X, y=None):
        h, cache1 = affine_relu_forward(X, self.params["W1"], self.params["b1"])
        scores, cache2 = affine_forward(h, self.params["W2"], self.params["b2"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params["W1"] ** 2)
                                  + np.sum(self.params["W2"] ** 2))
        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dh, cache1)
        grads["W1"] += self.reg * self.params["W1"]
        grads["W2"] += self.reg * self.params["W2"]
        return loss, grads


class TwoLayerNetNoRegGrad(TwoLayerNet):
    """Adds the regularisation to the loss but forgets it in the gradients."""

    def loss(self, X, y=None):
        if y is None:
            return super().loss(X)
        loss, grads = super().loss(X, y)
        grads["W1"] -= self.reg * self.params["W1"]
        grads["W2"] -= self.reg * self.params["W2"]
        return loss, grads


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=5, num_classes=3, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-1, dtype=np.float64, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] \
            if normalization else []
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        caches = []
        h = X
        for i in range(1, self.num_layers):
            h, fc = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            norm = None
            if self.normalization == "batchnorm":
                h, norm = batchnorm_forward(h, self.params[f"gamma{i}"],
                                            self.params[f"beta{i}"], self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                h, norm = layernorm_forward(h, self.params[f"gamma{i}"],
                                            self.params[f"beta{i}"], self.bn_params[i - 1])
            h, relu = relu_forward(h)
            drop = None
            if self.use_dropout:
                h, drop = dropout_forward(h, self.dropout_param)
            caches.append((fc, norm, relu, drop))
        L = self.num_layers
        scores, last = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        if mode == "test":
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last)
        for i in range(L - 1, 0, -1):
            fc, norm, relu, drop = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, drop)
            dh = relu_backward(dh, relu)
            if self.normalization == "batchnorm":
                dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dh, norm)
            elif self.normalization == "layernorm":
                dh, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dh, norm)
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, fc)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] += self.reg * W
        return loss, grads


class ThreeLayerConvNet:
    def __init__(self, input_dim=(1, 8, 8), num_filters=3, filter_size=3, hidden_dim=6,
                 num_classes=3, weight_scale=1e-1, reg=0.0, dtype=np.float64):
        C, H, W = input_dim
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        h1, c1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        h2, c2 = affine_relu_forward(h1, self.params["W2"], self.params["b2"])
        scores, c3 = affine_forward(h2, self.params["W3"], self.params["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        dh1, grads["W2"], grads["b2"] = affine_relu_backward(dh2, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dh1, c1)
        for k in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(self.params[k] ** 2)
            grads[k] += self.reg * self.params[k]
        return loss, grads
