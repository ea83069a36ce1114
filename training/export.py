"""Export a trained model as a TorchScript checkpoint and check it against the eager model."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from checkpoint import Manifest, load_checkpoint, save_checkpoint
from checkpoint.io import script_module
from training.samples import SampleSet, evaluation_batches

logger = logging.getLogger(__name__)

# Largest allowed difference between eager and TorchScript class probabilities.
PARITY_TOLERANCE = 1e-4


class ParityError(RuntimeError):
    """The exported model disagrees with the eager model beyond PARITY_TOLERANCE."""


@torch.inference_mode()
def _probabilities(model: nn.Module, samples: SampleSet, batch_size: int) -> torch.Tensor:
    chunks = []
    order = []
    for indices in evaluation_batches(samples, batch_size):
        chunks.append(torch.softmax(model(samples.batch(indices)).float(), dim=1))
        order.append(indices)
    out = torch.empty((len(samples), chunks[0].shape[1]))
    out[torch.from_numpy(np.concatenate(order))] = torch.cat(chunks)
    return out


def export_checkpoint(
    model: nn.Module, manifest: Manifest, path: Path, parity_samples: SampleSet, batch_size: int = 256
) -> float:
    """Script and save the model, reload it, and compare it with the eager model.

    Returns the largest probability difference seen; raises ParityError when it
    exceeds PARITY_TOLERANCE, and leaves no checkpoint behind in that case.
    """
    model = model.cpu().eval()
    scripted = script_module(model)
    save_checkpoint(scripted, manifest, path)
    loaded = load_checkpoint(path, "cpu")

    eager = _probabilities(model, parity_samples, batch_size)
    exported = _probabilities(loaded.module, parity_samples, batch_size)
    difference = float((eager - exported).abs().max()) if len(parity_samples) else 0.0
    if not difference <= PARITY_TOLERANCE:
        path.unlink(missing_ok=True)
        raise ParityError(
            f"exported model differs from the eager model by {difference:.2e} in probability "
            f"(tolerance {PARITY_TOLERANCE:.0e}) on {len(parity_samples)} test samples"
        )
    logger.info(
        "exported %s: parity on %d samples, max probability difference %.2e",
        path,
        len(parity_samples),
        difference,
    )
    return difference
