"""Computational graphs (engine/graph.py, graphstep.py, graphcheck.py; graphfile.py): the book's
and micrograd's numbers exactly, every op's backward against centered differences, gradients
adding up where a value fans out, a planted ``=`` caught on exactly that node, chapter 5's
``MulLayer``/``AddLayer`` as they are written, node-by-node stepping with exact step back."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop_tui as bt
from backprop_tui.engine.book import BookLoss, from_book
from backprop_tui.engine.graph import BookOp, Graph, GraphError, Node, apply, var
from backprop_tui.engine.graphcheck import SUM_ROW, gradcheck_graph
from backprop_tui.engine.graphops import OPS
from backprop_tui.engine.graphstep import GraphWalk
from backprop_tui.errors import ScenarioError
from backprop_tui.graphfile import graph_names, load_graph_scenario


def passes(name: str) -> Graph:
    g = load_graph_scenario(name).build()
    g.forward()
    g.backward()
    return g


def values(g: Graph) -> dict[str, tuple[float, float]]:
    return {n.name: (float(n.value), float(n.grad)) for n in g.nodes}


# -- the book's and micrograd's numbers, exactly (float64) -------------------------------------
def test_apple_is_the_books_numbers() -> None:
    # the book's own arithmetic, in Python floats: 100 * 2 * 1.1 and its gradients
    v = values(passes("apple"))
    assert v["price"] == (100.0 * 2.0 * 1.1, 1.0)
    assert v["price"][0] == 220.00000000000003  # what the book prints
    assert v["apple"][1] == 1.1 * 2.0 == 2.2
    assert v["apple_num"][1] == 1.1 * 100.0 == 110.00000000000001
    assert v["tax"][1] == 200.0
    assert v["apple_price"] == (200.0, 1.1)


def test_apple_orange_is_the_books_numbers() -> None:
    v = values(passes("apple-orange"))
    assert v["price"][0] == (100.0 * 2.0 + 150.0 * 3.0) * 1.1 == 715.0000000000001
    # the book: 110.00000000000001 2.2 3.3000000000000003 165.0 650
    assert v["apple_num"][1] == 110.00000000000001
    assert v["apple"][1] == 2.2
    assert v["orange"][1] == 3.3000000000000003
    assert v["orange_num"][1] == 165.0
    assert v["tax"][1] == 650.0
    assert v["all_price"] == (650.0, 1.1)


def test_neuron_is_micrograds_numbers() -> None:
    v = values(passes("neuron"))
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    o = float(np.tanh(n))  # the tanh the engine uses (math.tanh differs by an ulp here)
    dn = 1 - o ** 2  # the same arithmetic in Python floats: exact equality
    assert v["o"] == (o, 1.0)
    assert v["n"] == (n, dn)
    assert v["x1"][1] == dn * -3.0 and v["w1"][1] == dn * 2.0
    assert v["x2"][1] == dn * 1.0 and v["w2"][1] == dn * 0.0 == 0.0
    # micrograd's rounded numbers (its tanh goes through exp: the last bits differ)
    assert v["o"][0] == pytest.approx(0.7071, abs=1e-4)
    for name, want in {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}.items():
        assert v[name][1] == pytest.approx(want, abs=1e-12)


def test_fanout_adds_the_gradient_of_every_use() -> None:
    v = values(passes("fanout"))
    a = 3.0  # c = a · (a + a) = 2a², dc/da = 4a
    assert v["c"][0] == 2 * a * a
    assert v["a"][1] == 4 * a == 12.0
    assert v["b"][1] == a


def test_mlp_is_micrograds_mlp_on_its_four_samples() -> None:
    sc = load_graph_scenario("mlp")
    g = passes("mlp")
    assert 300 <= len(g.nodes) <= 400  # a few hundred scalar nodes
    # the same network computed directly from its weights, in numpy
    w = {n.name: float(n.value) for n in g.leaves}
    xs = sc.doc["mlp"]["xs"]
    ys = sc.doc["mlp"]["ys"]
    sizes = sc.doc["mlp"]["sizes"]
    loss = 0.0
    for s, x in enumerate(xs, start=1):
        h = list(x)
        for li in range(1, len(sizes)):
            acts = [w[f"b{li}.{j}"] + sum(w[f"w{li}.{j}.{i}"] * h[i - 1]
                                          for i in range(1, sizes[li - 1] + 1))
                    for j in range(1, sizes[li] + 1)]
            h = acts if li == len(sizes) - 1 else [math.tanh(a) for a in acts]
        loss += (h[0] - ys[s - 1]) ** 2
    assert float(g.output.value) == pytest.approx(loss, rel=1e-12)
    # every weight is used by each of the four samples: its gradient is a sum of four
    assert len(g.consumers[g.node("w1.1.1")]) == 4
    assert gradcheck_graph(g).passed


def test_every_builtin_graph_passes_its_gradient_check() -> None:
    assert graph_names()[:2] == ["apple", "apple-orange"]  # the learning path starts there
    for name in graph_names():
        report = gradcheck_graph(load_graph_scenario(name).build())
        assert report.passed, (name, str(report))
        assert report.scope == "graph"


# -- every op against centered differences (hypothesis) ----------------------------------------
finite = st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 0.05)
positive = st.floats(0.2, 3, allow_nan=False)


def _arr(seed: int, shape: tuple[int, ...], low: float = -2, high: float = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape)


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(["add", "sub", "mul", "div"]), seed=st.integers(0, 10_000),
       shapes=st.sampled_from([((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 3), (1, 3)),
                               ((2, 1), (2, 3)), ((), (2, 2))]))
def test_binary_ops_with_broadcasting_pass_the_check(op, seed, shapes) -> None:
    a = var(_arr(seed, shapes[0]), "a")
    b = var(_arr(seed + 1, shapes[1], 0.5, 2) if op == "div" else _arr(seed + 1, shapes[1]),
            "b")
    out = apply(op, a, b, name="out").sum()
    report = gradcheck_graph(Graph(out))
    assert report.passed, str(report)
    assert {c.tensor for c in report.checks if c.layer == "out"} == {"a", "b"}


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(["exp", "log", "tanh", "sigmoid", "relu", "pow", "sum"]),
       seed=st.integers(0, 10_000), shape=st.sampled_from([(), (4,), (2, 3)]),
       k=st.sampled_from([2.0, 3.0, -1.0, 0.5]))
def test_unary_ops_pass_the_check(op, seed, shape, k) -> None:
    low = 0.2 if op in ("log", "pow") else -2
    x = _arr(seed, shape, low, 2)
    if op == "relu":
        x = np.where(np.abs(x) < 0.05, 0.5, x)  # not on the kink
    a = var(x, "a")
    out = apply(op, a, name="out", **({"k": k} if op == "pow" else {})).sum()
    report = gradcheck_graph(Graph(out))
    assert report.passed, str(report)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), shapes=st.sampled_from(
    [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((4,), (4,))]))
def test_matmul_passes_the_check(seed, shapes) -> None:
    out = (var(_arr(seed, shapes[0]), "x") @ var(_arr(seed + 1, shapes[1]), "W")).named("y")
    report = gradcheck_graph(Graph(out.tanh().sum()))
    assert report.passed, str(report)


def test_every_op_is_covered_by_the_checks_above() -> None:
    assert set(OPS) == {"add", "sub", "mul", "div", "pow", "exp", "log", "tanh", "sigmoid",
                        "relu", "sum", "matmul"}


def test_a_wrong_rule_fails_on_exactly_its_node(monkeypatch) -> None:
    g = load_graph_scenario("neuron").build()
    tanh = OPS["tanh"]
    wrong = type(tanh)(**{**tanh.__dict__, "backward": lambda d, xs, o, a: [d * (1 - o)]})
    monkeypatch.setitem(OPS, "tanh", wrong)
    g.node("o").fn = wrong
    report = gradcheck_graph(g)
    assert report.failed_layers == ["o"]


# -- fan-out: += and the planted = ---------------------------------------------------------------
class OverwritingGraph(Graph):
    """The student's mistake: the gradient of a use replaces what earlier uses sent."""

    def accumulate(self, node: Node, g: np.ndarray) -> None:
        node.grad = g


