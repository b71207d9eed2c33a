"""The explain view (key ``e``), driven by Pilot on xor: what it explains is the entry under
the tensor pane's cursor, its value is the one the pane shows, the entries that feed it are
marked in the tensor they come from, and the chain is followed up (enter) and down (d) across
the three layers and back (backspace, escape)."""

from __future__ import annotations

import math

import numpy as np
from test_tui_app import press, run

from backprop_tui.engine.explain import Entry
from backprop_tui.tui.explainsession import ExplainSession, named
from backprop_tui.tui.screens.debugger import DebuggerScreen
from backprop_tui.tui.screens.explain import EXPLAIN_KEYS, ExplainScreen
from backprop_tui.tui.screens.help import HelpScreen
from backprop_tui.tui.widgets.explain import ExplainPane, InputsPane, SourcePane
from backprop_tui.tui.widgets.network import NetworkPane
from backprop_tui.tui.widgets.tensor import TensorPane


async def show(app, pilot, row: int, key: str) -> TensorPane:
    """Select ``row`` in the network pane and ``key`` in the tensor pane, and focus it."""
    app.screen.query_one(NetworkPane).selected = row
    await pilot.pause()
    pane = app.screen.query_one(TensorPane)
    pane.select(key)
    pane.focus()
    await pilot.pause()
    return pane


def explain_view(app) -> ExplainScreen:
    assert isinstance(app.screen, ExplainScreen), type(app.screen)
    return app.screen


def test_e_explains_the_dW_entry_under_the_cursor() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")  # forward, loss, backward: affine1's dW is computed
        pane = await show(app, pilot, 0, "dW")
        await press(app, pilot, "down", "right", "right")
        assert pane.cursor_index() == (1, 2)
        await press(app, pilot, "e")
        view = explain_view(app)
        assert view.entries == [Entry("affine1", "dW", (1, 2))]
        e = view.current
        dW = app.session.net.layers[0].grads["W"]
        assert e.value == dW[1, 2]
        assert math.isclose(math.fsum(v for _, v in e.terms), e.value, rel_tol=1e-12,
                            abs_tol=1e-300)
        text = view.query_one(ExplainPane).render().plain
        assert text.startswith("affine1.dW[1,2] = ")
        assert "dW[i,j] = Σₙ x[n,i]·dout[n,j]" in text
        # the inputs: exactly the engine's, the chosen one a gradient (toward the loss)
        inputs = view.query_one(InputsPane)
        assert {f.entry for f in inputs.fed} == set(e.inputs)
        terms = [abs(f.term) for f in inputs.fed]
        assert terms == sorted(terms, reverse=True)
        assert inputs.current.entry.tensor == "dout"
        # the tensor they come from: dout, its column 2 marked, the cursor on the chosen one
        src = view.query_one(SourcePane)
        assert src.item.key == "dout"
        marks = {x.index for x in e.inputs if (x.layer, x.tensor) == ("affine1", "dout")}
        assert marks and all(j == 2 for _, j in marks)  # column 2 of dout feeds dW[1, 2]
        assert src.marks == marks
        assert src.cursor_index() == inputs.current.entry.index
        drawn = src.render().plain
        assert drawn.count("▸") == len(marks) - 1  # the cursor's cell has brackets
        await press(app, pilot, "escape")
        assert isinstance(app.screen, DebuggerScreen)

    run(body)


def test_e_on_a_pending_tensor_says_so_in_one_line() -> None:
    async def body(app, pilot):
        await show(app, pilot, 0, "dW")  # nothing computed yet
        await press(app, pilot, "e")
        assert isinstance(app.screen, DebuggerScreen)
        assert "explain: dW of affine1 is not computed yet" in app.screen.message
        assert "\n" not in app.screen.message
        # a step back undoes affine1's backward: its gradients (still in the layer) are
        # pending again, and so is what the chain reaches of them
        await press(app, pilot, "b", "p")
        await show(app, pilot, 0, "dW")
        await press(app, pilot, "e")
        assert isinstance(app.screen, DebuggerScreen)
        assert "not computed yet" in app.screen.message
        await show(app, pilot, 1, "dx")
        await press(app, pilot, "e")
        view = explain_view(app)
        await press(app, pilot, "d", "d")  # relu1.dx → affine1.dout → affine1.dW: pending
        assert [(x.layer, x.tensor) for x in view.entries] == [("relu1", "dx"),
                                                               ("affine1", "dout")]
        assert "not computed yet" in view.message

    run(body)


