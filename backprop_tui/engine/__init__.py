"""The numpy engine: layers, losses, network, optimizers, gradient checks, the stepper.

Imports numpy only — never rich, textual or typer. Importing it registers every built-in layer
type (``engine/registry.py``): a new layer module is imported here.
"""

# the explain rules of the pieces register on import; the function itself is imported from
# engine.explain (a name `explain` here would hide the module of that name)
from . import (  # noqa: F401
    explain_conv,
    explain_layers,
    explain_losses,
    explain_numeric,
    explain_update,
)
from .batches import Batches
from .book import BookLayer, BookLoss, from_book
from .checks import GradcheckReport, TensorCheck
from .conditions import Condition, DeadReLU, GradcheckFails, GradNorm, NonFinite
from .contract import LayerError
from .conv import Conv2D, MaxPool2D, col2im, im2col
from .explain import Entry, ExplainError, Explanation, Grid
from .functions import from_functions
from .gradcheck import gradcheck
from .graph import Graph, GraphError, Node, var
from .graphcheck import gradcheck_graph
from .graphstep import GraphWalk
from .layers import (
    Affine,
    BatchNorm,
    Dropout,
    Flatten,
    Layer,
    ReLU,
    ShapeError,
    Sigmoid,
    Step,
    Tanh,
)
from .losses import LOSSES, Loss, MeanSquaredError, SigmoidBCE, SoftmaxCrossEntropy
from .network import Network
from .optim import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, Optimizer
from .paramcheck import gradcheck_function
from .records import StepRecord, StopReason
from .registry import LAYER_TYPES, Option, register
from .stepper import Stepper

__all__ = [
    "LAYER_TYPES",
    "LOSSES",
    "OPTIMIZERS",
    "SGD",
    "AdaGrad",
    "Adam",
    "Affine",
    "Batches",
    "BookLayer",
    "BookLoss",
    "Condition",
    "DeadReLU",
    "Entry",
    "ExplainError",
    "Explanation",
    "Grid",
    "GradNorm",
    "Graph",
    "GraphError",
    "GraphWalk",
    "Node",
    "GradcheckFails",
    "LayerError",
    "NonFinite",
    "StepRecord",
    "Stepper",
    "StopReason",
    "BatchNorm",
    "Conv2D",
    "Dropout",
    "Flatten",
    "GradcheckReport",
    "Layer",
    "Loss",
    "MaxPool2D",
    "MeanSquaredError",
    "Momentum",
    "Network",
    "Optimizer",
    "Option",
    "ReLU",
    "ShapeError",
    "SigmoidBCE",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Step",
    "Tanh",
    "TensorCheck",
    "col2im",
    "from_book",
    "from_functions",
    "gradcheck",
    "gradcheck_function",
    "gradcheck_graph",
    "im2col",
    "register",
    "var",
]
