"""Data that no layer is to blame for (issue 13, item 3): NaN in a user's inputs is said to be
the data's (not "these layers' backward is wrong"), and labels outside [0, classes) are refused
wherever labels enter — a −1 was silently the last class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_user_error, run

import backprop_tui as bt
from backprop_tui.data import loaders
from backprop_tui.engine.datacheck import BadData, check_finite, check_labels
from backprop_tui.errors import DataError, UsageError
from backprop_tui.scenario import load_scenario
from backprop_tui.tui.session import DebugSession

NET = """\
import numpy as np
import backprop_tui as bt
rng = np.random.default_rng(0)
x = rng.normal(size=(8, 4))
t = rng.integers(0, 3, size=8)
{change}
net = bt.Network([bt.Affine(rng.normal(size=(4, 5)), np.zeros(5), "fc1"), bt.ReLU("relu1"),
                  bt.Affine(rng.normal(size=(5, 3)), np.zeros(3), "fc2")],
                 bt.SoftmaxCrossEntropy())
{call}
"""


def net_file(tmp_path: Path, change: str, call: str = "") -> Path:
    path = tmp_path / "mine.py"
    path.write_text(NET.format(change=change, call=call))
    return path


def small_net() -> tuple[bt.Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    net = bt.Network([bt.Affine(rng.normal(size=(4, 3)), np.zeros(3), "fc")],
                     bt.SoftmaxCrossEntropy())
    return net, rng.normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("call", ["", "bt.gradcheck(net, x, t)"], ids=["defines", "calls"])
def test_nan_in_a_networks_inputs_is_the_datas_fault_not_every_layers(tmp_path: Path,
                                                                      call: str) -> None:
    path = net_file(tmp_path, "x[2, 1] = np.nan; x[5, 3] = np.inf", call)
    line = assert_user_error(run("gradcheck", str(path)), str(path), "the data x holds",
                             "1 NaN and 1 ±inf", "x[2, 1]")
    assert "backward" not in line.split("whatever")[0]  # not blamed on a layer


@pytest.mark.parametrize("call", ["", "bt.gradcheck(net, x, t)"], ids=["defines", "calls"])
def test_a_label_of_minus_one_is_refused_not_taken_for_the_last_class(tmp_path: Path,
                                                                      call: str) -> None:
    path = net_file(tmp_path, "t[4] = -1", call)
    assert_user_error(run("gradcheck", str(path)), str(path), "t[4] = -1",
                      "whole numbers 0…2", "class counted from the end")


def test_a_label_as_large_as_the_number_of_classes_is_refused(tmp_path: Path) -> None:
    path = net_file(tmp_path, "t[1] = 3")
    assert_user_error(run("gradcheck", str(path)), "t[1] = 3", "3 class scores per sample")


def test_training_a_network_file_with_a_negative_label_is_refused_before_it_starts(
        tmp_path: Path) -> None:
    path = net_file(tmp_path, "t[0] = -1")
    out = tmp_path / "run"
    assert_user_error(run("train", str(path), "--headless", "--out", str(out)), "t[0] = -1")
    assert not out.exists()


def test_a_test_set_with_nan_is_refused(tmp_path: Path) -> None:
    path = net_file(tmp_path, "x_test = x.copy(); x_test[0, 0] = np.nan; t_test = t")
    assert_user_error(run("train", str(path), "--headless", "--out", str(tmp_path / "r")),
                      "x_test holds 1 NaN", "x_test[0, 0]")


def test_bt_gradcheck_says_what_is_wrong_with_the_data() -> None:
    net, x, t = small_net()
    x[3, 2] = np.nan
    with pytest.raises(BadData, match=r"x holds 1 NaN of its 24 entries \(the first at x\[3, 2\]"):
        bt.gradcheck(net, x, t)
    x[3, 2] = 0.0
    t[5] = -2
    with pytest.raises(BadData, match=r"t\[5\] = -2"):
        bt.gradcheck(net, x, t)


def test_a_cs231n_model_with_nan_inputs_is_refused() -> None:
    class Model:
        params = {"W": np.ones((4, 3))}

        def loss(self, x, y):  # pragma: no cover - refused before it is called
            raise AssertionError("called")

    x = np.ones((2, 4))
    x[1, 1] = np.nan
    with pytest.raises(BadData, match=r"x\[1, 1\]"):
        bt.gradcheck(Model(), x, np.array([0, 1]))


@pytest.mark.parametrize(("x_change", "t_change", "match"), [
    ((0, 0, np.nan), None, "x holds 1 NaN"),
    (None, (2, -1), r"t\[2\] = -1"),
    (None, (2, 7), r"t\[2\] = 7"),
])
def test_bt_debug_refuses_such_data_before_the_debugger_opens(x_change, t_change,
                                                              match: str) -> None:
    net, x, t = small_net()
    if x_change:
        x[x_change[0], x_change[1]] = x_change[2]
    if t_change:
        t[t_change[0]] = t_change[1]
    with pytest.raises(UsageError, match=match):
        DebugSession.for_network(net, x, t)


def test_the_losses_refuse_labels_that_index_no_class() -> None:
    scores = np.zeros((3, 4))
    for loss in (bt.SoftmaxCrossEntropy(), bt.MeanSquaredError()):
        with pytest.raises(BadData, match=r"t\[1\] = -1"):
            loss.forward(scores, np.array([0, -1, 3]))
        with pytest.raises(BadData, match=r"t\[2\] = 4"):
            loss.forward(scores, np.array([0, 1, 4]))
    # one-hot rows and regression targets are not labels: left as they are
    assert bt.SoftmaxCrossEntropy().forward(scores, np.eye(4)[:3]) > 0
    assert bt.MeanSquaredError().forward(np.zeros((3, 1)), np.array([-1.0, 0.5, 2.0])) > 0


def test_the_scenario_loaders_refuse_labels_outside_the_classes(monkeypatch) -> None:
    x = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    monkeypatch.setattr(loaders, "gate_data", lambda source: (x, np.array([0, 1, -1, 0])))
    with pytest.raises(DataError, match=r"XOR truth table: t_train holds 1 label.*t_train\[2\] "
                                        r"= -1.*2 class scores"):
        load_scenario("xor").load_data()


def test_the_checks_let_good_data_through_untouched() -> None:
    check_finite(np.arange(5), "x")  # integers hold no NaN
    check_finite(np.ones((2, 2)), "x")
    assert check_labels(np.array([0.0, 2.0]), 3).tolist() == [0, 2]  # float labels from a CSV
    assert check_labels(np.eye(3), 3) is None  # one-hot rows
    assert check_labels(np.array([0.5, -1.0]), 1) is None  # one output: targets, not labels
    with pytest.raises(BadData, match="whole numbers"):
        check_labels(np.array([0.0, 1.5]), 3)
