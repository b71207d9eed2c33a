"""From the training dashboard to the debugger: ``d`` opens the debugger on a float64 *copy*
of the network with the trainer's current weights, optimizer state and Dropout generators, on
the batch the trainer takes next (after a NaN/Inf stop: the batch that failed, with the weights
from before its update — stepping through it shows where the NaN appears). Leaving the debugger
(``q``/``escape``) returns to the dashboard; the trainer is untouched (numpy's global generator,
which the book's Dropout draws from, included: the trainer keeps its own copy of its state).
A network of the user's own (a .py file) is handed over the way ``bt.debug`` opens one.
"""

from __future__ import annotations

import copy

import numpy as np
from textual.binding import Binding

from ...engine.batches import RowBatches
from ...scenario import Scenario
from ...training import Trainer
from ..session import DebugSession
from .debugger import DEBUGGER_KEYS, DebuggerScreen, debugger_help
from .once import DismissOnce


def debug_session(trainer: Trainer, *, failed_batch: bool = False) -> DebugSession:
    """A :class:`DebugSession` on a float64 copy of the trainer's network, optimizer state and
    Dropout generators, on the batch the trainer takes next — or, with ``failed_batch=True``
    (after a NaN/Inf stop), on the batch that failed, which the trainer has already drawn.

    Nothing is shared with the trainer: the weights and the optimizer state are copied (and
    converted to float64), the batches are drawn by an own iterator restored from the trainer's
    batch state, and the samples are converted row by row from the trainer's (read-only)
    training arrays. Whatever the debugger does, the trainer is unchanged."""
    sc = trainer.scenario
    net = sc.build_network(sc.train.seed, "float64")
    net.load_state_dict(trainer.net.state_dict())  # copies, converted to float64
    theirs = trainer.net.generators()
    for name, rng in net.generators().items():
        if name in theirs:
            rng.bit_generator.state = copy.deepcopy(theirs[name].bit_generator.state)
    # what the trainer's next iteration would draw from numpy's global generator (the book's
    # Dropout), the copy draws too; the trainer puts its own state back when it runs again
    np.random.set_state(trainer.global_rng_state())  # noqa: NPY002
    opt = sc.build_optimizer()
    opt.lr = trainer.optimizer.lr
    state = {k: (v if k == "__t__" else np.asarray(v, dtype=np.float64))
             for k, v in trainer.optimizer.state_dict().items()}
    opt.load_state_dict(state)
    x_train = trainer.x_train

    def load(rows: np.ndarray) -> np.ndarray:
        return np.asarray(x_train[rows], dtype=np.float64)

    bstate = trainer.batches.state()
    batches = RowBatches(len(x_train), trainer.t_train, load, trainer.batches.batch_size,
                         sc.rng(sc.train.seed, "shuffle"))
    if failed_batch and bstate["position"] > 0:
        bstate = dict(bstate, position=bstate["position"] - 1)
    batches.set_state(bstate)
    if isinstance(sc, Scenario):
        session = DebugSession.from_scenario(sc, seed=sc.train.seed, net=net, optimizer=opt,
                                             batches=batches)
    else:  # a network of the user's own, from a .py file
        session = DebugSession.for_network(net, x_train, trainer.t_train, optimizer=opt,
                                           seed=sc.train.seed, name=sc.name, batches=batches)
    session.from_training = trained_so_far(trainer.iteration, bstate["epoch"],
                                           bstate["position"])
    return session


def trained_so_far(iteration: int, epoch: int, position: int) -> tuple[int, int]:
    """(iterations, epoch) of training so far, for the debugger's network pane (whose stepper
    counts from 0): ``epoch`` (0-based) and ``position`` (batches taken in it) are the batch
    state the copy continues from, so the last iteration was in epoch ``epoch + 1`` (counted
    from 1, as the dashboard does), or in the one before when no batch of this epoch was taken
    yet; epoch 0 when there was no iteration at all."""
    if iteration == 0:
        return 0, 0
    return iteration, epoch + 1 if position > 0 else max(1, epoch)


class TrainingDebugger(DismissOnce, DebuggerScreen):
    """The debugger pushed from the dashboard: ``q`` and ``escape`` return to the dashboard
    instead of leaving the app."""

    BINDINGS = [
        Binding("q", "quit", "back to training"),
    ]

    def __init__(self, session: DebugSession, origin: str) -> None:
        super().__init__(session)
        self.origin = origin

    def on_mount(self) -> None:
        # Textual runs DebuggerScreen.on_mount too (handlers along the MRO), after this one:
        # say where the copy comes from once the base screen has written its greeting
        self.call_after_refresh(self.set_message, f"{self.origin} · q: back to training")

    def _leave(self) -> None:
        if self.stop_jobs():  # their results must not arrive at a screen that is gone
            self.set_message("cancelling the running job — press q again to go back")
            return
        self.dismiss(None)

    def action_quit(self) -> None:
        self._leave()

    def action_cancel(self) -> None:
        if self.jobs_running() or self.maximized is not None:
            super().action_cancel()
        else:
            self._leave()

    def action_help(self) -> None:
        keys = []
        for k in DEBUGGER_KEYS:
            if k.action == "quit":
                keys.append(("q / escape", "Back to the training dashboard (the debugger "
                             "works on a copy: the trainer's weights are untouched)"))
            else:
                keys.append((k.shown or k.keys, k.help))
        self.app.push_screen(debugger_help(keys))
