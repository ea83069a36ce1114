"""A confusion matrix updated batch by batch, and the report derived from it.

Rows are true classes and columns predicted classes, as in scikit-learn. A
class with no predictions has precision 0, and one with no true samples has
recall 0 (scikit-learn's `zero_division=0`). Macro F1 averages over the classes
that occur among the true or predicted labels, as scikit-learn does when it is
not given an explicit label list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel


class ClassMetrics(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class ClassificationReport(BaseModel):
    count: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, ClassMetrics]
    class_names: list[str]
    confusion_matrix: list[list[int]]


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


class ConfusionMatrix:
    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = list(class_names)
        n = len(self.class_names)
        self.counts = np.zeros((n, n), dtype=np.int64)

    def update(self, true_indices: np.ndarray, predicted_indices: np.ndarray) -> None:
        n = len(self.class_names)
        flat = np.asarray(true_indices, dtype=np.int64) * n + np.asarray(predicted_indices)
        self.counts += np.bincount(flat, minlength=n * n).reshape(n, n)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def report(self) -> ClassificationReport:
        counts = self.counts.astype(np.float64)
        true_positive = np.diag(counts)
        support = counts.sum(axis=1)
        predicted = counts.sum(axis=0)
        precision = _safe_divide(true_positive, predicted)
        recall = _safe_divide(true_positive, support)
        f1 = _safe_divide(2 * precision * recall, precision + recall)
        total = counts.sum()
        present = (support + predicted) > 0
        per_class = {
            name: ClassMetrics(
                precision=float(precision[i]),
                recall=float(recall[i]),
                f1=float(f1[i]),
                support=int(support[i]),
            )
            for i, name in enumerate(self.class_names)
        }
        return ClassificationReport(
            count=int(total),
            accuracy=float(true_positive.sum() / total) if total else 0.0,
            macro_f1=float(f1[present].mean()) if present.any() else 0.0,
            weighted_f1=float((f1 * support).sum() / total) if total else 0.0,
            per_class=per_class,
            class_names=self.class_names,
            confusion_matrix=self.counts.tolist(),
        )
