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
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, atomic_write, check_compatible
from .data.spec import IMAGE_SOURCES, LAYOUTS, N_CLASSES, NORMALIZE, SOURCES, DataSpec
from .engine.batches import Batches
from .engine.layers import ShapeError
from .engine.losses import LOSSES
from .engine.network import Network
from .engine.optim import OPTIMIZERS, Optimizer
from .engine.registry import Build
from .errors import ScenarioError
from .layerspec import LayerSpec, architecture, build_layers, parse_layers, read_init
from .memory import check_fits
from .resources import scenarios_dir
from .safetext import NAME_RULE, name_problem, safe_name
from .tomlcheck import TableReader, positive

DTYPES = ("float32", "float64")

# --------------------------------------------------------------------------------------------
# the validated scenario
# --------------------------------------------------------------------------------------------
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

    def epoch_lr(self, epoch: int) -> float:
        """The learning rate of 1-based ``epoch``: ``lr · lr_decay^(epoch − 1)``."""
        return self.lr * self.lr_decay ** (epoch - 1)

    def build_optimizer(self, lr: float | None = None, optimizer: str | None = None
                        ) -> Optimizer:
        """A fresh optimizer of this kind (or ``optimizer``) with these settings."""
        kind = optimizer or self.optimizer
        rate = self.lr if lr is None else lr
        cls = OPTIMIZERS[kind]
        if kind == "momentum":
            return cls(rate, momentum=self.momentum)
        if kind == "adam":
            return cls(rate, beta1=self.beta1, beta2=self.beta2)
        return cls(rate)


#: the independent seeded random streams of a run (an experiment's: its random inputs, its
#: trials' hyperparameters, its validation split)
STREAMS = {"init": 0, "dropout": 1, "shuffle": 2, "gradcheck": 3, "inputs": 4, "trials": 5,
           "split": 6}


