from __future__ import annotations

import pytest

from checkpoint import TextSpec
from inputs import SchemaError
from inputs.encoders import TextRowEncoder, pad
from inputs.text import DEFAULT_TOKEN_PATTERN, UNKNOWN_ID

SPEC = TextSpec(
    text_column="text",
    lowercase=True,
    token_pattern=DEFAULT_TOKEN_PATTERN,
    max_tokens=5,
    vocabulary=["<pad>", "<unk>", "free", "win", "£", "don't"],
)


def test_tokens_to_ids_with_unknown_and_cap() -> None:
    encoder = TextRowEncoder(SPEC, "label")
    ids = encoder.encode({"text": "FREE £ prize, Don't win win win"})
    assert ids.tolist() == [2, 4, UNKNOWN_ID, UNKNOWN_ID, 5]


def test_empty_text_becomes_one_unknown_token() -> None:
    assert TextRowEncoder(SPEC).encode({"text": "   "}).tolist() == [UNKNOWN_ID]


def test_schema_errors() -> None:
    encoder = TextRowEncoder(SPEC, "label")
    with pytest.raises(SchemaError, match="missing columns"):
        encoder.encode({"body": "hi"})
    with pytest.raises(SchemaError, match="unexpected columns"):
        encoder.encode({"text": "hi", "extra": 1})
    with pytest.raises(SchemaError, match="must be a string"):
        encoder.encode({"text": 12})


def test_pad_batches_to_longest() -> None:
    import numpy as np

    batch = pad([np.asarray([3, 4, 5]), np.asarray([7])])
    assert batch.tolist() == [[3, 4, 5], [7, 0, 0]]
