"""The gradient-check pane: analytic (backward) vs numeric (centered differences) gradients of
the selected layer, per tensor, with pass/fail in colour, the mode used and the kinks crossed.

The check itself runs in a worker (the screen starts it); this widget shows its progress and
its report, and says when the report belongs to an earlier step."""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ...engine.checks import gradient_name
from .. import render
from ..session import GradcheckResult
from .lines import CachedLines

VERDICT_STYLE = {"pass": "bold green", "FAIL": "bold red", "kink": "bold yellow"}


class GradcheckPane(CachedLines, can_focus=True):
    """Idle hint, progress of a running check, or the last report."""

    WRAP = True

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.result: GradcheckResult | None = None
        self.running: str | None = None  # row name while a check runs
        self.progress: tuple[int, int] = (0, 0)
        self.stale = False
        self.message = ""
        self.row_name = ""
        self.unavailable: str | None = None  # why no check can run here (a step network)
        self.border_title = "Gradient check · analytic vs numeric"

    def set_row(self, row_name: str) -> None:
        self.row_name = row_name
        self.refresh()

    def start(self, row_name: str) -> None:
        self.running = row_name
        self.progress = (0, 0)
        self.message = ""
        self.refresh()

    def set_progress(self, done: int, total: int) -> None:
        self.progress = (done, total)
        self.refresh()

    def finish(self, result: GradcheckResult | None, message: str = "") -> None:
        self.running = None
        if result is not None:
            self.result = result
            self.stale = False
        self.message = message
        # a fresh report gets a taller pane (app.tcss), so the header, the table and the
        # largest differences show whole; a stale one gives the room back to the tensor pane
        self.set_class(self.result is not None and not self.stale, "-report")
        self.refresh()

    def mark_stale(self) -> None:
        if self.result is not None and not self.stale:
            self.stale = True
            self.remove_class("-report")
            self.refresh()

    def render(self) -> Group | Text:
        parts: list = []
        if self.running:
            done, total = self.progress
            frac = done / total if total else 0.0
            width = max(10, min(40, self.content_size.width - 30))
            bar = "█" * int(frac * width) + "░" * (width - int(frac * width))
            parts.append(Text.assemble(
                ("checking ", "bold"), (self.running, "bold"),
                f"  {bar} {done}/{total} loss evaluations  ", ("escape cancels", "dim")))
        if self.message:
            parts.append(Text(self.message, style="italic"))
        res = self.result
        if res is None:
            if self.unavailable and not self.running:
                parts.append(Text(self.unavailable))
            elif not self.running:
                parts.append(Text.assemble(
                    ("press g", "bold"), " to check the gradients of ",
                    (self.row_name or "the selected layer", "bold"),
                    ": every parameter's and the input's analytic gradient (from backward) is "
                    "compared with centered differences (L(θ+h) − L(θ−h)) / 2h, in float64.",
                ))
            return Group(*parts)
        job, rep = res.job, res.report
        width = self.content_size.width
        # what was checked and how, then when and how to read the table: each wraps between
        # its parts where the pane is wide enough for the table or tall enough for the lines,
        # and is cropped in a small one (80×24)
        roomy = self.content_size.height >= len(rep.checks) + 5
        wrap = width if width >= 66 or roomy else None
        head = render.join_parts(
            [(job.row_name, "bold"), (rep.mode, "dim"), (f"h={rep.h:g}", "dim"),
             (f"pass: rel ≤ {rep.tol:g} or |a−n| ≤ {rep.atol:g}", "dim"),
             (f"{rep.evaluations} loss evaluations", "dim")], wrap)
        parts.append(head)
        # a graph has one pass, no iterations
        it = "" if rep.scope == "graph" else f"iteration {job.iteration}, "
        when = f"checked at {it}step {job.position} in {res.seconds:.2f} s"
        if job.after_update:
            when += " (after the update: on the updated weights)"
        if width < 66 and not roomy:
            when = f"at {it}step {job.position}"
        if self.stale:
            parts.append(Text(when + " — the state has changed since: press g to re-check",
                              style="yellow"))
        else:
            where = render.join_parts([(when, ""), ("a = analytic (backward), n = numeric", "")],
                                      wrap, sep="; ", style="dim")
            if wrap is None:
                where.no_wrap, where.overflow = True, "ellipsis"
            parts.append(where)
        if wrap is None:
            head.no_wrap, head.overflow = True, "ellipsis"
        width = self.content_size.width
        one_layer = len({c.layer for c in rep.checks}) == 1
        if width < 66:  # narrow: one line per tensor instead of a table
            for c in rep.checks:
                tensor = gradient_name(c, rep.scope)
                line = Text(no_wrap=True, overflow="ellipsis")
                line.append(f"{tensor if one_layer else c.layer + '.' + tensor} ", style="bold")
                line.append(f"{c.verdict}·{c.label}", style=VERDICT_STYLE.get(c.verdict, ""))
                line.append(f" rel {c.max_rel_error:.1e} |a−n| {c.max_abs_error:.1e} "
                            f"({c.checked} checked, {c.kinks} kinks)", style="dim")
                parts.append(line)
            parts.extend(self._notes(rep, one_layer))
            return Group(*parts)
        table = Table(box=None, pad_edge=False, expand=False, show_edge=False,
                      header_style="bold", padding=(0, 1))
        table.add_column("gradient", no_wrap=True)
        table.add_column("shape", no_wrap=True)
        if width >= 90:
            table.add_column("mode", no_wrap=True)
        table.add_column("checked", justify="right", no_wrap=True)
        table.add_column("kinks", justify="right", no_wrap=True)
        table.add_column("max |a−n|", justify="right", no_wrap=True)
        table.add_column("max rel", justify="right", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        for c in rep.checks:
            tensor = gradient_name(c, rep.scope)
            name = tensor if one_layer else f"{c.layer}.{tensor}"
            cells = [name, "×".join(map(str, c.shape)) or "scalar"]
            if width >= 90:
                cells.append(c.mode)
            verdict = Text(f"{c.verdict} · {c.label}", style=VERDICT_STYLE.get(c.verdict, ""))
            cells += [str(c.checked), str(c.kinks), f"{c.max_abs_error:.1e}",
                      f"{c.max_rel_error:.1e}", verdict]
            table.add_row(*cells)
        parts.append(table)
        parts.extend(self._notes(rep, one_layer))
        worst = self._worst_entries(res)
        if worst is not None:
            parts.append(worst)
        return Group(*parts)

    @staticmethod
    def _notes(rep, one_layer: bool) -> list[Text]:
        """What the numbers alone do not say: why a gradient could not be compared (red), or
        why a difference is not a mistake (yellow); and the layers no gradient reached."""
        out = []
        for c in rep.checks:
            if c.note:
                tensor = gradient_name(c, rep.scope)
                name = tensor if one_layer else f"{c.layer}.{tensor}"
                out.append(Text.assemble((f"{name}: ", "bold"),
                                         (c.note, "red" if not c.passed else "yellow")))
        if rep.note:
            out.append(Text(rep.note, style="red"))
        return out

    def _worst_entries(self, res: GradcheckResult) -> Table | None:
        """The entries with the largest |analytic − numeric| over every checked tensor."""
        rows = []
        for c in res.report.checks:
            if len(c.analytic) == 0:
                continue
            diff = np.abs(np.asarray(c.analytic) - np.asarray(c.numeric))
            for j in np.argsort(-diff, kind="stable")[:3]:
                idx = int(c.indices[j]) if j < len(c.indices) else -1
                tensor = gradient_name(c, res.report.scope)
                if idx < 0:
                    where = " (random direction)"
                else:
                    where = "[" + ", ".join(str(int(i)) for i in np.unravel_index(idx, c.shape)) \
                        + "]"
                rows.append((diff[j], f"{c.layer}.{tensor}{where}", c.analytic[j], c.numeric[j],
                             bool(c.kinked[j])))
        if not rows:
            return None
        rows.sort(key=lambda r: -r[0])
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold",
                      title="largest differences", title_justify="left", title_style="dim")
        for col in ("entry", "analytic", "numeric", "|a − n|", ""):
            table.add_column(col, justify="left" if col in ("entry", "") else "right")
        for diff, name, a, n, kinked in rows[:4]:
            table.add_row(name, f"{a:.8g}", f"{n:.8g}", f"{diff:.1e}",
                          Text("kink", style="yellow") if kinked else "")
        return table
