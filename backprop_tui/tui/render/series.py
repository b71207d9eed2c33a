"""What a line chart draws: :class:`Series` (one line, ``y`` at ``x``), and
:class:`SeriesBuffer`, which keeps a long series in bounded memory: past ``max_points`` it
halves itself by averaging neighbours, so every stored point is the exact mean of ``stride``
consecutive raw points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .colors import COLORS


@dataclass(frozen=True)
class Series:
    """One line: ``y[i]`` at ``x[i]`` (x ascending), drawn in ``color``."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: str = COLORS[0]

    @classmethod
    def of(cls, label: str, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
           color: str = COLORS[0]) -> Series:
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        if xs.shape != ys.shape:
            raise ValueError(f"x has {xs.size} points but y has {ys.size}")
        return cls(label, xs, ys, color)


# -- bounded series ------------------------------------------------------------------------------
class SeriesBuffer:
    """An append-only (x, y) series in bounded memory.

    Points are stored as they come until ``max_points``; then neighbours are averaged in pairs
    and ``stride`` doubles, and later points are accumulated ``stride`` at a time. Every stored
    y is therefore the exact mean of ``stride`` consecutive raw values (x is the last x of the
    group), and the most recent, not yet complete group is included in :meth:`arrays`.
    """

    def __init__(self, max_points: int = 4096) -> None:
        if max_points < 2 or max_points % 2:
            raise ValueError("max_points must be an even number ≥ 2")
        self.max_points = int(max_points)
        self.stride = 1
        self.count = 0  #: raw points appended
        self._x = np.empty(self.max_points, dtype=np.float64)
        self._y = np.empty(self.max_points, dtype=np.float64)
        self._n = 0
        self._acc_sum = 0.0
        self._acc_n = 0
        self._acc_x = 0.0

    def __len__(self) -> int:
        return self._n + (1 if self._acc_n else 0)

    def append(self, x: float, y: float) -> None:
        self.extend(np.array([x], dtype=np.float64), np.array([y], dtype=np.float64))

    def extend(self, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> None:
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        if xs.shape != ys.shape:
            raise ValueError(f"x has {xs.size} points but y has {ys.size}")
        self.count += xs.size
        i, n = 0, xs.size
        while i < n:
            s = self.stride
            if self._acc_n == 0 and self._n < self.max_points:
                g = min((n - i) // s, self.max_points - self._n)
                if g:  # whole groups in one vectorised go
                    block = ys[i : i + g * s].reshape(g, s)
                    self._y[self._n : self._n + g] = block[:, 0] if s == 1 else block.mean(1)
                    self._x[self._n : self._n + g] = xs[i + s - 1 : i + g * s : s]
                    self._n += g
                    i += g * s
                    continue
            if self._acc_n == 0 and self._n == self.max_points:
                self._halve()
                continue
            part = ys[i : i + s - self._acc_n]  # the open group takes what it lacks
            self._acc_sum += float(part.sum())
            self._acc_n += part.size
            self._acc_x = float(xs[i + part.size - 1])
            i += part.size
            if self._acc_n == s:
                if self._n == self.max_points:
                    self._halve()  # the full group is now half of an open group
                else:
                    self._x[self._n] = self._acc_x
                    self._y[self._n] = self._acc_sum / s
                    self._n += 1
                    self._acc_sum, self._acc_n = 0.0, 0

    def _halve(self) -> None:
        """Average neighbours in pairs (the buffer is full, and ``max_points`` is even); an
        open group of the old stride stays open, as the first half of a group of the new."""
        pairs = self._n // 2
        self._y[:pairs] = self._y[: 2 * pairs].reshape(pairs, 2).mean(axis=1)
        self._x[:pairs] = self._x[1 : 2 * pairs : 2]
        self.stride *= 2
        self._n = pairs

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the stored x and y (with the open group's mean last, if any)."""
        x, y = self._x[: self._n].copy(), self._y[: self._n].copy()
        if self._acc_n:
            x = np.append(x, self._acc_x)
            y = np.append(y, self._acc_sum / self._acc_n)
        return x, y