def seeded_rng(seed: int, stream: str) -> np.random.Generator:
    """The generator of one of a run's independent streams (:data:`STREAMS`) for ``seed``."""
    return np.random.default_rng([int(seed), STREAMS[stream]])


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
        return architecture(self.layers, self.input_shape)

    @property
    def data_label(self) -> str:
        return self.data.label

    @property
    def trainable(self) -> bool:
        return self.train.enabled

    @property
    def has_step(self) -> bool:
        return any(s.type == "step" for s in self.layers)

    def class_names(self) -> tuple[str, ...]:
        return self.data.class_names()

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
        sc = replace(self, train=train)
        if {"batch_size", "dtype", "optimizer"} & changes.keys():
            # a --batch-size of a million needs its activations
            check_fits(sc, key="--batch-size" if "batch_size" in changes else "train",
                       value=changes.get("batch_size"))
        return sc

    def with_all_data(self) -> Scenario:
        """A copy that uses the whole training and test split (no ``train_size``/``test_size``):
        ``--all-data``. The network and its checkpoints are the same."""
        return replace(self, data=replace(self.data, train_size=None, test_size=None))

    # -- building ---------------------------------------------------------------------------
    def rng(self, seed: int | None, stream: str) -> np.random.Generator:
        """Independent seeded streams: ``init``, ``dropout``, ``shuffle``, ``gradcheck``."""
        return seeded_rng(self.train.seed if seed is None else seed, stream)

    def build_network(self, seed: int | None = None, dtype: str | np.dtype = "float64", *,
                      dry: bool = False) -> Network:
        """A fresh network with seeded initial weights (drawn in float64, then cast); ``dry``:
        placeholder weights that cost nothing, only to ask the layers what they are."""
        build = Build() if dry else Build(self.rng(seed, "init"), self.rng(seed, "dropout"))
        layers = build_layers(self.layers, self.input_shape, self.shapes, build)
        return Network(layers, LOSSES[self.loss](), l2=self.l2, input_shape=self.input_shape,
                       dtype=np.dtype(dtype))

    def epoch_lr(self, epoch: int) -> float:
        """The learning rate of 1-based ``epoch``: ``lr · lr_decay^(epoch − 1)``."""
        return self.train.epoch_lr(epoch)

    def build_optimizer(self, lr: float | None = None, optimizer: str | None = None) -> Optimizer:
        return self.train.build_optimizer(lr, optimizer)

    # -- as a run of the Trainer (training.RunSpec) -------------------------------------------
    def check_checkpoint(self, ckpt: Checkpoint) -> None:
        """Refuse a checkpoint of another scenario, or of a network that is not this one's."""
        check_compatible(ckpt, self.name, self.architecture_hash())

    def record_run(self, out_dir: Path) -> Path:
        """The run folder's ``config.toml``: the resolved scenario, which trains the same run
        again. Written once: a resumed run in the same folder keeps it."""
        from tomli_w import dumps as toml_dumps

        from . import __version__

        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "config.toml"
        if path.exists():
            return path
        header = (f"# Resolved scenario of this run (backprop-tui {__version__}). Train it again "
                  f"with:\n#   backprop-tui train {path} --headless\n")
        text = header + toml_dumps(self.config())
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
        return path

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

    def batches(self, batch_size: int, seed: int | None = None,
                data_dir: str | Path | None = None) -> Batches:
        """The training set's seeded mini-batches in float64, as the debugger steps them.

        MNIST's 60 000 training images in float64 take 376 MB, and the debugger shows one batch
        at a time: unless standardised (which needs the whole set in float), the batches of an
        image dataset keep the decoded uint8 images and convert only each batch's rows as it is
        drawn — the same batches as from the converted set."""
        from .data.loaders import load_scenario_data, train_labels
        from .engine.batches import RowBatches

        rng = self.rng(seed, "shuffle")
        if self.data.source in IMAGE_SOURCES and self.data.normalize != "standard":
            labels = np.asarray(train_labels(self.data, data_dir), dtype=np.int64)
            n = len(labels)

            def load(rows: np.ndarray) -> np.ndarray:
                return load_scenario_data(self.data, self.input_shape, data_dir,
                                          np.dtype(np.float64), train_rows=rows)[0]

            return RowBatches(n, labels, load, batch_size, rng)
        x, t, _, _ = self.load_data(data_dir=data_dir, dtype="float64")
        return Batches(x, t, batch_size, rng)

    @property
    def missing_data(self) -> str | None:
        """``needs CIFAR-10 (see README)`` when the data is not where the commands look
        without ``--data-dir``; None when it is there (or ships with the package)."""
        from .data.loaders import missing_data

        return missing_data(self.data)

    def summary(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "kind": "network",
            "data": self.data_label,
            "architecture": self.architecture,
            "parameters": self.param_count,
            "description": self.description,
        }
        needs = self.missing_data
        if needs:
            out["needs"] = needs
        return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    return v


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def _check_data(data: DataSpec, r: TableReader) -> None:
    """Refuse settings that would be silently ignored or leave a split empty."""
    if data.source not in IMAGE_SOURCES:
        for key, value, default in (("layout", data.layout, "flat"),
                                    ("train_size", data.train_size, None),
                                    ("test_size", data.test_size, None)):
            if key in r.table and value != default:
                raise r.error(key, f"only applies to MNIST and CIFAR-10 data, not "
                              f"{data.source!r}", value, "to leave it out")
    if data.source == "iris":
        n_test = round(150 * data.test_fraction)
        if n_test < 3 or n_test > 147:
            raise r.error("test_fraction", "leaves the iris train or test split with fewer "
                          "than one flower per class", data.test_fraction,
                          "a fraction between 0.02 and 0.98")


def read_train(tr: TableReader) -> TrainSpec:
    """A ``[train]`` table, checked: a scenario's, or the one a checkpoint was trained with."""
    defaults = TrainSpec()
    train = TrainSpec(
        optimizer=tr.get("optimizer", "str", defaults.optimizer, choices=tuple(OPTIMIZERS)),
        lr=tr.get("lr", "float", defaults.lr, check=positive, expected="a positive number"),
        lr_decay=tr.get("lr_decay", "float", defaults.lr_decay, check=lambda v: 0 < v <= 1,
                        expected="a factor in (0, 1]"),
        momentum=tr.get("momentum", "float", defaults.momentum, check=lambda v: 0 <= v < 1,
                        expected="a number in [0, 1)"),
        beta1=tr.get("beta1", "float", defaults.beta1, check=lambda v: 0 <= v < 1,
                     expected="a number in [0, 1)"),
        beta2=tr.get("beta2", "float", defaults.beta2, check=lambda v: 0 <= v < 1,
                     expected="a number in [0, 1)"),
        batch_size=tr.get("batch_size", "int", defaults.batch_size, check=positive,
                          expected="a positive integer"),
        epochs=tr.get("epochs", "int", defaults.epochs, check=lambda v: v >= 0,
                      expected="an integer ≥ 0"),
        seed=tr.get("seed", "int", defaults.seed, check=lambda v: v >= 0,
                    expected="an integer ≥ 0"),
        dtype=tr.get("dtype", "str", defaults.dtype, choices=DTYPES),
        enabled=tr.get("enabled", "bool", True),
    )
    tr.done()
    return train


