"""Checkpoint files: atomic ``.npz`` with JSON metadata and a SHA-256, read without pickle.

The spec (issue 3): a checkpoint written while something goes wrong never leaves a broken file;
a truncated, altered or foreign file, or one from another scenario, is refused with a clear
:class:`CheckpointError` (exit 2 in the CLI) naming the file; loading never unpickles.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from backprop_tui import checkpoint as ckpt_mod
from backprop_tui.checkpoint import (
    FORMAT,
    VERSION,
    check_compatible,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from backprop_tui.errors import CheckpointError, UserError
from backprop_tui.scenario import load_scenario

_REAL_NP_LOAD = np.load


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_pickle(monkeypatch: pytest.MonkeyPatch):
    """In every test here: make each way into the unpickler fail loudly, and insist that
    ``np.load`` is called with ``allow_pickle=False``.

    The forbidden calls are recorded (the loader turns any exception from a damaged file into
    a CheckpointError, which would hide the AssertionError) and must not have happened."""
    attempts: list[str] = []

    def forbidden(name: str):
        def fail(*args, **kwargs):
            attempts.append(name)
            raise AssertionError(f"checkpoint loading called {name}")

        return fail

    monkeypatch.setattr(pickle, "load", forbidden("pickle.load"))
    monkeypatch.setattr(pickle, "loads", forbidden("pickle.loads"))
    monkeypatch.setattr(pickle, "Unpickler", forbidden("pickle.Unpickler"))

    def strict_load(*args, **kwargs):
        if kwargs.get("allow_pickle") is not False:
            attempts.append("np.load without allow_pickle=False")
            raise AssertionError("np.load must be called with allow_pickle=False")
        return _REAL_NP_LOAD(*args, **kwargs)

    monkeypatch.setattr(np, "load", strict_load)
    yield attempts
    assert attempts == [], f"loading tried to unpickle: {attempts}"


def _state() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    rng = np.random.default_rng(7)
    params = {
        "affine1.W": rng.standard_normal((3, 4)).astype(np.float32),
        "affine1.b": np.zeros(4, np.float32),
        "bn1.running_var": rng.random(4),  # float64 beside float32: dtypes are kept
        "odd.-0": np.array([-0.0, np.inf, -np.inf, np.nan]),  # bit patterns survive
    }
    optim = {"v:affine1.W": rng.standard_normal((3, 4)).astype(np.float32),
             "__t__": np.array(12, dtype=np.int64)}
    meta = {"scenario": "demo", "architecture_hash": "abc", "epochs_done": 3,
            "nested": {"rng": {"state": 2**100 + 1, "inc": 5}, "list": [1.5, None, "é"]},
            "history": [{"test_loss": float("nan"), "lr": 0.1}]}
    return params, optim, meta


def _bits(a: np.ndarray) -> tuple[str, tuple[int, ...], bytes]:
    a = np.asarray(a)
    return str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()


def _write_npz(path: Path, **arrays: np.ndarray) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _refused(path: Path, *words: str) -> CheckpointError:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message, message
    for word in words:
        assert word in message, message
    assert info.value.exit_code == 2
    return info.value


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    params, optim, meta = _state()
    return save_checkpoint(tmp_path / "run" / "checkpoint.npz", params, optim, meta)


# ---------------------------------------------------------------------------------------------
# writing and reading back
# ---------------------------------------------------------------------------------------------
def test_round_trip_is_bit_exact_and_keeps_meta(saved: Path) -> None:
    params, optim, meta = _state()
    ck = load_checkpoint(saved)
    assert ck.path == saved
    assert set(ck.params) == set(params) and set(ck.optimizer) == set(optim)
    for k in params:
        assert _bits(ck.params[k]) == _bits(params[k]), k
    for k in optim:
        assert _bits(ck.optimizer[k]) == _bits(optim[k]), k
    assert ck.meta["format"] == FORMAT and ck.meta["version"] == VERSION
    assert ck.meta["nested"] == meta["nested"]  # big ints (PCG64 states) survive JSON
    assert np.isnan(ck.meta["history"][0]["test_loss"])


def test_a_run_folder_means_its_checkpoint(saved: Path) -> None:
    assert resolve_checkpoint(saved.parent) == saved
    assert load_checkpoint(saved.parent).path == saved


def test_save_leaves_no_temporary_file(saved: Path) -> None:
    assert sorted(p.name for p in saved.parent.iterdir()) == ["checkpoint.npz"]


def test_a_failing_save_keeps_the_previous_checkpoint(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (or a second Ctrl-C) in the middle of writing must not touch the old file."""
    before = saved.read_bytes()
    real_savez = np.savez

    def half_then_crash(f, **arrays):
        real_savez(f, **arrays)
        f.truncate(f.tell() // 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_then_crash)
    params, optim, meta = _state()
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, {k: v + 1 for k, v in params.items()}, optim, meta)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    load_checkpoint(saved)  # still valid
    assert sorted(p.name for p in saved.parent.iterdir()) == ["checkpoint.npz"], \
        "the half-written temporary file was left behind"


