"""BackpropApp: the Textual application — screens, global bindings, theme, command palette.

Entry points used by the CLI:

* :func:`run_picker` — ``backprop-tui`` with no arguments: the scenario picker, then the
  debugger;
* :func:`run_debugger` — ``backprop-tui debug SCENARIO``: the debugger on a session the CLI has
  already built (so bad input exits with code 2 before the terminal is taken over).

Other screens (the training dashboard) are pushed the same way: ``BackpropApp(screen=...)``
starts on any screen, and :meth:`BackpropApp.open_debugger` pushes a debugger on top of
whatever is showing; popping it returns there.
"""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from typing import Literal

from textual import events, on
from textual.app import App, SystemCommand
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, Input

from ..blas import threads_for
from ..engine.graph import Graph
from ..errors import UsageError
from .graphsession import GraphSession
from .screens.debugger import DEBUGGER_KEYS, DebuggerScreen
from .screens.picker import PickerScreen
from .session import DebugSession

DARK, LIGHT = "textual-dark", "textual-light"


class _CommandPalette(CommandPalette):
    """Textual's palette, minus three crashes found by tests/test_tui_fuzz.py (Textual 8.2):
    PageUp/PageDown before the command list is laid out raise a KeyError, a search that
    finishes while the palette is being closed cannot find its widgets (NoMatches), and a
    second Enter queued before the palette closed pops a screen too many."""

    def _action_command_list(self, action: str) -> None:
        try:
            super()._action_command_list(action)
        except KeyError:
            pass

    def _watch__list_visible(self) -> None:
        try:
            super()._watch__list_visible()
        except NoMatches:
            pass

    @on(Input.Submitted)
    @on(Button.Pressed)
    def _select_or_command(self, event: Input.Submitted | Button.Pressed | None = None) -> None:
        if event is not None:
            event.prevent_default()  # this replaces the base class's handler
        # a second Enter queued before the first one closed the palette: nothing to dismiss
        if self.app.screen is not self:
            if event is not None:
                event.stop()
            return
        super()._select_or_command(event)


class BackpropApp(App[None]):
    """``mode="picker"`` starts on the scenario picker, ``mode="debug"`` on the debugger for
    ``session``; ``screen`` starts on any other screen (for instance a dashboard)."""

    CSS_PATH = "app.tcss"
    TITLE = "backprop-tui"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        mode: Literal["picker", "debug", "screen"] = "picker",
        *,
        session: DebugSession | None = None,
        screen: Callable[[], Screen] | None = None,
        theme: str = DARK,
        scenario_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        if mode == "debug" and session is None:
            raise ValueError("mode='debug' needs a session")
        if mode == "screen" and screen is None:
            raise ValueError("mode='screen' needs a screen factory")
        self.mode_name = mode
        self.session = session
        self.screen_factory = screen
        self.scenario_names = scenario_names
        self.theme = theme
        #: the screen on top when each key arrived, until the key comes back up to the app
        self._key_screens: weakref.WeakKeyDictionary[events.Key, Screen] = \
            weakref.WeakKeyDictionary()
        self._palette: CommandPalette | None = None  # the last palette opened
        #: the find-the-bug exercises opened in this app (their screens add them): what the
        #: command prints on exit
        self.exercises: list = []

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack:
            self._key_screens[event] = self.screen
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """A key that no widget took comes back up here to find its binding — on the screen on
        top *now*. Keys come faster than frames: ``q q`` typed to close the help screen both
        went to it, the first closed it and the second found the debugger's ``q`` and quit;
        an escape meant for a dialog left the debugger under it. A key typed into a screen that
        has closed since does nothing (one still open under a new dialog types ahead into it,
        as before), and no key acts while the app shuts down (no screen left)."""
        aimed_at = self._key_screens.pop(event, None)
        if not self.screen_stack or (aimed_at is not None
                                     and aimed_at not in self.screen_stack):
            event.prevent_default()  # Textual's own handler (the bindings) does not run

    def on_mount(self) -> None:
        if self.mode_name == "debug":
            assert self.session is not None
            self.push_screen(DebuggerScreen(self.session))
        elif self.mode_name == "screen":
            assert self.screen_factory is not None
            self.push_screen(self.screen_factory())
        else:
            self.push_screen(PickerScreen(self.open_debugger, self.scenario_names))
        self.call_after_refresh(self.freeze_gc)

    def freeze_gc(self) -> None:
        """Collect garbage once, then move every object alive now (Textual's widgets and
        styles, the scenario, the imports) out of the cyclic collector's view.

        Without this, each full collection re-walks them all: 40–57 ms pauses, about one per
        18 steps on mnist-cnn, which set the step latency's 95th percentile (measured with a
        gc callback while benchmarks/tui_speed.py ran). It runs after each new screen's first
        frame; the unfreeze and collect first free what the screens closed since the last
        call left behind (a debugger popped back to the picker), so frozen memory stays
        bounded by what is open."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def open_debugger(self, session: DebugSession | GraphSession) -> None:
        """Show the debugger on ``session`` above the current screen (the graph debugger
        for a graph's session)."""
        if isinstance(session, GraphSession):
            from .screens.graph import GraphScreen

            self.push_screen(GraphScreen(session))
            self.call_after_refresh(self.freeze_gc)
            return
        self.session = session
        self.push_screen(DebuggerScreen(session))
        self.call_after_refresh(self.freeze_gc)

    def action_command_palette(self) -> None:
        # Textual asks only whether the screen on top is a palette: with one open under a
        # dialog (a run's error arrived), or one closed but not yet removed, a second one with
        # the same id raised DuplicateIds and took the app down
        old = self._palette
        if not self.use_command_palette or (old is not None and old.is_attached):
            return
        self._palette = _CommandPalette(id="--command-palette")
        self.push_screen(self._palette)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Light / dark theme", "Switch between the light and the dark theme",
                            self.action_toggle_theme)
        if isinstance(screen, DebuggerScreen):
            for k in DEBUGGER_KEYS:
                if k.action in ("cancel",):
                    continue
                keys = k.shown or k.keys
                yield SystemCommand(f"{k.title}  ({keys})", k.help,
                                    partial(screen.run_action, k.action))