def _fanout_inside() -> Node:
    a = var(1.5, "a")
    x = (a * 2.0).named("x")  # x is used three times: twice by b, once by c
    b = (x + x).named("b")
    return (x * b).named("c")


def test_a_planted_overwrite_is_caught_on_exactly_the_node_that_fans_out() -> None:
    right = Graph(_fanout_inside())
    assert gradcheck_graph(right).passed
    assert float(right.node("x").grad) == 4 * 3.0  # c = 2x², dc/dx = 4x, x = 3
    wrong = OverwritingGraph(_fanout_inside())
    report = gradcheck_graph(wrong)
    assert float(wrong.node("x").grad) != 12.0
    assert report.failed_layers == ["x"]
    (row,) = [c for c in report.checks if not c.passed]
    assert row.tensor == SUM_ROW  # the sum of its uses, not a rule of a node
    # its consumers sent the right amounts: their rows pass
    assert all(c.passed for c in report.checks if c.layer in ("b", "c", "a"))


def test_the_fanout_scenario_teaches_the_same() -> None:
    g = OverwritingGraph(load_graph_scenario("fanout").build().output)
    g.forward()
    g.backward()
    assert float(g.node("a").grad) == 3.0  # the last use only, as the description says
    assert gradcheck_graph(g).failed_layers == ["a"]


