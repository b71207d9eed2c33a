"""The command line: ``backprop-tui scenarios`` and ``backprop-tui gradcheck``.

Exit codes are the contract (DESIGN.md, Conventions): 0 ok · 1 a check failed · 2 bad usage or
bad input, and a bad input is one line on stderr starting with ``error:``, never a traceback.
Most cases run in-process with Typer's ``CliRunner``; a few run the installed console script and
``python -m backprop_tui`` in a subprocess, from another directory, as a user would.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_tui.cli import app
from backprop_tui.data import DATA_DIR_ENV, MNIST_FILES
from backprop_tui.data.cifar10 import CIFAR10_DIR_ENV
from backprop_tui.engine.layers import ReLU
from backprop_tui.experiments import EXPERIMENTS
from backprop_tui.graphfile import graph_names, list_graph_scenarios
from backprop_tui.resources import assets_dir
from backprop_tui.scenario import list_scenarios, load_scenario

BUILTINS = (
    "and", "cifar10-cnn", "cifar10-twolayer", "iris", "iris-dropout", "mnist-cnn", "mnist-cnn-book",
    "mnist-mlp", "mnist-mlp-book",
    "mnist-twolayer", "mnist-twolayer-book", "nand", "not", "or", "perceptron", "xor",
    "xor-sigmoid",
)
# perceptron has nothing to check; CIFAR-10 is not on this machine (test_cli_cifar10.py checks
# those scenarios on synthetic files)
CHECKABLE = tuple(n for n in BUILTINS if n != "perceptron" and not n.startswith("cifar10"))
CHECK_KEYS = {"layer", "tensor", "checked", "max_abs_error", "max_rel_error", "passed"}
REPORT_KEYS = {"scenario", "mode", "passed", "checks"}

VALID = """\
[data]
source = "xor"

[network]
loss = "softmax_cross_entropy"
layers = [
  { type = "affine", out = 6 },
  { type = "relu" },
  { type = "affine", out = 2 },
]
"""

# a fixed width, so that tables wrap the same way everywhere (and must fit 80 columns)
ENV = {"COLUMNS": "80", DATA_DIR_ENV: None, CIFAR10_DIR_ENV: None, "NO_COLOR": "1"}


def run(*args: str, env: dict[str, str | None] | None = None):
    result = CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a bug, not a user error: show its traceback in the test
    return result


def run_json(*args: str, env: dict[str, str | None] | None = None) -> dict:
    result = run(*args, "--json", env=env)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def assert_user_error(result, *parts: str) -> str:
    """Exit 2, nothing on stdout, one ``error:`` line on stderr containing every part."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for part in parts:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"
    return lines[0]


def assert_schema(doc: dict) -> None:
    assert REPORT_KEYS <= doc.keys()
    assert isinstance(doc["scenario"], str) and isinstance(doc["passed"], bool)
    assert doc["mode"] in ("auto", "full", "sampled", "directional")
    assert isinstance(doc["checks"], list)
    for c in doc["checks"]:
        assert CHECK_KEYS <= c.keys(), c.keys()
        assert isinstance(c["layer"], str) and isinstance(c["tensor"], str)
        assert isinstance(c["checked"], int) and c["checked"] >= 1
        assert isinstance(c["passed"], bool)
        for key in ("max_abs_error", "max_rel_error"):
            assert isinstance(c[key], float) and math.isfinite(c[key]) and c[key] >= 0
    assert doc["passed"] == all(c["passed"] for c in doc["checks"])


