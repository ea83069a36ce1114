"""Requests generated from the service's own OpenAPI schema, sent to the live server: no 5xx.

Runs the schemathesis command line, which generates valid and invalid requests
for every operation of /openapi.json and checks each reply.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_generated_requests_cause_no_server_error(base_url: str, tmp_path: Path) -> None:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "40",
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "60",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert httpx.get(f"{base_url}/readyz").status_code == 200
