"""Classification metrics from a running confusion matrix, shared by training and serving."""

from evaluation.confusion import ClassificationReport, ClassMetrics, ConfusionMatrix

__all__ = ["ClassMetrics", "ClassificationReport", "ConfusionMatrix"]
