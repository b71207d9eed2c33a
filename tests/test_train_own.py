"""``backprop-tui train my_net.py``: a network of your own, trained from the .py file that builds
it, with the run folder, checkpoints, resume and eval of a scenario (issue "Own code", item 5).

The files are the README's own-layer example as it is, variations of it, and book-style
networks (tests/own_code/book_style.py, copied next to the file) whose Dropout draws its masks
from numpy's global generator.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import re
import textwrap
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_tui.checkpoint import load_checkpoint
from backprop_tui.cli import app
from backprop_tui.ownrun import NO_TEST_NOTE, NetworkFileRun
from backprop_tui.training import Trainer

ROOT = Path(__file__).resolve().parent.parent
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def readme_example() -> str:  # as tests/test_netfile.py reads it
    readme = (ROOT / "README.md").read_text()
    return readme.split("<!-- test: own layer -->", 1)[1].split("```python", 1)[1] \
        .split("```", 1)[0]


def cli(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def ok(*args: object) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(*args: object) -> str:
    """Exit 2, one ``error:`` line on stderr, no traceback; returns the line."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    err = result.stderr.strip()
    assert err.startswith("error:") and "\n" not in err, err
    return err


def same_checkpoints(a: Path, b: Path) -> None:
    """Every parameter and optimizer slot bit-identical (np.array_equal, same dtype)."""
    ca, cb = load_checkpoint(a), load_checkpoint(b)
    assert ca.meta["iteration"] == cb.meta["iteration"]
    for mine, theirs in ((ca.params, cb.params), (ca.optimizer, cb.optimizer)):
        assert mine.keys() == theirs.keys()
        for k in mine:
            assert mine[k].dtype == theirs[k].dtype and np.array_equal(mine[k], theirs[k]), k


def change(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "example.py"
    path.write_text(readme_example())
    return path


BOOK = '''
import numpy as np
import backprop_tui as bt
from book_style import MultiLayerNetExtend

np.random.seed(0)
x = np.random.randn(60, 5)
t = np.random.randint(0, 3, 60)
net = MultiLayerNetExtend(5, [12, 12], 3, use_dropout=True, dropout_ration=0.3)
bt.debug(net, x, t, batch_size=16, optimizer=bt.Adam(lr=1e-2))
'''


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "book_style.py").write_text(
        (ROOT / "tests" / "own_code" / "book_style.py").read_text())
    path = tmp_path / "book_net.py"
    path.write_text(BOOK)
    return path


# ---------------------------------------------------------------------------------------------
def test_the_readme_example_trains_headless_and_the_loss_goes_down(example, tmp_path) -> None:
    run = tmp_path / "run"
    out = ok("train", example, "--headless", "--epochs", 6, "--out", run)
    lines = out.splitlines()
    assert lines[0].startswith("example.py: 4 → MyAffine → ReLU → Affine 8→2, 58 parameters · "
                               "sgd lr=0.1, batch 16, 6 epochs, float64, seed 0")
    assert out.count(NO_TEST_NOTE) == 1
    assert lines[-1].startswith("done: test accuracy")
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    losses = [float(r["train_loss"]) for r in rows]
    assert len(losses) == 6 and losses[-1] < losses[0] - 0.05
    assert sorted(p.name for p in run.iterdir()) == \
        ["best.npz", "checkpoint.npz", "metrics.csv", "run.toml"]
    record = tomllib.loads((run / "run.toml").read_text())
    assert record["network_file"]["sha256"] == hashlib.sha256(example.read_bytes()).hexdigest()
    assert record["network_file"]["path"] == str(example.resolve())
    assert record["train"]["batch_size"] == 16 and record["train"]["epochs"] == 6  # bt.debug's
    assert record["train"]["dtype"] == "float64" and record["data"]["test_set"] == \
        "the training data"
    assert "--resume" in (run / "run.toml").read_text()
    meta = load_checkpoint(run).meta
    assert meta["config"]["network_file"]["name"] == "example.py"
    assert meta["architecture_hash"] == NetworkFileRun.load(example).architecture_hash()
    assert load_checkpoint(run).params["mine.W"].dtype == np.float64