def test_e_on_the_update_row_explains_the_update_of_that_entry() -> None:
    async def body(app, pilot):
        before = app.session.net.layers[2].params["W"].copy()
        await press(app, pilot, "u")  # the whole iteration, the update included
        s = app.session
        pane = await show(app, pilot, s.update_row, "Δaffine2.W")
        await press(app, pilot, "down")
        idx = pane.cursor_index()
        await press(app, pilot, "e")
        view = explain_view(app)
        assert view.entries == [Entry("update", "affine2.W", idx)]
        after = s.net.layers[2].params["W"]
        assert view.current.value == after[idx]
        delta = s.tensor(s.update_row, "Δaffine2.W").array[idx]
        assert delta == after[idx] - before[idx]
        shown = " ".join(view.query_one(ExplainPane).render().plain.split())
        assert f"Δaffine2.W[{idx[0]}, {idx[1]}] = " in shown and "after − before" in shown

    run(body)


def test_following_the_chain_up_across_three_layers_and_back() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")
        await show(app, pilot, 0, "dW")
        await press(app, pilot, "right", "e")
        view = explain_view(app)
        for _ in range(7):
            await press(app, pilot, "enter")
        visited = view.entries
        loss = app.session.net.loss_layer.name
        assert [(x.layer, x.tensor) for x in visited[:7]] == [
            ("affine1", "dW"), ("affine1", "dout"), ("relu1", "dx"), ("relu1", "dout"),
            ("affine2", "dx"), ("affine2", "dout"), (loss, "dscores")]
        assert (visited[7].layer, visited[7].tensor) in ((loss, "y"), (loss, "t"))
        n, j = visited[1].index
        assert j == 1  # dW[0, 1] is fed by dout[:, 1]
        assert [x.index for x in visited[1:5]] == [(n, j)] * 4  # the identities keep it
        for a, b in zip(visited, visited[1:], strict=False):  # each fed the one before
            assert b in ExplainSession(app.session).explain(a).inputs
        await press(app, pilot, "backspace", "backspace", "backspace", "backspace")
        assert view.entries == visited[:4]
        assert view.query_one(ExplainPane).explanation.entry == visited[3]
        await pilot.press("escape", "escape", "escape")  # fast: back, back, back
        await pilot.pause()
        assert view.entries == visited[:1]
        await pilot.press("escape", "escape")  # fast: closes once, the debugger stays
        await pilot.pause()
        assert isinstance(app.screen, DebuggerScreen)
        assert "explaining" not in app.screen.message  # the view closed: not "escape closes"
        assert "escape" not in app.screen.message
        assert len(app.screen_stack) == 2  # the app's default screen and the debugger

    run(body)


def test_d_walks_down_the_backward_pass_to_the_first_layers_dW() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")
        s = app.session
        await show(app, pilot, s.loss_row, "dscores")
        await press(app, pilot, "right", "e")
        view = explain_view(app)
        for _ in range(6):
            await press(app, pilot, "d")
        visited = view.entries
        loss = s.net.loss_layer.name
        assert [(x.layer, x.tensor) for x in visited] == [
            (loss, "dscores"), ("affine2", "dout"), ("affine2", "dx"), ("relu1", "dout"),
            ("relu1", "dx"), ("affine1", "dout"), ("affine1", "dW")]
        assert visited[1].index == visited[0].index == (0, 1)
        explainer = ExplainSession(s)
        for a, b in zip(visited, visited[1:], strict=False):  # each feeds the next
            e = explainer.explain(b)
            assert a in e.inputs
            assert any(named(label, a) for label, _ in e.terms)
        await press(app, pilot, "d")  # the update has not run: says so, stays
        assert view.entries == visited
        assert "not computed yet" in view.message
        await press(app, pilot, "backspace")
        assert view.entries == visited[:-1] and not view.message

    run(body)


