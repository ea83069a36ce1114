"""Property tests: row encoding and CSV reading on generated inputs."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.datasets.csv_reader import iter_csv_chunks, sniff_csv
from checkpoint import ColumnKind, TabularColumn, TabularSpec
from inputs import InputError
from inputs.tabular import TabularEncoder

SPEC = TabularSpec(
    columns=[
        TabularColumn(name="age", kind=ColumnKind.NUMERIC, mean=40.0, std=10.0),
        TabularColumn(name="city", kind=ColumnKind.CATEGORICAL, categories=["Oslo", "Lima", "7"]),
        TabularColumn(name="hours", kind=ColumnKind.NUMERIC, mean=40.0, std=5.0),
    ]
)
ENCODER = TabularEncoder(SPEC, label_column="income")
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Cells as a CSV or a JSON client sends them: numbers written many ways, markers of
# missing values, category names and arbitrary text.
TEXT_CELLS = st.one_of(
    st.sampled_from(["", " ", "?", "NA", "NaN", "nan", "NAN", "inf", "-inf", "Infinity", "1e400", "Oslo", "7"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=12),
)
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT_CELLS,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _check_vector(out: np.ndarray) -> None:
    assert out.shape == (ENCODER.width,)
    assert out.dtype == np.float32
    numeric, categorical = out[:2], out[2:]
    assert not np.isinf(numeric).any()
    assert all(code.is_integer() and 0 <= code <= 4 for code in categorical.tolist())


@PROPERTY_SETTINGS
@given(row=st.fixed_dictionaries({"age": JSON_VALUES, "city": JSON_VALUES, "hours": JSON_VALUES}))
def test_json_row_encodes_or_raises_input_error(row: dict) -> None:
    try:
        out = ENCODER.encode_row(row)
    except InputError:
        return
    _check_vector(out)


ROWS_OF_CELLS = st.lists(
    st.fixed_dictionaries({"age": TEXT_CELLS, "city": TEXT_CELLS, "hours": TEXT_CELLS}), min_size=1, max_size=8
)


@PROPERTY_SETTINGS
@given(rows=ROWS_OF_CELLS)
def test_row_and_csv_paths_agree(rows: list[dict[str, str]]) -> None:
    encoded = ENCODER.encode_frame(pd.DataFrame(rows, dtype=str))
    for index, cells in enumerate(rows):
        try:
            row = ENCODER.encode_row(cells)
        except InputError:
            assert index in encoded.errors, f"the CSV path accepted a row the JSON path rejects: {cells}"
            continue
        assert index not in encoded.errors, f"the CSV path rejected {cells}: {encoded.errors[index]}"
        _check_vector(row)
        np.testing.assert_array_equal(row, encoded.values[index])


CSV_CELLS = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
HEADER = ["alpha", "beta", "gamma"]


@PROPERTY_SETTINGS
@given(
    rows=st.lists(st.lists(CSV_CELLS, min_size=3, max_size=3), min_size=1, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    block_bytes=st.sampled_from([4096, 65536]),
)
def test_csv_cells_read_back_exactly(rows: list[list[str]], delimiter: str, block_bytes: int) -> None:
    text = io.StringIO()
    # "\r\n" line ends make the writer quote every cell holding \r or \n, as spreadsheet exports do.
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")

    fmt = sniff_csv(io.BytesIO(data), None)
    assert fmt.columns == HEADER
    assert fmt.delimiter == delimiter
    chunks = list(iter_csv_chunks(io.BytesIO(data), fmt, block_bytes))
    read = [list(values) for chunk in chunks for values in chunk.frame.itertuples(index=False)]
    numbers = [number for chunk in chunks for number in chunk.row_numbers]
    assert [invalid for chunk in chunks for invalid in chunk.invalid_rows] == []
    assert read == rows
    assert numbers == list(range(1, len(rows) + 1))


def test_float_cells_survive_repr() -> None:
    # Guards the strategy above: repr of a float parses back to the same float.
    assert math.isnan(float(repr(float("nan"))))
