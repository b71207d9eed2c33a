"""Training a network of the user's own, from the .py file that builds it.

``backprop-tui train my_net.py`` trains what :func:`~backprop_tui.netfile.load_network_file`
finds in the file — the network, its data ``x``/``t`` and the keyword arguments of its
``bt.debug(...)`` call (``optimizer``, ``batch_size``, ``seed``, ``name``) — with the same
:class:`~backprop_tui.training.Trainer`, run folder, checkpoints and resume as a scenario.
:class:`NetworkFileRun` is that run's :class:`~backprop_tui.training.RunSpec`:

* the network is the file's own (its layers, its initial weights); every build is a fresh copy
  of it in the run's dtype (float64 unless told: a layer of the user's may not be float32-safe);
* settings come from the file's ``bt.debug`` call, then the command's flags; where both are
  silent: SGD lr 0.1, batch size min(N, 32) as ``bt.debug``, 10 epochs, seed 0;
* the test set is ``x_test``/``t_test`` if the file defines them at module level, else the
  training data (:data:`NO_TEST_NOTE` says so);
* a checkpoint names the file and holds an architecture hash of the layers' names, kinds and
  parameter shapes: resuming with a file whose network changed is refused, naming the first
  layer that differs; ``run.toml`` records the file, its SHA-256 and the resolved settings;
* layers that draw from numpy's global generator (the book's Dropout) draw the same masks for
  the same seed: building the network seeds it, and the trainer saves and restores its state.

UI-free: numpy, the engine and the package's own modules.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, atomic_write
from .engine.datacheck import BadData, check_labels
from .engine.layers import dims
from .engine.losses import MeanSquaredError, SigmoidBCE
from .engine.network import Network
from .engine.optim import OPTIMIZERS, Optimizer
from .errors import CheckpointError, DataError, ScenarioError
from .netfile import NetworkFile, check_file_data, load_network_file
from .scenario import STREAMS, TrainSpec, seeded_rng

#: the run folder's record of what ran (a .py network has no config.toml to write)
RECORD = "run.toml"
NO_TEST_NOTE = "no x_test/t_test in the file: accuracy is on the training data"


@dataclass(frozen=True)
class NetworkFileRun:
    """A network of the user's own, its data and the resolved training settings."""

    path: Path  #: the .py file, as given
    name: str  #: ``bt.debug(name=...)``, else the file's name
    sha256: str  #: of the file, when it was run
    data_sha256: str  #: of x, t, x_test, t_test
    train: TrainSpec
    template: Network = field(repr=False, compare=False)  #: as the file built it, never trained
    x: np.ndarray = field(repr=False, compare=False)
    t: np.ndarray = field(repr=False, compare=False)
    x_test: np.ndarray | None = field(default=None, repr=False, compare=False)
    t_test: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: the file's ``bt.debug(optimizer=...)``: its kind's fresh copies keep its settings (eps…)
    optimizer_template: Optimizer | None = field(default=None, repr=False, compare=False)

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def load(cls, ref: str | Path) -> NetworkFileRun:
        """Run the file and take its network, data and options (a ScenarioError, exit 2, for a
        file that gives nothing trainable)."""
        return cls.from_file(load_network_file(ref))

    @classmethod
    def from_file(cls, nf: NetworkFile) -> NetworkFileRun:
        if nf.kind != "network":
            what = "a cs231n-style model" if nf.kind == "model" else "a function f(params)"
            raise ScenarioError(
                f"holds {what}, which has no layers for the trainer", file=nf.path,
                hint="`backprop-tui gradcheck` checks it parameter by parameter; to train it, "
                     "build a bt.Network of its layers (bt.from_functions wraps a forward/"
                     "backward pair)")
        opts = nf.options
        opt = opts.get("optimizer")
        if opt is not None and not isinstance(opt, Optimizer):
            raise ScenarioError("is not an optimizer of backprop-tui", file=nf.path,
                                key="optimizer", value=type(opt).__name__,
                                expected="bt.SGD(lr=0.1), bt.Momentum(…), bt.AdaGrad(…) or "
                                         "bt.Adam(lr=1e-3)")
        batch_size = _option_int(nf, "batch_size", 1, None)
        seed = _option_int(nf, "seed", 0, 0)
        x_test, t_test = _test_set(nf)
        defaults = TrainSpec()
        train = TrainSpec(
            optimizer=opt.kind if opt is not None else "sgd",
            lr=opt.lr if opt is not None else 0.1,
            momentum=float(getattr(opt, "momentum", defaults.momentum)),
            beta1=float(getattr(opt, "beta1", defaults.beta1)),
            beta2=float(getattr(opt, "beta2", defaults.beta2)),
            batch_size=min(len(nf.x), 32) if batch_size is None else batch_size,
            epochs=10, seed=seed, dtype="float64")
        _check_labels(nf, t_test)
        return cls(path=nf.path, name=nf.name, sha256=_file_sha256(nf.path),
                   data_sha256=_data_sha256(nf.x, nf.t, x_test, t_test), train=train,
                   template=nf.net, x=nf.x, t=nf.t, x_test=x_test, t_test=t_test,
                   optimizer_template=opt)

    # -- what a run shows ---------------------------------------------------------------------
    @property
    def architecture(self) -> str:
        return f"{'×'.join(map(str, self.x.shape[1:]))} → {self.template.describe()}"

    @property
    def param_count(self) -> int:
        return self.template.param_count()

    @property
    def has_test_data(self) -> bool:
        return self.x_test is not None

    def layer_lines(self) -> list[str]:
        """``mine (MyAffine): W 4×8, b 8`` per layer, then ``loss: SoftmaxCrossEntropy``: what
        the architecture hash is made of, in words (a refused resume names the difference)."""
        lines = []
        for layer in self.template.layers:
            shapes = [f"{k} {dims(v.shape)}" for store in (layer.params, layer.buffers)
                      for k, v in store.items()]
            lines.append(f"{layer.name} ({layer.kind})" + (f": {', '.join(shapes)}"
                                                           if shapes else ""))
        return [*lines, f"loss: {self.template.loss_layer.kind}"]

    def architecture_hash(self) -> str:
        """SHA-256 of the layers' names, kinds and parameter (and buffer) shapes, and the loss's
        kind — not of the weights, which a checkpoint replaces."""
        text = json.dumps(self.layer_lines(), separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def config(self) -> dict[str, Any]:
        """What ran, as plain data (TOML and JSON): a checkpoint's ``config``, ``run.toml``."""
        return {
            "name": self.name,
            "network_file": {"name": self.path.name, "path": str(self.path.resolve()),
                             "sha256": self.sha256},
            "network": {"architecture": self.architecture, "layers": self.layer_lines()},
            "data": {"train_samples": len(self.x),
                     "test_set": "x_test/t_test" if self.has_test_data else "the training data",
                     "test_samples": len(self.x_test if self.x_test is not None else self.x),
                     "sha256": self.data_sha256},
            "train": dict(self.train.__dict__),
        }

    def command(self) -> str:
        """The command line that trains this run again from the start."""
        tr = self.train
        parts = ["backprop-tui", "train", str(self.path), "--headless"]
        if tr.optimizer in OPTIMIZERS:
            parts += ["--optimizer", tr.optimizer]
        parts += ["--lr", repr(tr.lr), "--batch-size", str(tr.batch_size), "--epochs",
                  str(tr.epochs), "--seed", str(tr.seed), "--dtype", tr.dtype]
        return shlex.join(parts)

    # -- building -----------------------------------------------------------------------------
    def with_train(self, **overrides: Any) -> NetworkFileRun:
        changes = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, train=replace(self.train, **changes)) if changes else self

    def rng(self, seed: int | None, stream: str) -> np.random.Generator:
        return seeded_rng(self.train.seed if seed is None else seed, stream)

    def epoch_lr(self, epoch: int) -> float:
        return self.train.epoch_lr(epoch)

    def build_network(self, seed: int | None = None, dtype: str | np.dtype = "float64"
                      ) -> Network:
        """A fresh copy of the file's network in ``dtype``. Seeds numpy's global generator
        (``seed``'s dropout stream): the book's Dropout draws its masks from it."""
        try:
            net = copy.deepcopy(self.template)
        except Exception:  # noqa: BLE001 - a layer that cannot be copied: build it again
            net = load_network_file(self.path).net
        net.cast(np.dtype(dtype))
        s = self.train.seed if seed is None else seed
        np.random.seed([int(s), STREAMS["dropout"]])  # noqa: NPY002 - that is the point
        return net

    def build_optimizer(self) -> Optimizer:
        tpl, tr = self.optimizer_template, self.train
        if tpl is None or tpl.kind != tr.optimizer:
            return tr.build_optimizer()
        opt = copy.deepcopy(tpl)  # the file's own kind: keep what TrainSpec has no field for
        opt.state, opt.t, opt.lr = {}, 0, tr.lr
        for name in ("momentum", "beta1", "beta2"):
            if hasattr(opt, name):
                setattr(opt, name, getattr(tr, name))
        return opt

    def load_data(self, data_dir: str | Path | None = None, dtype: str | np.dtype = "float64"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x, t, x_test, t_test)`` in ``dtype`` (targets only if they are floats); without
        a test set, the training data twice. ``data_dir`` is for scenarios (ignored)."""
        dt = np.dtype(dtype)
        x, t = self.x.astype(dt), _targets(self.t, dt)
        if self.x_test is None or self.t_test is None:
            return x, t, x, t
        return x, t, self.x_test.astype(dt), _targets(self.t_test, dt)

    # -- checkpoints and the run folder ---------------------------------------------------------
    def check_checkpoint(self, ckpt: Checkpoint) -> None:
        """Refuse a checkpoint of a scenario, of another file, or of a network that is not the
        one this file builds now (naming the first layer that differs)."""
        cfg = ckpt.meta.get("config") or {}
        saved = cfg.get("network_file")
        if not isinstance(saved, dict):
            scenario = ckpt.meta.get("scenario")
            raise CheckpointError(
                f"this checkpoint was made for scenario {scenario!r}, not for the network file "
                f"{self.path.name!r}", file=ckpt.path, key="scenario",
                hint=f"Give the scenario it was trained on: {scenario!r} (or the run's "
                     "config.toml)")
        if saved.get("name") != self.path.name:
            raise CheckpointError(
                f"this checkpoint was made for the network file {saved.get('name')!r}, not "
                f"{self.path.name!r}", file=ckpt.path, key="network_file",
                hint=f"Give the file it was trained on: {saved.get('path')}")
        if ckpt.meta.get("architecture_hash") != self.architecture_hash():
            before = (cfg.get("network") or {}).get("layers") or []
            raise CheckpointError(
                f"the network {self.path.name} builds now differs from the one this checkpoint "
                f"was trained with: {_first_difference(before, self.layer_lines())}",
                file=ckpt.path, key="architecture_hash",
                hint=f"Resume with the file as it was ({RECORD} in the run folder has its "
                     "SHA-256), or start a new run without --resume")

    def resume_notes(self, meta: dict[str, Any]) -> list[str]:
        """What differs from the checkpoint's run without being refused: the file (its network
        is the same) or its data, either of which may make the resumed run differ from an
        uninterrupted one."""
        cfg = meta.get("config") or {}
        notes = []
        if (cfg.get("network_file") or {}).get("sha256") != self.sha256:
            notes.append(f"{self.path.name} has changed since the checkpoint was saved (its "
                         "network's layers and shapes have not): the resumed run may differ "
                         "from an uninterrupted one")
        if (cfg.get("data") or {}).get("sha256") != self.data_sha256:
            notes.append(f"the data {self.path.name} makes (x, t, x_test, t_test) differ from "
                         "the run's (is it drawn without a seed?): the resumed run trains on "
                         "the new data")
        return notes

    def record_run(self, out_dir: Path) -> Path:
        """``run.toml``: the file, its SHA-256 and the resolved settings, and the commands that
        repeat or continue the run. Rewritten when the run is resumed (epochs may grow)."""
        from tomli_w import dumps as toml_dumps

        from . import __version__

        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / RECORD
        resume = shlex.join(["backprop-tui", "train", str(self.path), "--headless",
                             "--resume", str(out_dir)])
        header = (f"# What ran (backprop-tui {__version__}): the network file, its SHA-256 and "
                  f"the resolved settings.\n# Train it again from the start with:\n#   "
                  f"{self.command()}\n# Continue this run with:\n#   {resume}\n")
        doc = {**self.config(), "command": self.command()}
        text = header + toml_dumps(doc)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))  # rewritten: never half
        return path


# ---------------------------------------------------------------------------------------------
def _option_int(nf: NetworkFile, key: str, minimum: int, default: int | None) -> int | None:
    value = nf.options.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ScenarioError("bad value in the file's bt.debug(...) call", file=nf.path,
                            key=key, value=value,
                            expected=f"an integer ≥ {minimum}")
    return int(value)


def _test_set(nf: NetworkFile) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``x_test``/``t_test`` from the file's module level, checked against ``x``/``t``."""
    xt, tt = nf.x_test, nf.t_test
    if xt is None and tt is None:
        return None, None
    if xt is None or tt is None:
        given, missing = ("t_test", "x_test") if xt is None else ("x_test", "t_test")
        raise ScenarioError(f"defines {given} but no {missing}", file=nf.path, key=missing,
                            expected="both x_test and t_test at module level, or neither")
    try:
        xt, tt = np.asarray(xt), np.asarray(tt)
    except Exception as e:  # noqa: BLE001 - e.g. ragged lists
        raise ScenarioError(f"x_test and t_test are not arrays: {e}", file=nf.path) from None
    x, t = np.asarray(nf.x), np.asarray(nf.t)
    if (xt.ndim < 2 or len(xt) == 0 or xt.shape[1:] != x.shape[1:] or len(tt) != len(xt)
            or tt.shape[1:] != t.shape[1:]):
        raise ScenarioError("x_test and t_test do not fit x and t", file=nf.path,
                            value=f"x_test of shape {xt.shape}, t_test of shape {tt.shape}",
                            expected=f"samples shaped like x's ({x.shape[1:]}) and targets "
                                     f"like t's ({t.shape[1:]}), one per sample")
    check_file_data(nf.path, x_test=xt, t_test=tt)
    return xt, tt