# ------------------------------------------------------------------------------------------
# scenarios
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("columns", [80, 140])
def test_scenarios_table_lists_every_builtin_without_losing_text(columns: int) -> None:
    result = run("scenarios", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= columns
    if columns < 110:  # a list: the description gets the whole width, not a 16-column strip
        # a title, a blank line, then at most 3 lines a scenario (a head line, which wraps
        # where it says "needs CIFAR-10 (see README)", and the description)
        assert "description" not in out
        # (the experiments: a second title and blank line, and as many lines each)
        assert len(out.splitlines()) <= 4 + 3 * (len(BUILTINS) + len(graph_names())
                                                 + len(EXPERIMENTS))
        assert "mnist-cnn · MNIST (60k/10k) · conv30@5×5-pool2-100-10 ReLU · 433,890 params" in out
    else:
        assert "description" in out.splitlines()[2]  # the table's header
    words = " ".join(out.split())
    for sc in [*list_graph_scenarios(), *list_scenarios()]:
        assert sc.name in out and sc.architecture in out and f"{sc.param_count:,}" in out
        # the description wraps but loses no character at 80 columns
        for word in sc.description.split():
            assert word in words, (sc.name, word)
    assert "433,890" in out  # the SimpleConvNet


def test_scenarios_json() -> None:
    result = run("scenarios", "--json")
    assert result.exit_code == 0
    items = json.loads(result.stdout)
    # the computational graphs first (the learning path starts there), then the networks,
    # then the experiments
    assert [item["name"] for item in items] == graph_names() + sorted(BUILTINS) + \
        list(EXPERIMENTS)
    assert [item["data"] for item in items[:len(graph_names())]] == ["graph"] * len(graph_names())
    assert {item["kind"] for item in items[:len(graph_names())]} == {"graph"}
    items = items[len(graph_names()):-len(EXPERIMENTS)]
    for item in items:
        needs = {"needs"} if item["name"].startswith("cifar10") else set()  # no CIFAR-10 here
        assert set(item) == {"name", "kind", "data", "architecture", "parameters", "description",
                             *needs}
        assert item["kind"] == "network"
        sc = load_scenario(item["name"])
        assert item["parameters"] == sc.build_network().param_count()
        assert item["architecture"] == sc.architecture and item["description"]
    by_name = {item["name"]: item for item in items}
    assert by_name["xor"]["architecture"] == "2-6-2 ReLU"
    assert by_name["iris"]["data"] == "iris (150)"
    assert by_name["mnist-mlp"]["parameters"] == 784 * 200 + 200 + 200 * 80 + 80 + 80 * 10 + 10


def test_help_mentions_the_exit_codes() -> None:
    result = run("gradcheck", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Exit code 0 if every tensor passes, 1 if any fails, 2 for bad input" in text
    for flag in ("--mode", "--scope", "--tol", "--layer", "--data-dir", "--json"):
        assert flag in text


# ------------------------------------------------------------------------------------------
# gradcheck on the built-ins
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CHECKABLE)
def test_gradcheck_passes_on_every_builtin(name: str) -> None:
    doc = run_json("gradcheck", name)
    assert_schema(doc)
    assert doc["passed"] is True and doc["scenario"] == name and doc["mode"] == "auto"
    net = load_scenario(name).build_network()
    layers = {c["layer"] for c in doc["checks"]}
    # every layer of the network is audited (its input gradient at least), and the loss
    assert {layer.name for layer in net.layers} | {"loss"} <= layers
    for layer in net.layers:
        tensors = {c["tensor"] for c in doc["checks"] if c["layer"] == layer.name}
        assert set(layer.params) | {"x"} == tensors, layer.name
    # auto mode: tensors up to 1000 entries in full, larger ones 24 entries + 1 direction
    for c in doc["checks"]:
        if c["layer"] != "network":  # the end-to-end row is always one direction
            size = _entries(c["shape"])
            assert c["checked"] == (size if size <= 1000 else 24 + 1), c


@pytest.mark.parametrize("name", ["xor", "iris"])
def test_gradcheck_table(name: str) -> None:
    result = run("gradcheck", name)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "PASSED" in out and "verdict" in out and "FAIL" not in out
    for layer in load_scenario(name).build_network().layers:
        assert layer.name in out
    assert "seed 0" in out and "float64" in out


def test_gradcheck_perceptron_says_why_there_is_nothing_to_check() -> None:
    result = run("gradcheck", "perceptron")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "nothing to check" in text and "step" in text and "0" in text
    doc = run_json("gradcheck", "perceptron")
    assert doc["passed"] is True and doc["checks"] == [] and "step" in doc["skipped"]


def _entries(shape: list[int]) -> int:
    return int(np.prod(shape))


@pytest.mark.parametrize("scope", ["local", "global"])
@pytest.mark.parametrize("mode", ["auto", "full", "sampled", "directional"])
def test_every_mode_and_scope(mode: str, scope: str) -> None:
    doc = run_json("gradcheck", "iris", "--mode", mode, "--scope", scope, "--k", "5")
    assert_schema(doc)
    assert doc["passed"] is True and doc["mode"] == mode and doc["scope"] == scope
    assert ("loss" in {c["layer"] for c in doc["checks"]}) == (scope == "local")
    for c in doc["checks"]:
        if c["layer"] == "network":  # the end-to-end row is always one direction
            continue
        size = _entries(c["shape"])
        expected = {
            "auto": size,  # every iris tensor is below --full-limit
            "full": size,
            "sampled": min(5, size),
            "directional": 1,
        }[mode]
        assert c["checked"] == expected, c


def test_global_scope_on_an_mlp() -> None:
    doc = run_json("gradcheck", "mnist-twolayer", "--scope", "global", "--mode", "directional")
    assert doc["passed"] is True and all(c["checked"] == 1 for c in doc["checks"])


def test_gradcheck_options_reach_the_report() -> None:
    doc = run_json("gradcheck", "iris", "--batch-size", "3", "--seed", "2", "--tol", "1e-5",
                   "--atol", "1e-8", "--h", "1e-6")
    assert (doc["batch_size"], doc["seed"], doc["tol"], doc["atol"], doc["h"]) == (
        3, 2, 1e-5, 1e-8, 1e-6)
    x_rows = {c["shape"][0] for c in doc["checks"] if c["tensor"] == "x"}
    assert x_rows == {3}
    assert doc["passed"] is True


def test_gradcheck_is_deterministic() -> None:
    a, b = run_json("gradcheck", "iris"), run_json("gradcheck", "iris")
    assert a["checks"] == b["checks"] and a["loss"] == b["loss"]
    c = run_json("gradcheck", "iris", "--seed", "1")
    assert c["loss"] != a["loss"]


@pytest.mark.parametrize(
    ("layers", "expected"),
    [(["relu1"], {"relu1"}), (["loss"], {"loss"}),
     (["affine1", "affine2"], {"affine1", "affine2"})],
)
def test_layer_option_checks_only_those_layers(layers: list[str], expected: set[str]) -> None:
    args = [arg for name in layers for arg in ("--layer", name)]
    doc = run_json("gradcheck", "xor", *args)
    assert {c["layer"] for c in doc["checks"]} == expected and doc["passed"] is True


def test_gradcheck_of_a_scenario_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "mine.toml").write_text(VALID)
    monkeypatch.chdir(tmp_path)
    for ref in ("mine.toml", str(tmp_path / "mine.toml"), "./mine.toml"):
        doc = run_json("gradcheck", ref)
        assert doc["passed"] is True and doc["scenario"] == "mine"


