"""The compare view: ``backprop-tui train EXPERIMENT`` without ``--headless``, or an experiment
chosen in the picker — the runs of one of chapter 6's experiments drawn together as they happen.

The experiment runs in a Textual thread worker (:func:`~backprop_tui.experiments.run_experiment`,
the headless command's code). Its ``on_update`` (after each run and every ~0.25 s within one)
hands over a copy of the result under a lock; a timer on the UI thread takes the newest copy
ten times a second and redraws, so however fast the runs go the screen repaints at most ~10×/s
and the keys stay live. ``should_stop`` is asked between batches: space pauses (the experiment
stops where it is, saved; space again resumes it with ``resume=True``), q stops, saves and
leaves with the resume command shown. A finished experiment's folder (``--resume DIR``) opens
without a worker: the charts are all there is to see.

What is drawn is :mod:`backprop_tui.tui.render.compare` (no textual): the same functions write
``--plots`` files, and ``s`` saves the chart shown as SVG into the run folder.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from ...blas import threads_for
from ...checkpoint import atomic_write
from ...safetext import printable
from ..monitor import progress_bar
from ..render.compare import Chart, chart_svg, charts, runs_status, summary_text
from ..render.numtext import short_path
from ..widgets.lines import CachedLines
from .help import HelpScreen
from .keys import KeyCommand, bindings, help_rows
from .once import DismissOnce
from .size import show_size

if TYPE_CHECKING:
    from ...experiments.result import ExperimentResult

#: how often the UI takes the worker's newest result (seconds)
TICK = 0.1

COMPARE_KEYS: tuple[KeyCommand, ...] = (
    KeyCommand("tab", "next_chart", "next chart", "Next chart: each metric's curves, the "
               "per-layer histograms, the optimizer paths"),
    KeyCommand("shift+tab", "previous_chart", "", "Previous chart"),
    KeyCommand("m", "next_metric", "metric", "Next metric (loss, train/test/validation "
               "accuracy …): the next chart of curves"),
    KeyCommand("l", "toggle_log", "log y", "Curves: log or linear y axis (accuracy stays "
               "linear)"),
    KeyCommand("s", "save_svg", "save SVG", "Save the chart shown as an SVG file in the run "
               "folder (its path is shown below)"),
    KeyCommand("space", "toggle_pause", "pause", "Pause the experiment between two batches "
               "(saved), or resume it", "space"),
    KeyCommand("question_mark", "help", "help", "Keys and what each pane shows", "?"),
    KeyCommand("q", "quit", "quit", "Stop between two batches, save and leave (resume later "
               "with --resume RUN_FOLDER)"),
)
#: 1 … 9 show chart n (one binding each; one row in the help)
DIGIT_BINDINGS = [Binding(str(n), f"show_chart({n - 1})", show=False) for n in range(1, 10)]
COMPARE_HELP_EXTRA = (("1 … 9", "Show chart number n (the chart pane's title says which of "
                                "how many)"),
                      ("ctrl+p", "Command palette (light/dark theme, …)"))
COMPARE_PANES = (
    ("Experiment", "its name and title (the book's figure), the state (running, paused, "
     "finished), the runs done of all runs as a bar, the run folder."),
    ("Chart", "one picture of all runs: curves of a metric (x: the experiment's iterations, "
     "epochs or steps; loss in nats, accuracies in %; a log axis when the loss spans more than "
     "20×), the activation histograms of each layer (one column per run, the range under "
     "each; a bin over 4 times the next tallest is cut at the top, as the book's ylim "
     "does), the optimizers' paths on the contours of f (S: the start, each step a marker), "
     "or one small chart per setting (batch norm's weight scales). Each run keeps its colour "
     "in every chart and in the runs pane."),
    ("Runs", "each run's state (pending, running, done, stopped), how far its curves went and "
     "its time; with more runs than lines, the counts and the latest runs."),
    ("Result", "what the experiment measured, in words, once its runs are done."),
)


def compare_help() -> HelpScreen:
    return HelpScreen(help_rows(COMPARE_KEYS) + list(COMPARE_HELP_EXTRA), COMPARE_PANES,
                      heading="compare view · keys",
                      intro="The runs are the headless command's (train EXPERIMENT "
                            "--headless): same numbers, same files. The screen repaints at "
                            "most 10 times a second.")


def snapshot(result: ExperimentResult) -> ExperimentResult:
    """A copy of ``result`` that shares no list or dict the experiment goes on changing (its
    curves grow in place). Lists are copied whole, not element by element: 0.05 ms for
    init-compare's 3 × 2,000-point curves against 4 ms for ``copy.deepcopy``, 0.8 ms against
    14 ms for a 100-trial search (timeit, on the shared 2-core machine)."""
    from ...experiments.result import Curve, Histogram

    return replace(
        result, metrics=list(result.metrics), summary=list(result.summary),
        settings=dict(result.settings), contour=copy.deepcopy(result.contour),
        runs=[replace(r, settings=dict(r.settings),
                      curves={k: Curve(c.metric, list(c.x), list(c.y))
                              for k, c in r.curves.items()},
                      histograms=[Histogram(h.layer, list(h.edges), list(h.counts))
                                  for h in r.histograms],
                      path=list(r.path) if r.path is not None else None)
              for r in result.runs])


@dataclass
class CompareOutcome:
    """How the compare view ended, for the CLI's last lines and exit code."""

    status: str  #: "completed", "stopped", "viewed" or "error"
    out: Path | None
    result: ExperimentResult | None
    error: BaseException | None = None


