from __future__ import annotations

import numpy as np
import pytest

from training.data.splits import stratified_split
from training.errors import TrainingInputError


def test_split_is_stratified_disjoint_and_complete() -> None:
    labels = np.asarray([0] * 900 + [1] * 100)
    split = stratified_split(labels, 0.1, 0.2, seed=3)
    joined = np.concatenate([split.train, split.validation, split.test])
    assert sorted(joined.tolist()) == list(range(1000))
    assert len(split.test) == 200
    assert len(split.validation) == 100
    assert (labels[split.test] == 1).sum() == 20
    assert (labels[split.validation] == 1).sum() == 10


def test_split_depends_only_on_seed() -> None:
    labels = np.arange(300) % 3
    a = stratified_split(labels, 0.1, 0.1, seed=7)
    b = stratified_split(labels, 0.1, 0.1, seed=7)
    c = stratified_split(labels, 0.1, 0.1, seed=8)
    assert (a.test == b.test).all()
    assert not np.array_equal(a.test, c.test)


def test_small_classes_reach_every_part() -> None:
    labels = np.asarray([0] * 50 + [1] * 3)
    split = stratified_split(labels, 0.1, 0.1, seed=0)
    for part in (split.train, split.validation, split.test):
        assert 1 in labels[part]


def test_rejects_fractions_leaving_no_training_data() -> None:
    with pytest.raises(TrainingInputError, match="at least 10%"):
        stratified_split(np.zeros(10), 0.5, 0.45, seed=0)