def test_two_epochs_then_resume_to_four_equals_four_straight(example, tmp_path) -> None:
    ok("train", example, "--headless", "--epochs", 2, "--out", tmp_path / "a")
    out = ok("train", example, "--headless", "--resume", tmp_path / "a", "--epochs", 4)
    assert "resuming after epoch 2, iteration 26" in out and "note: example.py" not in out
    ok("train", example, "--headless", "--epochs", 4, "--out", tmp_path / "b")
    same_checkpoints(tmp_path / "a", tmp_path / "b")
    assert len((tmp_path / "a" / "metrics.csv").read_text().splitlines()) == 5
    assert tomllib.loads((tmp_path / "a" / "run.toml").read_text())["train"]["epochs"] == 4


def test_a_book_network_with_dropout_from_np_random_resumes_bit_identically(book,
                                                                            tmp_path) -> None:
    """Stopped mid-epoch (as Ctrl-C stops), numpy's global generator moved on by other code,
    then resumed: the same masks are drawn, the same parameters come out."""
    trainer = Trainer(NetworkFileRun.load(book).with_train(epochs=3), out_dir=tmp_path / "a")
    trainer.run(max_iterations=6)  # 4 batches an epoch: stopped in the middle of epoch 2
    trainer.save_interrupt()
    assert load_checkpoint(tmp_path / "a").extra["numpy_global_rng"].shape == (624,)
    np.random.seed(12345)  # noqa: NPY002 - anything else may draw from it in between
    ok("train", book, "--headless", "--resume", tmp_path / "a")
    ok("train", book, "--headless", "--epochs", 3, "--out", tmp_path / "b")
    same_checkpoints(tmp_path / "a", tmp_path / "b")
    # the masks really come from np.random: another seed trains other numbers
    ok("train", book, "--headless", "--epochs", 3, "--seed", 1, "--out", tmp_path / "c")
    assert not np.array_equal(load_checkpoint(tmp_path / "c").params["Affine1.W"],
                              load_checkpoint(tmp_path / "b").params["Affine1.W"])


def test_the_flags_override_the_files_bt_debug_options(book, tmp_path) -> None:
    out = ok("train", book, "--headless", "--epochs", 1, "--out", tmp_path / "file")
    assert "adam lr=0.01 β=(0.9, 0.999), batch 16, 1 epoch, float64, seed 0" in out
    out = ok("train", book, "--headless", "--epochs", 1, "--optimizer", "momentum", "--lr",
             0.05, "--batch-size", 8, "--seed", 2, "--dtype", "float32",
             "--out", tmp_path / "flags")
    assert "momentum lr=0.05 μ=0.9, batch 8, 1 epoch, float32, seed 2" in out
    train = tomllib.loads((tmp_path / "flags" / "run.toml").read_text())["train"]
    assert (train["optimizer"], train["lr"], train["batch_size"], train["seed"],
            train["dtype"]) == ("momentum", 0.05, 8, 2, "float32")
    ck = load_checkpoint(tmp_path / "flags")
    assert ck.params["Affine1.W"].dtype == np.float32 and ck.meta["iteration"] == 8
    # resuming keeps the run's settings: a different one is refused
    err = refused("train", book, "--headless", "--resume", tmp_path / "flags", "--batch-size", 4)
    assert "--batch-size" in err


