"""Issue 3's MNIST accuracy targets, as tests: the built-in scenarios with their own settings.

Marked slow (about 3 minutes in all, most of it the CNN): `pytest -m "not slow"` skips them; the
README's test command and CI run them. The numbers are deterministic for a given BLAS thread count
(float32 summation order), and every target is met with a margin (README, "Measured").
"""

from __future__ import annotations

import pytest

from backprop_tui.scenario import load_scenario
from backprop_tui.training import Trainer

TARGETS = {"mnist-twolayer": 0.975, "mnist-mlp": 0.982, "mnist-cnn": 0.990}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_mnist_scenarios_reach_their_targets(name: str) -> None:
    trainer = Trainer(load_scenario(name))
    result = trainer.run()
    assert result.status == "completed"
    last = result.history[-1]
    assert last.test_accuracy >= TARGETS[name], (
        f"{name}: {100 * last.test_accuracy:.2f}% after {last.epoch} epochs, "
        f"target {100 * TARGETS[name]:.1f}%")
