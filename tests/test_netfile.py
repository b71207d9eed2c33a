"""A network of your own in a Python file, on the command line: ``backprop-tui gradcheck
my_net.py`` (a CI audit of your layers: exit 0 / 1 / 2) and ``backprop-tui debug my_net.py``.
The file may be the README's example as it is (it calls ``bt.debug``) or define net, x, t."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import backprop_tui as bt
from backprop_tui.cli import app
from backprop_tui.errors import ScenarioError
from backprop_tui.netfile import load_network_file

ROOT = Path(__file__).resolve().parent.parent
ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def run(*args: str):
    result = CliRunner().invoke(app, list(args), env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("<!-- test: own layer -->", 1)[1].split("```python", 1)[1] \
        .split("```", 1)[0]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    code = readme_example()
    (tmp_path / "example.py").write_text(code)
    (tmp_path / "fixed.py").write_text(code.replace("x.T @ dout / len(x)", "x.T @ dout"))
    # a layer module next to the file, imported by it; net, x, t at module level
    (tmp_path / "mylayers.py").write_text(textwrap.dedent('''
        import backprop_tui as bt

        class Double(bt.Layer):
            kind = "Double"

            def forward(self, x):
                return 2.0 * x

            def backward(self, dout, need_dx=True):
                return 2.0 * dout
    '''))
    (tmp_path / "module_level.py").write_text(textwrap.dedent('''
        import numpy as np
        import backprop_tui as bt
        from mylayers import Double

        rng = np.random.default_rng(0)
        x = rng.normal(size=(30, 3)).astype(np.float32)
        t = rng.integers(0, 2, 30)
        net = bt.Network([Double(name="double"),
                          bt.Affine(rng.normal(size=(3, 2)), np.zeros(2))],
                         bt.SoftmaxCrossEntropy(), dtype="float32")
        print("this line must not reach the command's output")

        if __name__ == "__main__":
            raise SystemExit("not run by backprop-tui")
    '''))
    return tmp_path


def test_gradcheck_of_the_readme_example_fails_on_its_layer(files, monkeypatch) -> None:
    monkeypatch.chdir(files)
    result = run("gradcheck", "example.py", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # the file's own prints did not get in the way
    assert doc["scenario"] == "example.py" and not doc["passed"]
    assert {(c["layer"], c["tensor"]) for c in doc["checks"] if not c["passed"]} == {
        ("mine", "W"), ("network", "all parameters")}
    assert run("gradcheck", "fixed.py").exit_code == 0
    assert bt.debug.__module__ == "backprop_tui"  # the capture during the run was undone


def test_module_level_net_with_its_own_layer_module(files) -> None:
    result = run("gradcheck", str(files / "module_level.py"))
    assert result.exit_code == 0, result.output
    assert "double" in result.stdout and "module_level.py" in result.stdout
    assert "must not reach" not in result.output
    nf = load_network_file(files / "module_level.py")
    assert nf.name == "module_level.py" and nf.options == {} and len(nf.x) == 30


@pytest.mark.parametrize(("code", "words"), [
    ("import numpy as np\nnet = undefined_name\n",
     ["bad.py: running it raised NameError at bad.py:2 in <module>"]),
    ("a = 1\n", ["bad.py: defines nothing to check", "bt.debug(net, x, t)"]),
    ("net = 3\nx = [[1.0]]\nt = [0]\n",
     ["net: is not a network the tool can take (got 'int')", "lastLayer"]),
    ("import backprop_tui as bt\nnet = bt.Network([], bt.SoftmaxCrossEntropy())\n",
     ["x, t not given (module level)"]),
    ("import sys\nsys.exit(3)\n", ["the file exited (SystemExit 3)"]),
])
def test_a_file_that_gives_no_usable_network_is_one_clear_error(tmp_path, code, words) -> None:
    (tmp_path / "bad.py").write_text(code)
    for command in ("gradcheck", "debug"):
        result = run(command, str(tmp_path / "bad.py"))
        assert result.exit_code == 2 and "Traceback" not in result.output
        for w in words:
            assert w in result.stderr, result.stderr


def test_no_such_file_and_a_py_file_where_a_scenario_is_needed(files) -> None:
    result = run("gradcheck", str(files / "nope.py"))
    assert result.exit_code == 2 and "no such Python file" in result.stderr
    for args in (["train", str(files / "nope.py"), "--headless"],
                 ["eval", str(files / "nope.py"), "--checkpoint", "x.npz"]):
        result = run(*args)  # train and eval take a .py network (tests/test_train_own.py)
        assert result.exit_code == 2 and "no such Python file" in result.stderr
    with pytest.raises(ScenarioError, match="is a Python network file, not a scenario"):
        bt.load_scenario(files / "example.py")
    with pytest.raises(ScenarioError, match="no such Python file"):
        load_network_file(files / "missing.py")


def test_debug_opens_the_files_network_with_its_options(files, monkeypatch) -> None:
    import backprop_tui.tui.app as tui_app

    opened = []
    monkeypatch.setattr(tui_app, "run_debugger", lambda session, theme: opened.append(session))
    assert run("debug", str(files / "example.py")).exit_code == 0
    s = opened[-1]
    assert s.name == "example.py" and s.batch_size == 16  # from the file's bt.debug call
    assert [layer.name for layer in s.net.layers] == ["mine", "relu", "affine"]
    assert run("debug", str(files / "example.py"), "--batch-size", "4",
               "--seed", "2").exit_code == 0
    assert (opened[-1].batch_size, opened[-1].seed) == (4, 2)
    assert run("debug", str(files / "module_level.py")).exit_code == 0
    assert opened[-1].net.dtype == "float64"  # built in float32, stepped in float64
    result = run("debug", str(files / "example.py"), "--checkpoint", "run")
    assert result.exit_code == 2 and "--checkpoint" in result.stderr


BOOK_FILE = '''
import numpy as np
from book_style import SimpleConvNet, TwoLayerNet, {extra}

np.random.seed(0)
{body}
'''


def _book_file(tmp_path: Path, body: str, extra: str = "Affine") -> Path:
    (tmp_path / "book_style.py").write_text(
        (ROOT / "tests" / "own_code" / "book_style.py").read_text())
    path = tmp_path / "book_net.py"
    path.write_text(BOOK_FILE.format(body=textwrap.dedent(body), extra=extra))
    return path


def test_gradcheck_of_a_book_network_in_a_file(tmp_path) -> None:
    path = _book_file(tmp_path, '''
        net = TwoLayerNet(4, 6, 3, weight_init_std=0.5)
        x = np.random.randn(20, 4)
        t = np.random.randint(0, 3, 20)
    ''')
    result = run("gradcheck", str(path))
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output and "Relu1" in result.output
    assert "loss x: forward takes log(p + ε) with ε ≈ 1e-07" in " ".join(result.output.split())


def test_a_book_layer_that_raises_is_one_message_with_its_line(tmp_path) -> None:
    path = _book_file(tmp_path, '''
        net = SimpleConvNet()
        a = net.layers["Affine1"]
        net.layers["Affine1"] = AffineNoFlatten(a.W, a.b)
        x = np.random.randn(6, 1, 10, 10)
        t = np.random.randint(0, 4, 6)
    ''', extra="AffineNoFlatten")
    result = run("gradcheck", str(path))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert text.startswith("FAILED: the forward step of layer 'Affine1' (AffineNoFlatten) "
                           "raised ValueError at book_style.py:")
    assert "Traceback" not in result.output and len(result.output.splitlines()) <= 3
    result = run("gradcheck", str(path), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["passed"] is False and doc["checks"] == []
    assert doc["error"]["layer"] == "Affine1" and doc["error"]["phase"] == "forward"
    assert doc["error"]["where"].startswith("book_style.py:")


CS231N_FILE = '''
import numpy as np
import backprop_tui as bt
from cs231n_style import TwoLayerNet, TwoLayerNetNoRegGrad, softmax_loss

np.random.seed(0)
X = np.random.randn(30, 5)
y = np.random.randint(0, 3, 30)
{body}
'''


def _cs231n_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "cs231n_style.py").write_text(
        (ROOT / "tests" / "own_code" / "cs231n_style.py").read_text())
    path = tmp_path / "model.py"
    path.write_text(CS231N_FILE.format(body=textwrap.dedent(body)))
    return path


@pytest.mark.parametrize(("body", "code", "words"), [
    ("model = TwoLayerNet(reg=0.1)\nx, t = X, y\n", 0, ["PASSED: 4 parameters agree"]),
    ("bt.gradcheck(TwoLayerNetNoRegGrad(reg=0.5), X, y)\n", 1,
     ["FAILED: 2 of 4 tensors disagree, in W1, W2"]),
    ('''
     W, b = np.random.randn(5, 3), np.zeros(3)

     def f(params):
         loss, d = softmax_loss(X @ params["W"] + params["b"], y)
         return loss, {"W": X.T @ d, "b": d.sum(axis=0)}

     bt.gradcheck_function(f, {"W": W, "b": b})
     ''', 0, ["PASSED: 2 parameters agree", "parameter by parameter"]),
], ids=["model at module level", "bt.gradcheck(model) call", "bt.gradcheck_function call"])
def test_gradcheck_of_a_model_or_function_in_a_file(tmp_path, body, code, words) -> None:
    path = _cs231n_file(tmp_path, body)
    result = run("gradcheck", str(path))
    assert result.exit_code == code, result.output
    text = " ".join(result.output.split())
    for w in words:
        assert w in text
    doc = json.loads(run("gradcheck", str(path), "--json").stdout)
    assert doc["scope"] == "params" and doc["passed"] is (code == 0)


def test_a_model_file_cannot_be_stepped_and_says_what_to_do(tmp_path) -> None:
    path = _cs231n_file(tmp_path, "model = TwoLayerNet()\nx, t = X, y\n")
    result = run("debug", str(path))
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "holds a cs231n-style model, which has no layers to step through" in text
    assert "bt.from_functions" in text


def test_a_float32_model_is_refused_with_the_parameter_named(tmp_path) -> None:
    path = _cs231n_file(tmp_path, "model = TwoLayerNet()\nmodel.params['W1'] = "
                                  "model.params['W1'].astype(np.float32)\nx, t = X, y\n")
    result = run("gradcheck", str(path))
    assert result.exit_code == 2
    assert "params['W1']: the gradient check needs float64 parameters (got 'float32')" in \
        " ".join(result.output.split())


def test_json_gets_json_for_a_usage_error_too(tmp_path) -> None:
    """A CI job that parses stdout as JSON gets an error object, not an empty string; the
    one-line message still goes to stderr, and the exit code is still 2."""
    path = tmp_path / "nothing.py"
    path.write_text("a = 1\n")
    result = CliRunner().invoke(app, ["gradcheck", str(path), "--json"], env=ENV)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["passed"] is False and doc["error"]["kind"] == "ScenarioError"
    assert "defines nothing to check" in doc["error"]["message"]
