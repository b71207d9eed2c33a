"""The run folder of a training: claimed by one training at a time, never silently reused, and
checked writable before the first batch.

``claim_run_folder`` is what ``backprop-tui train`` does before training:

* **writable** — the path must be a folder or creatable as one (not a file, a device such as
  ``/dev/null``, or a path under a file), files must be creatable in it (not read-only), and its
  disk must have room for the run's checkpoints (an upper bound: see :func:`checkpoint_bytes`);
* **locked** — ``.lock`` in the folder is held with ``flock`` for as long as the training runs,
  so a second training into the same folder is refused, naming the first one's pid. The kernel
  releases the lock when the process ends, however it ends (kill -9 included): a lock file left
  behind is never mistaken for a running training;
* **not another run's** — a folder *holds a run* when it has any of :data:`RUN_FILES`
  (``config.toml`` or ``run.toml``, ``checkpoint.npz``, ``best.npz``, ``metrics.csv``). A new
  run there would replace that run's checkpoint, best and metrics (and leave its record saying
  otherwise), so it is refused, saying how to continue the run that is there (``--resume``) or
  to pick a new folder. The one folder a training may write into while it holds a run is the
  run it continues: ``--resume R`` (or ``R/checkpoint.npz``) into ``R``. ``force`` replaces the
  run knowingly: its files are deleted before training starts, so the folder never mixes two
  runs' files.

Temporary checkpoint files (``*.tmp``) left by a training that was killed while saving are
deleted once the folder is claimed (nobody else can be writing them then).

UI-free: the standard library and the package's own modules.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shlex
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import TMP_SUFFIX, load_checkpoint, resolve_checkpoint
from .errors import RunFolderError, UserError
from .scenario import builtin_names

if TYPE_CHECKING:
    from .training import Trainer

#: the files that make a folder a run folder (whichever of them it has)
RUN_FILES = ("config.toml", "run.toml", "checkpoint.npz", "best.npz", "metrics.csv")
LOCK = ".lock"
#: room for metrics.csv, config.toml and a checkpoint's metadata and history
_MARGIN = 1 << 20


@dataclass
class RunFolder:
    """A claimed run folder; the lock is held until :meth:`release` (or the process ends)."""

    path: Path
    fd: int

    def release(self) -> None:
        """Remove the lock file, then unlock. Removing it while still locked is safe: whoever
        locks a lock file checks that it is still the one at ``.lock`` (see :func:`_lock`)."""
        if self.fd >= 0:
            (self.path / LOCK).unlink(missing_ok=True)
            os.close(self.fd)  # closing the only descriptor releases the flock
            self.fd = -1

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def checkpoint_bytes(trainer: Trainer) -> int:
    """An upper bound on the disk space the run's checkpoints take at once: checkpoint.npz,
    best.npz and one of them being rewritten, each holding the parameters and buffers and at
    most two optimizer moments per parameter (Adam's), plus a margin for the rest."""
    state = sum(a.nbytes for a in trainer.net.state_dict().values())
    return 3 * 3 * state + _MARGIN


def claim_for(trainer: Trainer, *, resume: Path | None, force: bool) -> RunFolder:
    """Claim ``trainer.out_dir`` for this training (see the module docstring)."""
    assert trainer.out_dir is not None
    continuing = resolve_checkpoint(resume) if resume is not None else None
    return claim_run_folder(trainer.out_dir, continuing=continuing, force=force,
                            need_bytes=checkpoint_bytes(trainer))


def claim_run_folder(out: Path, *, continuing: Path | None = None, force: bool = False,
                     need_bytes: int = 0) -> RunFolder:
    """Make ``out`` this training's run folder, or raise a :class:`RunFolderError` (exit 2)
    and leave the disk as it was. ``continuing``: the checkpoint a resumed run starts from
    (the run in ``out`` is that run's when it is ``out/checkpoint.npz``)."""
    out = Path(out)
    created = _make_folder(out)
    fd = -1
    try:
        fd = _lock(out)
        _check_room(out, need_bytes)
        held = [name for name in RUN_FILES if (out / name).exists()]
        same_run = continuing is not None and \
            continuing.resolve() == (out / "checkpoint.npz").resolve()
        if held and not same_run:
            if not force:
                raise _held_error(out, held)
            for name in held:
                (out / name).unlink()
        for name in RUN_FILES:  # a killed training's half-written saves
            for tmp in out.glob(f"{name}*{TMP_SUFFIX}"):
                tmp.unlink(missing_ok=True)
    except BaseException:  # leave no trace of a refused training
        RunFolder(out, fd).release()
        _remove_empty(created)
        raise
    return RunFolder(out, fd)


# ---------------------------------------------------------------------------------------------
def _cannot(out: Path, what: str, e: OSError | None = None, hint: str | None = None
            ) -> RunFolderError:
    why = f" ({e.strerror})" if e is not None and e.strerror else ""
    return RunFolderError(f"{what}{why}", file=out, key="--out",
                          expected="a folder this training can write into",
                          hint=hint or "Pick another folder with --out")


def _make_folder(out: Path) -> list[Path]:
    """Create ``out`` (and missing parents); returns the folders it created, deepest last."""
    if out.exists() and not out.is_dir():
        kind = "a file" if out.is_file() else "not a folder (a device or special file)"
        raise _cannot(out, f"the run folder is {kind}")
    missing = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise _cannot(out, f"cannot create the run folder: {blocker} is a file, not a "
                               "folder") from None
        raise _cannot(out, "cannot create the run folder", e) from None
    return list(reversed(missing))


def _remove_empty(created: list[Path]) -> None:
    for folder in reversed(created):  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


def _lock(out: Path) -> int:
    """Open and flock ``out/.lock``; refuse when another process holds it. A lock file that
    was removed (by the training that held it, as it ended) between our open and our flock is
    no lock: open the one at ``.lock`` now and try again."""
    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _cannot(out, "cannot write in the run folder", e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read_pid(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise _cannot(out, "cannot lock the run folder", e) from None
            who = f"pid {holder}" if holder else "another process"
            raise RunFolderError(
                f"another training ({who}) is writing to this run folder", file=out,
                key="--out", hint="Wait until it ends, or train into another folder with --out"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as e:
        os.close(fd)
        raise _cannot(out, "cannot write in the run folder", e) from None
    return fd


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def _check_room(out: Path, need: int) -> None:
    if need <= 0:
        return
    try:
        free = shutil.disk_usage(out).free
    except OSError:  # cannot tell: the writes themselves will say
        return
    if free < need:
        raise _cannot(out, f"the disk holding the run folder has {_size(free)} free; this run's "
                           f"checkpoints need up to {_size(need)}",
                      hint="Free some space, or pick a folder on another disk with --out")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def _held_error(out: Path, held: list[str]) -> RunFolderError:
    """What run the folder holds and how to continue it, in one message."""
    what, target, epochs = _describe(out)
    progress = f", {epochs}" if epochs else ""
    files = ", ".join(held)
    if target is not None and "checkpoint.npz" in held:
        cont = ("Continue it with: "
                + shlex.join(["backprop-tui", "train", target, "--headless", "--resume",
                              str(out)]))
    else:
        cont = "It has no checkpoint.npz to continue from"
    return RunFolderError(
        f"this folder holds {what} ({files}{progress}); a new run here would replace it",
        file=out, key="--out", expected="a new or empty folder",
        hint=f"{cont}; or pick a new folder with --out; or add --force to delete that run and "
             "start this one in its place")


def _describe(out: Path) -> tuple[str, str | None, str | None]:
    """``(what, how to name it to train, epochs done)`` of the run in ``out``, from its
    checkpoint, else its config.toml or run.toml."""
    name = network_file = epochs = None
    try:
        meta = load_checkpoint(out / "checkpoint.npz").meta
        config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
        name, network_file = meta.get("scenario"), config.get("network_file")
        epochs = f"epoch {meta.get('epochs_done')} done"
    except UserError:  # none, or unreadable: the record says what ran
        for record in ("run.toml", "config.toml"):
            try:
                doc = tomllib.loads((out / record).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            name, network_file = doc.get("name"), doc.get("network_file")
            break
    if isinstance(network_file, dict):
        path = network_file.get("path")
        return (f"a run of the network file {network_file.get('name')!r}",
                str(path) if path else None, epochs)
    if not isinstance(name, str):
        return "files of another run", None, epochs
    config = out / "config.toml"
    target = name if name in builtin_names() else (str(config) if config.is_file() else None)
    return f"a run of scenario {name!r}", target, epochs


__all__ = ["LOCK", "RUN_FILES", "RunFolder", "checkpoint_bytes", "claim_for",
           "claim_run_folder"]
