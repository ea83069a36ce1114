"""Average several independently trained members into one model."""

from __future__ import annotations

import torch
from torch import nn


class MeanEnsemble(nn.Module):
    """Returns the log of the members' mean class probabilities (usable as logits)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(0)
        count = 0
        for member in self.members:
            probabilities = torch.softmax(member(x), dim=1)
            total = probabilities if count == 0 else total + probabilities
            count += 1
        return torch.log((total / count).clamp(min=1e-12))
