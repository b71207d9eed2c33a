"""The layer registry: each layer type of a scenario file, described next to its class.

A scenario's ``[[network.layers]]`` table names a layer by its ``type`` (``affine``, ``conv``…).
Everything the rest of the program needs to know about that type and that is not its math —
the options a scenario may give it and what each must be, how it is built from them, its part of
the compact architecture string — lives on the layer class itself, registered here with
:func:`register`::

    @register("affine")
    class Affine(Layer):
        options = (Option("out", "int", check=positive, expected="a positive integer"),
                   Option("init", "init"), ...)

        @classmethod
        def from_options(cls, name, opts, in_shape, build): ...

        @classmethod
        def arch_part(cls, opts): return str(opts["out"])

The scenario reader (:mod:`backprop_tui.layerspec`) checks the options generically, and the
debugger asks the layer object itself for its formula shapes (``Layer.equation_shapes``) and what
its cached tensors mean (``Layer.cache_hints``). Adding a layer type is the class, in its own
module, with ``@register``; if that module is new, one import line in ``engine/__init__.py``.

This module imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from .layers import Layer

#: the kinds of option value a scenario file may give
OptionKind = Literal["int", "float", "bool", "init", "array"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: an option without a default must be given in the file
REQUIRED: Any = _Required()


def positive(v: float) -> bool:
    return v > 0


@dataclass(frozen=True)
class Option:
    """One key a layer table may hold.

    ``kind``: ``int``/``float``/``bool`` (checked against ``check``, described by ``expected``
    in messages); ``init`` — ``"he"``, ``"xavier"`` or a positive std, defaulting to the
    network's ``init``; ``array`` — an explicit array of numbers (hand-wired weights), whose
    required shape is ``shape(options read so far, per-sample input shape)``; absent by default.
    ``default`` may be a function of the options read before it (``stride`` defaults to
    ``size``).
    """

    name: str
    kind: OptionKind
    default: Any = REQUIRED
    check: Callable[[Any], bool] | None = None
    expected: str | None = None
    shape: Callable[[dict[str, Any], tuple[int, ...]], tuple[int, ...]] | None = None


@dataclass(frozen=True)
class Build:
    """The random streams a layer is built with; both None for a *dry* build — placeholder
    weights, only to ask the layer about its shapes and parameter count."""

    init_rng: np.random.Generator | None = None
    dropout_rng: np.random.Generator | None = None

    @property
    def dry(self) -> bool:
        return self.init_rng is None

    def zeros(self, shape: tuple[int, ...] | int) -> np.ndarray:
        """Zeros (biases); when dry, a read-only view of one zero, which costs nothing."""
        if self.init_rng is None:
            return np.broadcast_to(np.float64(0.0), shape)
        return np.zeros(shape)

    def params(self, a: np.ndarray) -> np.ndarray:
        """``a`` as a float64 parameter of its own (a copy); when dry, as it is."""
        return np.asarray(a, dtype=np.float64) if self.dry else np.array(a, dtype=np.float64)

    def normal(self, shape: tuple[int, ...], std: float) -> np.ndarray:
        """Initial weights ``N(0, std²)`` from the init stream (zeros when dry: a read-only
        view of one zero, so that asking an absurdly large layer its shapes costs nothing)."""
        if self.init_rng is None:
            return self.zeros(shape)
        w = self.init_rng.standard_normal(shape)
        w *= std
        return w


def init_std(init: str | float, fan_in: int) -> float:
    """The standard deviation of initial weights: He ``√(2/n)``, Xavier ``√(1/n)`` (the book's
    form) or a number given as is."""
    if isinstance(init, float):
        return init
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    return math.sqrt(1.0 / fan_in)


#: type name in scenario files → layer class, in the order the classes were registered
LAYER_TYPES: dict[str, type[Layer]] = {}


def register(type_name: str) -> Callable[[type[Layer]], type[Layer]]:
    """Class decorator: make a layer class available as ``type = "type_name"`` in scenario
    files. The class provides ``options``, ``from_options`` and, optionally, ``arch_part`` /
    ``arch_activation`` (see :class:`~backprop_tui.engine.layers.Layer`)."""

    def deco(cls: type[Layer]) -> type[Layer]:
        if type_name in LAYER_TYPES and LAYER_TYPES[type_name] is not cls:
            raise ValueError(f"layer type {type_name!r} is registered already "
                             f"({LAYER_TYPES[type_name].__name__})")
        names = [o.name for o in cls.options]
        if len(set(names)) != len(names) or {"type", "name"} & set(names):
            raise ValueError(f"{cls.__name__}.options: names must be unique and not "
                             f"'type'/'name', got {names}")
        cls.type_name = type_name
        LAYER_TYPES[type_name] = cls
        return cls

    return deco


def unregister(type_name: str) -> None:
    """Remove a registered type (tests that register a toy layer clean up with this)."""
    cls = LAYER_TYPES.pop(type_name, None)
    if cls is not None:
        cls.type_name = None