# ---------------------------------------------------------------------------------------------
# refusals: missing, corrupt, foreign, pickled
# ---------------------------------------------------------------------------------------------
def test_missing_file_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.npz", "no such checkpoint")


def test_folder_without_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "best.npz").write_bytes(b"")
    _refused(tmp_path, "no checkpoint.npz")


@pytest.mark.parametrize("cut", [0, 100, 0.5, -1])
def test_truncated_file_is_refused(saved: Path, cut: float) -> None:
    data = saved.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (cut % len(data))
    saved.write_bytes(data[:n])
    _refused(saved)


def test_every_flipped_byte_is_refused_or_harmless(tmp_path: Path) -> None:
    """Flip each byte of a small checkpoint in turn: the file is refused with a
    CheckpointError, or (a timestamp, an unused flag in the zip directory) it loads to exactly
    the same numbers. Never wrong numbers, never another exception."""
    params = {"affine1.W": np.arange(6.0).reshape(2, 3), "affine1.b": np.ones(3, np.float32)}
    optim = {"__t__": np.array(4, dtype=np.int64)}
    path = save_checkpoint(tmp_path / "small.npz", params, optim, {"epochs_done": 2})
    good = load_checkpoint(path)
    data = path.read_bytes()
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(data)
    refused = 0
    with open(damaged, "r+b", buffering=0) as f:  # patch in place: one byte per round
        for pos in range(len(data)):
            f.seek(pos)
            f.write(bytes([data[pos] ^ 0x5A]))
            try:
                ck = load_checkpoint(damaged)
            except CheckpointError as e:
                assert str(damaged) in str(e)
                refused += 1
                continue
            finally:
                f.seek(pos)
                f.write(data[pos : pos + 1])
            assert ck.meta == good.meta, pos
            for store, ref in ((ck.params, good.params), (ck.optimizer, good.optimizer)):
                assert store.keys() == ref.keys(), pos
                for k in ref:
                    assert _bits(store[k]) == _bits(ref[k]), (pos, k)
    assert refused > len(data) // 2  # the payload bytes, at least, are all caught


