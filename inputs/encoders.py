"""One encoder per model kind: a raw sample to an array, and arrays to a batch tensor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import torch

from checkpoint.manifest import ImageSpec, Manifest, TabularSpec, TextSpec
from inputs.errors import SchemaError
from inputs.images import DEFAULT_MAX_IMAGE_PIXELS, decode_image
from inputs.tabular import TabularEncoder
from inputs.text import PAD_ID, TextEncoder


class Encoder(Protocol):
    def encode(self, raw: object) -> np.ndarray:
        """Encode one sample; raise an InputError subclass when it cannot be."""
        ...

    def collate(self, samples: Sequence[np.ndarray]) -> torch.Tensor:
        """Stack encoded samples into one batch tensor for the model."""
        ...


def stack(samples: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(samples))


def pad(samples: Sequence[np.ndarray]) -> torch.Tensor:
    """Right-pad token id arrays with PAD_ID to the longest in the batch."""
    longest = max(len(s) for s in samples)
    batch = np.full((len(samples), longest), PAD_ID, dtype=np.int64)
    for i, sample in enumerate(samples):
        batch[i, : len(sample)] = sample
    return torch.from_numpy(batch)


class ImageEncoder:
    def __init__(self, spec: ImageSpec, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
        self.spec = spec
        self.max_pixels = max_pixels

    def encode(self, raw: object) -> np.ndarray:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise SchemaError("an image model takes image file bytes")
        return decode_image(bytes(raw), self.spec, self.max_pixels)

    collate = staticmethod(stack)


class TextRowEncoder:
    """Encodes a row `{text_column: "..."}`, or a bare string."""

    def __init__(self, spec: TextSpec, label_column: str | None = None) -> None:
        self.text = TextEncoder(spec)
        self.label_column = label_column

    def encode(self, raw: object) -> np.ndarray:
        if isinstance(raw, str):
            return self.text.encode(raw)
        if not isinstance(raw, Mapping):
            raise SchemaError(f'a text model takes a row like {{{self.text.spec.text_column!r}: "..."}}')
        column = self.text.spec.text_column
        if column not in raw:
            raise SchemaError(
                f"row does not match the model's input schema: missing columns [{column!r}]; "
                f"got {sorted(raw)}"
            )
        unexpected = [k for k in raw if k not in (column, self.label_column)]
        if unexpected:
            raise SchemaError(
                f"row does not match the model's input schema: unexpected columns {unexpected}. "
                f"Expected columns: [{column!r}]"
            )
        return self.text.encode(raw[column])

    collate = staticmethod(pad)


class TabularRowEncoder:
    def __init__(self, spec: TabularSpec, label_column: str | None = None) -> None:
        self.table = TabularEncoder(spec, label_column)

    def encode(self, raw: object) -> np.ndarray:
        return self.table.encode_row(raw)  # type: ignore[arg-type]

    collate = staticmethod(stack)


def make_encoder(manifest: Manifest, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Encoder:
    spec = manifest.input
    if isinstance(spec, ImageSpec):
        return ImageEncoder(spec, max_image_pixels)
    if isinstance(spec, TextSpec):
        return TextRowEncoder(spec, manifest.label_column)
    return TabularRowEncoder(spec, manifest.label_column)