def test_x_test_and_t_test_are_the_test_set_and_eval_reports_on_them(example,
                                                                      tmp_path) -> None:
    code = readme_example() + textwrap.dedent('''
        x_test = rng.normal(size=(50, 4))
        t_test = (x_test[:, 0] * x_test[:, 1] > 0).astype(int)
    ''')
    with_test = tmp_path / "with_test.py"
    with_test.write_text(code)
    out = ok("train", with_test, "--headless", "--epochs", 3, "--out", tmp_path / "run")
    assert "200 training / 50 test samples" in out and NO_TEST_NOTE not in out
    out = ok("eval", with_test, "--checkpoint", tmp_path / "run")
    assert "with_test.py" in out and "epoch 3" in out and "50 test samples" in out
    assert "confusion matrix" in out and NO_TEST_NOTE not in out
    doc = json.loads(ok("eval", with_test, "--checkpoint", tmp_path / "run", "--json"))
    assert doc["test_samples"] == 50 and set(doc["per_class_accuracy"]) == {"0", "1"}
    assert doc["test_set"] == "x_test/t_test"
    assert sum(map(sum, doc["confusion_matrix"])) == 50
    last = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))[-1]
    assert doc["test_accuracy"] == float(last["test_accuracy"])
    # without a test set: the training data, said once
    ok("train", example, "--headless", "--epochs", 1, "--out", tmp_path / "plain")
    out = ok("eval", example, "--checkpoint", tmp_path / "plain")
    assert out.count(NO_TEST_NOTE) == 1 and "200 test samples" in out
    bad = tmp_path / "half.py"
    bad.write_text(readme_example() + "\nx_test = x[:10]\n")
    assert "t_test: defines x_test but no t_test" in refused("train", bad, "--headless")


def test_checkpoints_of_another_network_file_or_a_scenario_are_refused(example,
                                                                        tmp_path) -> None:
    ok("train", example, "--headless", "--epochs", 1, "--out", tmp_path / "run")
    # the network changed (hidden size 8 → 16): named, exit 2, one line
    wider = change(change(change(readme_example(), "size=(4, 8)", "size=(4, 16)"),
                          "np.zeros(8)", "np.zeros(16)"), "size=(8, 2)", "size=(16, 2)")
    example.write_text(wider)
    err = refused("train", example, "--headless", "--resume", tmp_path / "run", "--epochs", 2)
    assert "the network example.py builds now differs from the one this checkpoint was " \
           "trained with: 'mine (MyAffine): W 4×8, b 8' is now 'mine (MyAffine): W 4×16, b 16'" \
        in err
    assert "differs" in refused("eval", example, "--checkpoint", tmp_path / "run")
    # the file changed but not its network: resumed, with a note
    example.write_text(readme_example() + "\n# a comment\n")
    out = ok("train", example, "--headless", "--resume", tmp_path / "run", "--epochs", 2)
    assert "note: example.py has changed since the checkpoint was saved" in out
    # another file, a scenario's checkpoint, a scenario given a file's checkpoint
    other = tmp_path / "other.py"
    other.write_text(readme_example())
    err = refused("eval", other, "--checkpoint", tmp_path / "run")
    assert "made for the network file 'example.py', not 'other.py'" in err
    ok("train", "xor", "--headless", "--epochs", 1, "--out", tmp_path / "xor")
    err = refused("train", example, "--headless", "--resume", tmp_path / "xor")
    assert "made for scenario 'xor', not for the network file 'example.py'" in err
    err = refused("eval", "xor", "--checkpoint", tmp_path / "run")
    assert "made for the network file 'example.py', not for scenario 'xor'" in err
    assert "--data-dir" in refused("train", example, "--headless", "--data-dir", tmp_path)


PICKY = '''
import numpy as np
import backprop_tui as bt

class Picky(bt.Layer):
    kind = "Picky"

    def forward(self, x):
        if len(x) == 8:  # the last, smaller batch of an epoch
            raise ValueError("cannot take a batch of 8")
        return x

    def backward(self, dout, need_dx=True):
        return dout

rng = np.random.default_rng(0)
x = rng.normal(size=(200, 4))
t = (x[:, 0] > 0).astype(int)
net = bt.Network([bt.Affine(rng.normal(size=(4, 6)), np.zeros(6)), Picky(name="picky"),
                  bt.ReLU(), bt.Affine(rng.normal(size=(6, 2)), np.zeros(2), name="out")],
                 bt.SoftmaxCrossEntropy())
bt.debug(net, x, t, batch_size=16)
'''


