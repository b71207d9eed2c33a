"""Training speed: this project's numpy engine against PyTorch CPU and a bare numpy loop.

Issue 3 (Speed): the same network, the same initial weights (He-normal, zero biases), the same
batches (batch 100, a reshuffled epoch of the 60,000 MNIST training images), float32, plain SGD,
all in one process. Three trainers run the identical batch sequence:

* ``engine`` — exactly what the trainer runs: ``net.loss(x, t)``,
  ``net.backward(need_input_grad=False)``, ``opt.step(net)`` with the project's layers, inside
  ``with net.lean():`` (``--no-lean``: without it);
* ``bare``   — a hand-written numpy loop with the engine's algorithms but no layer objects, no
  caches and in-place updates, so the difference to ``engine`` is the engine's own overhead;
* ``torch``  — an idiomatic PyTorch loop (``nn.Sequential``, ``CrossEntropyLoss``, ``optim.SGD``,
  ``zero_grad(set_to_none=True)``).

Each trainer first runs a few untimed warm-up batches on a throw-away copy of its model. Then
the trainers take turns every ``--slice`` batches (see ``bench``), so that bursts of load from
other processes on a shared machine hit all of them. Reported per trainer: the total (seconds per
epoch), the *typical* and *best* speed (median and fastest turn, scaled to an epoch) and the
process CPU time. The mean training loss is printed as a sanity check: all three start from the
same weights and see the same batches, so their losses agree to float32 rounding.

Run from the repository root::

    .venv/bin/python benchmarks/vs_torch.py --model both --repeat 3
    .venv/bin/python benchmarks/vs_torch.py --model cnn --batches 60     # quick look
    .venv/bin/python benchmarks/vs_torch.py --threads 1                  # both single-threaded
    .venv/bin/python benchmarks/vs_torch.py --engine-threads 1           # as `train` runs it

PyTorch is a benchmark-only reference (``pip install torch``); without it the script says so and
exits 0. It is never a dependency of the project.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gzip
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from backprop_tui.engine import (  # noqa: E402
    SGD,
    Affine,
    Conv2D,
    MaxPool2D,
    Network,
    ReLU,
    SoftmaxCrossEntropy,
)

MNIST_DIR = ROOT / "assets" / "mnist"
BATCH = 100
N_TRAIN = 60_000
BATCHES_PER_EPOCH = N_TRAIN // BATCH
WARMUP_BATCHES = 5
LR = {"mlp": 0.1, "cnn": 0.05}
TARGET = {"mlp": 0.9, "cnn": 1.0}  # engine time / torch time, from issue 3
SETTLE = 0.3  # seconds of rest between two trainers' turns (see bench)

Params = dict[str, np.ndarray]
Trainer = Callable[[list[np.ndarray]], float]  # runs the given batches, returns the mean loss


# -- data ------------------------------------------------------------------------------------
def load_mnist_train(folder: Path = MNIST_DIR) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 training images as float32 (N, 784) in [0, 1] and labels as int64 (N,).

    Reads the IDX gz files directly (16-byte image header, 8-byte label header); kept in one
    function so that the project's own MNIST loader can replace it.
    """
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    x = images.reshape(-1, 784).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


def make_batches(n_batches: int, seed: int) -> list[np.ndarray]:
    """Index arrays of ``BATCH`` samples: consecutive reshuffled epochs, cut to ``n_batches``."""
    rng = np.random.default_rng(seed)
    batches: list[np.ndarray] = []
    while len(batches) < n_batches:
        perm = rng.permutation(N_TRAIN)
        batches.extend(perm[i : i + BATCH] for i in range(0, N_TRAIN, BATCH))
    return batches[:n_batches]


# -- the networks ----------------------------------------------------------------------------
def init_params(model: str, seed: int) -> Params:
    """He-normal weights (std √(2/fan_in)), zero biases, float32, in the engine's layouts:
    Affine W is (in, out), Conv W is (FN, C, FH, FW)."""
    rng = np.random.default_rng(seed)

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def zeros(n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.float32)

    if model == "mlp":
        return {
            "W1": he((784, 200), 784), "b1": zeros(200),
            "W2": he((200, 80), 200), "b2": zeros(80),
            "W3": he((80, 10), 80), "b3": zeros(10),
        }  # fmt: skip
    return {
        "Wc": he((30, 1, 5, 5), 25), "bc": zeros(30),
        "W1": he((4320, 100), 4320), "b1": zeros(100),
        "W2": he((100, 10), 100), "b2": zeros(10),
    }  # fmt: skip


