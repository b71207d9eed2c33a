"""MNIST in the original IDX format, gzip-compressed or raw.

IDX layout (big-endian): a 4-byte magic ``00 00 TT DD`` — ``TT`` the element type (``0x08`` =
unsigned byte, the only one MNIST uses), ``DD`` the number of dimensions — then ``DD`` uint32 sizes,
then exactly ``prod(sizes)`` bytes. Labels are ``0x00000801`` → ``(n,)``, images ``0x00000803`` →
``(n, rows, cols)``.

Decoding is one ``np.frombuffer`` over the decompressed bytes (no per-byte Python). Decoded arrays
are cached in-process per resolved path, and reused while the file's mtime and size are unchanged,
so switching between MNIST scenarios in the TUI decodes once. **Arrays returned from this module
are read-only** (``flags.writeable`` is False) because they are shared by every caller; take
``.copy()`` — or better, derive a new array, e.g. with :func:`~backprop_tui.data.scale_pixels` —
before changing anything.

Every problem a user can cause (missing, truncated, corrupt or mismatched files) raises
:class:`DataError` naming the file and what was expected.
"""

from __future__ import annotations

import gzip
import math
import threading
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DataError
from ..resources import assets_dir
from .files import clear_file_cache, named_folder, read_cached

#: Environment variable naming a folder with the user's own MNIST IDX files.
DATA_DIR_ENV = "BACKPROP_TUI_DATA_DIR"

#: The four standard file names (each also accepted with ``.gz``), in ``load_mnist``'s order.
MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
#: the most samples an IDX header may promise (MNIST has 70000; EMNIST's largest split 814255)
MAX_IDX_SAMPLES = 1_000_000
#: the most data bytes an IDX header may promise: that many 28×28 images (784 MB)
MAX_IDX_BYTES = MAX_IDX_SAMPLES * 28 * 28
#: trailing bytes after the promised data are counted up to this many, then the reading stops
_TRAILING_LIMIT = 1 << 20
_HOW_TO_POINT = (
    f"Put the four MNIST IDX files ({', '.join(MNIST_FILES)}; .gz or raw) in one folder "
    f"and pass --data-dir FOLDER or set {DATA_DIR_ENV}=FOLDER"
)

