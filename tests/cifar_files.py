"""Synthetic CIFAR-10 folders in both on-disk formats, for the tests (no real CIFAR-10 here).

* python version: pickled dicts as the real files are — written by Python 2's cPickle at
  protocol 2 (keys and the pixel bytes are Python 2 strings, the array is rebuilt by
  ``numpy.core.multiarray._reconstruct``); :func:`python_batch_bytes` writes that opcode stream
  by hand, since Python 3 cannot write Python 2 strings. ``protocol=4``/``5`` write what a
  student re-saving the files from Python 3 would get (bytes keys).
* binary version: records of 1 label byte + 3072 pixel bytes.

The pictures are learnable: each class has its own mean colour (and a bright square whose place
depends on the class), plus noise, so a network trained on them reaches a sanity level fast.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

PY_NAMES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
BIN_NAMES = tuple(f"{n}.bin" for n in PY_NAMES)


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pictures uint8 (n, 3072) in channel-major order and labels int64 0–9 (every class
    present when n ≥ 10)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int64) % 10
    rng.shuffle(y)
    means = np.random.default_rng(1234).integers(40, 216, size=(10, 3))  # one colour per class
    x = rng.normal(0, 35, size=(n, 3, 32, 32)) + means[y][:, :, None, None]
    for i, c in enumerate(y):  # a bright 8×8 square, its place set by the class
        r, q = divmod(int(c), 5)
        x[i, :, 4 + 12 * r:12 + 12 * r, 2 + 6 * q:10 + 6 * q] += 60
    return np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(n, 3072), y


def _str2(b: bytes) -> bytes:
    """A Python 2 ``str`` as cPickle writes it: SHORT_BINSTRING or BINSTRING."""
    if len(b) < 256:
        return b"U" + bytes([len(b)]) + b
    return b"T" + struct.pack("<i", len(b)) + b


def _int2(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def python_batch_bytes(x: np.ndarray, labels: list[int], protocol: int | str = "py2",
                       label: bytes = b"training batch 1 of 5") -> bytes:
    """A CIFAR-10 python-version batch: ``py2`` as the real files (Python 2 cPickle, protocol
    2), or a Python 3 pickle of the same dict at ``protocol``."""
    n = len(labels)
    names = [b"img_%05d.png" % i for i in range(n)]
    if protocol != "py2":
        doc = {b"batch_label": label, b"labels": list(labels), b"data": x,
               b"filenames": names}
        return pickle.dumps(doc, protocol=int(protocol))
    array = [  # numpy's ndarray.__reduce__: _reconstruct(ndarray, (0,), 'b') + __setstate__
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n", _int2(0), b"\x85",
        _str2(b"b"), b"\x87R(", _int2(1), _int2(x.shape[0]), _int2(x.shape[1]), b"\x86",
        b"cnumpy\ndtype\n", _str2(b"u1"), _int2(0), _int2(1), b"\x87R(", _int2(3), _str2(b"|"),
        b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff", _int2(0), b"tb", b"\x89",
        _str2(x.tobytes()), b"tb",
    ]
    return b"".join([
        b"\x80\x02}(", _str2(b"batch_label"), _str2(label),
        _str2(b"labels"), b"](", *(_int2(int(v)) for v in labels), b"e",
        _str2(b"data"), *array,
        _str2(b"filenames"), b"](", *(_str2(s) for s in names), b"e", b"u.",
    ])


def binary_batch_bytes(x: np.ndarray, labels: list[int] | np.ndarray) -> bytes:
    records = np.empty((len(x), 3073), dtype=np.uint8)
    records[:, 0] = np.asarray(labels, dtype=np.uint8)
    records[:, 1:] = x
    return records.tobytes()


def write_cifar10(root: Path, fmt: str = "python", per_batch: int = 60, n_test: int = 100,
                  protocol: int | str = "py2", seed: int = 0) -> Path:
    """A synthetic ``cifar-10-batches-py`` (or ``-bin``) folder under ``root``: five training
    batches of ``per_batch`` pictures and a test batch of ``n_test``. Returns the folder."""
    folder = root / ("cifar-10-batches-py" if fmt == "python" else "cifar-10-batches-bin")
    folder.mkdir(parents=True, exist_ok=True)
    names = PY_NAMES if fmt == "python" else BIN_NAMES
    for i, name in enumerate(names):
        n = n_test if name.startswith("test") else per_batch
        x, y = synthetic(n, seed + i)
        if fmt == "python":
            data = python_batch_bytes(x, y.tolist(), protocol)
        else:
            data = binary_batch_bytes(x, y)
        (folder / name).write_bytes(data)
    return folder
