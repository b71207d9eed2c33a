"""The graph debugger (screens/graph.py, widgets/graph.py) driven with Textual's Pilot, and SVG
snapshots of it at 80×24 and 120×40."""

from __future__ import annotations

import asyncio

import pytest

from backprop_tui.graphfile import load_graph_scenario
from backprop_tui.tui.app import DARK, BackpropApp
from backprop_tui.tui.graphsession import GraphSession
from backprop_tui.tui.screens.graph import GraphScreen
from backprop_tui.tui.widgets.gradcheck import GradcheckPane
from backprop_tui.tui.widgets.graph import GraphPane, NodePane


def make_app(name: str) -> tuple[BackpropApp, GraphSession]:
    session = GraphSession(name, load_graph_scenario(name).build())
    return BackpropApp("screen", screen=lambda: GraphScreen(session), theme=DARK), session


def screen_text(app: BackpropApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def test_apple_orange_steps_node_by_node_to_the_books_numbers() -> None:
    asyncio.run(_apple_orange_steps_node_by_node_to_the_books_numbers())


async def _apple_orange_steps_node_by_node_to_the_books_numbers() -> None:
    app, s = make_app("apple-orange")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        g = s.graph
        for name in ("apple_price", "orange_price", "all_price", "price"):
            await pilot.press("n")
            assert s.current.node.name == name and s.current.direction == "forward"
            assert app.screen.query_one(GraphPane).node.name == name  # selection follows
        assert float(g.node("price").value) == 715.0000000000001
        assert g.node("tax").grad is None
        await pilot.press("n")  # backward of price: d(tax) = d(price) · all_price
        await pilot.pause()
        assert float(g.node("tax").grad) == 650.0
        text = screen_text(app)
        assert "◀" in text  # the edges the gradient travels on are marked
        assert "d(price) = 1" in text
        await pilot.press("right")  # from price (last column) nothing to the right
        await pilot.press("left", "down")
        await pilot.pause()
        pane = app.screen.query_one(GraphPane)
        assert pane.node.name in ("tax", "all_price")
        while pane.node.name != "tax":
            await pilot.press("down")
        await pilot.pause()
        assert s.chain_rule(g.node("tax")) == "d(tax) = d(price) · all_price = 1 · 650 = 650"
        text = screen_text(app)  # the node pane wraps it at 80 columns
        assert app.screen.query_one(NodePane).node is g.node("tax")
        assert "d(tax) = d(price)" in text and "650 = 650" in text
        await pilot.press("b")
        assert [float(g.node(n).grad) for n in ("apple_num", "apple", "orange", "orange_num",
                                                 "tax")] == \
            [110.00000000000001, 2.2, 3.3000000000000003, 165.0, 650.0]
        assert s.walk.pos == s.walk.total


def test_step_back_is_exact_and_g_checks_the_selected_node() -> None:
    asyncio.run(_step_back_is_exact_and_g_checks_the_selected_node())


async def _step_back_is_exact_and_g_checks_the_selected_node() -> None:
    app, s = make_app("apple-orange")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f", "n", "n")
        before = {n.name: (n.value, n.grad) for n in s.graph.nodes}
        await pilot.press("n", "p")
        after = {n.name: (n.value, n.grad) for n in s.graph.nodes}
        assert s.walk.pos == 6
        for name, (v, g) in before.items():
            assert (v == after[name][0]).all() and (g == after[name][1]).all(), name
        assert app.screen.query_one(GraphPane).node.name == "all_price"
        await pilot.press("g")
        await pilot.pause()
        pane = app.screen.query_one(GradcheckPane)
        assert pane.result is not None and pane.result.report.passed
        assert {c.tensor for c in pane.result.report.checks} == {"apple_price", "orange_price"}
        assert s.walk.pos == 6  # the check put the walk back
        assert "d(apple_price)" in screen_text(app)
        await pilot.press("n")  # the state changed: the report is stale
        assert pane.stale


def test_the_mlp_is_navigable_at_80x24() -> None:
    asyncio.run(_the_mlp_is_navigable_at_80x24())


async def _the_mlp_is_navigable_at_80x24() -> None:
    app, s = make_app("mlp")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.screen.query_one(GraphPane)
        await pilot.press("b")  # the whole pass
        await pilot.pause()
        assert s.walk.pos == s.walk.total
        first = pane.origin
        for _ in range(12):
            await pilot.press("right")
        await pilot.pause()
        assert pane.origin != first  # the window followed the selection
        node = pane.node
        text = screen_text(app)
        assert node.name[:10] in text
        assert "arrows scroll" in text
        assert app.screen.query_one(NodePane).node is node


def test_continue_runs_to_the_selected_node() -> None:
    asyncio.run(_continue_runs_to_the_selected_node())


async def _continue_runs_to_the_selected_node() -> None:
    app, s = make_app("neuron")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.screen.query_one(GraphPane)
        pane.select(s.graph.node("o"))
        await pilot.press("c")
        assert s.walk.next_step.node.name == "o"


SIZES = [(120, 40), (80, 24)]


def keys(*presses: str):
    async def run_before(pilot) -> None:
        for key in presses:
            await pilot.press(key)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_apple_orange_mid_backward_snapshot(snap_compare, size) -> None:
    # forward ×4, backward of price and all_price: the gradient on its way to the prices
    assert snap_compare(make_app("apple-orange")[0], terminal_size=size,
                        run_before=keys("f", "n", "n"))


def test_the_picker_lists_the_graphs_first_and_opens_one_in_the_graph_debugger() -> None:
    from backprop_tui.tui.screens.picker import PickerScreen

    app = BackpropApp("picker", theme=DARK)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, PickerScreen)
            table = app.screen.query_one("DataTable")
            keys = [table.coordinate_to_cell_key((r, 0)).row_key.value
                    for r in range(table.row_count)]
            assert keys[:5] == ["apple", "apple-orange", "fanout", "neuron", "mlp"]
            assert "xor" in keys[5:]
            table.move_cursor(row=1)
            await pilot.pause()
            assert "computational graph" in screen_text(app)
            await pilot.press("enter")
            for _ in range(50):  # the session is built in a worker
                await pilot.pause(0.05)
                if isinstance(app.screen, GraphScreen):
                    break
            assert isinstance(app.screen, GraphScreen)
            assert app.screen.session.name == "apple-orange"
            await pilot.press("b")
            assert float(app.screen.session.graph.node("tax").grad) == 650.0

    asyncio.run(main())


