"""ASGI middleware that bounds request bodies in size and in time before any route reads them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.asgi_errors import send_json_error
from app.metrics import ServiceMetrics

BODY_ENDPOINTS = frozenset({"predict", "classify-dataset", "jobs"})


class BodyTooLarge(Exception):
    status_code = 413


class BodyReadTimeout(Exception):
    """The client sent its body too slowly: nothing for the idle timeout, or below the minimum rate."""

    status_code = 408


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    idle_timeout_s: float
    # Checked once `idle_timeout_s` has passed since the first byte, so short bodies never trip it.
    min_bytes_per_s: float


class RequestBodyGuard:
    """Reject a body whose declared or streamed size exceeds its path's limit (413), or that arrives
    too slowly (408), and count uploads that end early by endpoint and reason."""

    def __init__(
        self, app: ASGIApp, limits_for_path: Callable[[str], BodyLimits], metrics: ServiceMetrics
    ) -> None:
        self.app = app
        self.limits_for_path = limits_for_path
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits_for_path(scope["path"])
        endpoint = scope["path"].strip("/").split("/")[0]
        if endpoint not in BODY_ENDPOINTS:
            endpoint = "other"  # keeps the metric's label set bounded whatever paths clients send
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limits.max_bytes:
                self._count(endpoint, "too_large")
                await self._reject_size(send, int(value), limits.max_bytes)
                return

        received = 0
        body_complete = False
        started = time.monotonic()
        response_started = False

        async def guarded_receive() -> Message:
            nonlocal received, body_complete
            if body_complete:
                # Later messages only report a disconnect, which may come much later.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), limits.idle_timeout_s)
            except TimeoutError:
                raise BodyReadTimeout(
                    f"no request body bytes arrived for {limits.idle_timeout_s:g} s "
                    f"(CLASSIFY_BODY_IDLE_TIMEOUT_S); the upload was cut off"
                ) from None
            if message["type"] == "http.disconnect":
                body_complete = True
                self._count(endpoint, "disconnect")
                return message
            received += len(message.get("body", b""))
            if received > limits.max_bytes:
                raise BodyTooLarge()
            body_complete = not message.get("more_body", False)
            elapsed_s = time.monotonic() - started
            if not body_complete and elapsed_s > limits.idle_timeout_s:
                rate = received / elapsed_s
                if rate < limits.min_bytes_per_s:
                    raise BodyReadTimeout(
                        f"the request body arrives at {rate:.0f} bytes/s, below the minimum of "
                        f"{limits.min_bytes_per_s:g} bytes/s (CLASSIFY_MIN_UPLOAD_BYTES_PER_S); "
                        f"the upload was cut off"
                    )
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except BodyTooLarge:
            self._count(endpoint, "too_large")
            if not response_started:
                await self._reject_size(send, received, limits.max_bytes)
        except BodyReadTimeout as exc:
            self._count(endpoint, "timeout")
            if not response_started:
                await send_json_error(send, 408, str(exc), [(b"connection", b"close")])
        except ClientDisconnect:
            pass  # counted when the disconnect arrived, and the client is gone

    def _count(self, endpoint: str, reason: str) -> None:
        self.metrics.aborted_uploads.labels(endpoint, reason).inc()

    @staticmethod
    async def _reject_size(send: Send, size: int, limit: int) -> None:
        detail = (
            f"request body of at least {size} bytes exceeds the limit of {limit} bytes; "
            f"send a smaller file or raise the limit setting"
        )
        await send_json_error(send, 413, detail, [(b"connection", b"close")])
