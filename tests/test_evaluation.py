"""The running confusion matrix agrees with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from evaluation import ConfusionMatrix


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = ["a", "b", "c", "d"]
    true = rng.integers(0, 3, 500)  # class "d" never occurs as a true label
    predicted = np.where(rng.random(500) < 0.7, true, rng.integers(0, 4, 500))
    matrix = ConfusionMatrix(names)
    for start in range(0, 500, 64):  # updated in batches, as the service does
        matrix.update(true[start : start + 64], predicted[start : start + 64])
    report = matrix.report()
    assert report.accuracy == pytest.approx(accuracy_score(true, predicted))
    assert report.macro_f1 == pytest.approx(f1_score(true, predicted, average="macro"))
    assert report.weighted_f1 == pytest.approx(f1_score(true, predicted, average="weighted"))
    assert report.confusion_matrix == confusion_matrix(true, predicted, labels=range(4)).tolist()
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=range(4), zero_division=0
    )
    for i, name in enumerate(names):
        assert report.per_class[name].precision == pytest.approx(precision[i])
        assert report.per_class[name].recall == pytest.approx(recall[i])
        assert report.per_class[name].f1 == pytest.approx(f1[i])
        assert report.per_class[name].support == support[i]