# ------------------------------------------------------------------------------------------
# exit code 1: a planted bug
# ------------------------------------------------------------------------------------------
def _relu_backward_ignoring_the_mask(self, dout, need_dx=True):
    return dout if need_dx else None


def test_a_wrong_backward_fails_with_exit_1_and_names_its_layer(monkeypatch) -> None:
    monkeypatch.setattr(ReLU, "backward", _relu_backward_ignoring_the_mask)
    result = run("gradcheck", "xor")
    assert result.exit_code == 1, result.output
    out = " ".join(result.stdout.split())
    assert "FAILED" in out and "in relu1" in out and "Traceback" not in result.output

    doc = run_json("gradcheck", "xor")
    assert_schema(doc)
    assert doc["passed"] is False
    failed = {c["layer"] for c in doc["checks"] if not c["passed"]}
    # local scope: the bug fails on exactly its own layer (plus the whole-chain row)
    assert failed - {"network"} == {"relu1"}
    assert all(c["passed"] for c in doc["checks"] if c["layer"] in ("affine1", "affine2", "loss"))
    relu_x = next(c for c in doc["checks"] if c["layer"] == "relu1")
    assert relu_x["max_rel_error"] > 1e-2  # "wrong" on the cs231n scale


def test_a_wrong_backward_fails_on_the_cnn_too(monkeypatch) -> None:
    monkeypatch.setattr(ReLU, "backward", _relu_backward_ignoring_the_mask)
    doc = run_json("gradcheck", "mnist-cnn", "--layer", "relu1", "--layer", "relu2",
                   "--layer", "affine2")
    assert doc["passed"] is False
    assert {c["layer"] for c in doc["checks"] if not c["passed"]} == {"relu1", "relu2"}


