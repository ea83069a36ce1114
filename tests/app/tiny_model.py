"""A tiny tabular model with fixed weights, so batched outputs can be checked exactly."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.inference import BatchResult, InferenceWorker
from checkpoint import ColumnKind, LoadedCheckpoint, Manifest, ModelKind, TabularColumn, TabularSpec
from checkpoint.io import script_module
from inputs import make_encoder

WEIGHTS = torch.tensor([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0]])  # (2 features, 3 classes)
POISON = 666.0  # a row whose first value is this makes the forward pass raise
SHORT = 777.0  # a row whose first value is this makes the model return one output too few


class FixedLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weights", WEIGHTS.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool((x[:, 0] == 666.0).any()):
            raise RuntimeError("poisoned row")
        if bool((x[:, 0] == 777.0).any()):
            return (x @ self.weights)[:-1]
        return x @ self.weights


def expected_probabilities(rows: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(rows).float() @ WEIGHTS, dim=1).numpy()


def tiny_manifest(name: str = "tiny") -> Manifest:
    spec = TabularSpec(
        columns=[
            TabularColumn(name="a", kind=ColumnKind.NUMERIC, mean=0.0, std=1.0),
            TabularColumn(name="b", kind=ColumnKind.NUMERIC, mean=0.0, std=1.0),
        ]
    )
    return Manifest(
        name=name,
        version="7",
        kind=ModelKind.TABULAR,
        class_names=["x", "y", "z"],
        label_column="label",
        input=spec,
        architecture="fixed linear",
        parameter_count=0,
        created_at=datetime.now(UTC),
    )


class GatedWorker(InferenceWorker):
    """The real inference worker, plus a gate that holds forward passes and a log of batches."""

    def __init__(self) -> None:
        manifest = tiny_manifest()
        checkpoint = LoadedCheckpoint(
            Path("tiny.pt"), script_module(FixedLinear()), manifest, torch.device("cpu")
        )
        super().__init__(checkpoint, make_encoder(manifest))
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[np.ndarray] = []
        self.started_s: list[float] = []
        self.entered = threading.Semaphore(0)

    def forward(self, samples: list[np.ndarray]) -> BatchResult:
        self.started_s.append(time.monotonic())
        self.batches.append(np.stack(samples))
        self.entered.release()
        self.gate.wait(timeout=30)
        return super().forward(samples)
