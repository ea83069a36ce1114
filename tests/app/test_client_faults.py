"""Clients that misbehave on a real server: slow uploads, uploads cut off midway, and SIGTERM with requests in flight."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from checkpoint import save_checkpoint
from checkpoint.io import script_module
from scripts.corpus.archives import image_entries, zip_bytes
from scripts.server_process import RunningServer, start_server
from scripts.service_metrics import requests_with_status
from tests.app.tiny_model import POISON, FixedLinear, expected_probabilities, tiny_manifest
from tests.conftest import MODELS

BOUNDARY = "corpusboundary"


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server that cuts off a body after 1 s without bytes or below 4 KiB/s after that."""
    log = tmp_path_factory.mktemp("strict") / "server.log"
    server = start_server(
        log,
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_BODY_IDLE_TIMEOUT_S": "1",
            "CLASSIFY_MIN_UPLOAD_BYTES_PER_S": "4096",
        },
    )
    yield server
    server.stop()


def _address(server: RunningServer) -> tuple[str, int]:
    host, port = server.base_url.removeprefix("http://").split(":")
    return host, int(port)


def _multipart_head(path: str, content_length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="upload.zip"\r\n'
        f"Content-Type: application/zip\r\n\r\n"
    ).encode()


def _read_reply(client: socket.socket, timeout_s: float) -> bytes:
    client.settimeout(timeout_s)
    chunks = []
    while True:
        chunk = client.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _aborted(server: RunningServer, endpoint: str, reason: str) -> float:
    text = httpx.get(f"{server.base_url}/metrics").text
    pattern = rf'^classify_aborted_uploads_total\{{endpoint="{endpoint}",reason="{reason}"\}} (\S+)$'
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


def _requests_with_status(server: RunningServer, endpoint: str, status: str) -> float:
    return requests_with_status(httpx.get(f"{server.base_url}/metrics").text, status, endpoint)


def _open_fds(server: RunningServer) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def _wait_for(predicate, timeout_s: float = 15) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_stalled_upload_gets_408(strict_server: RunningServer) -> None:
    before = _aborted(strict_server, "classify-dataset", "timeout")
    with socket.create_connection(_address(strict_server)) as client:
        client.sendall(_multipart_head("/classify-dataset", 10_000_000) + b"PK\x03\x04" + b"\x00" * 1000)
        started = time.monotonic()
        reply = _read_reply(client, timeout_s=30)
        waited_s = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"CLASSIFY_BODY_IDLE_TIMEOUT_S" in reply
    # The reply came from the idle timeout, not from the client's own read timeout.
    assert waited_s < 20
    assert _aborted(strict_server, "classify-dataset", "timeout") == before + 1


def test_trickling_upload_gets_408(strict_server: RunningServer) -> None:
    before = _aborted(strict_server, "predict", "timeout")
    with socket.create_connection(_address(strict_server)) as client:
        client.sendall(_multipart_head("/predict", 1_000_000))
        reply = b""
        client.settimeout(0.3)
        # 512 bytes every 0.25 s is about 2 KiB/s: never idle for a second, but below 4 KiB/s.
        for _ in range(60):
            try:
                client.sendall(b"\x00" * 512)
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                reply = client.recv(65536)
                if reply:
                    break
            except TimeoutError:
                pass
        reply += _read_reply(client, timeout_s=10)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"CLASSIFY_MIN_UPLOAD_BYTES_PER_S" in reply
    assert _aborted(strict_server, "predict", "timeout") == before + 1


def test_upload_cut_off_midway_is_counted_and_freed(strict_server: RunningServer, samples: Path) -> None:
    archive = zip_bytes(image_entries(samples / "images" / "cifar10"))
    # Larger than the multipart parser's in-memory buffer, so the partial upload spools to a file.
    padding = b"\x00" * (3 * 2**20)
    disconnects = _aborted(strict_server, "classify-dataset", "disconnect")
    closed = _requests_with_status(strict_server, "classify-dataset", "499")
    fds_before = _open_fds(strict_server)

    for _ in range(3):
        with socket.create_connection(_address(strict_server)) as client:
            client.sendall(_multipart_head("/classify-dataset", 50_000_000) + archive + padding)
            time.sleep(0.3)

    assert _wait_for(lambda: _aborted(strict_server, "classify-dataset", "disconnect") == disconnects + 3)
    assert _wait_for(lambda: _requests_with_status(strict_server, "classify-dataset", "499") == closed + 3)
    # Spooled parts and sockets are closed again.
    assert _wait_for(lambda: _open_fds(strict_server) <= fds_before), (fds_before, _open_fds(strict_server))
    assert _requests_with_status(strict_server, "classify-dataset", "500") == 0
    assert httpx.get(f"{strict_server.base_url}/readyz").status_code == 200


