"""Pure drawing: numpy arrays → rich ``Text`` (heatmaps, bitmaps, numbers, half-block pictures,
sparklines, braille line charts).

numpy and rich only — no textual — so every picture is testable without a terminal, and the
widgets stay thin: they choose *what* to show; this package decides *how* it looks. One idea
per module; the names below are re-exported here, so ``render.fmt``, ``render.heatmap`` … work
without knowing which module holds them:

* :mod:`.colors` — the diverging ramp and the special colours, WCAG contrast; why the colours
  are what they are
* :mod:`.numtext` — numbers and statistics as text: ``fmt``, ``all_digits``, ``tensor_stats``,
  ``format_stats``, ``join_parts``, ``fold``; lines that fit without cutting a number
  (``clip_words``, ``first_fit``, ``short_path``)
* :mod:`.blocks` — downsampling by whole blocks (mean, largest |value|, any) and tile planning
* :mod:`.grid` — ``View`` and ``layout``: any tensor as a 2-D grid of cells, cell → index
* :mod:`.heatmaps` — heat codes, ``heatmap``, ``legend``, ``bitmap``
* :mod:`.numbers_grid` — ``numbers``: small tensors' values on their heatmap colours
* :mod:`.numbers_window` — ``numbers_window``: a block of numbers that follows the cursor
* :mod:`.numbers_plan` — the tensor pane's choice: every number, a window, or colours only
* :mod:`.pictures` — half-block pictures: ``halfblock``, ``image_grid``, ``image_kind``
* :mod:`.winners` — max-pool switches as one arrow per window (which entry won, ties dotted)
* :mod:`.colour_pictures` — the same in colour (RGB data, filters over it): ``colour_picture``,
  ``colour_grid``, ``colour_shape``
* :mod:`.series` — ``Series`` and ``SeriesBuffer`` (a long series in bounded memory)
* :mod:`.plot` — the braille line chart (``plot``, nice bounds, ticks) and ``sparkline``

(No module is named like a function it holds: ``render.numbers``, ``render.heatmap`` are the
functions. ``plot`` is the module; import the function from it.)

Speed (``PYTHONPATH=. .venv/bin/python benchmarks/render_speed.py --repeat 300``, this 2-core
box while other test suites ran, load ≈ 4; medians — the p95 under that load was 0.3–9 ms):
heatmap of a 32×200 tensor 1.4 ms · layout + heatmap of a (32,30,24,24) activation in 80×20
cells 0.35 ms (40×20: 0.16 ms) · halfblock 28×28 0.17 ms · image_grid of 30 filters 5×5
0.22 ms · tensor_stats (32,30,24,24) 0.6 ms · sparkline of 5000 points 0.3 ms · numbers of a
32×20 grid with labels 0.9 ms (its 640 ``fmt`` calls are most of it; 4×6: 0.06 ms) ·
numbers_window of a 20×20 matrix in 66×15 0.3 ms, plus 0.3 ms for ``number_strings`` of its
400 entries (64×64: 0.7 + 3.1 ms; timeit, best of 5, idle box). How: colour
levels are quantised with numpy, equal neighbours merge into one span, and the ``Text`` is built
in one go from the joined string and a list of ``Span`` with cached ``Style`` objects.
"""

from __future__ import annotations

from .colors import (
    CURSOR,
    LEVELS,
    NEG_END,
    NEUTRAL,
    NONFINITE,
    POS_END,
    contrast_ratio,
    level_color,
    luminance,
    text_color,
)
from .colour_pictures import colour_grid, colour_picture, colour_shape
from .grid import View, layout
from .heatmaps import auto_scale, bitmap, heat_codes, heatmap, legend
from .numbers_grid import NUMBERS_MIN, number_strings, numbers, numbers_size, numbers_widths
from .numbers_window import NumbersWindow, numbers_window
from .numtext import Stats, fmt, format_stats, join_parts, tensor_stats
from .pictures import fit_images, halfblock, image_grid
from .plot import sparkline

__all__ = [
    "LEVELS",
    "NEUTRAL",
    "NEG_END",
    "POS_END",
    "NONFINITE",
    "NUMBERS_MIN",
    "CURSOR",
    "Stats",
    "View",
    "auto_scale",
    "bitmap",
    "colour_grid",
    "colour_picture",
    "colour_shape",
    "contrast_ratio",
    "fmt",
    "fit_images",
    "format_stats",
    "halfblock",
    "heat_codes",
    "heatmap",
    "join_parts",
    "image_grid",
    "layout",
    "legend",
    "level_color",
    "luminance",
    "NumbersWindow",
    "numbers",
    "numbers_size",
    "numbers_widths",
    "numbers_window",
    "number_strings",
    "sparkline",
    "tensor_stats",
    "text_color",
]
