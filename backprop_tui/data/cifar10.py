"""CIFAR-10 as cs231n students have it on disk: the *python version* or the *binary version*.

CIFAR-10 (Krizhevsky 2009) is not shipped and never downloaded: the user points at the folder
their assignment downloaded, with ``--data-dir`` or ``$BACKPROP_TUI_CIFAR10_DIR`` — the
``cifar-10-batches-py``/``cifar-10-batches-bin`` folder itself or the folder that holds it.

* python version (``cifar-10-batches-py/``: ``data_batch_1`` … ``data_batch_5``, ``test_batch``):
  each file a pickled dict, written by Python 2's cPickle, with ``b'data'`` a 10000×3072 uint8
  array and ``b'labels'`` a list of 10000 ints. Pickle runs code named in the file, so it is
  read with :class:`RestrictedUnpickler`, which admits only the names numpy's array
  reconstruction uses and refuses any other before anything runs — never ``pickle.load``.
* binary version (``cifar-10-batches-bin/``: ``data_batch_1.bin`` … ``test_batch.bin``): records
  of 1 label byte + 3072 pixel bytes.

A row is one 32×32 colour picture in channel-major order: 1024 red values, 1024 green, 1024 blue,
each plane row by row — ``row.reshape(3, 32, 32)``. Decoded batches are cached like MNIST's
(:mod:`.files`) and read-only. Batches are validated for consistency (3072 uint8 columns, as
many labels as rows, labels 0–9) rather than for 10000 rows, so a smaller set of the same format
(the tests' synthetic files) reads too. Anything wrong is one :class:`DataError`.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import DataError
from .files import named_folder, read_bytes, read_cached

#: Environment variable naming the folder with the user's CIFAR-10 files.
CIFAR10_DIR_ENV = "BACKPROP_TUI_CIFAR10_DIR"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
#: What the scenario list says when the files cannot be found.
NEEDS_CIFAR10 = "needs CIFAR-10 (see README)"

PIXELS = 3 * 32 * 32
RECORD = 1 + PIXELS  # binary version: label byte + pixels
N_CLASSES = 10
Format = Literal["python", "binary"]
#: the folder each version unpacks to, and its file names (training batches, then the test batch)
FOLDERS: dict[Format, str] = {"python": "cifar-10-batches-py", "binary": "cifar-10-batches-bin"}
FILES: dict[Format, tuple[str, ...]] = {
    "python": (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"),
    "binary": (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"),
}
HOW_TO_GET = (
    f"CIFAR-10 is not shipped with backprop-tui: download the python version "
    f"(cifar-10-python.tar.gz, what cs231n's get_datasets.sh fetches) or the binary version "
    f"from {CIFAR10_URL}, extract it, and pass --data-dir FOLDER (the cifar-10-batches-py or "
    f"cifar-10-batches-bin folder, or the folder that holds it) or set {CIFAR10_DIR_ENV}=FOLDER"
)


# -- the restricted unpickler ---------------------------------------------------------------------
def _latin1_bytes(text: object, encoding: object = "latin1") -> bytes:
    """What ``_codecs.encode`` does for the one use pickles make of it: Python 3 writes a bytes
    object at protocol ≤ 2 as ``_codecs.encode(text, 'latin1')``. Any other use is refused."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is admitted only as (str, 'latin1')")
    return text.encode("latin1")


