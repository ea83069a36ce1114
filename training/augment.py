"""Batch augmentation for uint8 image tensors: random shifts and horizontal flips."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shift_and_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Randomly translate each image by up to `pad` pixels (reflect-padded) and flip half of them."""
    n, _, height, width = images.shape
    padded = F.pad(images.float(), (pad, pad, pad, pad), mode="reflect").to(images.dtype)
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    out = torch.empty_like(images)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        out[i] = padded[i, :, dy : dy + height, dx : dx + width]
    flip = torch.rand(n, generator=generator) < 0.5
    out[flip] = out[flip].flip(-1)
    return out