def test_bug_in_global_scope_also_fails_the_layers_below(monkeypatch) -> None:
    monkeypatch.setattr(ReLU, "backward", _relu_backward_ignoring_the_mask)
    result = run("gradcheck", "xor", "--scope", "global", "--json")
    assert result.exit_code == 1
    failed = {c["layer"] for c in json.loads(result.stdout)["checks"] if not c["passed"]}
    assert "relu1" in failed and "affine2" not in failed


# ------------------------------------------------------------------------------------------
# exit code 2: bad flags, bad scenarios, bad data
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "value", "parts"),
    [
        ("--tol", "-1", ["--tol", "must be a positive number", "-1.0"]),
        ("--tol", "0", ["--tol", "(got 0.0)"]),
        ("--atol", "0", ["--atol", "must be a positive number"]),
        ("--h", "-1e-5", ["--h", "must be a positive number"]),
        ("--k", "0", ["--k", "must be a positive integer", "(got 0)"]),
        ("--full-limit", "-3", ["--full-limit", "must be a positive integer"]),
        ("--batch-size", "0", ["--batch-size", "must be a positive integer", "(got 0)"]),
        ("--seed", "-1", ["--seed", "(got -1)"]),
        ("--layer", "nope", ["--layer", "no such layer", "'nope'",
                             "one of affine1, relu1, affine2, loss"]),
    ],
)
def test_bad_flag_values(flag: str, value: str, parts: list[str]) -> None:
    assert_user_error(run("gradcheck", "xor", flag, value), *parts)


@pytest.mark.parametrize(
    "args",
    [["--mode", "bogus"], ["--scope", "nope"], ["--tol", "abc"], ["--frobnicate"],
     ["--batch-size", "2.5"]],
)
def test_flags_that_typer_refuses(args: list[str]) -> None:
    result = run("gradcheck", "xor", *args)
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.output
    assert args[0] in result.stderr  # typer names the option (not always the value)


def test_missing_scenario_argument() -> None:
    result = run("gradcheck")
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("ref", "parts"),
    [("xorr", ["unknown scenario 'xorr'", "Did you mean 'xor'?"]),
     ("mnist_cnn", ["Did you mean 'mnist-cnn'?"]),
     # gradcheck takes the graphs too: they are listed and suggested
     ("aple", ["Did you mean 'apple'?", "graph (apple, apple-orange, fanout, neuron, mlp)"]),
     ("nope.toml", ["nope.toml", "no such scenario file"])],
)
def test_bad_scenario_reference(ref: str, parts: list[str]) -> None:
    assert_user_error(run("gradcheck", ref), *parts)