def model_input(model: str, x: np.ndarray) -> np.ndarray:
    return x if model == "mlp" else x.reshape(-1, 1, 28, 28)


LEAN = True  # the trainer runs the engine in lean mode (see Network.lean); --no-lean: off


def engine_trainer(model: str, p: Params, x: np.ndarray, t: np.ndarray) -> Trainer:
    """The project's engine, driven exactly as the trainer drives it."""
    p = {k: v.copy() for k, v in p.items()}
    if model == "mlp":
        layers = [
            Affine(p["W1"], p["b1"], name="affine1"), ReLU(name="relu1"),
            Affine(p["W2"], p["b2"], name="affine2"), ReLU(name="relu2"),
            Affine(p["W3"], p["b3"], name="affine3"),
        ]  # fmt: skip
        shape: tuple[int, ...] = (784,)
    else:
        layers = [
            Conv2D(p["Wc"], p["bc"], name="conv1"), ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Affine(p["W1"], p["b1"], name="affine1"), ReLU(name="relu2"),
            Affine(p["W2"], p["b2"], name="affine2"),
        ]  # fmt: skip
        shape = (1, 28, 28)
    net = Network(layers, SoftmaxCrossEntropy(), input_shape=shape, dtype=np.float32)
    opt = SGD(LR[model])
    xs = model_input(model, x)

    def run(batches: list[np.ndarray]) -> float:
        total = 0.0
        with net.lean() if LEAN else contextlib.nullcontext():
            for idx in batches:
                total += net.loss(xs[idx], t[idx])
                net.backward(need_input_grad=False)
                opt.step(net)
        return total / len(batches)

    return run


