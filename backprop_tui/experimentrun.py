"""`backprop-tui train EXPERIMENT --headless`: one of chapter 6's experiments run from the
command line — its flags checked, its folder claimed, progress shown (bars on a terminal, a line
per run otherwise), Ctrl-C stopping between batches and saving, the measured result printed in
words. Exit 0 done · 2 bad input · 130 stopped (saved; ``--resume FOLDER`` continues).

The experiments themselves are :mod:`backprop_tui.experiments` (UI-free);
:func:`~backprop_tui.experiments.run_experiment` is what the compare view calls too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .cliout import console as _console
from .cliout import escape as _escape
from .errors import RunFolderError, UsageError
from .experiments import ExperimentResult, get_experiment, run_experiment
from .experiments.result import COMBINED_FILE, RESULT_FILE
from .optioncheck import POSITIVE_INT, SEED, check_options

#: what an experiment's flags are; every other option of `train` is refused for one
APPLIES = "--headless, --quick, --trials (hyperparameter-search), --seed, --out, --resume, " \
          "--data-dir"


def train_experiment(name: str, *, headless: bool, quick: bool, trials: int | None,
                     seed: int | None, out: Path | None, resume: Path | None,
                     data_dir: Path | None, other_options: dict[str, object],
                     plots: Path | None = None) -> None:
    """Run experiment ``name`` headless (see the module docstring), or in the compare view
    (:mod:`~backprop_tui.comparerun`); ``plots``: write its charts there as SVG files at the
    end (also when stopped: what was measured so far); ``other_options``: the train command's
    options that do not apply to an experiment, refused when given."""
    for flag, value in other_options.items():
        if value is not None and value is not False:
            shown = True if isinstance(value, bool) else getattr(value, "value", value)
            raise UsageError("does not apply to an experiment", key=flag, value=shown,
                             expected=APPLIES,
                             hint=f"{name}'s runs use the book's settings "
                                  "(backprop-tui scenarios lists them)")
    check_options(("--trials", trials, POSITIVE_INT), ("--seed", seed, SEED))
    spec = get_experiment(name)
    if trials is not None and not spec.takes_trials:
        raise UsageError(f"only applies to hyperparameter-search, not {name}", key="--trials",
                         value=trials)
    if not headless:
        from .tui.app import need_terminal

        need_terminal("the compare view", hint="Add --headless to run the experiment with "
                                               "progress lines instead (for CI and pipes).")
    folder = _folder(name, out, resume)
    from .comparerun import compare_view, plots_of
    from .runfolder import claim_run_folder

    with claim_run_folder(folder), plots_of(folder, plots):  # locked: one writer at a time
        if headless:
            _run(name, folder, quick=quick, trials=trials, seed=seed,
                 resume=resume is not None, data_dir=data_dir)
        else:
            compare_view(name, out=folder, quick=quick or None, trials=trials, seed=seed,
                         resume=resume is not None, data_dir=data_dir)


def _folder(name: str, out: Path | None, resume: Path | None) -> Path:
    from .training import default_run_dir

    if resume is not None:
        if out is not None and out.resolve() != resume.resolve():
            raise UsageError("an experiment continues in its own folder", key="--out",
                             value=str(out), expected=f"no --out, or --out {resume}")
        ExperimentResult.load(resume)  # refused here, before anything is claimed or created
        return resume
    folder = out if out is not None else default_run_dir(name)
    if (folder / RESULT_FILE).exists():
        raise RunFolderError("holds an experiment already", file=folder, key="--out",
                             hint=f"Continue it with --resume {folder}, or pick a new --out "
                                  "folder")
    return folder


def _run(name: str, folder: Path, *, quick: bool, trials: int | None, seed: int | None,
         resume: bool, data_dir: Path | None) -> None:
    from .progress import ExperimentBars, ExperimentLines
    from .trainrun import ctrl_c_stops

    spec = get_experiment(name)
    console = _console()
    settings = ExperimentResult.load(folder).settings if resume else \
        {"quick": quick, "seed": seed or 0, "trials": trials}
    quick_note = f" (--quick: {_escape(spec.quick)})" if settings.get("quick") else ""
    console.print(
        f"[bold]{_escape(name)}[/]: {_escape(spec.title)} · {spec.runs_label(settings)}"
        f"{quick_note} · seed {settings.get('seed', 0)} → {_escape(folder)}", highlight=False,
        soft_wrap=True)
    reporter = ExperimentBars(console) if sys.stdout.isatty() else ExperimentLines(sys.stdout)
    try:
        try:
            with ctrl_c_stops() as should_stop:
                result = run_experiment(
                    name, out=folder, quick=quick or None, trials=trials, seed=seed,
                    on_update=reporter, should_stop=should_stop, resume=resume,
                    data_dir=data_dir)
        finally:
            reporter.close()
    except KeyboardInterrupt:
        _console(stderr=True).print(
            f"interrupted again: stopped without saving the current run; {RESULT_FILE} in "
            f"{_escape(folder)} holds the runs finished before it", highlight=False,
            soft_wrap=True)
        raise typer.Exit(130) from None
    if not result.done:
        at = next((i for i, r in enumerate(result.runs) if r.status != "done"), 0)
        console.print(
            f"interrupted in run {at + 1}/{len(result.runs)} ({_escape(result.runs[at].name)}): "
            f"saved in {_escape(folder)}\nresume with: backprop-tui train {_escape(name)} "
            f"--headless --resume {_escape(folder)}", highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    for line in result.summary:
        console.print(f"result: {_escape(line)}", highlight=False, soft_wrap=True)
    console.print(f"done: {len(result.runs)} runs in {sum(r.seconds for r in result.runs):.1f} s"
                  f" of training. Saved in {_escape(folder)} ({RESULT_FILE}, {COMBINED_FILE}, "
                  "each run's metrics.csv)", highlight=False, soft_wrap=True)
