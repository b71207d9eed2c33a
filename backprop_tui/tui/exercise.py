"""Exercise: one find-the-bug game on a debugger session, without any UI (no textual).

:func:`start_exercise` picks a mistake of the catalogue (:mod:`backprop_tui.engine.mistakes`)
with a seed, plants it in one piece of a built-in scenario's network and makes the
:class:`~backprop_tui.tui.session.DebugSession` the debugger steps. :class:`Exercise` keeps the
score: answers, the hints they earned (the phase, then the ratio measured on the planted
piece, then the place), the time, and what a right answer shows.

What the hints and the answer measure is computed once, in the background, on copies of the
network, optimizer and first batch taken when the exercise starts: stepping never waits for it.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..blas import threads_for
from ..engine.mistakes import (
    BY_ID,
    CATALOGUE,
    Evidence,
    Mistake,
    Planted,
    answer_choices,
    applicable,
    evidence,
    hints,
    plant,
    unplant,
)
from ..errors import ScenarioError, UsageError
from ..scenario import Scenario, builtin_names, learning_path, load_scenario
from .session import DebugSession


def scenario_mistakes(sc: Scenario) -> list[tuple[Mistake, list[str]]]:
    """The catalogue's mistakes that can be planted in ``sc`` (a dry build: nothing drawn),
    each with where."""
    return applicable(sc.build_network(dry=True), sc.build_optimizer(), sc.debug_batch_size)


def catalogue_scenarios() -> dict[str, list[str]]:
    """For each mistake's id, the built-in scenarios it applies to (learning-path order)."""
    out: dict[str, list[str]] = {m.id: [] for m in CATALOGUE}
    for name in learning_path(builtin_names()):
        for m, _ in scenario_mistakes(load_scenario(name, check_memory=False)):
            out[m.id].append(name)
    return out


@dataclass(frozen=True)
class Choice:
    scenario: Scenario
    mistake: Mistake
    site: str
    seed: int


def choose(scenario: str | Path | None, seed: int | None, mistake: str | None = None
           ) -> Choice:
    """The exercise a seed gives: for ``scenario``, one of the mistakes that apply to it;
    without one, a mistake first (each as likely), then a built-in scenario it applies to whose
    data are here. ``seed`` None draws one (said on exit, to replay it)."""
    if seed is None:
        seed = random.SystemRandom().randrange(10**6)
    rng = np.random.default_rng([int(seed), 10])
    if scenario is not None:
        sc = load_scenario(scenario)
        options = [(sc, m, sites) for m, sites in scenario_mistakes(sc)]
        if not options:
            raise ScenarioError(
                "no mistake of the catalogue applies to this network", file=str(scenario),
                hint="`backprop-tui exercise --list` says which scenarios each one needs; "
                     + ("a network with step layers has no gradient to check"
                        if sc.has_step else "pick another scenario"))
    else:
        options = []
        for name in learning_path(builtin_names()):
            sc = load_scenario(name, check_memory=False)
            if sc.missing_data is None:
                options += [(sc, m, sites) for m, sites in scenario_mistakes(sc)]
    if mistake is not None:
        if mistake not in BY_ID:
            raise UsageError("is not a mistake of the catalogue", key="mistake", value=mistake,
                             expected=", ".join(BY_ID))
        options = [o for o in options if o[1].id == mistake]
        if not options:
            raise UsageError("does not apply to this scenario", key="mistake", value=mistake,
                             hint="`backprop-tui exercise --list` says where each one applies")
    ids = sorted({m.id for _, m, _ in options}, key=list(BY_ID).index)
    picked = ids[int(rng.integers(len(ids)))]
    options = [o for o in options if o[1].id == picked]
    sc, m, sites = options[int(rng.integers(len(options)))]
    return Choice(sc, m, sites[int(rng.integers(len(sites)))], int(seed))


def _measure(planted: Planted, net, optimizer, x: np.ndarray, t: np.ndarray,
             stop: threading.Event) -> Evidence:
    with threads_for("gradcheck"):  # its gradient check, as the debugger's `g` runs one
        return evidence(planted, net, optimizer, x, t, cancelled=stop.is_set)


