"""Checkpoints: one ``.npz`` file, written atomically, read without pickle.

Layout (every entry a plain numpy array, so ``np.load(..., allow_pickle=False)`` reads it):

* ``param/<layer>.<name>`` — parameters and buffers (``Network.state_dict``);
* ``optim/<slot>:<layer>.<name>`` — optimizer state (momentum, Adam moments …);
* ``extra/history`` — the metrics of every epoch, one row each (columns in ``history_fields``);
* ``__meta__`` — a JSON document (as a 0-d unicode array): format version, scenario name and
  architecture hash, resolved config, epoch/iteration, batch-iterator and RNG states, metrics;
* ``__sha256__`` — SHA-256 over every other entry's name, dtype, shape and bytes, so a file that
  was truncated or altered is refused instead of silently loading wrong numbers.

The file is written to ``<name>.<random>.tmp`` in the same folder (a name of this writer's own),
flushed to disk and renamed over the target, so a crash, a full disk or Ctrl-C at any moment
leaves either the old checkpoint or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import CheckpointError

FORMAT = "backprop-tui-checkpoint"
#: a checkpoint being written is ``<name>.<random>.tmp`` next to it until it is complete
TMP_SUFFIX = ".tmp"
VERSION = 1


@dataclass
class Checkpoint:
    params: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray]
    meta: dict[str, Any]
    path: Path
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_checkpoint(
    path: str | Path,
    params: dict[str, np.ndarray],
    optimizer: dict[str, np.ndarray],
    meta: dict[str, Any],
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write atomically; returns the path written. ``extra`` arrays (e.g. the metrics history)
    are stored as ``extra/<name>``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for k, v in params.items():
        arrays[f"param/{k}"] = np.asarray(v)
    for k, v in optimizer.items():
        arrays[f"optim/{k}"] = np.asarray(v)
    for k, v in (extra or {}).items():
        arrays[f"extra/{k}"] = np.asarray(v)
    full_meta = {"format": FORMAT, "version": VERSION, **meta}
    arrays["__meta__"] = np.array(json.dumps(full_meta))
    arrays["__sha256__"] = np.array(_digest(arrays))
    return atomic_write(path, lambda f: _write_npz(f, arrays))


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """``write(f)`` into a new temporary file next to ``path``, flushed to disk and renamed over
    ``path``: a crash, a full disk or Ctrl-C at any moment leaves the old file or the new one,
    never half of one. The temporary name is this writer's own (``O_EXCL``: two writers never
    share one) and its mode follows the umask, as the file it replaces did."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # keep the old file, drop the half one
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_npz(f: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """The one place checkpoint bytes are written (a test makes it meet a full disk)."""
    np.savez(f, **arrays)


def resolve_checkpoint(ref: str | Path) -> Path:
    """A run folder means its ``checkpoint.npz``; a file is taken as is."""
    path = Path(ref).expanduser()
    if path.is_dir():
        candidate = path / "checkpoint.npz"
        if not candidate.is_file():
            raise CheckpointError("this folder has no checkpoint.npz", file=path,
                                  hint="Point at a run folder made by `backprop-tui train` "
                                       "or at a .npz checkpoint file.")
        return candidate
    if not path.is_file():
        raise CheckpointError("no such checkpoint file", file=path)
    return path


def load_checkpoint(ref: str | Path) -> Checkpoint:
    """Read and verify a checkpoint; any problem is a :class:`CheckpointError` (exit 2)."""
    path = resolve_checkpoint(ref)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy file: one bare array
            raise ValueError("a single .npy array, not an .npz archive")
        with loaded as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # any failure to parse outside input is the file's fault:
        # zipfile and numpy raise many types for damaged input (BadZipFile, NotImplementedError
        # for a flipped flag byte in the central directory, EOFError, ValueError, OSError …)
        raise CheckpointError(f"not a readable checkpoint ({type(e).__name__}: {e})",
                              file=path, expected="a .npz file written by backprop-tui") from None
    if "__meta__" not in arrays or "__sha256__" not in arrays:
        raise CheckpointError("not a backprop-tui checkpoint (no __meta__/__sha256__ entries)",
                              file=path)
    stored = str(arrays.pop("__sha256__"))
    if _digest(arrays) != stored:
        raise CheckpointError("checksum mismatch: the file is corrupt or was modified",
                              file=path)
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"unreadable metadata: {e}", file=path) from None
    if not isinstance(meta, dict):
        raise CheckpointError("unreadable metadata: not a JSON object", file=path,
                              key="__meta__", expected="a backprop-tui checkpoint")
    if meta.get("format") != FORMAT:
        raise CheckpointError("not a backprop-tui checkpoint", file=path, key="format",
                              value=meta.get("format"), expected=FORMAT)
    if meta.get("version") != VERSION:
        raise CheckpointError("unsupported checkpoint version", file=path, key="version",
                              value=meta.get("version"), expected=str(VERSION))
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    optim = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    extra = {k[len("extra/"):]: v for k, v in arrays.items() if k.startswith("extra/")}
    return Checkpoint(params, optim, meta, path, extra)


def check_compatible(ckpt: Checkpoint, scenario_name: str, architecture_hash: str) -> None:
    """Refuse a checkpoint made for another scenario, or whose network is not this one's."""
    saved_name = ckpt.meta.get("scenario")
    network_file = ckpt.meta.get("config", {}).get("network_file")
    if isinstance(network_file, dict):  # a run of a network of the user's own (a .py file)
        raise CheckpointError(
            f"this checkpoint was made for the network file {network_file.get('name')!r}, not "
            f"for scenario {scenario_name!r}", file=ckpt.path, key="network_file",
            hint=f"Give that file instead of the scenario: {network_file.get('path')}")
    if saved_name != scenario_name:
        raise CheckpointError(
            f"this checkpoint was made for scenario {saved_name!r}, not {scenario_name!r}",
            file=ckpt.path, key="scenario",
            hint=f"Give the scenario it was trained on: {saved_name!r} (or the run's config.toml).",
        )
    if ckpt.meta.get("architecture_hash") != architecture_hash:
        raise CheckpointError(
            f"this checkpoint was made for scenario {ckpt.meta.get('scenario')!r}, whose network "
            f"differs from {scenario_name!r}'s",
            file=ckpt.path, key="architecture_hash",
            hint="Use a checkpoint from the same scenario (same layers, sizes and loss).",
        )
