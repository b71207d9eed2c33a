"""What an experiment measured: runs, their curves, histograms and paths, and the summary in
words — the one type the headless runner writes and the compare view draws.

A folder holds one experiment (:meth:`ExperimentResult.save`):

* ``experiment.json`` — everything (written atomically; the file :meth:`ExperimentResult.load`
  reads back, refusing anything that is not one with a :class:`~backprop_tui.errors.UserError`);
* ``combined.csv`` — every run's curves in one table: ``run,x,metric,value``;
* ``NN-RUN/metrics.csv`` — one run's curves, one row per x (its ``x_label`` and one column per
  metric; empty where that metric has no point at that x).

UI-free: the standard library, numpy (through the JSON writer) and the package's own helpers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..checkpoint import atomic_write
from ..errors import RunFolderError
from ..jsontext import json_text
from ..safetext import safe_name

FORMAT = "backprop-tui-experiment"
VERSION = 1
RESULT_FILE = "experiment.json"
COMBINED_FILE = "combined.csv"
METRICS_FILE = "metrics.csv"
STATUSES = ("pending", "running", "done", "stopped")
KINDS = ("histograms", "curves", "paths", "grid", "search")


@dataclass
class Curve:
    """One line on a chart."""

    metric: str  # "loss", "train_acc", "test_acc", "val_acc", "f"
    x: list[float]  # iteration or epoch (ExperimentResult.x_label says which)
    y: list[float]

    def add(self, x: float, y: float) -> None:
        self.x.append(float(x))
        self.y.append(float(y))


@dataclass
class Histogram:
    """One layer's activation histogram."""

    layer: str  # "layer 1" … or the layer's name
    edges: list[float]  # len(counts) + 1
    counts: list[int]


@dataclass
class RunResult:
    name: str  # the legend label: "std=0.01", "Xavier", "Adam", "batch norm, w=0.1" …
    settings: dict[str, float | int | str]
    curves: dict[str, Curve] = field(default_factory=dict)
    histograms: list[Histogram] = field(default_factory=list)
    path: list[tuple[float, float]] | None = None  # optimizer-paths: (x, y) per step
    status: str = "pending"  # pending | running | done | stopped
    seconds: float = 0.0

    def curve(self, metric: str) -> Curve:
        """This run's curve of ``metric``, made empty on first use."""
        return self.curves.setdefault(metric, Curve(metric, [], []))

    @property
    def diverged(self) -> str:
        """`` (diverged)`` when NaN/Inf ended the run (``settings["diverged"]`` says where),
        else ``""``: every place that shows a run's state or result adds it."""
        return " (diverged)" if "diverged" in self.settings else ""

    def last(self, metric: str) -> float:
        """The last value of ``metric`` (NaN when the run has none)."""
        c = self.curves.get(metric)
        return c.y[-1] if c is not None and c.y else math.nan


