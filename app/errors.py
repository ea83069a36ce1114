"""Service errors that carry their HTTP status, and the handlers that render them as JSON."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from inputs import InputError

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    status_code = 500
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(ServiceError):
    status_code = 400


class ModelNotFoundError(ServiceError):
    status_code = 404


class PayloadTooLargeError(ServiceError):
    status_code = 413


class UnsupportedMediaTypeError(ServiceError):
    status_code = 415


class OverloadedError(ServiceError):
    """The model's queue is full; the client should retry after `retry_after_s`."""

    status_code = 503

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


class NotReadyError(ServiceError):
    status_code = 503


class RequestTimeoutError(ServiceError):
    status_code = 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": "1"}


class BatcherStoppedError(ServiceError):
    """The model's batcher died or is shutting down; its requests cannot complete."""

    status_code = 503


class InferenceError(ServiceError):
    """The model failed on an input that passed validation."""

    status_code = 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        if exc.status_code >= 500 and not isinstance(
            exc, OverloadedError | NotReadyError | RequestTimeoutError
        ):
            logger.error("request failed: %s", exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(InputError)
    async def _input_error(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{location}: {error.get('msg')}")
        return JSONResponse({"detail": "invalid request: " + "; ".join(problems)}, status_code=422)