def test_sigterm_completes_requests_in_flight(tmp_path: Path, samples: Path) -> None:
    # A long batching delay and no idle dispatch hold the requests in the queue when SIGTERM arrives.
    server = start_server(
        tmp_path / "server.log",
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_IDLE_DISPATCH": "false",
            "CLASSIFY_MAX_DELAY_MS": "3000",
            "CLASSIFY_WARMUP_BATCH_SIZES": "[1]",
        },
    )
    images = sorted((samples / "images" / "cifar10").rglob("*.jpg"))[:12]

    def predict(path: Path) -> httpx.Response:
        return httpx.post(
            f"{server.base_url}/predict?model=cifar10",
            content=path.read_bytes(),
            headers={"content-type": "image/jpeg"},
            timeout=60,
        )

    try:
        with ThreadPoolExecutor(len(images)) as pool:
            futures = [pool.submit(predict, path) for path in images]

            def queued_rows() -> float:
                text = httpx.get(f"{server.base_url}/metrics").text
                match = re.search(r'^classify_queue_rows\{model="cifar10"\} (\S+)$', text, re.M)
                return float(match.group(1)) if match else 0.0

            assert _wait_for(lambda: queued_rows() == len(images))
            server.process.send_signal(signal.SIGTERM)
            replies = [future.result() for future in futures]
        assert [reply.status_code for reply in replies] == [200] * len(images)
        assert all(reply.json()["model"] == "cifar10" for reply in replies)
        assert server.process.wait(30) in (0, -signal.SIGTERM)
        assert "shutdown complete" in server.log()
    finally:
        server.stop()


def test_overload_rejects_then_serves_rest(tmp_path: Path, samples: Path) -> None:
    # A queue of 4 rows that only moves every 300 ms: 40 simultaneous requests overflow it.
    server = start_server(
        tmp_path / "server.log",
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_IDLE_DISPATCH": "false",
            "CLASSIFY_MAX_DELAY_MS": "300",
            "CLASSIFY_MAX_QUEUE_ROWS": "4",
            "CLASSIFY_WARMUP_BATCH_SIZES": "[1]",
        },
    )
    image = next((samples / "images" / "cifar10" / "ship").glob("*.jpg")).read_bytes()

    def predict(_: int) -> httpx.Response:
        return httpx.post(
            f"{server.base_url}/predict?model=cifar10",
            content=image,
            headers={"content-type": "image/jpeg"},
            timeout=60,
        )

    try:
        with ThreadPoolExecutor(40) as pool:
            replies = list(pool.map(predict, range(40)))
        statuses = [reply.status_code for reply in replies]
        assert set(statuses) <= {200, 503}, statuses
        rejected = [reply for reply in replies if reply.status_code == 503]
        admitted = [reply for reply in replies if reply.status_code == 200]
        assert rejected, "no request was rejected although the queue holds 4 rows"
        assert admitted, "no request was admitted"
        assert all(reply.headers.get("retry-after", "").isdigit() for reply in rejected)
        assert all("CLASSIFY_MAX_QUEUE_ROWS" in reply.json()["detail"] for reply in rejected)
        labels = {reply.json()["label"] for reply in admitted}
        assert len(labels) == 1  # the same image gets the same label however it was batched
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
    finally:
        server.stop()


def test_bulk_model_failure_fails_only_those_rows(tmp_path: Path) -> None:
    models = tmp_path / "models"
    save_checkpoint(script_module(FixedLinear()), tiny_manifest("tiny"), models / "tiny.pt")
    server = start_server(
        tmp_path / "server.log",
        {
            "CLASSIFY_MODEL_DIR": str(models),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_WARMUP_BATCH_SIZES": "[1]",
        },
    )
    rows = [(float(i), float(i) / 10) for i in range(300)]
    poisoned = {17, 150, 299}
    lines = ["a,b"] + [f"{POISON if i in poisoned else a},{b}" for i, (a, b) in enumerate(rows)]
    try:
        reply = httpx.post(
            f"{server.base_url}/classify-dataset?model=tiny&format=json",
            files={"file": ("rows.csv", "\n".join(lines).encode())},
            timeout=60,
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["count"] == 300
        assert body["failed"] == 3
        assert body["classified"] == 297
        errors = {int(p["id"]): p.get("error") for p in body["predictions"]}
        assert {row for row, error in errors.items() if error} == {i + 1 for i in poisoned}
        assert all("poisoned row" in errors[i + 1] for i in poisoned)
        good = [p for p in body["predictions"] if not p.get("error")]
        expected = expected_probabilities(np.asarray([rows[int(p["id"]) - 1] for p in good], dtype=np.float32))
        np.testing.assert_allclose([p["confidence"] for p in good], expected.max(axis=1), rtol=1e-5)
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
    finally:
        server.stop()


def test_sigterm_completes_dataset_stream(tmp_path: Path, samples: Path) -> None:
    server = start_server(
        tmp_path / "server.log",
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_BULK_TORCH_THREADS": "1",
            "CLASSIFY_BULK_CHUNK_ITEMS": "64",
            "CLASSIFY_WARMUP_BATCH_SIZES": "[1]",
        },
    )
    entries = image_entries(samples / "images" / "cifar10")
    archive = zip_bytes({f"{copy}/{name}": data for copy in range(10) for name, data in entries.items()})
    try:
        lines = []
        with httpx.stream(
            "POST",
            f"{server.base_url}/classify-dataset?model=cifar10&format=ndjson",
            files={"file": ("many.zip", archive)},
            timeout=120,
        ) as reply:
            signalled = False
            for line in reply.iter_lines():
                if not signalled:
                    # Results have begun to stream: stop the server in the middle of the run.
                    server.process.send_signal(signal.SIGTERM)
                    signalled = True
                lines.append(line)
        assert reply.status_code == 200
        summary = json.loads(lines[-1])["summary"]
        assert summary["count"] == summary["classified"] == 2000
        assert summary["stopped_early"] is None
        assert server.process.wait(60) in (0, -signal.SIGTERM)
    finally:
        server.stop()
