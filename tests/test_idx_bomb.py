"""A gzip bomb in the MNIST folder (issue 13, item 11): the IDX reader reads the header first
and inflates only the bytes it promises, so a small file that inflates to hundreds of megabytes
costs kilobytes, and a header promising absurd sizes is refused before anything is inflated.
Memory is measured with tracemalloc (numpy's allocations are traced), not with timings."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from backprop_tui.data import clear_cache, read_idx
from backprop_tui.data.mnist import MAX_IDX_BYTES
from backprop_tui.errors import DataError

MB = 1 << 20
#: the bomb inflates to this many bytes of zeros after a 10-label header
BOMB_ZEROS = 300 * MB


def _bomb(path: Path, header: bytes, zeros: int) -> Path:
    """``header`` then ``zeros`` zero bytes, gzip-compressed, written without holding the
    inflated data in memory (zeros deflate about 1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    block = bytes(4 * MB)
    with open(path, "wb") as f:
        f.write(comp.compress(header))
        for _ in range(zeros // len(block)):
            f.write(comp.compress(block))
        f.write(comp.flush())
    return path


def _peak(fn) -> tuple[int, BaseException | None]:
    clear_cache()
    tracemalloc.start()
    error = None
    try:
        fn()
    except DataError as e:
        error = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    labels = (0x00000801).to_bytes(4, "big") + (10).to_bytes(4, "big") + bytes(range(10))
    return _bomb(tmp_path_factory.mktemp("bomb") / "train-labels-idx1-ubyte.gz", labels,
                 BOMB_ZEROS)


def test_a_gzip_bomb_behind_an_honest_header_is_not_inflated(bomb: Path) -> None:
    assert bomb.stat().st_size < BOMB_ZEROS // 500  # small on disk, 300 MB inflated
    peak, error = _peak(lambda: read_idx(bomb))
    assert isinstance(error, DataError)
    msg = str(error)
    assert "trailing bytes" in msg and "more than 1,048,594 bytes" in msg and str(bomb) in msg
    assert "18 bytes" in msg  # what the header promised: 8-byte header + 10 labels
    assert peak < 4 * MB, f"tracemalloc peak {peak / MB:.1f} MB"


def test_a_header_promising_absurd_sizes_is_refused_before_inflating(tmp_path: Path) -> None:
    n = 0xFFFFFFFF
    header = (0x00000803).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in (n, 28, 28))
    path = _bomb(tmp_path / "images.gz", header, 64 * MB)
    peak, error = _peak(lambda: read_idx(path))
    assert isinstance(error, DataError)
    assert f"{n} × 28 × 28" in str(error) and f"{MAX_IDX_BYTES:,}" in str(error)
    assert peak < 2 * MB, f"tracemalloc peak {peak / MB:.1f} MB"


def test_a_raw_file_with_a_huge_promise_is_refused_unread(tmp_path: Path) -> None:
    header = (0x00000801).to_bytes(4, "big") + (MAX_IDX_BYTES + 1).to_bytes(4, "big")
    path = tmp_path / "labels"
    path.write_bytes(header + bytes(100))
    with pytest.raises(DataError, match="more than any MNIST-like file holds") as e:
        read_idx(path)
    assert "corrupt gzip" not in str(e.value)  # a raw file: nothing was inflated


def test_the_real_data_still_reads_with_the_memory_of_its_array(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (500, 28, 28), dtype=np.uint8)
    header = (0x00000803).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in images.shape)
    path = tmp_path / "imgs.gz"
    path.write_bytes(gzip.compress(header + images.tobytes(), mtime=0))
    out: list[np.ndarray] = []
    peak, error = _peak(lambda: out.append(read_idx(path)))
    assert error is None and np.array_equal(out[0], images) and not out[0].flags.writeable
    assert peak < images.nbytes + MB  # the array itself, not a second inflated copy
