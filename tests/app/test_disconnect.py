"""A client that disconnects while its request waits has its work dropped and counted."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import httpx
import torch
from torch import nn

from checkpoint import save_checkpoint
from checkpoint.io import script_module
from scripts.server_process import start_server
from tests.app.tiny_model import tiny_manifest

SLOW = 555.0  # a row whose first value is this keeps the forward pass busy for a while


class SlowOnDemand(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(x.shape[0], 3)
        if bool((x[:, 0] == 555.0).any()):
            work = torch.ones(400, 400)
            for _ in range(3000):
                work = torch.tanh(work @ work / 400.0)
            out = out + work.mean()
        return out


def _metric(base_url: str, name: str) -> float:
    text = httpx.get(f"{base_url}/metrics").text
    return sum(float(v) for v in re.findall(rf'^{name}\{{model="slow"[^}}]*\}} (\S+)$', text, re.M))


def _raw_request(host: str, port: int, row: dict) -> socket.socket:
    body = json.dumps({"row": row}).encode()
    head = (
        f"POST /predict?model=slow HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    client = socket.create_connection((host, port))
    client.sendall(head + body)
    return client


def _wait_for(predicate, timeout_s: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_disconnected_client_leaves_queue_uncomputed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    save_checkpoint(script_module(SlowOnDemand()), tiny_manifest("slow"), models / "slow.pt")
    # A long delay and no idle dispatch keep a lone request waiting in the queue.
    server = start_server(
        tmp_path / "server.log",
        {
            "CLASSIFY_MODEL_DIR": str(models),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_WARMUP_BATCH_SIZES": "[1]",
            "CLASSIFY_IDLE_DISPATCH": "false",
            "CLASSIFY_MAX_DELAY_MS": "60000",
        },
    )
    base = server.base_url
    host, port = base.removeprefix("http://").split(":")
    try:
        client = _raw_request(host, int(port), {"a": SLOW, "b": 0})
        _wait_for(lambda: _metric(base, "classify_queue_rows") == 1)
        client.close()
        # Well before the delay or the request timeout could end the wait.
        _wait_for(lambda: _metric(base, "classify_cancelled_rows_total") == 1, timeout_s=15)

        text = httpx.get(f"{base}/metrics").text
        assert 'classify_cancelled_rows_total{model="slow",stage="queued"} 1.0' in text
        assert _metric(base, "classify_queue_rows") == 0
        assert _metric(base, "classify_batch_rows_count") == 0  # its row never reached the model
        assert 'endpoint="predict",model="slow",status="499"' in text
        assert httpx.get(f"{base}/readyz").status_code == 200
    finally:
        server.stop()
