"""``backprop-tui explain SCENARIO TENSOR``: the debugger's first batch, run as far as the step
that makes the tensor (or ``--step``), one entry explained — as text, or as JSON; every mistake
one ``error:`` line that names what exists, exit 2."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from test_cli import assert_user_error, run

import backprop_tui as bt
from backprop_tui.engine.explain import explain
from backprop_tui.tui.session import DebugSession


def test_the_issues_example_dscores_of_xor():
    """Issue 10's student: dscores[0,0] = 0.09511, without flipping between y, t and dscores."""
    result = run("explain", "xor", "loss.dscores[0,0]")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "xor · batch of 4 (seed 0) · after the forward step"
    assert lines[1] == "softmaxcrossentropy.dscores[0,0] = 0.0951122"
    assert "dscores[n,k] = (y[n,k] − [k = tₙ]) / N" in result.stdout


def test_explain_matches_the_debuggers_numbers():
    """The same batch and weights as `debug xor`: the value is the session's own entry."""
    session = DebugSession.from_scenario(bt.load_scenario("xor"))
    while session.stepper.position < session.stepper.steps_per_iteration - 1:
        session.stepper.step()
    want = explain(session.net, "affine1", "dW", (1, 3))
    doc = json.loads(run("explain", "xor", "affine1.dW[1,3]", "--json").stdout)
    assert doc["value"] == want.value and doc["step"] == "backward"
    assert doc["entry"] == {"layer": "affine1", "tensor": "dW", "index": [1, 3]}
    assert [t["value"] for t in doc["terms"]] == [v for _, v in want.terms]
    assert doc["inputs"] == [{"layer": e.layer, "tensor": e.tensor, "index": list(e.index)}
                             for e in want.inputs]
    assert doc["text"] == str(want) and doc["formula"] == want.formula
    assert doc["scenario"] == "xor" and doc["seed"] == 0 and doc["batch_size"] == 4


def test_step_defaults_and_the_update():
    doc = json.loads(run("explain", "xor", "update.affine2.W[0,1]", "--json").stdout)
    assert doc["step"] == "update" and doc["formula"] == "W_new[i,j] = W[i,j] − lr·dW[i,j]"
    assert doc["value"] == pytest.approx(sum(t["value"] for t in doc["terms"]), rel=1e-12)
    assert json.loads(run("explain", "xor", "relu1.y[1,2]", "--json").stdout)["step"] == \
        "forward"
    # after the update, a gradient is explained with the weights the backward used
    late = json.loads(run("explain", "xor", "affine1.dW[0,2]", "--step", "update",
                          "--json").stdout)
    early = json.loads(run("explain", "xor", "affine1.dW[0,2]", "--json").stdout)
    assert late["value"] == early["value"] and late["terms"] == early["terms"]
    assert not any(n.startswith("the code's") for n in late["notes"])


def test_seed_changes_the_numbers():
    a = json.loads(run("explain", "xor", "affine1.W[0,0]", "--json").stdout)["value"]
    b = json.loads(run("explain", "xor", "affine1.W[0,0]", "--seed", "3", "--json").stdout)
    assert b["seed"] == 3 and b["value"] != a


@pytest.mark.parametrize(("spec", "args", "parts"), [
    ("affine1.dV[1,3]", [], ["TENSOR: affine1 has no tensor 'dV'; it has x, y, W, b, dout, dW, "
                             "db, dx"]),
    ("affine9.dW[0,0]", [], ["no layer 'affine9' in this network; it has affine1, relu1, "
                             "affine2, softmaxcrossentropy, update"]),
    ("affine1.dW[9,3]", [], ["affine1.dW[9,3]: index 9 on axis 0 is outside 0…1 (shape (2, 6))"]),
    ("affine1.dW[-1,3]", [], ["index -1 on axis 0 is outside 0…1"]),
    ("affine1.dW", [], ["affine1.dW has 2 axes (shape (2, 6))", "e.g. affine1.dW[0,0]"]),
    ("affine1.dW[1,x]", [], ["TENSOR: is not a tensor entry (got 'affine1.dW[1,x]'); expected "
                             "LAYER.TENSOR[i,j]"]),
    ("dW[1,3]", [], ["is not a tensor entry"]),
    ("affine1.dW[1,3]", ["--step", "forward"], [
        "affine1.dW is not computed yet (run the backward pass first); --step backward runs it"]),
    ("affine1.dW[1,3]", ["--seed", "-1"], ["--seed"]),
])
def test_mistakes_are_one_error_line(spec, args, parts):
    assert_user_error(run("explain", "xor", spec, *args), *parts)


def test_a_mistake_with_json_is_json_too():
    result = run("explain", "xor", "affine1.dV[0,0]", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"].startswith("TENSOR: affine1 has no")


def test_unknown_scenario_and_a_graph_are_errors():
    assert_user_error(run("explain", "no-such-scenario", "affine1.dW[0,0]"), "no-such-scenario")
    assert_user_error(run("explain", "apple", "a.b[0]"), "is a computational graph")


def test_bad_step_is_a_usage_error():
    result = run("explain", "xor", "affine1.dW[0,0]", "--step", "sideways")
    assert result.exit_code == 2 and "sideways" in result.output


def test_a_py_network_file_with_a_book_layer(tmp_path):
    (tmp_path / "mine.py").write_text(textwrap.dedent('''
        import numpy as np
        import backprop_tui as bt

        class Affine:  # the book's way
            def __init__(self, W, b):
                self.W, self.b = W, b
            def forward(self, x):
                self.x = x
                return x @ self.W + self.b
            def backward(self, dout):
                self.dW = self.x.T @ dout / 2   # a mistake
                self.db = dout.sum(axis=0)
                return dout @ self.W.T

        rng = np.random.default_rng(0)
        x, t = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
        net = bt.Network([bt.from_book(Affine(rng.normal(size=(3, 2)), np.zeros(2)), "fc")],
                         bt.SoftmaxCrossEntropy())
    '''))
    result = run("explain", str(tmp_path / "mine.py"), "fc.dW[2,1]")
    assert result.exit_code == 0, result.output
    assert "no formula: fc (Affine) is your own code" in result.stdout
    assert "MISMATCH: your backward's dW[2,1]" in result.stdout
    doc = json.loads(run("explain", str(tmp_path / "mine.py"), "fc.dW[2,1]", "--json").stdout)
    assert np.isclose(doc["numeric"], 2 * doc["value"], rtol=1e-6)
