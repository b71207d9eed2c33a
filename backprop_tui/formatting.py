"""Rich renderables for the command line (tables and summaries), and its JSON. Pure: data in,
renderable or text out."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .engine.checks import GOOD, SUSPICIOUS, WRONG, GradcheckReport, TensorCheck
from .scenario import Scenario


def json_text(doc: Any) -> str:
    """The one way the command line prints JSON: always valid JSON (``allow_nan=False``), so a
    script can parse it. A number that is undefined (NaN: the accuracy of a class with no
    samples, a loss of NaN data) or infinite has no JSON form and is ``null``; numpy scalars and
    arrays become plain numbers and lists."""
    return json.dumps(_json_ready(doc), indent=2, allow_nan=False)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


VERDICT_STYLE = {"pass": "bold green", "FAIL": "bold red", "kink": "yellow"}
LABEL_STYLE = {"good": "green", "fair": "green", "suspicious": "yellow", "wrong": "red",
               "noted": "yellow", "untested": "yellow"}


#: Below this console width the description column of the scenarios table is too narrow to
#: read (a 100-line listing of 3-word lines at 80 columns): a list is printed instead.
SCENARIOS_TABLE_MIN_WIDTH = 110


def scenarios_table(items: Iterable[Scenario], width: int | None = None) -> Table | Group:
    """Name (with its data below it), architecture, parameter count and description: a table,
    or below :data:`SCENARIOS_TABLE_MIN_WIDTH` columns a list, one scenario per paragraph
    (name · data · architecture · parameters, then the description indented)."""
    if width is not None and width < SCENARIOS_TABLE_MIN_WIDTH:
        blocks: list = [Text("built-in scenarios", style="italic"), Text("")]
        for sc in items:
            head = Text(sc.name, style="bold cyan")
            head.append(f" · {sc.data_label} · ", style="dim")
            head.append(sc.architecture)
            head.append(f" · {sc.param_count:,} params", style="dim")
            blocks.append(head)
            blocks.append(Padding(Text(sc.description), (0, 0, 0, 4)))
        return Group(*blocks)
    table = Table(title="built-in scenarios", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("name / data", no_wrap=True, min_width=16)
    table.add_column("architecture", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("description", overflow="fold", ratio=1)
    for sc in items:
        name = Text(sc.name, style="bold cyan")
        name.append(f"\n{sc.data_label}", style="dim")
        table.add_row(name, sc.architecture, f"{sc.param_count:,}", sc.description)
    return table


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def tensor_label(check: TensorCheck) -> str:
    """``W 784×200`` for a parameter, ``x 8×784`` for a layer's input (its gradient is dx)."""
    if check.layer == "network":
        return "all params"
    return f"{check.tensor} {_shape(check.shape)}"


def mode_label(check: TensorCheck) -> str:
    return (
        check.mode.replace("sampled(", "k=").replace(")+directional", "+dir")
        .replace(")", "").replace("directional", "dir")
    )


def gradcheck_table(report: GradcheckReport, title: str = "gradient check") -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="x: the layer's input (checks dx) · n: entries compared · "
                  "k=24+dir: 24 entries and 1 random direction", caption_justify="left")
    table.add_column("layer", style="bold", no_wrap=True)
    table.add_column("tensor", overflow="fold")
    table.add_column("mode", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True, min_width=4)
    table.add_column("kinks", justify="right", no_wrap=True, min_width=5)
    table.add_column("max abs", justify="right", no_wrap=True, min_width=7)
    table.add_column("max rel", justify="right", no_wrap=True, min_width=7)
    table.add_column("verdict", no_wrap=True, min_width=4)
    previous = None
    for c in report.checks:
        label = c.label
        judged = c.checked > c.kinks
        table.add_row(
            c.layer if c.layer != previous else "",
            tensor_label(c),
            mode_label(c),
            str(c.checked),
            str(c.kinks) if c.kinks else "",
            f"{c.max_abs_error:.1e}" if judged else "—",
            Text(f"{c.max_rel_error:.1e}", style=LABEL_STYLE[label]) if judged else "—",
            Text(c.verdict, style=VERDICT_STYLE[c.verdict]),
        )
        previous = c.layer
    return table


def gradcheck_summary(
    report: GradcheckReport, scenario: str, batch_size: int, seed: int, seconds: float
) -> Text:
    n_layers = len({c.layer for c in report.checks})
    text = Text()
    for c in report.checks:
        if c.note:
            text.append(f"{c.layer} {tensor_label(c).split()[0]}: ", style="bold")
            text.append(f"{c.note}\n", style="red" if not c.passed else "yellow")
    if report.note:
        text.append(f"{report.note}\n", style="red")
    if report.passed:
        text.append("PASSED", style="bold green")
        if report.unchecked:
            text.append(f" (but {', '.join(report.unchecked)} could not be checked)",
                        style="bold yellow")
        where = (f"{len(report.checks)} parameters" if report.scope == "params" else
                 f"{len(report.checks)} tensors in {n_layers} layers")
        text.append(f": {where} agree with centered differences.\n")
    else:
        text.append("FAILED", style="bold red")
        failed = [c for c in report.checks if not c.passed]
        text.append(f": {len(failed)} of {len(report.checks)} tensors disagree, in "
                    f"{', '.join(report.failed_layers)}.\n")
        if report.scope == "local":
            text.append("Local scope: each layer was checked against its own forward, so the "
                        "layers named are the ones whose backward is wrong.\n")
    kinks = sum(c.kinks for c in report.checks)
    if kinks:
        text.append(f"{kinks} perturbation(s) crossed a kink (a ReLU mask flipped or a max-pool "
                    "switch moved) and were not judged.\n", style="yellow")
    how = ("parameter by parameter (each perturbed in place, the whole loss recomputed)"
           if report.scope == "params" else f"{report.scope} scope")
    samples = f"{batch_size} training samples, " if batch_size else ""
    text.append(
        f"{scenario}: {samples}seed {seed}, float64, h = {report.h:g}, "
        f"{how}, {report.evaluations:,} evaluations in {seconds:.2f} s.\n"
        f"An entry passes if |a−n|/max(|a|,|n|) ≤ {report.tol:g} or |a−n| ≤ {report.atol:g}; "
        f"max rel err is over entries with |gradient| ≥ {report.atol / report.tol:g}.\n"
        f"Scale (cs231n): ≤ {GOOD:g} good · ≤ {SUSPICIOUS:g} fair · ≤ {WRONG:g} suspicious · "
        f"above: wrong.",
        style="dim",
    )
    return text


def confusion_table(cm, class_names: tuple[str, ...], per_class: list[float]) -> Table:
    """Rows: true class; columns: predicted class; the diagonal in green."""
    table = Table(title="confusion matrix (rows: true class, columns: predicted)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    short = [n.replace("Iris-", "") for n in class_names]
    table.add_column("true \\ pred", style="bold", no_wrap=True)
    for name in short:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("accuracy", justify="right", no_wrap=True)
    for i, name in enumerate(short):
        cells = []
        for j in range(len(short)):
            v = int(cm[i, j])
            style = "green" if i == j else ("red" if v else "dim")
            cells.append(Text(str(v), style=style))
        acc = per_class[i]
        table.add_row(name, *cells, f"{100 * acc:.2f}%" if acc == acc else "—")
    return table
