"""Offline evaluation: classify a labelled dataset with a checkpoint, no service involved."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from checkpoint import ModelKind, load_checkpoint
from inputs import InputError, make_encoder
from training.data.images import read_raw_images
from training.data.tables import clean_labels, read_csv, require_columns
from training.errors import TrainingInputError
from training.report import classification_report, format_report

logger = logging.getLogger(__name__)


def _labelled_samples(
    kind: ModelKind, data: Path, label_column: str | None
) -> tuple[list[object], list[str]]:
    if kind == ModelKind.IMAGE:
        raw = read_raw_images(data)
        return [r.data for r in raw], [r.class_name for r in raw]
    if label_column is None:
        raise TrainingInputError("the checkpoint names no label column, so a CSV cannot be scored")
    frame = read_csv(data, "utf-8")
    require_columns(frame, [label_column], data, "the checkpoint's label column")
    frame, labels = clean_labels(frame, label_column, data)
    rows = frame.drop(columns=[label_column]).to_dict(orient="records")
    return rows, labels


@torch.inference_mode()
def evaluate_checkpoint(model_path: Path, data: Path, batch_size: int, device: torch.device) -> float:
    """Print the classification report of a checkpoint on labelled data; return the accuracy."""
    loaded = load_checkpoint(model_path, device)
    manifest = loaded.manifest
    encoder = make_encoder(manifest)
    samples, labels = _labelled_samples(manifest.kind, data, manifest.label_column)
    lookup = {name: i for i, name in enumerate(manifest.class_names)}

    encoded, true, failed = [], [], 0
    for sample, label in zip(samples, labels, strict=True):
        if label not in lookup:
            failed += 1
            continue
        try:
            encoded.append(encoder.encode(sample))
        except InputError as exc:
            logger.warning("skipping a sample of %s: %s", data, exc)
            failed += 1
            continue
        true.append(lookup[label])
    if not encoded:
        raise TrainingInputError(f"no sample in {data} could be classified by {model_path.name}")

    predicted = []
    for start in range(0, len(encoded), batch_size):
        batch = encoder.collate(encoded[start : start + batch_size]).to(device)
        predicted.append(loaded.module(batch).argmax(1).cpu().numpy())
    report = classification_report(manifest.class_names, np.asarray(true), np.concatenate(predicted))
    print(f"{manifest.name} on {data}: {report.count} classified, {failed} skipped")
    print(format_report(report))
    return report.accuracy
