from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.server_process import RunningServer, start_server
from tests.conftest import MODELS

REQUIRED_MODELS = ("cifar10.pt", "sms-spam.pt", "adult-income.pt")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The app with the committed default models, as a user starts it."""
    missing = [m for m in REQUIRED_MODELS if not (MODELS / m).is_file()]
    if missing:
        pytest.fail(f"default checkpoints missing from models/: {missing}; run `make models`")
    log = tmp_path_factory.mktemp("server") / "server.log"
    running = start_server(
        log,
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_MAX_REQUEST_BYTES": str(2 * 2**20),
        },
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def base_url(server: RunningServer) -> str:
    return server.base_url


def sample_images(samples: Path, per_class: int) -> list[tuple[Path, str]]:
    folder = samples / "images" / "cifar10"
    return [
        (image, class_dir.name)
        for class_dir in sorted(folder.iterdir())
        for image in sorted(class_dir.glob("*.jpg"))[:per_class]
    ]
