"""The limit: raw forward throughput of a checkpoint at several batch sizes, no HTTP, no queue."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.registry import dummy_sample
from checkpoint import load_checkpoint
from inputs import make_encoder


@dataclass(frozen=True)
class RawPoint:
    batch_size: int
    items_per_s: float
    ms_per_batch: float


def measure_raw(path: Path, batch_sizes: list[int], min_seconds: float) -> list[RawPoint]:
    """Forward passes of real encoded-shape inputs under inference_mode, as the service runs them."""
    loaded = load_checkpoint(path)
    encoder = make_encoder(loaded.manifest)
    sample = dummy_sample(loaded.manifest)
    points = []
    with torch.inference_mode():
        for size in batch_sizes:
            batch = [sample] * size
            for _ in range(3):  # warm-up
                loaded.module(encoder.collate(batch))
            runs, started = 0, time.perf_counter()
            while True:
                probabilities = torch.softmax(loaded.module(encoder.collate(batch)), 1).numpy()
                runs += 1
                elapsed = time.perf_counter() - started
                if elapsed >= min_seconds and runs >= 3:
                    break
            assert isinstance(probabilities, np.ndarray)
            points.append(RawPoint(size, runs * size / elapsed, 1000 * elapsed / runs))
    return points


def interpolate_items_per_s(points: list[RawPoint], batch_size: float) -> float:
    """Raw throughput at a (fractional) batch size, linear between measured sizes."""
    sizes = [p.batch_size for p in points]
    rates = [p.items_per_s for p in points]
    return float(np.interp(batch_size, sizes, rates))
