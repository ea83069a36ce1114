"""Chunked CSV reading with pyarrow: encoding and delimiter detection, bad rows kept as errors.

Cells are read as strings and nothing is turned into null, so missing values
follow the model's own rules (the manifest's missing-value markers), the same
as in training. Rows are numbered from 1 after the header.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from inputs import InputError, MalformedInputError, UnsupportedMediaError
from inputs.csv_dialect import detect_delimiter

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    encoding_detected: bool
    delimiter: str
    columns: list[str]


@dataclass
class CsvChunk:
    """Consecutive rows as string cells, plus rows that could not be parsed."""

    row_numbers: list[int]  # one per row of `frame`
    frame: pd.DataFrame
    invalid_rows: list[tuple[int, str]] = field(default_factory=list)


def _decode_head(head: bytes, encoding: str | None) -> tuple[str, str, bool]:
    """Return (text, encoding, detected) for the first bytes of the file."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(
                f"unknown encoding {encoding!r}; use a Python codec name such as utf-8 or latin-1"
            ) from None
        try:
            return head.decode(encoding, errors="strict"), encoding, False
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                raise UnsupportedMediaError(
                    f"the CSV is not valid {encoding}: byte {exc.start}: {exc.reason}"
                ) from None
            return head[: exc.start].decode(encoding), encoding, False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore"), "utf-16", True
    try:
        return head.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and exc.reason.startswith("unexpected end"):
            return head[: exc.start].decode("utf-8"), "utf-8", False
    if b"\x00" in head:
        raise UnsupportedMediaError(
            "the file contains NUL bytes, so it is binary or UTF-16/32 without a BOM, not a CSV "
            "this service reads; save it as UTF-8"
        )
    # Not UTF-8: Windows-1252 is the usual culprit (a superset of latin-1's printable range).
    try:
        return head.decode("cp1252"), "cp1252", True
    except UnicodeDecodeError:
        return head.decode("latin-1"), "latin-1", True


def sniff_csv(file: BinaryIO, encoding: str | None) -> CsvFormat:
    """Detect encoding, delimiter and header of a CSV; rewind the file."""
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head.strip():
        raise InputError("the CSV file is empty; expected a header line and rows")
    text, encoding, detected = _decode_head(head, encoding)
    text = text.lstrip("\ufeff")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delimiter = detect_delimiter(first_line)
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise MalformedInputError(f"the CSV header cannot be parsed: {exc}") from None
    columns = [name.strip() for name in header]
    if not any(columns):
        raise InputError("the CSV header is empty; the first line must name the columns")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise InputError(f"the CSV header repeats columns {duplicates}; column names must be unique")
    return CsvFormat(encoding=encoding, encoding_detected=detected, delimiter=delimiter, columns=columns)


def iter_csv_chunks(file: BinaryIO, fmt: CsvFormat, block_bytes: int) -> Iterator[CsvChunk]:
    """Yield the rows in chunks of about `block_bytes` of input."""
    invalid: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # `number` counts lines of the file with the header as 1.
        number = (row.number - 1) if row.number is not None else -1
        invalid.append((number, f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    try:
        reader = pacsv.open_csv(
            file,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=block_bytes,
                encoding=fmt.encoding,
                column_names=fmt.columns,
                skip_rows=1,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=fmt.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in fmt.columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise MalformedInputError(f"the CSV cannot be parsed: {exc}") from None
    next_row = 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise MalformedInputError(f"the CSV cannot be parsed after row {next_row - 1}: {exc}") from None
        frame = batch.to_pandas()
        span = len(frame) + len(invalid)
        bad = {number for number, _ in invalid}
        numbers = [n for n in range(next_row, next_row + span) if n not in bad][: len(frame)]
        chunk = CsvChunk(row_numbers=numbers, frame=frame, invalid_rows=list(invalid))
        next_row += span
        invalid.clear()
        yield chunk
    if invalid:
        yield CsvChunk(row_numbers=[], frame=pd.DataFrame(columns=fmt.columns), invalid_rows=list(invalid))
