"""A Line-API base for panes that draw large rich ``Text``: rendered once per change with
rich's console into strips, instead of through Textual's Content conversion.

The tensor pane's heatmap is a few hundred coloured spans; converting that Text into Textual
Content and back into strips cost 3–10 ms per step on the CNN, several times the drawing
itself (measured with benchmarks/tui_speed.py). Rich renders the same Text to segments in
about a millisecond, and the strips are cached until the pane changes.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.strip import Strip
from textual.widget import Widget


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

    def refresh(self, *regions, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> CachedLines:
        self._paint += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render(self) -> RenderableType:  # pragma: no cover - subclasses draw
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        size = self.size
        base = self.visual_style.rich_style
        key = (size.width, size.height, self._paint, base)
        if self._strips_key != key:
            console = self.app.console
            options = console.options.update(width=size.width, height=size.height,
                                              no_wrap=not self.WRAP, overflow="crop",
                                              highlight=False)
            lines = console.render_lines(self.render(), options, style=base, pad=True,
                                         new_lines=False)
            self._strips = [Strip(line, size.width) for line in lines]
            self._strips_key = key
            self._dirty_regions.clear()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(size.width, base)
