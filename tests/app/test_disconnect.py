"""A client that disconnects while its request waits has its work dropped and counted."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import httpx

from scripts.server_process import start_server
from tests.app.archives import image_entries, tar_bytes
from tests.conftest import MODELS


def _cancelled_rows(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics").text
    return sum(
        float(v)
        for v in re.findall(r'^classify_cancelled_rows_total\{model="cifar10",[^}]*\} (\S+)$', text, re.M)
    )


def test_disconnected_client_is_cancelled(tmp_path: Path, samples: Path) -> None:
    server = start_server(
        tmp_path / "server.log",
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_JOBS_DIR": str(tmp_path / "jobs"),
            "CLASSIFY_BULK_BATCH_SIZE": "256",
        },
    )
    try:
        # Keep the model's inference thread busy with a bulk job, so a single request waits.
        images = image_entries(samples / "images" / "cifar10")
        big = tar_bytes({f"{copy}/{name}": data for copy in range(40) for name, data in images.items()})
        job = httpx.post(f"{server.base_url}/jobs", files={"file": ("big.tar", big)}, timeout=60).json()
        deadline = time.monotonic() + 60
        while httpx.get(job["status_url"]).json()["items_done"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)

        image = next(iter(images.values()))
        host, port = server.base_url.removeprefix("http://").split(":")
        request = (
            f"POST /predict?model=cifar10 HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(image)}\r\n\r\n"
        ).encode() + image
        before = _cancelled_rows(server.base_url)
        with socket.create_connection((host, int(port))) as client:
            client.sendall(request)
            time.sleep(0.05)  # let the server read the body and queue the request
        deadline = time.monotonic() + 30
        while _cancelled_rows(server.base_url) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _cancelled_rows(server.base_url) == before + 1
        assert "499" in httpx.get(f"{server.base_url}/metrics").text
        httpx.delete(job["status_url"])
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
    finally:
        server.stop()
