"""Every built-in network scenario without a conv layer (their rules: explain_conv.py; CIFAR-10
is not shipped): after one whole iteration in the debugger's session, the first and the last
entry of every tensor of every layer, of the loss and of the update is explained — terms that
sum to it, lines that fit 80 columns."""

from __future__ import annotations

import numpy as np
import pytest
from test_explain import assert_sums

import backprop_tui as bt
from backprop_tui.engine.explain import Context, explain
from backprop_tui.tui.session import DebugSession

NAMES = [sc.name for sc in bt.list_scenarios()
         if sc.data.source != "cifar10" and not any(spec.type == "conv" for spec in sc.layers)]


@pytest.mark.parametrize("name", NAMES)
def test_every_tensor_of_a_scenario_is_explained(name):
    session = DebugSession.from_scenario(bt.load_scenario(name))
    stepper, net = session.stepper, session.net
    for _ in range(stepper.steps_per_iteration):
        stepper.step()
    before = stepper.state_before_update()
    layers = [layer.name for layer in net.layers] + ["loss", "update"]
    explained = 0
    for layer in layers:
        tensors = Context(net, optimizer=session.optimizer, before=before).at(layer, "x").tensors()
        for tensor, a in tensors.items():
            if a is None or a.size == 0:
                continue
            for idx in {(0,) * a.ndim, tuple(d - 1 for d in a.shape)}:
                e = explain(net, layer, tensor, idx, optimizer=session.optimizer, before=before)
                assert_sums(e)
                assert e.value == float(np.asarray(a)[idx]), (layer, tensor, idx)
                text = e.text(80)
                assert all(len(line) <= 80 for line in text.splitlines()), text
                explained += 1
    assert explained > 10
