"""The CIFAR-10 scenarios from the command line (issue 14): ``backprop-tui train cifar10-twolayer
--headless --data-dir DIR`` trains on a folder in either version, every command says what is
missing when the data is not there, and bad files are one ``error:`` line, exit 2.

The data is synthetic (tests/cifar_files.py: a colour and a bright square per class), written
by the tests: there is no CIFAR-10 on the machine that builds the project.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cifar_files import binary_batch_bytes, synthetic, write_cifar10
from typer.testing import CliRunner

from backprop_tui.cli import app
from backprop_tui.data.cifar10 import CIFAR10_DIR_ENV, CIFAR10_URL
from backprop_tui.scenario import load_scenario

ENV = {"COLUMNS": "200", "NO_COLOR": "1", CIFAR10_DIR_ENV: None}
DONE = re.compile(r"done: test accuracy (\d+\.\d\d)%")
# the synthetic training set (5 × 60) is smaller than the scenarios' 5,000: more, smaller
# batches give the few hundred updates a sanity level needs
SANITY = {"cifar10-twolayer": ["--batch-size", "20", "--epochs", "15"],
          "cifar10-cnn": ["--batch-size", "25", "--epochs", "5"]}


def run(*args: object, env: dict[str, str | None] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env={**ENV, **(env or {})})


def assert_refused(result, *parts: str) -> str:
    """Exit 2, one ``error:`` line on stderr holding every part, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    err = result.stderr.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in result.output, err
    for part in parts:
        assert part in err, (part, err)
    return err


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """One synthetic folder per version (the python one as Python 2's cPickle wrote it)."""
    root = tmp_path_factory.mktemp("cifar")
    return {fmt: write_cifar10(root / fmt, fmt, per_batch=60, n_test=100)
            for fmt in ("python", "binary")}