def test_e_typed_twice_opens_one_view_and_help_lists_the_keys() -> None:
    async def body(app, pilot):
        await press(app, pilot, "b")
        await show(app, pilot, 0, "dW")
        await pilot.press("e", "e")
        await pilot.pause()
        assert isinstance(app.screen, ExplainScreen)
        assert len(app.screen_stack) == 3
        await press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        esc = next(k for k in EXPLAIN_KEYS if k.keys == "escape")
        assert esc.label == "back"  # the footer says what escape does: back one entry
        listed = " ".join(k for k, _ in app.screen.keys)
        for k in EXPLAIN_KEYS:
            assert (k.shown or k.keys) in listed
        await press(app, pilot, "escape", "escape")
        assert isinstance(app.screen, DebuggerScreen)
        await press(app, pilot, "question_mark")
        rows = dict(app.screen.keys)
        assert "e" in rows and "enter (explain view)" in rows and "d (explain view)" in rows

    run(body)


def test_e_in_the_picture_view_explains_the_shown_sample() -> None:
    async def body(app, pilot):
        await press(app, pilot, "n")  # conv1 forward
        pane = await show(app, pilot, 0, "y")
        await press(app, pilot, "i", "full_stop")
        assert pane.image_mode and pane.sample == 1
        await press(app, pilot, "e")
        view = explain_view(app)
        entry = view.entries[0]
        assert (entry.layer, entry.tensor) == ("conv1", "y") and entry.index[0] == 1
        y = app.session.stepper.record_for("forward", 0).output
        assert view.current.value == y[entry.index]

    run(body, scenario="mnist-cnn", batch_size=4)


def test_fed_by_cells_are_marked_in_a_heatmap_too() -> None:
    # mnist-mlp's affine1.dW is 784×100: colours only; the marks are diamonds on the cells
    async def body(app, pilot):
        await press(app, pilot, "b")
        await show(app, pilot, 0, "dW")
        await press(app, pilot, "e")
        view = explain_view(app)
        inputs = view.query_one(InputsPane)
        pick = next(k for k, f in enumerate(inputs.fed) if f.entry.tensor == "x")
        await press(app, pilot, *(["down"] * pick if pick > inputs.selected else
                                  ["up"] * (inputs.selected - pick)))
        src = view.query_one(SourcePane)
        assert src.item.key == "x"
        assert src.marks and all(i[1] == view.entries[0].index[0] for i in src.marks)
        assert "▸" in src.render().plain or "◆" in src.render().plain
        assert np.asarray(src.item.array).shape[1] == 784

    run(body, scenario="mnist-mlp", batch_size=4)


def test_fold_line_never_breaks_inside_a_number() -> None:
    from backprop_tui.tui.widgets.explain import fold_line

    line = "                      (−0.05508)·(−0.0664) + x[0,1]·dout[0,3] = 0.1234·(−0.2345)"
    lines = fold_line(line, 39)
    assert len(lines) > 1 and all(len(part) <= 39 for part in lines)
    words = [w for part in lines for w in part.replace("·", " ").split()]
    assert words == line.replace("·", " ").split()  # every number whole, in order
    assert fold_line("short", 39) == ["short"]


def _source_pane_is_on_the_chosen_entry(view) -> None:
    """The source pane's cursor is on the chosen input (true indices) and says its value."""
    from backprop_tui.tui import render

    cur = view.query_one(InputsPane).current
    src = view.query_one(SourcePane)
    assert src.cursor_index() == cur.entry.index
    at = f"{cur.entry.tensor}[{', '.join(map(str, cur.entry.index))}]"
    value = float(np.asarray(src.item.array)[cur.entry.index])
    drawn = src.render().plain
    assert f"{at} = {render.fmt(value)}" in drawn or at in drawn and \
        render.fmt(value) in drawn, drawn[-300:]
    assert cur.value is None or cur.value == value


