"""JSON error responses sent from raw ASGI middleware, before FastAPI's handlers are reached."""

from __future__ import annotations

import json

from starlette.types import Send


async def send_json_error(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    """Send `{"detail": detail}` with the given status and extra headers."""
    body = json.dumps({"detail": detail}).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start_headers + headers})
    await send({"type": "http.response.body", "body": body})
