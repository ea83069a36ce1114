"""Read figures from the service's /metrics text, for the demo, the benchmarks and the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchTotals:
    """Totals of the classify_batch_rows histogram for one model and path."""

    rows: float
    batches: float

    @property
    def mean_rows(self) -> float:
        return self.rows / self.batches if self.batches else 0.0


def batch_totals(metrics_text: str, model: str, path: str = "predict") -> BatchTotals:
    """Return the rows and forward passes counted so far for `model` on `path` (predict or bulk)."""

    def value(metric: str) -> float:
        match = re.search(rf'^{metric}{{model="{model}",path="{path}"}} (\S+)$', metrics_text, re.M)
        return float(match.group(1)) if match else 0.0

    return BatchTotals(rows=value("classify_batch_rows_sum"), batches=value("classify_batch_rows_count"))


def requests_with_status(metrics_text: str, status_prefix: str, endpoint: str | None = None) -> float:
    """Return how many requests classify_requests_total counted with a status starting with `status_prefix`.

    "5" counts every server error and "499" one exact status; `endpoint` limits the count to one endpoint.
    """
    total = 0.0
    for labels_text, value in re.findall(r"^classify_requests_total\{([^}]*)\} (\S+)$", metrics_text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if labels.get("status", "").startswith(status_prefix) and endpoint in (None, labels.get("endpoint")):
            total += float(value)
    return total
