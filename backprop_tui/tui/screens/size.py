"""The smallest terminal the debugger and the dashboard draw their layout in. Below it a notice
replaces the layout; the keys keep working."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

#: the smallest terminal (columns, lines) the layouts are drawn in
MIN_WIDTH, MIN_HEIGHT = 60, 20


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


def too_small_notice(width: int, height: int, who: str, then: str) -> str:
    """What replaces the layout: the size, what ``who`` needs, and ``then`` (what to do)."""
    return (f"The terminal is {width}×{height}; {who} needs at least {MIN_WIDTH}×{MIN_HEIGHT} "
            f"(80×24 is usable, 120×40 comfortable).\n\n{then}")


def show_size(screen: Screen, width: int, height: int, notice: str, who: str,
              then: str) -> bool:
    """Mark ``screen`` "too-small" (its CSS hides the layout) and fill its ``#notice`` Static
    when the terminal is below the minimum; True when it is."""
    from textual.widgets import Static

    small = too_small(width, height)
    screen.set_class(small, "too-small")
    if small:
        screen.query_one(f"#{notice}", Static).update(too_small_notice(width, height, who,
                                                                        then))
    return small
