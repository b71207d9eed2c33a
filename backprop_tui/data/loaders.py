"""Turn a scenario's ``[data]`` section into arrays: ``(x_train, t_train, x_test, t_test)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.datacheck import BadData, check_labels
from ..errors import DataError
from .cifar10 import cifar10_missing, load_cifar10
from .gates import gate_data
from .iris import load_iris
from .mnist import load_mnist
from .spec import IMAGE_SOURCES, N_CLASSES, DataSpec
from .splits import scale_pixels, standardize, stratified_split

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_scenario_data(
    spec: DataSpec,
    input_shape: tuple[int, ...],
    data_dir: str | Path | None,
    dtype: np.dtype,
    train_rows: np.ndarray | None = None,
) -> Arrays:
    """Load, split and normalise the data a scenario describes. Labels are int64 indices.

    * gates: the truth table is both the training and the test set;
    * iris: a seeded stratified split (``test_fraction``, ``split_seed``), standardised with the
      training statistics when ``normalize = "standard"``;
    * MNIST, CIFAR-10: the official split (60k/10k, 50k/10k), pixels scaled to [0, 1] with
      ``normalize = "scale"``, optionally the first ``train_size`` / ``test_size`` samples.

    With ``train_rows``, only those training rows (and no test rows) are converted — a gradient
    check of 8 MNIST images then costs kilobytes, not the 376 MB of the whole set in float64.
    Normalisation statistics always come from the whole training split.
    """
    if spec.source == "iris":
        x, y, _ = load_iris()
        tr, te = stratified_split(y, spec.test_fraction, spec.split_seed)
        x_tr, y_tr, x_te, y_te = x[tr], y[tr], x[te], y[te]
    elif spec.source in IMAGE_SOURCES:
        x_tr, y_tr, x_te, y_te = _image_split(spec, data_dir)
    else:
        x_tr, y_tr = gate_data(spec.source)
        x_te, y_te = x_tr.copy(), y_tr.copy()

    if spec.normalize == "standard":
        _, _, x_tr, x_te = standardize(np.asarray(x_tr, np.float64), np.asarray(x_te, np.float64))
    if train_rows is not None:
        x_tr, y_tr = x_tr[train_rows], y_tr[train_rows]
        x_te, y_te = x_te[:0], y_te[:0]
    if spec.normalize == "scale":
        x_tr, x_te = scale_pixels(x_tr, dtype), scale_pixels(x_te, dtype)
    else:
        x_tr, x_te = x_tr.astype(dtype, copy=False), x_te.astype(dtype, copy=False)

    for name, y in (("t_train", y_tr), ("t_test", y_te)):  # any reader: class indices only
        try:
            check_labels(y, N_CLASSES[spec.source], name)
        except BadData as e:
            raise DataError(f"{spec.label}: {e}") from None
    shape = tuple(input_shape)
    x_tr = x_tr.reshape((len(x_tr), *shape))
    x_te = x_te.reshape((len(x_te), *shape))
    return x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64)


def train_size(spec: DataSpec, data_dir: str | Path | None) -> int:
    """Number of training samples, without converting any pixels."""
    if spec.source == "iris":
        return 150 - round(150 * spec.test_fraction)
    if spec.source in IMAGE_SOURCES:
        return len(train_labels(spec, data_dir))
    return len(gate_data(spec.source)[1])


def train_labels(spec: DataSpec, data_dir: str | Path | None) -> np.ndarray:
    """The training labels of an image dataset (int64, read-only), without converting pixels."""
    return _image_split(spec, data_dir)[1]


def _image_split(spec: DataSpec, data_dir: str | Path | None) -> Arrays:
    """MNIST or CIFAR-10 as decoded (uint8 pixels, read-only), cut to the first ``train_size``
    / ``test_size`` samples."""
    if spec.source == "cifar10":  # reads only the batch files these sizes need
        return load_cifar10(data_dir, spec.train_size, spec.test_size)
    x_tr, y_tr, x_te, y_te = load_mnist(data_dir)
    if spec.train_size:
        x_tr, y_tr = x_tr[: spec.train_size], y_tr[: spec.train_size]
    if spec.test_size:
        x_te, y_te = x_te[: spec.test_size], y_te[: spec.test_size]
    return x_tr, y_tr, x_te, y_te


def missing_data(spec: DataSpec) -> str | None:
    """What a scenario list says of data that is not on this machine (``needs CIFAR-10 (see
    README)``), looking where the commands look without ``--data-dir``; None when it is there
    or ships with the package."""
    return cifar10_missing() if spec.source == "cifar10" else None
