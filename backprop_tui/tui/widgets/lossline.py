"""The loss line: loss and batch accuracy per iteration, as sparklines with the latest values."""

from __future__ import annotations

import math

from rich.text import Text

from .. import render
from ..session import LossPoint
from .lines import CachedLines


class LossLine(CachedLines):
    """Two rows: the loss (data + L2) and the batch accuracy of every completed loss step."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.history: list[LossPoint] = []
        self._key: tuple = ()

    units = "nats"

    def set_history(self, history: list[LossPoint]) -> None:
        key = (len(history), history[-1] if history else None)
        if key == self._key:
            return
        self._key = key
        self.history = list(history)
        self.refresh()

    def render(self) -> Text:
        width = max(20, self.content_size.width)
        h = self.history
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if not h:
            text.append(f"loss per iteration ({self.units}): ", style="bold")
            text.append("no loss yet — step to the loss step (n), or finish the forward pass (f)",
                        style="dim")
            return text
        losses = [p.loss for p in h]
        accs = [100 * p.accuracy for p in h]
        last = h[-1]
        finite = [v for v in losses if math.isfinite(v)]
        label_w = 22
        spark_w = max(5, width - label_w - 28)
        text.append(f"{f'loss ({self.units})':<{label_w}}", style="bold")
        text.append_text(render.sparkline(losses, spark_w))
        text.append(f"  {render.fmt(last.loss)}", style="bold")
        if finite:
            text.append(f" (min {render.fmt(min(finite))}, {len(h)} it.)", style="dim")
        text.append("\n")
        text.append(f"{'batch accuracy (%)':<{label_w}}", style="bold")
        text.append_text(render.sparkline(accs, spark_w))
        text.append(f"  {accs[-1]:.1f}%", style="bold")
        text.append(f" (iteration {last.iteration})", style="dim")
        return text
