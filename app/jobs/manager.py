"""Run bulk jobs in the background, persist their progress and results, recover after restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from app.bulk.pipeline import BulkRun
from app.errors import ServiceError
from app.jobs.records import JobRecord, JobState, utc_now
from app.jobs.store import JobStore

logger = logging.getLogger(__name__)

# How often a running job's progress is written to job.json.
PROGRESS_SAVE_INTERVAL_S = 1.0


class JobNotFoundError(ServiceError):
    status_code = 404


class JobNotFinishedError(ServiceError):
    status_code = 409


def count_zip_items(path: Path) -> int | None:
    """Entry count of a zip (its central directory is cheap to read); None for other formats."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError):
        return None


class JobManager:
    def __init__(self, store: JobStore, ttl_s: float, max_running: int) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._slots = asyncio.Semaphore(max_running)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._records: dict[str, JobRecord] = {}
        self._shutting_down = False

    def recover(self) -> None:
        """Mark jobs left queued or running by a previous process as interrupted; expire old jobs."""
        for record in self.store.all():
            if not record.state.finished:
                record.state = JobState.INTERRUPTED
                record.finished_at = utc_now()
                record.error = "the service stopped before the job finished; resubmit it"
                self.store.save(record)
                with contextlib.suppress(FileNotFoundError):
                    self.store.upload_path(record.job_id).unlink()
                logger.warning(
                    "job %s was interrupted by a restart after %d items", record.job_id, record.items_done
                )
        self.expire()

    def expire(self) -> int:
        """Delete finished jobs older than the time to live; return how many were deleted."""
        cutoff = utc_now() - timedelta(seconds=self.ttl_s)
        expired = [
            r for r in self.store.all() if r.state.finished and (r.finished_at or r.created_at) < cutoff
        ]
        for record in expired:
            self.store.delete(record.job_id)
            logger.info("job %s expired and was deleted", record.job_id)
        return len(expired)

    def new_job_id(self) -> str:
        return uuid.uuid4().hex

    async def save_upload(self, job_id: str, file: BinaryIO) -> Path:
        path = self.store.upload_path(job_id)
        path.parent.mkdir(parents=True, exist_ok=True)

        def copy() -> None:
            file.seek(0)
            with path.open("wb") as out:
                shutil.copyfileobj(file, out, 1024 * 1024)

        await asyncio.to_thread(copy)
        return path

    def start(self, record: JobRecord, run: BulkRun, file: BinaryIO) -> None:
        """Persist the record and run the prepared job in the background."""
        self._records[record.job_id] = record
        self.store.save(record)
        task = asyncio.create_task(self._run(record, run, file), name=f"job-{record.job_id}")
        self._tasks[record.job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(record.job_id, None))

    def get(self, job_id: str) -> JobRecord:
        record = self._records.get(job_id) or self.store.load(job_id)
        if record is None:
            raise JobNotFoundError(f"job {job_id!r} does not exist or has expired")
        return record

    async def _run(self, record: JobRecord, run: BulkRun, file: BinaryIO) -> None:
        try:
            async with self._slots:
                record.state = JobState.RUNNING
                record.started_at = utc_now()
                self.store.save(record)
                logger.info("job %s started: %s with model %s", record.job_id, record.filename, record.model)
                await self._write_results(record, run)
            self.store.save_summary(record.job_id, run.summary.as_dict())
            record.state = JobState.SUCCEEDED
        except asyncio.CancelledError:
            record.state = JobState.INTERRUPTED if self._shutting_down else JobState.CANCELLED
            if self._shutting_down:
                record.error = "the service stopped before the job finished; resubmit it"
            with contextlib.suppress(OSError, ValueError):
                self.store.save_summary(record.job_id, run.summary.as_dict())
        except Exception as exc:  # noqa: BLE001 - recorded on the job and logged
            logger.exception("job %s failed", record.job_id)
            record.state = JobState.FAILED
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            record.finished_at = utc_now()
            self.store.save(record)
            file.close()
            with contextlib.suppress(FileNotFoundError):
                self.store.upload_path(record.job_id).unlink()
            self._records.pop(record.job_id, None)
            logger.info(
                "job %s %s: %d items, %d failed",
                record.job_id,
                record.state.value,
                record.items_done,
                record.items_failed,
            )

    async def _write_results(self, record: JobRecord, run: BulkRun) -> None:
        last_save_s = time.monotonic()
        with self.store.results_path(record.job_id).open("w", encoding="utf-8") as out:
            async for items in run.results():
                out.write("".join(json.dumps(item.as_dict(), allow_nan=False) + "\n" for item in items))
                record.items_done += len(items)
                record.items_failed += sum(1 for item in items if item.error is not None)
                if time.monotonic() - last_save_s >= PROGRESS_SAVE_INTERVAL_S:
                    out.flush()
                    self.store.save(record)
                    last_save_s = time.monotonic()

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued or running job; its results so far are kept."""
        self.get(job_id)  # raises JobNotFoundError for an unknown id
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return self.get(job_id)

    def delete(self, job_id: str) -> None:
        record = self.get(job_id)
        if not record.state.finished:
            raise JobNotFinishedError(f"job {job_id} is {record.state.value}; cancel it first")
        self.store.delete(job_id)

    async def shutdown(self) -> None:
        """Stop running jobs and mark them interrupted, keeping the results written so far."""
        self._shutting_down = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
