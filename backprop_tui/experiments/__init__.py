"""Chapter 6's experiments (Deep Learning from Scratch): multi-run scenarios built from the
engine's own layers, optimizers and trainer. UI-free (numpy, the engine, training)."""

from __future__ import annotations

from .result import Curve, ExperimentResult, Histogram, RunResult

__all__ = ["Curve", "ExperimentResult", "Histogram", "RunResult"]