def test_bad_scenario_files(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(VALID.replace("out = 6", "outt = 6"))
    assert_user_error(run("gradcheck", str(bad)), str(bad), "network.layers[0].out",
                      "did you mean 'out'?")
    bad.write_text(VALID + "[train\n")
    assert_user_error(run("gradcheck", str(bad)), str(bad), "not valid TOML")
    bad.write_bytes(b"name = \"caf\xe9\"\n")
    assert_user_error(run("gradcheck", str(bad)), str(bad), "utf-8")
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    assert_user_error(run("gradcheck", str(folder)), str(folder), "is a folder")


def test_data_dir_pointing_to_an_empty_folder(tmp_path) -> None:
    line = assert_user_error(run("gradcheck", "mnist-cnn", "--data-dir", str(tmp_path)),
                             str(tmp_path), "4 of the 4 MNIST files missing", "--data-dir")
    for name in MNIST_FILES:
        assert name in line


def test_data_dir_that_does_not_exist(tmp_path) -> None:
    missing = tmp_path / "nowhere"
    assert_user_error(run("gradcheck", "mnist-mlp", "--data-dir", str(missing)), str(missing),
                      "does not exist")


def test_data_dir_environment_variable(tmp_path) -> None:
    env = {DATA_DIR_ENV: str(tmp_path)}
    assert_user_error(run("gradcheck", "mnist-twolayer", env=env), f"${DATA_DIR_ENV}",
                      "MNIST files missing", str(tmp_path))
    # --data-dir wins over the variable; the real files work from either
    real = str(assets_dir() / "mnist")
    assert run("gradcheck", "mnist-twolayer", "--data-dir", real, env=env).exit_code == 0
    assert run("gradcheck", "mnist-twolayer", env={DATA_DIR_ENV: real}).exit_code == 0
    # the gates and iris do not read MNIST: the variable does not matter to them
    assert run("gradcheck", "xor", env=env).exit_code == 0


def test_data_dir_with_a_corrupt_file(tmp_path) -> None:
    for name in MNIST_FILES:
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 3)
    assert_user_error(run("gradcheck", "mnist-mlp", "--data-dir", str(tmp_path)),
                      "truncated IDX header")


# ------------------------------------------------------------------------------------------
# the real thing: console script and python -m, in a subprocess, from another directory
# ------------------------------------------------------------------------------------------
SCRIPT = Path(sys.executable).parent / "backprop-tui"


