"""Run the real app under uvicorn on 127.0.0.1 in a child process (demo, benchmarks, tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class ProcessExitedError(RuntimeError):
    """The process being waited for exited before it was ready."""


def wait_until_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout_s: float, poll_s: float = 0.2
) -> bool:
    """Poll `ready()` until it returns True (then return True) or `timeout_s` passes (return False).

    A connection error counts as not ready yet. Raises ProcessExitedError when the process exits first.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessExitedError(f"process exited with {process.returncode}")
        try:
            if ready():
                return True
        except httpx.TransportError:
            pass
        time.sleep(poll_s)
    return False


def start_server(
    log_path: Path,
    env: dict[str, str] | None = None,
    ready_timeout_s: float = 120,
    wait_path: str = "/readyz",
) -> RunningServer:
    """Start uvicorn on a free loopback port and wait until `wait_path` returns 200."""
    port = free_port()
    environment = {**os.environ, **(env or {})}
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = RunningServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        ready = wait_until_ready(
            process, lambda: httpx.get(f"{server.base_url}{wait_path}", timeout=2).status_code == 200, ready_timeout_s
        )
    except ProcessExitedError:
        raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}") from None
    if ready:
        return server
    server.stop()
    raise RuntimeError(f"server not ready within {ready_timeout_s} s:\n{server.log()}")
