"""The final HTTP status of a request, counted in /metrics by model and endpoint."""

from __future__ import annotations

from types import TracebackType

from starlette.requests import ClientDisconnect

from app.disconnect import ClientDisconnectedError
from app.metrics import ServiceMetrics

# nginx's code for "client closed the request"; only logs and metrics see it.
CLIENT_CLOSED_REQUEST = 499


def status_for_exception(exc: BaseException) -> int:
    """Map an exception leaving a route to the status its request ends with."""
    if isinstance(exc, ClientDisconnect | ClientDisconnectedError):
        return CLIENT_CLOSED_REQUEST
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else 500


class RequestTally:
    """Count one request under `classify_requests` when the block ends.

    Set `model` once known and `status` on success; an exception leaving the block
    sets the status from `status_for_exception` and propagates.
    """

    def __init__(self, metrics: ServiceMetrics, endpoint: str, model: str | None) -> None:
        self.metrics = metrics
        self.endpoint = endpoint
        self.model = model or "-"
        self.status = 500

    def __enter__(self) -> RequestTally:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self.status = status_for_exception(exc)
        self.metrics.requests.labels(self.model, self.endpoint, str(self.status)).inc()
