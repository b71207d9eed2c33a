"""What the command line promises a script (issue 13, item 10): an empty test set is refused,
``--json`` output is always valid JSON (``null`` where a number is undefined), and
``--min-accuracy`` is not met by an accuracy that is undefined or was never measured."""

from __future__ import annotations

import ast
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_cli_train import assert_ok, assert_refused, cli

from backprop_tui import training
from backprop_tui.errors import DataError
from backprop_tui.formatting import json_text
from backprop_tui.resources import assets_dir
from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer

ROOT = Path(__file__).resolve().parent.parent


def strict_json(text: str):
    """json.loads that refuses NaN and ±Infinity, which Python writes but JSON has not."""
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------------------------------------
# an empty test set
# ---------------------------------------------------------------------------------------------
def _idx(path: Path, magic: int, shape: tuple[int, ...]) -> None:
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    path.write_bytes(header)  # no items: n = 0


@pytest.fixture
def empty_test_set(tmp_path: Path) -> Path:
    """An MNIST folder whose t10k files are well-formed IDX files of no images."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).symlink_to(assets_dir() / "mnist" / name)
    _idx(folder / "t10k-images-idx3-ubyte", 0x803, (0, 28, 28))
    _idx(folder / "t10k-labels-idx1-ubyte", 0x801, (0,))
    return folder


def test_an_empty_mnist_test_set_is_refused(empty_test_set: Path, tmp_path: Path) -> None:
    images = empty_test_set / "t10k-images-idx3-ubyte"
    assert_refused(cli("train", "mnist-mlp", "--headless", "--data-dir", empty_test_set,
                       "--out", tmp_path / "run", "--min-accuracy", 0.99),
                   str(images), "no images", "test set")
    assert not (tmp_path / "run").exists()
    result = cli("eval", "mnist-mlp", "--checkpoint", tmp_path, "--data-dir", empty_test_set,
                 "--json")
    assert result.exit_code == 2
    assert strict_json(result.stdout)["passed"] is False


def test_a_trainer_refuses_an_empty_test_set() -> None:
    sc = load_scenario("xor")
    x, t, _, _ = sc.load_data()
    with pytest.raises(DataError, match="test set is empty"):
        Trainer(sc, data=(x, t, x[:0], t[:0]))


# ---------------------------------------------------------------------------------------------
# --json: always JSON
# ---------------------------------------------------------------------------------------------
def test_json_text_writes_null_for_undefined_numbers() -> None:
    doc = {"loss": float("nan"), "acc": np.float32("nan"), "big": np.inf, "small": -math.inf,
           "rows": np.array([[1.0, np.nan]]), "n": np.int64(3), "ok": 0.5, "t": (1, np.nan)}
    assert strict_json(json_text(doc)) == {"loss": None, "acc": None, "big": None,
                                           "small": None, "rows": [[1.0, None]], "n": 3,
                                           "ok": 0.5, "t": [1, None]}


NAN_DATA = textwrap.dedent("""\
    import numpy as np
    import backprop_tui as bt

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 2))
    x[0, 0] = np.nan
    t = (x[:, 1] > 0).astype(np.int64)
    net = bt.Network([bt.Affine(rng.normal(size=(2, 3)), np.zeros(3), name="fc1"),
                      bt.ReLU(name="relu1"),
                      bt.Affine(rng.normal(size=(3, 2)), np.zeros(2), name="fc2")],
                     bt.SoftmaxCrossEntropy())
""")

#: three classes, but the test set has none of class 1: its accuracy is undefined
MISSING_CLASS = textwrap.dedent("""\
    import numpy as np
    import backprop_tui as bt

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    t = np.arange(30) % 3
    x_test = rng.normal(size=(6, 2))
    t_test = np.array([0, 2, 0, 2, 0, 2])
    net = bt.Network([bt.Affine(rng.normal(size=(2, 3)), np.zeros(3), name="fc1")],
                     bt.SoftmaxCrossEntropy())
""")


def test_gradcheck_json_of_nan_data_is_valid_json(tmp_path: Path) -> None:
    """NaN data is refused (the data, not the layers, is at fault): a JSON error document."""
    net = tmp_path / "nan_data.py"
    net.write_text(NAN_DATA)
    result = cli("gradcheck", net, "--json")
    assert result.exit_code == 2, result.output
    doc = strict_json(result.stdout)
    assert doc["passed"] is False and doc["error"]["kind"] == "DataError"


def test_gradcheck_json_of_a_nan_loss_is_valid_json(tmp_path: Path) -> None:
    """Finite data, but a layer of the user's own makes NaN of it (a square root of negative
    numbers): the loss is undefined, null in the JSON, never a bare NaN."""
    net = tmp_path / "nan_layer.py"
    net.write_text(NAN_DATA.replace("x[0, 0] = np.nan\n", "") + textwrap.dedent("""\
        class Root(bt.Layer):
            kind = "Root"

            def forward(self, x):
                return np.sqrt(x)

            def backward(self, dout, need_dx=True):
                return dout

        net = bt.Network([Root(name="root"), *net.layers], bt.SoftmaxCrossEntropy())
    """))
    result = cli("gradcheck", net, "--json")
    assert result.exit_code in (0, 1), result.output
    doc = strict_json(result.stdout)
    assert doc["loss"] is None  # the loss of NaN is undefined


def test_eval_json_of_a_class_without_test_samples_is_valid_json(tmp_path: Path) -> None:
    net = tmp_path / "three.py"
    net.write_text(MISSING_CLASS)
    assert_ok(cli("train", net, "--headless", "--epochs", 2, "--out", tmp_path / "run"))
    result = cli("eval", net, "--checkpoint", tmp_path / "run", "--json")
    assert_ok(result)
    doc = strict_json(result.stdout)
    assert doc["per_class_accuracy"]["1"] is None
    assert doc["per_class_accuracy"]["0"] is not None


def test_every_json_output_of_the_cli_goes_through_json_text() -> None:
    """No ``json.dumps`` in the command's module: each --json path prints json_text(...), the
    one writer that cannot let NaN out."""
    tree = ast.parse((ROOT / "backprop_tui" / "cli.py").read_text())
    dumps = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute)
             and node.attr in ("dumps", "dump") and getattr(node.value, "id", "") == "json"]
    assert dumps == []


# ---------------------------------------------------------------------------------------------
# --min-accuracy
# ---------------------------------------------------------------------------------------------
def test_an_undefined_accuracy_misses_any_target(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: (math.nan, math.nan))
    result = cli("train", "xor", "--headless", "--epochs", 2, "--out", tmp_path / "run",
                 "--min-accuracy", 0.5)
    assert result.exit_code == 1, result.output
    assert "below target" in result.stderr and "undefined" in result.stderr


def test_no_epoch_trained_misses_any_target(tmp_path: Path) -> None:
    result = cli("train", "xor", "--headless", "--epochs", 0, "--out", tmp_path / "run",
                 "--min-accuracy", 0.5)
    assert result.exit_code == 1, result.output
    assert "no epoch was trained" in result.stderr


def test_a_reached_target_still_passes(tmp_path: Path) -> None:
    assert_ok(cli("train", "xor", "--headless", "--epochs", 2, "--out", tmp_path / "run",
                  "--min-accuracy", 0.0))
