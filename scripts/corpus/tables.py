"""CSV files for the input corpus, made from the bundled sample rows. Rows are lists of strings, header first."""

from __future__ import annotations

import csv
import io
from pathlib import Path

Rows = list[list[str]]


def read_rows(path: Path, data_rows: int) -> Rows:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        return [row for _, row in zip(range(data_rows + 1), reader, strict=False)]


def to_csv(rows: Rows, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def _column(rows: Rows, name: str) -> int:
    return rows[0].index(name)


def drop_column(rows: Rows, name: str) -> Rows:
    index = _column(rows, name)
    return [row[:index] + row[index + 1 :] for row in rows]


def add_column(rows: Rows, name: str, value: str) -> Rows:
    return [rows[0] + [name]] + [row + [value] for row in rows[1:]]


def rename_column(rows: Rows, name: str, new_name: str) -> Rows:
    header = [new_name if column == name else column for column in rows[0]]
    return [header] + rows[1:]


def with_cells(rows: Rows, name: str, values_by_row: dict[int, str]) -> Rows:
    """Replace cells of column `name`; keys are data-row numbers starting at 1."""
    index = _column(rows, name)
    out = [list(row) for row in rows]
    for row_number, value in values_by_row.items():
        out[row_number][index] = value
    return out


def with_newlines(rows: Rows) -> Rows:
    return [rows[0]] + [[cell.replace(" ", "\n", 1) if i == 0 else cell for i, cell in enumerate(row)] for row in rows[1:]]


def with_accents(rows: Rows) -> Rows:
    """Add characters that latin-1 encodes in one byte each and that are invalid UTF-8 there."""
    return [rows[0]] + [[f"café à {cell} £5" if i == 0 else cell for i, cell in enumerate(row)] for row in rows[1:]]
