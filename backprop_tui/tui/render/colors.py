"""Colours of every picture, and why (the legend always says which applies):

* **One diverging scale, centred at 0.** Sign is hue (blue −, red +), magnitude is saturation:
  a mid grey ``rgb(128,128,128)`` is exactly 0 and the ends are strongly saturated, so the ramp
  reads on light *and* dark backgrounds without a theme switch. The scale is symmetric, ±max|v|
  of the drawn values unless given, quantised to 32 levels per sign. A non-negative tensor (ReLU
  output, probabilities, a mask's mean) uses the same scale and so only its red half: a colour
  means the same number in every pane; ``legend(..., signed=False)`` then shows ``0 … +max``.
* **Non-finite values are never a colour of a finite one.** NaN is ``!!``, +Inf ``+∞``, −Inf
  ``-∞``, all on magenta (no finite value is magenta: the ramp runs blue → grey → red). With an
  explicit ``scale``, finite values beyond it are drawn at full colour *and* marked ``>>``/``<<``.
* **Text on a colour is black or white**, whichever has the higher WCAG contrast ratio on that
  colour (:func:`text_color`): ≥ 4.5:1 on every level of the ramp and on magenta, and the same
  on light and dark themes because the cell paints its own background. :func:`numbers` prints
  small tensors' values this way, on their heatmap colours.
* Pictures (``halfblock``/``image_grid``) are grayscale (black = vmin, white = vmax) or, with
  ``diverging=True``, the heatmap ramp; NaN/±Inf pixels are magenta there too (a pixel has no
  room for a glyph), the cursor pixel is yellow.

:data:`COLORS` are the series colours of the line charts (:mod:`.plot`).
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color

# -- colours -------------------------------------------------------------------------------------
LEVELS = 32  #: colour levels per sign
NEUTRAL = (128, 128, 128)  #: exactly 0: a mid grey, visible on light and dark backgrounds
POS_END = (220, 20, 20)  #: +scale: saturated red
NEG_END = (20, 90, 235)  #: −scale: saturated blue
NONFINITE = (255, 0, 255)  #: NaN / ±Inf: magenta, not on the blue–grey–red ramp
CURSOR = (255, 215, 0)  #: the cursor pixel in pictures: yellow, not on either ramp


def level_color(level: int) -> tuple[int, int, int]:
    """RGB of a diverging level in ``-LEVELS..LEVELS`` (linear from grey to the saturated end)."""
    level = max(-LEVELS, min(LEVELS, int(level)))
    end = POS_END if level > 0 else NEG_END
    t = abs(level) / LEVELS
    return tuple(round(n + t * (e - n)) for n, e in zip(NEUTRAL, end, strict=True))  # type: ignore[return-value]


def _rgb(c: tuple[int, int, int]) -> Color:
    return Color.from_rgb(*c)


def luminance(c: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour: 0 (black) … 1 (white)."""

    def lin(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two colours: 1 (same) … 21 (black on white)."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


@lru_cache(maxsize=256)
def text_color(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever has the higher WCAG contrast ratio on background ``bg``.

    The better of the two is always ≥ 4.58:1 (WCAG AA asks 4.5 for text), whatever ``bg``;
    and since the cell paints its own background, the pair reads the same on light and dark
    terminal themes.
    """
    black, white = (0, 0, 0), (255, 255, 255)
    return black if contrast_ratio(bg, black) >= contrast_ratio(bg, white) else white


def _contrast(c: tuple[int, int, int]) -> Color:
    """Black or white, whichever reads better on background ``c`` (see :func:`text_color`)."""
    return _rgb(text_color(tuple(c)))  # type: ignore[arg-type]


# -- line charts -------------------------------------------------------------------------------
#: series colours that read on light and dark backgrounds (blue, orange, green, purple, red,
#: cyan, olive, grey); a chart with more series than these cycles through them
COLORS = ("#3b8eea", "#e5892b", "#2aa876", "#c94fd6", "#d94c4c", "#2fb3c4", "#a08a1e",
          "#8c8c8c")
