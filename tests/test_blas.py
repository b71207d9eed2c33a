"""tui/blas.py: one BLAS thread for the UI, through threadpoolctl, and back."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from backprop_tui.tui.blas import blas_threads, limit_blas_threads


def _need_blas() -> int:
    n = blas_threads()
    if n is None:
        pytest.skip("no BLAS library that threadpoolctl can control is loaded (e.g. Accelerate)")
    return n


def test_limit_to_one_thread_stays_and_restores() -> None:
    before = _need_blas()
    try:
        assert limit_blas_threads(1)
        gc.collect()  # a plain threadpool_limits call: nothing restores the limit behind our back
        assert blas_threads() == 1
    finally:
        limit_blas_threads(before)
    assert blas_threads() == before


# this test process may already run one BLAS thread (the CLI's dashboard sets it): a fresh
# interpreter starts from numpy's default, so the limit really changes something there
_FRESH = """
from backprop_tui.tui.blas import blas_threads, limit_blas_threads
before = blas_threads()
if before is None:
    print("none")
else:
    took = limit_blas_threads(1)
    limited = blas_threads()
    limit_blas_threads(before)
    print(before, took, limited, blas_threads())
"""


def test_limit_in_a_fresh_interpreter() -> None:
    _need_blas()
    out = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    if out == ["none"]:
        pytest.skip("no BLAS library found in a fresh interpreter")
    before, took, limited, after = out
    assert (took, limited, after) == ("True", "1", before)
