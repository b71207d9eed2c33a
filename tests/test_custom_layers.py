"""Your own layers: a hand-written Layer subclass in a Network, checked by the gradient check,
stepped by the debugger (``bt.debug``), and a layer that raises reported by name and line.

The user this serves has written the book's Affine by hand and gets the wrong answer: the
audit must name their layer and tensor, and a shape mistake must not crash the TUI."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest

import backprop_tui as bt
from backprop_tui.errors import UsageError
from backprop_tui.tui.app import BackpropApp
from backprop_tui.tui.screens.debugger import DebuggerScreen
from backprop_tui.tui.screens.dialogs import ErrorDialog
from backprop_tui.tui.session import DebugSession
from backprop_tui.tui.widgets.gradcheck import GradcheckPane


class MyAffine(bt.Layer):
    """The book's Affine written by hand; ``bug=True`` divides dW by N once too often."""

    kind = "MyAffine"

    def __init__(self, W: np.ndarray, b: np.ndarray, name: str | None = None,
                 bug: bool = False) -> None:
        super().__init__(name)
        self.params = {"W": W, "b": b}
        self.bug = bug

    def forward(self, x):
        self.cache["x"] = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout, need_dx=True):
        x = self.cache["x"]
        self.grads["W"] = x.T @ dout / (len(x) if self.bug else 1)
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class Misshapen(bt.Layer):
    """Its backward multiplies by a matrix of the wrong size: numpy raises."""

    kind = "Misshapen"

    def forward(self, x):
        return 2.0 * x

    def backward(self, dout, need_dx=True):
        return dout @ np.ones((dout.shape[1] + 1, 3))


def data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, (x[:, 0] * x[:, 1] > 0).astype(int)


def my_net(bug: bool, seed: int = 0) -> bt.Network:
    rng = np.random.default_rng(seed)
    return bt.Network([
        MyAffine(rng.normal(size=(4, 6)) * 0.5, np.zeros(6), name="hidden", bug=bug),
        bt.ReLU(name="relu"),
        MyAffine(rng.normal(size=(6, 2)) * 0.5, np.zeros(2), name="out"),
    ], bt.SoftmaxCrossEntropy())


def test_the_audit_names_the_buggy_hand_written_layer_and_tensor() -> None:
    x, t = data(8)
    report = bt.gradcheck(my_net(bug=True), x, t)
    failed = {(c.layer, c.tensor) for c in report.checks if not c.passed}
    assert failed == {("hidden", "W"), ("network", "all parameters")}
    # the ratio of the two says what is wrong: analytic = numeric / N
    (w,) = [c for c in report.checks if (c.layer, c.tensor) == ("hidden", "W")]
    np.testing.assert_allclose(np.asarray(w.analytic) * 8, w.numeric, rtol=1e-6)
    assert bt.gradcheck(my_net(bug=False), x, t).passed


def test_session_on_a_network_takes_shapes_from_what_forward_returns() -> None:
    """MyAffine does not override output_shape (the base says: same as the input); the pane
    must show what forward really produces."""
    x, t = data(40)
    s = DebugSession.for_network(my_net(bug=False), x, t)
    assert s.net.shapes == [(6,), (6,), (2,)] and s.net.input_shape == (4,)
    assert s.batch_size == 32 and s.n == 32  # all of x, at most 32
    assert s.name == "your network" and s.architecture == "4 → MyAffine → ReLU → MyAffine"
    assert s.scenario is None and not s.has_step
    rows = s.rows()
    assert [r.out_shape for r in rows[:3]] == [(32, 6), (32, 6), (32, 2)]
    # stepping gives the same numbers as the network's own loss on that batch
    xb, tb = s.stepper.batch
    expected = my_net(bug=False).loss(xb, tb)
    for _ in range(4):  # three forward steps and the loss
        rec = s.step()
    assert rec.phase == "loss" and rec.loss == expected


@pytest.mark.parametrize(
    ("kw", "parts"),
    [({"x": np.zeros(5)}, ["x", "one per row", "shape (5,)"]),
     ({"t": np.zeros(3)}, ["t", "one target per sample of x (40)", "3 targets"]),
     ({"batch_size": 0}, ["batch_size", "positive integer"]),
     ({"seed": -1}, ["seed", "≥ 0"])],
)
def test_bad_arguments_are_one_clear_error(kw, parts) -> None:
    x, t = data(40)
    args = {"x": x, "t": t, **kw}
    with pytest.raises(UsageError) as e:
        DebugSession.for_network(my_net(bug=False), args.pop("x"), args.pop("t"), **args)
    for part in parts:
        assert part in str(e.value)


