"""What a scenario's ``[data]`` section says: the source, its normalisation and layout, and the
facts that follow from it (per-sample input shape, number of classes, class names).

Both the scenario reader (which validates the section into a :class:`DataSpec`) and the data
loaders (which turn one into arrays) import this module; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

GATES = ("and", "or", "nand", "not", "xor")
SOURCES = (*GATES, "iris", "mnist")
NORMALIZE = ("none", "standard", "scale")
LAYOUTS = ("flat", "image")

#: classes per data source (the labels are class indices 0…k−1)
N_CLASSES = {**dict.fromkeys(GATES, 2), "iris": 3, "mnist": 10}


@dataclass(frozen=True)
class DataSpec:
    source: str
    normalize: str = "none"
    layout: str = "flat"
    test_fraction: float = 0.2
    split_seed: int = 0
    train_size: int | None = None
    test_size: int | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample shape of the network's input."""
        if self.source == "not":
            return (1,)
        if self.source in GATES:
            return (2,)
        if self.source == "iris":
            return (4,)
        return (784,) if self.layout == "flat" else (1, 28, 28)

    @property
    def label(self) -> str:
        """``XOR truth table``, ``iris (150)``, ``MNIST (60k/10k)``."""
        if self.source in GATES:
            return f"{self.source.upper()} truth table"
        return {"iris": "iris (150)", "mnist": "MNIST (60k/10k)"}[self.source]

    def class_names(self) -> tuple[str, ...]:
        if self.source == "iris":
            return ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
        if self.source == "mnist":
            return tuple(str(d) for d in range(10))
        return ("0", "1")
