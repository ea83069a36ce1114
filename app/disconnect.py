"""Notice clients that disconnect while their request waits, so their work can be dropped."""

from __future__ import annotations

import asyncio

from starlette.requests import Request


class ClientDisconnectedError(Exception):
    """The client closed the connection before its result was ready."""


async def _until_disconnected(request: Request) -> None:
    # Once the body has been read, the next ASGI message is http.disconnect.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def watch_disconnect(request: Request) -> asyncio.Task[None]:
    """Start a task that completes when the client disconnects. Cancel it once the response is ready."""
    return asyncio.ensure_future(_until_disconnected(request))
