"""ASGI middleware that bounds request bodies before any route reads them."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.asgi_errors import send_json_error


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Reject with 413 a body's declared or streamed size exceeds the limit for its path."""

    def __init__(self, app: ASGIApp, limit_for_path: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for_path = limit_for_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for_path(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(send, int(value), limit)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._reject(send, received, limit)

    @staticmethod
    async def _reject(send: Send, size: int, limit: int) -> None:
        detail = (
            f"request body of at least {size} bytes exceeds the limit of {limit} bytes; "
            f"send a smaller file or raise the limit setting"
        )
        await send_json_error(send, 413, detail, [(b"connection", b"close")])
