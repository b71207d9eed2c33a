"""``backprop-tui train --headless`` and ``backprop-tui eval`` as a user meets them (issue 3).

Most tests call the Typer app in-process (fast); the behaviour that only exists in a real
process — Ctrl-C (SIGINT), a pipe or a pseudo-terminal on stdout — runs
``python -m backprop_tui`` as a subprocess.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_tui.checkpoint import load_checkpoint, save_checkpoint
from backprop_tui.cli import app
from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer

#: environment variables that would make rich colour a pipe, or not colour a terminal
_COLOUR_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE",
               "COLUMNS", "LINES")
runner = CliRunner(env=dict.fromkeys(_COLOUR_ENV))

EPOCH_LINE = re.compile(
    r"^epoch +(\d+)/(\d+)  train loss (\d+\.\d{4})  train acc +(\d+\.\d\d)%  "
    r"test acc +(\d+\.\d\d)% +(\d+\.\d\d) s\b"
)


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def assert_ok(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def assert_refused(result, *words: str) -> str:
    """Exit 2, exactly one line on stderr that starts with ``error:``, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    err = result.stderr.strip()
    assert err.startswith("error:") and "\n" not in err, err
    for word in words:
        assert word in err, err
    return err


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _COLOUR_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class _Process:
    """``python -m backprop_tui ARGS`` with stdout read line by line in a thread."""

    def __init__(self, args: list[str], cwd: Path, prefix: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *(prefix or ["-m", "backprop_tui"]), *args], cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
            env=_env(TERM="xterm-256color"),
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"no line matching {pattern!r}; got {self.lines}")
            if re.search(pattern, line):
                return line

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            self.proc.kill()
        self._thread.join(timeout=5)
        assert self.proc.stderr is not None
        return rc, "".join(self.lines), self.proc.stderr.read()


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 20-epoch xor run folder. Tests that write into a run copy it first."""
    out = tmp_path_factory.mktemp("xor") / "run"
    Trainer(load_scenario("xor").with_train(epochs=20), out_dir=out).run()
    return out


# ---------------------------------------------------------------------------------------------
# Ctrl-C: save, say where, exit 130; resuming gives the uninterrupted result
# ---------------------------------------------------------------------------------------------
def test_ctrl_c_saves_and_the_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    run = tmp_path / "run"
    p = _Process(["train", "xor-sigmoid", "--headless", "--epochs", "1000000", "--out",
                  str(run)], cwd=tmp_path)
    p.wait_for(r"^epoch +1/1000000 ")  # training (and the SIGINT handler) has started
    time.sleep(0.2)
    p.proc.send_signal(signal.SIGINT)
    rc, out, err = p.finish()
    assert rc == 130, (out, err)
    assert "Traceback" not in err
    saved = re.search(r"saved (\S+)", out)
    assert saved, out
    assert Path(saved.group(1)).resolve() == (run / "checkpoint.npz").resolve()
    assert f"--resume {run}" in out
    ck = load_checkpoint(run)  # a complete, valid checkpoint
    epochs_done, iteration = ck.meta["epochs_done"], ck.meta["iteration"]
    assert iteration > 4 and epochs_done == len(ck.extra["history"])
    assert f"after iteration {iteration}" in out

    total = epochs_done + 3
    assert_ok(cli("train", "xor-sigmoid", "--headless", "--resume", run, "--epochs", total))
    reference = Trainer(load_scenario("xor-sigmoid").with_train(epochs=total))
    reference.run()
    final = load_checkpoint(run)
    assert final.meta["iteration"] == reference.iteration == 4 * total
    _same_arrays(final.params, reference.net.state_dict())
    _same_arrays(final.optimizer, reference.optimizer.state_dict())
    metrics = (run / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 1 + total
    assert [int(row.split(",")[0]) for row in metrics[1:]] == list(range(1, total + 1))


SLOW_BATCH = """
import sys, time
from backprop_tui.engine.batches import Batches
real_next = Batches.next
def slow_next(self):
    batch = real_next(self)
    if self.epoch >= 1:  # from the second epoch on, a batch takes a minute (a huge MNIST batch)
        print("slow batch", flush=True)
        time.sleep(60)
    return batch