# -- training -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["python", "binary"])
@pytest.mark.parametrize("name", ["cifar10-twolayer", "cifar10-cnn"])
def test_both_scenarios_train_to_a_sanity_level_on_either_version(folders, tmp_path, name, fmt):
    result = run("train", name, "--headless", "--data-dir", folders[fmt].parent,
                 "--out", tmp_path / "run", *SANITY[name], "--min-accuracy", "0.6")
    assert result.exit_code == 0, result.output
    assert "300 training / 100 test samples" in result.stdout
    accuracy = float(DONE.search(result.stdout).group(1))
    assert accuracy >= 60.0  # chance is 10%
    assert (tmp_path / "run" / "checkpoint.npz").is_file()
    evaluated = run("eval", name, "--checkpoint", tmp_path / "run", "--data-dir",
                    folders[fmt], "--json")
    assert evaluated.exit_code == 0, evaluated.output
    doc = json.loads(evaluated.stdout)
    assert doc["test_samples"] == 100 and doc["test_accuracy"] == pytest.approx(accuracy / 100)
    assert set(doc["per_class_accuracy"]) == {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"}


def test_the_issues_command_in_a_real_process_with_the_env_var(folders, tmp_path) -> None:
    # the exact command of the issue, as a student runs it; and the env var instead of the flag
    base = {k: v for k, v in os.environ.items() if k != CIFAR10_DIR_ENV}
    for extra, env in (([f"--data-dir={folders['python']}"], base),
                       ([], {**base, CIFAR10_DIR_ENV: str(folders["binary"])})):
        proc = subprocess.run(
            [sys.executable, "-m", "backprop_tui", "train", "cifar10-twolayer", "--headless",
             *extra, "--epochs", "1", "--out", str(tmp_path / f"run{len(extra)}")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "cifar10-twolayer: 3072-100-10 ReLU, 308,310 parameters" in proc.stdout
        assert DONE.search(proc.stdout)


def test_gradcheck_passes_on_both_scenarios(folders) -> None:
    # the conv net on 2 pictures: its 3-channel conv checked in a third of the time of 8
    for name, batch in (("cifar10-twolayer", 8), ("cifar10-cnn", 2)):
        result = run("gradcheck", name, "--data-dir", folders["binary"], "--json",
                     "--batch-size", batch)
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["passed"] is True and doc["batch_size"] == batch
        net = load_scenario(name).build_network()
        assert {layer.name for layer in net.layers} | {"loss"} <= {c["layer"]
                                                                   for c in doc["checks"]}


# -- no data: every command says what is missing --------------------------------------------------
@pytest.mark.parametrize("command", [
    ["train", "cifar10-twolayer", "--headless"],
    ["debug", "cifar10-cnn"],
    ["gradcheck", "cifar10-cnn"],
    ["eval", "cifar10-twolayer", "--checkpoint", "CKPT"],
])
def test_without_data_every_command_says_where_to_get_it(tmp_path, folders, command) -> None:
    if "CKPT" in command:  # a real checkpoint of the scenario: only the data is missing
        ckpt = tmp_path / "run"
        assert run("train", "cifar10-twolayer", "--headless", "--epochs", "1", "--out", ckpt,
                   "--data-dir", folders["python"]).exit_code == 0
        command = [str(ckpt) if c == "CKPT" else c for c in command]
    err = assert_refused(run(*command), "CIFAR-10 not found", "no --data-dir given",
                         f"${CIFAR10_DIR_ENV} is not set", CIFAR10_URL, "python version",
                         "binary version", "--data-dir FOLDER", f"{CIFAR10_DIR_ENV}=FOLDER")
    assert "get_datasets.sh" in err
    err = assert_refused(run(*command, "--data-dir", tmp_path / "empty"),
                         "CIFAR-10 data folder does not exist (folder from --data-dir)",
                         str(tmp_path / "empty"), CIFAR10_URL)


def test_the_scenario_list_says_what_is_needed_until_the_data_is_there(folders) -> None:
    listed = run("scenarios")
    assert listed.exit_code == 0
    lines = [line for line in listed.stdout.splitlines() if "needs CIFAR-10 (see README)" in line]
    assert len(lines) == 2  # one under each CIFAR-10 scenario's data, none elsewhere
    items = {item["name"]: item for item in json.loads(run("scenarios", "--json").stdout)}
    assert items["cifar10-cnn"]["needs"] == items["cifar10-twolayer"]["needs"] == \
        "needs CIFAR-10 (see README)"
    assert items["cifar10-twolayer"]["data"] == "CIFAR-10 (5,000/500)"
    assert "needs" not in items["mnist-cnn"]
    there = {CIFAR10_DIR_ENV: str(folders["python"].parent)}
    assert "needs CIFAR-10" not in run("scenarios", env=there).stdout
    assert all("needs" not in item
               for item in json.loads(run("scenarios", "--json", env=there).stdout))


# -- bad files through the commands ---------------------------------------------------------------
def test_bad_files_are_one_error_line(tmp_path) -> None:
    folder = write_cifar10(tmp_path / "bin", "binary", per_batch=20, n_test=20)
    batch = folder / "data_batch_1.bin"
    batch.write_bytes(batch.read_bytes()[:-7])
    assert_refused(run("train", "cifar10-cnn", "--headless", "--data-dir", folder),
                   str(batch), "not a whole number of records", "truncated")
    x, y = synthetic(20, 0)
    y[5] = 11
    batch.write_bytes(binary_batch_bytes(x, y))
    assert_refused(run("gradcheck", "cifar10-cnn", "--data-dir", folder), str(batch),
                   "record 5 is 11, outside 0–9")


def test_a_malicious_pickle_through_the_cli_runs_nothing(tmp_path) -> None:
    folder = write_cifar10(tmp_path / "py", "python", per_batch=20, n_test=20)
    marker = tmp_path / "pwned"
    # GLOBAL os.system, REDUCE ("touch …",): what pickle.loads would run
    (folder / "data_batch_1").write_bytes(
        b"\x80\x02cos\nsystem\nX" + len(f"touch {marker}").to_bytes(4, "little")
        + f"touch {marker}".encode() + b"\x85R.")
    assert_refused(run("train", "cifar10-twolayer", "--headless", "--data-dir", folder),
                   "refused to unpickle the global os.system", str(folder / "data_batch_1"))
    assert not marker.exists()


def test_all_data_drops_the_scenarios_subset(tmp_path) -> None:
    # 5 × 1,001 training and 600 test pictures: the scenario's 5,000/500, or all of them
    folder = write_cifar10(tmp_path / "d", "binary", per_batch=1001, n_test=600)
    header = re.compile(r"· ([\d,]+) training / ([\d,]+) test samples")
    for extra, sizes in (([], ("5,000", "500")), (["--all-data"], ("5,005", "600"))):
        result = run("train", "cifar10-twolayer", "--headless", "--epochs", "1",
                     "--data-dir", folder, "--out", tmp_path / f"run{len(extra)}", *extra)
        assert result.exit_code == 0, result.output
        assert header.search(result.stdout).groups() == sizes
        evaluated = run("eval", "cifar10-twolayer", "--checkpoint", tmp_path / "run0",
                        "--data-dir", folder, "--json", *extra)
        assert json.loads(evaluated.stdout)["test_samples"] == int(sizes[1])
    # a run resumes on the data it started on (its batch order counts the training rows)
    assert_refused(run("train", "cifar10-twolayer", "--headless", "--epochs", "2", "--data-dir",
                       folder, "--resume", tmp_path / "run1"),
                   "cannot change the data's train_size when resuming", "(got 5000)",
                   "expected all as in the checkpoint", "--all-data")
    resumed = run("train", "cifar10-twolayer", "--headless", "--epochs", "2", "--data-dir",
                  folder, "--resume", tmp_path / "run1", "--all-data")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming after epoch 1" in resumed.stdout
    own = tmp_path / "net.py"
    own.write_text("import numpy as np\nimport backprop_tui as bt\n", encoding="utf-8")
    assert_refused(run("train", own, "--headless", "--all-data"), "--all-data",
                   "a .py network brings its own")
