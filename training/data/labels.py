"""Class names and label checks shared by all data kinds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from training.errors import TrainingInputError


def index_labels(labels: Sequence[str], source: str) -> tuple[list[str], np.ndarray]:
    """Return sorted class names and each label's class index; reject single-class data."""
    counts = Counter(labels)
    if len(counts) < 2:
        found = next(iter(counts), "nothing")
        raise TrainingInputError(f"{source} has a single class ({found!r}); a classifier needs at least two")
    class_names = sorted(counts)
    lookup = {name: i for i, name in enumerate(class_names)}
    return class_names, np.asarray([lookup[label] for label in labels], dtype=np.int64)


def align_labels(labels: Sequence[str], class_names: list[str], source: str) -> np.ndarray:
    """Map labels of a separate test set onto the training classes."""
    lookup = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(labels) - set(lookup))
    if unknown:
        raise TrainingInputError(
            f"{source} has labels the training data does not: {unknown[:10]}; "
            f"training classes are {class_names}"
        )
    return np.asarray([lookup[label] for label in labels], dtype=np.int64)
