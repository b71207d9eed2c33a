"""The colours of ``render.colors``: the diverging ramp, the special colours off it, WCAG
contrast.

Colours are read back from the ``Text`` spans (no terminal needed): the helpers here
(:func:`style_at`, :func:`bg`, :func:`fg`) are imported by the other ``test_render_*``
files."""

from __future__ import annotations

import numpy as np
import pytest
from rich.style import Style
from rich.text import Text

from backprop_tui.tui import render as R


# -- reading colours back ------------------------------------------------------------------------
def style_at(text: Text, offset: int) -> Style | None:
    """The combined style of the spans covering character ``offset`` (None if unstyled)."""
    found = [sp.style for sp in text.spans if sp.start <= offset < sp.end]
    if not found:
        return None
    out = Style()
    for s in found:
        out += s if isinstance(s, Style) else Style.parse(s)
    return out


def bg(text: Text, offset: int) -> tuple[int, int, int] | None:
    s = style_at(text, offset)
    return tuple(s.bgcolor.triplet) if s is not None and s.bgcolor is not None else None


def fg(text: Text, offset: int) -> tuple[int, int, int] | None:
    s = style_at(text, offset)
    return tuple(s.color.triplet) if s is not None and s.color is not None else None


RAMP = {R.level_color(k) for k in range(-R.LEVELS, R.LEVELS + 1)}


# -- colours and the heatmap ---------------------------------------------------------------------


def test_ramp_ends_and_middle() -> None:
    assert R.level_color(0) == R.NEUTRAL
    assert R.level_color(R.LEVELS) == R.POS_END
    assert R.level_color(-R.LEVELS) == R.NEG_END
    # the middle is a grey, neither white nor black, so it reads on light and dark themes
    assert len(set(R.NEUTRAL)) == 1 and 64 <= R.NEUTRAL[0] <= 192
    # the ends are strongly saturated: one channel far above the others
    for end in (R.POS_END, R.NEG_END):
        assert max(end) - min(end) >= 180
    # monotone: redder (bluer) with every positive (negative) level
    reds = [R.level_color(k)[0] - R.level_color(k)[2] for k in range(0, R.LEVELS + 1)]
    blues = [R.level_color(-k)[2] - R.level_color(-k)[0] for k in range(0, R.LEVELS + 1)]
    assert reds == sorted(reds) and len(set(reds)) == len(reds)
    assert blues == sorted(blues) and len(set(blues)) == len(blues)


def test_nonfinite_and_cursor_colours_are_not_on_the_ramp() -> None:
    assert R.NONFINITE not in RAMP
    assert R.CURSOR not in RAMP
    gray = {(g, g, g) for g in range(256)}
    assert R.NONFINITE not in gray and R.CURSOR not in gray


def test_contrast_ratio_known_values() -> None:
    assert R.contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert R.contrast_ratio((128, 128, 128), (128, 128, 128)) == pytest.approx(1.0)
    assert R.luminance((255, 0, 0)) == pytest.approx(0.2126)
    # the better of black and white is ≥ 4.58:1 on any background at all
    rng = np.random.default_rng(0)
    for rgb in rng.integers(0, 256, size=(500, 3)).tolist():
        rgb = tuple(rgb)
        assert R.contrast_ratio(R.text_color(rgb), rgb) >= 4.58
