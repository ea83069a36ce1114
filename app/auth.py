"""Optional bearer-token authentication for every endpoint except liveness and readiness."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from app.asgi_errors import send_json_error

OPEN_PATHS = frozenset({"/healthz", "/readyz"})


class BearerAuth:
    """Reject with 401 any request without `Authorization: Bearer <token>`.

    The comparison runs in constant time, and the 401 message does not reveal whether
    the header was missing or the token wrong.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        supplied = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                supplied = value
                break
        if hmac.compare_digest(supplied, self.expected):
            await self.app(scope, receive, send)
            return
        await send_json_error(
            send, 401, "missing or invalid bearer token", [(b"www-authenticate", b"Bearer")]
        )
