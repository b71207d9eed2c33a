"""Optimizer paths on a function's contours, as text (the book's Figure 6-8).

* :func:`function_of` turns the experiment's ``f`` (``"x**2/20 + y**2"``, read from a file)
  into a numpy function of ``x`` and ``y`` — arithmetic, ``**`` and a few numpy functions only,
  evaluated by walking its syntax tree (never ``eval``): a file cannot run code through it.
* :func:`paths_panel` draws one panel: ``f`` evaluated on the braille dot grid (2×4 dots per
  character cell), a contour line wherever the level band changes between neighbouring dots
  (levels equally spaced in √f, so a quadratic's ellipses are evenly spaced), dim; over it each
  path in its run's colour, a braille line from step to step and the run's marker at every
  step; ``S`` marks the start. Axes carry their ticks (x below, y on the left).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Sequence

import numpy as np
from rich.style import Style
from rich.text import Text

from .plot import _DOT_BITS, BRAILLE_BASE, _tick_label, nice_bounds

#: one marker per run (the runs' colours tell them apart too)
MARKERS = ("●", "■", "▲", "◆", "o", "x", "+", "*")
START = "S"
CONTOUR_STYLE = Style(color="#7a7a7a")
AXIS_STYLE = Style(dim=True)

_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos,
    "tanh": np.tanh, "abs": np.abs}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_EXPR = 200


def function_of(expr: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(x, y)`` of ``expr``; ValueError (saying what is allowed) for anything else."""
    allowed = (f"an expression in x and y with numbers, + - * / ** and "
               f"{', '.join(_FUNCS)}")
    if not isinstance(expr, str) or len(expr) > MAX_EXPR:
        raise ValueError(f"f must be {allowed}, at most {MAX_EXPR} characters")
    try:
        tree = ast.parse(expr, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise ValueError(f"f = {expr!r} is not {allowed}") from None

    def check(node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            check(node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            pass
        elif isinstance(node, ast.Name) and node.id in ("x", "y"):
            pass
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in _FUNCS and len(node.args) == 1 and not node.keywords):
            check(node.args[0])
        else:
            raise ValueError(f"f = {expr!r} is not {allowed}")

    try:
        check(tree)
    except RecursionError:
        raise ValueError(f"f = {expr!r} is nested too deeply") from None

    def ev(node: ast.AST, env: dict[str, np.ndarray]) -> np.ndarray:
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left, env), ev(node.right, env))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand, env))
        if isinstance(node, ast.Constant):
            return np.float64(node.value)  # floats: 10**10**10 is inf, not a huge integer
        if isinstance(node, ast.Name):
            return env[node.id]
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return _FUNCS[node.func.id](ev(node.args[0], env))

    def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        with np.errstate(all="ignore"):
            return np.broadcast_to(ev(tree, {"x": xs, "y": ys}), np.broadcast(xs, ys).shape)

    return f


