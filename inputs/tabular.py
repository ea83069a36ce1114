"""Encode table rows into the float vectors a tabular model takes.

A row becomes `[numeric values..., category indices...]` in manifest column
order: numeric values as floats (NaN when missing), category indices as
floats (0 missing, 1 unknown, 2 and up known categories). The model itself
standardises, imputes and embeds. `encode_row` (one JSON row) and
`encode_frame` (a CSV chunk) give identical vectors for the same values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from checkpoint.manifest import ColumnKind, TabularColumn, TabularSpec
from inputs.errors import SchemaError

MISSING_INDEX = 0
UNKNOWN_INDEX = 1
FIRST_CATEGORY_INDEX = 2
# Larger magnitudes become infinite in the model's float32 input.
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class EncodedFrame:
    """Vectors for the rows of a frame; rows listed in `errors` hold garbage and must be skipped."""

    values: np.ndarray
    errors: dict[int, str]


def _string_array(cells: pd.Series) -> pa.Array:
    """Return the cells as one pyarrow large_string array, with null cells as empty strings."""
    try:
        array = pa.array(cells, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # Cells that are not all strings (a frame built in code): compare their text.
        array = pa.array(cells.fillna("").astype(str), type=pa.large_string())
    return pc.fill_null(array, "")


def _category_text(value: float | int | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class TabularEncoder:
    def __init__(self, spec: TabularSpec, label_column: str | None = None) -> None:
        self.spec = spec
        self.label_column = label_column
        self._missing = frozenset(spec.missing_values)
        self._order = spec.numeric_columns + spec.categorical_columns
        self._index = {
            c.name: {cat: i + FIRST_CATEGORY_INDEX for i, cat in enumerate(c.categories or [])}
            for c in spec.categorical_columns
        }
        self._missing_array = pa.array(sorted(self._missing), type=pa.large_string())
        self._category_arrays = {
            c.name: pa.array(c.categories or [], type=pa.large_string()) for c in spec.categorical_columns
        }
        self.column_names = [c.name for c in spec.columns]

    @property
    def width(self) -> int:
        return len(self._order)

    def check_columns(self, present: list[str]) -> None:
        """Raise SchemaError naming the missing and unexpected columns, if any."""
        expected = set(self.column_names)
        allowed = expected | ({self.label_column} if self.label_column else set())
        missing = [name for name in self.column_names if name not in present]
        unexpected = [name for name in present if name not in allowed]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing columns {missing}")
            if unexpected:
                parts.append(f"unexpected columns {unexpected}")
            raise SchemaError(
                f"row does not match the model's input schema: {'; '.join(parts)}. "
                f"Expected columns: {self.column_names}"
            )

    def _numeric(self, column: TabularColumn, value: object) -> float:
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SchemaError(f"column {column.name!r} is numeric; got {type(value).__name__} {value!r}")
        if isinstance(value, str):
            text = value.strip()
            if text in self._missing:
                return math.nan
            try:
                number = float(text)
            except ValueError:
                raise SchemaError(
                    f"column {column.name!r} is numeric; {value!r} is not a number "
                    f"(write a missing value as null or one of {sorted(self._missing)})"
                ) from None
            if math.isnan(number):
                # Text that spells NaN but is not one of the missing-value markers, as in CSVs.
                raise SchemaError(
                    f"column {column.name!r} is numeric; {value!r} is not a finite number "
                    f"(write a missing value as null or one of {sorted(self._missing)})"
                )
        else:
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
        if math.isinf(number) or abs(number) > FLOAT32_MAX:
            raise SchemaError(
                f"column {column.name!r} must be a finite number within float32 range; got {value!r}"
            )
        return number

    def _category(self, column: TabularColumn, value: object) -> float:
        if value is None:
            return MISSING_INDEX
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SchemaError(
                f"column {column.name!r} is categorical and takes a string or number; "
                f"got {type(value).__name__}"
            )
        if isinstance(value, float) and math.isnan(value):
            return MISSING_INDEX
        text = _category_text(value)
        if text in self._missing:
            return MISSING_INDEX
        return self._index[column.name].get(text, UNKNOWN_INDEX)

    def encode_row(self, row: Mapping[str, object]) -> np.ndarray:
        if not isinstance(row, Mapping):
            raise SchemaError(f"a row must be a JSON object of column: value; got {type(row).__name__}")
        self.check_columns(list(row))
        out = np.empty(self.width, dtype=np.float32)
        for i, column in enumerate(self._order):
            value = row[column.name]
            if column.kind == ColumnKind.NUMERIC:
                out[i] = self._numeric(column, value)
            else:
                out[i] = self._category(column, value)
        return out

    def encode_frame(self, frame: pd.DataFrame) -> EncodedFrame:
        """Encode a frame of string cells (as read with dtype=str and no NA parsing).

        Columns are processed with pyarrow compute kernels. A numeric column that
        pyarrow cannot cast whole falls back to `encode_row`'s own per-cell parsing,
        so both paths accept and reject the same cells.
        """
        out = np.empty((len(frame), self.width), dtype=np.float32)
        errors: dict[int, str] = {}
        for i, column in enumerate(self._order):
            cells = pc.utf8_trim_whitespace(_string_array(frame[column.name]))
            missing = pc.is_in(cells, value_set=self._missing_array)
            if column.kind == ColumnKind.NUMERIC:
                out[:, i] = self._numeric_cells(column, cells, missing, errors)
            else:
                codes = pc.index_in(cells, value_set=self._category_arrays[column.name])
                codes = pc.fill_null(pc.add(codes, FIRST_CATEGORY_INDEX), UNKNOWN_INDEX)
                codes = pc.if_else(missing, MISSING_INDEX, codes)
                out[:, i] = codes.to_numpy(zero_copy_only=False)
        return EncodedFrame(values=out, errors=errors)

    def _numeric_cells(
        self, column: TabularColumn, cells: pa.Array, missing: pa.Array, errors: dict[int, str]
    ) -> np.ndarray:
        """Parse one numeric column; rows with an invalid cell get an entry in `errors`."""
        present = pc.if_else(missing, pa.scalar(None, cells.type), cells)
        try:
            numbers = pc.cast(present, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            # Some cell is not a number for pyarrow: parse cell by cell as a JSON row would be.
            numbers = np.full(len(cells), np.nan)
            for row, (text, is_missing) in enumerate(zip(cells.to_pylist(), missing.to_pylist(), strict=True)):
                if is_missing:
                    continue
                try:
                    numbers[row] = self._numeric(column, text)
                except SchemaError as exc:
                    errors.setdefault(row, str(exc))
            return numbers
        is_missing = missing.to_numpy(zero_copy_only=False)
        # NaN from text that is not a missing-value marker ("NAN"), infinities, and values
        # that overflow float32 are invalid, as in `_numeric`.
        invalid = (np.isnan(numbers) & ~is_missing) | (np.abs(numbers) > FLOAT32_MAX)
        for row in np.flatnonzero(invalid):
            errors.setdefault(
                int(row),
                f"column {column.name!r} is numeric; {cells[row].as_py()!r} is not a finite number "
                f"within float32 range",
            )
        return np.where(invalid, np.nan, numbers)
