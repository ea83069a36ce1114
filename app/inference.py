"""The per-model inference thread: forward passes off the event loop, under inference_mode."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from checkpoint import LoadedCheckpoint, ModelKind
from inputs import Encoder

logger = logging.getLogger(__name__)

# Text rows are split into length buckets when padding would more than
# double the tokens a batch computes.
MAX_PADDING_RATIO = 2.0


class OutputCountError(RuntimeError):
    """The model returned a different number of outputs than it was given inputs."""


@dataclass(frozen=True)
class BatchResult:
    probabilities: np.ndarray  # (rows, classes) float32, in input order
    compute_s: float


def length_buckets(lengths: list[int], max_padding_ratio: float = MAX_PADDING_RATIO) -> list[list[int]]:
    """Group row indices by length so each group's padded size stays within the ratio of its real tokens."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    buckets: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for index in order:
        length = lengths[index]
        # `order` is ascending, so `length` is the padded width if this row joins.
        if current and length * (len(current) + 1) > max_padding_ratio * (tokens + length):
            buckets.append(current)
            current, tokens = [], 0
        current.append(index)
        tokens += length
    if current:
        buckets.append(current)
    return buckets


class InferenceWorker:
    """Runs forward passes for one model in its own thread, one batch at a time."""

    def __init__(self, checkpoint: LoadedCheckpoint, encoder: Encoder) -> None:
        self.checkpoint = checkpoint
        self.encoder = encoder
        self.name = checkpoint.manifest.name
        self._bucket_text = checkpoint.manifest.kind == ModelKind.TEXT
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"inference-{self.name}")

    def _forward(self, samples: list[np.ndarray]) -> np.ndarray:
        batch = self.encoder.collate(samples).to(self.checkpoint.device, non_blocking=True)
        logits = self.checkpoint.module(batch)
        if logits.dim() != 2 or logits.shape[0] != len(samples):
            raise OutputCountError(
                f"model {self.name} returned output of shape {tuple(logits.shape)} for {len(samples)} inputs"
            )
        return torch.softmax(logits.float(), dim=1).cpu().numpy()

    def forward(self, samples: list[np.ndarray]) -> BatchResult:
        """Classify encoded samples; blocking, so call it from the inference thread."""
        started = time.perf_counter()
        with torch.inference_mode():
            if self._bucket_text and len(samples) > 1:
                buckets = length_buckets([len(s) for s in samples])
                if len(buckets) == 1:
                    probabilities = self._forward(samples)
                else:
                    probabilities = np.empty(
                        (len(samples), self.checkpoint.manifest.num_classes), dtype=np.float32
                    )
                    for bucket in buckets:
                        probabilities[bucket] = self._forward([samples[i] for i in bucket])
            else:
                probabilities = self._forward(samples)
        return BatchResult(probabilities=probabilities, compute_s=time.perf_counter() - started)

    async def run(self, samples: list[np.ndarray]) -> BatchResult:
        """Classify encoded samples in the inference thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.forward, samples)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