class Exercise:
    """A planted mistake, the session it is planted in, and the score."""

    def __init__(self, session: DebugSession, planted: Planted, seed: int,
                 clock=time.monotonic, replay: str = "") -> None:
        self.session = session
        self.planted = planted
        self.seed = seed
        #: the command that plays this exercise again
        self.replay = replay or f"backprop-tui exercise {session.name} --seed {seed}"
        self.clock = clock
        self.started = clock()
        self.finished: float | None = None
        self.attempts = 0
        self.hints_used = 0
        self._last_wrong: tuple[str, str] | None = None
        net, opt = copy.deepcopy((session.net, session.optimizer))
        x, t = (np.array(a) for a in session.stepper.batch)
        self._measured: Future[Evidence] = Future()
        self._stop = threading.Event()

        def measure() -> None:
            try:
                self._measured.set_result(_measure(planted, net, opt, x, t, self._stop))
            except BaseException as e:  # noqa: BLE001 - handed to whoever asks for it
                self._measured.set_exception(e)

        # a daemon: leaving the exercise early does not wait for a measurement nobody reads
        threading.Thread(target=measure, name="exercise-measure", daemon=True).start()
        self._copies = (copy.deepcopy(net), copy.deepcopy(opt), x, t)

    def close(self) -> None:
        """Stop the background measurement if it still runs (the exercise is left)."""
        self._stop.set()

    @property
    def solved(self) -> bool:
        return self.finished is not None

    def choices(self) -> dict[str, list[str]]:
        """What the answer dialog offers: layer (or loss, update) → its tensors."""
        return answer_choices(self.session.net)

    def measured(self) -> Evidence:
        """What the planted piece shows (waits for the background measurement)."""
        return self._measured.result()

    @property
    def measuring(self) -> bool:
        return not self._measured.done()

    def answer(self, layer: str, tensor: str) -> bool:
        """Right: the exercise is finished. Wrong: one more hint (up to the three); the same
        wrong answer again (OK pressed twice) earns nothing more."""
        if self.solved:
            return True
        if (layer, tensor) == self._last_wrong:
            return False
        self.attempts += 1
        if (layer, tensor) == self.planted.answer:
            self.finished = self.clock()
            return True
        self._last_wrong = (layer, tensor)
        self.hints_used = min(self.hints_used + 1, 3)
        return False

    @property
    def last_wrong(self) -> tuple[str, str] | None:
        """The last wrong answer (layer, tensor), if any."""
        return self._last_wrong

    def hints(self) -> list[str]:
        """The hints earned so far, first to last."""
        if not self.hints_used:
            return []
        return hints(self.planted, self.measured())[: self.hints_used]

    def elapsed(self) -> float:
        return (self.finished if self.finished is not None else self.clock()) - self.started

    def took(self) -> str:
        """The time taken so far (to the right answer, once solved): ``2 min 05 s``."""
        secs = int(round(self.elapsed()))
        return f"{secs // 60} min {secs % 60:02d} s" if secs >= 60 else f"{secs} s"

    def summary(self) -> str:
        """What the command prints on exit."""
        took = self.took()
        hints_text = f"{self.hints_used} hint{'s' if self.hints_used != 1 else ''}"
        m = self.planted.mistake
        replay = f"replay: {self.replay}"
        if self.solved:
            return (f"exercise solved in {took} with {hints_text} and {self.attempts} "
                    f"answer{'s' if self.attempts != 1 else ''}: {m.title} in "
                    f"{self.planted.where} ({replay})")
        layer, tensor = self.planted.answer
        return (f"exercise not solved after {took}, {hints_text} used. The answer: {m.title} "
                f"in {self.planted.where} ({layer} {tensor}); {replay}")

    def worked_entry(self) -> tuple[str, str]:
        """(title, text): one affected entry — what the planted code gave there against the
        right value (the gradient check's or the update's numbers for that entry), then how
        the right code computes it, by ``explain`` when the engine has it."""
        found = self.measured()
        layer, tensor = self.planted.answer
        text = found.detail or found.ratio
        plain = {"backward": "the gradient check of one entry", "update": "the update of one "
                 "entry", "forward": "one entry"}[self.planted.mistake.phase]
        if found.entry is None:
            return "what the numbers show", text
        try:
            from ..engine import explain as explain_mod
        except ImportError:  # no explain in this engine: the comparison alone
            return plain, text
        net, opt, x, t = copy.deepcopy(self._copies)
        unplant(self.planted, net, opt)  # the right code's numbers, on the same batch
        entry = f"{tensor}[{', '.join(map(str, found.entry))}]"
        try:
            with np.errstate(all="ignore"):
                net.loss(x, t)
                net.backward()
            if layer == "update":
                e = explain_mod.explain(net, "update", tensor, found.entry, optimizer=opt)
            else:
                e = explain_mod.explain(net, layer, tensor, found.entry)
        except Exception:  # noqa: BLE001 - a piece explain does not cover: the numbers alone
            return plain, text
        return f"{entry} as the correct code computes it", f"{text}\n\n{e}"


def start_exercise(scenario: str | Path | None = None, *, seed: int | None = None,
                   mistake: str | None = None, data_dir: str | Path | None = None
                   ) -> Exercise:
    """Pick, plant and open: the exercise, its session ready for the debugger."""
    choice = choose(scenario, seed, mistake)
    sc = choice.scenario
    net = sc.build_network(None, "float64")
    optimizer = sc.build_optimizer()
    planted = plant(choice.mistake, choice.site, net, optimizer)
    session = DebugSession.from_scenario(sc, net=net, optimizer=optimizer, data_dir=data_dir)
    again = "backprop-tui exercise" + (f" {scenario}" if scenario is not None else "")
    return Exercise(session, planted, choice.seed, replay=f"{again} --seed {choice.seed}")