def test_a_layer_that_raises_is_named_with_its_step_and_line() -> None:
    x, t = data(8)
    net = bt.Network([Misshapen(name="twice"), bt.Affine(np.ones((4, 2)), np.zeros(2))],
                     bt.SoftmaxCrossEntropy())
    s = DebugSession.for_network(net, x, t)
    st = s.stepper
    st.finish_forward()
    s.step()  # loss
    s.step()  # backward of the affine
    before = st.position
    with pytest.raises(bt.LayerError) as e:
        s.step()
    msg = str(e.value)
    assert "the backward step of layer 'twice' (Misshapen) raised ValueError" in msg
    assert re.search(r"at test_custom_layers\.py:\d+ in backward", msg), msg
    assert st.position == before  # nothing happened: still before that step


class Bad(bt.Layer):
    kind = "Bad"

    def forward(self, x):
        return x @ np.ones((5, 5))


def bad_net() -> bt.Network:
    return bt.Network([Bad(name="bad"), bt.Affine(np.ones((4, 2)), np.zeros(2))],
                      bt.SoftmaxCrossEntropy())


def test_a_layer_that_raises_in_forward_is_said_when_the_debugger_opens() -> None:
    """The debugger opens anyway (the student sees the network and can step to the layer);
    the error, found while the shapes were taken, is said first."""
    x, t = data(8)
    s = DebugSession.for_network(bad_net(), x, t)
    e = s.startup_error
    assert isinstance(e, bt.LayerError)
    assert re.match(r"the forward of layer 'bad' \(Bad\), on input of shape \(8, 4\), raised "
                    r"ValueError at test_custom_layers\.py:\d+ in forward", str(e)), str(e)
    assert s.net.shapes == [(4,), (2,)]  # guessed from output_shape, below the failing layer
    with pytest.raises(bt.LayerError, match="the forward step of layer 'bad'"):
        s.step()


def test_the_debugger_opens_on_it_with_the_error_in_a_dialog() -> None:
    x, t = data(8)

    async def body(app, pilot):
        assert isinstance(app.screen, ErrorDialog)
        text = str(app.screen.query_one(".dialog-body").render())
        assert "the forward of layer 'bad' (Bad)" in text and "guesses" in text
        await pilot.press("enter")
        await pilot.pause()
        assert "stepping will stop at that layer" in str(app.screen.query_one("#status").render())

    run_app(DebugSession.for_network(bad_net(), x, t), body)


def run_app(session: DebugSession, body) -> BackpropApp:
    app = BackpropApp("debug", session=session)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await body(app, pilot)

    asyncio.run(main())
    return app


async def press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()


def test_debugger_checks_the_hand_written_layer_and_shows_the_failure() -> None:
    x, t = data(40)
    session = DebugSession.for_network(my_net(bug=True), x, t, batch_size=8)

    async def body(app, pilot):
        await press(app, pilot, "b", "g")  # forward, loss, backward; check the first layer
        pane = app.screen.query_one(GradcheckPane)
        assert pane.result is not None and pane.result.job.row_name == "hidden"
        verdicts = {c.tensor: c.verdict for c in pane.result.report.checks}
        assert verdicts == {"W": "FAIL", "b": "pass", "x": "pass"}
        assert "hidden FAILED" in app.screen.message
        assert app.screen.sub_title == "your network · 4 → MyAffine → ReLU → MyAffine"

    run_app(session, body)


def test_debugger_survives_a_layer_that_raises_and_says_where() -> None:
    x, t = data(40)
    net = bt.Network([Misshapen(name="twice"), bt.Affine(np.ones((4, 2)), np.zeros(2))],
                     bt.SoftmaxCrossEntropy())
    session = DebugSession.for_network(net, x, t, batch_size=8)

    async def body(app, pilot):
        await press(app, pilot, *"nnnn")  # 2 forward, loss, backward of the affine
        await press(app, pilot, "n")  # the misshapen backward raises
        assert isinstance(app.screen, ErrorDialog)
        assert "'twice' (Misshapen) raised ValueError" in app.screen.message
        assert "test_custom_layers.py:" in app.screen.message
        await press(app, pilot, "escape")
        scr = app.screen
        assert isinstance(scr, DebuggerScreen) and session.stepper.position == 4
        assert "nothing was stepped" in scr.message
        await press(app, pilot, "u")  # running to the update in a worker: the same report
        assert isinstance(app.screen, ErrorDialog)
        await press(app, pilot, "escape", "p", "r")  # still usable: back, reset
        assert session.stepper.position == 0 and app.is_running

    run_app(session, body)


