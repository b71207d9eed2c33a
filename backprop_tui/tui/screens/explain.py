"""The explain view (key ``e`` in the debugger): one entry of one tensor as the chain rule
computed it, the entries that feed it, and the walk along the chain.

A screen over the debugger: the explanation takes the left (the formula, the same with this
batch's numbers, the terms largest first, their sum — the entry the tensor pane shows — the
grids and the notes), the entries that feed it the top right (largest contribution first; ``↑
↓`` choose one), and the tensor the chosen one comes from the bottom right, with every entry of
it that feeds the explained one marked (``▸`` on numbers, ``◆`` on colours) and the cursor on
the chosen one. ``enter`` explains the chosen input (from a gradient: toward the loss), ``d``
the entry this one feeds next (down the backward pass: ``dx`` of layer k → ``dout`` of layer
k−1 → … → the first layer's ``dW``). Every entry explained is kept on a back-stack:
``backspace`` goes back one, ``escape`` too and closes the view at the first entry. The view
closes through :class:`DismissOnce`: escapes typed faster than frames close it once.

Nothing here steps the network: the debugger underneath waits, and the explanations are of
the state it shows.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...engine.explain import Entry, ExplainError, Explanation
from ...safetext import printable
from ..explainsession import ExplainSession, Fed
from ..widgets.explain import ExplainPane, InputsPane, SourcePane
from .help import HelpScreen
from .keys import KeyCommand, bindings, help_rows
from .once import DismissOnce

EXPLAIN_KEYS: tuple[KeyCommand, ...] = (
    KeyCommand("up", "choose(-1)", "", "Choose the entry above among those that feed it "
               "(listed largest contribution first)", "↑"),
    KeyCommand("down", "choose(1)", "", "Choose the entry below among those that feed it", "↓"),
    KeyCommand("enter", "follow", "follow", "Explain the chosen entry that feeds it: from a "
               "gradient this walks toward the loss (dW → dout = dx of the layer above → … → "
               "dscores → the loss's y and t)", "enter"),
    KeyCommand("d", "down_chain", "down", "One step the other way: explain the entry this one "
               "feeds next, the one it adds most to (dx of layer k → dout of layer k−1 → dx … → "
               "the first layer's dW; an activation: toward the loss)"),
    KeyCommand("pagedown", "scroll(1)", "", "Scroll an explanation taller than its pane (the "
               "grids of a conv entry at 80×24)", "pgdn / pgup"),
    KeyCommand("pageup", "scroll(-1)", "", "Scroll the explanation back up", "pgup"),
    KeyCommand("backspace", "back", "back", "Back to the entry explained before", "backspace"),
    KeyCommand("escape", "back_or_close", "back", "Back one entry; at the first, close the "
               "explain view", "escape"),
    KeyCommand("question_mark", "help", "help", "Keys and what each pane shows", "?"),
)

EXPLAIN_PANES = (
    ("Explain", "the entry and its value, the formula with the code's names, the same with "
     "this entry's indices and numbers, the terms (largest first; '… N more' sums the rest), "
     "their sum — equal to the entry the tensor pane shows — then small grids (a conv window "
     "and its kernel) and notes (a mask that blocks, a finding where the code differs from "
     "its formula)."),
    ("Fed by", "exactly the entries that feed it, largest contribution first (the largest "
     "term that names them); the chosen one is what enter follows."),
    ("Where it comes from", "the tensor the chosen entry belongs to, as the debugger's tensor "
     "pane shows it: ▸ (numbers) or ◆ (colours) marks every entry of it that feeds the "
     "explained one, the cursor [ ] the chosen one."),
)


def explain_help() -> HelpScreen:
    return HelpScreen(help_rows(EXPLAIN_KEYS), EXPLAIN_PANES, heading="backprop-tui · explain",
                      intro="One number at a time: how the chain rule made it from the numbers "
                            "of this batch, and the entries it came from.")


def _is_gradient(entry: Entry) -> bool:
    return entry.tensor.startswith("d")


class ExplainScreen(DismissOnce, Screen[None]):
    """The explain view over the debugger, starting at ``first``."""

    BINDINGS = bindings(EXPLAIN_KEYS)

    def __init__(self, explainer: ExplainSession, first: Explanation) -> None:
        super().__init__()
        self.explainer = explainer
        #: the back-stack: every entry explained on the way here, with the input chosen there
        self.trail: list[tuple[Explanation, list[Fed], int]] = []
        self.message = ""
        self._push(first)

    def compose(self) -> ComposeResult:
        with Horizontal(id="ex-main"):
            yield ExplainPane(id="explain")
            with Vertical(id="ex-right"):
                yield InputsPane(id="inputs")
                yield SourcePane(id="ex-source")
        yield Static(id="ex-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "backprop-tui"
        self.sub_title = "explain"
        self._show()

    # -- the back-stack -----------------------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        """The entries explained on the way here, the first one first."""
        return [e.entry for e, _, _ in self.trail]

    @property
    def current(self) -> Explanation:
        return self.trail[-1][0]

    def _push(self, e: Explanation) -> None:
        fed = self.explainer.fed_by(e)
        chosen = 0
        if _is_gradient(e.entry):  # enter walks toward the loss: the largest gradient first
            chosen = next((k for k, f in enumerate(fed) if _is_gradient(f.entry)), 0)
        self.trail.append((e, fed, chosen))

    def _show(self) -> None:
        if not self.is_attached:
            return
        e, fed, chosen = self.trail[-1]
        shown = None
        if e.entry.layer == "update":  # the pane shows the change; explain the value after
            delta = self.explainer.value_of(e.entry)
            if delta is not None:
                shown = (f"Δ{e.entry.tensor}[{', '.join(map(str, e.entry.index))}]", delta)
        self.query_one(ExplainPane).show(e, shown)
        self.query_one(InputsPane).set_inputs(fed, chosen)
        self._show_source()
        self._update_status()

    def _show_source(self) -> None:
        """The tensor the chosen input comes from, its entries that feed this one marked; with
        no input, the explained entry's own tensor."""
        e, fed, _ = self.trail[-1]
        cur = self.query_one(InputsPane).current
        place = cur.place if cur is not None else None
        if place is None:
            place = self.explainer.place_of(e.entry)
            marks = frozenset()
        else:
            marks = frozenset(f.entry.index for f in fed if f.place is not None and
                              (f.place.row, f.place.key) == (place.row, place.key))
        pane = self.query_one(SourcePane)
        pane.own = cur is None or cur.place is None
        if place is None:
            pane.set_items([], "")
            return
        s = self.explainer.session
        items = s.tensors(place.row)
        before = None if cur is None or not cur.before else self.explainer.before_update(
            cur.entry)
        pane.before = before is not None
        if before is not None:  # the values the backward step used: the update came after
            items = [replace(it, array=before, source="before the update (it changed since)")
                     if it.key == place.key else it for it in items]
        pane.set_items(items, s.rows()[place.row].name)
        pane.select(place.key)
        pane.point_at(marks, place.index)

    def _update_status(self) -> None:
        status = self.query_one("#ex-status", Static)
        if self.message:
            status.update(Text(printable(self.message)))
            return
        width = max(10, self.size.width - 2)
        parts = [str(entry) for entry in self.entries]
        text = " → ".join(parts)
        while len(parts) > 1 and len(text) > width:  # the latest entries, the first ones dropped
            parts = parts[1:]
            text = "… → " + " → ".join(parts)
        status.update(Text(printable(text), style="bold" if len(parts) > 1 else ""))

    def _say(self, message: str) -> None:
        self.message = message
        self._update_status()

    def _go(self, entry: Entry) -> None:
        try:
            e = self.explainer.explain(entry)
        except ExplainError as err:
            self.app.bell()
            self._say(f"cannot explain {entry}: {err}")
            return
        self.message = ""
        self._push(e)
        self._show()

    # -- keys ---------------------------------------------------------------------------------
    def action_choose(self, delta: int) -> None:
        pane = self.query_one(InputsPane)
        pane.move(delta)
        e, fed, _ = self.trail[-1]
        self.trail[-1] = (e, fed, pane.selected)
        self._show_source()

    def action_scroll(self, delta: int) -> None:
        pane = self.query_one(ExplainPane)
        pane.scroll_lines(delta * max(1, pane.content_size.height - 2))

    def action_follow(self) -> None:
        cur = self.query_one(InputsPane).current
        if cur is None:
            self.app.bell()
            self._say(f"nothing in the network feeds {self.current.entry}: the chain starts "
                      "here (d goes the other way)")
            return
        self._go(cur.entry)

    def action_down_chain(self) -> None:
        try:
            entry = self.explainer.down(self.current.entry)
        except ExplainError as err:
            self.app.bell()
            self._say(str(err))
            return
        self._go(entry)

    def action_back(self) -> None:
        if len(self.trail) > 1:
            self.trail.pop()
            self.message = ""
            self._show()
        else:
            self._say("the first entry explained: escape closes the explain view")

    def action_back_or_close(self) -> None:
        if len(self.trail) > 1:
            self.action_back()
        else:
            self.dismiss(None)

    def action_help(self) -> None:
        self.app.push_screen(explain_help())