def _softmax_ce_(s: np.ndarray, t: np.ndarray) -> float:
    """Turn scores ``s`` (N, K) into dL/ds in place; return the mean cross-entropy."""
    n = s.shape[0]
    rows = np.arange(n)
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    loss = -float(np.log(s[rows, t]).sum()) / n
    s[rows, t] -= 1.0
    s *= 1.0 / n
    return loss


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b, as (bᵀ·aᵀ)ᵀ when wider than tall (OpenBLAS threads split the result's rows)."""
    return (b.T @ a.T).T if a.shape[0] < b.shape[1] else a @ b


def _relu_(h: np.ndarray, zeros: np.ndarray) -> np.ndarray:
    """max(h, 0) in place; returns the mask h > 0. (numpy's maximum with a scalar 0 is not
    vectorised; against an array of zeros it is.)"""
    keep = h > 0
    np.maximum(h, zeros.reshape(h.shape) if h.flags.c_contiguous else 0.0, out=h)
    return keep


def bare_trainer(model: str, p: Params, x: np.ndarray, t: np.ndarray) -> Trainer:
    """A minimal hand-written numpy loop with the engine's algorithms but none of its structure
    (no layer objects, no caches, in-place updates): the floor for the engine's overhead."""
    p = {k: v.copy() for k, v in p.items()}
    lr = LR[model]
    xs = model_input(model, x)
    zeros = np.zeros(BATCH * 30 * 24 * 24, dtype=np.float32)

    if model == "mlp":
        W1, b1, W2, b2, W3, b3 = (p[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))

        def step(xb: np.ndarray, tb: np.ndarray) -> float:
            h1 = _mm(xb, W1)
            h1 += b1
            k1 = _relu_(h1, zeros[: h1.size])
            h2 = _mm(h1, W2)
            h2 += b2
            k2 = _relu_(h2, zeros[: h2.size])
            s = h2 @ W3
            s += b3
            loss = _softmax_ce_(s, tb)
            d2 = _mm(s, W3.T)
            d2 *= k2
            d1 = _mm(d2, W2.T)
            d1 *= k1
            for W, b, h, d in ((W3, b3, h2, s), (W2, b2, h1, d2), (W1, b1, xb, d1)):
                W -= lr * _mm(h.T, d)
                b -= lr * d.sum(axis=0)
            return loss

    else:
        from numpy.lib.stride_tricks import as_strided

        Wc, bc, W1, b1, W2, b2 = (p[k] for k in ("Wc", "bc", "W1", "b1", "W2", "b2"))
        Wb = np.concatenate([Wc.reshape(30, 25), bc[:, None]], axis=1)  # bias as a last column

        def step(xb: np.ndarray, tb: np.ndarray) -> float:
            n = xb.shape[0]
            # conv as one GEMM: columns (25 + a row of ones, 24·24·N), output (24, 24, N, 30)
            xt = np.ascontiguousarray(xb.reshape(n, 28, 28).transpose(1, 2, 0))
            sh, sw, sn = xt.strides
            win = as_strided(xt, (5, 5, 24, 24, n), (sh, sw, sh, sw, sn), writeable=False)
            colT = np.empty((26, 24 * 24 * n), dtype=np.float32)
            np.copyto(colT[:25].reshape(5, 5, 24, 24, n), win)
            colT[25] = 1
            y = colT.T @ Wb.T  # (24·24·N, 30)
            keep = _relu_(y, zeros[: y.size])
            # 2×2 max-pool over slabs of N·30 contiguous values; the first maximum wins
            v = y.reshape(12, 2, 12, 2, n * 30)
            views = [v[:, i, :, j] for i in (0, 1) for j in (0, 1)]
            m = np.maximum(views[0], views[1])
            np.maximum(m, views[2], out=m)
            np.maximum(m, views[3], out=m)
            sw6 = np.empty((12, 2, 12, 2, n * 30), dtype=bool)
            won = [sw6[:, i, :, j] for i in (0, 1) for j in (0, 1)]
            for q in range(4):
                np.equal(views[q], m, out=won[q])
            found = won[0].copy()
            for q in (1, 2, 3):
                np.greater(won[q], found, out=won[q])
                found |= won[q]
            a = np.ascontiguousarray(m.reshape(12, 12, n, 30).transpose(2, 3, 0, 1))
            a = a.reshape(n, 4320)
            h = _mm(a, W1)
            h += b1
            kh = _relu_(h, zeros[: h.size])
            s = h @ W2
            s += b2
            loss = _softmax_ce_(s, tb)
            dh = _mm(s, W2.T)
            dh *= kh
            da = _mm(dh, W1.T).reshape(n, 30, 12, 12)
            dt = np.ascontiguousarray(da.transpose(2, 3, 0, 1)).reshape(12, 1, 12, 1, n * 30)
            dy = np.multiply(sw6, dt).reshape(-1, 30)  # routed through the switches
            dy *= keep  # ReLU
            dWb = dy.T @ colT.T  # [dW | db]
            Wb[...] -= lr * dWb
            for W, b, hh, d in ((W2, b2, h, s), (W1, b1, a, dh)):
                W -= lr * _mm(hh.T, d)
                b -= lr * d.sum(axis=0)
            return loss

    def run(batches: list[np.ndarray]) -> float:
        total = 0.0
        for idx in batches:
            total += step(xs[idx], t[idx])
        return total / len(batches)

    return run


def torch_trainer(model: str, p: Params, x: np.ndarray, t: np.ndarray) -> Trainer:
    """An idiomatic PyTorch CPU loop with the same initial weights."""
    import torch
    from torch import nn

    if model == "mlp":
        net = nn.Sequential(
            nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 80), nn.ReLU(), nn.Linear(80, 10)
        )
        pairs = [(net[0], "W1", "b1"), (net[2], "W2", "b2"), (net[4], "W3", "b3")]
    else:
        net = nn.Sequential(
            nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(4320, 100), nn.ReLU(), nn.Linear(100, 10),
        )  # fmt: skip
        pairs = [(net[0], "Wc", "bc"), (net[4], "W1", "b1"), (net[6], "W2", "b2")]
    with torch.no_grad():
        for mod, w, b in pairs:
            W = p[w] if p[w].ndim == 4 else p[w].T  # Linear keeps (out, in)
            mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
            mod.bias.copy_(torch.from_numpy(p[b]))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=LR[model])
    xs = torch.from_numpy(model_input(model, x))
    ts = torch.from_numpy(t)

    def run(batches: list[np.ndarray]) -> float:
        total = 0.0
        for idx in batches:
            i = torch.from_numpy(idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[i]), ts[i])
            loss.backward()
            opt.step()
            total += loss.item()
        return total / len(batches)

    return run


