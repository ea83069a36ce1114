"""Job folders on disk: the record, the uploaded file, the results and the summary."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from app.jobs.records import JobRecord

logger = logging.getLogger(__name__)

RECORD = "job.json"
UPLOAD = "upload"
RESULTS = "results.ndjson"
SUMMARY = "summary.json"


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def upload_path(self, job_id: str) -> Path:
        return self.folder(job_id) / UPLOAD

    def results_path(self, job_id: str) -> Path:
        return self.folder(job_id) / RESULTS

    def summary_path(self, job_id: str) -> Path:
        return self.folder(job_id) / SUMMARY

    def save(self, record: JobRecord) -> None:
        """Write the record atomically, so a crash never leaves half a file."""
        folder = self.folder(record.job_id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (RECORD + ".tmp")
        tmp.write_text(record.model_dump_json(indent=1))
        tmp.replace(folder / RECORD)

    def load(self, job_id: str) -> JobRecord | None:
        path = self.folder(job_id) / RECORD
        if not path.is_file():
            return None
        try:
            return JobRecord.model_validate_json(path.read_text())
        except (ValidationError, OSError) as exc:
            logger.warning("ignoring unreadable job record %s: %s", path, exc)
            return None

    def all(self) -> Iterator[JobRecord]:
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir():
                record = self.load(folder.name)
                if record is not None:
                    yield record

    def save_summary(self, job_id: str, summary: dict) -> None:
        self.summary_path(job_id).write_text(json.dumps(summary, allow_nan=False))

    def load_summary(self, job_id: str) -> dict | None:
        path = self.summary_path(job_id)
        return json.loads(path.read_text()) if path.is_file() else None

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)
