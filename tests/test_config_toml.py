"""A run's ``config.toml`` (``Trainer.write_config``, written with tomli-w): ``tomllib`` reads it
back to the same document, and it loads to the same scenario — for every built-in scenario and
for the awkward values a config can hold (NaN/Inf, non-ASCII keys, control and DEL characters,
arrays of arrays such as hand-wired weights, arrays of tables such as layers)."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import tomli_w

from backprop_tui.scenario import Scenario, builtin_names, load_scenario
from backprop_tui.training import Trainer


def _write_config(sc: Scenario, out_dir: Path) -> Path:
    # write_config needs only these two attributes: a whole Trainer would load the data (MNIST)
    # and refuses scenarios that are not trainable (the hand-wired perceptron)
    return Trainer.write_config(SimpleNamespace(scenario=sc, out_dir=out_dir))  # type: ignore[arg-type]


def _round_trip(doc: dict) -> dict:
    text = tomli_w.dumps(doc)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # pragma: no cover - the failure message
        raise AssertionError(f"wrote invalid TOML ({e}):\n{text}") from None


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_scenario_round_trips(name: str, tmp_path: Path) -> None:
    sc = load_scenario(name)
    config = sc.config()
    path = _write_config(sc, tmp_path / "run")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Resolved scenario of this run")
    assert tomllib.loads(text) == config
    again = load_scenario(path)
    assert again.config() == config
    assert again.architecture_hash() == sc.architecture_hash()
    assert again.name == sc.name


def test_unusual_text_in_a_scenario_round_trips(tmp_path: Path) -> None:
    text = 'quote " backslash \\ tab\t newline\n control \x00\x1f DEL \x7f C1 \x85 \u2028 μ σ² ✓ 🙂'
    sc = dataclasses.replace(load_scenario("xor"), description=text)
    again = load_scenario(_write_config(sc, tmp_path / "run"))
    assert again.description == text
    assert again.config() == sc.config()


@pytest.mark.parametrize(
    "value",
    [
        True, False, 0, -7, 2**63 - 1, -(2**63),
        0.1, 1e-05, 1e16, 1e300, 5e-324, -0.0, 1 / 3, 2.5e-7,
        "", "plain", 'quote " and \\ backslash', "tab\tnewline\nreturn\r",
        "control \x00\x01\x1f and DEL \x7f", "unicode: μ σ² → ✓ 🙂", "C1 \x85 \u2028",
        [], [1, 2, 3], [[1.5, -2.0], [0.5, 4.0]], ["a", 1, 2.5, True], [[[]]],
        {"a": 1, "b": "x"}, {}, [{"a": 1}, 2],
    ],
)
def test_values_round_trip(value: object) -> None:
    doc = {"k": value}
    assert _round_trip(doc) == doc


@pytest.mark.parametrize(
    "key", ["bare_key-1", "with space", "dot.ted", "", "é", "x²", "日本", 'q"uote', "1234"]
)
def test_keys_round_trip(key: str) -> None:
    doc = {key: 1, "table": {key: {key: "v"}}, "array": [{key: 2}, {key: 3}]}
    assert _round_trip(doc) == doc


def test_nan_and_infinities() -> None:
    back = _round_trip({"a": math.nan, "b": math.inf, "c": -math.inf})
    assert math.isnan(back["a"]) and back["b"] == math.inf and back["c"] == -math.inf


def test_tables_arrays_of_tables_and_key_order() -> None:
    """Scalars after a sub-table in the dict must still land in their own table (TOML puts
    every key after ``[x]`` into ``x``)."""
    doc = {
        "sub": {"deep": {"x": 1}, "after_deep": 2},
        "late_scalar": "top level",
        "layers": [{"type": "affine", "opts": {"out": 3}, "W": [[1.0]]}, {"type": "relu"}],
        "empty_tables": [{}, {}],
    }
    assert _round_trip(doc) == doc
