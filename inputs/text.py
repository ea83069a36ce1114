"""Tokenise text into vocabulary ids by the rules a TextSpec stores."""

from __future__ import annotations

import re

import numpy as np

from checkpoint.manifest import TextSpec
from inputs.errors import SchemaError

PAD_ID = 0
UNKNOWN_ID = 1

# Words (letters, digits, apostrophes inside words) and single symbols such as
# '£', '!' or '$', which carry signal in short messages.
DEFAULT_TOKEN_PATTERN = r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]"


class TextEncoder:
    def __init__(self, spec: TextSpec) -> None:
        self.spec = spec
        self._pattern = re.compile(spec.token_pattern)
        self._ids = {token: i for i, token in enumerate(spec.vocabulary)}

    def tokenize(self, text: str) -> list[str]:
        if self.spec.lowercase:
            text = text.lower()
        return self._pattern.findall(text)[: self.spec.max_tokens]

    def encode(self, text: object) -> np.ndarray:
        """Return int64 token ids; text with no tokens becomes a single unknown token."""
        if not isinstance(text, str):
            raise SchemaError(f"column {self.spec.text_column!r} must be a string, got {type(text).__name__}")
        ids = [self._ids.get(token, UNKNOWN_ID) for token in self.tokenize(text)]
        return np.asarray(ids or [UNKNOWN_ID], dtype=np.int64)
