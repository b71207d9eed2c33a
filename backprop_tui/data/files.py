"""What the file-based datasets (MNIST, CIFAR-10) share: which folder the user named (``--data-dir``
or an environment variable), and an in-process cache of decoded files.

A decoded file is kept per resolved path and reused while its mtime and size are unchanged, so
switching between scenarios of one dataset in the TUI (or a command that asks for the data
twice) decodes once. What the cache holds is shared by every caller: decoders return read-only
arrays.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import DataError

T = TypeVar("T")

# resolved path -> (mtime_ns, size, what the decoder returned)
_cache: dict[Path, tuple[int, int, Any]] = {}
_lock = threading.Lock()


def clear_file_cache() -> None:
    """Forget every decoded file (the next load reads the files again)."""
    with _lock:
        _cache.clear()


def read_cached(path: str | Path, decode: Callable[[Path, Path], T], *, hint: str) -> T:
    """``decode(file, resolved)`` of the file at ``path``, or what it returned last time if the
    file's mtime and size have not changed. A missing or unreadable file is a DataError (with
    ``hint`` saying where the files should be)."""
    file = Path(path).expanduser()
    try:
        resolved = file.resolve()
        st = resolved.stat()
    except FileNotFoundError:
        raise DataError("file not found", file=file, hint=hint) from None
    except OSError as e:
        raise DataError(f"cannot read the file ({e.strerror or e})", file=file) from None
    with _lock:
        hit = _cache.get(resolved)
        if hit is not None and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
        value = decode(file, resolved)
        _cache[resolved] = (st.st_mtime_ns, st.st_size, value)
        return value


def read_bytes(file: Path, resolved: Path) -> bytes:
    """The whole file; an OS error is a DataError naming it."""
    try:
        return resolved.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read the file ({e.strerror or e})", file=file) from None


def named_folder(data_dir: str | Path | None, env: str) -> tuple[Path | None, str]:
    """The folder the user named and where the choice came from: the ``data_dir`` argument
    (``--data-dir``), else ``$env`` (if set and not empty), else ``(None, "")``."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    value = os.environ.get(env, "").strip()
    if value:
        return Path(value).expanduser(), f"${env}"
    return None, ""
