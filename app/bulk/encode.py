"""Turn raw chunks (archive entries or CSV rows) into encoded samples and per-item failures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.datasets.csv_reader import CsvChunk
from app.datasets.items import DatasetItem
from inputs import Encoder, InputError
from inputs.encoders import TabularRowEncoder, TextRowEncoder


@dataclass
class EncodedChunk:
    """Items of one chunk in input order: `position` orders successes and failures together."""

    ids: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)
    true_labels: list[str | None] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.ids) + len(self.failures)

    def extend(self, other: EncodedChunk) -> None:
        self.ids += other.ids
        self.positions += other.positions
        self.samples += other.samples
        self.true_labels += other.true_labels
        self.failures += other.failures


@dataclass(frozen=True)
class ItemFailure:
    id: str
    position: int
    error: str
    true_label: str | None


def encode_items(encoder: Encoder, items: list[DatasetItem], first_position: int) -> EncodedChunk:
    """Decode archive entries one by one; a bad entry becomes a failure, not an exception."""
    out = EncodedChunk()
    for offset, item in enumerate(items):
        position = first_position + offset
        if item.error is not None:
            out.failures.append(ItemFailure(item.id, position, item.error, item.true_label))
            continue
        try:
            sample = encoder.encode(item.payload)
        except InputError as exc:
            out.failures.append(ItemFailure(item.id, position, str(exc), item.true_label))
            continue
        out.ids.append(item.id)
        out.positions.append(position)
        out.samples.append(sample)
        out.true_labels.append(item.true_label)
    return out


def encode_csv_chunk(encoder: Encoder, chunk: CsvChunk, label_column: str | None) -> EncodedChunk:
    """Encode CSV rows: vectorised for tables, row by row for text."""
    out = EncodedChunk()
    frame = chunk.frame
    labels: list[str | None] = (
        [str(v).strip() or None for v in frame[label_column]] if label_column else [None] * len(frame)
    )
    for number, message in chunk.invalid_rows:
        out.failures.append(ItemFailure(str(number), number, f"malformed CSV row: {message}", None))
    if isinstance(encoder, TabularRowEncoder):
        encoded = encoder.table.encode_frame(frame)
        for i, number in enumerate(chunk.row_numbers):
            if i in encoded.errors:
                out.failures.append(ItemFailure(str(number), number, encoded.errors[i], labels[i]))
                continue
            out.ids.append(str(number))
            out.positions.append(number)
            out.samples.append(encoded.values[i])
            out.true_labels.append(labels[i])
        return out
    if not isinstance(encoder, TextRowEncoder):
        raise TypeError(f"CSV input needs a text or tabular encoder, not {type(encoder).__name__}")
    column = encoder.text.spec.text_column
    for i, (number, text) in enumerate(zip(chunk.row_numbers, frame[column], strict=True)):
        try:
            sample = encoder.text.encode(text)
        except InputError as exc:
            out.failures.append(ItemFailure(str(number), number, str(exc), labels[i]))
            continue
        out.ids.append(str(number))
        out.positions.append(number)
        out.samples.append(sample)
        out.true_labels.append(labels[i])
    return out