# resolved label path -> (the cached uint8 array it was made from, its int64 copy)
_labels_cache: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every decoded data file (the next load reads the files again)."""
    clear_file_cache()
    with _cache_lock:
        _labels_cache.clear()


def read_idx(path: str | Path) -> np.ndarray:
    """Decode one IDX file (gzip detected by its magic bytes, not its name) into a read-only
    uint8 array: ``(n,)`` for a label file, ``(n, rows, cols)`` for an image file.

    Cached per resolved path; a changed mtime or size makes it read the file again.
    """
    return read_cached(path, _decode, hint=_HOW_TO_POINT)


def _decode(file: Path, resolved: Path) -> np.ndarray:
    """Read the header, then exactly the bytes it promises — never more: a gzip bomb (a small
    file that inflates to gigabytes) costs the promised size at most, and a header promising
    more than :data:`MAX_IDX_BYTES` is refused before anything is inflated."""
    try:
        with open(resolved, "rb") as f:
            gz = f.read(2) == _GZIP_MAGIC
            f.seek(0)
            stream = gzip.GzipFile(fileobj=f, mode="rb") if gz else f
            try:
                return _read_idx_stream(stream, file, "decompressed IDX data" if gz else
                                        "IDX file")
            except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
                if not gz:
                    raise
                raise DataError(
                    f"corrupt gzip data ({e})",
                    file=file,
                    expected="a complete gzip-compressed IDX file",
                    hint="Download the file again, or decompress it and use the raw IDX file",
                ) from None
    except OSError as e:
        raise DataError(f"cannot read the file ({e.strerror or e})", file=file) from None


def _read_exactly(stream: BinaryIO, n: int, into: np.ndarray | None = None) -> bytes | int:
    """``n`` bytes (or, with ``into``, the count read into that uint8 buffer), stopping early
    only at the end of the data."""
    if into is None:
        chunks, got = [], 0
        while got < n:
            chunk = stream.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    view, got = memoryview(into), 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            break
        got += k
    return got


def _read_idx_stream(stream: BinaryIO, file: Path, what: str) -> np.ndarray:
    head = _read_exactly(stream, 4)
    assert isinstance(head, bytes)
    if len(head) < 4:
        raise DataError(
            f"too short for an IDX header: {len(head)} bytes",
            file=file,
            expected="an MNIST IDX file (gz or raw)",
        )
    magic = int.from_bytes(head, "big")
    if magic not in (LABELS_MAGIC, IMAGES_MAGIC):
        zero, dtype_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
        why = "not an IDX file"
        if zero == 0 and dtype_code != _UBYTE:
            why = f"unsupported IDX element type 0x{dtype_code:02x} (only unsigned bytes, 0x08)"
        elif zero == 0 and dtype_code == _UBYTE:
            why = f"unsupported IDX dimension count {ndim}"
        raise DataError(
            f"{why}: bad magic number 0x{magic:08x}",
            file=file,
            expected="0x00000801 (labels) or 0x00000803 (images)",
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    sizes = _read_exactly(stream, 4 * ndim)
    assert isinstance(sizes, bytes)
    if len(sizes) < 4 * ndim:
        raise DataError(
            f"truncated IDX header: {4 + len(sizes)} bytes",
            file=file,
            expected=f"at least {header} bytes for a {ndim}-D header",
        )
    shape = tuple(int.from_bytes(sizes[4 * i : 4 + 4 * i], "big") for i in range(ndim))
    n_bytes = math.prod(shape)
    dims = " × ".join(map(str, shape))
    if n_bytes > MAX_IDX_BYTES:
        # inflated garbage (a damaged deflate stream) reads as such a header too
        maybe = "corrupt gzip data or not an MNIST file: " if what != "IDX file" else ""
        raise DataError(
            f"{maybe}the header promises {dims} = {n_bytes:,} bytes of data, more than any "
            "MNIST-like file holds",
            file=file,
            expected=f"at most {MAX_IDX_BYTES:,} bytes ({MAX_IDX_SAMPLES:,} images of 28×28); "
                     "MNIST has 60000 and 10000",
        )
    expected = f"{header + n_bytes:,} bytes ({header}-byte header + {dims} uint8 values)"
    array = np.empty(n_bytes, dtype=np.uint8)
    got = _read_exactly(stream, n_bytes, into=array)
    assert isinstance(got, int)
    if got < n_bytes:
        raise DataError(f"truncated: the {what} has {header + got:,} bytes", file=file,
                        expected=expected)
    extra = _count_trailing(stream)
    if extra:
        size = f"more than {header + n_bytes + _TRAILING_LIMIT:,}" if extra > _TRAILING_LIMIT \
            else f"{header + n_bytes + extra:,}"
        raise DataError(f"trailing bytes after the data: the {what} has {size} bytes",
                        file=file, expected=expected)
    array = array.reshape(shape)
    array.flags.writeable = False  # shared by every caller (see the module docstring)
    return array


def _count_trailing(stream: BinaryIO) -> int:
    """Bytes after the promised data, counted up to just past :data:`_TRAILING_LIMIT` (a bomb's
    tail is not inflated to be measured); 0 also means a gzip stream ended with a good CRC."""
    extra = 0
    while extra <= _TRAILING_LIMIT:
        chunk = stream.read(64 * 1024)
        if not chunk:
            break
        extra += len(chunk)
    return extra


def resolve_data_dir(data_dir: str | Path | None = None) -> tuple[Path, str]:
    """The MNIST folder and where the choice came from: the ``data_dir`` argument, else
    ``$BACKPROP_TUI_DATA_DIR`` (if set and not empty), else the shipped ``assets/mnist``."""
    folder, source = named_folder(data_dir, DATA_DIR_ENV)
    if folder is not None:
        return folder, source
    return assets_dir() / "mnist", "the built-in data"


def find_mnist_files(data_dir: str | Path | None = None) -> tuple[Path, ...]:
    """Paths of the four MNIST files (order of :data:`MNIST_FILES`). The raw file wins over
    the ``.gz`` when both exist (no decompression needed). Missing folder or files → DataError
    listing every path looked at."""
    folder, source = resolve_data_dir(data_dir)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise DataError(
            f"MNIST data folder {what} (folder from {source})",
            file=folder,
            hint=_HOW_TO_POINT,
        )
    found: list[Path] = []
    missing: list[str] = []
    for name in MNIST_FILES:
        candidates = (folder / name, folder / f"{name}.gz")
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            missing.append(" or ".join(str(c) for c in candidates))
        else:
            found.append(hit)
    if missing:
        raise DataError(
            f"{len(missing)} of the {len(MNIST_FILES)} MNIST files missing "
            f"(folder from {source}); looked for " + "; ".join(missing),
            file=folder,
            hint=_HOW_TO_POINT,
        )
    return tuple(found)


def load_mnist(
    data_dir: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: images uint8 ``(n, 28, 28)`` (60000 and 10000
    for the real data), labels int64 ``(n,)`` in 0–9. All four arrays are read-only and shared
    between calls (see the module docstring). Folder: ``data_dir``, else ``$BACKPROP_TUI_DATA_DIR``,
    else the shipped data.
    """
    paths = find_mnist_files(data_dir)
    arrays = [read_idx(p) for p in paths]
    out: list[np.ndarray] = []
    for split, (images_path, labels_path) in (("train", paths[0:2]), ("test", paths[2:4])):
        offset = 0 if split == "train" else 2
        x, y = arrays[offset], arrays[offset + 1]
        if x.ndim != 3:
            raise DataError(
                f"expected an image file, found a {x.ndim}-D IDX file",
                file=images_path,
                expected="magic 0x00000803 (images)",
            )
        if y.ndim != 1:
            raise DataError(
                f"expected a label file, found a {y.ndim}-D IDX file",
                file=labels_path,
                expected="magic 0x00000801 (labels)",
            )
        if x.shape[1:] != (28, 28):
            raise DataError(
                f"images are {x.shape[1]}×{x.shape[2]} pixels",
                file=images_path,
                expected="28×28 MNIST images",
            )
        if x.shape[0] == 0:  # a test set of none: an accuracy of 0/0, NaN
            raise DataError(
                f"holds no images: the {split} set would be empty",
                file=images_path,
                expected="at least one image",
            )
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"{x.shape[0]:,} images but {y.shape[0]:,} labels in {labels_path}",
                file=images_path,
                expected="one label per image",
            )
        if y.size and int(y.max()) > 9:
            bad = int(np.flatnonzero(y > 9)[0])
            raise DataError(
                f"label {int(y[bad])} at index {bad} is outside 0–9",
                file=labels_path,
                expected="digit labels 0–9",
            )
        out += [x, _labels_int64(labels_path, y)]
    return out[0], out[1], out[2], out[3]


def _labels_int64(path: Path, y: np.ndarray) -> np.ndarray:
    """int64 labels (the dtype every other dataset uses), converted once per decoded file."""
    key = path.resolve()
    with _cache_lock:
        hit = _labels_cache.get(key)
        if hit is not None and hit[0] is y:
            return hit[1]
        y64 = y.astype(np.int64)
        y64.flags.writeable = False
        _labels_cache[key] = (y, y64)
        return y64
