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
import os
import threading
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..resources import assets_dir

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
_HOW_TO_POINT = (
    f"Put the four MNIST IDX files ({', '.join(MNIST_FILES)}; .gz or raw) in one folder "
    f"and pass --data-dir FOLDER or set {DATA_DIR_ENV}=FOLDER"
)

# resolved path -> (mtime_ns, size, decoded read-only array)
_cache: dict[Path, tuple[int, int, np.ndarray]] = {}
# resolved label path -> (the cached uint8 array it was made from, its int64 copy)
_labels_cache: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every decoded IDX array (the next load reads the files again)."""
    with _cache_lock:
        _cache.clear()
        _labels_cache.clear()


def read_idx(path: str | Path) -> np.ndarray:
    """Decode one IDX file (gzip detected by its magic bytes, not its name) into a read-only
    uint8 array: ``(n,)`` for a label file, ``(n, rows, cols)`` for an image file.

    Cached per resolved path; a changed mtime or size makes it read the file again.
    """
    file = Path(path).expanduser()
    try:
        resolved = file.resolve()
        st = resolved.stat()
    except FileNotFoundError:
        raise DataError("file not found", file=file, hint=_HOW_TO_POINT) from None
    except OSError as e:
        raise DataError(f"cannot read the file ({e.strerror or e})", file=file) from None
    with _cache_lock:
        hit = _cache.get(resolved)
        if hit is not None and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
        array = _decode(file, resolved)
        _cache[resolved] = (st.st_mtime_ns, st.st_size, array)
        return array


def _decode(file: Path, resolved: Path) -> np.ndarray:
    try:
        raw = resolved.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read the file ({e.strerror or e})", file=file) from None
    what = "IDX file"
    if raw[:2] == _GZIP_MAGIC:
        what = "decompressed IDX data"
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
            raise DataError(
                f"corrupt gzip data ({e})",
                file=file,
                expected="a complete gzip-compressed IDX file",
                hint="Download the file again, or decompress it and use the raw IDX file",
            ) from None
    if len(raw) < 4:
        raise DataError(
            f"too short for an IDX header: {len(raw)} bytes",
            file=file,
            expected="an MNIST IDX file (gz or raw)",
        )
    magic = int.from_bytes(raw[:4], "big")
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
    if len(raw) < header:
        raise DataError(
            f"truncated IDX header: {len(raw)} bytes",
            file=file,
            expected=f"at least {header} bytes for a {ndim}-D header",
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        kind = "truncated" if len(raw) < expected else "trailing bytes after the data"
        raise DataError(
            f"{kind}: the {what} has {len(raw):,} bytes",
            file=file,
            expected=f"{expected:,} bytes ({header}-byte header + "
            f"{' × '.join(map(str, shape))} uint8 values)",
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    array.flags.writeable = False  # frombuffer over bytes already is; say it explicitly
    return array


def resolve_data_dir(data_dir: str | Path | None = None) -> tuple[Path, str]:
    """The MNIST folder and where the choice came from: the ``data_dir`` argument, else
    ``$BACKPROP_TUI_DATA_DIR`` (if set and not empty), else the shipped ``assets/mnist``."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser(), f"${DATA_DIR_ENV}"
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
