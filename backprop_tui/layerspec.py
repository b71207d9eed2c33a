"""A scenario's ``[[network.layers]]``: checked against the layer registry, then built.

Nothing here knows a particular layer type: each registered class says which options it takes
and how it is built from them (:mod:`backprop_tui.engine.registry`). This module reads those
options from the TOML tables (types, ranges, unknown keys — every error names the file and the
``network.layers[i].key``), works out each layer's output shape and parameter count by building
it *dry* (placeholder weights), and builds the real layers from seeded random streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .engine.layers import Layer, ShapeError
from .engine.registry import LAYER_TYPES, REQUIRED, Build, Option
from .errors import ScenarioError
from .safetext import NAME_MAX, printable
from .tomlcheck import REQUIRED as TOML_REQUIRED
from .tomlcheck import TableReader, closest

#: a std above this overflows a network's scores; the book's "large" std is 1
INIT_MAX = 1e3
INIT_EXPECTED = f'"he", "xavier" or a positive number ≤ {INIT_MAX:g} (the std)'


@dataclass(frozen=True)
class LayerSpec:
    type: str
    name: str
    options: dict[str, Any]

    @property
    def cls(self) -> type[Layer]:
        return LAYER_TYPES[self.type]

    def build(self, in_shape: tuple[int, ...], build: Build) -> Layer:
        return self.cls.from_options(self.name, self.options, in_shape, build)


def read_init(r: TableReader, default: str | float) -> str | float:
    """An ``init`` value: ``"he"``, ``"xavier"`` or a positive number (the std)."""
    v = r.get("init", "any", default, expected=INIT_EXPECTED)
    if isinstance(v, str):
        if v not in ("he", "xavier"):
            raise ScenarioError("unknown value", file=r.file, key=r.key("init"), value=v,
                                expected=INIT_EXPECTED, hint=closest(v, ("he", "xavier")))
        return v
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= INIT_MAX:
        raise r.error("init", "wrong value", v, INIT_EXPECTED)
    return float(v)


def _read_array(r: TableReader, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """An explicit weight array from the file (the perceptron's hand-wired weights)."""
    v = r.get(name, "any", None)
    if v is None:
        return None
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise r.error(name, "not a numeric array", v, f"numbers with shape {shape}") from None
    if arr.shape != shape:
        raise r.error(name, f"shape {arr.shape} does not fit", v, f"shape {shape}")
    if not np.isfinite(arr).all():
        raise r.error(name, "holds NaN or inf", v, f"finite numbers with shape {shape}")
    return arr


def _read_option(r: TableReader, opt: Option, opts: dict[str, Any],
                 in_shape: tuple[int, ...], default_init: str | float) -> Any:
    if opt.kind == "init":
        return read_init(r, default_init)
    if opt.kind == "array":
        return _read_array(r, opt.name, opt.shape(opts, in_shape))
    default = opt.default
    if default is REQUIRED:
        default = TOML_REQUIRED
    elif callable(default):
        default = default(opts)
    return r.get(opt.name, opt.kind, default, check=opt.check, expected=opt.expected)


def parse_layers(raw: list, file: Path, input_shape: tuple[int, ...], default_init: str | float
                 ) -> tuple[tuple[LayerSpec, ...], tuple[tuple[int, ...], ...], int]:
    """Validate the layer tables; returns the specs, each layer's per-sample output shape and
    the number of parameters (no weights are drawn)."""
    specs: list[LayerSpec] = []
    shapes: list[tuple[int, ...]] = []
    counts: dict[str, int] = {}
    shape = input_shape
    names: set[str] = set()
    n_params = 0
    for i, table in enumerate(raw):
        prefix = f"network.layers[{i}]"
        r = TableReader(table, file, prefix)
        kind = r.get("type", "str", choices=tuple(LAYER_TYPES))
        counts[kind] = counts.get(kind, 0) + 1
        name = r.get("name", "str", f"{kind}{counts[kind]}")
        if printable(name) != name or not 0 < len(name) <= NAME_MAX:
            raise r.error("name", "not a printable layer name", name,
                          f"1 to {NAME_MAX} characters, no control characters")
        if name in names or name in ("loss", "network"):
            raise r.error("name", "layer names must be unique and not 'loss'/'network'", name,
                          "a new name")
        names.add(name)
        opts: dict[str, Any] = {}
        for opt in LAYER_TYPES[kind].options:
            value = _read_option(r, opt, opts, shape, default_init)
            if opt.kind != "array" or value is not None:
                opts[opt.name] = value
        r.done()
        spec = LayerSpec(kind, name, opts)
        try:
            dry = spec.build(shape, Build())
            shape = dry.output_shape(shape)
        except ShapeError as e:
            raise ScenarioError(
                str(e), file=file, key=prefix,
                hint="Check the sizes of this layer and the one before it.",
            ) from None
        except MemoryError:  # even its biases or statistics cannot be allocated
            raise ScenarioError(
                f"this {kind} layer is too large for any machine's memory", file=file,
                key=prefix, value={k: v for k, v in opts.items() if not isinstance(v, np.ndarray)},
                hint="Make its sizes (out, filters, pad) smaller") from None
        n_params += dry.param_count()
        specs.append(spec)
        shapes.append(shape)
    return tuple(specs), tuple(shapes), n_params


def build_layers(specs: tuple[LayerSpec, ...], input_shape: tuple[int, ...],
                 shapes: tuple[tuple[int, ...], ...], build: Build) -> list[Layer]:
    """The layers, in order, drawing initial weights from ``build``'s streams."""
    layers = []
    shape = input_shape
    for spec, out_shape in zip(specs, shapes, strict=True):
        layers.append(spec.build(shape, build))
        shape = out_shape
    return layers


def architecture(specs: tuple[LayerSpec, ...], input_shape: tuple[int, ...]) -> str:
    """Compact, e.g. ``2-6-2 ReLU`` or ``conv30@5×5-pool2-100-10 ReLU``."""
    parts = [] if len(input_shape) > 1 else [str(input_shape[0])]
    acts: list[str] = []
    for spec in specs:
        part = spec.cls.arch_part(spec.options)
        if part is not None:
            parts.append(part)
        act = spec.cls.arch_activation
        if act is not None and act not in acts:
            acts.append(act)
    return "-".join(parts) + (" " + "/".join(acts) if acts else "")
