"""Start-up with a broken checkpoint beside good ones, and with no checkpoint at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from scripts.server_process import start_server
from tests.conftest import MODELS


def test_broken_checkpoint_is_skipped(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(MODELS / "sms-spam.pt", models / "sms-spam.pt")
    (models / "broken.pt").write_bytes(b"this is not a TorchScript file")
    server = start_server(
        tmp_path / "server.log", {"CLASSIFY_MODEL_DIR": str(models), "CLASSIFY_TORCH_THREADS": "1"}
    )
    try:
        ready = httpx.get(f"{server.base_url}/readyz")
        assert ready.status_code == 200
        assert ready.json()["models"] == {"sms-spam": "ready"}
        assert ready.json()["failed_to_load"] == [str(models / "broken.pt")]
        assert "cannot load checkpoint" in server.log()
        reply = httpx.post(f"{server.base_url}/predict", json={"row": {"text": "hello"}})
        assert reply.status_code == 200
    finally:
        server.stop()


def test_no_models_means_not_ready(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    server = start_server(tmp_path / "server.log", {"CLASSIFY_MODEL_DIR": str(empty)}, wait_path="/healthz")
    try:
        ready = httpx.get(f"{server.base_url}/readyz")
        assert ready.status_code == 503
        assert "no model is loaded" in ready.json()["detail"]
        reply = httpx.post(f"{server.base_url}/predict", json={"row": {"text": "hello"}})
        assert reply.status_code == 404
    finally:
        server.stop()