@dataclass
class ExperimentResult:
    name: str  # "init-compare"
    title: str  # "Weight init: std 0.01 vs Xavier vs He (book Fig. 6-15)"
    kind: str  # "histograms" | "curves" | "paths" | "grid" | "search"
    x_label: str  # "iteration" | "epoch" | "step"
    metrics: list[str]  # which curves each run has, in display order
    runs: list[RunResult]
    summary: list[str] = field(default_factory=list)  # the measured result in words
    contour: dict | None = None  # optimizer-paths: {"f": …, "xlim": […], "ylim": […]}
    settings: dict[str, Any] = field(default_factory=dict)  # quick, seed, trials: what resume
                                                             # must match

    @property
    def done(self) -> bool:
        """Every run finished (a stopped experiment has a run stopped or still pending)."""
        return all(run.status == "done" for run in self.runs)

    # -- files ---------------------------------------------------------------------------------
    def run_folder(self, index: int) -> str:
        """The folder name of run ``index`` (``01-std-0.01``): numbered, so names that become
        the same path component stay apart and the folders list in run order."""
        name = self.runs[index].name.replace("λ", "lambda")  # "λ=0.1": lambda-0.1
        return f"{index + 1:02d}-{safe_name(name)}"

    def to_dict(self) -> dict[str, Any]:
        doc = {"format": FORMAT, "version": VERSION, **asdict(self)}
        for run in doc["runs"]:
            if run["path"] is not None:
                run["path"] = [list(p) for p in run["path"]]
        return doc

    def save(self, folder: Path, runs: Iterable[int] | None = None) -> None:
        """Write ``experiment.json`` (atomically), ``combined.csv`` and the ``metrics.csv`` of
        every run — or only of ``runs`` (indices), when the others are already on disk: an
        experiment saved after each of its 100 runs would otherwise rewrite 100 files each
        time."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        only = None if runs is None else set(runs)
        for i, run in enumerate(self.runs):
            if run.curves and (only is None or i in only):
                sub = folder / self.run_folder(i)
                sub.mkdir(exist_ok=True)
                _write_text(sub / METRICS_FILE, _run_csv(run, self.x_label, self.metrics))
        _write_text(folder / COMBINED_FILE, _combined_csv(self))
        _write_text(folder / RESULT_FILE, json_text(self.to_dict()) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ExperimentResult:
        """The experiment saved in ``folder``; a missing, unreadable or malformed
        ``experiment.json`` is refused with a :class:`RunFolderError` naming file and key."""
        path = Path(folder) / RESULT_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RunFolderError("no experiment saved here", file=path,
                                 expected=f"a folder written by 'train EXPERIMENT --headless'"
                                          f" (it holds {RESULT_FILE})") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RunFolderError(f"cannot be read ({e})", file=path) from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise RunFolderError(f"not valid JSON ({e.msg} at line {e.lineno})",
                                 file=path) from None
        return _from_dict(doc, path)


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _num(v: float) -> str:
    return "" if v is None or not math.isfinite(v) else repr(float(v))


def _x(v: float) -> str:
    """An x value: ``12`` for an iteration or epoch, ``0.5`` otherwise."""
    return str(int(v)) if math.isfinite(v) and float(v).is_integer() else _num(v)


def _combined_csv(result: ExperimentResult) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["run", "x", "metric", "value"])
    for run in result.runs:
        for metric in _ordered(run, result.metrics):
            c = run.curves[metric]
            for x, y in zip(c.x, c.y, strict=True):
                w.writerow([run.name, _x(x), metric, _num(y)])
    return out.getvalue()


def _ordered(run: RunResult, metrics: list[str]) -> list[str]:
    return [m for m in metrics if m in run.curves] + [m for m in run.curves if m not in metrics]


def _run_csv(run: RunResult, x_label: str, metrics: list[str]) -> str:
    names = _ordered(run, metrics)
    rows: dict[float, dict[str, float]] = {}
    for m in names:
        c = run.curves[m]
        for x, y in zip(c.x, c.y, strict=True):
            rows.setdefault(x, {})[m] = y
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([x_label, *names])
    for x in sorted(rows):
        w.writerow([_x(x), *(_num(rows[x][m]) if m in rows[x] else "" for m in names)])
    return out.getvalue()


# -- reading back, checked ----------------------------------------------------------------------
class _Reader:
    """Reads one JSON object's keys with checks; every refusal names the file and the key."""

    def __init__(self, doc: Any, path: Path, where: str) -> None:
        self.path, self.where = path, where
        if not isinstance(doc, dict):
            self.fail(None, doc, "an object")
        self.doc = doc

    def fail(self, key: str | None, value: Any, expected: str) -> None:
        name = ".".join(p for p in (self.where, key) if p) or None
        raise RunFolderError("not an experiment result", file=self.path, key=name,
                             value=_short(value), expected=expected)

    def get(self, key: str, types: type | tuple[type, ...], expected: str,
            default: Any = ...) -> Any:
        if key not in self.doc:
            if default is not ...:
                return default
            self.fail(key, None, expected)
        v = self.doc[key]
        if not isinstance(v, types) or isinstance(v, bool) and bool not in _tuple(types):
            self.fail(key, v, expected)
        return v

    def numbers(self, key: str, doc: Any = ..., *, ints: bool = False) -> list:
        v = self.doc.get(key) if doc is ... else doc
        kind = int if ints else (int, float)
        if not isinstance(v, list) or not all(
                (x is None and not ints) or (isinstance(x, kind) and not isinstance(x, bool))
                for x in v):
            self.fail(key, v, "a list of integers" if ints else "a list of numbers")
        return [x if ints else (math.nan if x is None else float(x)) for x in v]


