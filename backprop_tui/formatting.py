"""Rich renderables for the command line (tables and summaries), and its JSON. Pure: data in,
renderable or text out."""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .engine.checks import (
    GOOD,
    SUSPICIOUS,
    WRONG,
    GradcheckReport,
    TensorCheck,
    gradient_name,
)
from .jsontext import json_text  # noqa: F401  (the CLI's JSON, written UI-free in jsontext)
from .safetext import printable
from .scenario import Scenario

VERDICT_STYLE = {"pass": "bold green", "FAIL": "bold red", "kink": "yellow"}
LABEL_STYLE = {"good": "green", "fair": "green", "suspicious": "yellow", "wrong": "red",
               "noted": "yellow", "untested": "yellow"}


#: Below this console width the description column of the scenarios table is too narrow to
#: read (a 100-line listing of 3-word lines at 80 columns): a list is printed instead.
SCENARIOS_TABLE_MIN_WIDTH = 110


def scenarios_table(items: Iterable[Scenario], width: int | None = None, *,
                    title: str = "built-in scenarios", what: str = "architecture"
                    ) -> Table | Group:
    """Name (with its data below it), architecture, parameter count and description: a table,
    or below :data:`SCENARIOS_TABLE_MIN_WIDTH` columns a list, one scenario per paragraph
    (name · data · architecture · parameters, then the description indented). The
    experiments are listed the same way (``what``: their runs; no parameter count)."""
    if width is not None and width < SCENARIOS_TABLE_MIN_WIDTH:
        blocks: list = [Text(title, style="italic"), Text("")]
        for sc in items:
            head = Text(sc.name, style="bold cyan")
            head.append(f" · {sc.data_label} · ", style="dim")
            if needs := sc.missing_data:
                head.append(f"{needs} · ", style="yellow")
            head.append(sc.architecture)
            if sc.param_count is not None:
                head.append(f" · {sc.param_count:,} param{'s' * (sc.param_count != 1)}",
                            style="dim")
            blocks.append(head)
            blocks.append(Padding(Text(printable(sc.description, spaces=True)), (0, 0, 0, 4)))
        return Group(*blocks)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name / data", no_wrap=True, min_width=16)
    table.add_column(what, no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("description", overflow="fold", ratio=1)
    for sc in items:
        name = Text(sc.name, style="bold cyan")
        name.append(f"\n{sc.data_label}", style="dim")
        if needs := sc.missing_data:
            name.append(f"\n{needs}", style="yellow")
        params = f"{sc.param_count:,}" if sc.param_count is not None else "—"
        table.add_row(name, sc.architecture, params,
                      Text(printable(sc.description, spaces=True)))
    return table


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if shape else "scalar"


def tensor_label(check: TensorCheck, scope: str = "local") -> str:
    """``W 784×200`` for a parameter, ``x 8×784`` for a layer's input (its gradient is dx);
    in a graph the gradient checked: ``d(tax) scalar``, ``d(a) = Σ scalar``."""
    if scope == "graph":  # a scalar's shape says nothing: most graphs are of scalars
        shape = f" {_shape(check.shape)}" if check.shape else ""
        return printable(f"{gradient_name(check, scope)}{shape}")  # names from the user's code
    if check.layer == "network":
        return "all params"
    return printable(f"{check.tensor} {_shape(check.shape)}")


def mode_label(check: TensorCheck) -> str:
    return (
        check.mode.replace("sampled(", "k=").replace(")+directional", "+dir")
        .replace(")", "").replace("directional", "dir")
    )


def gradcheck_table(report: GradcheckReport, title: str = "gradient check") -> Table:
    caption = ("d(x): what the node's backward sent to its input x · d(a) = Σ: the gradient of "
               "a value used more than once, against the sum over its uses"
               if report.scope == "graph" else "x: the layer's input (checks dx)")
    table = Table(title=Text(printable(title)), title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False,
                  caption=f"{caption} · n: entries compared"
                  + (" · k=24+dir: 24 entries and 1 random direction"
                     if report.scope != "graph" else ""), caption_justify="left")
    table.add_column("node" if report.scope == "graph" else "layer", style="bold",
                     no_wrap=True)
    if report.scope == "graph":  # short names: whole where they fit
        longest = max((len(tensor_label(c, "graph")) for c in report.checks), default=8)
        table.add_column("gradient", overflow="fold", min_width=min(longest, 22))
    else:
        table.add_column("tensor", overflow="fold")
    # a graph of scalars is checked in full everywhere: the column would only say so
    show_mode = report.scope != "graph" or any(c.mode != "full" for c in report.checks)
    if show_mode:
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
            Text(printable(c.layer)) if c.layer != previous else "",
            tensor_label(c, report.scope),
            *([mode_label(c)] if show_mode else []),
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
            text.append(printable(f"{c.layer} {tensor_label(c).split()[0]}: "), style="bold")
            text.append(f"{printable(c.note)}\n", style="red" if not c.passed else "yellow")
    if report.note:
        text.append(f"{printable(report.note)}\n", style="red")
    if report.passed:
        text.append("PASSED", style="bold green")
        if report.unchecked:
            text.append(printable(f" (but {', '.join(report.unchecked)} could not be checked)"),
                        style="bold yellow")
        where = (f"{len(report.checks)} parameters" if report.scope == "params" else
                 f"{len(report.checks)} gradients at {n_layers} nodes" if report.scope == "graph"
                 else f"{len(report.checks)} tensors in {n_layers} layers")
        text.append(f": {where} agree with centered differences.\n")
    else:
        text.append("FAILED", style="bold red")
        failed = [c for c in report.checks if not c.passed]
        text.append(f": {len(failed)} of {len(report.checks)} tensors disagree, in "
                    f"{printable(', '.join(report.failed_layers))}.\n")
        if report.scope == "graph":
            text.append("Each node was checked against its own forward with the gradient that "
                        "reached it, so the nodes named are the ones whose backward (or sum "
                        "of gradients, Σ) is wrong.\n")
        if report.scope == "local":
            text.append("Local scope: each layer was checked against its own forward, so the "
                        "layers named are the ones whose backward is wrong.\n")
    kinks = sum(c.kinks for c in report.checks)
    if kinks:
        text.append(f"{kinks} perturbation(s) crossed a kink (a ReLU mask flipped or a max-pool "
                    "switch moved) and were not judged.\n", style="yellow")
    how = ("parameter by parameter (each perturbed in place, the whole loss recomputed)"
           if report.scope == "params" else "node by node" if report.scope == "graph"
           else f"{report.scope} scope")
    samples = f"{batch_size} training samples, " if batch_size else ""
    text.append(
        f"{printable(scenario)}: {samples}seed {seed}, float64, h = {report.h:g}, "
        f"{how}, {report.evaluations:,} evaluations in {seconds:.2f} s.\n"
        f"An entry passes if |a−n|/max(|a|,|n|) ≤ {report.tol:g} or |a−n| ≤ {report.atol:g}; "
        f"max rel err is over entries with |gradient| ≥ {report.atol / report.tol:g}.\n"
        f"Scale (cs231n): ≤ {GOOD:g} good · ≤ {SUSPICIOUS:g} fair · ≤ {WRONG:g} suspicious · "
        f"above: wrong.",
        style="dim",
    )
    return text


def confusion_table(cm, class_names: tuple[str, ...], per_class: list[float]) -> Table:
    """Rows: true class; columns: predicted class; the diagonal in green. A count never loses a
    digit in a narrow terminal: every column is at least as wide as its numbers, and the
    headings wrap instead."""
    table = Table(title="confusion matrix (rows: true class, columns: predicted)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    short = [printable(n.replace("Iris-", "")) for n in class_names]
    accs = [f"{100 * acc:.2f}%" if acc == acc else "—" for acc in per_class]
    # "true" (not "true \\ pred"): 11 characters more than MNIST's column needs, which at 80
    # columns squeezed the counts to "9…"; the title says which axis is which
    table.add_column("true", style="bold", overflow="fold", min_width=max(map(len, short)))
    for j, name in enumerate(short):
        digits = max(len(str(int(v))) for v in cm[:, j])
        table.add_column(name, justify="right", overflow="fold", min_width=digits)
    table.add_column("accuracy", justify="right", overflow="fold",
                     min_width=max(len("accuracy"), *map(len, accs)))
    for i, name in enumerate(short):
        cells = []
        for j in range(len(short)):
            v = int(cm[i, j])
            style = "green" if i == j else ("red" if v else "dim")
            cells.append(Text(str(v), style=style))
        table.add_row(Text(name), *cells, accs[i])
    return table
