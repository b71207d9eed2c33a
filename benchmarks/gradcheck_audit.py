"""Wall-clock time of ``backprop-tui gradcheck`` on every built-in scenario.

Issue 2 ("Done when"): the MNIST CNN audit takes under 15 s on the 2-core reference machine.
Speed targets live here, not in the unit tests: each audit runs the way a user runs it — a fresh
process of the installed command (interpreter start, imports, MNIST decode, the check, the
table) — and the wall clock of the whole process is measured. The ``check`` column is the time
of the gradient check alone, as the command reports it in ``--json``.

Run from the repository root (after ``pip install -e .``)::

    .venv/bin/python benchmarks/gradcheck_audit.py               # every built-in, best of 3
    .venv/bin/python benchmarks/gradcheck_audit.py mnist-cnn --repeat 5

Exit status 1 if an audit fails or the MNIST CNN misses its 15 s budget, else 0. The load
average is printed with the table: other work on the machine slows every number down.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from backprop_tui.scenario import builtin_names, load_scenario  # noqa: E402

BUDGET_S = {"mnist-cnn": 15.0}


def command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "backprop-tui"
    if script.exists():
        return [str(script)]
    found = shutil.which("backprop-tui")
    return [found] if found else [sys.executable, "-m", "backprop_tui"]


def audit(name: str, cwd: Path) -> tuple[float, dict]:
    """One run of ``gradcheck NAME --json`` in a fresh process: (wall seconds, report)."""
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_TUI_DATA_DIR"}
    t0 = time.perf_counter()
    proc = subprocess.run([*command(), "gradcheck", name, "--json"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr}")
    return wall, json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="scenarios (default: every built-in)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (best is kept)")
    args = parser.parse_args(argv)
    names = args.names or builtin_names()
    if not args.names:  # every built-in whose data is here (CIFAR-10 is never shipped)
        missing = {n: load_scenario(n).missing_data for n in names}
        for name, needs in missing.items():
            if needs:
                print(f"{name}: skipped, {needs}")
        names = [n for n in names if not missing[n]]

    print(f"{' '.join(command())} gradcheck NAME --json · best of {args.repeat} · "
          f"{os.cpu_count()} CPUs · load average {os.getloadavg()[0]:.2f} at start")
    header = f"{'scenario':<16}{'wall best':>10}{'median':>9}{'check':>8}{'evals':>8}" \
             f"{'tensors':>9}  verdict"
    print(header)
    print("-" * len(header))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:  # run from another directory, as a user would
        for name in names:
            runs = [audit(name, Path(tmp)) for _ in range(args.repeat)]
            walls = [w for w, _ in runs]
            best = min(range(len(runs)), key=lambda i: walls[i])
            report = runs[best][1]
            passed = bool(report["passed"])
            if "skipped" in report:
                verdict, check, evals = "skipped (nothing to check)", "—", "—"
            else:
                verdict = "pass" if passed else "FAIL"
                check, evals = f"{report['seconds']:.2f}", f"{report['evaluations']:,}"
            budget = BUDGET_S.get(name)
            if budget is not None:
                within = walls[best] < budget
                verdict += f" · budget {budget:g} s {'met' if within else 'MISSED'}"
                ok &= within
            ok &= passed
            print(f"{name:<16}{walls[best]:>9.2f}s{statistics.median(walls):>8.2f}s"
                  f"{check:>8}{evals:>8}{len(report['checks']):>9}  {verdict}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
