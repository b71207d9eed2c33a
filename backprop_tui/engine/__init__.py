"""The numpy engine: layers, losses, network, optimizers, gradient checks, the stepper.

Imports numpy only — never rich, textual or typer.
"""

from .batches import Batches
from .book import BookLayer, BookLoss, from_book
from .conv import Conv2D, MaxPool2D, col2im, im2col
from .gradcheck import GradcheckReport, TensorCheck, gradcheck
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
from .stepper import (
    Condition,
    DeadReLU,
    GradcheckFails,
    GradNorm,
    LayerError,
    NonFinite,
    Stepper,
    StepRecord,
    StopReason,
)

__all__ = [
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
    "GradNorm",
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
    "gradcheck",
    "im2col",
]
