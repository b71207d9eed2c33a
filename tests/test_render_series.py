"""``render.series.SeriesBuffer``: a long series in bounded memory, every stored point the exact
mean of ``stride`` consecutive raw points."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_tui.tui.render.series import SeriesBuffer


# -- SeriesBuffer ------------------------------------------------------------------------------
@pytest.mark.parametrize("total", [0, 1, 7, 64, 65, 1000, 12_345])
def test_series_buffer_keeps_exact_group_means(total: int) -> None:
    rng = np.random.default_rng(total)
    x = np.arange(1, total + 1, dtype=float)
    y = rng.normal(size=total)
    buf = SeriesBuffer(max_points=64)
    i = 0
    while i < total:  # appended in chunks of random sizes, as the dashboard drains them
        k = int(rng.integers(1, 40))
        buf.extend(x[i : i + k], y[i : i + k])
        i += k
    bx, by = buf.arrays()
    s = buf.stride
    assert buf.count == total and len(bx) == len(by) == len(buf) <= 65
    full = total // s
    np.testing.assert_allclose(by[:full], y[: full * s].reshape(full, s).mean(axis=1),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(bx[:full], x[s - 1 : full * s : s])
    if total % s:  # the open group: the mean of what came since the last full group
        assert by[-1] == pytest.approx(y[full * s :].mean())
        assert bx[-1] == x[-1]
    if total <= 64:
        assert s == 1 and np.array_equal(by, y)


def test_series_buffer_append_matches_extend() -> None:
    a, b = SeriesBuffer(16), SeriesBuffer(16)
    for i in range(100):
        a.append(i, i * i)
    b.extend(np.arange(100), np.arange(100) ** 2)
    for u, v in zip(a.arrays(), b.arrays(), strict=True):
        np.testing.assert_array_equal(u, v)


def test_series_buffer_rejects_odd_sizes_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        SeriesBuffer(7)
    with pytest.raises(ValueError):
        SeriesBuffer(8).extend([1, 2], [1])
