"""blas.py: each workload runs on its BLAS threads (one), the user's thread variable wins, and the
previous count is back afterwards (issue 13, item 17: small products oversubscribed the cores).

The count is read where the work happens — inside a layer's forward, through threadpoolctl —
while the gradient check, the trainer, the debugger and the dashboard run. Each test starts
from two BLAS threads, so that the limit to one is a change (skipped where BLAS cannot run two
or threadpoolctl knows no BLAS, e.g. Accelerate). No timing here: benchmarks/under_load.py
measures the speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from backprop_tui.blas import (
    USER_VARIABLES,
    WORKLOAD_THREADS,
    blas_threads,
    chosen_threads,
    threads_for,
    user_setting,
)
from backprop_tui.cli import app
from backprop_tui.engine.layers import Affine
from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer


@pytest.fixture
def two_threads(monkeypatch: pytest.MonkeyPatch):
    """Two BLAS threads around the test, and no thread variable of the user's set."""
    for name in USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if blas_threads() is None:
        pytest.skip("no BLAS library that threadpoolctl can control is loaded (e.g. Accelerate)")
    with threadpool_limits(limits=2, user_api="blas"):
        if blas_threads() != 2:
            pytest.skip("BLAS does not run two threads here")
        yield
        assert blas_threads() == 2  # put back by whatever limited it


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The BLAS thread count at every Affine forward, in whatever thread runs it."""
    counts: list[int | None] = []
    forward = Affine.forward

    def probe(self, *args, **kwargs):
        counts.append(blas_threads())
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(Affine, "forward", probe)
    return counts


def cli(*args: object) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output


# -- the policy ---------------------------------------------------------------------------------
def test_every_workload_runs_on_one_thread_unless_the_user_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert user_setting() is None
    assert {w: chosen_threads(w) for w in WORKLOAD_THREADS} == \
        {"gradcheck": 1, "debugger": 1, "dashboard": 1, "train": 1}
    for name in USER_VARIABLES:
        monkeypatch.setenv(name, "3")
        assert user_setting() == f"{name}=3"
        assert all(chosen_threads(w) is None for w in WORKLOAD_THREADS)
        monkeypatch.delenv(name)
    monkeypatch.setenv("OMP_NUM_THREADS", " ")  # set but empty: not a choice
    assert user_setting() is None and chosen_threads("train") == 1
    with pytest.raises(ValueError, match="unknown workload 'render'"):
        chosen_threads("render")


def test_the_limit_holds_inside_and_is_undone_after(two_threads) -> None:
    with threads_for("train"):
        assert blas_threads() == 1
    assert blas_threads() == 2


def test_a_thread_variable_of_the_users_leaves_blas_alone(
        two_threads, monkeypatch: pytest.MonkeyPatch, seen) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with threads_for("gradcheck"):
        assert blas_threads() == 2
    cli("gradcheck", "xor")
    assert seen and set(seen) == {2}


# -- where the work happens ---------------------------------------------------------------------
def test_gradcheck_command_checks_on_one_thread(two_threads, seen) -> None:
    cli("gradcheck", "xor")
    assert seen and set(seen) == {1}


def test_debuggers_gradient_check_runs_on_one_thread(two_threads, seen) -> None:
    from backprop_tui.tui.session import DebugSession

    session = DebugSession.from_scenario(load_scenario("xor"))
    job = session.prepare_gradcheck(0)
    seen.clear()
    DebugSession.run_gradcheck(job)
    assert seen and set(seen) == {1}


def test_trainer_trains_on_one_thread(two_threads, seen) -> None:
    Trainer(load_scenario("xor")).run(max_iterations=5)
    assert seen and set(seen) == {1}


def test_headless_training_command_trains_on_one_thread(two_threads, seen,
                                                        tmp_path: Path) -> None:
    cli("train", "xor", "--headless", "--epochs", "2", "--out", tmp_path / "run")
    assert seen and set(seen) == {1}


def test_eval_command_evaluates_on_the_trainers_thread(two_threads, seen,
                                                       tmp_path: Path) -> None:
    """float32 numbers depend on the thread count: eval must see what training's evaluation saw"""
    cli("train", "xor", "--headless", "--epochs", "1", "--out", tmp_path / "run")
    seen.clear()
    cli("eval", "xor", "--checkpoint", tmp_path / "run")
    assert seen and set(seen) == {1}


def test_debugger_and_picker_run_on_one_thread(two_threads, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    from backprop_tui.tui import app as tui_app
    from backprop_tui.tui.session import DebugSession

    during: list[int | None] = []
    monkeypatch.setattr(tui_app, "need_terminal", lambda: None)
    monkeypatch.setattr(tui_app.BackpropApp, "run", lambda self: during.append(blas_threads()))
    tui_app.run_debugger(DebugSession.from_scenario(load_scenario("xor")))
    tui_app.run_picker()
    assert during == [1, 1]


def test_dashboard_runs_on_one_thread_until_the_trainer_stopped(
        two_threads, monkeypatch: pytest.MonkeyPatch) -> None:
    from backprop_tui.trainrun import train_dashboard
    from backprop_tui.tui.app import BackpropApp
    from backprop_tui.tui.screens.dashboard import DashboardScreen

    during: list[int | None] = []
    finish = DashboardScreen.finish
    monkeypatch.setattr(BackpropApp, "run", lambda self: during.append(blas_threads()))
    monkeypatch.setattr(DashboardScreen, "finish",
                        lambda self: (during.append(blas_threads()), finish(self))[1])
    with pytest.raises(typer.Exit):  # never started: "stopped in epoch 1", exit 130
        train_dashboard(Trainer(load_scenario("xor")), "xor", None)
    assert during == [1, 1]


# numpy's default in a fresh interpreter (every core), limited by the tool and put back
_FRESH = """
from backprop_tui.blas import blas_threads, threads_for
before = blas_threads()
if before is None:
    print("none")
else:
    with threads_for("train"):
        limited = blas_threads()
    print(before, limited, blas_threads())
"""


def test_limit_in_a_fresh_interpreter() -> None:
    env = {k: v for k, v in os.environ.items() if k not in USER_VARIABLES}
    out = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True,
                         timeout=60, check=True, env=env).stdout.split()
    if out == ["none"]:
        pytest.skip("no BLAS library found in a fresh interpreter")
    before, limited, after = out
    assert (limited, after) == ("1", before)


def test_the_python_apis_checks_run_on_one_thread(two_threads, seen) -> None:
    import numpy as np

    import backprop_tui as bt

    sc = load_scenario("xor")
    x, t = sc.load_batch(4, 0, None, "float64")
    assert bt.gradcheck(sc.build_network(seed=0, dtype="float64"), x, t).passed
    assert seen and set(seen) == {1}
    assert blas_threads() == 2
    during: list[int | None] = []

    def f(params):
        during.append(blas_threads())
        return float(np.sum(params["w"] ** 2)), {"w": 2 * params["w"]}

    assert bt.gradcheck_function(f, {"w": np.arange(3.0)}).passed
    assert during and set(during) == {1}
    assert bt.gradcheck.__doc__ == bt.engine.gradcheck.__doc__
