"""The layer registry: a new layer type is its class with ``@register`` — nothing else.

The toy type below is registered through the registry alone (this file is its "own module"), and
a scenario file then uses it like a built-in: its options are checked with the file's key names,
the architecture string, the debugger's formulas and cache hints come from the class, and the
network it builds steps, trains and passes the gradient check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backprop_tui.engine.gradcheck import gradcheck
from backprop_tui.engine.layers import Layer, Shape, dims
from backprop_tui.engine.registry import LAYER_TYPES, Build, Option, register, unregister
from backprop_tui.errors import ScenarioError
from backprop_tui.scenario import load_scenario
from backprop_tui.tui.session import DebugSession


class Scale(Layer):
    """``y = a·x²`` elementwise, with a learnable ``a`` per unit: small, smooth, and its own."""

    kind = "Scale"
    forward_equations = ("y = a·x²",)
    backward_equations = ("dx = 2·a·x·dout", "da = Σₙ x²·dout")
    arch_activation = "scale"
    cache_hints = {"x2": "x squared, for da"}
    options = (Option("a0", "float", 1.0, check=lambda v: v != 0, expected="a non-zero number"),)

    @classmethod
    def from_options(cls, name: str, opts: dict[str, Any], in_shape: Shape, build: Build
                     ) -> Scale:
        layer = cls(name)
        layer.params["a"] = np.full(in_shape, opts["a0"])
        return layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache["x"] = x
        self.cache["x2"] = x * x
        return self.params["a"] * self.cache["x2"]

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        self.grads["a"] = (self.cache["x2"] * dout).sum(axis=0)
        return 2 * self.params["a"] * self.cache["x"] * dout if need_dx else None

    def equation_shapes(self, xs: Shape, ys: Shape) -> tuple[list[str], list[str]]:
        return [f"{dims(xs)} elementwise"], [f"{dims(ys)} elementwise", f"→ {dims(xs[1:])}"]


TOML = """
name = "toy"
[data]
source = "iris"
normalize = "standard"
[network]
loss = "softmax_cross_entropy"
layers = [
  {{ type = "affine", out = 5 }},
  {{ type = "scale"{extra} }},
  {{ type = "affine", out = 3 }},
]
[train]
batch_size = 16
epochs = 1
"""


@pytest.fixture
def scale_type():
    register("scale")(Scale)
    yield Scale
    unregister("scale")


def _scenario(tmp_path: Path, extra: str = ""):
    path = tmp_path / "toy.toml"
    path.write_text(TOML.format(extra=extra), encoding="utf-8")
    return load_scenario(path)


def test_a_registered_type_builds_from_toml(scale_type, tmp_path: Path) -> None:
    sc = _scenario(tmp_path, ", a0 = 0.5")
    assert sc.architecture == "4-5-3 scale"
    assert sc.shapes == ((5,), (5,), (3,))
    assert sc.param_count == 4 * 5 + 5 + 5 + 5 * 3 + 3  # counted from a dry build
    net = sc.build_network()
    layer = net.layers[1]
    assert isinstance(layer, Scale) and layer.name == "scale1"
    assert np.array_equal(layer.params["a"], np.full(5, 0.5))
    assert sc.config()["network"]["layers"][1] == {"type": "scale", "name": "scale1", "a0": 0.5}


def test_its_options_are_checked_with_the_files_key_names(scale_type, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as e:
        _scenario(tmp_path, ", a0 = 0")
    assert "network.layers[1].a0" in str(e.value) and "a non-zero number" in str(e.value)
    with pytest.raises(ScenarioError) as e:
        _scenario(tmp_path, ", a = 2")  # not one of its options
    assert "network.layers[1].a" in str(e.value) and "unknown key" in str(e.value)


def test_the_debugger_and_the_check_need_nothing_more(scale_type, tmp_path: Path) -> None:
    sc = _scenario(tmp_path)
    s = DebugSession.from_scenario(sc, batch_size=8)
    for _ in range(2 * len(s.net.layers) + 2):  # a whole iteration, update included
        s.step()
    formulas = [(f.equation, f.shapes) for f in s.formulas(1)]
    assert formulas == [("y = a·x²", "8×5 elementwise"),
                        ("dx = 2·a·x·dout", "8×5 elementwise"), ("da = Σₙ x²·dout", "→ 5")]
    titles = {t.key: t.title for t in s.tensors(1)}
    assert titles["x2"].startswith("x2 — x squared, for da")
    x, t = sc.load_batch(8)
    report = gradcheck(sc.build_network(), x, t)
    assert report.passed
    assert {c.layer for c in report.checks} >= {"scale1"}


def test_the_registry_refuses_a_second_class_under_one_name(scale_type) -> None:
    class Other(Scale):
        pass

    with pytest.raises(ValueError, match="registered already"):
        register("scale")(Other)
    assert LAYER_TYPES["scale"] is Scale


def test_every_built_in_type_is_registered() -> None:
    assert list(LAYER_TYPES)[:10] == ["affine", "relu", "sigmoid", "tanh", "step", "dropout",
                                      "batchnorm", "flatten", "conv", "maxpool"]
    for name, cls in LAYER_TYPES.items():
        assert cls.type_name == name
