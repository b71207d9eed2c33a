"""The command line on graphs: `graph`, `gradcheck` and `scenarios` (graphrun.py, cli.py)."""

from __future__ import annotations

import json
import textwrap

import pytest
from test_cli import assert_user_error, run

USER_GRAPH = """
import backprop_tui as bt

class MulLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * {dx}, dout * self.x

a = bt.var(2.0, "a")
b = bt.var(-3.0, "b")
c = bt.var(10.0, "c")
e = bt.from_book(MulLayer())(a, b, name="e")
d = (e + c).named("d")
L = (d * bt.var(-2.0, "f")).named("L")
bt.debug(L)
"""


def test_graph_prints_every_nodes_value_and_gradient_as_json() -> None:
    result = run("graph", "apple-orange", "--json")
    assert result.exit_code == 0, result.output
    nodes = {n["name"]: n for n in json.loads(result.stdout)["nodes"]}
    assert nodes["price"]["value"] == 715.0000000000001
    assert nodes["tax"]["grad"] == 650.0
    assert nodes["apple_num"]["grad"] == 110.00000000000001
    assert nodes["all_price"] == {"name": "all_price", "op": "add",
                                  "inputs": ["apple_price", "orange_price"], "value": 650.0,
                                  "grad": 1.1}


def test_graph_table_names_every_node() -> None:
    result = run("graph", "neuron")
    assert result.exit_code == 0, result.output
    for name in ("x1", "w1", "x2", "w2", "b", "n", "o", "0.707106781186547"):
        assert name in result.stdout


def test_gradcheck_of_a_builtin_graph_passes_with_one_row_per_node_input() -> None:
    result = run("gradcheck", "apple-orange", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["passed"] and doc["scope"] == "graph"
    rows = [(c["layer"], c["tensor"]) for c in doc["checks"]]
    assert rows == [("apple_price", "apple"), ("apple_price", "apple_num"),
                    ("orange_price", "orange"), ("orange_price", "orange_num"),
                    ("all_price", "apple_price"), ("all_price", "orange_price"),
                    ("price", "all_price"), ("price", "tax")]
    table = run("gradcheck", "fanout")
    assert table.exit_code == 0 and "d(a) = Σ" in table.stdout


def test_a_users_graph_file_is_checked_and_its_wrong_node_named(tmp_path) -> None:
    good = tmp_path / "good.py"
    good.write_text(USER_GRAPH.format(dx="self.y"))
    assert run("gradcheck", str(good)).exit_code == 0
    doc = json.loads(run("graph", str(good), "--json").stdout)
    assert {n["name"]: n["grad"] for n in doc["nodes"]}["a"] == -2.0 * -3.0
    bad = tmp_path / "bad.py"
    bad.write_text(USER_GRAPH.format(dx="self.x"))  # dx = dout · x: wrong
    result = run("gradcheck", str(bad), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert {c["layer"] for c in doc["checks"] if not c["passed"]} == {"e"}
    text = run("gradcheck", str(bad))
    assert "FAILED" in text.stdout and "in e." in text.stdout


def test_graph_errors_are_one_line(tmp_path) -> None:
    assert_user_error(run("graph", "xor"), "xor: is not a graph", "apple")
    f = tmp_path / "g.toml"
    f.write_text('kind = "graph"\nnodes = [{ name = "a", value = "x" }]\n')
    assert_user_error(run("gradcheck", str(f)), "nodes[0].value", "not a number")
    assert_user_error(run("gradcheck", "apple", "--layer", "pear"), "--layer", "pear",
                      "apple_price")
    assert_user_error(run("debug", "apple", "--checkpoint", "x.npz"), "--checkpoint")


def test_scenarios_lists_the_graphs_first() -> None:
    result = run("scenarios", "--json")
    names = [s["name"] for s in json.loads(result.stdout)]
    assert names[:5] == ["apple", "apple-orange", "fanout", "neuron", "mlp"]
    assert "xor" in names[5:]


def test_a_file_that_debugs_a_graph_is_a_graph_file(tmp_path) -> None:
    from backprop_tui.netfile import load_network_file

    f = tmp_path / "mine.py"
    f.write_text(textwrap.dedent(USER_GRAPH.format(dx="self.y")))
    nf = load_network_file(f)
    assert nf.kind == "graph" and nf.net.output.name == "L"


def test_debug_opens_a_graph_scenario_and_a_users_graph_file(tmp_path, monkeypatch) -> None:
    from backprop_tui.tui import app as tui_app

    opened = []
    monkeypatch.setattr(tui_app, "run_graph_debugger",
                        lambda name, graph, theme: opened.append((name, graph)))
    assert run("debug", "neuron").exit_code == 0
    f = tmp_path / "mine.py"
    f.write_text(USER_GRAPH.format(dx="self.y"))
    assert run("debug", str(f)).exit_code == 0
    assert [(name, g.output.name) for name, g in opened] == [("neuron", "o"), ("mine.py", "L")]


def test_a_graph_is_not_trained(tmp_path) -> None:
    assert_user_error(run("train", "apple", "--headless"), "'apple' is a computational graph",
                      "backprop-tui debug apple")


def test_a_users_book_op_that_raises_is_one_error_naming_its_line(tmp_path) -> None:
    f = tmp_path / "raises.py"
    f.write_text(USER_GRAPH.format(dx="self.z"))  # no attribute z
    message = assert_user_error(run("graph", str(f)), "backward of e", "AttributeError",
                                "raises.py:")
    assert "in backward" in message
    result = run("gradcheck", str(f))
    assert result.exit_code == 1 and "AttributeError" in result.output


def test_the_readmes_graph_example_runs_as_written(tmp_path) -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Computational graphs", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "readme_graph.py"
    f.write_text(code)
    nodes = {n["name"]: n for n in json.loads(run("graph", str(f), "--json").stdout)["nodes"]}
    assert nodes["o"]["value"] == pytest.approx(0.7071067811865476, abs=1e-15)
    for name, want in {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}.items():
        assert nodes[name]["grad"] == pytest.approx(want, abs=1e-12)
    assert nodes["x1w1"]["op"] == "MulLayer"
    assert run("gradcheck", str(f)).exit_code == 0
