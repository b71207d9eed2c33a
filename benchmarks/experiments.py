"""Chapter 6's experiments: each one's time in full and with --quick on this machine, and what it
measured (its summary in words) — the README's table (issue 12: "each finishes in minutes here
(measure and list the times)").

Every experiment runs in a fresh process (``backprop-tui train NAME --headless [--quick]``: the
MNIST decode and the start-up included, as a user meets it), one after the other, into a
temporary folder. The load average is printed before and after each: the machine is shared.

Run from the repository root::

    python benchmarks/experiments.py                   # all seven, full and --quick
    python benchmarks/experiments.py overfit batchnorm --quick-only
    python benchmarks/experiments.py --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backprop_tui.experiments import EXPERIMENTS, ExperimentResult  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(name: str, quick: bool, root: Path) -> dict:
    out = root / f"{name}{'-quick' if quick else ''}"
    before = load()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "backprop_tui", "train", name, "--headless", "--out", str(out),
         *(["--quick"] if quick else [])], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    result = ExperimentResult.load(out)
    return {"experiment": name, "quick": quick, "seconds": round(seconds, 1),
            "training_seconds": round(sum(r.seconds for r in result.runs), 1),
            "runs": len(result.runs), "load_before": before, "load_after": load(),
            "summary": result.summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", default=list(EXPERIMENTS))
    ap.add_argument("--quick-only", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            for quick in ((True,) if args.quick_only else (False, True)):
                row = run(name, quick, Path(tmp))
                rows.append(row)
                print(f"{name}{' --quick' if quick else ''}: {row['seconds']} s wall "
                      f"({row['training_seconds']} s in the runs, {row['runs']} runs), load "
                      f"{row['load_before']} → {row['load_after']}", flush=True)
                for line in row["summary"]:
                    print(f"    {line}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