def sub(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        module: bool = False) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != DATA_DIR_ENV}
    cmd = [sys.executable, "-m", "backprop_tui"] if module else [str(SCRIPT)]
    return subprocess.run([*cmd, *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def assert_one_error_line(proc: subprocess.CompletedProcess, *parts: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Value error," not in lines[0]  # pydantic-style prefix Typer leaves in; we strip it
    for part in parts:
        assert part in lines[0]


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this env")
def test_console_script_end_to_end(tmp_path) -> None:
    proc = sub(["scenarios", "--json"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert [s["name"] for s in json.loads(proc.stdout)] == graph_names() + sorted(BUILTINS) + \
        list(EXPERIMENTS)

    proc = sub(["gradcheck", "perceptron"], tmp_path)
    assert proc.returncode == 0 and "nothing to check" in proc.stdout

    proc = sub(["gradcheck", "xorr"], tmp_path)
    assert_one_error_line(proc, "Did you mean 'xor'?")

    (tmp_path / "bad.toml").write_text(VALID.replace('"relu"', '"rleu"'))
    proc = sub(["gradcheck", "bad.toml"], tmp_path)
    assert_one_error_line(proc, "bad.toml", "network.layers[1].type", "Did you mean 'relu'?")

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = sub(["gradcheck", "mnist-cnn", "--data-dir", str(empty)], tmp_path)
    assert_one_error_line(proc, *MNIST_FILES)
    proc = sub(["gradcheck", "mnist-mlp"], tmp_path, env={DATA_DIR_ENV: str(empty)})
    assert_one_error_line(proc, f"${DATA_DIR_ENV}")

    proc = sub(["gradcheck", "xor", "--tol", "-1"], tmp_path)
    assert_one_error_line(proc, "--tol")


def test_python_dash_m(tmp_path) -> None:
    proc = sub(["gradcheck", "xor", "--json"], tmp_path, module=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert_schema(doc)
    assert doc["passed"] is True and doc["scenario"] == "xor"
    # the MNIST CNN audit, as a table on an 80-column pipe: nothing cropped
    proc = sub(["gradcheck", "mnist-cnn"], tmp_path, env={"COLUMNS": "80"}, module=True)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "PASSED" in proc.stdout and "verdict" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    for layer in ("conv1", "relu1", "maxpool1", "flatten1", "affine1", "relu2", "affine2"):
        assert layer in proc.stdout
    proc = sub(["gradcheck", "xor", "--batch-size", "0"], tmp_path, module=True)
    assert_one_error_line(proc, "--batch-size")


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this env")
@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (["gradcheck", "xor", "--mode", "bogus"], ["--mode", "bogus", "gradcheck --help"]),
        (["gradcheck", "xor", "--tol", "abc"], ["--tol", "valid number", "(got 'abc')"]),
        (["train", "xor", "--headless", "--epochs=x"], ["--epochs", "integer", "(got 'x')"]),
        (["train", "xor", "--dtype", "float16"], ["--dtype", "'float16' is not one of"]),
        (["gradcheck"], ["Missing argument"]),
        (["nosuchcommand"], ["No such command", "backprop-tui --help"]),
        (["gradcheck", "perceptron", "--layer", "nope"], ["--layer", "nope", "step1"]),
        (["train", "xor", "--headless", "--seed", "-1"], ["--seed"]),
    ],
)
def test_usage_errors_are_one_line_not_a_panel(tmp_path, args, parts) -> None:
    """Click's own usage errors (bad choice, bad number, missing argument, unknown command) get
    the same one-line `error:` form and exit code 2 as the project's errors."""
    assert_one_error_line(sub(args, tmp_path), *parts)


def test_no_arguments_is_not_an_error(tmp_path) -> None:
    proc = sub(["--help"], tmp_path)
    assert proc.returncode == 0 and "gradcheck" in proc.stdout


def test_a_checkpoint_of_another_scenario_with_the_same_shapes_is_refused(tmp_path) -> None:
    """`and` and `or` have identical networks; a checkpoint of one is still not the other's."""
    from backprop_tui.training import Trainer

    trainer = Trainer(load_scenario("and").with_train(epochs=2), out_dir=tmp_path / "run")
    trainer.run()
    assert load_scenario("and").architecture_hash() == load_scenario("or").architecture_hash()
    result = run("eval", "or", "--checkpoint", str(tmp_path / "run"))
    assert_user_error(result, "checkpoint.npz", "made for scenario 'and', not 'or'")
    assert run("eval", "and", "--checkpoint", str(tmp_path / "run")).exit_code == 0


def test_long_messages_wrap_at_words_in_a_terminal_and_stay_one_line_in_a_log() -> None:
    """At 80 columns the terminal broke 'train accuracy' into 'train accurac|y': in a terminal
    the CLI wraps at words itself; in a pipe (CI logs, grep) a message stays one line."""
    import io

    from backprop_tui.cliout import CliConsole

    message = "done: test accuracy 97.06% after epoch 2 (best 97.06% at epoch 2), train " \
        "accuracy 96.97%; mean 0.50 s/epoch. Saved in runs/mnist-mlp-20261123-101500"
    tty = io.StringIO()
    CliConsole(file=tty, force_terminal=True, width=40, color_system=None).print(
        message, soft_wrap=True)
    lines = tty.getvalue().splitlines()
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert " ".join(line.strip() for line in lines) == message  # broken only at spaces
    log = io.StringIO()
    CliConsole(file=log, force_terminal=False, width=40).print(message, soft_wrap=True)
    assert log.getvalue() == message + "\n"


def test_debug_without_a_terminal_is_one_clear_error(tmp_path) -> None:
    """stderr is a pipe here (captured): the TUI has nowhere to draw. Bad input is still
    reported first."""
    proc = sub(["debug", "xor"], tmp_path, module=True)
    assert_one_error_line(proc, "the debugger needs a terminal", "train --headless")
    proc = sub(["debug", "xorr"], tmp_path, module=True)
    assert_one_error_line(proc, "unknown scenario 'xorr'")