# -- chapter 5's layers, written the book's way ---------------------------------------------------
class MulLayer:
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        dx = dout * self.y  # swapped: the gradient of x is dout times y
        dy = dout * self.x
        return dx, dy


class AddLayer:
    def __init__(self):
        pass

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout * 1, dout * 1


class SwappedMulLayer(MulLayer):
    def backward(self, dout):
        return dout * self.x, dout * self.y  # the classic mistake


class SoftmaxWithLoss:
    def forward(self, x, t):
        return 0.0

    def backward(self, dout=1):
        return dout


def _shopping(mul=MulLayer):
    apple, apple_num = bt.var(100, "apple"), bt.var(2, "apple_num")
    orange, orange_num = bt.var(150, "orange"), bt.var(3, "orange_num")
    tax = bt.var(1.1, "tax")
    apple_price = bt.from_book(mul())(apple, apple_num, name="apple_price")
    orange_price = bt.from_book(mul())(orange, orange_num, name="orange_price")
    all_price = bt.from_book(AddLayer())(apple_price, orange_price, name="all_price")
    return bt.from_book(mul())(all_price, tax, name="price")


def test_from_book_takes_mul_and_add_layers_as_graph_ops_not_as_a_loss() -> None:
    # this raised AttributeError: 'BookLoss' object has no attribute 'cast' (issue 11)
    assert isinstance(from_book(MulLayer()), BookOp)
    assert isinstance(from_book(AddLayer()), BookOp)
    assert isinstance(from_book(SoftmaxWithLoss()), BookLoss)


def test_the_books_layers_wired_as_in_the_chapter_give_the_books_numbers() -> None:
    price = _shopping()
    g = price.backward()
    v = values(g)
    assert v["price"][0] == 715.0000000000001
    assert [v[n][1] for n in ("apple_num", "apple", "orange", "orange_num", "tax")] == \
        [110.00000000000001, 2.2, 3.3000000000000003, 165.0, 650.0]
    assert bt.gradcheck(price).passed


