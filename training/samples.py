"""In-memory sample sets that hand out model-ready batches by index."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from inputs.encoders import pad


@dataclass
class SampleSet:
    """Encoded samples with class indices.

    `samples` is a tensor whose first axis indexes samples, or a list of
    variable-length token id arrays (text), which are padded per batch.
    """

    samples: torch.Tensor | Sequence[np.ndarray]
    labels: np.ndarray
    lengths: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, indices: np.ndarray) -> torch.Tensor:
        if isinstance(self.samples, torch.Tensor):
            return self.samples[torch.from_numpy(indices)]
        return pad([self.samples[i] for i in indices])

    def subset(self, indices: np.ndarray) -> SampleSet:
        if isinstance(self.samples, torch.Tensor):
            return SampleSet(self.samples[torch.from_numpy(indices)], self.labels[indices])
        picked = [self.samples[i] for i in indices]
        return SampleSet(picked, self.labels[indices], np.asarray([len(s) for s in picked]))


def training_batches(samples: SampleSet, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled index batches; text is grouped by length so batches carry little padding."""
    order = rng.permutation(len(samples))
    if samples.lengths is not None:
        pool = batch_size * 32
        chunks = [order[i : i + pool] for i in range(0, len(order), pool)]
        order = np.concatenate([c[np.argsort(samples.lengths[c], kind="stable")] for c in chunks])
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def evaluation_batches(samples: SampleSet, batch_size: int) -> list[np.ndarray]:
    """Index batches in sorted-length order for text (results are put back in order by the caller)."""
    order = np.arange(len(samples))
    if samples.lengths is not None:
        order = np.argsort(samples.lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
