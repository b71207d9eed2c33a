"""Run folders (issue 13, items 4–6): a folder that holds another run is refused (``--force``
replaces it, every file of it), one training at a time writes into a folder (two real processes;
kill -9 leaves no lock that counts), and an unwritable ``--out`` is one ``error:`` line and exit
2 — before training where it can be known, and with the last good checkpoint kept where it
cannot (a full disk midway)."""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import shlex
import signal
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_cli_train import _Process, assert_ok, assert_refused, cli

from backprop_tui import checkpoint as checkpoint_module
from backprop_tui.checkpoint import atomic_write, load_checkpoint
from backprop_tui.runfolder import LOCK, RUN_FILES

OWN_NET = textwrap.dedent("""\
    import numpy as np
    import backprop_tui as bt

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2))
    t = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    net = bt.Network([bt.Affine(rng.normal(size=(2, 8)), np.zeros(8), name="fc1"),
                      bt.ReLU(name="relu1"),
                      bt.Affine(rng.normal(size=(8, 2)), np.zeros(2), name="fc2")],
                     bt.SoftmaxCrossEntropy())
""")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())}


def _train(*args: object):
    return cli("train", *args, "--headless")


# ---------------------------------------------------------------------------------------------
# item 4: a folder that holds another run
# ---------------------------------------------------------------------------------------------
def test_a_folder_holding_another_run_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    run = tmp_path / "R"
    assert_ok(_train("iris", "--epochs", 2, "--out", run))
    before = _digests(run)
    err = assert_refused(_train("xor", "--epochs", 2, "--out", run),
                         str(run), "'iris'", "--force", "--out")
    assert f"backprop-tui train iris --headless --resume {run}" in err
    assert _digests(run) == before  # config, checkpoint, best and metrics: all iris's, untouched


def test_an_earlier_run_of_the_same_scenario_is_refused_and_the_hint_continues_it(
        tmp_path: Path) -> None:
    run = tmp_path / "R"
    assert_ok(_train("xor", "--epochs", 3, "--out", run))
    err = assert_refused(_train("xor", "--epochs", 3, "--out", run), "'xor'", "epoch 3")
    command = err.split("Continue it with: ", 1)[1].split(";", 1)[0]
    args = shlex.split(command)[2:]
    assert args == ["xor", "--headless", "--resume", str(run)]
    result = cli("train", *args, "--epochs", 5)  # what the message says to do works
    assert_ok(result)
    assert "resuming after epoch 3" in result.stdout
    assert load_checkpoint(run).meta["epochs_done"] == 5


def test_force_replaces_every_file_of_the_old_run(tmp_path: Path) -> None:
    run = tmp_path / "R"
    assert_ok(_train("iris", "--epochs", 3, "--out", run))
    (run / "checkpoint.npz.1a2b3c.tmp").write_bytes(b"half a save from a killed training")
    assert_ok(_train("xor-sigmoid", "--epochs", 2, "--lr", 1e-9, "--out", run, "--force"))
    assert "name = \"xor-sigmoid\"" in (run / "config.toml").read_text()
    assert load_checkpoint(run).meta["scenario"] == "xor-sigmoid"
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    if (run / "best.npz").exists():  # never iris's best next to xor-sigmoid's run
        assert load_checkpoint(run / "best.npz").meta["scenario"] == "xor-sigmoid"
    assert sorted(p.name for p in run.iterdir()) == \
        sorted(n for n in RUN_FILES if (run / n).exists())  # no .tmp, no lock left


