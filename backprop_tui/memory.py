"""How much memory a scenario needs, estimated from its shapes before anything is built.

A scenario file can ask for an affine layer of ``out = 1000000000`` (15 GiB of weights) or a
convolution with ``pad = 100000`` (terabytes of im2col columns). The estimate adds up, from the
validated shapes alone (no weights drawn):

* parameters: the weights, their gradients and the optimizer's state (momentum and AdaGrad keep
  one array per parameter, Adam two);
* activations: every layer's output, kept for backward, and as much again for the gradients
  flowing back, at the training batch size — and the forward pass of evaluation, which runs in
  chunks of :data:`EVAL_BATCH` samples;
* working memory: what a layer needs beyond its input and output (im2col's columns, a padded
  copy: :meth:`~backprop_tui.engine.layers.Layer.scratch_per_sample`);
* data: the training and test sets in the training dtype (MNIST's decoded bytes too).

The debugger and the gradient check work in float64 at their own (small) batch sizes, with a
bounded history of snapshots; the estimate is the larger of that and training. A scenario whose
estimate exceeds the memory the machine has available (``MemAvailable`` in ``/proc/meminfo``,
else the physical memory from ``os.sysconf``) is refused with both numbers, before it is built.

The estimate is within a factor of 2 of the peak measured with tracemalloc for MNIST
scenarios (``tests/test_memory.py`` measures it).

UI-free: numpy, the engine and the package's own modules.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine.optim import OPTIMIZERS
from .engine.registry import Build
from .engine.stepper import DEFAULT_HISTORY_BYTES
from .errors import ScenarioError, UsageError

if TYPE_CHECKING:
    from .scenario import Scenario

#: ``training.evaluate`` runs the forward pass over the data in chunks of this many samples
EVAL_BATCH = 1000
#: samples in the splits of a data source (MNIST: the official 60k/10k; gates: the truth table)
_SPLITS = {"mnist": (60_000, 10_000), "iris": (120, 30)}
_MNIST_BYTES = 70_000 * 28 * 28  # the decoded uint8 images, cached while the program runs


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes, by what needs them; ``what`` says for which use (training or stepping)."""

    what: str
    parameters: int
    activations: int
    scratch: int
    data: int
    history: int = 0  #: the debugger's snapshots for stepping back

    @property
    def total(self) -> int:
        return self.parameters + self.activations + self.scratch + self.data + self.history

    def describe(self) -> str:
        parts = [f"parameters, gradients and optimizer state {human(self.parameters)}",
                 f"activations {human(self.activations)}"]
        if self.scratch:
            parts.append(f"im2col and other working memory {human(self.scratch)}")
        parts.append(f"data {human(self.data)}")
        if self.history:
            parts.append(f"history for stepping back {human(self.history)}")
        return f"about {human(self.total)} for {self.what} ({', '.join(parts)})"


def human(n: float) -> str:
    """``1.5 GiB``, ``218 TiB``, ``12 MiB``, ``900 bytes``."""
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                       ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}" if n < 10 * size else f"{n / size:,.0f} {unit}"
    return f"{int(n)} bytes"


def _per_sample(sc: Scenario) -> tuple[int, int]:
    """Entries per sample: every layer's input and output, and the layers' working memory."""
    entries = math.prod(sc.input_shape)
    scratch = 0
    shape = sc.input_shape
    for spec, out in zip(sc.layers, sc.shapes, strict=True):
        entries += math.prod(out)
        scratch += spec.build(shape, Build()).scratch_per_sample(shape)
        shape = out
    return entries, scratch


def _split_sizes(sc: Scenario) -> tuple[int, int]:
    d = sc.data
    n_train, n_test = _SPLITS.get(d.source, (4, 4))
    if d.train_size:
        n_train = min(n_train, d.train_size)
    if d.test_size:
        n_test = min(n_test, d.test_size)
    return n_train, n_test


def estimate(sc: Scenario) -> MemoryEstimate:
    """The larger of what training and what stepping (debugger, gradient check) need."""
    entries, scratch = _per_sample(sc)
    n_train, n_test = _split_sizes(sc)
    data = (n_train + n_test) * math.prod(sc.input_shape)
    decoded = _MNIST_BYTES if sc.data.source == "mnist" else 0
    params = sc.param_count
    slots = len(OPTIMIZERS[sc.train.optimizer].slots)  # arrays kept per parameter
    size = np.dtype(sc.train.dtype).itemsize
    # training: forward outputs kept for backward and the gradients flowing back; evaluation
    # runs forward only, in chunks of up to EVAL_BATCH samples
    batch = min(sc.train.batch_size, n_train)
    chunk = min(EVAL_BATCH, max(n_train, n_test))
    train = MemoryEstimate("training", params * (2 + slots) * size,
                           max(batch * 2, chunk) * entries * size,
                           max(batch, chunk) * scratch * size, data * size + decoded)
    # stepping: float64, its own batch sizes, a snapshot ring, the data kept as loaded
    b = min(max(sc.debug_batch_size, sc.gradcheck_batch_size), n_train)
    step = MemoryEstimate("stepping (debugger, gradient check)", params * (2 + slots) * 8,
                          b * 2 * entries * 8,
                          b * scratch * 8, (data * 8 if not decoded else 0) + decoded,
                          DEFAULT_HISTORY_BYTES)
    return max(train, step, key=lambda e: e.total)


def available_bytes() -> int | None:
    """Memory available to a new allocation now: ``MemAvailable`` from ``/proc/meminfo``
    (Linux), else the physical memory (``os.sysconf``); None where neither can be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return None


def check_fits(sc: Scenario, key: str | None = None, value: int | None = None
               ) -> MemoryEstimate:
    """Refuse a scenario that cannot fit in the memory available now (a ScenarioError naming
    the file, the estimate and the available memory; a UsageError when ``key`` is the command
    line's option, with its ``value``); returns the estimate."""
    need = estimate(sc)
    have = available_bytes()
    if have is not None and need.total > have:
        problem = (f"this network needs {need.describe()}, but this machine has "
                   f"{human(have)} of memory available")
        if key is not None and key.startswith("--"):  # the option, not the file, is too big
            raise UsageError(problem, key=key, value=value, hint=f"Give a smaller {key}")
        raise ScenarioError(problem, file=sc.path, key=key or "network.layers",
                            hint="Make the layers (out, filters, pad) or the batch_size smaller")
    return need
