"""Memory before building (issue 13, item 8): a scenario whose network cannot fit is refused
with the estimate and the machine's available memory — one ``error:`` line, exit 2 — and the
estimate is close to what training really allocates (tracemalloc), without refusing any
built-in scenario."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from test_cli import assert_user_error, run

from backprop_tui import memory
from backprop_tui.data import clear_cache
from backprop_tui.errors import ScenarioError
from backprop_tui.resources import scenarios_dir
from backprop_tui.scenario import builtin_names, load_scenario
from backprop_tui.training import Trainer

GiB = 2**30

HUGE_AFFINE = """\
[data]
source = "xor"
[network]
loss = "softmax_cross_entropy"
layers = [{ type = "affine", out = 1000000000 }, { type = "affine", out = 2 }]
"""
HUGE_PAD = """\
[data]
source = "mnist"
layout = "image"
[network]
loss = "softmax_cross_entropy"
layers = [{ type = "conv", filters = 4, size = 3, pad = 100000 }, { type = "flatten" },
          { type = "affine", out = 10 }]
"""
#: biases alone would not fit: 10^11 float64 (745 GiB) was a MemoryError in the dry build
HUGE_BIAS = HUGE_AFFINE.replace("1000000000", "100000000000")


@pytest.fixture
def two_gib(monkeypatch) -> None:
    """A machine with 2 GiB available, whatever this one has."""
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 * GiB)


@pytest.mark.parametrize(("text", "parts"), [
    (HUGE_AFFINE, ["network.layers", "needs about 134 GiB", "2.0 GiB of memory available"]),
    (HUGE_PAD, ["im2col", "PiB", "2.0 GiB of memory available"]),
    (HUGE_BIAS, ["needs about", "TiB", "2.0 GiB of memory available"]),
], ids=["out", "pad", "bias"])
@pytest.mark.parametrize("command", [["gradcheck"], ["train", "--headless"], ["debug"]])
def test_a_network_that_cannot_fit_is_refused_before_it_is_built(
        tmp_path: Path, two_gib: None, text: str, parts: list[str], command: list[str]) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(text)
    out = tmp_path / "run"
    extra = ["--out", str(out)] if command[0] == "train" else []
    assert_user_error(run(*command, str(path), *extra), str(path), *parts)
    assert not out.exists()


def test_deeply_nested_toml_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[data]\nsource = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert_user_error(run("gradcheck", str(path)), str(path), "nested too deeply")


def test_a_batch_size_from_the_command_line_is_estimated_too(tmp_path: Path,
                                                             two_gib: None) -> None:
    out = tmp_path / "run"
    assert_user_error(run("train", "mnist-cnn", "--headless", "--batch-size", "60000",
                          "--out", str(out)), "--batch-size", "needs about", "GiB for training",
                      "2.0 GiB of memory available", "(got 60000)", "Give a smaller --batch-size")
    assert not out.exists()


def test_no_built_in_scenario_is_refused_on_a_2_gib_machine(two_gib: None) -> None:
    for name in builtin_names():
        sc = load_scenario(name)  # refused here if it did not fit
        assert memory.estimate(sc).total < 1 * GiB, name


def test_the_estimate_is_refused_only_above_what_is_available(monkeypatch) -> None:
    sc = load_scenario("mnist-mlp")
    need = memory.estimate(sc).total
    monkeypatch.setattr(memory, "available_bytes", lambda: need)
    memory.check_fits(sc)
    monkeypatch.setattr(memory, "available_bytes", lambda: need - 1)
    with pytest.raises(ScenarioError, match="needs about"):
        memory.check_fits(sc)


def test_available_memory_is_read_from_this_machine() -> None:
    have = memory.available_bytes()
    assert have is not None and 2**20 < have < 2**50


@pytest.mark.parametrize("name", ["mnist-cnn", "mnist-mlp"])
def test_the_estimate_is_within_a_factor_of_two_of_trainings_peak(tmp_path: Path,
                                                                  name: str) -> None:
    """One epoch on 1,000 training and 1,000 test images; tracemalloc traces numpy's arrays.
    Measured: mnist-cnn 412 MiB estimated vs 339 MiB peak (3000/1000 images), mnist-mlp
    121 vs 91 MiB."""
    text = (scenarios_dir() / f"{name}.toml").read_text()
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace("[data]\n", "[data]\ntrain_size = 1000\ntest_size = 1000\n", 1))
    sc = load_scenario(path).with_train(epochs=1)
    clear_cache()  # the decoded MNIST bytes count, as in a fresh process
    tracemalloc.start()
    try:
        Trainer(sc, out_dir=tmp_path / "run").run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ratio = memory.estimate(sc).total / peak
    assert 0.5 <= ratio <= 2.0, f"estimate / peak = {ratio:.2f}"


@pytest.mark.parametrize("command", ["gradcheck", "debug"])
def test_a_batch_size_flag_of_the_debugger_and_the_check_is_estimated(two_gib: None,
                                                                      command: str) -> None:
    result = run(command, "mnist-cnn", "--batch-size", "60000")
    assert_user_error(result, "--batch-size", "GiB for stepping (debugger, gradient check)",
                      "2.0 GiB of memory available", "(got 60000)")
    assert "_builtin" not in result.output and ".toml" not in result.output  # the option's fault


@pytest.mark.parametrize("command", ["gradcheck", "debug", "train"])
def test_a_path_the_system_cannot_look_up_is_one_error_line(tmp_path: Path,
                                                           command: str) -> None:
    long = str(tmp_path / ("a" * 300)) + (".py" if command == "debug" else ".toml")
    assert_user_error(run(command, long, *(["--headless"] if command == "train" else [])),
                      "cannot use this path", "name too long")


def test_listing_scenarios_builds_nothing_and_refuses_nothing(monkeypatch) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**20)  # 1 MiB: nothing would fit
    result = run("scenarios", "--json")
    assert result.exit_code == 0, result.output
    with pytest.raises(ScenarioError, match="1.0 MiB of memory available"):
        load_scenario("xor")  # but loading one to use it is refused
