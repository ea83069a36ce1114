"""Typed training configurations, built from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class CommonConfig:
    data: Path
    test_data: Path | None
    output: Path
    name: str
    version: str
    validation_fraction: float
    test_fraction: float
    seed: int
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    patience: int
    monitor: str
    device: torch.device
    encoding: str
    ensemble_size: int


@dataclass(frozen=True)
class ImageConfig:
    arch: str
    image_size: int | None
    channels: int | None
    width: int
    augment: bool
    decode_threads: int
    max_memory_gb: float


@dataclass(frozen=True)
class TextConfig:
    text_column: str
    label_column: str
    encoder: str
    embed_dim: int
    hidden_size: int
    dropout: float
    max_tokens: int
    min_token_count: int
    max_vocabulary: int
    lowercase: bool


@dataclass(frozen=True)
class TabularConfig:
    label_column: str
    numeric_columns: list[str] | None
    categorical_columns: list[str] | None
    ignore_columns: list[str]
    missing_values: list[str]
    embed_dim: int
    hidden_sizes: list[int]
    dropout: float
    bins: int
    min_category_count: int
