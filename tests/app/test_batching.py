"""The micro-batcher below HTTP, with a fixed-weight model whose outputs are exact."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from app.batching import Batcher, BatcherConfig
from app.errors import BatcherStoppedError, InferenceError, OverloadedError, PayloadTooLargeError
from app.metrics import ServiceMetrics
from tests.app.tiny_model import POISON, SHORT, GatedWorker, expected_probabilities


def _rows(*values: float) -> list[np.ndarray]:
    return [np.asarray([v, v / 10], dtype=np.float32) for v in values]


def _make(worker: GatedWorker, **overrides: object) -> Batcher:
    options = {
        "max_batch_size": 8,
        "max_delay_ms": 5.0,
        "max_queue_rows": 100,
        "idle_dispatch": True,
        "max_in_flight": 2,
        **overrides,
    }
    return Batcher(worker, BatcherConfig(**options), ServiceMetrics())  # type: ignore[arg-type]


async def _entered(worker: GatedWorker) -> None:
    """Wait until a forward pass has started in the inference thread."""
    await asyncio.to_thread(worker.entered.acquire, True, 10)


@pytest.fixture
def worker() -> GatedWorker:
    gated = GatedWorker()
    yield gated
    gated.gate.set()
    gated.shutdown()


async def test_exact_outputs_in_request_order(worker: GatedWorker) -> None:
    batcher = _make(worker)
    batcher.start()
    requests = [_rows(float(i)) if i % 3 else _rows(float(i), -float(i)) for i in range(20)]
    results = await asyncio.gather(*(batcher.classify(r, 10) for r in requests))
    for rows, probabilities in zip(requests, results, strict=True):
        np.testing.assert_allclose(probabilities, expected_probabilities(np.stack(rows)), rtol=1e-6)
    assert sum(len(b) for b in worker.batches) == sum(len(r) for r in requests)
    await batcher.stop()


async def test_batches_form_while_a_batch_runs(worker: GatedWorker) -> None:
    batcher = _make(worker, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    first = asyncio.ensure_future(batcher.classify(_rows(1.0), 10))
    await _entered(worker)
    rest = [asyncio.ensure_future(batcher.classify(_rows(float(i)), 10)) for i in range(6)]
    await asyncio.sleep(0.05)
    worker.gate.set()
    await asyncio.gather(first, *rest)
    assert [len(b) for b in worker.batches] == [1, 6]
    await batcher.stop()


async def test_delay_counts_from_oldest_request(worker: GatedWorker) -> None:
    delay_s = 0.4
    batcher = _make(worker, idle_dispatch=False, max_delay_ms=delay_s * 1000, max_batch_size=100)
    batcher.start()
    older = batcher.submit(_rows(1.0))
    await asyncio.sleep(delay_s / 2)
    newer = batcher.submit(_rows(2.0))
    await asyncio.gather(older.future, newer.future)
    assert len(worker.batches) == 1
    dispatched_s = worker.started_s[0]
    assert dispatched_s >= older.arrived_s + delay_s
    # Dispatched on the oldest request's clock, before the newer one's delay ran out.
    assert dispatched_s < newer.arrived_s + delay_s
    await batcher.stop()


async def test_batch_never_exceeds_max_rows(worker: GatedWorker) -> None:
    batcher = _make(worker, max_batch_size=4, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    blocker = asyncio.ensure_future(batcher.classify(_rows(0.0), 10))
    await _entered(worker)
    sizes = [1, 3, 2, 2, 1, 4, 1]
    pending = [asyncio.ensure_future(batcher.classify(_rows(*range(n)), 10)) for n in sizes]
    await asyncio.sleep(0.05)
    worker.gate.set()
    await asyncio.gather(blocker, *pending)
    assert all(len(b) <= 4 for b in worker.batches)
    assert sum(len(b) for b in worker.batches) == 1 + sum(sizes)
    with pytest.raises(PayloadTooLargeError, match="batch limit of 4"):
        batcher.submit(_rows(*range(5)))
    await batcher.stop()


async def test_failing_row_fails_alone(worker: GatedWorker) -> None:
    batcher = _make(worker, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    blocker = asyncio.ensure_future(batcher.classify(_rows(0.0), 10))
    await _entered(worker)
    good = [asyncio.ensure_future(batcher.classify(_rows(float(i)), 10)) for i in range(1, 4)]
    bad = asyncio.ensure_future(batcher.classify(_rows(POISON), 10))
    await asyncio.sleep(0.05)
    worker.gate.set()
    await blocker
    for task, value in zip(good, (1.0, 2.0, 3.0), strict=True):
        np.testing.assert_allclose(await task, expected_probabilities(np.stack(_rows(value))), rtol=1e-6)
    with pytest.raises(InferenceError, match="poisoned row"):
        await bad
    assert batcher.alive
    await batcher.stop()


async def test_cancelled_request_is_not_computed(worker: GatedWorker) -> None:
    batcher = _make(worker, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    blocker = asyncio.ensure_future(batcher.classify(_rows(0.0), 10))
    await _entered(worker)
    leaving = asyncio.ensure_future(batcher.classify(_rows(42.0), 10))
    staying = asyncio.ensure_future(batcher.classify(_rows(7.0), 10))
    await asyncio.sleep(0.02)
    assert batcher.queued_rows == 2
    leaving.cancel()
    await asyncio.sleep(0.02)
    assert batcher.queued_rows == 1
    worker.gate.set()
    await asyncio.gather(blocker, staying)
    computed = np.concatenate(worker.batches)[:, 0].tolist()
    assert 42.0 not in computed
    assert 7.0 in computed
    sample = batcher.metrics.cancelled_rows.labels("tiny", "queued")._value.get()
    assert sample == 1
    await batcher.stop()


async def test_timeout_removes_request(worker: GatedWorker) -> None:
    from app.errors import RequestTimeoutError

    batcher = _make(worker, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    blocker = asyncio.ensure_future(batcher.classify(_rows(0.0), 10))
    await _entered(worker)
    with pytest.raises(RequestTimeoutError, match="CLASSIFY_REQUEST_TIMEOUT_S"):
        await batcher.classify(_rows(5.0), 0.05)
    assert batcher.queued_rows == 0
    worker.gate.set()
    await blocker
    await batcher.stop()
    assert 5.0 not in np.concatenate(worker.batches)[:, 0].tolist()


async def test_overload_rejects_past_queue_bound(worker: GatedWorker) -> None:
    batcher = _make(worker, max_queue_rows=5, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    blocker = asyncio.ensure_future(batcher.classify(_rows(0.0), 10))
    await _entered(worker)
    admitted = [asyncio.ensure_future(batcher.classify(_rows(1.0, 2.0), 10)) for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(OverloadedError) as info:
        batcher.submit(_rows(1.0, 2.0))
    assert info.value.status_code == 503
    assert info.value.headers == {"Retry-After": "1"}
    worker.gate.set()
    results = await asyncio.gather(blocker, *admitted)
    assert [len(r) for r in results] == [1, 2, 2]
    await batcher.stop()


async def test_dead_batcher_fails_waiting_requests(worker: GatedWorker) -> None:
    batcher = _make(worker, idle_dispatch=False, max_delay_ms=50)
    batcher.start()

    def explode() -> list:
        raise RuntimeError("assembly bug")

    batcher._take_batch = explode  # type: ignore[method-assign]
    waiting = asyncio.ensure_future(batcher.classify(_rows(1.0), 10))
    with pytest.raises(BatcherStoppedError, match="stopped"):
        await asyncio.wait_for(waiting, 5)
    assert not batcher.alive
    with pytest.raises(BatcherStoppedError):
        batcher.submit(_rows(1.0))


async def test_stop_drains_queued_requests(worker: GatedWorker) -> None:
    batcher = _make(worker, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    tasks = [asyncio.ensure_future(batcher.classify(_rows(float(i)), 10)) for i in range(5)]
    await _entered(worker)
    stopping = asyncio.ensure_future(batcher.stop())
    await asyncio.sleep(0.02)
    with pytest.raises(BatcherStoppedError, match="shutting down"):
        batcher.submit(_rows(1.0))
    worker.gate.set()
    await stopping
    results = await asyncio.gather(*tasks)
    assert len(results) == 5
    assert all(r.shape == (1, 3) for r in results)


async def test_wrong_output_count_fails_only_that_request(worker: GatedWorker) -> None:
    from app.inference import OutputCountError

    with pytest.raises(OutputCountError, match=r"shape \(1, 3\) for 2 inputs"):
        worker.forward(_rows(SHORT, 1.0))
    batcher = _make(worker, max_in_flight=1)
    batcher.start()
    worker.gate.clear()
    blocker = asyncio.ensure_future(batcher.classify(_rows(0.0), 10))
    await _entered(worker)
    good = asyncio.ensure_future(batcher.classify(_rows(2.0), 10))
    bad = asyncio.ensure_future(batcher.classify(_rows(SHORT), 10))
    await asyncio.sleep(0.05)
    worker.gate.set()
    await blocker
    np.testing.assert_allclose(await good, expected_probabilities(np.stack(_rows(2.0))), rtol=1e-6)
    with pytest.raises(InferenceError, match="OutputCountError"):
        await bad
    await batcher.stop()


def test_length_buckets_bound_padding() -> None:
    from app.inference import MAX_PADDING_RATIO, length_buckets

    lengths = [3, 200, 4, 180, 5, 3, 190, 4]
    buckets = length_buckets(lengths)
    assert sorted(i for bucket in buckets for i in bucket) == list(range(len(lengths)))
    assert len(buckets) == 2
    for bucket in buckets:
        sizes = [lengths[i] for i in bucket]
        assert max(sizes) * len(sizes) <= MAX_PADDING_RATIO * sum(sizes)
    assert length_buckets([7, 7, 8]) == [[0, 1, 2]]


async def test_online_batches_run_before_waiting_bulk(worker: GatedWorker) -> None:
    from app.inference import Priority

    worker.gate.clear()
    running = asyncio.ensure_future(worker.run(_rows(1.0), Priority.BULK))
    await _entered(worker)
    waiting_bulk = asyncio.ensure_future(worker.run(_rows(2.0), Priority.BULK))
    await asyncio.sleep(0.02)
    online = asyncio.ensure_future(worker.run(_rows(3.0), Priority.ONLINE))
    await asyncio.sleep(0.02)
    worker.gate.set()
    await asyncio.gather(running, waiting_bulk, online)
    assert [float(batch[0, 0]) for batch in worker.batches] == [1.0, 3.0, 2.0]


async def test_cancelled_task_is_not_computed(worker: GatedWorker) -> None:
    worker.gate.clear()
    running = asyncio.ensure_future(worker.run(_rows(1.0)))
    await _entered(worker)
    abandoned = asyncio.ensure_future(worker.run(_rows(2.0)))
    await asyncio.sleep(0.02)
    abandoned.cancel()
    worker.gate.set()
    await running
    await asyncio.to_thread(worker.shutdown)
    assert [float(batch[0, 0]) for batch in worker.batches] == [1.0]
