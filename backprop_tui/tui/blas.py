"""Limit the BLAS thread pool of this process, through threadpoolctl (OpenBLAS as numpy's wheels
ship it, MKL, BLIS, FlexiBLAS; on any platform).

The debugger runs one small step per key press: a 32-image conv forward is a (18432×25)·(25×30)
product, too small for a second BLAS thread to pay off, and that thread's spinning competes with
the UI thread (and with the gradient-check worker) for the machine's cores. Measured with
benchmarks/tui_speed.py on the 2-core box, one BLAS thread cut the step latency's p50 from
~45 ms to ~24 ms while another process kept a core busy. The training dashboard sets it too:
the trainer and the UI thread share the cores the same way.

numpy offers no API for this; environment variables such as ``OPENBLAS_NUM_THREADS`` only work
before numpy is imported, and the package imports numpy at once. The limit is process-wide and
stays set (``threadpool_limits`` called, not used as a context manager). BLAS libraries that
threadpoolctl cannot control — Apple's Accelerate, which numpy's macOS arm64 wheels use — are
left alone: ``limit_blas_threads`` returns False and ``blas_threads`` None.
"""

from __future__ import annotations


def _blas_info() -> list[dict]:
    """threadpoolctl's description of the BLAS libraries loaded in this process."""
    import numpy  # noqa: F401  (make sure numpy's BLAS is loaded: only loaded ones are seen)
    from threadpoolctl import threadpool_info

    return [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]


def blas_threads() -> int | None:
    """The BLAS thread count (the largest, should several BLAS libraries be loaded), or None
    when no BLAS library that threadpoolctl knows is loaded."""
    counts = [lib["num_threads"] for lib in _blas_info() if lib.get("num_threads") is not None]
    return max(counts) if counts else None


def limit_blas_threads(n: int = 1) -> bool:
    """Set every BLAS library of the process to ``n`` threads, for good; True if one runs ``n``
    threads now. Call it from the main thread: on OpenBLAS's own threading layer, threadpoolctl
    (≥ 3.8) lets only the first thread that set a limit change it again."""
    import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n, user_api="blas")
    return any(lib.get("num_threads") == n for lib in _blas_info())
