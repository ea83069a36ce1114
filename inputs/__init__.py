"""Turn raw inputs (image bytes, text, table rows) into model tensors as a manifest specifies.

Training and serving both use these functions, so a sample is encoded the same
way when the model learns from it and when the service classifies it.
"""

from inputs.encoders import Encoder, make_encoder
from inputs.errors import (
    InputError,
    InputTooLargeError,
    MalformedInputError,
    SchemaError,
    UnsupportedMediaError,
)

__all__ = [
    "Encoder",
    "InputError",
    "InputTooLargeError",
    "MalformedInputError",
    "SchemaError",
    "UnsupportedMediaError",
    "make_encoder",
]