def _parse(doc: dict, file: Path, default_name: str, check_memory: bool = True) -> Scenario:
    top = TableReader(doc, file, "")
    # the name becomes the default run folder (runs/NAME-TIME) and is shown everywhere
    name = top.get("name", "str", default_name)
    if (problem := name_problem(name)) is not None:
        raise top.error("name", problem, name, NAME_RULE)
    description = top.get("description", "str", "")  # kept as written; printable when shown

    d = TableReader(top.get("data", "table"), file, "data")
    source = d.get("source", "str", choices=SOURCES)
    data = DataSpec(
        source=source,
        normalize=d.get("normalize", "str", "scale" if source in IMAGE_SOURCES else "none",
                        choices=NORMALIZE),
        layout=d.get("layout", "str", "flat", choices=LAYOUTS),
        test_fraction=d.get("test_fraction", "float", 0.2, check=lambda v: 0 < v < 1,
                            expected="a fraction between 0 and 1"),
        split_seed=d.get("split_seed", "int", 0, check=lambda v: v >= 0,
                         expected="an integer ≥ 0"),
        train_size=d.get("train_size", "int", None, check=positive,
                         expected="a positive integer"),
        test_size=d.get("test_size", "int", None, check=positive,
                        expected="a positive integer"),
    )
    d.done()
    _check_data(data, d)
    input_shape = data.input_shape

    n = TableReader(top.get("network", "table"), file, "network")
    loss = n.get("loss", "str", choices=tuple(LOSSES))
    # cs231n's linear classifiers sweep reg up to ~1e5; far beyond that the penalty overflows
    l2 = n.get("l2", "float", 0.0, check=lambda v: 0 <= v <= 1e6,
               expected="a number in [0, 1e6]")
    init = read_init(n, "he")
    raw_layers = n.get("layers", "list", expected="an array of layer tables ([[network.layers]])")
    if not raw_layers:
        raise ScenarioError("a network needs at least one layer", file=file,
                            key="network.layers")
    n.done()
    specs, shapes, n_params = parse_layers(raw_layers, file, input_shape, init)
    try:
        LOSSES[loss]().check_output(shapes[-1])
    except ShapeError as e:
        raise ScenarioError(str(e), file=file, key="network.loss", value=loss) from None
    _check_output_fits_data(loss, shapes[-1], source, file)

    train = read_train(TableReader(top.get("train", "table", {}), file, "train"))

    db = TableReader(top.get("debug", "table", {}), file, "debug")
    debug_bs = db.get("batch_size", "int", min(train.batch_size, 32), check=positive,
                      expected="a positive integer")
    db.done()
    gc = TableReader(top.get("gradcheck", "table", {}), file, "gradcheck")
    gc_bs = gc.get("batch_size", "int", min(train.batch_size, 8), check=positive,
                   expected="a positive integer")
    gc.done()
    top.done()
    sc = Scenario(
        name=name, description=description, path=file, data=data, layers=specs, loss=loss,
        l2=l2, init=init, train=train, debug_batch_size=debug_bs, gradcheck_batch_size=gc_bs,
        input_shape=input_shape, shapes=shapes, param_count=n_params,
    )
    if check_memory:  # before anything is built: `out = 1000000000` would try 15 GiB
        check_fits(sc)
    return sc


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


#: the file that orders the built-in scenarios (the learning path), in the scenarios folder
LEARNING_PATH = "learning-path.txt"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.toml"))


