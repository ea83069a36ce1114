"""The per-model inference thread: forward passes off the event loop, under inference_mode."""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch

from checkpoint import LoadedCheckpoint, ModelKind
from inputs import Encoder

logger = logging.getLogger(__name__)

# Text rows are split into length buckets when padding would more than
# double the tokens a batch computes.
MAX_PADDING_RATIO = 2.0


class OutputCountError(RuntimeError):
    """The model returned a different number of outputs than it was given inputs."""


class Priority(IntEnum):
    """Order of waiting forward passes on a model's thread: lower runs first."""

    ONLINE = 0  # /predict batches: a client is waiting on each one
    BULK = 1  # /classify-dataset and job batches: throughput matters, not latency
    STOP = 2  # the shutdown marker, after everything already queued


@dataclass(frozen=True)
class _Task:
    priority: Priority
    samples: list[np.ndarray]
    future: asyncio.Future[BatchResult]
    loop: asyncio.AbstractEventLoop


# Queue entries: (priority, sequence, task). The sequence keeps first come, first served
# within a priority and makes entries compare before the task does; a None task stops the thread.
_QueueEntry = tuple[int, int, _Task | None]


@dataclass(frozen=True)
class ThreadCounts:
    """torch CPU threads for online and for bulk forward passes.

    torch's thread count is process-wide, so switching it affects every model.
    Bulk passes take all cores by default, because a dataset run is throughput-bound.
    Online passes leave cores to HTTP work.
    """

    online: int
    bulk: int

    def apply(self, priority: Priority) -> None:
        threads = self.bulk if priority == Priority.BULK else self.online
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@dataclass(frozen=True)
class BatchResult:
    probabilities: np.ndarray  # (rows, classes) float32, in input order
    compute_s: float


def length_buckets(lengths: list[int], max_padding_ratio: float = MAX_PADDING_RATIO) -> list[list[int]]:
    """Group row indices by length so each group's padded size stays within the ratio of its real tokens."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    buckets: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for index in order:
        length = lengths[index]
        # `order` is ascending, so `length` is the padded width if this row joins.
        if current and length * (len(current) + 1) > max_padding_ratio * (tokens + length):
            buckets.append(current)
            current, tokens = [], 0
        current.append(index)
        tokens += length
    if current:
        buckets.append(current)
    return buckets


class InferenceWorker:
    """Runs forward passes for one model in its own thread, one batch at a time."""

    def __init__(
        self, checkpoint: LoadedCheckpoint, encoder: Encoder, threads: ThreadCounts | None = None
    ) -> None:
        self.checkpoint = checkpoint
        self.encoder = encoder
        self.name = checkpoint.manifest.name
        self.threads = threads
        self._bucket_text = checkpoint.manifest.kind == ModelKind.TEXT
        self._tasks: queue.PriorityQueue[_QueueEntry] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._thread = threading.Thread(target=self._serve, name=f"inference-{self.name}", daemon=True)
        self._thread.start()

    def _forward(self, samples: list[np.ndarray]) -> np.ndarray:
        batch = self.encoder.collate(samples).to(self.checkpoint.device, non_blocking=True)
        logits = self.checkpoint.module(batch)
        if logits.dim() != 2 or logits.shape[0] != len(samples):
            raise OutputCountError(
                f"model {self.name} returned output of shape {tuple(logits.shape)} for {len(samples)} inputs"
            )
        return torch.softmax(logits.float(), dim=1).cpu().numpy()

    def forward(self, samples: list[np.ndarray]) -> BatchResult:
        """Classify encoded samples; blocking, so call it from the inference thread."""
        started = time.perf_counter()
        with torch.inference_mode():
            if self._bucket_text and len(samples) > 1:
                buckets = length_buckets([len(s) for s in samples])
                if len(buckets) == 1:
                    probabilities = self._forward(samples)
                else:
                    probabilities = np.empty(
                        (len(samples), self.checkpoint.manifest.num_classes), dtype=np.float32
                    )
                    for bucket in buckets:
                        probabilities[bucket] = self._forward([samples[i] for i in bucket])
            else:
                probabilities = self._forward(samples)
        return BatchResult(probabilities=probabilities, compute_s=time.perf_counter() - started)

    async def run(self, samples: list[np.ndarray], priority: Priority = Priority.ONLINE) -> BatchResult:
        """Classify encoded samples in the inference thread.

        Waiting online batches run before waiting bulk batches, so a /predict request
        waits for at most the one forward pass already running. A task whose caller was
        cancelled before it started is dropped without computing.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BatchResult] = loop.create_future()
        self._tasks.put((priority, next(self._sequence), _Task(priority, samples, future, loop)))
        return await future

    def _serve(self) -> None:
        while True:
            _, _, task = self._tasks.get()
            if task is None:
                return
            if task.future.cancelled():
                continue
            if self.threads is not None:
                self.threads.apply(task.priority)
            result: BatchResult | None = None
            error: BaseException | None = None
            try:
                result = self.forward(task.samples)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                error = exc
            try:
                task.loop.call_soon_threadsafe(_settle, task.future, result, error)
            except RuntimeError:
                logger.warning("model %s finished a batch after its event loop closed", self.name)

    def shutdown(self) -> None:
        """Finish every queued forward pass, then stop the thread."""
        self._tasks.put((Priority.STOP, next(self._sequence), None))
        self._thread.join()


def _settle(future: asyncio.Future[BatchResult], result: BatchResult | None, error: BaseException | None) -> None:
    if future.done():
        return  # the caller was cancelled while the forward pass ran
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