def _check_labels(nf: NetworkFile, t_test: np.ndarray | None) -> None:
    """Integer labels must be class indices ≥ 0: numpy takes −1 for the last class, silently,
    and the file's own loss may not check (the number of classes is only known once its code
    runs; the built-in losses check the upper end on every batch). Regression targets of a
    mean-squared-error or sigmoid loss are numbers, not labels."""
    if isinstance(nf.net.loss_layer, MeanSquaredError | SigmoidBCE):
        return
    for name, t in (("t", nf.t), ("t_test", t_test)):
        if t is not None and np.issubdtype(np.asarray(t).dtype, np.integer):
            try:
                check_labels(t, None, name)
            except BadData as e:
                raise DataError(str(e), file=nf.path) from None


def _targets(t: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float targets (one-hot, regression) in the run's dtype; class indices as they are."""
    t = np.asarray(t)
    return t.astype(dtype) if t.dtype.kind == "f" else t


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _data_sha256(*arrays: np.ndarray | None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _first_difference(before: list[str], now: list[str]) -> str:
    for old, new in zip(before, now, strict=False):
        if old != new:
            return f"{old!r} is now {new!r}"
    if len(before) != len(now):
        return (f"it had {len(before) - 1} layers, it has {len(now) - 1} now "
                f"({', '.join(now[:-1]) or 'none'})")
    return "the loss or a layer's shapes differ"


__all__ = ["NO_TEST_NOTE", "RECORD", "NetworkFileRun"]