# -- threads ---------------------------------------------------------------------------------
def openblas_threads() -> str:
    """Thread count of the OpenBLAS numpy links to (read through its C API), or 'unknown'."""
    try:
        import threadpoolctl  # type: ignore[import-not-found]

        info = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
        if info:
            return ", ".join(f"{i['num_threads']} ({Path(i['filepath']).name})" for i in info)
    except ImportError:
        pass
    with open("/proc/self/maps") as maps:
        libs = sorted({ln.split()[-1] for ln in maps if "openblas" in ln.lower() and ".so" in ln})
    for lib in libs:
        handle = ctypes.CDLL(lib)
        for sym in (
            "scipy_openblas_get_num_threads64_",
            "openblas_get_num_threads64_",
            "openblas_get_num_threads",
        ):
            fn = getattr(handle, sym, None)
            if fn is not None:
                return f"{fn()} ({Path(lib).name})"
    return "unknown"


def set_openblas_threads(n: int) -> bool:
    """Set the thread count of numpy's OpenBLAS at run time; False if it cannot be found."""
    try:
        import threadpoolctl  # type: ignore[import-not-found]

        threadpoolctl.threadpool_limits(n, user_api="blas")
        return True
    except ImportError:
        pass
    with open("/proc/self/maps") as maps:
        libs = sorted({ln.split()[-1] for ln in maps if "openblas" in ln.lower() and ".so" in ln})
    done = False
    for lib in libs:
        handle = ctypes.CDLL(lib)
        for sym in (
            "scipy_openblas_set_num_threads64_",
            "openblas_set_num_threads64_",
            "openblas_set_num_threads",
        ):
            fn = getattr(handle, sym, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
                break
    return done


# -- the harness -----------------------------------------------------------------------------
def bench(
    model: str, n_batches: int, repeat: int, seed: int, only: list[str], slice_len: int
) -> dict:
    """Time each trainer on the same ``n_batches``, ``repeat`` times.

    The batches are cut into slices of ``slice_len`` and the trainers take turns slice by slice
    (rotating who goes first), so that a burst of load from another process on a shared machine
    hits all of them alike instead of one whole run. Each trainer still trains one model on all
    the batches in order; its time is the sum of its slices. Between turns the benchmark sleeps
    ``SETTLE`` seconds (not timed): the BLAS/OpenMP threads of the trainer that just ran spin
    on a core for up to ~0.1 s after their last call and would otherwise slow the next one.
    """
    x, t = load_mnist_train()
    params = init_params(model, seed)
    batches = make_batches(n_batches, seed + 1)
    warm = make_batches(WARMUP_BATCHES, seed + 2)
    makers = {"engine": engine_trainer, "bare": bare_trainer, "torch": torch_trainer}
    slices = [batches[i : i + slice_len] for i in range(0, len(batches), slice_len)]
    times: dict[str, list[float]] = {k: [] for k in only}
    cpu: dict[str, list[float]] = {k: [] for k in only}
    slice_times: dict[str, list[float]] = {k: [] for k in only}
    losses: dict[str, float] = {}
    for _ in range(repeat):
        runs = {}
        for name in only:
            makers[name](model, params, x, t)(warm)  # warm-up on a throw-away copy
            runs[name] = makers[name](model, params, x, t)
        wall = dict.fromkeys(only, 0.0)
        proc = dict.fromkeys(only, 0.0)
        loss_sum = dict.fromkeys(only, 0.0)
        for i, sl in enumerate(slices):
            for j in range(len(only)):
                name = only[(i + j) % len(only)]
                c0, t0 = time.process_time(), time.perf_counter()
                loss_sum[name] += runs[name](sl) * len(sl)
                dt = time.perf_counter() - t0
                wall[name] += dt
                proc[name] += time.process_time() - c0
                slice_times[name].append(dt / len(sl))
                # let the thread pool that just ran park its threads: OpenBLAS and OpenMP
                # workers spin for a while after each call and would slow the next trainer
                time.sleep(SETTLE)
        for name in only:
            times[name].append(wall[name])
            cpu[name].append(proc[name])
            losses[name] = loss_sum[name] / len(batches)
    return {"times": times, "cpu": cpu, "slices": slice_times, "losses": losses}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per timed run (default 1)")
    ap.add_argument(
        "--batches", type=int, default=None,
        help=f"run only N batches of {BATCH} (quick look); times are scaled to a full epoch",
    )  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per trainer (best is used)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--slice", type=int, default=50,
        help="batches per turn: the trainers take turns every N batches (default 50)",
    )  # fmt: skip
    ap.add_argument(
        "--only", default="engine,bare,torch",
        help="comma-separated trainers to run (engine, bare, torch)",
    )  # fmt: skip
    ap.add_argument(
        "--threads", type=int, default=None,
        help="set both OpenBLAS and torch to N threads (default: leave both as they are)",
    )  # fmt: skip
    ap.add_argument(
        "--engine-threads", type=int, default=None,
        help="set only numpy's OpenBLAS to N threads, torch left as it is (`backprop-tui "
             "train` runs on 1: --engine-threads 1 compares what it does with PyTorch's default)",
    )  # fmt: skip
    ap.add_argument(
        "--no-lean", action="store_true",
        help="run the engine outside lean mode (keeping the debugger-only cache tensors)",
    )  # fmt: skip
    ap.add_argument(
        "--check", action="store_true",
        help="exit 1 when engine/torch misses the issue-3 target (mlp ≤ 0.9, cnn ≤ 1.0)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    global LEAN
    LEAN = not args.no_lean
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if bad := set(only) - {"engine", "bare", "torch"}:
        ap.error(f"unknown trainer(s) in --only: {sorted(bad)}")

    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: skipping the comparison (pip install torch to run it).")
        return 0

    if args.threads is not None:
        if not set_openblas_threads(args.threads):
            print("warning: could not set the OpenBLAS thread count", file=sys.stderr)
        torch.set_num_threads(args.threads)
    if args.engine_threads is not None:  # numpy's OpenBLAS only: torch's BLAS is its own
        import threadpoolctl

        torch_threads = torch.get_num_threads()
        threadpoolctl.ThreadpoolController().select(internal_api="openblas").limit(
            limits=args.engine_threads)
        torch.set_num_threads(torch_threads)

    n_batches = args.batches if args.batches else args.epochs * BATCHES_PER_EPOCH
    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    print(
        f"numpy {np.__version__} (OpenBLAS threads: {openblas_threads()}), "
        f"torch {torch.__version__} (threads {torch.get_num_threads()}, "
        f"interop {torch.get_num_interop_threads()})"
    )
    print(
        f"float32, batch {BATCH}, SGD, {n_batches} batches per timed run, "
        f"{WARMUP_BATCHES} warm-up batches, turns of {args.slice} batches, "
        f"best of {args.repeat}\n"
        f"s/epoch = wall-clock seconds per {BATCHES_PER_EPOCH} batches (sum of the turns); "
        f"typical/best = the median/fastest turn's seconds per batch × {BATCHES_PER_EPOCH} "
        "(robust to bursts of load\nfrom other processes); cpu = process CPU time (all "
        "threads, spinning BLAS/OpenMP threads included); the target is checked on 'typical'"
    )
    missed = False
    for model in models:
        res = bench(model, n_batches, args.repeat, args.seed, only, args.slice)
        print(f"\nmnist-{model}")
        total, typical, best = {}, {}, {}
        scale = BATCHES_PER_EPOCH / n_batches
        for name, ts in res["times"].items():
            total[name] = min(ts) * scale
            typical[name] = statistics.median(res["slices"][name]) * BATCHES_PER_EPOCH
            best[name] = min(res["slices"][name]) * BATCHES_PER_EPOCH
            print(
                f"  {name:<6} {total[name]:7.3f} s/epoch   typical {typical[name]:7.3f}   "
                f"best {best[name]:7.3f}   cpu {min(res['cpu'][name]) * scale:7.3f}   "
                f"mean loss {res['losses'][name]:.4f}"
            )
        pairs = [("engine", "torch"), ("engine", "bare"), ("bare", "torch")]
        for a, b in pairs:
            if a in total and b in total:
                line = (
                    f"  {a}/{b} = {total[a] / total[b]:.3f}   "
                    f"(typical {typical[a] / typical[b]:.3f}, best {best[a] / best[b]:.3f})"
                )
                if (a, b) == ("engine", "torch"):
                    ok = typical[a] / typical[b] <= TARGET[model]
                    missed |= not ok
                    line += f"   target ≤ {TARGET[model]}: {'met' if ok else 'MISSED'}"
                print(line)
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
