"""Open an uploaded dataset: recognise its format and check it fits the model before streaming."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from app.datasets.archives import iter_tar, iter_zip, sniff_archive
from app.datasets.csv_reader import CsvChunk, CsvFormat, iter_csv_chunks, sniff_csv
from app.datasets.items import DatasetItem, ReadLimits, SkipCounts
from checkpoint import Manifest, ModelKind, TabularSpec, TextSpec
from inputs import SchemaError, UnsupportedMediaError

RawChunk = list[DatasetItem] | CsvChunk


@dataclass
class DatasetSource:
    """A dataset ready to be read in chunks, with what was learned while opening it."""

    kind: str  # "zip", "tar" or "csv"
    chunks: Iterator[RawChunk]
    skipped: SkipCounts = field(default_factory=SkipCounts)
    csv_format: CsvFormat | None = None
    label_column: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


def _grouped(items: Iterator[DatasetItem], size: int) -> Iterator[list[DatasetItem]]:
    group: list[DatasetItem] = []
    for item in items:
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def _required_columns(manifest: Manifest) -> list[str]:
    spec = manifest.input
    if isinstance(spec, TextSpec):
        return [spec.text_column]
    if isinstance(spec, TabularSpec):
        return [c.name for c in spec.columns]
    return []


def open_dataset(
    file: BinaryIO,
    filename: str,
    manifest: Manifest,
    limits: ReadLimits,
    chunk_items: int,
    csv_block_bytes: int,
    label_column: str | None,
    encoding: str | None,
) -> DatasetSource:
    """Recognise the upload by content (and name for CSV) and prepare its chunk iterator."""
    head = file.read(512)
    file.seek(0)
    if not head:
        raise SchemaError("the uploaded file is empty")
    archive = sniff_archive(head)
    is_csv = filename.lower().endswith((".csv", ".tsv", ".txt")) or (archive is None and b"\x00" not in head)

    if manifest.kind == ModelKind.IMAGE:
        if archive is None:
            raise UnsupportedMediaError(
                f"{filename!r} is not a zip or tar archive; an image model takes a .zip, .tar, "
                f".tar.gz or .tgz of images (class folders give true labels)"
            )
        skipped = SkipCounts()
        classes = frozenset(manifest.class_names)
        reader = iter_zip if archive == "zip" else iter_tar
        items = reader(file, limits, classes, skipped)
        return DatasetSource(kind=archive, chunks=_grouped(items, chunk_items), skipped=skipped)

    if archive is not None or not is_csv:
        raise UnsupportedMediaError(
            f"{filename!r} is not a CSV file; a {manifest.kind.value} model takes a CSV with columns "
            f"{_required_columns(manifest)}"
        )
    fmt = sniff_csv(file, encoding)
    required = _required_columns(manifest)
    missing = [c for c in required if c not in fmt.columns]
    if missing:
        raise SchemaError(
            f"the CSV lacks the model's columns {missing}; found columns {fmt.columns}, expected {required}"
        )
    label = label_column if label_column is not None else manifest.label_column
    if label_column is not None and label_column not in fmt.columns:
        raise SchemaError(f"label_column {label_column!r} is not a CSV column; found {fmt.columns}")
    present_label = label if label in fmt.columns else None
    ignored = [c for c in fmt.columns if c not in required and c != present_label]
    return DatasetSource(
        kind="csv",
        chunks=iter_csv_chunks(file, fmt, csv_block_bytes),
        csv_format=fmt,
        label_column=present_label,
        ignored_columns=ignored,
    )