Batches.next = slow_next
from backprop_tui.cli import main
sys.argv = ["backprop-tui", *sys.argv[1:]]
main()
"""


def test_a_second_ctrl_c_aborts_at_once(tmp_path: Path) -> None:
    run = tmp_path / "run"
    p = _Process(["train", "xor", "--headless", "--epochs", "5", "--out", str(run)],
                 cwd=tmp_path, prefix=["-c", SLOW_BATCH])
    p.wait_for("slow batch")
    p.proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert p.proc.poll() is None, "the first Ctrl-C must let the batch finish and save"
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGINT)
    rc, out, err = p.finish(timeout=20)
    assert rc == 130 and time.monotonic() - t0 < 10
    assert "saved" not in out and "Traceback" not in err
    assert "interrupted again: stopped without saving" in err
    assert not list(run.glob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# refusals: exit 2, one `error:` line
# ---------------------------------------------------------------------------------------------
def test_checkpoint_of_another_scenario_is_refused(xor_run: Path) -> None:
    assert_refused(cli("train", "iris", "--headless", "--resume", xor_run), "'xor'", "'iris'")
    assert_refused(cli("eval", "iris", "--checkpoint", xor_run), "'xor'", "'iris'")
    assert_refused(cli("eval", "iris", "--checkpoint", xor_run / "best.npz"), "'xor'")


def _corrupt(kind: str, good: Path, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.npz"
    data = good.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "flipped-byte":
        b = bytearray(data)
        b[len(b) // 3] ^= 0xFF
        path.write_bytes(bytes(b))
    elif kind == "altered-array":  # a consistent zip, one weight changed: the SHA-256 catches it
        with np.load(good, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["param/affine1.W"] = arrays["param/affine1.W"] * 2
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    elif kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(3000))
    elif kind == "foreign-npz":
        with open(path, "wb") as f:
            np.savez(f, W1=np.ones((2, 6)), b1=np.zeros(6))
    elif kind == "pickled-object":
        with open(path, "wb") as f:
            np.savez(f, __meta__=np.array([{"format": "x"}], dtype=object), __sha256__="0")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.arange(4.0))
    return path


CORRUPT = ["truncated", "flipped-byte", "altered-array", "random-bytes", "foreign-npz",
           "pickled-object", "npy"]


@pytest.mark.parametrize("kind", CORRUPT)
def test_corrupt_checkpoint_is_refused(kind: str, xor_run: Path, tmp_path: Path) -> None:
    bad = _corrupt(kind, xor_run / "checkpoint.npz", tmp_path)
    err = assert_refused(cli("train", "xor", "--headless", "--resume", bad), str(bad))
    if kind == "altered-array":
        assert "checksum" in err
    assert_refused(cli("eval", "xor", "--checkpoint", bad), str(bad))


def test_loading_never_unpickles(xor_run: Path, tmp_path: Path, monkeypatch) -> None:
    import pickle

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling")

    calls: list[object] = []
    real_load = np.load

    def strict_load(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(np, "load", strict_load)
    bad = _corrupt("pickled-object", xor_run / "checkpoint.npz", tmp_path)
    assert_refused(cli("eval", "xor", "--checkpoint", bad))
    assert_ok(cli("eval", "xor", "--checkpoint", xor_run))
    assert calls and all(c is False for c in calls)


def test_missing_checkpoint_and_folder_without_one_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.npz"
    assert_refused(cli("train", "xor", "--headless", "--resume", missing), str(missing))
    assert_refused(cli("eval", "xor", "--checkpoint", missing), str(missing))
    empty = tmp_path / "empty-run"
    empty.mkdir()
    assert_refused(cli("train", "xor", "--headless", "--resume", empty), "checkpoint.npz")
    assert_refused(cli("eval", "xor", "--checkpoint", empty), "checkpoint.npz")


@pytest.mark.parametrize(
    ("flag", "value", "same"),
    [("--batch-size", "2", "4"), ("--optimizer", "adam", "sgd"), ("--seed", "1", "0"),
     ("--dtype", "float32", "float64")],
)
def test_resume_refuses_a_changed_setting(
    xor_run: Path, tmp_path: Path, flag: str, value: str, same: str
) -> None:
    assert_refused(cli("train", "xor", "--headless", "--resume", xor_run, flag, value), flag)
    run = shutil.copytree(xor_run, tmp_path / "run")
    result = cli("train", "xor", "--headless", "--resume", run, flag, same, "--epochs", 22)
    assert_ok(result)
    assert "resuming after epoch 20" in result.stdout
    assert load_checkpoint(run).meta["epochs_done"] == 22


@pytest.mark.parametrize(
    "args",
    [["--epochs", "-1"], ["--batch-size", "0"], ["--lr", "0"], ["--lr", "-0.1"],
     ["--log-every", "0"], ["--dtype", "float16"], ["--optimizer", "rmsprop"]],
)
def test_bad_flags_are_refused(args: list[str], tmp_path: Path) -> None:
    result = cli("train", "xor", "--headless", "--out", tmp_path / "r", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_train_without_headless_says_how(tmp_path: Path) -> None:
    assert_refused(cli("train", "xor", "--out", tmp_path / "r"), "--headless")


def test_perceptron_refuses_training(tmp_path: Path) -> None:
    assert_refused(cli("train", "perceptron", "--headless", "--out", tmp_path / "r"),
                   "not trainable")


# ---------------------------------------------------------------------------------------------
# NaN / Inf: exit 1, the layer and the step named
# ---------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_learning_rate_stops_naming_the_layer(tmp_path: Path) -> None:
    """lr = 1e200: after the first update affine1's weights are ~1e200 (finite, and so is its
    output on 0/1 inputs); affine2 multiplies two such numbers and overflows."""
    result = cli("train", "xor", "--headless", "--lr", "1e200", "--out", tmp_path / "r")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert re.search(r"Inf appeared at iteration 2 \(epoch 2, batch 1\): first in the forward "
                     r"step of layer 'affine2', tensor output", result.stderr), result.stderr


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_inf_weight_in_a_resumed_checkpoint_is_named(xor_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(xor_run, tmp_path / "run")
    ck = load_checkpoint(run)
    params = dict(ck.params)
    params["affine2.W"] = params["affine2.W"].copy()
    params["affine2.W"][3, 1] = np.inf
    save_checkpoint(run / "checkpoint.npz", params, ck.optimizer, ck.meta, extra=ck.extra)
    result = cli("train", "xor", "--headless", "--resume", run, "--epochs", 30)
    assert result.exit_code == 1, result.output
    assert "iteration 21 (epoch 21, batch 1): first in the forward step of layer 'affine2', " \
           "tensor W (1 entries)" in result.stderr


# ---------------------------------------------------------------------------------------------
# output: plain lines on a pipe, progress bars on a terminal
# ---------------------------------------------------------------------------------------------
def test_piped_output_is_plain_lines(tmp_path: Path) -> None:
    run = tmp_path / "run"
    p = _Process(["train", "xor", "--headless", "--epochs", "20", "--log-every", "5", "--out",
                  str(run)], cwd=tmp_path)
    rc, out, err = p.finish()
    assert rc == 0, err
    assert "\x1b" not in out + err and "\r" not in out + err
    assert not {"━", "█", "╸"} & set(out)
    lines = out.splitlines()
    assert lines[0].startswith("xor: 2-6-2 ReLU") and str(run) in lines[0]
    assert lines[-1].startswith("done: test accuracy")
    epoch_lines = [m for m in map(EPOCH_LINE.match, lines) if m]
    assert len(epoch_lines) == len(lines) - 2
    assert [int(m.group(1)) for m in epoch_lines] == [1, 5, 10, 15, 20]
    # the numbers are the run's: the same as metrics.csv
    rows = (run / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    for m in epoch_lines:
        row = dict(zip(header, rows[int(m.group(1))].split(","), strict=True))
        assert m.group(3) == f"{float(row['train_loss']):.4f}"
        assert m.group(4) == f"{100 * float(row['train_accuracy']):.2f}"
        assert m.group(5) == f"{100 * float(row['test_accuracy']):.2f}"
    assert sorted(q.name for q in run.iterdir()) == \
        ["best.npz", "checkpoint.npz", "config.toml", "metrics.csv"]


def test_default_log_every_gives_about_twenty_lines(tmp_path: Path) -> None:
    result = cli("train", "xor", "--headless", "--epochs", 200, "--out", tmp_path / "r")
    assert_ok(result)
    epochs = [int(m.group(1)) for m in map(EPOCH_LINE.match, result.stdout.splitlines()) if m]
    assert epochs == [1, *range(10, 201, 10)]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_terminal_output_shows_progress_bars(tmp_path: Path) -> None:
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_tui", "train", "iris", "--headless", "--epochs", "30",
         "--out", str(tmp_path / "run")],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=tmp_path,
        env=_env(TERM="xterm-256color", COLUMNS="140", LINES="40"),
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=10) == 0
    out = b"".join(chunks).decode("utf-8", "replace")
    assert "━" in out, "no progress bar was drawn"
    assert "\x1b[2K" in out or "\r" in out.replace("\r\n", "")  # redrawn in place
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert re.search(r"epoch 1/30 ━+ +\d+/12 batches", plain)
    assert re.search(r"epoch 30/30  train loss \d\.\d{4}  train acc", plain)
    assert "done: test accuracy" in plain


# ---------------------------------------------------------------------------------------------
# config.toml repeats the run
# ---------------------------------------------------------------------------------------------
def test_config_toml_trains_the_same_run_again(xor_run: Path, tmp_path: Path) -> None:
    config = xor_run / "config.toml"
    assert load_scenario(config).config() == load_scenario("xor").with_train(epochs=20).config()
    assert f"backprop-tui train {config} --headless" in config.read_text()
    again = tmp_path / "again"
    assert_ok(cli("train", config, "--headless", "--out", again))
    _same_arrays(load_checkpoint(again).params, load_checkpoint(xor_run).params)
    assert (again / "metrics.csv").read_text().count("\n") == 21


# ---------------------------------------------------------------------------------------------
# accuracy targets, --min-accuracy
# ---------------------------------------------------------------------------------------------
def test_min_accuracy(tmp_path: Path) -> None:
    result = cli("train", "xor", "--headless", "--epochs", 1, "--min-accuracy", 0.99,
                 "--out", tmp_path / "a")
    assert result.exit_code == 1, result.output
    assert "below target" in result.stderr and "0.99" in result.stderr
    result = cli("train", "xor", "--headless", "--min-accuracy", 1.0, "--out", tmp_path / "b")
    assert_ok(result)
    assert "test accuracy 100.00%" in result.stdout


def test_iris_reaches_its_target_through_the_cli(tmp_path: Path) -> None:
    result = cli("train", "iris", "--headless", "--min-accuracy", 29 / 30, "--out",
                 tmp_path / "r")
    assert_ok(result)


# ---------------------------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Trainer]:
    """A short iris run: good, not perfect, so the confusion matrix has off-diagonal counts."""
    out = tmp_path_factory.mktemp("iris") / "run"
    trainer = Trainer(load_scenario("iris").with_train(epochs=2, lr=0.01), out_dir=out)
    trainer.run()
    return out, trainer


def _expected_confusion(trainer: Trainer) -> np.ndarray:
    pred = trainer.net.predict(trainer.x_test)
    cm = np.zeros((3, 3), dtype=int)
    for true, guess in zip(trainer.t_test, pred, strict=True):
        cm[int(true), int(guess)] += 1
    return cm


def test_eval_json(iris_run: tuple[Path, Trainer]) -> None:
    run, trainer = iris_run
    result = cli("eval", "iris", "--checkpoint", run, "--json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert set(doc) == {"scenario", "checkpoint", "test_samples", "test_loss", "test_accuracy",
                        "per_class_accuracy", "confusion_matrix"}
    cm = _expected_confusion(trainer)
    assert cm.trace() < 30, "pick a run with mistakes, or this test proves less"
    assert doc["scenario"] == "iris" and doc["test_samples"] == 30
    assert Path(doc["checkpoint"]) == run / "checkpoint.npz"
    assert doc["confusion_matrix"] == cm.tolist()
    assert doc["test_accuracy"] == cm.trace() / 30 == trainer.history[-1].test_accuracy
    assert doc["test_loss"] == pytest.approx(trainer.history[-1].test_loss, rel=1e-12)
    per_class = {name: cm[i, i] / cm[i].sum()
                 for i, name in enumerate(["Iris-setosa", "Iris-versicolor", "Iris-virginica"])}
    assert doc["per_class_accuracy"] == pytest.approx(per_class)


def test_eval_table(iris_run: tuple[Path, Trainer]) -> None:
    run, trainer = iris_run
    result = cli("eval", "iris", "--checkpoint", run / "checkpoint.npz")
    assert_ok(result)
    out = result.stdout
    cm = _expected_confusion(trainer)
    assert f"test accuracy {100 * cm.trace() / 30:.2f}% ({cm.trace()}/30)" in out
    assert "confusion matrix" in out
    for i, name in enumerate(["setosa", "versicolor", "virginica"]):
        row = next(line for line in out.splitlines() if line.strip().startswith(name))
        numbers = re.findall(r"\d+(?:\.\d+)?%?", row)
        assert [int(n) for n in numbers[:3]] == cm[i].tolist(), row
        assert numbers[3] == f"{100 * cm[i, i] / cm[i].sum():.2f}%"


def test_eval_of_a_gate(xor_run: Path) -> None:
    result = cli("eval", "xor", "--checkpoint", xor_run, "--json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["test_samples"] == 4 and sum(map(sum, doc["confusion_matrix"])) == 4
    assert set(doc["per_class_accuracy"]) == {"0", "1"}


def test_eval_without_checkpoint_uses_the_latest_run_of_the_scenario_and_says_which(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_refused(cli("eval", "xor"), "--checkpoint", "runs", "xor")  # no run yet
    for scenario, epochs in (("xor", 1), ("xor", 2), ("xor-sigmoid", 1)):
        assert_ok(cli("train", scenario, "--headless", "--epochs", epochs))
    runs = sorted(p for p in (tmp_path / "runs").iterdir())
    xor_runs = [p for p in runs if p.name.startswith("xor-2")]
    assert len(xor_runs) == 2, runs  # the default folders: runs/xor-YYYYmmdd-HHMMSS[-n]
    latest = max(xor_runs, key=lambda p: load_checkpoint(p / "checkpoint.npz").meta["epochs_done"])
    result = cli("eval", "xor", "--json")
    assert_ok(result)
    doc = json.loads(result.stdout)  # stdout stays pure JSON; the note goes to stderr
    assert Path(doc["checkpoint"]).resolve() == (latest / "checkpoint.npz").resolve()
    assert "latest run" in result.stderr and latest.name in result.stderr
    result = cli("eval", "xor")
    assert_ok(result)
    assert latest.name in result.stdout + result.stderr