def test_a_layer_raising_mid_training_is_one_message_with_its_line(tmp_path) -> None:
    path = tmp_path / "picky_net.py"
    path.write_text(PICKY)
    line = PICKY.splitlines().index('            raise ValueError("cannot take a batch of 8")') + 1
    err = refused("train", path, "--headless", "--epochs", 2, "--out", tmp_path / "run")
    assert "training stopped at iteration 13 (epoch 1, batch 13): the forward step of layer " \
           "'picky' (Picky) raised ValueError at picky_net.py:" \
           f"{line} in forward: cannot take a batch of 8" in err
    assert f"is saved in {tmp_path / 'run' / 'checkpoint.npz'}" in err
    ck = load_checkpoint(tmp_path / "run")  # the state from before the failed batch
    assert ck.meta["iteration"] == 12 and ck.meta["batches"]["position"] == 12
    # fixed, the run continues from there, as if it had never failed
    fixed = PICKY.replace("len(x) == 8", "len(x) == -1")
    path.write_text(fixed)
    out = ok("train", path, "--headless", "--resume", tmp_path / "run", "--epochs", 2)
    assert "resuming after epoch 0, iteration 12" in out and "has changed" in out
    ok("train", path, "--headless", "--epochs", 2, "--out", tmp_path / "straight")
    same_checkpoints(tmp_path / "run", tmp_path / "straight")


def test_code_that_raises_only_once_is_named_from_the_traceback(tmp_path) -> None:
    """The replay does not raise again: the layer and line come from the traceback."""
    count = 'Picky.calls = getattr(Picky, "calls", 0) + 1\n        if Picky.calls == 3:'
    code = change(change(PICKY, "if len(x) == 8:  # the last, smaller batch of an epoch", count),
                  '"cannot take a batch of 8"', '"third call"')
    path = tmp_path / "once.py"
    path.write_text(code)
    line = code.splitlines().index('            raise ValueError("third call")') + 1
    err = refused("train", path, "--headless", "--epochs", 1, "--out", tmp_path / "run")
    assert "iteration 3 (epoch 1, batch 3): the forward step of layer 'picky' (Picky) raised " \
           f"ValueError at once.py:{line} in forward: third call" in err


NO_DB = '''
import numpy as np
import backprop_tui as bt

class NoDb(bt.Affine):
    kind = "NoDb"

    def backward(self, dout, need_dx=True):
        dx = super().backward(dout, need_dx)
        del self.grads["b"]
        return dx

rng = np.random.default_rng(0)
x = rng.normal(size=(40, 4))
t = (x[:, 0] > 0).astype(int)
net = bt.Network([NoDb(rng.normal(size=(4, 2)), np.zeros(2), name="nodb")],
                 bt.SoftmaxCrossEntropy())
'''


def test_a_layer_raising_in_the_evaluation_or_leaving_a_gradient_out_is_named(tmp_path) -> None:
    path = tmp_path / "picky_net.py"
    path.write_text(change(PICKY, "if len(x) == 8:", "if not self.training:"))
    err = refused("train", path, "--headless", "--epochs", 2, "--out", tmp_path / "run")
    assert "training stopped at evaluating the network after epoch 1: the forward step of " \
           "layer 'picky' (Picky) raised ValueError" in err
    ck = load_checkpoint(tmp_path / "run")  # the epoch's training is kept: resumable
    assert (ck.meta["iteration"], ck.meta["epochs_done"], ck.meta["in_epoch"]) == (13, 0, True)
    # a backward that leaves a gradient out is blamed before any update: b would never train
    path.write_text(NO_DB)
    err = refused("train", path, "--headless", "--out", tmp_path / "nodb")
    assert "iteration 1 (epoch 1, batch 1): the backward step of layer 'nodb' (NoDb) raised " \
           "ValueError" in err and "backward set no grads['b']" in err


