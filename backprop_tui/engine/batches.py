"""Seeded mini-batch iteration, reshuffled every epoch.

``Batches`` cuts ``(x, t)`` into mini-batches along the first axis. With ``shuffle=True`` every
epoch draws a fresh permutation from the object's own ``np.random.Generator``, so the same seed
gives the same batches, bit for bit, however the iteration is interrupted and resumed.

Choices (documented because the trainer and the checkpoints depend on them):

* The last, partial batch of an epoch is **kept** (``batches_per_epoch = ⌈N / batch_size⌉``), so
  every sample is seen once per epoch. ``drop_last=True`` drops it instead — useful with
  BatchNorm, whose statistics are poor on a tiny batch.
* The epoch rolls over lazily: after the last batch of epoch ``e`` has been taken, ``epoch`` is
  still ``e`` and ``position == batches_per_epoch`` (:attr:`epoch_done` is true); the next
  :meth:`next` starts epoch ``e + 1`` and draws its permutation. A checkpoint taken at the end of
  an epoch therefore says "epoch e finished", not "epoch e + 1 begun".
* Speed: a shuffled batch costs one fancy-index gather (``x[idx]``, the only copy); an unshuffled
  batch is a slice, i.e. a view of ``x`` with no copy at all. Batches must therefore be treated
  as read-only by their consumers (the engine never writes into its inputs).
* :meth:`state` holds no permutation: it keeps the generator state from *before* the current
  epoch's permutation was drawn, and :meth:`set_state` draws it again. The state is a small
  dict of ints (JSON-able as is) however large the dataset.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

SeedLike = int | np.random.Generator | None


class Batches:
    """Mini-batches of ``(x, t)``, optionally reshuffled each epoch from a seeded generator.

    ``seed`` is an int (a fresh PCG64 generator is seeded with it), a ``np.random.Generator``
    (used as is — give the object its own, unshared generator, or the batches will depend on
    whoever else draws from it), or ``None`` (unpredictable; not for reproducible runs).
    """

    def __init__(
        self,
        x: np.ndarray,
        t: np.ndarray,
        batch_size: int,
        seed: SeedLike = 0,
        shuffle: bool = True,
        *,
        drop_last: bool = False,
    ) -> None:
        x = np.asarray(x)
        t = np.asarray(t)
        if x.ndim == 0 or t.ndim == 0:
            raise ValueError("x and t must have a leading sample axis")
        if len(x) != len(t):
            raise ValueError(f"x has {len(x)} samples but t has {len(t)}")
        if len(x) == 0:
            raise ValueError("cannot make batches of an empty dataset")
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.x = x
        self.t = t
        self.n = len(x)
        self.batch_size = min(batch_size, self.n)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if self.drop_last:
            self.batches_per_epoch = self.n // self.batch_size
        else:
            self.batches_per_epoch = -(-self.n // self.batch_size)
        if isinstance(seed, np.random.Generator):
            self.rng = seed
        else:
            self.rng = np.random.default_rng(seed)
        #: index of the current epoch (0-based)
        self.epoch = 0
        #: number of batches already taken from the current epoch
        self.position = 0
        self._epoch_rng_state: dict[str, Any] | None = None
        self.order: np.ndarray | None = None  # the current epoch's permutation (shuffle only)
        self._draw_order()

    # -- iteration ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.batches_per_epoch

    @property
    def epoch_done(self) -> bool:
        """True when every batch of the current epoch has been taken."""
        return self.position >= self.batches_per_epoch

    def _draw_order(self) -> None:
        if self.shuffle:
            self._epoch_rng_state = copy.deepcopy(self.rng.bit_generator.state)
            self.order = self.rng.permutation(self.n)
        else:
            self._epoch_rng_state = None
            self.order = None

    def bounds(self, position: int) -> tuple[int, int]:
        """Sample range ``[start, stop)`` of batch ``position`` within an epoch's order."""
        start = position * self.batch_size
        return start, min(start + self.batch_size, self.n)

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """The next batch ``(xb, tb)``; starts a new epoch (and reshuffles) when one is done."""
        if self.position >= self.batches_per_epoch:
            self.epoch += 1
            self.position = 0
            self._draw_order()
        start, stop = self.bounds(self.position)
        self.position += 1
        if self.order is None:
            return self.x[start:stop], self.t[start:stop]
        idx = self.order[start:stop]
        return self.x[idx], self.t[idx]

    def epoch_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the remaining batches of the current epoch (of the next one if it is done)."""
        if self.epoch_done:
            yield self.next()
        while not self.epoch_done:
            yield self.next()

    # -- state --------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Where the iteration stands, as plain JSON-able data (ints, bools, nested dicts).

        ``rng`` is the generator state from before the current epoch's permutation was drawn
        (None without shuffling); :meth:`set_state` redraws that permutation from it. With the
        default PCG64 generator it holds Python ints only, so ``json.dumps`` takes it as is.
        """
        return {
            "n": self.n,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "epoch": self.epoch,
            "position": self.position,
            "rng": copy.deepcopy(self._epoch_rng_state),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state`: the following batches are exactly those that followed."""
        for key in ("n", "batch_size", "shuffle", "drop_last"):
            have = getattr(self, key)
            if key in state and state[key] != have:
                raise ValueError(f"batch state was saved with {key}={state[key]!r}, not {have!r}")
        epoch, position = int(state["epoch"]), int(state["position"])
        if not 0 <= position <= self.batches_per_epoch or epoch < 0:
            raise ValueError(f"batch state out of range: epoch {epoch}, position {position}")
        if self.shuffle:
            rng_state = state.get("rng")
            if rng_state is None:
                raise ValueError("batch state of a shuffled iteration has no generator state")
            if epoch != self.epoch or rng_state != self._epoch_rng_state:
                self.rng.bit_generator.state = copy.deepcopy(rng_state)
                self._draw_order()
        self.epoch = epoch
        self.position = position

    def __repr__(self) -> str:
        return (
            f"<Batches n={self.n} batch_size={self.batch_size} shuffle={self.shuffle} "
            f"epoch={self.epoch} position={self.position}/{self.batches_per_epoch}>"
        )


class RowBatches(Batches):
    """:class:`Batches` over ``n`` samples that converts only the rows of each batch.

    ``load(rows)`` returns the inputs of those training rows: a data set kept compact (MNIST's
    uint8 images) is converted one batch at a time. The batches are exactly those of
    ``Batches(x_all, t_all, batch_size, seed)``: the permutation is drawn from the same
    generator over the same number of samples.
    """

    def __init__(self, n: int, t: np.ndarray, load: Callable[[np.ndarray], np.ndarray],
                 batch_size: int, seed: np.random.Generator | int) -> None:
        super().__init__(np.arange(n), t, batch_size, seed)
        self._load = load

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        rows, t = super().next()
        return self._load(rows), t
