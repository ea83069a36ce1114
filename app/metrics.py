"""Prometheus metrics. Each app instance owns its registry, so tests can run several apps."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "classify_requests",
            "HTTP requests by model, endpoint and status code",
            ["model", "endpoint", "status"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "classify_queue_wait_seconds",
            "time a request waited in the batch queue",
            ["model"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.compute = Histogram(
            "classify_compute_seconds",
            "forward pass time per batch, collation included",
            ["model", "path"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "classify_batch_rows",
            "rows per forward pass",
            ["model", "path"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_rows = Gauge(
            "classify_queue_rows", "rows waiting in the batch queue", ["model"], registry=self.registry
        )
        self.items = Counter("classify_items", "items classified", ["model", "path"], registry=self.registry)
        self.cancelled_rows = Counter(
            "classify_cancelled_rows",
            "rows dropped because the client left or timed out",
            ["model", "stage"],
            registry=self.registry,
        )
        self.aborted_uploads = Counter(
            "classify_aborted_uploads",
            "request bodies that ended early: too_large, timeout (sent too slowly) or disconnect",
            ["endpoint", "reason"],
            registry=self.registry,
        )
        self.failed_items = Counter(
            "classify_failed_items", "items whose forward pass raised", ["model"], registry=self.registry
        )
