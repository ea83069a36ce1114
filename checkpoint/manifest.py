"""The manifest: everything serving needs to use a checkpoint, stored inside it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FORMAT_VERSION = 1

# Cell values that mean "missing" in text inputs, compared after stripping
# spaces. `?` is how the UCI Adult data marks unknown values.
DEFAULT_MISSING_VALUES = ["", "?", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]


class ModelKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    TABULAR = "tabular"


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageSpec(_Spec):
    """Image preprocessing. The model takes uint8 NCHW tensors and normalises inside."""

    kind: Literal["image"] = "image"
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    channels: Literal[1, 3]
    mean: list[float]
    std: list[float]
    resize: Literal["stretch"] = "stretch"

    @model_validator(mode="after")
    def _check_stats(self) -> ImageSpec:
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError("mean and std need one value per channel")
        return self


class TextSpec(_Spec):
    """Text tokenisation. Token id 0 is padding, 1 is out-of-vocabulary."""

    kind: Literal["text"] = "text"
    text_column: str
    lowercase: bool
    token_pattern: str
    max_tokens: int = Field(gt=0)
    vocabulary: list[str]

    @model_validator(mode="after")
    def _check_vocabulary(self) -> TextSpec:
        if self.vocabulary[:2] != ["<pad>", "<unk>"]:
            raise ValueError("vocabulary must start with '<pad>' and '<unk>'")
        return self


class TabularColumn(_Spec):
    """One input column.

    Numeric columns are sent to the model as floats, NaN when missing; the model
    standardises them with `mean` and `std` and adds a missing-value indicator.
    Categorical columns are sent as category indices: 0 missing, 1 unknown
    (unseen in training or too rare), 2 and up for `categories` in order.
    """

    name: str
    kind: ColumnKind
    mean: float | None = None
    std: float | None = None
    categories: list[str] | None = None


class TabularSpec(_Spec):
    kind: Literal["tabular"] = "tabular"
    columns: list[TabularColumn]
    missing_values: list[str] = Field(default_factory=lambda: list(DEFAULT_MISSING_VALUES))

    @property
    def numeric_columns(self) -> list[TabularColumn]:
        return [c for c in self.columns if c.kind == ColumnKind.NUMERIC]

    @property
    def categorical_columns(self) -> list[TabularColumn]:
        return [c for c in self.columns if c.kind == ColumnKind.CATEGORICAL]


InputSpec = ImageSpec | TextSpec | TabularSpec


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    format_version: int = FORMAT_VERSION
    name: str
    version: str
    kind: ModelKind
    class_names: list[str] = Field(min_length=2)
    label_column: str | None = None
    input: InputSpec = Field(discriminator="kind")
    architecture: str
    parameter_count: int
    created_at: datetime
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_kind(self) -> Manifest:
        if self.input.kind != self.kind.value:
            raise ValueError(f"input spec is for {self.input.kind!r} but model kind is {self.kind}")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError("class names must be unique")
        return self

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
