"""The health report (engine/health.py) as rich Text: one block per layer, for the health pane
and the ``health`` command's table.

* the activation histogram is ``HIST_BINS`` characters, ``▁…█`` by count relative to the
  fullest bin (an empty bin is a space), followed by its range ``[low, high]``;
* ``‖dW‖`` and ``‖dx‖`` carry a log-scale bar (one block per decade from 1e-6, so a
  vanishing gradient is a short bar and an exploding one a long bar, layer under layer);
* the update/weight ratio is green within 10× of cs231n's 1e-3, yellow below, red above.
"""

from __future__ import annotations

import math

from rich.text import Text

from ...engine.health import (
    UPDATE_FACTOR,
    UPDATE_RULE,
    HealthReport,
    LayerHealth,
    ratio_verdict,
    unit_list,
)
from .numtext import _pct, fmt

BARS = " ▁▂▃▄▅▆▇█"
#: the log bars: one block per decade from LOG_FLOOR (1e-6) up to 1e+2
LOG_FLOOR = -6
LOG_BLOCKS = 8
RATIO_STYLES = {"fine": "green", "low": "yellow", "high": "bold red"}
RULE = (f"ΔW/W: ‖ΔW‖/‖W‖ of the last update — cs231n: ~{UPDATE_RULE:g} "
        f"(green {UPDATE_RULE / UPDATE_FACTOR:g}…{UPDATE_RULE * UPDATE_FACTOR:g}, yellow lower: "
        "lr too low, red higher: lr too high)")
LEGEND = ("hist: the layer's output, count per bin over [min, max] · bars: log10 of the "
          "norm, one block per decade from 1e-6 · dead: 0 for every sample")


#: what the help screens (debugger and dashboard) say about the health pane
PANE_HELP = (
    "one block per layer: the output's histogram (count per bin, over [min, max]), dead ReLU "
    "units by index (output 0 for every sample of the batch; while training, on each of the "
    "last 10 batches), saturated sigmoid/tanh units (y < 0.01 or > 0.99, |tanh| > 0.99, for "
    "every sample), ‖dW‖ and ‖dx‖ (L2 norms; the bar is log10, one block per decade from "
    "1e-6: vanishing gradients are short bars, exploding ones long), ‖W‖, ΔW/W = ‖ΔW‖/‖W‖ of "
    "the last update (cs231n: ~1e-3; green within 10×, yellow below, red above), NaN/Inf "
    "entries; the first iteration's data loss against ln C. ↑ ↓ select a dead unit and show "
    "the weights into it; page up / down scroll.")


def dead_window_note(report: HealthReport) -> str:
    """``dead = 0 on each of the last 10 batches`` while training (the tracker's window), else
    ``""`` (one batch: the debugger, or a report of the first iterations)."""
    w = report.dead_window
    return f"dead = 0 on each of the last {w} batches" if w > 1 else ""


def histogram_bar(counts: tuple[int, ...]) -> str:
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(BARS[0] if c == 0 else BARS[max(1, round(c / top * (len(BARS) - 1)))]
                   for c in counts)


def log_bar(v: float | None) -> str:
    """``LOG_BLOCKS`` characters: ``█`` per decade above 1e-6 (``!`` for NaN/Inf)."""
    if v is None:
        return " " * LOG_BLOCKS
    if not math.isfinite(v):
        return "!" * LOG_BLOCKS
    n = 0 if v <= 0 else min(LOG_BLOCKS, max(0, math.floor(math.log10(v)) - LOG_FLOOR + 1))
    return ("█" * n).ljust(LOG_BLOCKS, "·")


def _num(v: float | None) -> str:
    return "—" if v is None else fmt(v)


#: at most this many dead units are listed by index in a block (the JSON lists them all)
SHOWN_UNITS = 32




def units_cell(h: LayerHealth) -> tuple[str, str]:
    """``(text, style)`` of the dead / saturated column."""
    if h.dead_units is not None:
        d = h.dead or 0.0
        return f"dead {len(h.dead_units)}/{h.units} {_pct(d)}", "bold red" if d else ""
    if h.saturated is not None:
        return f"sat {_pct(h.saturated)}", "bold yellow" if h.saturated else ""
    return "", ""


def layer_block(h: LayerHealth, name_w: int, *, selected: bool = False) -> Text:
    """Two lines (three with dead units): what the output looks like; the gradients and the
    weights; the dead units by index."""
    t = Text(end="")
    t.append(f"{'▸' if selected else ' '}{h.name:<{name_w}} ", style="bold")
    if "forward" in h.pending.split(", "):
        t.append("–" * len(h.counts), style="dim")
    else:
        t.append(f"{histogram_bar(h.counts)}", style="cyan on grey15")
        t.append(f" [{_num(h.low)}, {_num(h.high)}]", style="dim")
    cell, style = units_cell(h)
    if cell:
        t.append(f"  {cell}", style=style)
    if h.nonfinite:
        t.append(f"  NaN/Inf {h.nonfinite}", style="bold magenta")
    line = Text(end="")
    for label, v in (("‖dW‖", h.grad_norm), ("‖dx‖", h.dx_norm)):
        if v is None:
            continue
        line.append(f"{label} ")
        line.append(log_bar(v), style="blue")
        line.append(f" {fmt(v)}  ")
    if h.weight_norm is not None:
        line.append(f"‖W‖ {fmt(h.weight_norm)}  ")
    if h.update_ratio is not None:
        line.append("ΔW/W ")
        line.append(f"{h.update_ratio:.1e}",
                    style=RATIO_STYLES.get(ratio_verdict(h.update_ratio), ""))
    if h.pending:
        line.append(f"pending: {h.pending} step{'s' * (',' in h.pending)} not run in this "
                    "iteration", style="dim")
    if line.plain:  # nothing yet: no backward step ran, no weights
        t.append("\n" + " " * (name_w + 2))
        t.append_text(line.rstrip() or line)
    if h.dead_units:
        t.append("\n")
        t.append(" " * (name_w + 2))
        t.append(f"dead units: {unit_list(h.dead_units, SHOWN_UNITS)}", style="red")
    return t


def report_text(report: HealthReport, *, selected: int | None = None,
                warnings: bool = True, head: Text | None = None) -> Text:
    """The whole report: the loss check (and ``head``), a block per layer, the warnings, what
    the columns mean."""
    name_w = max((len(h.name) for h in report.layers), default=5)
    out = Text(end="")
    lc = report.loss_check
    if lc is not None:
        out.append(lc.message() + "\n", style="bold red" if lc.flagged else "green")
    if head is not None:
        out.append_text(head)
        out.append("\n")
    for h in report.layers:
        out.append_text(layer_block(h, name_w, selected=h.index == selected))
        out.append("\n")
    if warnings:
        for w in report.warnings():
            if lc is None or w != lc.message():  # already the first line
                out.append(f"! {w}\n", style="yellow")
    out.append(RULE + "\n", style="dim")
    out.append(LEGEND, style="dim")
    return out
