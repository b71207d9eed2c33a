"""Scenarios: one TOML file → a validated :class:`Scenario` → network, optimizer and data.

A scenario is looked up by built-in name (``xor``) or by path (``./my.toml``). Every problem a
user can cause — TOML syntax, an unknown or misspelt key, a wrong type, layer sizes that do not
chain, a conv/pool geometry that does not divide — raises a :class:`ScenarioError` naming the
file, the key and the value, and saying what was expected. The file format is documented in the
README ("Scenario files").
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .engine import layers as L
from .engine.conv import Conv2D, MaxPool2D
from .engine.layers import ShapeError
from .engine.losses import LOSSES
from .engine.network import Network
from .engine.optim import OPTIMIZERS, Optimizer
from .errors import ScenarioError
from .resources import scenarios_dir

GATES = ("and", "or", "nand", "not", "xor")
SOURCES = (*GATES, "iris", "mnist")
DTYPES = ("float32", "float64")
NORMALIZE = ("none", "standard", "scale")
LAYOUTS = ("flat", "image")

_REQUIRED = object()


# --------------------------------------------------------------------------------------------
# small validation toolkit: every error names the file and the dotted key
# --------------------------------------------------------------------------------------------
class _Reader:
    """Reads one TOML table, checking types and refusing keys it was not asked about."""

    def __init__(self, table: dict, file: Path, prefix: str) -> None:
        if not isinstance(table, dict):
            raise ScenarioError(
                "must be a table", file=file, key=prefix or None, value=table,
                expected="a TOML table ([section] or { key = value })",
            )
        self.table = table
        self.file = file
        self.prefix = prefix
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, problem: str, value: object, expected: str) -> ScenarioError:
        return ScenarioError(problem, file=self.file, key=self.key(name), value=value,
                             expected=expected)

    def get(
        self,
        name: str,
        kind: str,
        default: Any = _REQUIRED,
        *,
        choices: tuple[str, ...] | None = None,
        check: Callable[[Any], bool] | None = None,
        expected: str | None = None,
    ) -> Any:
        self.seen.add(name)
        if name not in self.table:
            if default is _REQUIRED:
                # a misspelt required key (`outt = 6`) is missing *and* unknown: say both
                typo = difflib.get_close_matches(
                    name, [k for k in self.table if k not in self.seen], n=1, cutoff=0.75)
                raise ScenarioError(
                    "missing required key", file=self.file, key=self.key(name),
                    expected=expected or _describe(kind, choices),
                    hint=f"Found {typo[0]!r}: did you mean {name!r}?" if typo else None,
                )
            return default
        value = self.table[name]
        want = expected or _describe(kind, choices)
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "table": isinstance(value, dict),
            "list": isinstance(value, list),
            "any": True,
        }[kind]
        if not ok:
            raise self.error(name, f"wrong type, {_toml_type(value)}", value, want)
        if kind == "float":
            value = float(value)
            if not math.isfinite(value):
                raise self.error(name, "must be a finite number", value, want)
        if choices is not None:
            if value not in choices:
                hint = _closest(value, choices)
                raise ScenarioError(
                    "unknown value", file=self.file, key=self.key(name), value=value,
                    expected=f"one of {', '.join(choices)}", hint=hint,
                )
        if check is not None and not check(value):
            raise self.error(name, "value out of range", value, want)
        return value

    def done(self) -> None:
        """Refuse keys nobody asked about (typos), suggesting the closest known key."""
        for name in self.table:
            if name not in self.seen:
                raise ScenarioError(
                    "unknown key", file=self.file, key=self.key(name),
                    expected=f"one of {', '.join(sorted(self.seen))}",
                    hint=_closest(name, sorted(self.seen)),
                )


def _describe(kind: str, choices: tuple[str, ...] | None) -> str:
    if choices:
        return f"one of {', '.join(choices)}"
    return {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
            "table": "a table", "list": "an array", "any": "a value"}[kind]


def _toml_type(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def _closest(word: object, options) -> str | None:
    if not isinstance(word, str):
        return None
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"Did you mean {match[0]!r}?" if match else None


def _positive(v: float) -> bool:
    return v > 0


# --------------------------------------------------------------------------------------------
# the validated scenario
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    type: str
    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class DataSpec:
    source: str
    normalize: str = "none"
    layout: str = "flat"
    test_fraction: float = 0.2
    split_seed: int = 0
    train_size: int | None = None
    test_size: int | None = None


@dataclass(frozen=True)
class TrainSpec:
    optimizer: str = "sgd"
    lr: float = 0.1
    #: the learning rate is multiplied by this after every epoch: lr × lr_decay^(epoch − 1)
    lr_decay: float = 1.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    batch_size: int = 100
    epochs: int = 10
    seed: int = 0
    dtype: str = "float32"
    enabled: bool = True


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: Path
    data: DataSpec
    layers: tuple[LayerSpec, ...]
    loss: str
    l2: float
    init: str | float
    train: TrainSpec
    debug_batch_size: int
    gradcheck_batch_size: int
    input_shape: tuple[int, ...]
    shapes: tuple[tuple[int, ...], ...] = field(default=())
    param_count: int = 0
    builtin: bool = False

    # -- derived ----------------------------------------------------------------------------
    @property
    def architecture(self) -> str:
        """Compact, e.g. ``2-6-2 ReLU`` or ``conv30@5×5-pool2-100-10 ReLU``."""
        parts = [] if len(self.input_shape) > 1 else [str(self.input_shape[0])]
        acts: list[str] = []
        names = {"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "step": "step"}
        for spec in self.layers:
            o = spec.options
            if spec.type == "affine":
                parts.append(str(o["out"]))
            elif spec.type == "conv":
                parts.append(f"conv{o['filters']}@{o['size']}×{o['size']}")
            elif spec.type == "maxpool":
                parts.append(f"pool{o['size']}")
            elif spec.type in ("dropout", "batchnorm"):
                parts.append({"dropout": "drop", "batchnorm": "bn"}[spec.type])
            elif spec.type in names and names[spec.type] not in acts:
                acts.append(names[spec.type])
        return "-".join(parts) + (" " + "/".join(acts) if acts else "")

    @property
    def data_label(self) -> str:
        if self.data.source in GATES:
            return f"{self.data.source.upper()} truth table"
        return {"iris": "iris (150)", "mnist": "MNIST (60k/10k)"}[self.data.source]

    @property
    def trainable(self) -> bool:
        return self.train.enabled

    @property
    def has_step(self) -> bool:
        return any(s.type == "step" for s in self.layers)

    def class_names(self) -> tuple[str, ...]:
        if self.data.source == "iris":
            return ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
        if self.data.source == "mnist":
            return tuple(str(d) for d in range(10))
        return ("0", "1")

    def config(self) -> dict[str, Any]:
        """The resolved scenario as plain data (every default filled in)."""
        data = {k: v for k, v in self.data.__dict__.items() if v is not None}
        layers = []
        for spec in self.layers:
            entry = {"type": spec.type, "name": spec.name}
            entry.update({k: _plain(v) for k, v in spec.options.items()})
            layers.append(entry)
        return {
            "name": self.name,
            "description": self.description,
            "data": data,
            "network": {"loss": self.loss, "l2": self.l2, "init": self.init, "layers": layers},
            "train": dict(self.train.__dict__),
            "debug": {"batch_size": self.debug_batch_size},
            "gradcheck": {"batch_size": self.gradcheck_batch_size},
        }

    def architecture_hash(self) -> str:
        """SHA-256 of what decides the parameters' names and shapes: input shape, loss, and each
        layer's type, name and size options — not initialisation or hand-wired start values,
        which a checkpoint replaces anyway."""
        ignore = {"init", "trainable", "W", "b"}
        layers = [{k: v for k, v in layer.items() if k not in ignore}
                  for layer in self.config()["network"]["layers"]]
        arch = {"input": list(self.input_shape), "loss": self.loss, "layers": layers}
        text = json.dumps(arch, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def with_train(self, **overrides: Any) -> Scenario:
        """A copy with some training settings replaced (None values are ignored)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        if not changes:
            return self
        train = replace(self.train, **changes)
        return replace(self, train=train)

    # -- building ---------------------------------------------------------------------------
    def rng(self, seed: int | None, stream: str) -> np.random.Generator:
        """Independent seeded streams: ``init``, ``dropout``, ``shuffle``, ``gradcheck``."""
        streams = {"init": 0, "dropout": 1, "shuffle": 2, "gradcheck": 3}
        s = self.train.seed if seed is None else seed
        return np.random.default_rng([int(s), streams[stream]])

    def build_network(self, seed: int | None = None, dtype: str | np.dtype = "float64") -> Network:
        """A fresh network with seeded initial weights (drawn in float64, then cast)."""
        init_rng = self.rng(seed, "init")
        drop_rng = self.rng(seed, "dropout")
        layers = _build_layers(self, init_rng, drop_rng)
        return Network(layers, LOSSES[self.loss](), l2=self.l2, input_shape=self.input_shape,
                       dtype=np.dtype(dtype))

    def epoch_lr(self, epoch: int) -> float:
        """The learning rate of 1-based ``epoch``: ``lr · lr_decay^(epoch − 1)``."""
        return self.train.lr * self.train.lr_decay ** (epoch - 1)

    def build_optimizer(self, lr: float | None = None, optimizer: str | None = None) -> Optimizer:
        kind = optimizer or self.train.optimizer
        rate = self.train.lr if lr is None else lr
        cls = OPTIMIZERS[kind]
        if kind == "momentum":
            return cls(rate, momentum=self.train.momentum)
        if kind == "adam":
            return cls(rate, beta1=self.train.beta1, beta2=self.train.beta2)
        return cls(rate)

    def load_data(
        self, data_dir: str | Path | None = None, dtype: str | np.dtype = "float64"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x_train, t_train, x_test, t_test)``; labels are int64 class indices."""
        from .data.loaders import load_scenario_data

        return load_scenario_data(self.data, self.input_shape, data_dir, np.dtype(dtype))

    def load_batch(
        self,
        size: int,
        seed: int | None = None,
        data_dir: str | Path | None = None,
        dtype: str | np.dtype = "float64",
    ) -> tuple[np.ndarray, np.ndarray]:
        """A seeded random batch of ``size`` training samples (all of them if fewer), in the
        order they appear in the training set; only these rows are converted to ``dtype``."""
        from .data.loaders import load_scenario_data, train_size

        n = train_size(self.data, data_dir)
        rows = np.sort(self.rng(seed, "gradcheck").choice(n, size=min(size, n), replace=False))
        x, t, _, _ = load_scenario_data(self.data, self.input_shape, data_dir, np.dtype(dtype),
                                        train_rows=rows)
        return x, t

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data": self.data_label,
            "architecture": self.architecture,
            "parameters": self.param_count,
            "description": self.description,
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    return v


# --------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------
LAYER_TYPES = ("affine", "conv", "maxpool", "relu", "sigmoid", "tanh", "step", "dropout",
               "batchnorm", "flatten")


def _init_std(init: str | float, fan_in: int) -> float:
    if isinstance(init, float):
        return init
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    return math.sqrt(1.0 / fan_in)  # xavier (the book's form, 1/√n)


def _init_value(r: _Reader, default: str | float) -> str | float:
    v = r.get("init", "any", default, expected='"he", "xavier" or a positive number (the std)')
    if isinstance(v, str):
        if v not in ("he", "xavier"):
            raise ScenarioError("unknown value", file=r.file, key=r.key("init"), value=v,
                                expected='"he", "xavier" or a positive number (the std)',
                                hint=_closest(v, ("he", "xavier")))
        return v
    if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
        raise r.error("init", "wrong value", v, '"he", "xavier" or a positive number (the std)')
    return float(v)


def _matrix(r: _Reader, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
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
    return arr


def _parse_layers(raw: list, file: Path, input_shape: tuple[int, ...], default_init):
    """Validate the layer list and compute per-layer output shapes (no weights yet)."""
    specs: list[LayerSpec] = []
    shapes: list[tuple[int, ...]] = []
    counts: dict[str, int] = {}
    shape = input_shape
    names: set[str] = set()
    n_params = 0
    for i, table in enumerate(raw):
        prefix = f"network.layers[{i}]"
        r = _Reader(table, file, prefix)
        kind = r.get("type", "str", choices=LAYER_TYPES)
        counts[kind] = counts.get(kind, 0) + 1
        name = r.get("name", "str", f"{kind}{counts[kind]}")
        if name in names or name in ("loss", "network"):
            raise r.error("name", "layer names must be unique and not 'loss'/'network'", name,
                          "a new name")
        names.add(name)
        opts: dict[str, Any] = {}
        positive_int = {"check": lambda v: v > 0, "expected": "a positive integer"}
        if kind == "affine":
            opts["out"] = r.get("out", "int", **positive_int)
            n_in = int(np.prod(shape))
            opts["init"] = _init_value(r, default_init)
            opts["trainable"] = r.get("trainable", "bool", True)
            for pname, pshape in (("W", (n_in, opts["out"])), ("b", (opts["out"],))):
                arr = _matrix(r, pname, pshape)
                if arr is not None:
                    opts[pname] = arr
            n_params += n_in * opts["out"] + opts["out"]
        elif kind == "conv":
            opts["filters"] = r.get("filters", "int", **positive_int)
            opts["size"] = r.get("size", "int", **positive_int)
            opts["stride"] = r.get("stride", "int", 1, **positive_int)
            opts["pad"] = r.get("pad", "int", 0, check=lambda v: v >= 0,
                                expected="an integer ≥ 0")
            opts["init"] = _init_value(r, default_init)
            c = shape[0] if len(shape) == 3 else 0
            n_params += opts["filters"] * (c * opts["size"] ** 2 + 1)
        elif kind == "maxpool":
            opts["size"] = r.get("size", "int", **positive_int)
            opts["stride"] = r.get("stride", "int", opts["size"], **positive_int)
            opts["pad"] = r.get("pad", "int", 0, check=lambda v: v >= 0,
                                expected="an integer ≥ 0")
        elif kind == "dropout":
            opts["p"] = r.get("p", "float", 0.5, check=lambda v: 0 <= v < 1,
                              expected="a probability in [0, 1)")
        elif kind == "batchnorm":
            opts["momentum"] = r.get("momentum", "float", 0.9, check=lambda v: 0 <= v < 1,
                                     expected="a number in [0, 1)")
            opts["eps"] = r.get("eps", "float", 1e-5, check=_positive,
                                expected="a positive number")
            n_params += 2 * (shape[0] if len(shape) == 1 else 0)
        r.done()
        spec = LayerSpec(kind, name, opts)
        try:
            shape = _dry_layer(spec, shape).output_shape(shape)
        except ShapeError as e:
            raise ScenarioError(
                str(e), file=file, key=prefix,
                hint="Check the sizes of this layer and the one before it.",
            ) from None
        specs.append(spec)
        shapes.append(shape)
    return tuple(specs), tuple(shapes), n_params


def _dry_layer(spec: LayerSpec, in_shape: tuple[int, ...]) -> L.Layer:
    """A layer with placeholder weights, only to ask it about shapes."""
    o = spec.options
    if spec.type == "affine":
        n_in = int(np.prod(in_shape))
        return L.Affine(np.zeros((n_in, o["out"])), np.zeros(o["out"]), name=spec.name)
    if spec.type == "conv":
        c = in_shape[0] if len(in_shape) == 3 else 1
        w = np.zeros((o["filters"], c, o["size"], o["size"]))
        return Conv2D(w, np.zeros(o["filters"]), o["stride"], o["pad"], name=spec.name)
    return _make_layer(spec, in_shape, None, None)


def _make_layer(spec: LayerSpec, in_shape, init_rng, drop_rng) -> L.Layer:
    o = spec.options
    t = spec.type
    if t == "affine":
        n_in = int(np.prod(in_shape))
        W = o.get("W")
        if W is None:
            W = init_rng.standard_normal((n_in, o["out"])) * _init_std(o["init"], n_in)
        b = o.get("b")
        b = np.zeros(o["out"]) if b is None else b
        layer = L.Affine(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64),
                         name=spec.name)
        layer.trainable = o["trainable"]
        return layer
    if t == "conv":
        c = in_shape[0]
        fan_in = c * o["size"] ** 2
        W = init_rng.standard_normal((o["filters"], c, o["size"], o["size"]))
        W *= _init_std(o["init"], fan_in)
        return Conv2D(W, np.zeros(o["filters"]), o["stride"], o["pad"], name=spec.name)
    if t == "maxpool":
        return MaxPool2D(o["size"], o["stride"], o["pad"], name=spec.name)
    if t == "dropout":
        return L.Dropout(o["p"], drop_rng if drop_rng is not None else np.random.default_rng(0),
                         name=spec.name)
    if t == "batchnorm":
        return L.BatchNorm(int(in_shape[0]) if len(in_shape) == 1 else 0, o["momentum"],
                           o["eps"], name=spec.name)
    simple = {"relu": L.ReLU, "sigmoid": L.Sigmoid, "tanh": L.Tanh, "step": L.Step,
              "flatten": L.Flatten}
    return simple[t](name=spec.name)


def _build_layers(sc: Scenario, init_rng, drop_rng) -> list[L.Layer]:
    layers = []
    shape = sc.input_shape
    for spec, out_shape in zip(sc.layers, sc.shapes, strict=True):
        layers.append(_make_layer(spec, shape, init_rng, drop_rng))
        shape = out_shape
    return layers


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def _input_shape(data: DataSpec) -> tuple[int, ...]:
    if data.source == "not":
        return (1,)
    if data.source in GATES:
        return (2,)
    if data.source == "iris":
        return (4,)
    return (784,) if data.layout == "flat" else (1, 28, 28)


def _check_data(data: DataSpec, r: _Reader) -> None:
    """Refuse settings that would be silently ignored or leave a split empty."""
    if data.source != "mnist":
        for key, value, default in (("layout", data.layout, "flat"),
                                    ("train_size", data.train_size, None),
                                    ("test_size", data.test_size, None)):
            if key in r.table and value != default:
                raise r.error(key, f"only applies to MNIST data, not {data.source!r}", value,
                              "to leave it out")
    if data.source == "iris":
        n_test = round(150 * data.test_fraction)
        if n_test < 3 or n_test > 147:
            raise r.error("test_fraction", "leaves the iris train or test split with fewer "
                          "than one flower per class", data.test_fraction,
                          "a fraction between 0.02 and 0.98")


def _parse(doc: dict, file: Path, default_name: str) -> Scenario:
    top = _Reader(doc, file, "")
    name = top.get("name", "str", default_name)
    description = top.get("description", "str", "")

    d = _Reader(top.get("data", "table"), file, "data")
    source = d.get("source", "str", choices=SOURCES)
    data = DataSpec(
        source=source,
        normalize=d.get("normalize", "str", "scale" if source == "mnist" else "none",
                        choices=NORMALIZE),
        layout=d.get("layout", "str", "flat", choices=LAYOUTS),
        test_fraction=d.get("test_fraction", "float", 0.2, check=lambda v: 0 < v < 1,
                            expected="a fraction between 0 and 1"),
        split_seed=d.get("split_seed", "int", 0, check=lambda v: v >= 0,
                         expected="an integer ≥ 0"),
        train_size=d.get("train_size", "int", None, check=_positive,
                         expected="a positive integer"),
        test_size=d.get("test_size", "int", None, check=_positive,
                        expected="a positive integer"),
    )
    d.done()
    _check_data(data, d)
    input_shape = _input_shape(data)

    n = _Reader(top.get("network", "table"), file, "network")
    loss = n.get("loss", "str", choices=tuple(LOSSES))
    l2 = n.get("l2", "float", 0.0, check=lambda v: v >= 0, expected="a number ≥ 0")
    init = _init_value(n, "he")
    raw_layers = n.get("layers", "list", expected="an array of layer tables ([[network.layers]])")
    if not raw_layers:
        raise ScenarioError("a network needs at least one layer", file=file,
                            key="network.layers")
    n.done()
    specs, shapes, n_params = _parse_layers(raw_layers, file, input_shape, init)
    try:
        LOSSES[loss]().check_output(shapes[-1])
    except ShapeError as e:
        raise ScenarioError(str(e), file=file, key="network.loss", value=loss) from None
    _check_output_fits_data(loss, shapes[-1], source, file)

    defaults = TrainSpec()
    tr = _Reader(top.get("train", "table", {}), file, "train")
    train = TrainSpec(
        optimizer=tr.get("optimizer", "str", defaults.optimizer, choices=tuple(OPTIMIZERS)),
        lr=tr.get("lr", "float", defaults.lr, check=_positive, expected="a positive number"),
        lr_decay=tr.get("lr_decay", "float", defaults.lr_decay, check=lambda v: 0 < v <= 1,
                        expected="a factor in (0, 1]"),
        momentum=tr.get("momentum", "float", defaults.momentum, check=lambda v: 0 <= v < 1,
                        expected="a number in [0, 1)"),
        beta1=tr.get("beta1", "float", defaults.beta1, check=lambda v: 0 <= v < 1,
                     expected="a number in [0, 1)"),
        beta2=tr.get("beta2", "float", defaults.beta2, check=lambda v: 0 <= v < 1,
                     expected="a number in [0, 1)"),
        batch_size=tr.get("batch_size", "int", defaults.batch_size, check=_positive,
                          expected="a positive integer"),
        epochs=tr.get("epochs", "int", defaults.epochs, check=lambda v: v >= 0,
                      expected="an integer ≥ 0"),
        seed=tr.get("seed", "int", defaults.seed, check=lambda v: v >= 0,
                    expected="an integer ≥ 0"),
        dtype=tr.get("dtype", "str", defaults.dtype, choices=DTYPES),
        enabled=tr.get("enabled", "bool", True),
    )
    tr.done()

    db = _Reader(top.get("debug", "table", {}), file, "debug")
    debug_bs = db.get("batch_size", "int", min(train.batch_size, 32), check=_positive,
                      expected="a positive integer")
    db.done()
    gc = _Reader(top.get("gradcheck", "table", {}), file, "gradcheck")
    gc_bs = gc.get("batch_size", "int", min(train.batch_size, 8), check=_positive,
                   expected="a positive integer")
    gc.done()
    top.done()
    return Scenario(
        name=name, description=description, path=file, data=data, layers=specs, loss=loss,
        l2=l2, init=init, train=train, debug_batch_size=debug_bs, gradcheck_batch_size=gc_bs,
        input_shape=input_shape, shapes=shapes, param_count=n_params,
    )


#: classes per data source (the labels are class indices 0…k−1)
N_CLASSES = {**dict.fromkeys(GATES, 2), "iris": 3, "mnist": 10}


def _check_output_fits_data(loss: str, out: tuple[int, ...], source: str, file: Path) -> None:
    """The last layer's size must suit the labels: a network whose output does not fit would
    otherwise fail deep inside the loss (an IndexError) or, worse, train on nonsense (binary
    cross-entropy against iris labels 0–2)."""
    k = N_CLASSES[source]
    if loss == "softmax_cross_entropy":
        allowed = [k]
    elif loss == "sigmoid_bce":
        allowed = [1] if k == 2 else []
    else:  # mse: one output regressing a 0/1 label, or one per class (one-hot targets)
        allowed = [1, k] if k == 2 else [k]
    if not allowed:
        raise ScenarioError(
            f"sigmoid_bce is for two classes, but the {source} data has {k}", file=file,
            key="network.loss", value=loss,
            expected=f"softmax_cross_entropy (or mse) with {k} outputs",
        )
    if len(out) != 1 or out[0] not in allowed:
        sizes = " or ".join(str(a) for a in allowed)
        raise ScenarioError(
            f"the network ends with per-sample shape {out}, but {loss} on the {source} data "
            f"({k} classes) needs {sizes} output(s)", file=file, key="network.layers",
            hint=f"Set out = {allowed[-1]} on the last affine layer.",
        )


def builtin_names() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.toml"))


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(".toml") or "/" in ref or "\\" in ref or ref.startswith(".")


def load_scenario(ref: str | Path) -> Scenario:
    """Load a scenario by built-in name (``"xor"``) or by path to a ``.toml`` file."""
    ref_s = str(ref)
    builtin = False
    if ref_s.endswith(".py"):
        raise ScenarioError(
            "is a Python network file, not a scenario", file=ref_s,
            hint="gradcheck and debug take one (backprop-tui debug my_net.py); train and eval "
                 "need a scenario: a built-in name or a .toml file")
    if isinstance(ref, Path) or _looks_like_path(ref_s):
        path = Path(ref_s).expanduser()
        if path.is_dir():
            raise ScenarioError("is a folder, not a scenario file", file=path,
                                expected="a path to a .toml file or a built-in name")
        if not path.is_file():
            raise ScenarioError("no such scenario file", file=path,
                                hint="Give a path to a .toml file or a built-in name "
                                     "(`backprop-tui scenarios` lists them).")
    else:
        path = scenarios_dir() / f"{ref_s}.toml"
        builtin = True
        if not path.is_file():
            names = builtin_names()
            match = difflib.get_close_matches(ref_s.lower(), names, n=1, cutoff=0.5)
            hint = f"Did you mean {match[0]!r}? " if match else ""
            raise ScenarioError(
                f"unknown scenario {ref_s!r}",
                expected=f"a built-in name ({', '.join(names)}) or a path to a .toml file",
                hint=hint + "Run `backprop-tui scenarios` to list them.",
            )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"cannot read the file: {e}", file=path) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"not valid TOML: {e}", file=path) from None
    sc = _parse(doc, path, path.stem)
    return replace(sc, builtin=builtin)


def list_scenarios() -> list[Scenario]:
    """Every built-in scenario, validated."""
    return [load_scenario(name) for name in builtin_names()]
