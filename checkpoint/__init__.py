"""Checkpoint format shared by training and serving.

A checkpoint is one TorchScript file whose extra file ``manifest.json`` holds
the manifest: model kind, class names, input schema and preprocessing, and the
metrics measured when it was trained. Neither half imports the other; both
import this package.
"""

from checkpoint.device import resolve_device
from checkpoint.io import CheckpointError, LoadedCheckpoint, load_checkpoint, save_checkpoint
from checkpoint.manifest import (
    FORMAT_VERSION,
    ColumnKind,
    ImageSpec,
    Manifest,
    ModelKind,
    TabularColumn,
    TabularSpec,
    TextSpec,
)

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "ColumnKind",
    "ImageSpec",
    "LoadedCheckpoint",
    "Manifest",
    "ModelKind",
    "TabularColumn",
    "TabularSpec",
    "TextSpec",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
]
