"""Chapter 6's experiments (*Deep Learning from Scratch*): built-in multi-run scenarios made of the
engine's own layers and optimizers and the project's trainer. UI-free (numpy, the engine,
training): the headless command (``experimentrun``) and the compare view both call
:func:`run_experiment` and draw the :class:`~.result.ExperimentResult` it fills.

* ``init-histograms`` — activations per layer by weight init (forward only);
* ``init-compare`` — std 0.01 / Xavier / He on MNIST;
* ``optimizer-paths`` — SGD, Momentum, AdaGrad, Adam on x²/20 + y²;
* ``optimizer-compare`` — the four optimizers on MNIST;
* ``batchnorm`` — with and without batch norm over 16 weight scales;
* ``overfit`` — overfitting 300 samples, and weight decay and dropout against it;
* ``hyperparameter-search`` — random search over lr and weight decay.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from ..blas import threads_for
from ..errors import ScenarioError, UsageError
from . import forward, mnist, paths
from .base import Context, ExperimentSpec
from .result import Curve, ExperimentResult, Histogram, RunResult

#: name → spec, in the book's order
EXPERIMENTS: dict[str, ExperimentSpec] = {
    spec.name: spec for spec in (forward.SPEC, mnist.SPECS[0], paths.SPEC, *mnist.SPECS[1:])}


def get_experiment(name: str) -> ExperimentSpec:
    """The experiment called ``name``; a ScenarioError naming the experiments otherwise."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        match = difflib.get_close_matches(name, list(EXPERIMENTS), n=1, cutoff=0.5)
        raise ScenarioError(f"unknown experiment {name!r}",
                            expected=f"one of {', '.join(EXPERIMENTS)}",
                            hint=f"Did you mean {match[0]!r}?" if match else None) from None


def run_experiment(
    name: str, *, out: Path, quick: bool | None = None, trials: int | None = None,
    seed: int | None = None, on_update: Callable[[ExperimentResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None, resume: bool = False,
    data_dir: Path | None = None,
) -> ExperimentResult:
    """Run experiment ``name``'s runs one after the other, saving into ``out`` after each, and
    return what they measured (with :attr:`ExperimentResult.summary` once every run is done).

    ``on_update`` is called from this thread after each run and every ~0.25 s within a
    training run (its curves growing); ``should_stop`` is asked between batches: a stopped
    training run saves its trainer in ``out/RUN/checkpoint.npz`` and is marked ``stopped``.
    With ``resume``, the experiment saved in ``out`` continues: finished runs are kept, a
    stopped run continues from its checkpoint, its settings (quick, seed, trials) are the saved
    ones — a value given here that differs is refused (:class:`UsageError`). BLAS runs on one
    thread (``blas.threads_for``), the runs in sequence."""
    spec = get_experiment(name)
    if trials is not None and not spec.takes_trials:
        raise UsageError(f"only applies to hyperparameter-search, not {name}", key="--trials",
                         value=trials)
    out = Path(out)
    given = {"quick": quick, "seed": seed, "trials": trials}
    if resume:
        result = ExperimentResult.load(out)
        _check_resumable(result, name, given, out)
    else:
        result = spec.new_result({"quick": bool(quick), "seed": int(seed or 0),
                                  "trials": trials})
    ctx = Context(result, out, data_dir, should_stop, on_update)
    result.summary = []
    out.mkdir(parents=True, exist_ok=True)
    result.save(out)
    ctx.update(force=True)
    with threads_for("train"):
        for i, run in enumerate(result.runs):
            if run.status == "done":
                continue
            if ctx.stop_requested():
                break
            run.status = spec.execute(ctx, i)
            result.save(out, runs=[i])
            ctx.update(force=True)
            if run.status != "done":
                break
    if result.done:
        result.summary = spec.summarize(result)
        result.save(out, runs=())
        ctx.update(force=True)
    return result


def _check_resumable(result: ExperimentResult, name: str, given: dict, out: Path) -> None:
    if result.name != name:
        raise UsageError(f"holds the experiment {result.name!r}, not {name!r}", key="--resume",
                         value=str(out), hint=f"Resume it with: backprop-tui train "
                                              f"{result.name} --headless --resume {out}")
    for key, value in given.items():
        saved = result.settings.get(key)
        if value is not None and value != saved and not (key == "quick" and not value
                                                          and not saved):
            flag = f"--{key}" if key != "quick" else "--quick"
            raise UsageError(f"cannot change {flag} when resuming", value=value,
                             expected=f"{saved!r} as the experiment in {out} was started, "
                                      "or no flag")


__all__ = ["EXPERIMENTS", "Context", "Curve", "ExperimentResult", "ExperimentSpec",
           "Histogram", "RunResult", "get_experiment", "run_experiment"]