def test_bt_debug_opens_the_debugger_on_the_network(monkeypatch) -> None:
    seen = {}

    def fake_run(session, theme):
        seen["session"], seen["theme"] = session, theme

    import backprop_tui.tui.app as tui_app

    monkeypatch.setattr(tui_app, "run_debugger", fake_run)
    x, t = data(40)
    net = my_net(bug=False)
    bt.debug(net, x, t, batch_size=10, seed=3, name="my MLP", theme="light")
    s = seen["session"]
    assert s.net is net and s.batch_size == 10 and s.seed == 3 and s.name == "my MLP"
    assert seen["theme"] == tui_app.LIGHT


def test_the_readme_example_runs(monkeypatch) -> None:
    """The README's 'Your own layer' code, as written there."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("<!-- test: own layer -->", 1)[1].split("```python", 1)[1]
    code = block.split("```", 1)[0]
    opened = []
    monkeypatch.setattr(bt, "debug", lambda *a, **k: opened.append((a, k)))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["report"].failed_layers == ["mine", "network"]
    assert len(opened) == 1


def test_formula_pane_for_layers_of_your_own() -> None:
    """Without equations on the class: the shapes of forward and backward and a hint; with
    them: the equations as written, and the shapes once (the debugger cannot know which of
    your equations makes which tensor)."""
    x, t = data(40)
    s = DebugSession.for_network(my_net(bug=False), x, t, batch_size=8)
    got = [(f.equation, f.shapes, f.direction) for f in s.formulas(0)]
    assert got[:4] == [("y = MyAffine.forward(x)", "8×4 → 8×6", "forward"),
                       ("dx = MyAffine.backward(dout)", "8×6 → 8×4", "backward"),
                       ("dW = ∂L/∂W", "4×6", "backward"), ("db = ∂L/∂b", "6", "backward")]
    assert "set forward_equations / backward_equations on MyAffine" in got[4][0]

    class Documented(MyAffine):
        kind = "Documented"
        forward_equations = ("y = x·W + b",)
        backward_equations = ("dx = dout·Wᵀ", "dW = xᵀ·dout")

    rng = np.random.default_rng(0)
    net = bt.Network([Documented(rng.normal(size=(4, 3)), np.zeros(3), name="doc")],
                     bt.SoftmaxCrossEntropy())
    s = DebugSession.for_network(net, x, t % 3, batch_size=8)
    got = [(f.equation, f.shapes) for f in s.formulas(0)]
    assert got == [("y = x·W + b", ""), ("x → y", "8×4 → 8×3"), ("dx = dout·Wᵀ", ""),
                   ("dW = xᵀ·dout", ""), ("dout → dx", "8×3 → 8×4"), ("dW", "4×3"),
                   ("db", "3")]


def test_a_cache_of_plain_values_shows_what_is_numeric() -> None:
    """Book-style code keeps shapes and scalars next to tensors; strings and None are not
    tensors. The step records the numeric ones as arrays and the panes draw them."""

    class Odd(bt.Layer):
        kind = "Odd"

        def forward(self, x):
            self.cache.update(shape=x.shape, scale=2.0, mask=x > 0, note="hello", none=None)
            return x * 2.0

        def backward(self, dout, need_dx=True):
            return dout * 2.0

    x, t = data(40)
    net = bt.Network([Odd(name="odd"), bt.Affine(np.ones((4, 2)), np.zeros(2))],
                     bt.SoftmaxCrossEntropy())
    s = DebugSession.for_network(net, x, t, batch_size=8)
    rec = s.step()
    assert set(rec.cache) == {"shape", "scale", "mask"}
    np.testing.assert_array_equal(rec.cache["shape"], [8, 4])
    assert rec.cache["mask"].dtype == bool and rec.nonfinite == ()
    shown = {it.key: it for it in s.tensors(0)}
    assert {"shape", "scale", "mask"} <= set(shown)
    assert shown["shape"].array is not None

    async def body(app, pilot):
        await press(app, pilot, "n", "home", *["right_square_bracket"] * 8, "i", "z", "z")
        assert isinstance(app.screen, DebuggerScreen)

    run_app(s, body)


class NoReturn(MyAffine):
    kind = "NoReturn"

    def backward(self, dout, need_dx=True):
        super().backward(dout)  # computes everything, returns nothing


class NoBias(MyAffine):
    kind = "NoBias"

    def backward(self, dout, need_dx=True):
        dx = super().backward(dout)
        del self.grads["b"]
        return dx


class Flat(MyAffine):
    kind = "Flat"

    def forward(self, x):
        return super().forward(x).ravel()  # loses the batch axis


@pytest.mark.parametrize(("layer_cls", "phase", "words"), [
    (NoReturn, "backward", "backward returned NoneType; it must return dx, the gradient for "
                           "its input"),
    (NoBias, "backward", "backward set no grads['b']"),
    (Flat, "forward", "forward returned an array of shape (48,) for 8 samples"),
])
def test_common_mistakes_are_blamed_on_the_layer_that_made_them(layer_cls, phase,
                                                                words) -> None:
    """A missing return, a missing gradient, a lost batch axis: each would surface later, in
    the next layer or the optimizer, as a puzzle. The stepper names the layer that did it."""
    rng = np.random.default_rng(0)
    x, t = data(8)
    mine = layer_cls(rng.normal(size=(4, 6)), np.zeros(6), name="mine")
    net = bt.Network([bt.Affine(np.eye(4), np.zeros(4), name="first"), mine, bt.ReLU(),
                      bt.Affine(rng.normal(size=(6, 2)), np.zeros(2), name="last")],
                     bt.SoftmaxCrossEntropy())
    st = bt.Stepper(net, bt.SGD(lr=0.1), bt.Batches(x, t, 8, np.random.default_rng(0)))
    with pytest.raises(bt.LayerError) as e:
        for _ in range(len(st.steps)):
            st.step()
    assert e.value.what == f"the {phase} step of layer 'mine' ({layer_cls.kind})"
    assert words in str(e.value)


def test_print_report_is_a_readable_table() -> None:
    x, t = data(8)
    report = bt.gradcheck(my_net(bug=True), x, t)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("gradient check FAILED (2 of 9 tensors) · local scope")
    assert lines[1].split() == ["layer", "gradient", "shape", "checked", "kinks", "max", "|a−n|",
                                "max", "rel", "verdict"]
    (w,) = [line for line in lines if line.startswith("hidden   dW")]
    (c,) = [c for c in report.checks if (c.layer, c.tensor) == ("hidden", "W")]
    assert w.split()[2:7] == ["4×6", "24", "0", f"{c.max_abs_error:.1e}",
                              f"{c.max_rel_error:.1e}"] and w.endswith("FAIL (wrong)")
    assert "≤ 1e-06" in lines[-1]

    class Printer:  # what IPython hands to _repr_pretty_
        def __init__(self) -> None:
            self.out = ""

        def text(self, s: str) -> None:
            self.out += s

    p = Printer()
    report._repr_pretty_(p, False)
    assert p.out == text


def test_bt_debug_without_a_terminal_says_so(monkeypatch) -> None:
    """In a notebook cell or a pipe there is no keyboard for the TUI: a clear error instead of
    a hang or escape codes in the output."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    x, t = data(8)
    with pytest.raises(UsageError, match="the debugger needs a terminal") as e:
        bt.debug(my_net(bug=False), x, t)
    assert "bt.gradcheck" in str(e.value)