class ChartPane(CachedLines):
    """Draws one :class:`Chart` at the pane's size."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chart: Chart | None = None
        self.log_y: bool | None = None
        self.empty = "no chart yet"

    def show(self, chart: Chart | None, log_y: bool | None) -> None:
        self.chart, self.log_y = chart, log_y
        self.refresh()

    def render(self) -> Text:
        size = self.content_size
        if self.chart is None:
            return Text(self.empty, style="dim")
        return self.chart.draw(size.width, size.height, self.log_y)


class CompareScreen(DismissOnce, Screen[None]):
    """Runs experiment ``name`` into ``out`` (``resume``: continue what is saved there) and
    draws its runs; or, given a finished ``result`` (and no ``resume``), just shows it.
    ``leave="exit"`` ends the app on q (the CLI), ``"back"`` returns to the screen below (the
    picker)."""

    BINDINGS = bindings(COMPARE_KEYS) + DIGIT_BINDINGS

    def __init__(self, name: str, out: Path | None, *, quick: bool | None = None,
                 trials: int | None = None, seed: int | None = None, resume: bool = False,
                 result: ExperimentResult | None = None, leave: str = "exit",
                 data_dir: Path | None = None) -> None:
        super().__init__()
        self.experiment = name
        self.out = Path(out) if out is not None else None
        #: run_experiment's options (None: the experiment's default, or what was saved)
        self.options = {"quick": quick, "trials": trials, "seed": seed, "data_dir": data_dir}
        self.resume = resume
        self.result = result
        self.leave = leave
        #: a finished experiment opened from its folder: no worker
        self.view_only = result is not None and not resume
        #: "running", "stopping", "paused", "done", "error", "quitting", "viewing"
        self.state = "viewing" if self.view_only else "paused"
        self.error: BaseException | None = None
        self.outcome: CompareOutcome | None = None
        self.message = ""
        self.log_y: bool | None = None
        self.chart_key: str | None = None
        self.saved: list[Path] = []  #: SVG files written by s
        self._lock = threading.Lock()
        self._latest: ExperimentResult | None = None
        self._stop = False
        self._then: str | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._dirty = True
        self.redraws = 0

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="cmp-too-small")
        with Vertical(id="cmp-main"):
            yield Static(id="cmp-head")
            with Horizontal(id="cmp-body"):
                yield ChartPane(id="cmp-chart")
                with Vertical(id="cmp-side"):
                    yield Static(id="cmp-runs")
                    yield Static(id="cmp-summary")
        yield Static(id="cmp-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "backprop-tui"
        self.sub_title = printable(f"experiment {self.experiment}")
        self.query_one("#cmp-runs").border_title = "runs"
        self.query_one("#cmp-summary").border_title = "result"
        self._check_size(self.app.size.width, self.app.size.height)
        self.set_interval(TICK, self._tick)
        if self.state == "viewing":
            self.message = ""
        else:
            self._start(resume=self.resume)
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        show_size(self, width, height, "cmp-too-small", "the compare view",
                  "The experiment goes on. Enlarge the window, or press q to stop and save.")
        self.set_class(width < 110, "narrow")
        self._dirty = True

    # -- the worker ---------------------------------------------------------------------------
    def _took_update(self, result: ExperimentResult) -> None:  # worker thread
        snap = snapshot(result)  # the engine goes on changing its own
        with self._lock:
            self._latest = snap

    def _start(self, *, resume: bool) -> None:
        self._stop = False
        self._then = None
        self.state = "running"
        self._idle.clear()
        self.run_worker(lambda: self._run_thread(resume), thread=True, exclusive=True,
                        group="experiment", name="experiment", exit_on_error=False)

    def _run_thread(self, resume: bool) -> None:
        from ...experiments import run_experiment

        worker = get_current_worker()
        result: ExperimentResult | None = None
        error: BaseException | None = None
        try:
            with threads_for("train"):
                result = run_experiment(
                    self.experiment, out=self.out, resume=resume, on_update=self._took_update,
                    should_stop=lambda: self._stop or worker.is_cancelled, **self.options)
        except BaseException as e:  # noqa: BLE001 - shown in the UI, re-raised by the CLI
            error = e
        finally:
            self._idle.set()
        try:
            self.app.call_from_thread(self._run_ended, result, error)
        except RuntimeError:  # the app has already exited (ctrl+q): the CLI finishes up
            if result is not None:
                self.result = result
            self.error = error

    def _run_ended(self, result: ExperimentResult | None, error: BaseException | None) -> None:
        """On the UI thread, when ``run_experiment`` has returned."""
        if result is not None:
            self.result = result
            with self._lock:
                self._latest = None
        then, self._then = self._then, None
        if error is not None:
            self.state = "error"
            self.error = error
            self.message = printable(f"the experiment failed: {type(error).__name__}: {error}")
        elif self.result is not None and all(r.status == "done" for r in self.result.runs):
            self.state = "done"
            self.message = f"done: {len(self.result.runs)} runs · saved in {self._folder()}"
        else:
            self.state = "paused"
            self.message = "paused (saved) — space resumes"
        self._redraw()
        if then == "quit":
            self._leave()

    def _folder(self, room: int = 60) -> str:
        return printable(short_path(self.out, room)) if self.out else "(no folder)"

    # -- UI thread: drawing -------------------------------------------------------------------
    def _tick(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, None
        if latest is not None:
            self.result = latest
            self._dirty = True
        if self._dirty:
            self._redraw()

    def charts(self) -> list[Chart]:
        return charts(self.result) if self.result is not None else []

    def current(self) -> tuple[int, Chart | None]:
        """The index and chart shown (the first, until a key chooses)."""
        shown = self.charts()
        if not shown:
            return 0, None
        keys = [c.key for c in shown]
        i = keys.index(self.chart_key) if self.chart_key in keys else 0
        return i, shown[i]

    def _redraw(self) -> None:
        self._dirty = False
        self.redraws += 1
        result = self.result
        i, chart = self.current()
        n = len(self.charts())
        pane = self.query_one("#cmp-chart", ChartPane)
        if chart is not None:
            pane.set_title_forms(f"chart {i + 1}/{n} · {printable(chart.title)} · tab next",
                                 f"chart {i + 1}/{n} · {printable(chart.title)}",
                                 f"{i + 1}/{n} · {printable(chart.title)}",
                                 f"chart {i + 1}/{n} · {chart.key} · tab next",
                                 f"{i + 1}/{n} · {chart.key}", f"{i + 1}/{n}")
        else:
            pane.empty = "starting the experiment…" if self.state == "running" else "no runs"
        pane.show(chart, self.log_y if chart is not None and chart.loggable else None)
        self._draw_head()
        if result is not None:
            runs = self.query_one("#cmp-runs", Static)
            size = runs.content_size
            runs.update(runs_status(result, max(20, size.width), max(2, size.height)))
            summary = self.query_one("#cmp-summary", Static)
            summary.update(summary_text(result, max(20, summary.content_size.width)))
        self._draw_status()

    def _draw_head(self) -> None:
        head = self.query_one("#cmp-head", Static)
        width = max(40, head.content_size.width or self.app.size.width)
        result = self.result
        t = Text(no_wrap=True, overflow="ellipsis", end="")
        t.append(printable(self.experiment), style="bold")
        if result is not None:
            t.append(f" · {printable(result.title)}")
        t.append("\n")
        label = {"running": "running", "stopping": "stopping…", "paused": "paused",
                 "done": "finished", "error": "stopped: error", "quitting": "saving…",
                 "viewing": "finished (opened from its folder)"}[self.state]
        style = {"done": "bold green", "viewing": "bold green", "error": "bold red",
                 "running": "bold"}.get(self.state, "bold yellow")
        runs = result.runs if result is not None else []
        done = sum(r.status == "done" for r in runs)
        left = f"{label} "
        right = f" {done}/{len(runs)} runs done"
        if "narrow" not in self.classes and self.out is not None:
            right += f" · {self._folder(max(10, width // 3))}"
        t.append(left, style=style)
        frac = done / len(runs) if runs else 0.0
        t.append_text(progress_bar(frac, max(10, width - len(left) - len(right) - 2)))
        t.append(right)
        head.update(t)

    def _draw_status(self) -> None:
        status = self.query_one("#cmp-status", Static)
        keys = "tab/m switch charts, s saves an SVG"
        text = self.message or {
            "running": f"running — {keys}, space pauses, q stops and saves, ? help",
            "paused": f"paused — space resumes, {keys}, q leaves",
        }.get(self.state, f"{keys}, q leaves, ? help")
        status.update(Text(text, no_wrap=True, overflow="ellipsis"))

    def set_message(self, message: str) -> None:
        self.message = message
        self._draw_status()

    # -- actions ------------------------------------------------------------------------------
    def _move(self, step: int, only_curves: bool = False) -> None:
        shown = self.charts()
        if not shown:
            self.set_message("no chart yet: the first run is starting")
            return
        i, _ = self.current()
        candidates = [k for k, c in enumerate(shown) if c.metric or not only_curves]
        if not candidates:
            self.set_message("this experiment has no curves")
            return
        after = [k for k in candidates if (k - i) * step > 0]
        k = (after[0] if step > 0 else after[-1]) if after else \
            (candidates[0] if step > 0 else candidates[-1])
        self.chart_key = shown[k].key
        self.message = ""
        self._redraw()

    def action_next_chart(self) -> None:
        self._move(1)

    def action_previous_chart(self) -> None:
        self._move(-1)

    def action_next_metric(self) -> None:
        self._move(1, only_curves=True)

    def action_show_chart(self, index: int) -> None:
        shown = self.charts()
        if index >= len(shown):
            self.set_message(f"there are {len(shown)} charts (1 … {len(shown)})")
            return
        self.chart_key = shown[index].key
        self.message = ""
        self._redraw()

    def action_toggle_log(self) -> None:
        _, chart = self.current()
        if chart is None or chart.auto_log is None:
            self.set_message("this chart's y axis stays linear (accuracy in %)" if chart
                             and chart.metric else "this chart has no y axis to switch")
            return
        now = self.log_y if self.log_y is not None else chart.auto_log()
        self.log_y = not now
        self.message = f"curves: {'log' if self.log_y else 'linear'} y axis"
        self._redraw()

    def action_save_svg(self) -> None:
        _, chart = self.current()
        if chart is None or self.result is None:
            self.set_message("no chart to save yet")
            return
        if self.out is None:
            self.set_message("this experiment has no run folder: nothing to save into")
            return
        pane = self.query_one("#cmp-chart", ChartPane)
        size = pane.content_size
        path = self.out / f"{self.result.name}-{chart.key}.svg"
        try:
            svg = chart_svg(self.result, chart, max(40, size.width), max(10, size.height),
                            self.log_y if chart.loggable else None)
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda f: f.write(svg.encode("utf-8")))
        except OSError as e:
            self.set_message(printable(f"could not save {path}: {e.strerror or e}"))
            return
        self.saved.append(path)
        self.set_message(f"saved {printable(short_path(path, max(20, self.size.width - 8)))}")

    def action_toggle_pause(self) -> None:
        if self.state == "running":
            self._stop = True
            self.state = "stopping"
            self.set_message("pausing after this batch…")
            self._redraw()
        elif self.state == "paused":
            self.message = ""
            self._start(resume=True)
            self._redraw()
        elif self.state == "stopping":
            self.set_message("pausing — the current batch is finishing")
        elif self.state in ("done", "viewing"):
            self.set_message("the experiment is finished: every run is done (q leaves)")
        else:
            self.set_message(self.message)

    def action_help(self) -> None:
        self.app.push_screen(compare_help())

    def action_quit(self) -> None:
        if self.state == "quitting":
            return
        if self.state in ("running", "stopping"):
            self._stop = True
            self._then = "quit"
            self.state = "stopping"
            self.set_message("stopping after this batch, then saving…")
            self._redraw()
            return
        self._leave()

    def _leave(self) -> None:
        self.state = "quitting"
        self.finish()
        if self.leave == "back":
            self.dismiss(None)
        else:
            self.app.exit()

    # -- the end ------------------------------------------------------------------------------
    def finish(self, timeout: float = 60.0) -> CompareOutcome:
        """Stop the worker (if it still runs; the experiment saves itself where it stopped)
        and say how the view ended. Safe to call after the app has exited (ctrl+q)."""
        if self.outcome is not None:
            return self.outcome
        self._stop = True
        self._idle.wait(timeout)
        result = self.result
        if self.error is not None:
            status = "error"
        elif self.view_only:
            status = "viewed"
        elif result is not None and all(r.status == "done" for r in result.runs):
            status = "completed"
        else:
            status = "stopped"
        self.outcome = CompareOutcome(status, self.out, result, self.error)
        return self.outcome
