"""The job record, persisted as job.json in the job's folder."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the service stopped while the job was queued or running

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class JobRecord(BaseModel):
    job_id: str
    model: str
    version: str
    filename: str
    state: JobState = JobState.QUEUED
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    items_done: int = 0
    items_failed: int = 0
    items_total: int | None = None
    label_column: str | None = None
    encoding: str | None = None
    error: str | None = None

    def rate_per_s(self, now: datetime | None = None) -> float | None:
        if self.started_at is None or self.items_done == 0:
            return None
        end = self.finished_at or now or datetime.now(UTC)
        seconds = (end - self.started_at).total_seconds()
        return self.items_done / seconds if seconds > 0 else None

    def eta_s(self) -> float | None:
        rate = self.rate_per_s()
        if self.state != JobState.RUNNING or rate is None or self.items_total is None:
            return None
        return max(0.0, (self.items_total - self.items_done) / rate)


def utc_now() -> datetime:
    return datetime.now(UTC)