def need_terminal(who: str = "the debugger", hint: str | None = None) -> None:
    """Textual reads keys from stdin and draws on stderr: both must be a terminal, or ``who``
    says so (with ``hint``: what to do instead)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(
            f"{who} needs a terminal (keyboard in, screen out); stdin or stderr is not one "
            "here",
            hint=hint or "Run it from a terminal — `python your_script.py` — not from a pipe, "
                         "CI or a notebook cell; there, use gradcheck (bt.gradcheck) or train "
                         "--headless.")


def run_debugger(session: DebugSession, theme: str = DARK) -> None:
    """Open the debugger on ``session`` in this terminal; returns when the user quits.

    BLAS runs the debugger's threads while the app is open (one: steps are small, and a second
    BLAS thread only competes with the UI for the cores; see :mod:`backprop_tui.blas`). Without
    a terminal (a pipe, CI, a Jupyter cell) it raises a UsageError that says so."""
    need_terminal()
    with threads_for("debugger"):
        BackpropApp("debug", session=session, theme=theme).run()


def run_graph_debugger(name: str, graph: Graph, theme: str = DARK) -> None:
    """Open the graph debugger (:mod:`.screens.graph`) on ``graph`` in this terminal."""
    from .screens.graph import GraphScreen

    need_terminal()
    session = GraphSession(name, graph)
    with threads_for("debugger"):
        BackpropApp("screen", screen=lambda: GraphScreen(session), theme=theme).run()


def run_picker(theme: str = DARK) -> list:
    """Open the scenario picker; Enter opens the debugger on the chosen scenario. Returns the
    exercises played from it (``f``)."""
    app = BackpropApp("picker", theme=theme)
    with threads_for("debugger"):
        app.run()
    return app.exercises


def run_exercise(exercise, theme: str = DARK) -> None:
    """Open the debugger of a find-the-bug ``exercise`` (:mod:`.screens.exercise`)."""
    from .screens.exercise import ExerciseScreen

    need_terminal()
    with threads_for("debugger"):
        BackpropApp("screen", screen=lambda: ExerciseScreen(exercise), theme=theme).run()
