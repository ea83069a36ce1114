"""The bulk pipeline: read chunks lazily, encode them in a thread pool ahead of the model,
classify in full batches on the model's inference thread, and evaluate as results stream out.

Memory stays bounded: at most `prefetch_chunks` encoded chunks wait for the
model, and results are handed to the caller chunk by chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.bulk.encode import EncodedChunk, encode_csv_chunk, encode_items
from app.datasets.csv_reader import CsvChunk
from app.datasets.sources import DatasetSource, RawChunk
from app.inference import Priority
from app.metrics import ServiceMetrics
from app.registry import ServedModel
from evaluation import ClassificationReport, ConfusionMatrix
from inputs import InputError

logger = logging.getLogger(__name__)

_END = object()
# Items the model fails on are logged one by one up to this count per run, then only counted
# in classify_failed_items and reported per item in the results.
MAX_LOGGED_MODEL_FAILURES = 5


@dataclass(frozen=True)
class ItemResult:
    id: str
    label: str | None
    confidence: float | None
    true_label: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label, "confidence": self.confidence}
        if self.true_label is not None:
            out["true_label"] = self.true_label
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class BulkSummary:
    model: str
    version: str
    count: int = 0
    classified: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    labelled: int = 0
    unknown_true_labels: dict[str, int] = field(default_factory=dict)
    metrics: ClassificationReport | None = None
    elapsed_s: float = 0.0
    stopped_early: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "count": self.count,
            "classified": self.classified,
            "failed": self.failed,
            "skipped": self.skipped,
            "labelled": self.labelled,
            "unknown_true_labels": self.unknown_true_labels,
            "elapsed_s": round(self.elapsed_s, 3),
            "items_per_s": round(self.count / self.elapsed_s, 1) if self.elapsed_s else None,
            "stopped_early": self.stopped_early,
            **self.details,
            "metrics": self.metrics.model_dump() if self.metrics else None,
        }


@dataclass(frozen=True)
class BulkOptions:
    batch_size: int
    prefetch_chunks: int
    decode_workers: int


class BulkRun:
    """One dataset through one model. Call `prepare()`, then iterate `results()`, then read `summary`."""

    def __init__(
        self,
        served: ServedModel,
        source: DatasetSource,
        options: BulkOptions,
        pool: Executor,
        metrics: ServiceMetrics,
    ) -> None:
        self.served = served
        self.source = source
        self.options = options
        self.pool = pool
        self.metrics = metrics
        manifest = served.manifest
        self.summary = BulkSummary(model=manifest.name, version=manifest.version)
        self._class_index = {name: i for i, name in enumerate(manifest.class_names)}
        self._confusion = ConfusionMatrix(manifest.class_names)
        self._unknown: Counter[str] = Counter()
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, options.prefetch_chunks))
        self._producer: asyncio.Task[None] | None = None
        self._first: EncodedChunk | None = None
        self._next_position = 0
        self._started_s = time.monotonic()
        self._model_failures = 0

    # Reading and encoding (runs ahead of the model)

    async def _next_raw(self) -> RawChunk | None:
        return await asyncio.to_thread(next, self.source.chunks, None)

    async def _encode(self, raw: RawChunk) -> EncodedChunk:
        loop = asyncio.get_running_loop()
        encoder = self.served.encoder
        if isinstance(raw, CsvChunk):
            return await loop.run_in_executor(
                self.pool, encode_csv_chunk, encoder, raw, self.source.label_column
            )
        start = self._next_position
        self._next_position += len(raw)
        parts = max(1, min(self.options.decode_workers, len(raw) // 16 or 1))
        size = -(-len(raw) // parts)
        pieces = await asyncio.gather(
            *(
                loop.run_in_executor(self.pool, encode_items, encoder, raw[i : i + size], start + i)
                for i in range(0, len(raw), size)
            )
        )
        merged = EncodedChunk()
        for piece in pieces:
            merged.extend(piece)
        return merged

    async def prepare(self) -> None:
        """Read and encode the first chunk, so that dataset-level errors surface before any output."""
        raw = await self._next_raw()
        if raw is None:
            skipped = self.source.skipped.as_dict()
            found = f"; skipped entries: {skipped}" if skipped else ""
            raise InputError(f"the dataset has no items to classify{found}")
        self._first = await self._encode(raw)

    async def _produce(self) -> None:
        # On cancellation nothing more is queued: the consumer is gone and the queue may be full.
        try:
            while True:
                raw = await self._next_raw()
                if raw is None:
                    break
                await self._queue.put(await self._encode(raw))
        except InputError as exc:
            # A problem found mid-way (a truncated archive, an archive bomb): keep what was done.
            await self._queue.put(exc)
        except Exception as exc:  # noqa: BLE001 - reported in the summary, logged here
            logger.exception("reading the dataset for model %s failed", self.served.name)
            await self._queue.put(exc)
        await self._queue.put(_END)

    # Classification

    async def _classify(self, chunk: EncodedChunk) -> list[ItemResult]:
        names = self.served.manifest.class_names
        results: list[tuple[int, ItemResult]] = []
        for failure in chunk.failures:
            results.append(
                (failure.position, ItemResult(failure.id, None, None, failure.true_label, failure.error))
            )
        batch = self.options.batch_size
        for start in range(0, len(chunk.samples), batch):
            outcomes = await self._forward_isolating(chunk.samples[start : start + batch])
            for offset, outcome in enumerate(outcomes):
                i = start + offset
                if isinstance(outcome, str):
                    item = ItemResult(chunk.ids[i], None, None, chunk.true_labels[i], outcome)
                else:
                    index = int(outcome.argmax())
                    confidence = float(outcome[index])
                    if np.isfinite(confidence):
                        item = ItemResult(chunk.ids[i], names[index], confidence, chunk.true_labels[i])
                    else:
                        item = ItemResult(
                            chunk.ids[i],
                            None,
                            None,
                            chunk.true_labels[i],
                            "the model produced a non-finite probability for this item",
                        )
                results.append((chunk.positions[i], item))
        results.sort(key=lambda pair: pair[0])
        return [item for _, item in results]

    async def _forward_isolating(self, samples: list[np.ndarray]) -> list[np.ndarray | str]:
        """Return each sample's probabilities, or an error message for a sample the model fails on.

        When a batch raises, its halves are retried until the failing samples are found,
        so one bad item costs about log2(batch) extra forward passes, not a failed run.
        """
        try:
            result = await self.served.worker.run(samples, Priority.BULK)
        except Exception as exc:  # noqa: BLE001 - any model error is isolated to its items
            if len(samples) == 1:
                self.metrics.failed_items.labels(self.served.name).inc()
                self._model_failures += 1
                if self._model_failures <= MAX_LOGGED_MODEL_FAILURES:
                    logger.warning(
                        "model %s failed on dataset item %d of this run: %s: %s",
                        self.served.name,
                        self._model_failures,
                        type(exc).__name__,
                        exc,
                    )
                return [f"the model failed on this item: {type(exc).__name__}: {exc}"]
            middle = len(samples) // 2
            return await self._forward_isolating(samples[:middle]) + await self._forward_isolating(samples[middle:])
        self.metrics.batch_rows.labels(self.served.name, "bulk").observe(len(samples))
        self.metrics.compute.labels(self.served.name, "bulk").observe(result.compute_s)
        self.metrics.items.labels(self.served.name, "bulk").inc(len(samples))
        return list(result.probabilities)

    def _account(self, items: list[ItemResult]) -> None:
        true_indices, predicted = [], []
        for item in items:
            self.summary.count += 1
            if item.error is not None:
                self.summary.failed += 1
            else:
                self.summary.classified += 1
            if item.true_label is None:
                continue
            self.summary.labelled += 1
            truth = self._class_index.get(item.true_label)
            if truth is None:
                self._unknown[item.true_label] += 1
            elif item.label is not None:
                true_indices.append(truth)
                predicted.append(self._class_index[item.label])
        if true_indices:
            self._confusion.update(np.asarray(true_indices), np.asarray(predicted))

    async def results(self) -> AsyncIterator[list[ItemResult]]:
        """Yield classified items chunk by chunk, in input order within each chunk."""
        if self._first is None:
            raise RuntimeError("prepare() must run before results()")
        self._producer = asyncio.create_task(self._produce())
        chunk: object = self._first
        try:
            while chunk is not _END:
                if isinstance(chunk, Exception):
                    self.summary.stopped_early = f"reading stopped early: {chunk}"
                elif isinstance(chunk, EncodedChunk):
                    items = await self._classify(chunk)
                    self._account(items)
                    yield items
                chunk = await self._queue.get()
        finally:
            await self._close()

    async def _close(self) -> None:
        if self._producer is not None and not self._producer.done():
            self._producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer
        self.summary.skipped = self.source.skipped.as_dict()
        self.summary.unknown_true_labels = dict(self._unknown)
        self.summary.metrics = self._confusion.report() if self._confusion.total else None
        self.summary.elapsed_s = time.monotonic() - self._started_s
        close = getattr(self.source.chunks, "close", None)
        if close is not None:
            # ValueError: a read is still running in a worker thread; the generator ends with its file.
            with contextlib.suppress(ValueError):
                close()
