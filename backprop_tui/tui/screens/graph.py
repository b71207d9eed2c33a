"""The graph debugger: a computational graph stepped node by node, forward then backward, with
the debugger's keys (n, p, f, b, c, g, ?, q). The graph pane draws the DAG; the node pane says
how the selected node's gradient was made (the chain rule with its numbers); the formula pane
shows its op's forward and backward rules; ``g`` checks the selected node's gradients against
centered differences (a few evaluations: it runs on the UI thread).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...engine.contract import LayerError
from ..graphsession import GraphSession
from ..session import GradcheckJob, GradcheckResult
from ..widgets.formula import FormulaPane
from ..widgets.gradcheck import GradcheckPane
from ..widgets.graph import GraphPane, NodePane
from .dialogs import ErrorDialog
from .help import HelpScreen
from .keys import KeyCommand, bindings, help_rows
from .size import show_size

GRAPH_KEYS: tuple[KeyCommand, ...] = (
    KeyCommand("n,space", "step", "step", "Run the next step: one node's forward, or one "
               "node's backward (its gradient sent to its inputs)", "n / space", title="Step"),
    KeyCommand("p,backspace", "back", "back", "Undo the last step exactly (replayed from the "
               "start)", "p / backspace", title="Step back"),
    KeyCommand("f", "finish_forward", "fwd", "Run the rest of the forward pass",
               title="Finish forward"),
    KeyCommand("b", "finish_backward", "bwd", "Run the rest of the backward pass: every "
               "gradient", title="Finish backward"),
    KeyCommand("c", "continue", "cont", "Run until the selected node's next step (or the end)",
               title="Continue to the selected node"),
    KeyCommand("g", "gradcheck", "check", "Check the selected node's gradients against "
               "centered differences: what it sent to each input, and the sum of its uses",
               title="Gradient check"),
    KeyCommand("r", "reset", "", "Back to the start: no value computed, no gradient",
               title="Reset"),
    KeyCommand("question_mark", "help", "help", "Keys and what each pane shows", "?",
               title="Help"),
    KeyCommand("q", "quit", "quit", "Leave backprop-tui", title="Quit"),
)

GRAPH_HELP_EXTRA = (
    ("arrows (graph pane)", "Select a node: ↑ ↓ in its column, ← → the next column; the view "
                            "scrolls with the selection"),
    ("tab / shift+tab", "Move focus between the panes"),
)

GRAPH_PANES = (
    ("Graph", "the nodes left to right by depth, each a box: op and name, = value, ∇ gradient "
     "(— before the backward pass). The step just done is magenta, its edges marked: ▶ cyan "
     "the inputs flowing into a forward, ◀ yellow the gradient travelling back to the inputs. "
     "▶ before a name: the next step's node. The selected node has a double border."),
    ("Node", "the selected node: its value, its gradient, and the chain rule that made it — "
     "d(node) = Σ over its uses d(use) · local derivative, with the numbers. A value used more "
     "than once adds the gradient of every use (+=)."),
    ("Formula", "the op's forward and backward rules, then with this node's names and numbers."),
    ("Gradient check", "after g: each gradient the selected node's backward sent to an input, "
     "against centered differences of its forward; and, for a value used more than once, its "
     "gradient against the sum over its uses (Σ). A wrong rule fails on its node; a = where += "
     "belongs fails on the node used twice."),
)


class GraphScreen(Screen[None]):
    """The step-through debugger on one :class:`GraphSession`."""

    BINDINGS = bindings(GRAPH_KEYS)

    def __init__(self, session: GraphSession) -> None:
        super().__init__()
        self.session = session
        self.message = ""

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")
        yield GraphPane(self.session, id="graph")
        with Horizontal(id="graph-bottom"):
            yield NodePane(self.session, id="node")
            yield FormulaPane(id="formula")
            yield GradcheckPane(id="gradcheck")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        s = self.session
        self.title = "backprop-tui"
        self.sub_title = f"{s.name} · {s.architecture}"
        self._check_size(self.app.size.width, self.app.size.height)
        self.query_one(Footer).compact = self.app.size.width < 110
        self.graph_pane.focus()
        self._show(self.graph_pane.node)
        self.set_message(f"{s.name}: {s.architecture} · press n to step, ? for help")

    def on_resize(self, event: Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        show_size(self, width, height, "too-small", "backprop-tui",
                  "Enlarge the window, or press q to quit.")

    @property
    def graph_pane(self) -> GraphPane:
        return self.query_one(GraphPane)

    # -- showing ------------------------------------------------------------------------------
    def _show(self, node) -> None:
        self.query_one(NodePane).show(node)
        self.query_one(FormulaPane).set_formulas(self.session.formulas(node), node.name, None)
        gc = self.query_one(GradcheckPane)
        gc.set_row(node.name)
        self.set_class(gc.result is not None and not gc.stale, "-checked")

    def set_message(self, message: str) -> None:
        self.message = message
        self.query_one("#status", Static).update(f"{message}  ·  {self.session.status()}")

    def _changed(self, message: str) -> None:
        """The walk moved: select the node of the step just done, redraw everything."""
        step = self.session.current
        pane = self.graph_pane
        self.query_one(GradcheckPane).mark_stale()
        if step is not None:
            pane.select(step.node)
        pane.refresh()
        self._show(pane.node)
        self.set_message(message)

    @on(GraphPane.Selected)
    def _on_node(self, event: GraphPane.Selected) -> None:
        self._show(event.node)

    # -- the keys -----------------------------------------------------------------------------
    def _run(self, what: str, fn) -> None:
        try:
            fn()
        except LayerError as e:  # a book op of the user's raised: say where, keep going
            self._changed(f"{e.what} failed: {type(e.error).__name__} — nothing was stepped")
            self.app.push_screen(ErrorDialog("a node raised an error", f"{e}\n\nThe step did "
                                             "not happen; fix the code and start again."))
            return
        step = self.session.current
        done = f"{step.direction} {step.node.name} done" if step else "at the start"
        self._changed(f"{what}: {done}" if what else done)

    def action_step(self) -> None:
        if self.session.walk.next_step is None:
            self.app.bell()
            self.set_message("the pass is complete: p steps back, r starts again")
            return
        self._run("", self.session.walk.step)

    def action_back(self) -> None:
        if not self.session.walk.back():
            self.app.bell()
        self._run("stepped back", lambda: None)

    def action_finish_forward(self) -> None:
        self._run("forward pass", self.session.walk.finish_forward)

    def action_finish_backward(self) -> None:
        self._run("backward pass", self.session.walk.finish_backward)

    def action_continue(self) -> None:
        self._run(f"continued to {self.graph_pane.node.name}",
                  lambda: self.session.walk.run_until(self.graph_pane.node))

    def action_reset(self) -> None:
        self._run("reset", lambda: self.session.walk.goto(0))

    def action_gradcheck(self) -> None:
        node = self.graph_pane.node
        s = self.session
        if not node.inputs and not s.graph.fans_out(node):
            self.set_message(f"{node.name} is a leaf used once: its gradient is checked on "
                             f"the node that uses it ({s.graph.consumers[node][0][0].name})"
                             if s.graph.consumers[node] else f"{node.name}: nothing to check")
            return
        try:
            check = s.gradcheck(node)
        except LayerError as e:
            self.app.push_screen(ErrorDialog("a node raised an error", str(e)))
            return
        job = GradcheckJob(node.name, [node.name], None, None, None,  # type: ignore[arg-type]
                           check.report.mode, 0, check.position, False)
        gc = self.query_one(GradcheckPane)
        gc.finish(GradcheckResult(job, check.report, check.seconds))
        self._show(node)
        verdict = "passed" if check.report.passed else "FAILED"
        self.set_message(f"gradient check of {node.name}: {verdict}")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(
            help_rows(GRAPH_KEYS) + list(GRAPH_HELP_EXTRA), GRAPH_PANES,
            heading="backprop-tui · a computational graph",
            intro="One pass is: the forward of every node (inputs first), then the backward of "
                  "every node in reverse, each sending its gradient to its inputs. Each key "
                  "press runs one node."))

    def action_quit(self) -> None:
        self.app.exit()