def _admitted() -> dict[tuple[str, str], Any]:
    """The globals a pickled numpy array references, by (module, name) exactly as the file
    names them: ``_reconstruct``, ``ndarray`` and ``dtype`` (Python 2's cPickle and numpy 1 wrote
    ``numpy.core``, numpy 2 writes ``numpy._core``); ``_frombuffer`` (protocol 5's out-of-band
    form); ``_codecs.encode`` (bytes at protocol 2 from Python 3), as a latin-1-only stand-in."""
    core = getattr(np, "_core", None) or np.core
    reconstruct = core.multiarray._reconstruct
    admitted: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_bytes,
    }
    for package in ("numpy.core", "numpy._core"):
        admitted[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        frombuffer = getattr(core.numeric, "_frombuffer", None)
        if frombuffer is not None:
            admitted[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return admitted


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles what a CIFAR-10 python batch holds — dicts, lists, bytes, strings, ints and
    numpy arrays — and nothing else: a global outside :func:`_admitted` is refused when the
    file names it, before anything of the file runs; persistent ids are refused too.

    ``encoding="bytes"`` as cs231n reads the files: Python 2 strings (the dict's keys) come back
    as bytes."""

    def __init__(self, file: io.BufferedIOBase, path: Path) -> None:
        super().__init__(file, encoding="bytes")
        self.path = path
        self.admitted = _admitted()

    def find_class(self, module: str, name: str) -> Any:
        obj = self.admitted.get((module, name))
        if obj is None:
            raise DataError(
                f"refused to unpickle the global {module}.{name}: a CIFAR-10 batch holds only a "
                "dict of bytes, ints, lists and a numpy array, and nothing of this file was run",
                file=self.path,
                expected="a CIFAR-10 python-version batch (numpy's _reconstruct, ndarray and "
                         "dtype are the only globals admitted)",
            )
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("a persistent id, which a CIFAR-10 batch never holds")


# -- one batch file -------------------------------------------------------------------------------
def read_batch(path: str | Path, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one batch file: pixels uint8 ``(n, 3072)``, labels int64 ``(n,)`` in 0–9,
    both read-only and cached per file (see the module docstring)."""
    decode = _decode_python if fmt == "python" else _decode_binary
    return read_cached(path, decode, hint=HOW_TO_GET)


def _decode_python(file: Path, resolved: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = read_bytes(file, resolved)
    expected = "a CIFAR-10 python-version batch (a pickled dict with b'data' and b'labels')"
    try:
        doc = RestrictedUnpickler(io.BytesIO(raw), file).load()
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - any garbage makes pickle raise something else
        what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise DataError(f"not a readable pickle ({what})", file=file,
                        expected=expected) from None
    if not isinstance(doc, dict):
        raise DataError(f"the pickle holds a {type(doc).__name__}, not a dict", file=file,
                        expected=expected)
    entries = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in doc.items()}
    missing = [k for k in ("data", "labels") if k not in entries]
    if missing:
        keys = ", ".join(repr(k) for k in doc) or "none"
        raise DataError(f"no {' and no '.join(repr(m.encode()) for m in missing)} key (keys: "
                        f"{keys})", file=file, expected=expected)
    x = entries["data"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 \
            or x.shape[1] != PIXELS:
        got = f"a {x.dtype} array of shape {x.shape}" if isinstance(x, np.ndarray) else \
            f"a {type(x).__name__}"
        raise DataError(f"b'data' is {got}", file=file,
                        expected=f"a uint8 array of shape (n, {PIXELS}): one 3×32×32 picture "
                                 "per row")
    y = _labels(entries["labels"], file)
    return _checked(file, x, y, "b'labels'", "entry")


def _labels(labels: object, file: Path) -> np.ndarray:
    """The label list (or a 1-D integer array) as int64; anything else is a DataError."""
    ok = isinstance(labels, list) and all(type(v) is int for v in labels) or \
        isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu"
    if not ok:
        raise DataError(f"b'labels' is a {type(labels).__name__} that is not a list of ints",
                        file=file, expected="a list of class indices 0–9, one per row of "
                                            "b'data'")
    try:
        return np.asarray(labels, dtype=np.int64)
    except OverflowError:
        raise DataError("b'labels' holds an integer too large for a class index", file=file,
                        expected="class indices 0–9") from None


def _decode_binary(file: Path, resolved: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = read_bytes(file, resolved)
    n, rest = divmod(len(raw), RECORD)
    if rest or n == 0:
        why = "empty" if not raw else f"{len(raw):,} bytes is not a whole number of records " \
            f"(truncated, or not a CIFAR-10 binary batch)"
        raise DataError(why, file=file,
                        expected=f"records of {RECORD:,} bytes (1 label byte + {PIXELS:,} "
                                 "pixel bytes), 10,000 of them in a full batch")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(n, RECORD)
    return _checked(file, np.ascontiguousarray(records[:, 1:]), records[:, 0].astype(np.int64),
                    "the label byte", "record")


def _checked(file: Path, x: np.ndarray, y: np.ndarray, labels: str, unit: str
             ) -> tuple[np.ndarray, np.ndarray]:
    """Rows and labels agree, labels are 0–9; both returned read-only."""
    if len(x) == 0 or len(x) != len(y):
        raise DataError(f"{len(x):,} pictures but {len(y):,} labels", file=file,
                        expected="one label per picture, at least one picture")
    bad = np.flatnonzero((y < 0) | (y >= N_CLASSES))
    if bad.size:
        raise DataError(f"{labels} of {unit} {int(bad[0])} is {int(y[bad[0]])}, outside 0–9",
                        file=file, expected="CIFAR-10 class indices 0–9")
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


# -- the folder -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cifar10Files:
    folder: Path
    format: Format
    train: tuple[Path, ...]
    test: Path


def find_cifar10(data_dir: str | Path | None = None) -> Cifar10Files:
    """The batch files in the folder named by ``data_dir``, else ``$BACKPROP_TUI_CIFAR10_DIR``:
    the folder itself, or its ``cifar-10-batches-py`` / ``cifar-10-batches-bin`` (the python
    version first). Nothing named, a missing folder or missing files → DataError saying where
    to get CIFAR-10 and where to put it."""
    folder, source = named_folder(data_dir, CIFAR10_DIR_ENV)
    if folder is None:
        raise DataError(f"CIFAR-10 not found: no --data-dir given and ${CIFAR10_DIR_ENV} is not "
                        "set", hint=HOW_TO_GET)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise DataError(f"CIFAR-10 data folder {what} (folder from {source})", file=folder,
                        hint=HOW_TO_GET)
    for where in (folder, folder / FOLDERS["python"], folder / FOLDERS["binary"]):
        for fmt, names in FILES.items():
            paths = [where / name for name in names]
            present = [p.is_file() for p in paths]
            if not any(present):
                continue
            if not all(present):
                missing = ", ".join(p.name for p, ok in zip(paths, present, strict=True)
                                    if not ok)
                raise DataError(f"incomplete CIFAR-10 {fmt} version (folder from {source}): "
                                f"missing {missing}", file=where,
                                expected=f"all of {', '.join(names)}", hint=HOW_TO_GET)
            return Cifar10Files(where, fmt, tuple(paths[:-1]), paths[-1])
    archive = next((folder / a for a in ("cifar-10-python.tar.gz", "cifar-10-binary.tar.gz")
                    if (folder / a).is_file()), None)
    hint = f"Extract it first: tar -xzf {archive} -C {folder}" if archive else HOW_TO_GET
    raise DataError(
        f"no CIFAR-10 batches in the folder (folder from {source}): looked for data_batch_1 … "
        "data_batch_5 and test_batch (python version) or the same with .bin (binary version) "
        f"in it and in its {FOLDERS['python']} and {FOLDERS['binary']}",
        file=folder, hint=hint)


def cifar10_missing(data_dir: str | Path | None = None) -> str | None:
    """None if the CIFAR-10 files are where the commands would look (files present, not yet
    read); else :data:`NEEDS_CIFAR10`, for the scenario list."""
    try:
        find_cifar10(data_dir)
    except DataError:
        return NEEDS_CIFAR10
    return None


def load_cifar10(
    data_dir: str | Path | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: pixels uint8 ``(n, 3072)`` (reshape rows to
    (3, 32, 32)), labels int64 in 0–9, all read-only. The first ``train_size`` / ``test_size``
    pictures (all if None, or if there are fewer); only the batch files that holds are read:
    cs231n's 5,000/500 read ``data_batch_1`` and ``test_batch``."""
    files = find_cifar10(data_dir)
    x_tr, y_tr = _first(files.train, files.format, train_size)
    x_te, y_te = _first((files.test,), files.format, test_size)
    return x_tr, y_tr, x_te, y_te


def _first(paths: tuple[Path, ...], fmt: Format, size: int | None
           ) -> tuple[np.ndarray, np.ndarray]:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    have = 0
    for path in paths:
        if size is not None and have >= size:
            break
        x, y = read_batch(path, fmt)
        xs.append(x)
        ys.append(y)
        have += len(y)
    if len(xs) == 1:  # a view of the cached batch: no copy
        x, y = xs[0], ys[0]
    else:
        x, y = np.concatenate(xs), np.concatenate(ys)
        x.flags.writeable = y.flags.writeable = False
    return (x, y) if size is None else (x[:size], y[:size])