def test_ctrl_c_saves_and_exits_130_as_for_a_scenario(book, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_tui", "train", book.name, "--headless", "--epochs",
         "1000000", "--out", "run"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**env, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # training (and the SIGINT handler) has started
            if re.match(r"^epoch +1/1000000 ", line):
                break
        else:
            raise AssertionError("training did not start")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    meta = load_checkpoint(tmp_path / "run").meta
    assert f"after iteration {meta['iteration']}: saved run/checkpoint.npz" in out
    assert "resume with: backprop-tui train book_net.py --headless --resume run" in out
    assert "numpy_global_rng" in meta


def test_a_model_file_is_refused_for_training(tmp_path) -> None:
    (tmp_path / "cs231n_style.py").write_text(
        (ROOT / "tests" / "own_code" / "cs231n_style.py").read_text())
    path = tmp_path / "model.py"
    path.write_text("import numpy as np\nfrom cs231n_style import TwoLayerNet\n"
                    "np.random.seed(0)\nmodel = TwoLayerNet()\nx = np.random.randn(20, 5)\n"
                    "t = np.random.randint(0, 3, 20)\n")
    err = refused("train", path, "--headless")
    assert "model.py: holds a cs231n-style model, which has no layers for the trainer" in err
    assert "bt.from_functions" in err
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------------------------
# the live dashboard: `d` opens the debugger on a copy of the user's network
# ---------------------------------------------------------------------------------------------
def test_the_dashboards_debugger_copy_steps_exactly_the_trainers_next_iteration(book) -> None:
    from backprop_tui.tui.screens.handoff import debug_session

    trainer = Trainer(NetworkFileRun.load(book), out_dir=None)
    trainer.run(max_iterations=5)
    s = debug_session(trainer)
    assert s.name == "book_net.py" and s.net is not trainer.net
    assert s.from_training == (5, 2)
    s.stepper.update()  # one whole iteration in the debugger, the book's Dropout included
    np.random.seed(7)  # noqa: NPY002 - the trainer keeps its own state of the generator
    trainer.run(max_iterations=1)
    mine, theirs = s.net.state_dict(), trainer.net.state_dict()
    assert all(np.array_equal(mine[k], theirs[k]) for k in theirs)


def test_train_without_headless_opens_the_dashboard_on_the_files_network(example, tmp_path,
                                                                          monkeypatch) -> None:
    from backprop_tui import cli as cli_module
    from backprop_tui import trainrun
    from backprop_tui.tui.app import BackpropApp
    from backprop_tui.tui.screens.dashboard import DashboardScreen
    from backprop_tui.tui.screens.handoff import TrainingDebugger

    opened = []
    terminal = SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(cli_module, "sys", SimpleNamespace(stdin=terminal, stderr=terminal))
    monkeypatch.setattr(trainrun, "train_dashboard",
                        lambda trainer, scenario, min_accuracy: opened.append(trainer))
    ok("train", example, "--out", tmp_path / "run")
    trainer = opened[0]
    assert isinstance(trainer.scenario, NetworkFileRun) and trainer.epochs == 10
    screen = DashboardScreen(trainer, pause_at=20)
    bt_app = BackpropApp("screen", screen=lambda: screen)

    async def main() -> None:
        async with bt_app.run_test(size=(120, 40)) as pilot:
            while screen.state != "paused":
                await pilot.pause(0.02)
            assert "example.py" in str(screen.query_one("#dash-run").render())
            await pilot.press("d")
            await pilot.pause()
            assert isinstance(bt_app.screen, TrainingDebugger)
            assert [layer.name for layer in bt_app.screen.session.net.layers] == \
                ["mine", "relu", "affine"]
            await pilot.press("q")
            await pilot.pause()
            assert bt_app.screen is screen

    asyncio.run(main())
    assert trainer.iteration == 20
