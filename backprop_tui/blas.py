"""How many BLAS threads each workload runs on, through threadpoolctl (OpenBLAS as numpy's wheels
ship it, MKL, BLIS, FlexiBLAS; on any platform).

Every workload of this tool multiplies small matrices: a 32-image conv forward in the debugger
is a (18432×25)·(25×30) product, the gradient check thousands of one-layer evaluations on a
batch of 8, a training batch of 100 a (100×784)·(784×200) product. A second BLAS thread gains
at most about a quarter on an idle machine (the CNN's training batches) and costs far more when
another process wants the cores: the threads meet at a barrier after every product, and a
thread that the kernel has parked makes the others spin until it runs again. On the 2-core box
(README, "Speed under load", ``benchmarks/under_load.py``) two threads were 5–16× slower than
one once anything else ran; in the debugger (``benchmarks/tui_speed.py``) one thread cut the
step latency's p50 from ~45 ms to ~24 ms while another process kept a core busy. So every
workload runs on one thread:

- ``gradcheck`` (the command, and the debugger's ``g``): many tiny products;
- ``debugger`` (the stepper, the picker): one small step per key, next to the UI thread;
- ``dashboard``: the trainer next to the UI thread;
- ``train`` (``Trainer.run``: headless training, the dashboard's worker, benchmarks; and the
  ``eval`` command, which must compute what training's evaluation did).

**The user's setting wins.** When one of :data:`USER_VARIABLES` is set (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, …), the BLAS library has read it when numpy loaded, and this module
leaves the pool as it is, for every workload. That is also the way to have more threads.

Float32 results depend on the thread count (the order of the sums), so one count for training,
headless and in the dashboard, means the same run gives the same numbers in both.

numpy offers no API for this; the environment variables only work before numpy is imported, and
the package imports numpy at once. :func:`threads_for` applies a limit for the duration of a
``with`` block (threadpoolctl's ``threadpool_limits``, which puts the previous count back), so a
user's script that calls the library keeps its own setting afterwards. OpenBLAS's pthreads pool
is process-wide: a limit set by one thread holds for all (threadpoolctl lets only the thread
that set a limit change it until that block ends); with an OpenMP threading layer the limit is
per thread, so each worker thread enters the block itself. BLAS libraries that threadpoolctl
cannot control — Apple's Accelerate, which numpy's macOS arm64 wheels use — are left alone
(:func:`blas_threads` is then None).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: environment variables through which a user chooses BLAS threads (OpenBLAS reads
#: OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS and OMP_NUM_THREADS; MKL and BLIS their own and OMP's)
USER_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                  "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

#: the BLAS threads of each workload (measured: benchmarks/under_load.py)
WORKLOAD_THREADS = {"gradcheck": 1, "debugger": 1, "dashboard": 1, "train": 1}


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


def user_setting() -> str | None:
    """``NAME=value`` of the first thread variable the user set (non-empty), else None."""
    for name in USER_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return f"{name}={value}"
    return None


def chosen_threads(workload: str) -> int | None:
    """The BLAS threads this tool runs ``workload`` on; None when the user's setting decides."""
    if workload not in WORKLOAD_THREADS:
        raise ValueError(f"unknown workload {workload!r}; one of {', '.join(WORKLOAD_THREADS)}")
    return None if user_setting() is not None else WORKLOAD_THREADS[workload]


@contextmanager
def threads_for(workload: str) -> Iterator[None]:
    """Run the ``with`` block on ``workload``'s BLAS threads (see :data:`WORKLOAD_THREADS`),
    unless the user set a thread variable; the previous count is back afterwards."""
    n = chosen_threads(workload)
    if n is None:
        yield
        return
    import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield
