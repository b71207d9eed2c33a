"""Speed under load: the gradient check and the trainer while a competing process keeps every
core busy (issue 13, item 17), against the same runs on an idle machine.

Every run is a fresh process. In each round every (BLAS setting, load) pair runs once, in turn,
so that load from other users of the machine drifts over all of them alike; the table gives
the median and the spread (min–max) of the rounds, and the ratio loaded / idle of the medians.

BLAS settings (``--threads``, comma-separated):
  auto     the tool's own choice (backprop_tui/blas.py): no thread variable in the environment
  N        OMP_NUM_THREADS=N and OPENBLAS_NUM_THREADS=N in the child's environment, which the
           tool respects as the user's setting
  before   N = the number of cores: OpenBLAS's default, i.e. what ran before the tool chose

Competitors (``--competitor``):
  spin     one pure-Python busy loop per core (as another user's CPU-bound job)
  blas     one numpy process multiplying 600×600 matrices on its default BLAS threads
The competitor runs in a session of its own, as another user's job or a job started from
another terminal does: Linux's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``)
shares the CPU fairly between sessions first, then between the processes of a session.
``--same-session`` keeps it in this benchmark's session instead (a job started in the
background of the same terminal), where the workload gets a share of its own session's slice.

Workloads:
  gradcheck  ``backprop-tui gradcheck mnist-cnn --json``: wall clock of the whole command
             (start-up and MNIST decode included), the check's own seconds (from the JSON)
             and the CPU time the process used (threads spinning at a barrier included)
  train-mlp, train-cnn
             a fresh process trains mnist-mlp / mnist-cnn (each scenario's batch of 100,
             float32) through ``Trainer.run`` — what ``train --headless`` runs — for
             ``--batches`` batches after 3 warm-up batches: milliseconds per batch, wall
             clock and CPU time of the process

Run from the repository root::

    python benchmarks/under_load.py                                  # everything, 5 rounds
    python benchmarks/under_load.py gradcheck --runs 7 --threads auto,before
    python benchmarks/under_load.py train-cnn --threads 1,2 --competitor blas

Exit status 1 if the gradient check with the tool's choice (``auto``) takes more than 3× its
idle time under load (issue 13's "Done when"), else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

WORKLOADS = ("gradcheck", "train-mlp", "train-cnn")
TRAIN = {"train-mlp": "mnist-mlp", "train-cnn": "mnist-cnn"}
LIMIT = 3.0  # loaded / idle, for the gradient check with the tool's choice


def child_env(setting: str) -> dict[str, str]:
    """The environment of a run: the caller's, with the BLAS thread variables of ``setting``."""
    from backprop_tui.blas import USER_VARIABLES

    env = {k: v for k, v in os.environ.items()
           if k not in USER_VARIABLES and k != "BACKPROP_TUI_DATA_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if setting != "auto":
        n = str(os.cpu_count() or 1) if setting == "before" else setting
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = n
    return env


class Competitor:
    """Busy processes on every core, started and stopped by their own process ids."""

    SPIN = "while True: pass"
    BLAS = ("import numpy as np\n"
            "a = np.random.default_rng(0).random((600, 600))\n"
            "while True: a @ a\n")

    def __init__(self, kind: str, same_session: bool = False) -> None:
        self.kind = kind
        self.same_session = same_session
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Competitor:
        code, count = (self.SPIN, os.cpu_count() or 1) if self.kind == "spin" else (self.BLAS, 1)
        env = child_env("auto")  # numpy's own default: every core
        self.procs = [subprocess.Popen([sys.executable, "-c", code], env=env,
                                       start_new_session=not self.same_session)
                      for _ in range(count)]
        time.sleep(0.5)  # let them start (and numpy import) before the measured run
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_gradcheck(setting: str, cwd: Path) -> dict[str, float]:
    t0, c0 = time.perf_counter(), children_cpu()
    proc = subprocess.run([sys.executable, "-m", "backprop_tui", "gradcheck", "mnist-cnn",
                           "--json"], cwd=cwd, env=child_env(setting), capture_output=True,
                          text=True, timeout=900)
    wall, cpu = time.perf_counter() - t0, children_cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"gradcheck mnist-cnn: exit {proc.returncode}\n{proc.stderr}")
    return {"wall s": wall, "check s": json.loads(proc.stdout)["seconds"], "cpu s": cpu}