def _tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."


def _from_dict(doc: Any, path: Path) -> ExperimentResult:
    r = _Reader(doc, path, "")
    if r.doc.get("format") != FORMAT:
        r.fail("format", r.doc.get("format"), repr(FORMAT))
    if r.doc.get("version") != VERSION:
        r.fail("version", r.doc.get("version"), str(VERSION))
    kind = r.get("kind", str, " or ".join(KINDS))
    if kind not in KINDS:
        r.fail("kind", kind, " or ".join(KINDS))
    metrics = r.get("metrics", list, "a list of metric names")
    if not all(isinstance(m, str) for m in metrics):
        r.fail("metrics", metrics, "a list of metric names")
    contour = r.get("contour", (dict, type(None)), "an object or null", None)
    runs_doc = r.get("runs", list, "a list of runs")
    summary = r.get("summary", list, "a list of lines", [])
    if not all(isinstance(s, str) for s in summary):
        r.fail("summary", summary, "a list of lines")
    return ExperimentResult(
        name=r.get("name", str, "a name"), title=r.get("title", str, "a title"), kind=kind,
        x_label=r.get("x_label", str, "iteration, epoch or step"), metrics=list(metrics),
        runs=[_run(d, path, f"runs[{i}]") for i, d in enumerate(runs_doc)],
        summary=list(summary), contour=contour,
        settings=r.get("settings", dict, "an object", {}))


def _run(doc: Any, path: Path, where: str) -> RunResult:
    r = _Reader(doc, path, where)
    status = r.get("status", str, " or ".join(STATUSES))
    if status not in STATUSES:
        r.fail("status", status, " or ".join(STATUSES))
    settings = r.get("settings", dict, "an object")
    if not all(isinstance(v, int | float | str) for v in settings.values()):
        r.fail("settings", settings, "an object of numbers and strings")
    curves = {}
    for metric, c in r.get("curves", dict, "an object of curves").items():
        cr = _Reader(c, path, f"{where}.curves.{metric}")
        x, y = cr.numbers("x"), cr.numbers("y")
        if len(x) != len(y):
            cr.fail("y", f"{len(y)} values for {len(x)} x", "as many values as x")
        curves[metric] = Curve(cr.get("metric", str, "a metric name"), x, y)
    hists = []
    for i, h in enumerate(r.get("histograms", list, "a list of histograms", [])):
        hr = _Reader(h, path, f"{where}.histograms[{i}]")
        edges, counts = hr.numbers("edges"), hr.numbers("counts", ints=True)
        if len(edges) != len(counts) + 1:
            hr.fail("edges", f"{len(edges)} edges for {len(counts)} counts",
                    "one more edge than counts")
        hists.append(Histogram(hr.get("layer", str, "a layer name"), edges, counts))
    path_doc = r.get("path", (list, type(None)), "a list of [x, y] points or null", None)
    points = None
    if path_doc is not None:
        if not all(isinstance(p, list) and len(p) == 2 for p in path_doc):
            r.fail("path", path_doc, "a list of [x, y] points")
        points = [(a, b) for a, b in (r.numbers("path", p) for p in path_doc)]
    return RunResult(name=r.get("name", str, "a name"), settings=dict(settings), curves=curves,
                     histograms=hists, path=points, status=status,
                     seconds=float(r.get("seconds", (int, float), "a number of seconds", 0.0)))