def test_train_k_names_the_layer_that_raises_and_stops_before_it() -> None:
    """`t` (train K iterations) runs whole-network methods; when a layer raises there, the
    iteration is replayed step by step to name it, and the stepper stops just before it,
    with no half-counted loss."""

    class LateFailure(MyAffine):
        kind = "LateFailure"
        calls = 0

        def backward(self, dout, need_dx=True):
            LateFailure.calls += 1
            if LateFailure.calls > 3:
                raise FloatingPointError("went wrong on the 4th call")
            return super().backward(dout)

    rng = np.random.default_rng(0)
    x, t = data(40)
    net = bt.Network([LateFailure(rng.normal(size=(4, 6)), np.zeros(6), name="late"),
                      bt.ReLU(), MyAffine(rng.normal(size=(6, 2)), np.zeros(2), name="out")],
                     bt.SoftmaxCrossEntropy())
    s = DebugSession.for_network(net, x, t, batch_size=8)
    st = s.stepper
    with pytest.raises(bt.LayerError) as e:
        st.train(10)
    assert e.value.what == "the backward step of layer 'late' (LateFailure)"
    assert isinstance(e.value.error, FloatingPointError)
    assert st.iteration == 3 and st.position == st.steps.index(("backward", 0))
    assert [p.iteration for p in st.loss_history] == [0, 1, 2, 3]  # the 4th loss: computed