def test_a_wrong_book_layer_is_named_by_the_check() -> None:
    report = bt.gradcheck(_shopping(SwappedMulLayer))
    assert not report.passed
    assert set(report.failed_layers) == {"apple_price", "orange_price", "price"}
    # its attributes are as its last real call left them, not as the check's perturbations
    g = _shopping(SwappedMulLayer).backward()
    assert g.node("price").fn.obj.x == 650.0


def test_a_book_backward_with_the_wrong_number_of_gradients_is_named() -> None:
    class OneGrad(MulLayer):
        def backward(self, dout):
            return dout * self.y

    o = bt.from_book(OneGrad())(bt.var(2.0, "a"), bt.var(3.0, "b"), name="ab")
    with pytest.raises(bt.LayerError, match="ab.*OneGrad.backward returned 1 gradient"):
        o.backward()


# -- stepping node by node -----------------------------------------------------------------------
def test_one_step_is_one_node_and_step_back_is_exact() -> None:
    g = load_graph_scenario("apple-orange").build()
    walk = GraphWalk(g)
    assert walk.total == 2 * 4
    states = [values_or_none(g)]
    order = []
    while (step := walk.step()) is not None:
        order.append((step.direction, step.node.name))
        states.append(values_or_none(g))
    assert order == [("forward", "apple_price"), ("forward", "orange_price"),
                     ("forward", "all_price"), ("forward", "price"), ("backward", "price"),
                     ("backward", "all_price"), ("backward", "orange_price"),
                     ("backward", "apple_price")]
    for pos in range(walk.total, 0, -1):
        assert walk.back()
        assert values_or_none(g) == states[pos - 1]
    assert not walk.back()


def test_step_back_over_book_layers_replays_their_own_code_exactly() -> None:
    g = Graph(_shopping())
    walk = GraphWalk(g)
    walk.finish_backward()
    done = values_or_none(g)
    walk.goto(5)  # price's backward done: its MulLayer's x is all_price's value
    assert g.node("price").fn.obj.x == 650.0
    assert values_or_none(g)["tax"] == (1.1, 650.0) and values_or_none(g)["apple"][1] == 0.0
    for _ in range(3):
        walk.back()
    assert walk.pos == 2 and values_or_none(g)["all_price"] == (None, None)
    walk.finish_backward()
    assert values_or_none(g) == done


def values_or_none(g: Graph) -> dict[str, tuple]:
    return {n.name: (None if n.value is None else float(n.value),
                     None if n.grad is None else float(n.grad)) for n in g.nodes}


# -- graph files ---------------------------------------------------------------------------------
def test_a_graph_file_with_a_mistake_is_one_error_naming_the_key(tmp_path) -> None:
    f = tmp_path / "g.toml"
    f.write_text('kind = "graph"\nnodes = [{ name = "a", value = 1.0 }, '
                 '{ name = "b", op = "mul", inputs = ["a", "c"] }]\n')
    with pytest.raises(ScenarioError, match=r"g.toml: nodes\[1\].inputs: names no earlier node"):
        load_graph_scenario(f)
    f.write_text('kind = "graph"\nnodes = [{ name = "a", value = 1.0 }, '
                 '{ name = "b", op = "mull", inputs = ["a", "a"] }]\n')
    with pytest.raises(ScenarioError, match=r"nodes\[1\].op.*Did you mean 'mul'"):
        load_graph_scenario(f)


def test_two_nodes_of_the_same_name_are_refused() -> None:
    with pytest.raises(GraphError, match="two nodes are named 'a'"):
        Graph(var(1.0, "a") + var(2.0, "a"))


def test_relu_on_its_kink_is_reported_as_a_kink_not_a_failure() -> None:
    x = var(np.array([0.0, 1.0, -2.0]), "x")
    report = gradcheck_graph(Graph((x.relu() * 3.0).sum()))
    (row,) = [c for c in report.checks if c.layer == "relu1"]
    assert row.kinks == 1 and row.passed
