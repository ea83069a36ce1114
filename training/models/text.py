"""Text classifiers over token ids (0 is padding): a recurrent encoder or a bag of embeddings."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

TEXT_ENCODERS = ("gru", "lstm", "bag")


def _masked_pools(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Concatenate the mean and the max of `states` (N, T, D) over unmasked steps."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    lengths = weights.sum(dim=1).clamp(min=1.0)
    mean = (states * weights).sum(dim=1) / lengths
    maximum = states.masked_fill(~mask.unsqueeze(-1), -1e4).max(dim=1).values
    return torch.cat([mean, maximum], dim=1)


class RecurrentTextClassifier(nn.Module):
    """Embeddings, a bidirectional GRU or LSTM over the real tokens, mean and max pooling."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int,
        hidden_size: int,
        cell: str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        rnn_type = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn_type(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden_size, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != 0  # (N, T)
        lengths = mask.sum(dim=1).clamp(min=1)
        embedded = self.dropout(self.embedding(ids))  # (N, T, E)
        # Packing makes the result independent of how much padding a batch has.
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        states, _ = pad_packed_sequence(output, batch_first=True, total_length=ids.size(1))
        return self.head(self.dropout(_masked_pools(states, mask)))


class BagOfEmbeddingsClassifier(nn.Module):
    """Mean and max of token embeddings, then a hidden layer: fast, order-blind."""

    def __init__(
        self, vocab_size: int, num_classes: int, embed_dim: int, hidden_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.hidden = nn.Sequential(nn.Linear(2 * embed_dim, hidden_size), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != 0
        return self.head(self.hidden(_masked_pools(self.embedding(ids), mask)))


def build_text_model(
    encoder: str,
    vocab_size: int,
    num_classes: int,
    embed_dim: int,
    hidden_size: int,
    dropout: float,
) -> nn.Module:
    if encoder == "bag":
        return BagOfEmbeddingsClassifier(vocab_size, num_classes, embed_dim, hidden_size, dropout)
    if encoder in ("gru", "lstm"):
        return RecurrentTextClassifier(vocab_size, num_classes, embed_dim, hidden_size, encoder, dropout)
    raise ValueError(f"unknown text encoder {encoder!r}; choose one of {TEXT_ENCODERS}")
