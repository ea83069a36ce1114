"""The held-out report: metrics JSON and a PNG of learning curves and the confusion matrix."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from evaluation import ClassificationReport, ConfusionMatrix  # noqa: E402
from training.loop import FitResult  # noqa: E402


def classification_report(
    class_names: list[str], true_indices: np.ndarray, predicted_indices: np.ndarray
) -> ClassificationReport:
    matrix = ConfusionMatrix(class_names)
    matrix.update(true_indices, predicted_indices)
    return matrix.report()


def format_report(report: ClassificationReport) -> str:
    """Render the report as a text table for the console."""
    width = max(12, *(len(n) for n in report.class_names))
    lines = [
        f"accuracy {report.accuracy:.4f}  macro-F1 {report.macro_f1:.4f}  "
        f"weighted-F1 {report.weighted_f1:.4f}  ({report.count} samples)",
        f"{'class':<{width}} precision  recall     f1  support",
    ]
    for name, m in report.per_class.items():
        lines.append(f"{name:<{width}} {m.precision:9.4f} {m.recall:7.4f} {m.f1:6.4f} {m.support:8d}")
    return "\n".join(lines)


def write_report_json(path: Path, report: ClassificationReport, fit: FitResult, extra: dict) -> None:
    payload = {
        "test": report.model_dump(),
        "best_epoch": fit.best_epoch,
        "training_seconds": round(fit.seconds, 1),
        "history": [asdict(r) for r in fit.history],
        **extra,
    }
    path.write_text(json.dumps(payload, indent=1))


def write_report_png(path: Path, report: ClassificationReport, fit: FitResult, title: str) -> None:
    epochs = [r.epoch for r in fit.history]
    figure, (loss_axis, accuracy_axis, matrix_axis) = plt.subplots(1, 3, figsize=(17, 5))
    loss_axis.plot(epochs, [r.train_loss for r in fit.history], "o-", label="train")
    loss_axis.plot(epochs, [r.validation_loss for r in fit.history], "o-", label="validation")
    loss_axis.axvline(fit.best_epoch, color="grey", linestyle=":", label="exported epoch")
    loss_axis.set(title="loss", xlabel="epoch")
    loss_axis.legend()
    accuracy_axis.plot(epochs, [r.train_accuracy for r in fit.history], "o-", label="train")
    accuracy_axis.plot(epochs, [r.validation_accuracy for r in fit.history], "o-", label="validation")
    accuracy_axis.axvline(fit.best_epoch, color="grey", linestyle=":")
    accuracy_axis.set(title="accuracy", xlabel="epoch")
    accuracy_axis.legend()

    counts = np.asarray(report.confusion_matrix)
    matrix_axis.imshow(counts, cmap="Blues")
    ticks = range(len(report.class_names))
    matrix_axis.set_xticks(ticks, report.class_names, rotation=45, ha="right")
    matrix_axis.set_yticks(ticks, report.class_names)
    matrix_axis.set(
        title=f"test confusion (accuracy {report.accuracy:.3f})", xlabel="predicted", ylabel="true"
    )
    threshold = counts.max() / 2 if counts.size else 0
    for i in ticks:
        for j in ticks:
            matrix_axis.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if counts[i, j] > threshold else "black",
            )
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
