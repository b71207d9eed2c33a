"""A Line-API base for panes that draw large rich ``Text``: rendered once per change with
rich's console into strips, instead of through Textual's Content conversion.

The tensor pane's heatmap is a few hundred coloured spans; converting that Text into Textual
Content and back into strips cost 3–10 ms per step on the CNN, several times the drawing
itself (measured with benchmarks/tui_speed.py). Rich renders the same Text to segments in
about a millisecond, and the strips are cached until the pane changes.

A line too wide for the pane is shortened at a word boundary and marked ``…``, never cut inside
a number (``render.numtext.clip_words``).
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.strip import Strip
from textual.widget import Widget

from ...safetext import has_unsafe, printable
from ..render.numtext import clip_words


def _printable_strip(line: list[Segment], width: int, style: Style) -> Strip:
    """A rendered line with any control character from names or messages (a layer called
    ``"\\x1b[2J"``) shown as its escape (safetext), re-cropped to the pane's width."""
    if not any(not seg.control and has_unsafe(seg.text) for seg in line):
        return Strip(line, width)
    clean = [seg if seg.control else Segment(printable(seg.text), seg.style) for seg in line]
    return Strip(clean).crop_extend(0, width, style)


class CachedLines(Widget):
    """Subclasses implement ``render()``; lines are rendered by rich and cached until the next
    ``refresh()``, a resize or a change of the widget's base style (theme). ``WRAP`` says
    whether long lines wrap (else they are cropped)."""

    WRAP = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._paint = 0
        self._strips_key: tuple | None = None
        self._strips: list[Strip] = []
        #: the border title's wordings, longest first (:meth:`set_title_forms`)
        self._title_forms: tuple[str, ...] = ()

    def set_title_forms(self, *forms: str) -> None:
        """The border title: the first of ``forms`` that fits the border (Textual would cut
        the last one short with ``…``, through a shape or a count)."""
        self._title_forms = forms
        self._fit_title(self.size.width)

    def _fit_title(self, width: int) -> None:
        if not self._title_forms:
            return
        room = width - 4  # "╭─ " … " ─╮"
        title = next((f for f in self._title_forms if len(f) <= room), self._title_forms[-1])
        if self.border_title != title:
            self.border_title = title

    def refresh(self, *regions, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> CachedLines:
        self._paint += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_str(self, text_content: str | Content) -> Content:
        """Border titles name layers (``Tensor · relu1 · x``): plain text, printable — not
        markup, and no control character from a layer's name reaches the terminal."""
        if isinstance(text_content, str):
            return Content(printable(text_content))
        return super().render_str(text_content)

    def render(self) -> RenderableType:  # pragma: no cover - subclasses draw
        raise NotImplementedError

    def _clipped(self, width: int) -> RenderableType:
        """What ``render()`` gives, its unwrapped lines that are too wide shortened at a word
        boundary and marked ``…`` (:func:`~..render.numtext.clip_words`): rich's own crop and
        ellipsis cut numbers (``exact 0.11860``, ``μ=…``) and cropped line ends unseen."""
        self._fit_title(self.size.width)
        out = self.render()
        if isinstance(out, Text):
            no_wrap = out.no_wrap if out.no_wrap is not None else not self.WRAP
            if no_wrap and out.overflow in (None, "crop", "ellipsis"):
                return clip_words(out, width)
        return out

    def render_line(self, y: int) -> Strip:
        size = self.size
        base = self.visual_style.rich_style
        key = (size.width, size.height, self._paint, base)
        if self._strips_key != key:
            console = self.app.console
            options = console.options.update(width=size.width, height=size.height,
                                              no_wrap=not self.WRAP, overflow="crop",
                                              highlight=False)
            lines = console.render_lines(self._clipped(size.width), options, style=base,
                                         pad=True, new_lines=False)
            self._strips = [_printable_strip(line, size.width, base) for line in lines]
            self._strips_key = key
            self._dirty_regions.clear()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(size.width, base)
