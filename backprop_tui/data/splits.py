"""Splitting and preprocessing: stratified train/test split, standardisation, pixel scaling,
one-hot targets. Pure numpy; every random choice comes from a seeded ``np.random.Generator`` so
the same seed gives the same split on every machine.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train_idx, test_idx)`` (int64) that keep each class's share in both parts.

    The test set has exactly ``round(N · test_fraction)`` samples (halves round up), shared among
    the classes by largest remainder of ``n_c · test_fraction`` (ties: the smaller class label
    first), so iris with 0.2 gives 120/30 with 10 of each species in the test set. Within each
    class the samples are shuffled before the cut; both returned index arrays are then shuffled
    as a whole, so consecutive samples (and mini-batches taken in order) mix the classes.
    Same ``y``, fraction and seed ⇒ the same indices.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D class labels, got shape {y.shape}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    n = y.shape[0]
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)

    n_test = math.floor(n * test_fraction + 0.5)
    quotas = counts * test_fraction
    take = np.floor(quotas).astype(np.int64)
    remainder = quotas - take
    # hand out the rest to the largest remainders; stable sort keeps class order on ties
    order = np.argsort(-remainder, kind="stable")
    for c in order[: max(0, n_test - int(take.sum()))]:
        take[c] += 1
    take = np.minimum(take, counts)

    train_parts: list[np.ndarray] = []
    test_parts: list[np.ndarray] = []
    for c in range(counts.shape[0]):
        members = rng.permutation(np.flatnonzero(inverse == c))
        test_parts.append(members[: take[c]])
        train_parts.append(members[take[c] :])
    train_idx = rng.permutation(np.concatenate(train_parts)).astype(np.int64, copy=False)
    test_idx = rng.permutation(np.concatenate(test_parts)).astype(np.int64, copy=False)
    return train_idx, test_idx


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Zero mean, unit variance per feature, with statistics from ``train`` only (no test-set
    leakage): returns ``(mean, std, train_n, *others_n)``.

    ``mean`` and ``std`` have shape ``train.shape[1:]`` (population std, ``ddof=0``). A feature
    that is constant in ``train`` gets ``std = 1`` and becomes exactly 0 (not NaN). Computed in
    float64; floating inputs keep their dtype, integer inputs become float64. New arrays; the
    inputs are not modified.
    """
    train = np.asarray(train)
    if train.ndim < 1 or train.shape[0] == 0:
        raise ValueError(f"standardize needs at least one training row, got shape {train.shape}")
    dtype = train.dtype if np.issubdtype(train.dtype, np.floating) else np.dtype(np.float64)
    x64 = train.astype(np.float64, copy=False)
    mean = x64.mean(axis=0)
    std = x64.std(axis=0)
    constant = np.ptp(x64, axis=0) == 0
    # a constant feature: its exact value as the mean (the float mean may be off by an ulp), so
    # it standardises to exactly 0
    mean = np.where(constant, x64[0], mean)
    std = np.where(constant, 1.0, std)
    mean_d = mean.astype(dtype)
    std_d = std.astype(dtype)
    scaled = [((np.asarray(a) - mean) / std).astype(dtype, copy=False) for a in (train, *others)]
    return (mean_d, std_d, *scaled)


def scale_pixels(x: np.ndarray, dtype: DTypeLike = np.float32) -> np.ndarray:
    """uint8 pixels 0–255 → ``dtype`` values in [0, 1], as ``x.astype(dtype) / 255`` in the book.

    Converts once into the target dtype and divides in place, so MNIST in float32 never makes a
    float64 intermediate (60000×784 float64 would be 376 MB). Returns a new, writable array of
    the same shape; reshape it to ``(N, 784)`` or ``(N, 1, 28, 28)`` as the network needs.
    """
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"scale_pixels needs a floating dtype, got {dt}")
    out = np.asarray(x).astype(dt)  # always a copy: the source may be a read-only shared array
    out /= dt.type(255)
    return out


def one_hot(
    y: np.ndarray, num_classes: int | None = None, dtype: DTypeLike = np.float64
) -> np.ndarray:
    """Integer labels ``(N,)`` → one-hot rows ``(N, num_classes)``; ``num_classes`` defaults to
    ``max(y) + 1``. Labels outside ``[0, num_classes)`` raise ValueError."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"one_hot needs 1-D integer labels, got {y.dtype} {y.shape}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got {y.min()}..{y.max()}")
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out
