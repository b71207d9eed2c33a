"""Numbers and statistics as text: :func:`fmt`, :func:`all_digits`, :class:`Stats` of a tensor and
its line (:func:`format_stats`), and lines of `` · ``-separated parts that fit a width
(:func:`join_parts`, :func:`fold`, :func:`clip_words`).

Numbers are printed by :func:`fmt`: 4 significant digits; trailing zeros are kept exactly when
the value was rounded (``0.3000`` is not exactly 0.3; ``0.3`` is), so the text never lies.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from ...engine.layers import dims
from .colors import NONFINITE, _rgb


# -- numbers -------------------------------------------------------------------------------------
def fmt(v: float) -> str:
    """A compact number with 4 significant digits that never lies.

    ``1.234e-07``, ``-0.5``, ``12.35``, ``1.2e+04``, ``nan``, ``inf``, ``-inf``. A value that the
    short form shows exactly (it parses back to the same float) is printed without trailing zeros
    (``0.5``, ``784``); a rounded one keeps them (``0.3000`` for 0.30000000000000004), so "0.5"
    always means exactly 0.5. float32/float16 scalars are judged at their own precision. A tiny
    non-zero never prints as ``0``.
    """
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    s = f"{x:.4g}"
    if isinstance(v, np.floating) and v.dtype.itemsize < 8:
        exact = v.dtype.type(float(s)) == v
    else:
        exact = float(s) == x
    if exact:
        return s
    s = f"{x:#.4g}"
    if math.isinf(float(s)):  # near the float max, rounding up would read back as inf
        mant, exp = f"{x:.6e}".split("e")
        s = f"{mant[:mant.index('.') + 4]}e{exp}"
    return s


def _pct(frac: float) -> str:
    """A percentage that never rounds a non-zero to 0% or a non-total to 100%."""
    if math.isnan(frac):
        return "n/a"
    p = 100.0 * frac
    if 0 < p < 0.05:
        return "<0.1%"
    if 99.95 <= p < 100:
        return ">99.9%"
    return f"{p:.1f}%"


def all_digits(v: Any) -> str:
    """Every digit of a float (repr), booleans and integers as they are."""
    if isinstance(v, np.bool_ | bool):
        return str(bool(v))
    if isinstance(v, np.integer | int):
        return str(int(v))
    return repr(float(v))


# -- statistics ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    """Summary of a tensor. min/max/mean/std/norm are over the *finite* entries (one NaN does not
    hide the rest); ``nan``/``inf`` count the others; ``zeros`` is the fraction of all entries
    that are exactly 0 (for bool: False). All float fields are NaN when there is no finite entry.
    """

    shape: tuple[int, ...]
    dtype: str
    size: int
    min: float
    max: float
    mean: float
    std: float
    zeros: float
    nan: int
    inf: int
    norm: float = math.nan  #: L2 norm of the finite entries

    @property
    def finite(self) -> int:
        return self.size - self.nan - self.inf


def tensor_stats(a: np.ndarray) -> Stats:
    """Shape, dtype, size, min, max, mean, std, fraction of zeros, NaN and Inf counts, L2 norm."""
    a = np.asarray(a)
    shape, dtype, size = tuple(a.shape), str(a.dtype), int(a.size)
    if size == 0:
        nan = math.nan
        return Stats(shape, dtype, 0, nan, nan, nan, nan, nan, 0, 0, nan)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number):
        a = a.astype(np.float64)
    if np.iscomplexobj(a):
        a = np.abs(a)
    zeros = float(np.count_nonzero(a == 0)) / size
    if np.issubdtype(a.dtype, np.floating):
        fin = np.isfinite(a)
        nfin = int(np.count_nonzero(fin))
        if nfin == size:
            f = a
            n_nan = n_inf = 0
        else:
            n_nan = int(np.count_nonzero(np.isnan(a)))
            n_inf = size - nfin - n_nan
            f = a[fin]
    else:
        f, n_nan, n_inf, nfin = a, 0, 0, size
    if nfin == 0:
        nan = math.nan
        return Stats(shape, dtype, size, nan, nan, nan, nan, zeros, n_nan, n_inf, nan)
    f64 = f.astype(np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(f64))
        std = float(np.std(f64))
        # Σx² = n(σ² + μ²): no extra pass (np.linalg.norm goes through BLAS, slow under load)
        norm = math.sqrt(nfin * (std * std + mean * mean))
        if not (math.isfinite(mean) and math.isfinite(std) and math.isfinite(norm)):
            # sums overflowed (values near the float max): the same statistics of x / max|x|
            big = float(np.max(np.abs(f64)))
            g = f64 / big
            mean, std = float(np.mean(g)) * big, float(np.std(g)) * big
            norm = math.sqrt(float(np.sum(g * g))) * big
    return Stats(shape, dtype, size, float(f64.min()), float(f64.max()), mean, std, zeros,
                 n_nan, n_inf, norm)


def format_stats(s: Stats, *, width: int | None = None, shape: bool = True) -> Text:
    """``shape 32×200 float64 · min … max … mean … std … · 41.2% zeros · NaN 0 · Inf 0``.

    NaN/Inf counts above 0 are bold magenta (the heatmap's non-finite colour). If ``width`` is
    given, the parts (shape · min…std · zeros · NaN · Inf) are packed into as few lines of at
    most ``width`` characters as they fit, breaking only between parts, so no count is cut off
    at the pane's edge; min…std is one part and stays on one line. ``shape=False`` leaves out
    the shape and dtype (a pane whose title already shows them, at 80×24), and splits min…std
    into min max and mean std if it is wider than ``width``.
    """
    head = f"shape {dims(s.shape)} {s.dtype}"
    if s.size == 0:
        return Text(f"{head} · empty (0 entries)")
    nums = f"min {fmt(s.min)} max {fmt(s.max)} mean {fmt(s.mean)} std {fmt(s.std)}"
    if s.finite == 0:
        nums = "no finite entries"
    bad = Style(color=_rgb(NONFINITE), bold=True)
    nan = (f"NaN {s.nan}", bad if s.nan else "")
    inf = (f"Inf {s.inf}", bad if s.inf else "")
    zeros = (f"{_pct(s.zeros)} zeros", "")
    if not shape:
        spread = [(f"min {fmt(s.min)} max {fmt(s.max)}", ""),
                  (f"mean {fmt(s.mean)} std {fmt(s.std)}", "")]
        if s.finite == 0 or (width is not None and len(nums) <= width):
            spread = [(nums, "")]
        if len(spread) == 1:
            return join_parts([*spread, zeros, nan, inf], width)
        # "min … max … · 25.0% zeros" over "mean … std … · NaN 0 · Inf 0": two lines of 40
        return join_parts([spread[0], zeros, spread[1], nan, inf], width)
    order = [(head, ""), (nums, ""), zeros, nan, inf]
    if width is None:
        return join_parts(order, None)
    # the counts may ride on the shape's line when that saves a line (a 68-column pane:
    # "shape … float64 · NaN 0 · Inf 0" over "min … std … · 40.1% zeros")
    packed = [join_parts(order, width),
              join_parts([(head, ""), nan, inf, (nums, ""), zeros], width)]
    return min(packed, key=lambda t: t.plain.count("\n"))


def join_parts(parts: list[tuple[str, Style | str]], width: int | None, *,
               sep: str = " · ", style: Style | str = "") -> Text:
    """Join ``(text, style)`` parts with ``sep``, breaking lines between parts so each line
    is at most ``width`` characters (a part longer than that gets a line of its own, which
    the pane crops). ``style`` is the style of the whole text (the parts' own on top)."""
    t = Text(style=style)
    used = 0
    for i, (part, part_style) in enumerate(parts):
        if i:
            if width is not None and used + len(sep) + len(part) > width:
                t.append("\n")
                used = 0
            else:
                t.append(sep)
                used += len(sep)
        t.append(part, style=part_style)
        used += len(part)
    return t


def fold(text: Text, width: int) -> Text:
    """``text`` on two lines, broken at the last `` · `` that keeps the first line within
    ``width`` (unchanged if there is none)."""
    plain = text.plain
    cut = plain.rfind(" · ", 0, width + 1)
    if cut <= 0:
        return text
    head, _, tail = text.divide([cut, cut + 3])
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    out.append_text(head)
    out.append("\n")
    out.append_text(tail)
    return out


def clip_words(text: Text, width: int) -> Text:
    """``text`` with every line wider than ``width`` shortened at a word boundary and marked
    ``…``: a line never loses the end of a number (``0.11860911`` is kept whole or left out,
    never cut to ``0.11860``), nor its end unseen. Lines that fit are left alone (the same
    object when all do)."""
    plain = text.plain
    lines = plain.split("\n")
    if all(cell_len(line) <= width for line in lines):
        return text
    out = Text(end=text.end, no_wrap=True, overflow="crop", style=text.style,
               justify=text.justify)
    for n, line in enumerate(text.split("\n", allow_blank=True)):
        if n:
            out.append("\n")
        if cell_len(line.plain) > width:
            line = _clip_line(line, width)
        out.append_text(line)
    return out


def _clip_line(line: Text, width: int) -> Text:
    plain = line.plain
    keep = 0
    for m in re.finditer(r"\s+", plain):  # the last word boundary with room for " …"
        if cell_len(plain[:m.start()]) + 2 <= width:
            keep = m.start()
    if keep == 0:  # one word wider than the line: cut it, but say so
        keep = max(0, width - 1)
        while keep and cell_len(plain[:keep]) > width - 1:
            keep -= 1
        clipped = line[:keep]
        clipped.append("…", style="dim")
        return clipped
    clipped = line[:len(plain[:keep].rstrip(" ·"))]
    clipped.append(" …", style="dim")
    return clipped


def first_fit(forms: list[list[tuple[str, Style | str]]], width: int) -> Text:
    """The first of ``forms`` (each a list of ``(text, style)`` parts, longest wording first)
    that fits ``width``, else the last: a line says less rather than lose its end."""
    parts = next((f for f in forms if cell_len("".join(p for p, _ in f)) <= width), forms[-1])
    out = Text(no_wrap=True, overflow="crop", end="")
    for part, style in parts:
        out.append(part, style=style)
    return out


def short_path(path: object, width: int) -> str:
    """``path`` in ``width`` characters: whole when it fits, else its last folders after ``…``
    (``…/runs/iris-3``): the end of a path says which run it is; cutting it off would not."""
    s = str(path)
    if len(s) <= width:
        return s
    cut = s.find("/", len(s) - width + 1)
    return "…" + (s[cut:] if cut >= 0 else s[len(s) - width + 1:])


def count(n: int, noun: str) -> str:
    """``"1 channel"``, ``"30 channels"``: a count and its noun, singular for one."""
    return f"{n} {noun}{'s' * (n != 1)}"
