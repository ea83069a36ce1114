"""Stratified train/validation/test splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.errors import TrainingInputError


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def stratified_split(
    labels: np.ndarray, validation_fraction: float, test_fraction: float, seed: int
) -> SplitIndices:
    """Split indices so each part keeps the class proportions of `labels`.

    Every class with at least three samples gets at least one in each part it
    is split into; `test_fraction` 0 gives an empty test part.
    """
    if not 0 < validation_fraction < 1 or not 0 <= test_fraction < 1:
        raise TrainingInputError("--val-fraction must be in (0, 1) and --test-fraction in [0, 1)")
    if validation_fraction + test_fraction >= 0.9:
        raise TrainingInputError("--val-fraction plus --test-fraction must leave at least 10% to train on")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n = len(members)
        n_test = int(round(n * test_fraction))
        n_val = int(round(n * validation_fraction))
        if n >= 3:
            n_test = max(n_test, 1) if test_fraction > 0 else 0
            n_val = max(n_val, 1)
        parts["test"].append(members[:n_test])
        parts["validation"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    joined = {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
    return SplitIndices(train=joined["train"], validation=joined["validation"], test=joined["test"])