def learning_path(names: list[str] | None = None) -> list[str]:
    """The built-in scenarios (or ``names``: the graph scenarios) in learning-path order
    (``scenarios/learning-path.txt``), then those it does not list, by name: the picker's
    order."""
    names = builtin_names() if names is None else names
    path = scenarios_dir() / LEARNING_PATH
    listed = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    rank = {}
    for line in listed:
        name = line.split("#", 1)[0].strip()
        if name:
            rank.setdefault(name, len(rank))
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(".toml") or "/" in ref or "\\" in ref or ref.startswith(".")


def path_kind(path: Path) -> str:
    """``"file"``, ``"dir"`` or ``"missing"``; a path the system cannot even look up (a name
    of 300 characters, a NUL) is a ScenarioError, not an OSError traceback."""
    try:
        return "file" if path.is_file() else "dir" if path.is_dir() else "missing"
    except (OSError, ValueError) as e:
        raise ScenarioError(f"cannot use this path ({getattr(e, 'strerror', None) or e})",
                            file=path) from None


def load_scenario(ref: str | Path, *, check_memory: bool = True) -> Scenario:
    """Load a scenario by built-in name (``"xor"``) or by path to a ``.toml`` file; unless
    ``check_memory`` is false (listing, not building), one that needs more memory than the
    machine has available is refused (:mod:`backprop_tui.memory`)."""
    ref_s = str(ref)
    builtin = False
    if ref_s.endswith(".py"):
        raise ScenarioError(
            "is a Python network file, not a scenario", file=ref_s,
            hint="the commands take one (backprop-tui train my_net.py); a scenario is a "
                 "built-in name or a .toml file")
    if isinstance(ref, Path) or _looks_like_path(ref_s):
        path = Path(ref_s).expanduser()
        if path_kind(path) == "dir":
            raise ScenarioError("is a folder, not a scenario file", file=path,
                                expected="a path to a .toml file or a built-in name")
        if path_kind(path) != "file":
            raise ScenarioError("no such scenario file", file=path,
                                hint="Give a path to a .toml file or a built-in name "
                                     "(`backprop-tui scenarios` lists them).")
    else:
        path = scenarios_dir() / f"{ref_s}.toml"
        builtin = True
        if not path.is_file() and (scenarios_dir() / "graphs" / f"{ref_s}.toml").is_file():
            raise ScenarioError(
                f"{ref_s!r} is a computational graph, not a network: it has no data to train "
                "on", hint=f"Step through it (backprop-tui debug {ref_s}), check it "
                           f"(backprop-tui gradcheck {ref_s}) or run it (backprop-tui graph "
                           f"{ref_s})")
        if not path.is_file():
            from .experiments import EXPERIMENTS
            from .graphfile import graph_names

            if ref_s in EXPERIMENTS:
                raise ScenarioError(
                    f"{ref_s!r} is an experiment (a set of training runs), not a network: "
                    "this command takes one network",
                    expected=f"a built-in network ({', '.join(builtin_names())}) or a path to "
                             "a .toml file",
                    hint=f"Run the experiment with backprop-tui train {ref_s}")

            names, graphs, experiments = builtin_names(), graph_names(), list(EXPERIMENTS)
            match = difflib.get_close_matches(ref_s.lower(), names + graphs + experiments, n=1,
                                              cutoff=0.5)
            hint = f"Did you mean {match[0]!r}? " if match else ""
            raise ScenarioError(
                f"unknown scenario {ref_s!r}",
                expected=f"a built-in network ({', '.join(names)}), a computational graph for "
                         f"debug, gradcheck and graph ({', '.join(graphs)}), an experiment for "
                         f"train ({', '.join(experiments)}) or a path to a .toml file",
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
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ScenarioError("not valid TOML: arrays or tables nested too deeply", file=path,
                            expected="a scenario file (a few levels of nesting)") from None
    sc = _parse(doc, path, safe_name(path.stem, "scenario"), check_memory)
    return replace(sc, builtin=builtin)


def scenario_from_tables(doc: dict, name: str) -> Scenario:
    """A scenario made in code (a run of an experiment) from the tables a ``.toml`` file holds,
    checked as a file's are; ``name`` stands for the file in messages."""
    return _parse(doc, Path(name), safe_name(name, "scenario"))


def list_scenarios() -> list[Scenario]:
    """Every built-in scenario, validated."""
    return [load_scenario(name, check_memory=False) for name in builtin_names()]