def run_train(workload: str, setting: str, batches: int, cwd: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", TRAIN[workload],
                           "--batches", str(batches)], cwd=cwd, env=child_env(setting),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{workload}: exit {proc.returncode}\n{proc.stderr}")
    return json.loads(proc.stdout)


def child(scenario: str, batches: int) -> None:
    """In the child process: train ``batches`` batches, print ms per batch and the BLAS threads
    seen while training."""
    from backprop_tui.blas import blas_threads
    from backprop_tui.scenario import load_scenario
    from backprop_tui.training import BatchEnd, Trainer

    trainer = Trainer(load_scenario(scenario).with_train(epochs=1))
    seen: list[int | None] = []

    def on_event(e: object) -> None:
        if isinstance(e, BatchEnd) and not seen:
            seen.append(blas_threads())

    trainer.run(on_event=on_event, max_iterations=3)  # warm-up: first-touch allocations
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.run(max_iterations=batches)
    ms = 1000 * (time.perf_counter() - t0) / batches
    cpu_ms = 1000 * (time.process_time() - c0) / batches
    print(json.dumps({"ms/batch": ms, "cpu ms": cpu_ms, "threads": seen[0] if seen else None}))


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} ({min(values):.2f}–{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", help=f"of {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--threads", default="auto,before",
                    help="BLAS settings to compare: auto, before, or a number (default "
                         "auto,before)")
    ap.add_argument("--competitor", choices=["spin", "blas"], default="spin")
    ap.add_argument("--batches", type=int, default=0,
                    help="batches per training run (default: 300 for mnist-mlp, 40 for "
                         "mnist-cnn)")
    ap.add_argument("--same-session", action="store_true",
                    help="run the competitor in this session (default: a session of its own)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.batches)
        return 0
    settings = args.threads.split(",")
    workloads = args.workloads or list(WORKLOADS)
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}; expected one of {', '.join(WORKLOADS)}")
    # a kill of the benchmark stops the competitor and the running workload too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    session = "this session" if args.same_session else "its own session"
    print(f"{os.cpu_count()} CPUs · competitor: {args.competitor}, in {session} · {args.runs} "
          f"rounds · load average {os.getloadavg()[0]:.2f} at start")
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for workload in workloads:
                for setting in settings:
                    for load in ("idle", "loaded"):
                        if load == "loaded":
                            with Competitor(args.competitor, args.same_session):
                                r = measure(workload, setting, args.batches, Path(tmp))
                        else:
                            r = measure(workload, setting, args.batches, Path(tmp))
                        results.setdefault((workload, setting, load), []).append(r)
                        print(f"  round {i + 1}: {workload} {setting} {load}: " +
                              ", ".join(f"{k} {v:.2f}" for k, v in r.items() if v is not None)
                              + f" (load average {os.getloadavg()[0]:.1f})", flush=True)
    ok = True
    print(f"{'workload':<11}{'BLAS':<10}{'measure':<10}{'idle: median (min–max)':>26}"
          f"{'loaded: median (min–max)':>28}{'loaded/idle':>13}")
    for workload in workloads:
        for setting in settings:
            idle, loaded = results[(workload, setting, "idle")], \
                results[(workload, setting, "loaded")]
            label = setting if setting != "before" else f"before={os.cpu_count()}"
            for key in idle[0]:
                if key == "threads":
                    continue
                a, b = [r[key] for r in idle], [r[key] for r in loaded]
                ratio = statistics.median(b) / statistics.median(a)
                print(f"{workload:<11}{label:<10}{key:<10}{spread(a):>26}{spread(b):>28}"
                      f"{ratio:>12.2f}×")
                if workload == "gradcheck" and setting == "auto" and ratio > LIMIT:
                    ok = False
            seen = {r.get("threads") for r in idle + loaded} - {None}
            if seen:
                print(f"{'':<21}BLAS threads seen while training: {sorted(seen)}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if not ok:
        print(f"the gradient check under load took more than {LIMIT:g}× its idle time")
    return 0 if ok else 1


def measure(workload: str, setting: str, batches: int, cwd: Path) -> dict[str, float]:
    if workload == "gradcheck":
        return run_gradcheck(setting, cwd)
    n = batches or (300 if workload == "train-mlp" else 40)
    return run_train(workload, setting, n, cwd)


if __name__ == "__main__":
    raise SystemExit(main())
