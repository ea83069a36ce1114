"""The tabular encoder: one JSON row and a CSV frame encode identically."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from checkpoint import ColumnKind, TabularColumn, TabularSpec
from inputs import SchemaError
from inputs.tabular import MISSING_INDEX, UNKNOWN_INDEX, TabularEncoder

SPEC = TabularSpec(
    columns=[
        TabularColumn(name="age", kind=ColumnKind.NUMERIC, mean=40.0, std=10.0),
        TabularColumn(name="city", kind=ColumnKind.CATEGORICAL, categories=["Oslo", "Lima"]),
        TabularColumn(name="hours", kind=ColumnKind.NUMERIC, mean=40.0, std=5.0),
    ]
)


@pytest.fixture
def encoder() -> TabularEncoder:
    return TabularEncoder(SPEC, label_column="income")


def test_row_layout_numeric_then_categorical(encoder: TabularEncoder) -> None:
    out = encoder.encode_row({"age": 31, "city": "Lima", "hours": "45.5"})
    assert out.tolist() == [31.0, 45.5, 3.0]


def test_missing_and_unknown(encoder: TabularEncoder) -> None:
    out = encoder.encode_row({"age": "?", "city": "Paris", "hours": None})
    assert math.isnan(out[0]) and math.isnan(out[1])
    assert out[2] == UNKNOWN_INDEX
    out = encoder.encode_row({"age": "NA", "city": "?", "hours": ""})
    assert out[2] == MISSING_INDEX


def test_row_and_frame_agree(encoder: TabularEncoder) -> None:
    rows = [
        {"age": "31", "city": "Lima", "hours": "45.5"},
        {"age": "?", "city": "Paris", "hours": " 40 "},
        {"age": "", "city": "", "hours": "NA"},
        {"age": "52", "city": " Oslo ", "hours": "1e2"},
    ]
    frame = encoder.encode_frame(pd.DataFrame(rows))
    assert frame.errors == {}
    stacked = np.stack([encoder.encode_row(r) for r in rows])
    np.testing.assert_array_equal(frame.values, stacked)


def test_label_column_allowed_but_others_rejected(encoder: TabularEncoder) -> None:
    encoder.encode_row({"age": 1, "city": "Oslo", "hours": 2, "income": ">50K"})
    with pytest.raises(SchemaError) as info:
        encoder.encode_row({"age": 1, "town": "Oslo", "hours": 2, "extra": 5})
    message = str(info.value)
    assert "missing columns ['city']" in message
    assert "unexpected columns ['town', 'extra']" in message


@pytest.mark.parametrize("value", ["abc", [1], {"a": 1}, True, "inf", float("inf")])
def test_invalid_numeric_values(encoder: TabularEncoder, value: object) -> None:
    with pytest.raises(SchemaError, match="'age'"):
        encoder.encode_row({"age": value, "city": "Oslo", "hours": 2})


def test_frame_reports_bad_rows(encoder: TabularEncoder) -> None:
    frame = pd.DataFrame(
        [
            {"age": "x", "city": "Oslo", "hours": "1"},
            {"age": "3", "city": "Oslo", "hours": "inf"},
            {"age": "3", "city": "Oslo", "hours": "2"},
        ]
    )
    encoded = encoder.encode_frame(frame)
    assert sorted(encoded.errors) == [0, 1]
    assert "'age'" in encoded.errors[0]