def test_altered_array_in_a_valid_zip_fails_the_checksum(saved: Path) -> None:
    """The zip's CRC catches flipped bits; the SHA-256 catches a file rewritten by a tool
    (every zip entry consistent, one array changed)."""
    with np.load(saved, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["param/affine1.W"] = arrays["param/affine1.W"].copy()
    arrays["param/affine1.W"][0, 0] += 1
    _write_npz(saved, **arrays)
    _refused(saved, "checksum")


def test_altered_metadata_fails_the_checksum(saved: Path) -> None:
    with np.load(saved, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__meta__"]))
    meta["epochs_done"] = 999
    arrays["__meta__"] = np.array(json.dumps(meta))
    _write_npz(saved, **arrays)
    _refused(saved, "checksum")


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _refused(path)


def test_foreign_npz_is_refused(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "weights.npz", W1=np.ones((2, 3)), b1=np.zeros(3))
    _refused(path, "not a backprop-tui checkpoint")


def test_plain_npy_file_is_refused(tmp_path: Path) -> None:
    """``np.load`` returns an array, not an archive, for a ``.npy`` file."""
    path = tmp_path / "array.npz"
    with open(path, "wb") as f:
        np.save(f, np.arange(5.0))
    _refused(path)


def test_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.npz"
    path.write_text("epoch,loss\n1,0.5\n")
    _refused(path)


class _Plant:
    """Unpickling this runs code: it creates the file named in ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def test_pickled_object_array_is_refused_and_never_unpickled(
    tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    payload = np.array([_Plant(marker)], dtype=object)
    # a real pickle: unpickling it with numpy would run the code
    buf = io.BytesIO()
    np.save(buf, payload, allow_pickle=True)
    assert b"exec" in buf.getvalue()
    for extra in ({}, {"__meta__": np.array("{}"), "__sha256__": np.array("0" * 64)}):
        path = _write_npz(tmp_path / "evil.npz", **extra, evil=payload)
        _refused(path)
        assert not marker.exists()
    # the object array as the metadata itself
    path = _write_npz(tmp_path / "evil-meta.npz", __meta__=payload, __sha256__=payload)
    _refused(path)
    assert not marker.exists()


def test_the_no_pickle_fixture_would_notice(tmp_path: Path, no_pickle: list[str]) -> None:
    """Guard for the guard: with the fixture active, numpy's own unpickling path (an object
    array read with ``allow_pickle=True``) fails, so the tests above would have caught it."""
    path = _write_npz(tmp_path / "obj.npz", a=np.array([{"k": 1}], dtype=object))
    with pytest.raises(AssertionError), _REAL_NP_LOAD(path, allow_pickle=True) as z:
        z["a"]
    assert "pickle.load" in no_pickle
    with pytest.raises(AssertionError):
        np.load(path, allow_pickle=True)
    assert "np.load without allow_pickle=False" in no_pickle
    no_pickle.clear()  # these attempts were this test's own


def _crafted(tmp_path: Path, meta_text: str) -> Path:
    arrays = {"__meta__": np.array(meta_text)}
    arrays["__sha256__"] = np.array(ckpt_mod._digest(arrays))
    return _write_npz(tmp_path / "crafted.npz", **arrays)


@pytest.mark.parametrize(
    ("meta_text", "words"),
    [
        ("{not json", ("metadata",)),
        ("[1, 2, 3]", ()),
        ('"a string"', ()),
        (json.dumps({"format": "something-else", "version": VERSION}), ("format",)),
        (json.dumps({"format": FORMAT, "version": VERSION + 1}), ("version",)),
    ],
)
def test_bad_metadata_is_refused(tmp_path: Path, meta_text: str, words: tuple[str, ...]) -> None:
    _refused(_crafted(tmp_path, meta_text), *words)


def test_every_refusal_is_a_user_error(tmp_path: Path) -> None:
    """One family of errors: the CLI turns a UserError into one line and exit 2."""
    assert issubclass(CheckpointError, UserError)
    path = tmp_path / "x.npz"
    path.write_bytes(b"PK\x03\x04garbage")
    err = _refused(path)
    assert "\n" not in str(err)
    assert os.fspath(path) in str(err)


# ---------------------------------------------------------------------------------------------
# compatibility with a scenario
# ---------------------------------------------------------------------------------------------
def test_checkpoint_from_another_architecture_is_refused(tmp_path: Path) -> None:
    xor, iris = load_scenario("xor"), load_scenario("iris")
    assert xor.architecture_hash() != iris.architecture_hash()
    net = xor.build_network(0, "float64")
    path = save_checkpoint(tmp_path / "c.npz", net.state_dict(), {},
                           {"scenario": "xor", "architecture_hash": xor.architecture_hash()})
    ck = load_checkpoint(path)
    check_compatible(ck, "xor", xor.architecture_hash())  # the same scenario: fine
    with pytest.raises(CheckpointError) as info:
        check_compatible(ck, "iris", iris.architecture_hash())
    message = str(info.value)
    assert "'xor'" in message and "'iris'" in message and str(path) in message


def test_architecture_hash_follows_the_shapes_not_the_training_settings() -> None:
    xor = load_scenario("xor")
    assert xor.with_train(lr=0.5, epochs=3, batch_size=2).architecture_hash() == \
        xor.architecture_hash()
    assert load_scenario("xor-sigmoid").architecture_hash() != xor.architecture_hash()