def test_source_pane_points_at_the_chosen_entry_of_a_downsampled_tensor() -> None:
    # mnist-cnn's affine2.x and W are shrunk to fit the pane: the cursor's cell stands for a
    # block, yet the cursor line must name the chosen entry itself, with its value
    for size in ((80, 24), (120, 40)):
        async def body(app, pilot):
            await press(app, pilot, "f")
            s = app.session
            row = next(k for k, la in enumerate(s.layers) if la.name == "affine2")
            await show(app, pilot, row, "y")
            await press(app, pilot, "e")
            view = explain_view(app)
            inputs = view.query_one(InputsPane)
            for _ in range(2):
                _source_pane_is_on_the_chosen_entry(view)
                await press(app, pilot, "down")
            k = next(k for k, f in enumerate(inputs.fed) if f.entry.tensor == "W")
            await press(app, pilot, *(["down"] * (k - inputs.selected) if k > inputs.selected
                                      else ["up"] * (inputs.selected - k)))
            _source_pane_is_on_the_chosen_entry(view)

        run(body, scenario="mnist-cnn", size=size)


def test_source_pane_points_at_the_chosen_entry_of_a_tiled_image() -> None:
    async def body(app, pilot):
        await press(app, pilot, "n")  # conv1 forward
        await show(app, pilot, 0, "y")
        await press(app, pilot, "i", "right", "down", "e")
        view = explain_view(app)
        for _ in range(3):
            _source_pane_is_on_the_chosen_entry(view)
            await press(app, pilot, "down")

    run(body, scenario="mnist-cnn", size=(80, 24))


def test_after_the_update_a_parameter_that_fed_the_gradient_is_shown_as_it_was() -> None:
    # xor, b n: the update has changed W; what fed Δ and dW is W before the update — the list,
    # the pane under it and the formula all say that value
    async def body(app, pilot):
        s = app.session
        await press(app, pilot, "b", "n")
        before = s.stepper.state_before_update()["params"]["affine1.W"]
        live = s.net.layers[0].params["W"]
        assert before[0, 0] != live[0, 0]
        await show(app, pilot, s.update_row, "Δaffine1.W")
        await press(app, pilot, "e")
        view = explain_view(app)
        inputs = view.query_one(InputsPane)
        src = view.query_one(SourcePane)

        async def choose(tensor: str):
            k = next(k for k, f in enumerate(inputs.fed) if f.entry.tensor == tensor)
            await press(app, pilot, *(["down"] * (k - inputs.selected) if k > inputs.selected
                                      else ["up"] * (inputs.selected - k)))
            return inputs.current

        for explained in ("update", "dW"):
            fed = await choose("W")
            assert fed.entry == Entry("affine1", "W", (0, 0)), explained
            assert fed.before and fed.value == before[0, 0]
            assert "before the update" in inputs.render().plain
            assert np.asarray(src.item.array)[0, 0] == before[0, 0]
            assert "before the update" in str(src.border_title)
            _source_pane_is_on_the_chosen_entry(view)
            if explained == "update":
                await press(app, pilot, "enter")  # W itself: before + the change
                text = view.query_one(ExplainPane).render().plain
                assert "((" not in text and "))" not in text
                await press(app, pilot, "backspace")
                await choose("dW")
                await press(app, pilot, "enter")
                assert view.current.entry == Entry("affine1", "dW", (0, 0))

    run(body)


def test_e_on_the_first_layers_x_before_any_step_explains_the_data() -> None:
    async def body(app, pilot):
        pane = await show(app, pilot, 0, "x")  # step 0: the arriving batch is shown
        await press(app, pilot, "right", "e")
        view = explain_view(app)
        assert view.entries == [Entry("affine1", "x", pane.cursor_index())]
        text = view.query_one(ExplainPane).render().plain
        assert "is data" in text and "not computed" not in text
        assert view.current.value == np.asarray(pane.item.array)[pane.cursor_index()]

    run(body)