def test_resume_into_its_own_folder_and_branching_into_a_new_one(tmp_path: Path) -> None:
    run, other = tmp_path / "R", tmp_path / "other"
    assert_ok(_train("xor", "--epochs", 2, "--out", run))
    assert_ok(_train("iris", "--epochs", 1, "--out", other))
    assert_ok(_train("xor", "--epochs", 4, "--resume", run))  # its own folder: the same run
    assert_ok(_train("xor", "--epochs", 5, "--resume", run / "checkpoint.npz", "--out", run))
    assert load_checkpoint(run).meta["epochs_done"] == 5
    assert_refused(_train("xor", "--epochs", 6, "--resume", run, "--out", other), "'iris'")
    assert load_checkpoint(other).meta["scenario"] == "iris"
    # a run continued from best.npz into the run's own folder would replace its newer state
    assert_refused(_train("xor", "--epochs", 6, "--resume", run / "best.npz", "--out", run),
                   "'xor'", "--force")
    assert load_checkpoint(run).meta["epochs_done"] == 5


def test_runs_of_network_files_are_kept_apart_too(tmp_path: Path) -> None:
    net = tmp_path / "mynet.py"
    net.write_text(OWN_NET)
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    assert_ok(_train(net, "--epochs", 2, "--out", mine))
    assert_ok(_train("xor", "--epochs", 2, "--out", theirs))
    err = assert_refused(_train("xor", "--epochs", 2, "--out", mine), "'mynet.py'")
    assert f"backprop-tui train {net.resolve()} --headless --resume {mine}" in err
    assert_refused(_train(net, "--epochs", 2, "--out", theirs), "'xor'")
    assert_refused(_train(net, "--epochs", 2, "--out", mine), "'mynet.py'", "--force")
    assert_ok(_train(net, "--epochs", 4, "--resume", mine))
    assert load_checkpoint(mine).meta["epochs_done"] == 4
    assert_ok(_train("xor", "--epochs", 1, "--out", mine, "--force"))
    assert not (mine / "run.toml").exists()  # the network file's record went with its run
    assert load_checkpoint(mine).meta["scenario"] == "xor"


# ---------------------------------------------------------------------------------------------
# item 5: one training at a time (two real processes)
# ---------------------------------------------------------------------------------------------
def test_a_second_training_into_a_busy_folder_is_refused_and_kill_9_leaves_no_lock(
        tmp_path: Path) -> None:
    run = tmp_path / "R"
    first = _Process(["train", "xor-sigmoid", "--headless", "--epochs", "1000000", "--out",
                      str(run)], cwd=tmp_path)
    try:
        first.wait_for(r"^epoch +1/")
        for args in (["xor", "--out", str(run)], ["xor-sigmoid", "--out", str(run)],
                     ["xor", "--out", str(run), "--force"]):
            second = _Process(["train", *args, "--headless", "--epochs", "2"], cwd=tmp_path)
            rc, out, err = second.finish()
            assert rc == 2, out + err
            assert err.strip().count("\n") == 0 and err.startswith("error:"), err
            assert f"another training (pid {first.proc.pid})" in err
            assert "Traceback" not in err
        assert first.proc.poll() is None  # the first one trains on, undisturbed
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=30)
    finally:
        first.proc.kill()
    assert (run / LOCK).exists()  # kill -9: the file stays, the kernel released its lock
    third = _Process(["train", "xor", "--headless", "--epochs", "3", "--out", str(run),
                      "--force"], cwd=tmp_path)
    rc, out, err = third.finish()
    assert rc == 0, out + err
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]  # the third run's rows only
    assert load_checkpoint(run).meta["scenario"] == "xor"
    assert not (run / LOCK).exists() and not list(run.glob("*.tmp"))


def test_two_writers_of_one_file_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.npz"
    seen: list[str] = []

    def outer(f) -> None:
        seen.append(f.name)
        atomic_write(target, inner)  # a second writer while the first one is half-way
        f.write(b"outer")

    def inner(f) -> None:
        seen.append(f.name)
        f.write(b"inner")

    atomic_write(target, outer)
    assert target.read_bytes() == b"outer"
    assert len(set(seen)) == 2 and not list(tmp_path.glob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# item 6: an unwritable --out
# ---------------------------------------------------------------------------------------------
def test_a_file_in_the_way_is_one_error_line_and_nothing_is_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    assert_refused(_train("xor", "--out", blocker), str(blocker), "is a file")
    assert_refused(_train("xor", "--out", blocker / "sub" / "run"), f"{blocker} is a file")
    assert_refused(_train("xor", "--out", "/dev/null"), "/dev/null", "not a folder")
    assert blocker.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def _read_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``path`` refuses new files: by its mode, or — as root, whom modes do not stop — by
    making the kernel's answer for files in it EROFS (a read-only mount)."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        return
    real_open = os.open

    def read_only_open(file, flags, *args, **kwargs):
        if Path(file).parent == path and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)


