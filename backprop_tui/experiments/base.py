"""What every experiment is made of: its spec (name, title, one-line description, the runs it
plans, how one run is carried out, how the result is put in words) and the context a run works
in (where it saves, when to stop, whom to tell).

An experiment is a list of runs, planned up front from its settings (``quick``, ``seed``,
``trials``) as :class:`~.result.RunResult` objects whose ``settings`` say everything the run
does; carrying a run out only reads them. So a saved ``experiment.json`` is enough to resume: the
runs marked ``done`` are kept, the others are carried out again (a stopped training run from its
checkpoint).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .result import ExperimentResult, RunResult

#: the seconds between two updates of a run that is in progress (curves growing)
UPDATE_EVERY = 0.25


@dataclass
class Context:
    """Where and how one experiment runs: its folder, the caller's stop and update callbacks,
    and the data its runs share (loaded once)."""

    result: ExperimentResult
    out: Path
    data_dir: Path | None = None
    should_stop: Callable[[], bool] | None = None
    on_update: Callable[[ExperimentResult], None] | None = None
    _last_update: float = 0.0
    _data: dict[Any, Any] = field(default_factory=dict)

    def stop_requested(self) -> bool:
        return self.should_stop is not None and bool(self.should_stop())

    def update(self, *, force: bool = False) -> None:
        """Tell the caller how the experiment stands: at once with ``force``, else at most
        every :data:`UPDATE_EVERY` seconds."""
        if self.on_update is None:
            return
        now = time.monotonic()
        if force or now - self._last_update >= UPDATE_EVERY:
            self._last_update = now
            self.on_update(self.result)

    def run_dir(self, index: int) -> Path:
        return self.out / self.result.run_folder(index)

    def shared(self, key: Any, load: Callable[[], Any]) -> Any:
        """``load()``'s value, computed once per experiment (the data every run trains on)."""
        if key not in self._data:
            self._data[key] = load()
        return self._data[key]


#: the settings of the full experiment (no --quick, seed 0, the default trials)
FULL: dict[str, Any] = {"quick": False, "seed": 0, "trials": None}

#: a run carried out: ``"done"``, or ``"stopped"`` (``should_stop`` said so between batches)
RunStatus = str


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    title: str  # the chart's title, with the book's figure
    description: str  # one line, for `scenarios` and the picker
    kind: str  # "histograms" | "curves" | "paths" | "grid" | "search"
    x_label: str  # "iteration" | "epoch" | "step"
    metrics: tuple[str, ...]
    data_label: str  # what the runs work on: "MNIST 60,000/10,000", "1000 random inputs"
    quick: str  # what --quick changes, in words
    plan: Callable[[dict[str, Any]], list[RunResult]]  # settings → the runs, pending
    execute: Callable[[Context, int], RunStatus]  # carry out run i of ctx.result
    summarize: Callable[[ExperimentResult], list[str]]  # the measured result in words
    contour: dict | None = None
    takes_trials: bool = False  # --trials applies (hyperparameter-search)

    def new_result(self, settings: dict[str, Any]) -> ExperimentResult:
        return ExperimentResult(
            name=self.name, title=self.title, kind=self.kind, x_label=self.x_label,
            metrics=list(self.metrics), runs=self.plan(settings), contour=self.contour,
            settings=dict(settings))

    def summary(self) -> dict[str, Any]:
        """The experiment as `backprop-tui scenarios --json` lists it."""
        return {"name": self.name, "kind": "experiment", "data": self.data_label,
                "runs": len(self.plan(FULL)), "description": self.description}

    # as `backprop-tui scenarios` lists it, beside the scenarios (formatting.scenarios_table)
    missing_data: ClassVar[None] = None  # MNIST ships with the package
    param_count: ClassVar[None] = None  # several networks, or none

    @property
    def architecture(self) -> str:
        return self.runs_label()

    def runs_label(self, settings: dict[str, Any] | None = None) -> str:
        """``6 runs`` (the full experiment's, unless ``settings`` say otherwise)."""
        n = len(self.plan(settings or FULL))
        return f"{n} run{'s' * (n != 1)}"


def fmt(v: float) -> str:
    """A setting in a legend label: ``0.01``, ``1e-04``, ``3.2e-04``."""
    return f"{v:.2g}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.1e}"

