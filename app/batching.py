"""Dynamic micro-batching for single-sample requests, one batcher per model.

Contract:
- Batch size counts rows, not requests: a request with 3 rows adds 3. A request
  is never split across batches, and a request with more rows than
  `max_batch_size` is rejected before it is queued.
- A batch is dispatched when `max_batch_size` rows are waiting, or when
  `max_delay_ms` has passed since the oldest waiting request arrived (the
  clock starts at the oldest, not the newest). With `idle_dispatch` on, a
  batch is also dispatched at once whenever no batch is running, so a lone
  request never waits for company that is not coming; under load the
  requests that arrive during a forward pass form the next batch.
- At most `max_in_flight` batches are handed to the inference thread at once:
  one computing, the next ready to start without a gap.
- The queue holds at most `max_queue_rows` rows; past that, `submit` raises
  OverloadedError (503 with Retry-After).
- A request that is cancelled (client gone, timeout) while queued is removed
  and its rows are never computed.
- When a batch raises, its requests are retried one by one, so only the
  requests that fail on their own get an error.
- If the batching task dies, every waiting request fails with
  BatcherStoppedError and `alive` turns false, which makes /readyz fail.
- `stop()` stops admission, runs everything already queued, then returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from app.disconnect import ClientDisconnectedError
from app.errors import (
    BatcherStoppedError,
    InferenceError,
    OverloadedError,
    PayloadTooLargeError,
    RequestTimeoutError,
)
from app.inference import InferenceWorker
from app.metrics import ServiceMetrics

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class QueuedRequest:
    """Encoded rows of one request waiting for a batch, and the future for their probabilities."""

    samples: list[np.ndarray]
    arrived_s: float
    future: asyncio.Future[np.ndarray]
    queued: bool = field(default=True)

    @property
    def rows(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class BatcherConfig:
    max_batch_size: int
    max_delay_ms: float
    max_queue_rows: int
    idle_dispatch: bool = True
    max_in_flight: int = 2


class Batcher:
    def __init__(self, worker: InferenceWorker, config: BatcherConfig, metrics: ServiceMetrics) -> None:
        self.worker = worker
        self.config = config
        self.metrics = metrics
        self.name = worker.name
        self._queue: deque[QueuedRequest] = deque()
        self._queued_rows = 0
        self._in_flight = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._accepting = False
        self._draining = False
        self.failure: BaseException | None = None

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done() and self.failure is None

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def start(self) -> None:
        self._accepting = True
        self._task = asyncio.create_task(self._run(), name=f"batcher-{self.name}")
        self._task.add_done_callback(self._on_exit)

    # Admission

    def submit(self, samples: list[np.ndarray]) -> QueuedRequest:
        """Queue encoded rows; raise if the batcher cannot take them."""
        if not self._accepting or not self.alive:
            reason = "is shutting down" if self._draining else "is not running"
            raise BatcherStoppedError(f"model {self.name!r} {reason}; retry on another replica")
        rows = len(samples)
        if rows > self.config.max_batch_size:
            raise PayloadTooLargeError(
                f"{rows} rows in one request exceed the batch limit of {self.config.max_batch_size} "
                f"(CLASSIFY_MAX_BATCH_SIZE); send large sets to /classify-dataset"
            )
        if self._queued_rows + rows > self.config.max_queue_rows:
            raise OverloadedError(
                f"model {self.name!r} has {self._queued_rows} rows queued, the limit is "
                f"{self.config.max_queue_rows} (CLASSIFY_MAX_QUEUE_ROWS); retry shortly"
            )
        item = QueuedRequest(samples, time.monotonic(), asyncio.get_running_loop().create_future())
        self._queue.append(item)
        self._set_queued_rows(self._queued_rows + rows)
        self._changed.set()
        return item

    async def classify(
        self, samples: list[np.ndarray], timeout_s: float, disconnected: asyncio.Future[None] | None = None
    ) -> np.ndarray:
        """Queue rows and wait for their class probabilities (rows, classes).

        The request leaves the queue uncomputed when it times out, when the
        caller is cancelled, or when `disconnected` completes first (the client
        went away), which raises ClientDisconnectedError.
        """
        item = self.submit(samples)
        waiters: set[asyncio.Future] = {item.future} if disconnected is None else {item.future, disconnected}
        try:
            done, _ = await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if item.future in done:
                return item.future.result()
            item.future.cancel()
            if disconnected is not None and disconnected in done:
                raise ClientDisconnectedError()
            raise RequestTimeoutError(
                f"no result from model {self.name!r} within {timeout_s:g} s "
                f"(CLASSIFY_REQUEST_TIMEOUT_S); the service is busy, retry later"
            )
        except asyncio.CancelledError:
            item.future.cancel()
            raise
        finally:
            if item.future.cancelled():
                self._forget(item)

    def _forget(self, item: QueuedRequest) -> None:
        """Account for a request cancelled by its client."""
        stage = "queued" if item.queued else "in_flight"
        if item.queued:
            item.queued = False
            self._set_queued_rows(self._queued_rows - item.rows)
            self._changed.set()
        self.metrics.cancelled_rows.labels(self.name, stage).inc(item.rows)

    def _set_queued_rows(self, rows: int) -> None:
        self._queued_rows = rows
        self.metrics.queue_rows.labels(self.name).set(rows)

    # Batch assembly

    def _drop_cancelled_head(self) -> None:
        while self._queue and (not self._queue[0].queued or self._queue[0].future.done()):
            item = self._queue.popleft()
            if item.queued:  # resolved elsewhere while still counted
                item.queued = False
                self._set_queued_rows(self._queued_rows - item.rows)

    def _seconds_until_due(self) -> float:
        """0 when a batch should be dispatched now, else how long until the oldest is due."""
        if self._queued_rows >= self.config.max_batch_size or self._draining:
            return 0.0
        if self.config.idle_dispatch and self._in_flight == 0:
            return 0.0
        waited_s = time.monotonic() - self._queue[0].arrived_s
        return max(0.0, self.config.max_delay_ms / 1000.0 - waited_s)

    def _take_batch(self) -> list[QueuedRequest]:
        batch: list[QueuedRequest] = []
        rows = 0
        while self._queue:
            item = self._queue[0]
            if not item.queued or item.future.done():
                self._queue.popleft()
                continue
            if rows + item.rows > self.config.max_batch_size:
                break
            self._queue.popleft()
            item.queued = False
            batch.append(item)
            rows += item.rows
        self._set_queued_rows(self._queued_rows - rows)
        return batch

    async def _wait_for_change(self, timeout_s: float | None) -> None:
        """Sleep until something changes or `timeout_s` passes (a timer, not a task per wait)."""
        if timeout_s is None:
            await self._changed.wait()
            return
        timer = asyncio.get_running_loop().call_later(timeout_s, self._changed.set)
        try:
            await self._changed.wait()
        finally:
            timer.cancel()

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            self._drop_cancelled_head()
            if not self._queue:
                if self._draining and self._in_flight == 0:
                    return
                await self._wait_for_change(None)
                continue
            if self._in_flight >= self.config.max_in_flight:
                await self._wait_for_change(None)
                continue
            due_in_s = self._seconds_until_due()
            if due_in_s > 0:
                await self._wait_for_change(due_in_s)
                continue
            batch = self._take_batch()
            if batch:
                self._in_flight += 1
                task = asyncio.create_task(self._execute(batch), name=f"batch-{self.name}")
                self._batches.add(task)
                task.add_done_callback(self._batches.discard)

    # Execution

    async def _execute(self, batch: list[QueuedRequest]) -> None:
        started_s = time.monotonic()
        for item in batch:
            self.metrics.queue_wait.labels(self.name).observe(started_s - item.arrived_s)
        samples = [s for item in batch for s in item.samples]
        try:
            result = await self.worker.run(samples)
        except Exception:
            logger.warning(
                "batch of %d rows for model %s failed; retrying its %d requests one by one",
                len(samples),
                self.name,
                len(batch),
                exc_info=True,
            )
            await self._execute_one_by_one(batch)
        else:
            self._record(len(samples), result.compute_s)
            offset = 0
            for item in batch:
                if not item.future.done():
                    item.future.set_result(result.probabilities[offset : offset + item.rows])
                offset += item.rows
        finally:
            self._in_flight -= 1
            self._changed.set()

    async def _execute_one_by_one(self, batch: list[QueuedRequest]) -> None:
        for item in batch:
            if item.future.done():
                continue
            try:
                result = await self.worker.run(item.samples)
            except Exception as exc:
                logger.exception("model %s failed on a request of %d rows", self.name, item.rows)
                self.metrics.failed_items.labels(self.name).inc(item.rows)
                if not item.future.done():
                    item.future.set_exception(
                        InferenceError(
                            f"model {self.name!r} failed on this input: {type(exc).__name__}: {exc}"
                        )
                    )
            else:
                self._record(item.rows, result.compute_s)
                if not item.future.done():
                    item.future.set_result(result.probabilities)

    def _record(self, rows: int, compute_s: float) -> None:
        self.metrics.batch_rows.labels(self.name, "predict").observe(rows)
        self.metrics.compute.labels(self.name, "predict").observe(compute_s)
        self.metrics.items.labels(self.name, "predict").inc(rows)

    # Shutdown and failure

    def _on_exit(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            error: BaseException = asyncio.CancelledError()
        elif task.exception() is not None:
            error = task.exception()  # type: ignore[assignment]
            logger.error("batcher for model %s died: %r", self.name, error, exc_info=error)
        else:
            return
        self.failure = error
        self._accepting = False
        self._fail_waiting(
            BatcherStoppedError(
                f"the batcher of model {self.name!r} stopped ({type(error).__name__}); the service is "
                f"not ready, retry on another replica"
            )
        )

    def _fail_waiting(self, error: Exception) -> None:
        while self._queue:
            item = self._queue.popleft()
            if not item.future.done():
                item.future.set_exception(error)
        self._set_queued_rows(0)

    async def stop(self) -> None:
        """Stop admission, finish every queued and running batch, then end the task."""
        self._accepting = False
        self._draining = True
        self._changed.set()
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
