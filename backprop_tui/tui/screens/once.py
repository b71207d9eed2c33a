"""A screen that closes once, whatever arrives.

Textual's ``Screen.dismiss`` pops *the top of the stack*, not the screen it is called on. Keys
come faster than frames: two Enters typed into a dialog's input both submit before the first
pop is drawn, and the second ``dismiss`` popped the screen under the dialog (the debugger: a
blank screen with dead keys), a third raised ``ScreenStackError``. Every screen of ours that
closes itself (dialogs, help, the debugger opened from the dashboard) closes through
:class:`DismissOnce`: the first dismiss pops it and calls the result callback, later ones (and
any while another screen covers it) do nothing.
"""

from __future__ import annotations

from typing import Any

from textual.await_complete import AwaitComplete


class DismissOnce:
    """Mix in before a Textual ``Screen`` class: ``dismiss`` acts once, and only while this
    screen is the one on top."""

    _dismissed = False

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self._dismissed or not self.is_active:  # type: ignore[attr-defined]
            return AwaitComplete.nothing()
        self._dismissed = True
        return super().dismiss(result)  # type: ignore[misc]
