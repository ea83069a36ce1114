"""Bulk jobs on real servers: the whole life, cancellation, restarts and expiry."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from scripts.corpus.archives import image_entries, tar_bytes, zip_bytes
from scripts.server_process import RunningServer, start_server
from tests.conftest import MODELS


def _server(tmp_path: Path, jobs_dir: Path, **extra: str) -> RunningServer:
    env = {
        "CLASSIFY_MODEL_DIR": str(MODELS),
        "CLASSIFY_TORCH_THREADS": "1",
        "CLASSIFY_JOBS_DIR": str(jobs_dir),
        "CLASSIFY_BULK_CHUNK_ITEMS": "32",
        "CLASSIFY_BULK_BATCH_SIZE": "32",
        **extra,
    }
    return start_server(tmp_path / f"server-{time.monotonic_ns()}.log", env)


def _wait(base_url: str, job_id: str, predicate, timeout_s: float = 120) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = httpx.get(f"{base_url}/jobs/{job_id}").json()
        if predicate(status):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not reach the expected state: {status}")


@pytest.fixture(scope="module")
def big_tar(samples: Path) -> bytes:
    images = image_entries(samples / "images" / "cifar10")
    return tar_bytes({f"{copy}/{name}": data for copy in range(40) for name, data in images.items()})


def test_job_life(tmp_path: Path, samples: Path) -> None:
    server = _server(tmp_path, tmp_path / "jobs")
    try:
        archive = zip_bytes(image_entries(samples / "images" / "cifar10"))
        reply = httpx.post(f"{server.base_url}/jobs", files={"file": ("images.zip", archive)})
        assert reply.status_code == 202, reply.text
        created = reply.json()
        assert reply.headers["location"] == created["status_url"]
        assert created["items_total"] == 200
        done = _wait(server.base_url, created["job_id"], lambda s: s["state"] == "succeeded")
        assert done["items_done"] == 200
        assert done["rate_per_s"] > 0
        results = httpx.get(done["results_url"]).json()
        assert results["count"] == 200
        assert len(results["predictions"]) == 200
        assert results["metrics"]["count"] == 200
        lines = httpx.get(done["results_url"], params={"format": "ndjson"}).text.strip().split("\n")
        assert json.loads(lines[-1])["summary"]["state"] == "succeeded"
        csv_text = httpx.get(done["results_url"], headers={"accept": "text/csv"}).text
        assert len(csv_text.strip().split("\n")) == 201
        assert httpx.delete(created["status_url"]).json() == {"job_id": created["job_id"], "deleted": True}
        assert httpx.get(created["status_url"]).status_code == 404
    finally:
        server.stop()


def test_bad_job_upload_is_refused_at_once(tmp_path: Path) -> None:
    server = _server(tmp_path, tmp_path / "jobs")
    try:
        reply = httpx.post(
            f"{server.base_url}/jobs", files={"file": ("x.csv", b"body\nhi\n")}, params={"model": "sms-spam"}
        )
        assert reply.status_code == 422
        assert "lacks the model's columns" in reply.json()["detail"]
        assert list((tmp_path / "jobs").iterdir()) == []
        assert httpx.get(f"{server.base_url}/jobs/unknown").status_code == 404
    finally:
        server.stop()


def test_cancel_running_job(tmp_path: Path, big_tar: bytes) -> None:
    server = _server(tmp_path, tmp_path / "jobs")
    try:
        created = httpx.post(
            f"{server.base_url}/jobs", files={"file": ("big.tar", big_tar)}, timeout=60
        ).json()
        _wait(server.base_url, created["job_id"], lambda s: s["items_done"] > 0)
        early = httpx.get(created["results_url"])
        assert early.status_code == 409
        assert "poll" in early.json()["detail"]
        cancelled = httpx.delete(created["status_url"]).json()
        assert cancelled["state"] == "cancelled"
        assert 0 < cancelled["items_done"] < 8000
        partial = httpx.get(created["results_url"], params={"format": "ndjson"}).text.strip().split("\n")
        assert len(partial) == cancelled["items_done"] + 1
    finally:
        server.stop()


def test_restart_marks_job_interrupted_and_keeps_results(
    tmp_path: Path, samples: Path, big_tar: bytes
) -> None:
    jobs_dir = tmp_path / "jobs"
    first = _server(tmp_path, jobs_dir)
    small = zip_bytes(image_entries(samples / "images" / "cifar10"))
    try:
        finished = httpx.post(f"{first.base_url}/jobs", files={"file": ("small.zip", small)}).json()
        _wait(first.base_url, finished["job_id"], lambda s: s["state"] == "succeeded")
        running = httpx.post(
            f"{first.base_url}/jobs", files={"file": ("big.tar", big_tar)}, timeout=60
        ).json()
        _wait(first.base_url, running["job_id"], lambda s: s["items_done"] > 0)
    finally:
        # SIGTERM: uvicorn shuts down gracefully, then exits by re-raising the signal.
        assert first.stop() in (0, -signal.SIGTERM)
    assert "shutdown complete" in first.log()

    second = _server(tmp_path, jobs_dir)
    try:
        interrupted = httpx.get(f"{second.base_url}/jobs/{running['job_id']}").json()
        assert interrupted["state"] == "interrupted"
        assert "resubmit" in interrupted["error"]
        lines = (
            httpx.get(f"{second.base_url}/jobs/{running['job_id']}/results", params={"format": "ndjson"})
            .text.strip()
            .split("\n")
        )
        assert len(lines) - 1 == interrupted["items_done"] > 0
        kept = httpx.get(f"{second.base_url}/jobs/{finished['job_id']}/results").json()
        assert kept["count"] == 200

        # A process killed without warning leaves a running job behind; the next start marks it.
        killed = httpx.post(
            f"{second.base_url}/jobs", files={"file": ("big.tar", big_tar)}, timeout=60
        ).json()
        _wait(second.base_url, killed["job_id"], lambda s: s["items_done"] > 0)
        second.process.send_signal(signal.SIGKILL)
        second.process.wait()
    finally:
        second.stop()

    third = _server(tmp_path, jobs_dir, CLASSIFY_JOB_TTL_S="3600")
    try:
        assert httpx.get(f"{third.base_url}/jobs/{killed['job_id']}").json()["state"] == "interrupted"
    finally:
        third.stop()

    # Every job finished more than the time to live ago is deleted at start-up.
    time.sleep(1.1)
    fourth = _server(tmp_path, jobs_dir, CLASSIFY_JOB_TTL_S="1")
    try:
        for job in (finished, running, killed):
            assert httpx.get(f"{fourth.base_url}/jobs/{job['job_id']}").status_code == 404
    finally:
        fourth.stop()
