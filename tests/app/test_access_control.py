"""Bearer-token authentication and CORS on a real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from scripts.server_process import start_server
from tests.conftest import MODELS

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    log = tmp_path_factory.mktemp("auth") / "server.log"
    server = start_server(
        log,
        {
            "CLASSIFY_MODEL_DIR": str(MODELS),
            "CLASSIFY_TORCH_THREADS": "1",
            "CLASSIFY_API_TOKEN": TOKEN,
            "CLASSIFY_CORS_ORIGINS": '["https://app.example.org"]',
        },
    )
    yield server
    server.stop()


def test_probes_stay_open(secured) -> None:  # noqa: ANN001
    assert httpx.get(f"{secured.base_url}/healthz").status_code == 200
    assert httpx.get(f"{secured.base_url}/readyz").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
)
def test_missing_or_wrong_token_rejected(secured, headers: dict) -> None:  # noqa: ANN001
    for method, path in (
        ("GET", "/models"),
        ("GET", "/metrics"),
        ("POST", "/predict"),
        ("POST", "/classify-dataset"),
        ("GET", "/jobs/x"),
        ("GET", "/openapi.json"),
    ):
        reply = httpx.request(method, f"{secured.base_url}{path}", headers=headers)
        assert reply.status_code == 401, (method, path)
        assert reply.json() == {"detail": "missing or invalid bearer token"}
        assert reply.headers["www-authenticate"] == "Bearer"


def test_valid_token_accepted(secured) -> None:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{secured.base_url}/models", headers=headers).status_code == 200
    reply = httpx.post(
        f"{secured.base_url}/predict", headers=headers, json={"row": {"text": "free prize, call now"}}
    )
    assert reply.status_code == 200
    assert reply.json()["model"] == "sms-spam"


def test_cors_preflight_and_origin(secured) -> None:  # noqa: ANN001
    preflight = httpx.options(
        f"{secured.base_url}/predict",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.org"
    other = httpx.get(f"{secured.base_url}/healthz", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_short_token_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="at least 16 characters"):
        start_server(
            tmp_path / "server.log",
            {"CLASSIFY_MODEL_DIR": str(MODELS), "CLASSIFY_API_TOKEN": "short"},
            ready_timeout_s=60,
        )
