"""Datasets for the built-in scenarios: logic gates, iris, MNIST (IDX reader), and splits.

numpy + stdlib only. Problems a user can cause (missing, truncated or corrupt files) raise
:class:`backprop_tui.errors.DataError` with the file and what was expected.

Dtypes: features float64 (gates, iris) or uint8 pixels (MNIST, scale with :func:`scale_pixels`);
labels int64 everywhere. MNIST arrays are cached and read-only; everything else is a fresh copy.
"""

from .gates import GATE_NAMES, gate_data
from .iris import IRIS_FEATURES, IRIS_HEADER, default_iris_path, load_iris
from .mnist import (
    DATA_DIR_ENV,
    MNIST_FILES,
    clear_cache,
    find_mnist_files,
    load_mnist,
    read_idx,
    resolve_data_dir,
)
from .splits import one_hot, scale_pixels, standardize, stratified_split

__all__ = [
    "DATA_DIR_ENV",
    "GATE_NAMES",
    "IRIS_FEATURES",
    "IRIS_HEADER",
    "MNIST_FILES",
    "clear_cache",
    "default_iris_path",
    "find_mnist_files",
    "gate_data",
    "load_iris",
    "load_mnist",
    "one_hot",
    "read_idx",
    "resolve_data_dir",
    "scale_pixels",
    "standardize",
    "stratified_split",
]
