"""backprop-tui: a terminal step-through debugger for backpropagation.

The public Python API::

    import backprop_tui as bt
    sc = bt.load_scenario("xor")                 # built-in name or path to a .toml
    net = sc.build_network(seed=0, dtype="float64")
    x_train, y_train, x_test, y_test = sc.load_data()
    loss = net.loss(x_train, y_train)            # forward through every layer + loss (+ L2)
    dx = net.backward()                          # fills every layer.grads
    report = bt.gradcheck(net, x_train, y_train) # per layer / tensor, analytic vs numeric
"""

from __future__ import annotations

from .engine import Batches, Network, Stepper, gradcheck
from .errors import CheckpointError, DataError, ScenarioError, UserError
from .scenario import Scenario, list_scenarios, load_scenario

__version__ = "0.1.0"

__all__ = [
    "Batches",
    "Stepper",
    "CheckpointError",
    "DataError",
    "Network",
    "Scenario",
    "ScenarioError",
    "UserError",
    "__version__",
    "gradcheck",
    "list_scenarios",
    "load_scenario",
]
