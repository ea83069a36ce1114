"""The unit a dataset reader yields, and the bounds every reader enforces."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetItem:
    """One sample: its id (archive path or CSV row number), raw payload and optional true label."""

    id: str
    payload: object
    true_label: str | None = None
    error: str | None = None  # set when the item could not be read at all


@dataclass(frozen=True)
class ReadLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_entry_bytes: int


@dataclass
class SkipCounts:
    """Entries a reader skipped, by reason, for the summary."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str) -> None:
        self.counts[reason] += 1

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)
