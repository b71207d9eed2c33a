"""Find the bug: the debugger on a network with one planted mistake, the answer dialog (which
layer, which tensor; a wrong answer earns the next hint) and the result (the mistake next to
the correct code, why, and one affected entry worked out)."""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from ...safetext import printable
from ..exercise import Exercise
from .debugger import DEBUGGER_HELP_EXTRA, DEBUGGER_KEYS, DebuggerScreen, debugger_help
from .keys import KeyCommand, bindings, help_rows
from .once import DismissOnce

ANSWER_KEY = KeyCommand("a", "answer", "answer", "Find the bug: say which layer and which "
                        "tensor hold the mistake (a wrong answer earns a hint)",
                        title="Answer the exercise")


class AnswerDialog(DismissOnce, ModalScreen[bool]):
    """Which layer (or the loss, the update) and which tensor. A wrong answer stays here and
    shows the hints earned so far; a right one closes with True, escape with False."""

    BINDINGS = [Binding("escape", "cancel", "back to the debugger")]

    def __init__(self, exercise: Exercise, start: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.exercise = exercise
        self.options = exercise.choices()
        #: the layer the dialog opens on: the row selected in the debugger, when it is one
        self.start = start if start in self.options else next(iter(self.options))

    def compose(self) -> ComposeResult:
        first = self.start
        with Vertical(classes="dialog answer-dialog"):
            yield Label("Where is the bug?", classes="dialog-title")
            yield Static("Name the layer (or the loss, the update) and the wrong tensor.",
                         classes="dialog-body")
            with Horizontal(classes="answer-selects"):
                yield Select([(printable(k), k) for k in self.options], value=first,
                             allow_blank=False, id="layer")
                yield Select(self._tensors(first), value=self.options[first][0],
                             allow_blank=False, id="tensor")
            # not on the Tab path: Tab goes layer → tensor → Answer → Back
            hints = VerticalScroll(classes="answer-hints")
            hints.can_focus = False
            with hints:
                yield Static(self._hint_text(), id="hints", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Answer", variant="primary", id="ok")
                yield Button("Back", id="cancel")

    def _tensors(self, layer: str) -> list[tuple[str, str]]:
        return [(printable(t), t) for t in self.options[layer]]

    def _hint_text(self) -> Text:
        hints = self.exercise.hints()
        if not hints:
            return Text("")
        text = Text(f"Not that. Hint {len(hints)} of 3:\n", style="bold")
        for i, h in enumerate(hints, 1):
            text.append(f"{i}. {h}" + ("\n" if i < len(hints) else ""),
                        style="" if i < len(hints) else "bold")
        return text

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "layer" and isinstance(event.value, str):
            tensors = self.query_one("#tensor", Select)
            tensors.set_options(self._tensors(event.value))
            tensors.value = self.options[event.value][0]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(False)

    def submit(self) -> None:
        if self._dismissed:
            return
        layer = self.query_one("#layer", Select).value
        tensor = self.query_one("#tensor", Select).value
        again = (str(layer), str(tensor)) == self.exercise.last_wrong
        if self.exercise.answer(str(layer), str(tensor)):
            self.dismiss(True)
            return
        if again:  # the same answer twice earns no second hint, but says so
            text = self._hint_text()
            text.append(f"\n({layer} {tensor} again: not that either — try another)",
                        style="italic")
            self.query_one("#hints", Static).update(text)
            return
        self.query_one("#hints", Static).update(Text("Not that. Measuring the planted piece…"))
        self._show_hints()

    @work(thread=True, exclusive=True, group="hints")
    def _show_hints(self) -> None:
        self.exercise.measured()  # the background measurement: usually done long ago
        self.app.call_from_thread(self._hints_ready)

    def _hints_ready(self) -> None:
        if self.is_attached:
            self.query_one("#hints", Static).update(self._hint_text())

    def action_cancel(self) -> None:
        self.dismiss(False)


class ResultDialog(DismissOnce, ModalScreen[None]):
    """The mistake next to the correct code, why it is wrong, and one affected entry."""

    BINDINGS = [Binding("escape,enter", "close", "close")]

    def __init__(self, exercise: Exercise, worked: tuple[str, str]) -> None:
        super().__init__(classes="dialog-screen")
        self.exercise = exercise
        self.worked = worked

    def compose(self) -> ComposeResult:
        ex = self.exercise
        m = ex.planted.mistake
        hints = ex.hints_used
        with Vertical(classes="dialog result-dialog"):
            yield Label(printable(f"Found in {ex.took()} with {hints} "
                                  f"hint{'s' if hints != 1 else ''}: {m.title}, in "
                                  f"{ex.planted.where}"), classes="dialog-title", markup=False)
            with VerticalScroll(classes="result-body"):
                with Horizontal(classes="result-code"):
                    with Vertical(classes="code-wrong"):
                        yield Label("the mistake", classes="code-title")
                        yield Static(Text(m.wrong), classes="code")
                    with Vertical(classes="code-right"):
                        yield Label("the correct code", classes="code-title")
                        yield Static(Text(m.right), classes="code")
                yield Static(Text(m.explanation), classes="dialog-body")
                title, text = self.worked
                yield Label(printable(title), classes="code-title", markup=False)
                yield Static(Text(printable(text, newlines=True)), id="worked")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ExerciseScreen(DebuggerScreen, inherit_bindings=False):
    """The debugger, with the exercise's answer key ``a``."""

    # first: the footer shows it even at 80 columns (the debugger's own bindings are repeated
    # here, after it, instead of inherited before it); `t train` leaves the footer (the key
    # works, help lists it) so that '? help' and 'q quit' still fit at 80 columns
    BINDINGS = [*bindings([ANSWER_KEY]),
                *(dataclasses.replace(b, show=False) if b.action == "train" else b
                  for b in DebuggerScreen.BINDINGS)]

    def __init__(self, exercise: Exercise) -> None:
        super().__init__(exercise.session)
        self.exercise = exercise

    def on_mount(self) -> None:
        # Textual runs DebuggerScreen.on_mount too, after this one: say ours once it has
        self.call_after_refresh(self._announce)

    def _announce(self) -> None:
        self.sub_title = printable(f"find the bug · {self.session.name} · "
                                   f"{self.session.architecture}")
        exercises = getattr(self.app, "exercises", None)
        if isinstance(exercises, list):
            exercises.append(self.exercise)
        self.set_message("Find the bug: one piece of this network has a mistake. Step (n), "
                         "check gradients (g), then press a to answer · ? for help")

    def on_unmount(self) -> None:
        self.exercise.close()

    def action_answer(self) -> None:
        if self.exercise.solved:
            self._show_result()
            return
        rows = self.session.rows()
        row = self.network.selected
        start = rows[row].name if 0 <= row < len(rows) else None
        self.app.push_screen(AnswerDialog(self.exercise, start), self._answered)

    def _answered(self, right: bool | None) -> None:
        ex = self.exercise
        if right:
            self.set_message(f"solved: {ex.planted.mistake.title} in {ex.planted.where}")
            self._show_result()
        elif ex.hints_used:
            self.set_message(f"hint {ex.hints_used} of 3: {ex.hints()[-1]}")

    @work(thread=True, exclusive=True, group="result")
    def _show_result(self) -> None:
        worked = self.exercise.worked_entry()  # waits for the measurement; explain may take a bit
        self.app.call_from_thread(self._result_ready, worked)

    def _result_ready(self, worked: tuple[str, str]) -> None:
        if self._alive():
            self.app.push_screen(ResultDialog(self.exercise, worked))

    def action_help(self) -> None:
        keys = help_rows([*DEBUGGER_KEYS, ANSWER_KEY]) + list(DEBUGGER_HELP_EXTRA)
        self.app.push_screen(debugger_help(keys))
