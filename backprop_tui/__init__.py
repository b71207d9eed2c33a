"""backprop-tui: a terminal step-through debugger for backpropagation.

The public Python API::

    import backprop_tui as bt
    sc = bt.load_scenario("xor")                 # built-in name or path to a .toml
    net = sc.build_network(seed=0, dtype="float64")
    x_train, y_train, x_test, y_test = sc.load_data()
    loss = net.loss(x_train, y_train)            # forward through every layer + loss (+ L2)
    dx = net.backward()                          # fills every layer.grads
    report = bt.gradcheck(net, x_train, y_train) # per layer / tensor, analytic vs numeric

Computational graphs (chapter 5's shopping graph, micrograd's ``Value``)::

    a, b = bt.var(2.0, "a"), bt.var(-3.0, "b")
    o = (a * b + 10).tanh()                      # computed as it is built: o.value
    bt.gradcheck(o)                              # node by node; bt.debug(o) steps through it

Your own layers: subclass :class:`Layer`, build a :class:`Network` from them and the built-in
layers and losses, check it with :func:`gradcheck` and step through it with :func:`debug`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .blas import threads_for
from .engine import (
    SGD,
    AdaGrad,
    Adam,
    Affine,
    Batches,
    BatchNorm,
    Conv2D,
    Dropout,
    Entry,
    ExplainError,
    Explanation,
    Flatten,
    Graph,
    Layer,
    LayerError,
    MaxPool2D,
    MeanSquaredError,
    Momentum,
    Network,
    Node,
    ReLU,
    Sigmoid,
    SigmoidBCE,
    SoftmaxCrossEntropy,
    Stepper,
    Tanh,
    from_book,
    from_functions,
    var,
)
from .engine import gradcheck as _gradcheck
from .engine import gradcheck_function as _gradcheck_function
from .engine.explain import explain
from .errors import CheckpointError, DataError, ScenarioError, UserError
from .scenario import Scenario, list_scenarios, load_scenario

# the checks of the public API run on the check's BLAS threads, as the command's do (blas.py);
# the caller's own thread count is back when they return
gradcheck = threads_for("gradcheck")(_gradcheck)
gradcheck_function = threads_for("gradcheck")(_gradcheck_function)

if TYPE_CHECKING:
    from .engine.optim import Optimizer

__version__ = "0.1.0"


def debug(
    net: Network | Any,
    x: np.ndarray | None = None,
    t: np.ndarray | None = None,
    *,
    optimizer: Optimizer | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    name: str = "your network",
    theme: str = "dark",
) -> None:
    """Open the step-through debugger on ``net`` with the data ``x`` (one sample per row) and
    targets ``t``; returns when you quit (``q``).

    For a network of your own layers: every pane works as on a built-in scenario — the
    values your forward cached, your gradients, and the gradient check of each layer (``g``)
    against centered differences. If your layer raises, the debugger says which layer, which
    step and which line, and keeps running. Batches of ``batch_size`` (default: all of
    ``x``, at most 32) are drawn with ``seed``; ``optimizer`` defaults to ``SGD(lr=0.1)``.
    Needs a terminal (run it from a script, not from inside a notebook cell).
    """
    from .tui.app import DARK, LIGHT, run_debugger, run_graph_debugger
    from .tui.session import DebugSession

    colours = LIGHT if theme == "light" else DARK
    if isinstance(net, Node | Graph):  # a computational graph: stepped node by node
        name = "your graph" if name == "your network" else name
        graph = net if isinstance(net, Graph) else Graph(net, name=name)
        run_graph_debugger(name, graph, theme=colours)
        return
    if x is None or t is None:
        raise TypeError("bt.debug(net, x, t) needs the data x and the targets t (only a graph "
                        "node, bt.debug(o), is stepped without them)")
    session = DebugSession.for_network(net, x, t, optimizer=optimizer, batch_size=batch_size,
                                       seed=seed, name=name)
    run_debugger(session, theme=colours)


__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "Affine",
    "BatchNorm",
    "Batches",
    "CheckpointError",
    "Conv2D",
    "DataError",
    "Dropout",
    "Entry",
    "ExplainError",
    "Explanation",
    "Flatten",
    "Graph",
    "Layer",
    "LayerError",
    "MaxPool2D",
    "MeanSquaredError",
    "Momentum",
    "Network",
    "Node",
    "ReLU",
    "Scenario",
    "ScenarioError",
    "Sigmoid",
    "SigmoidBCE",
    "SoftmaxCrossEntropy",
    "Stepper",
    "Tanh",
    "UserError",
    "__version__",
    "debug",
    "explain",
    "from_book",
    "from_functions",
    "gradcheck",
    "gradcheck_function",
    "list_scenarios",
    "load_scenario",
    "var",
]
