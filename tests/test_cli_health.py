"""``backprop-tui health`` and ``train --headless --health`` as a user meets them."""

from __future__ import annotations

import csv
import json
import math

from tests.test_cli_train import assert_ok, assert_refused, cli


def test_health_table_shows_xors_dead_unit() -> None:
    result = cli("health", "xor")
    assert_ok(result)
    out = result.stdout
    assert "health after iteration 1" in out
    assert "initial loss 0.908 (data loss, without L2) vs ln 2 = 0.693" in out
    assert "dead units: 4" in out
    assert "relu1: 1 of 6 units dead (unit 4" in out
    assert "cs231n: ~0.001" in out  # the rule, said


def test_health_flags_iris_initial_loss() -> None:
    result = cli("health", "iris")
    assert_ok(result)
    assert "initial loss 2.082 (data loss, without L2) vs ln 3 = 1.099: too high" in result.stdout


def test_health_json_keys() -> None:
    result = cli("health", "iris", "--iterations", "3", "--json")
    assert_ok(result)
    doc = json.loads(result.stdout)
    assert doc["iteration"] == 3
    assert doc["initial_loss"] == doc["initial_loss"] and abs(doc["initial_loss"] - 2.082) < 5e-4
    assert doc["expected_initial_loss"] == math.log(3)
    layers = {row["layer"]: row for row in doc["layers"]}
    assert list(layers) == ["affine1", "relu1", "affine2", "relu2", "affine3"]
    for row in doc["layers"]:
        assert {"dead_units", "grad_norm", "weight_norm", "update_ratio", "saturated",
                "histogram"} <= set(row)
        assert sum(row["histogram"]["counts"]) == 10 * row["units"]  # a batch of 10
    assert isinstance(layers["relu2"]["dead_units"], list)
    assert layers["affine1"]["update_ratio"] > 0 and layers["relu1"]["update_ratio"] is None


def test_health_bad_options() -> None:
    assert_refused(cli("health", "xor", "--iterations", "0"), "--iterations")
    assert_refused(cli("health", "nosuch"), "nosuch")
    assert_refused(cli("health", "perceptron"), "not trainable")
    assert_refused(cli("train", "xor", "--health"), "--health", "headless")


def test_train_headless_health_csv(tmp_path) -> None:
    out = tmp_path / "run"
    result = cli("train", "iris", "--headless", "--health", "--epochs", "3", "--out", out)
    assert_ok(result)
    assert "dead units:" in result.stdout or "dead 0/20" in result.stdout
    assert f"health per epoch: {out / 'health.csv'}" in result.stdout.replace("\n", "")
    rows = list(csv.DictReader((out / "health.csv").open(encoding="utf-8")))
    assert len(rows) == 4 * 5  # one row per layer: the first iteration, then every epoch's last
    assert [r["epoch"] for r in rows[::5]] == ["1", "1", "2", "3"]
    assert [int(r["iteration"]) for r in rows[::5]] == [1, 12, 24, 36]  # 120 flowers, batch 10
    relu2 = [r for r in rows if r["layer"] == "relu2"]
    assert all(r["dead_units"] == "" or r["dead_units"].split()[0].isdigit() for r in relu2)
    assert all(float(r["update_ratio"]) > 0 for r in rows if r["kind"] == "Affine")


def test_train_without_health_writes_no_csv(tmp_path) -> None:
    out = tmp_path / "run"
    assert_ok(cli("train", "xor", "--headless", "--epochs", "2", "--out", out))
    assert not (out / "health.csv").exists()


def test_health_refuses_iterations_past_the_scenarios_training() -> None:
    """Issue 12: --iterations past the scenario's epochs reported iteration 1, exit 0."""
    for n in ("2001", str(10**20)):
        err = assert_refused(cli("health", "xor", "--iterations", n), "--iterations", n,
                             "at most 2000")
        assert "2000 epochs × 1 batch" in err
    assert_ok(cli("health", "xor", "--iterations", "2000"))


def test_an_experiment_name_is_said_to_be_an_experiment_by_every_network_command() -> None:
    """Issue 12: `health init-histograms` said "unknown scenario … Did you mean
    'init-histograms'?"."""
    for command in (("health",), ("gradcheck",), ("debug",), ("exercise",),
                    ("explain", "init-histograms", "affine1.W")):
        args = command if len(command) > 1 else (*command, "init-histograms")
        err = assert_refused(cli(*args), "'init-histograms' is an experiment",
                             "backprop-tui train init-histograms")
        assert "unknown scenario" not in err and "Did you mean" not in err
