"""`train EXPERIMENT`'s pictures: the compare view (without ``--headless``) and ``--plots DIR``
(the same charts as SVG files), and what the view prints and exits with afterwards (0 done or
viewed · 130 stopped, the experiment saved, its resume command shown)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from .cliout import console as _console
from .cliout import escape as _escape

#: the size of a chart in a --plots file (characters): the comfortable terminal's
PLOT_WIDTH, PLOT_HEIGHT = 120, 36


def write_plots(result, folder: Path) -> list[Path]:
    """Every chart of ``result`` as ``folder/EXPERIMENT-CHART.svg`` (the compare view's
    drawing, written atomically); the paths written, in chart order. A folder that cannot be
    made or written is a RunFolderError naming it."""
    from .checkpoint import atomic_write
    from .errors import RunFolderError
    from .tui.render.compare import chart_svg, charts

    folder = Path(folder)
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for chart in charts(result):
            path = folder / f"{result.name}-{chart.key}.svg"
            svg = chart_svg(result, chart, PLOT_WIDTH, PLOT_HEIGHT)
            atomic_write(path, lambda f, svg=svg: f.write(svg.encode("utf-8")))
            written.append(path)
    except OSError as e:
        raise RunFolderError(f"cannot write the plots ({e.strerror or e})",
                             file=e.filename or folder, key="--plots") from None
    return written


@contextmanager
def plots_of(folder: Path, plots: Path | None) -> Iterator[None]:
    """Around a run of the experiment saved in ``folder``: afterwards — finished, stopped
    (exit 130) or not — write its charts into ``plots`` and list them, one line per file."""
    from .experiments.result import RESULT_FILE, ExperimentResult

    try:
        yield
    finally:
        if plots is not None and (folder / RESULT_FILE).is_file():
            console = _console()
            for path in write_plots(ExperimentResult.load(folder), plots):
                console.print(f"plot: {_escape(path)}", highlight=False, soft_wrap=True)


def compare_view(name: str, *, out: Path, quick: bool | None, trials: int | None,
                 seed: int | None, resume: bool, data_dir: Path | None = None) -> None:
    """Run experiment ``name`` into ``out`` in the compare view (``resume``: continue the one
    saved there; a finished one is only shown); afterwards say where it is saved and exit 0
    (done, or viewed) · 130 (stopped before the end, with the resume command)."""
    from .blas import threads_for
    from .experiments.result import ExperimentResult
    from .tui.app import BackpropApp
    from .tui.screens.compare import CompareScreen

    result = None
    if resume:
        result = ExperimentResult.load(out)  # a bad folder: exit 2 before the screen opens
        if result.name != name:
            from .errors import UsageError

            raise UsageError(f"holds the experiment {result.name!r}, not {name!r}",
                             key="--resume", value=str(out),
                             hint=f"Open it with: backprop-tui train {result.name} --resume "
                                  f"{out}")
        if not result.done:
            result = None  # the worker resumes it (the flags checked by run_experiment)
    with threads_for("dashboard"):
        screen = CompareScreen(name, out, quick=quick, trials=trials, seed=seed,
                               resume=resume and result is None, result=result,
                               data_dir=data_dir)
        BackpropApp("screen", screen=lambda: screen).run()
        outcome = screen.finish()  # after ctrl+q too: stops the worker
    if outcome.error is not None:
        raise outcome.error
    console = _console()
    for path in screen.saved:
        console.print(f"saved: {_escape(path)}", highlight=False, soft_wrap=True)
    if outcome.status == "stopped":
        console.print(
            f"stopped: the experiment is saved in {_escape(out)}\nresume with: backprop-tui "
            f"train {_escape(name)} --resume {_escape(out)}", highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    result = outcome.result
    if result is not None:
        for line in result.summary:
            console.print(_escape(line), highlight=False, soft_wrap=True)
    console.print(f"{'shown' if outcome.status == 'viewed' else 'done'}: {_escape(name)} · "
                  f"saved in {_escape(out)}", highlight=False, soft_wrap=True)
