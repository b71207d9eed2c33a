"""Fisher's iris data from a CSV file (the shipped ``assets/iris.csv`` or the user's own).

The file must have the header ``sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,
species`` and one row per flower. Problems in the file are reported as :class:`DataError` with the
file name and line number; nothing from the csv module or ``float()`` leaks out.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..resources import assets_dir

IRIS_FEATURES: tuple[str, ...] = (
    "sepal_length_cm",
    "sepal_width_cm",
    "petal_length_cm",
    "petal_width_cm",
)
IRIS_HEADER: tuple[str, ...] = (*IRIS_FEATURES, "species")


def default_iris_path() -> Path:
    """The shipped iris CSV."""
    return assets_dir() / "iris.csv"


def load_iris(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read the iris CSV: ``x`` float64 ``(N, 4)``, ``y`` int64 ``(N,)``, ``class_names``.

    Classes are numbered in order of first appearance in the file, so the shipped file gives
    ``("Iris-setosa", "Iris-versicolor", "Iris-virginica")`` → 0, 1, 2. Blank lines are skipped.
    Fresh, writable arrays on every call (the file is tiny; nothing is cached).
    """
    file = Path(path).expanduser() if path is not None else default_iris_path()
    expected_header = ",".join(IRIS_HEADER)
    try:
        with open(file, newline="", encoding="utf-8-sig") as f:
            rows = _numbered_rows(file, f)
    except FileNotFoundError:
        raise DataError(
            "iris CSV file not found",
            file=file,
            expected=f"a CSV file with the header {expected_header}",
        ) from None
    except UnicodeDecodeError as e:
        raise DataError("not a UTF-8 text file", file=file, value=str(e)) from None
    except OSError as e:
        raise DataError(f"cannot read the file ({e.strerror or e})", file=file) from None

    if not rows:
        raise DataError("the file is empty", file=file, expected=f"the header {expected_header}")
    header_line, header = rows[0]
    if tuple(cell.strip() for cell in header) != IRIS_HEADER:
        raise DataError(
            "unexpected header",
            file=file,
            key=f"line {header_line}",
            value=",".join(header),
            expected=expected_header,
        )
    if len(rows) == 1:
        raise DataError("no data rows after the header", file=file, expected="one row per flower")

    n = len(rows) - 1
    x = np.empty((n, len(IRIS_FEATURES)), dtype=np.float64)
    y = np.empty(n, dtype=np.int64)
    classes: dict[str, int] = {}
    for i, (line, row) in enumerate(rows[1:]):
        if len(row) != len(IRIS_HEADER):
            raise DataError(
                f"{len(row)} columns instead of {len(IRIS_HEADER)}",
                file=file,
                key=f"line {line}",
                value=",".join(row),
                expected=expected_header,
            )
        for j, column in enumerate(IRIS_FEATURES):
            cell = row[j].strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise DataError(
                    "not a finite number",
                    file=file,
                    key=f"line {line}, column {column}",
                    value=row[j],
                    expected="a decimal number such as 5.1",
                )
            x[i, j] = value
        species = row[-1].strip()
        if not species:
            raise DataError(
                "empty species",
                file=file,
                key=f"line {line}, column species",
                expected="a class name such as Iris-setosa",
            )
        y[i] = classes.setdefault(species, len(classes))
    return x, y, tuple(classes)


def _numbered_rows(file: Path, f: Iterable[str]) -> list[tuple[int, list[str]]]:
    """Non-blank CSV rows with their 1-based line numbers; csv errors become DataError."""
    reader = csv.reader(f)
    out: list[tuple[int, list[str]]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return out
        except csv.Error as e:
            line = f"line {reader.line_num}"
            raise DataError(f"malformed CSV ({e})", file=file, key=line) from None
        if any(cell.strip() for cell in row):
            out.append((reader.line_num, row))
