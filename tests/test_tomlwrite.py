"""The TOML writer behind a run's ``config.toml``: whatever it writes, ``tomllib`` reads back
to the same document, and a written scenario loads to the same scenario."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_tui.scenario import builtin_names, load_scenario
from backprop_tui.tomlwrite import dumps


def _round_trip(doc: dict) -> dict:
    text = dumps(doc)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # pragma: no cover - the failure message
        raise AssertionError(f"dumps wrote invalid TOML ({e}):\n{text}") from None


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_scenario_round_trips(name: str, tmp_path: Path) -> None:
    sc = load_scenario(name)
    config = sc.config()
    assert _round_trip(config) == config
    path = tmp_path / "config.toml"
    path.write_text(dumps(config), encoding="utf-8")
    again = load_scenario(path)
    assert again.config() == config
    assert again.architecture_hash() == sc.architecture_hash()
    assert again.name == sc.name


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


def test_unsupported_values_are_refused() -> None:
    for bad in (None, object(), {1, 2}):
        with pytest.raises(TypeError):
            dumps({"k": bad})


_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _values, max_size=5))
def test_any_document_round_trips(doc: dict) -> None:
    assert _round_trip(doc) == doc
