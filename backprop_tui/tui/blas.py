"""Limit the BLAS thread pool of this process (OpenBLAS, as numpy's wheels ship it).

The debugger runs one small step per key press: a 32-image conv forward is a (18432×25)·(25×30)
product, too small for a second BLAS thread to pay off, and that thread's spinning competes with
the UI thread (and with the gradient-check worker) for the machine's cores. Measured with
benchmarks/tui_speed.py on the 2-core box, one BLAS thread cut the step latency's p50 from
~45 ms to ~24 ms while another process kept a core busy.

numpy offers no API for this (threadpoolctl does the same through ctypes); environment
variables such as ``OPENBLAS_NUM_THREADS`` only work before numpy is imported, and the package
imports numpy at once. Anything that is not OpenBLAS is left alone.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")


def _openblas() -> list[ctypes.CDLL]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: leave BLAS as it is
        return []
    paths = sorted({line.split()[-1] for line in maps.splitlines()
                    if "openblas" in line.lower() and line.split()[-1].startswith("/")})
    libs = []
    for p in paths:
        try:
            libs.append(ctypes.CDLL(p))
        except OSError:
            continue
    return libs


def blas_threads() -> int | None:
    """The OpenBLAS thread count, or None when it cannot be read."""
    for lib in _openblas():
        for name in _GETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                return int(fn())
    return None


def limit_blas_threads(n: int = 1) -> bool:
    """Set OpenBLAS to ``n`` threads; True if a library took it."""
    import numpy  # noqa: F401  (make sure the library is loaded)

    done = False
    for lib in _openblas():
        for name in _SETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
                break
    return done
