"""The memory estimate (backprop_tui.memory) against what training really allocates.

Trains one epoch of a built-in scenario in-process (the Trainer, as ``train --headless``) under
tracemalloc, from a fresh MNIST cache, and prints the estimate, the traced peak, their ratio and
the process's max RSS:

    python benchmarks/memory_estimate.py mnist-cnn
    python benchmarks/memory_estimate.py mnist-mlp --train-size 3000 --test-size 1000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from backprop_tui.data import clear_cache
from backprop_tui.memory import estimate, human
from backprop_tui.resources import scenarios_dir
from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--train-size", type=int)
    ap.add_argument("--test-size", type=int)
    args = ap.parse_args()
    text = (scenarios_dir() / f"{args.scenario}.toml").read_text()
    sizes = "".join(f"{k} = {v}\n" for k, v in (("train_size", args.train_size),
                                                 ("test_size", args.test_size)) if v)
    folder = Path(tempfile.mkdtemp())
    path = folder / f"{args.scenario}.toml"
    path.write_text(text.replace("[data]\n", "[data]\n" + sizes, 1))
    sc = load_scenario(path).with_train(epochs=1)
    est = estimate(sc)
    clear_cache()
    tracemalloc.start()
    t0 = time.perf_counter()
    Trainer(sc, out_dir=folder / "run").run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{args.scenario} {sizes.strip().replace(chr(10), ', ')}: estimate "
          f"{human(est.total)} ({est.what}); tracemalloc peak {human(peak)}; estimate/peak "
          f"{est.total / peak:.2f}; max RSS {human(rss)}; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