class _Mul:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class _SwappedMul(_Mul):
    def backward(self, dout):
        return dout * self.x, dout * self.y  # the classic mistake


class _RaisingMul(_Mul):
    def backward(self, dout):
        return dout * self.z, dout * self.x  # no attribute z


def _users_graph(layer) -> GraphSession:
    import backprop_tui as bt

    a, b = bt.var(2.0, "a"), bt.var(-3.0, "b")
    e = bt.from_book(layer())(a, b, name="e")
    return GraphSession("mine.py", bt.Graph(((e + 10.0) * -2.0).named("L")))


def _app(session: GraphSession) -> BackpropApp:
    return BackpropApp("screen", screen=lambda: GraphScreen(session), theme=DARK)


def test_g_names_the_wrong_node_of_a_users_graph() -> None:
    s = _users_graph(_SwappedMul)
    app = _app(s)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("b")
            pane = app.screen.query_one(GraphPane)
            pane.select(s.graph.node("e"))
            await pilot.press("g")
            await pilot.pause()
            report = app.screen.query_one(GradcheckPane).result.report
            assert report.failed_layers == ["e"]
            assert "FAIL" in screen_text(app) and "gradient check of e: FAILED" in \
                screen_text(app)

    asyncio.run(main())


def test_a_users_node_that_raises_is_a_dialog_and_nothing_moves() -> None:
    from backprop_tui.tui.screens.dialogs import ErrorDialog

    s = _users_graph(_RaisingMul)
    app = _app(s)

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("f", "n", "n")  # the backward of L, and of its add
            assert s.walk.pos == 5
            await pilot.press("n")  # e's backward raises
            await pilot.pause()
            assert isinstance(app.screen, ErrorDialog)
            assert "AttributeError" in app.screen.message
            assert "test_tui_graph.py" in app.screen.message  # the line of the user's code
            assert s.walk.pos == 5
            await pilot.press("escape")
            await pilot.press("p")
            assert s.walk.pos == 4

    asyncio.run(main())


def test_help_lists_the_graph_keys_and_panes() -> None:
    from backprop_tui.tui.screens.help import HelpScreen

    app, _ = make_app("apple")

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            text = screen_text(app)
            assert "computational graph" in text and "Gradient check" in text
            await pilot.press("escape")
            assert isinstance(app.screen, GraphScreen)

    asyncio.run(main())


def test_a_tensor_graph_shows_its_numbers_in_the_node_pane() -> None:
    import numpy as np

    import backprop_tui as bt

    W = bt.var(np.array([[1.0, -2.0], [0.5, 3.0]]), "W")
    x = bt.var(np.array([2.0, 1.0]), "x")
    s = GraphSession("tensors", bt.Graph((W @ x).named("y").tanh().sum().named("L")))
    app = BackpropApp("screen", screen=lambda: GraphScreen(s), theme=DARK)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("b")
            app.screen.query_one(GraphPane).select(s.graph.node("y"))
            await pilot.pause()
            text = screen_text(app)
            assert "value 2: [0. 4.]" in text  # W @ x = [2 − 2, 1 + 3]
            assert "= 2" in text  # the box shows the shape

    asyncio.run(main())


def test_every_small_builtin_shows_whole_at_80x24() -> None:
    """apple, apple-orange, fanout and neuron need no scrolling at 80×24 (the neuron's five
    columns only in the narrow boxes)."""
    async def main(name: str) -> None:
        app, s = make_app(name)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("b")
            await pilot.pause()
            text = "\n".join(screen_text(app).splitlines()[:14])  # the graph pane
            assert "arrows scroll" not in text, name
            for node in s.graph.nodes:
                assert node.name[:7] in text, (name, node.name)  # long ones end in …

    for name in ("apple", "apple-orange", "fanout", "neuron"):
        asyncio.run(main(name))


def test_a_too_small_terminal_shows_the_notice_and_keys_still_step() -> None:
    from backprop_tui.tui.screens.size import MIN_HEIGHT, MIN_WIDTH

    app, session = make_app("apple")

    async def main() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.resize_terminal(MIN_WIDTH - 1, MIN_HEIGHT)
            await pilot.pause()
            scr = app.screen
            assert scr.has_class("too-small")
            assert f"at least {MIN_WIDTH}×{MIN_HEIGHT}" in str(
                scr.query_one("#too-small").render())
            before = session.walk.pos
            await pilot.press("n")  # keys still work under the notice
            await pilot.pause()
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert not scr.has_class("too-small")
            assert session.walk.pos == before + 1

    asyncio.run(main())