def test_a_read_only_folder_is_refused_before_training(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    _read_only(folder, monkeypatch)
    try:
        err = assert_refused(_train("xor", "--out", folder), str(folder),
                             "cannot write in the run folder")
        assert "Read-only" in err or "Permission denied" in err
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_the_default_folder_in_a_read_only_cwd_is_refused(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:
        pytest.skip("root creates folders whatever the mode: the read-only folder case above "
                    "covers the refusal by the kernel's answer instead")
    monkeypatch.chdir(tmp_path)
    tmp_path.chmod(0o555)
    try:
        assert_refused(_train("xor"), "runs/xor-", "cannot create the run folder",
                       "Permission denied")
    finally:
        tmp_path.chmod(0o755)
    assert not (tmp_path / "runs").exists()


def test_a_full_disk_is_refused_before_training(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    run = tmp_path / "deep" / "R"
    assert_refused(_train("xor", "--out", run), str(run), "1,000 bytes free", "need up to")
    assert not (tmp_path / "deep").exists()  # the folders it made for itself are gone again


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> list[str]:
    """The checkpoint writer meets a full disk after ``writes`` good saves: half a file
    written, then ENOSPC."""
    real = checkpoint_module._write_npz
    done: list[str] = []

    def write(f, arrays):
        if len(done) >= writes:
            f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done.append(f.name)
        real(f, arrays)

    monkeypatch.setattr(checkpoint_module, "_write_npz", write)
    return done


def test_a_disk_full_midway_stops_with_one_line_and_the_last_checkpoint_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "R"
    assert_ok(_train("xor", "--epochs", 20, "--out", run))
    before = _digests(run)
    _full_disk_after(monkeypatch, 0)
    err = assert_refused(_train("xor", "--epochs", 400, "--resume", run), "cannot write",
                         "No space left on device", "(epoch 20)", f"--resume {run}")
    assert ".npz" in err.split("cannot write", 1)[1].split()[0]
    for name in ("checkpoint.npz", "best.npz", "config.toml"):
        assert _digests(run)[name] == before[name]  # what was there is there, valid
    assert load_checkpoint(run).meta["epochs_done"] == 20
    assert not list(run.glob("*.tmp"))
    monkeypatch.undo()
    assert_ok(_train("xor", "--epochs", 25, "--resume", run))  # and it goes on from there


def test_a_disk_full_before_the_first_checkpoint_says_nothing_was_saved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "R"
    _full_disk_after(monkeypatch, 0)
    assert_refused(_train("xor", "--epochs", 5, "--out", run), "cannot write",
                   "No space left on device", "no checkpoint was saved yet")
    assert not list(run.glob("*.npz*"))


def test_a_disk_full_while_appending_metrics_leaves_whole_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "R"
    assert_ok(_train("xor", "--epochs", 3, "--out", run))
    real = csv.DictWriter.writerow

    def full(self, row):  # the whole file again after the resume, then no room for epoch 5
        if row["epoch"] == "epoch" or row["epoch"] < 5:  # the header, epochs 1-4
            return real(self, row)
        with open(run / "metrics.csv", "a") as f:  # part of the row reaches the disk
            f.write("5,5,0.69")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(csv.DictWriter, "writerow", full)
    assert_refused(_train("xor", "--epochs", 6, "--resume", run), "cannot write metrics.csv",
                   "(epoch 3)")
    monkeypatch.setattr(csv.DictWriter, "writerow", real)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert all(None not in r.values() and None not in r for r in rows)
    np.testing.assert_equal(load_checkpoint(run).meta["epochs_done"], 3)
