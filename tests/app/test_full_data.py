"""The full CIFAR-10 test archive through the endpoint gives the offline evaluation's accuracy."""

from __future__ import annotations

from pathlib import Path

import httpx
import torch

from tests.conftest import MODELS
from training.offline import evaluate_checkpoint


def test_cifar10_test_archive_matches_offline(base_url: str, full_data: Path) -> None:
    archive = full_data / "images" / "cifar10" / "test.tar"
    with archive.open("rb") as handle:
        reply = httpx.post(
            f"{base_url}/classify-dataset",
            files={"file": ("test.tar", handle)},
            params={"model": "cifar10"},
            timeout=600,
        )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["count"] == body["classified"] == 5000
    assert body["labelled"] == 5000
    offline = evaluate_checkpoint(MODELS / "cifar10.pt", archive, 256, torch.device("cpu"))
    assert body["metrics"]["accuracy"] == offline
