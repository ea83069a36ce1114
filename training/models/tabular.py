"""An MLP for mixed numeric and categorical columns.

Input: (N, n_numeric + n_categorical) floats from the tabular encoder: raw
numeric values (NaN when missing), then category indices (0 missing,
1 unknown). Each numeric value enters three ways: standardised (0 when
missing), as a missing-value indicator, and through a piecewise-linear
encoding over its training quantiles followed by a small per-column layer.
That encoding lets an MLP model thresholds and heavy tails the way trees do
(Gorishniy et al., "On Embeddings for Numerical Features in Tabular Deep
Learning", NeurIPS 2022).
"""

from __future__ import annotations

import torch
from torch import nn


def _bin_tables(bin_edges: list[list[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Left edges and widths per column, padded to one bin count with bins that encode to 0."""
    n_bins = max([len(e) - 1 for e in bin_edges] + [1])
    lefts, widths = [], []
    for edges in bin_edges:
        column_lefts = [edges[t] for t in range(len(edges) - 1)]
        column_widths = [max(edges[t + 1] - edges[t], 1e-9) for t in range(len(edges) - 1)]
        padding = n_bins - len(column_lefts)
        lefts.append(column_lefts + [float("inf")] * padding)
        widths.append(column_widths + [1.0] * padding)
    shape = (len(bin_edges), n_bins)
    return torch.tensor(lefts).view(shape), torch.tensor(widths).view(shape)


class TabularMLP(nn.Module):
    def __init__(
        self,
        means: list[float],
        stds: list[float],
        bin_edges: list[list[float]],
        category_counts: list[int],
        num_classes: int,
        embed_dim: int,
        hidden_sizes: list[int],
        dropout: float,
    ) -> None:
        super().__init__()
        n_numeric = len(means)
        self.n_numeric = n_numeric
        self.n_categorical = len(category_counts)
        self.register_buffer("mean", torch.tensor(means, dtype=torch.float32).view(1, -1))
        self.register_buffer("std", torch.tensor(stds, dtype=torch.float32).view(1, -1))

        lefts, widths = _bin_tables(bin_edges)
        self.register_buffer("bin_lefts", lefts.unsqueeze(0))  # (1, n_numeric, n_bins)
        self.register_buffer("bin_widths", widths.unsqueeze(0))
        n_bins = lefts.shape[1]
        self.bin_weight = nn.Parameter(torch.randn(n_numeric, n_bins, embed_dim) / n_bins**0.5)
        self.bin_bias = nn.Parameter(torch.zeros(n_numeric, embed_dim))

        # Each categorical column has indices 0..count+1 (missing, unknown, categories).
        offsets, total = [], 0
        for count in category_counts:
            offsets.append(total)
            total += count + 2
        self.register_buffer("category_offsets", torch.tensor(offsets, dtype=torch.long).view(1, -1))
        self.category_embedding = nn.Embedding(max(1, total), embed_dim)

        width = 2 * n_numeric + embed_dim * (n_numeric + self.n_categorical)
        layers: list[nn.Module] = []
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.BatchNorm1d(size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        numeric = x[:, : self.n_numeric]  # (N, n_numeric)
        missing = torch.isnan(numeric)
        filled = torch.where(missing, torch.zeros_like(numeric), numeric)
        scaled = torch.where(missing, torch.zeros_like(numeric), (filled - self.mean) / self.std)
        scaled = scaled.clamp(-10.0, 10.0)

        # Piecewise-linear encoding: 1 for bins left of the value, the fraction for its bin.
        position = (filled.unsqueeze(-1) - self.bin_lefts) / self.bin_widths  # (N, n_numeric, n_bins)
        encoded = position.clamp(0.0, 1.0) * (~missing).unsqueeze(-1).float()
        bin_vectors = torch.relu(torch.einsum("njt,jtd->njd", encoded, self.bin_weight) + self.bin_bias)

        categories = x[:, self.n_numeric :].long()
        category_vectors = self.category_embedding(categories + self.category_offsets)

        features = torch.cat(
            [scaled, missing.float(), bin_vectors.flatten(1), category_vectors.flatten(1)], dim=1
        )
        return self.head(self.body(features))
