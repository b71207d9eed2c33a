"""What a scenario's ``[data]`` section says: the source, its normalisation and layout, and the
facts that follow from it (per-sample input shape, number of classes, class names).

Both the scenario reader (which validates the section into a :class:`DataSpec`) and the data
loaders (which turn one into arrays) import this module; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

GATES = ("and", "or", "nand", "not", "xor")
#: the datasets of images read from files (uint8 pixels; train_size/test_size and layout apply)
IMAGE_SOURCES = ("mnist", "cifar10")
SOURCES = (*GATES, "iris", *IMAGE_SOURCES)
NORMALIZE = ("none", "standard", "scale")
LAYOUTS = ("flat", "image")

#: classes per data source (the labels are class indices 0…k−1)
N_CLASSES = {**dict.fromkeys(GATES, 2), "iris": 3, "mnist": 10, "cifar10": 10}
#: CIFAR-10's label names, in label order (the files' batches.meta)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


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
        image = self.image_shape
        assert image is not None
        return (image[0] * image[1] * image[2],) if self.layout == "flat" else image

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(channels, height, width) of one picture of an image dataset, whatever the layout
        the network takes it in (CIFAR-10's flat 3072-vectors are 3×32×32 in the files'
        channel-major order); None for data that is not pictures."""
        return {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}.get(self.source)

    @property
    def label(self) -> str:
        """``XOR truth table``, ``iris (150)``, ``MNIST (60k/10k)``, ``CIFAR-10 (5,000/500)``."""
        if self.source in GATES:
            return f"{self.source.upper()} truth table"
        if self.source == "cifar10":
            return f"CIFAR-10 ({_count(self.train_size, 50_000)}/{_count(self.test_size, 10_000)})"
        return {"iris": "iris (150)", "mnist": "MNIST (60k/10k)"}[self.source]

    def class_names(self) -> tuple[str, ...]:
        if self.source == "iris":
            return ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
        if self.source == "mnist":
            return tuple(str(d) for d in range(10))
        if self.source == "cifar10":
            return CIFAR10_CLASSES
        return ("0", "1")


def _count(n: int | None, whole: int) -> str:
    """``5,000``; the whole split (no size given) in thousands, as for MNIST: ``50k``."""
    return f"{whole // 1000}k" if n is None else f"{n:,}"