def _limits(contour: dict, key: str, default: tuple[float, float]) -> tuple[float, float]:
    v = contour.get(key, default)
    try:
        lo, hi = float(v[0]), float(v[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise ValueError(f"contour {key} must be [low, high], got {v!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"contour {key} must be finite with low < high, got {v!r}")
    return lo, hi


def _tick_positions(lo: float, hi: float, n: int, wanted: int, *, down: bool = False
                    ) -> list[tuple[int, str]]:
    """(cell, label) of nice ticks between ``lo`` and ``hi`` over ``n`` cells (counted from
    ``hi`` when ``down``: the rows of a y axis)."""
    _, _, step = nice_bounds(lo, hi, wanted)
    first = math.ceil(lo / step - 1e-9)
    out = []
    k = first
    while k * step <= hi + 1e-9 * step:
        v = k * step
        cell = round(((hi - v) if down else (v - lo)) / (hi - lo) * (n - 1))
        out.append((cell, _tick_label(0.0 if abs(v) < 1e-12 * step else v)))
        k += 1
    return out


class _Frame:
    """Where things go in a ``width`` × ``height`` drawing of a contour description: the axes'
    limits and ticks, the plot area (``pw`` × ``ph`` cells after a ``gutter``), and the dot
    (or cell) of a point. ValueError for a bad description."""

    def __init__(self, contour: dict, width: int, height: int) -> None:
        self.f = function_of(contour.get("f", ""))
        self.x0, self.x1 = _limits(contour, "xlim", (-10.0, 10.0))
        self.y0, self.y1 = _limits(contour, "ylim", (-5.0, 5.0))
        self.yticks = _tick_positions(self.y0, self.y1, max(1, height - 2),
                                      max(2, min(5, height // 3)), down=True)
        self.gutter = max(len(t) for _, t in self.yticks) + 1 if self.yticks else 2
        self.pw, self.ph = width - self.gutter, height - 2  # the x axis and its labels below

    def dot(self, px: float, py: float) -> tuple[float, float]:
        """(column, row) of a point in dots (2 per cell across, 4 down)."""
        return ((px - self.x0) / (self.x1 - self.x0) * 2 * self.pw - 0.5,
                (self.y1 - py) / (self.y1 - self.y0) * 4 * self.ph - 0.5)

    def cell(self, px: float, py: float) -> tuple[int, int]:
        """(row, column) of the plot area's cell that holds a point."""
        c, r = self.dot(px, py)
        return int(np.floor((r + 0.5) / 4)), int(np.floor((c + 0.5) / 2))


def paths_panel(contour: dict, paths: Sequence[tuple[Sequence[tuple[float, float]], str, str]],
                width: int, height: int, *, levels: int = 6) -> Text:
    """``f``'s contours and ``paths`` (points, colour, marker) in ``width`` × ``height``
    characters, axes included. A bad contour description draws a message instead."""
    out = Text(no_wrap=True, overflow="crop", end="")
    try:
        fr = _Frame(contour, width, height)
    except ValueError as e:
        out.append(f"cannot draw the contours: {e}", style="dim")
        return out
    x0, x1, y0, y1, pw, ph, gutter = fr.x0, fr.x1, fr.y0, fr.y1, fr.pw, fr.ph, fr.gutter
    if pw < 8 or ph < 3:
        out.append("(enlarge to see the paths)", style="dim")
        return out
    nc, nr = 2 * pw, 4 * ph
    xs = x0 + (np.arange(nc) + 0.5) / nc * (x1 - x0)
    ys = y1 - (np.arange(nr) + 0.5) / nr * (y1 - y0)
    z = fr.f(xs[None, :], ys[:, None])
    fin = np.isfinite(z)
    bits = np.zeros((ph, pw), dtype=np.uint16)
    if fin.any():
        # the inner half of the values: the outer contours of a steep valley crowd together
        # (the book cuts f at 7 for the same reason)
        lo, hi = float(z[fin].min()), float(np.median(z[fin]))
        span = max(hi - lo, 1e-300)
        edges = lo + span * (np.arange(1, levels + 1) / (levels + 1)) ** 2
        band = np.where(fin, np.searchsorted(edges, np.where(fin, z, lo)), -1)
        line = np.zeros((nr, nc), dtype=bool)
        line[:, :-1] |= band[:, :-1] != band[:, 1:]
        line[:-1, :] |= band[:-1, :] != band[1:, :]
        bits = _cells(line, ph, pw)
    owner = np.full((ph, pw), -1, dtype=np.int64)
    marks: dict[tuple[int, int], tuple[str, int]] = {}

    for k, (points, _color, marker) in enumerate(paths):
        pts = [(float(a), float(b)) for a, b in points
               if math.isfinite(float(a)) and math.isfinite(float(b))]
        if not pts:
            continue
        grid = np.zeros((nr, nc), dtype=bool)
        for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
            (c0, r0), (c1, r1) = fr.dot(ax, ay), fr.dot(bx, by)
            steps = int(max(abs(c1 - c0), abs(r1 - r0))) + 2
            cs = np.rint(np.linspace(c0, c1, steps)).astype(np.int64)
            rs = np.rint(np.linspace(r0, r1, steps)).astype(np.int64)
            ok = (cs >= 0) & (cs < nc) & (rs >= 0) & (rs < nr)
            grid[rs[ok], cs[ok]] = True
        cell = _cells(grid, ph, pw)
        bits = np.where(cell > 0, cell, bits)
        owner[cell > 0] = k
        for i, (px, py) in enumerate(pts):
            rr, cc = fr.cell(px, py)
            held = marks.get((rr, cc))
            if 0 <= cc < pw and 0 <= rr < ph and (held is None or held[0] != START):
                marks[(rr, cc)] = (START if i == 0 else marker, k)  # the start stays seen
    styles = [Style(color=color, bold=True) for _p, color, _m in paths]
    ticks = dict(fr.yticks)
    for r in range(ph):
        label = ticks.get(r)
        out.append(f"{label:>{gutter - 1}}┤" if label else " " * (gutter - 1) + "│",
                   style=AXIS_STYLE)
        for c in range(pw):
            mark = marks.get((r, c))
            if mark is not None:
                glyph, k = mark
                out.append(glyph, style=Style(bold=True) if glyph == START else styles[k])
            elif bits[r, c]:
                k = int(owner[r, c])
                out.append(chr(BRAILLE_BASE + int(bits[r, c])),
                           style=styles[k] if k >= 0 else CONTOUR_STYLE)
            else:
                out.append(" ")
        out.append("\n")
    out.append(" " * (gutter - 1) + "└" + "─" * pw + "\n", style=AXIS_STYLE)
    labels = [" "] * pw
    for cell, text in _tick_positions(x0, x1, pw, max(2, min(7, pw // 8))):
        start = min(max(0, cell - len(text) // 2), pw - len(text))
        if all(ch == " " for ch in labels[max(0, start - 1): start + len(text) + 1]):
            labels[start: start + len(text)] = list(text)
    out.append(" " * gutter + "".join(labels), style=AXIS_STYLE)
    return out


def _cells(grid: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Braille bits per character cell of a (4·ph, 2·pw) dot grid."""
    return (grid.reshape(ph, 4, pw, 2) * _DOT_BITS[None, :, None, :]).sum(
        axis=(1, 3), dtype=np.uint16)


def cell_of(contour: dict, point: tuple[float, float], width: int, height: int
            ) -> tuple[int, int]:
    """The (line, column) of :func:`paths_panel`'s drawing where ``point`` lies: where the
    drawing puts a path's marker for that point (tests find the start with it)."""
    fr = _Frame(contour, width, height)
    row, col = fr.cell(*point)
    return row, fr.gutter + col
