"""POST /predict: one image, one row, or a short list of rows, through the micro-batcher."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.bulk.uploads import form_file
from app.disconnect import ClientDisconnectedError, watch_disconnect
from app.errors import (
    BadRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from app.metrics import ServiceMetrics
from app.predictions import PredictResponse, PredictRowsResponse, to_prediction
from app.registry import ModelRegistry, ServedModel
from app.request_status import CLIENT_CLOSED_REQUEST, RequestTally
from app.responses import FastJSONResponse
from app.settings import Settings
from checkpoint import ModelKind
from inputs import InputError, SchemaError

router = APIRouter(tags=["predict"])

IMAGE_BODY_TYPES = ("image/",)
# Images up to this size (thumbnails such as 32x32 JPEGs, about 0.1 ms to decode
# here) decode on the event loop; larger ones go to a worker thread so they do not
# stall other requests.
INLINE_DECODE_BYTES = 8 * 1024
PREDICT_DOC = {
    # The query parameters are parsed by the route itself (see `predict`), so they are
    # documented here rather than declared as FastAPI parameters.
    "parameters": [
        {
            "name": "model",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "model name; optional when one model fits the input",
        },
        {
            "name": "top_k",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
            "description": "classes returned per prediction (default 3)",
        },
    ],
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "row": {"type": "object", "description": "one row: column name to value"},
                        "rows": {"type": "array", "items": {"type": "object"}},
                        "top_k": {"type": "integer", "minimum": 1},
                    },
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        },
        "required": True,
    }
}


async def _read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        raise BadRequestError('the request body is empty; send {"row": {...}} or {"rows": [...]}')
    try:
        body = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"the request body is not valid UTF-8: {exc.reason} at byte {exc.start}"
        ) from None
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"the request body is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from None
    if not isinstance(body, dict) or ("row" in body) == ("rows" in body):
        raise SchemaError(
            'send a JSON object with exactly one of "row" (an object) or "rows" (a list of objects)'
        )
    unexpected = sorted(set(body) - {"row", "rows", "top_k"})
    if unexpected:
        raise SchemaError(f'unexpected fields {unexpected}; allowed are "row", "rows" and "top_k"')
    return body


async def _read_image(request: Request, content_type: str) -> bytes:
    if content_type.startswith("multipart/form-data"):
        upload = await form_file(request, "image")
        return await upload.read()
    return await request.body()


def _query_top_k(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise SchemaError(f"top_k must be a positive integer, got {text!r}") from None


def _top_k(query_top_k: int | None, body: dict[str, Any] | None) -> int:
    value = query_top_k if query_top_k is not None else (body or {}).get("top_k", 3)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SchemaError(f"top_k must be a positive integer, got {value!r}")
    return value


async def _classify(request: Request, model: ServedModel, samples: list, timeout_s: float) -> np.ndarray:
    watcher = watch_disconnect(request)
    try:
        return await model.batcher.classify(samples, timeout_s, watcher)
    finally:
        watcher.cancel()


async def _predict_rows(
    request: Request,
    registry: ModelRegistry,
    settings: Settings,
    tally: RequestTally,
    model: str | None,
    top_k: int | None,
) -> dict[str, Any]:
    body = await _read_json(request)
    rows = body.get("rows") if "rows" in body else [body["row"]]
    if not isinstance(rows, list) or not rows:
        raise SchemaError('"rows" must be a non-empty list of objects')
    first = rows[0] if isinstance(rows[0], dict) else None
    served = registry.pick(model, (ModelKind.TEXT, ModelKind.TABULAR), first)
    tally.model = served.name
    k = _top_k(top_k, body)
    if len(rows) > settings.max_batch_size:
        raise PayloadTooLargeError(
            f"{len(rows)} rows exceed the limit of {settings.max_batch_size} per request "
            f"(CLASSIFY_MAX_BATCH_SIZE); send larger sets to /classify-dataset"
        )
    samples = []
    for index, row in enumerate(rows):
        try:
            samples.append(served.encoder.encode(row))
        except InputError as exc:
            if "rows" in body:
                raise type(exc)(f"rows[{index}]: {exc}") from None
            raise
    probabilities = await _classify(request, served, samples, settings.request_timeout_s)
    predictions = [to_prediction(p, served.manifest.class_names, k) for p in probabilities]
    header = {"model": served.name, "version": served.manifest.version}
    if "rows" in body:
        return {**header, "predictions": predictions}
    return {**header, **predictions[0]}


async def _predict_image(
    request: Request,
    registry: ModelRegistry,
    settings: Settings,
    tally: RequestTally,
    model: str | None,
    top_k: int | None,
    content_type: str,
) -> dict[str, Any]:
    served = registry.pick(model, (ModelKind.IMAGE,))
    tally.model = served.name
    k = _top_k(top_k, None)
    data = await _read_image(request, content_type)
    if len(data) <= INLINE_DECODE_BYTES:
        sample = served.encoder.encode(data)
    else:
        sample = await asyncio.to_thread(served.encoder.encode, data)
    probabilities = await _classify(request, served, [sample], settings.request_timeout_s)
    return {
        "model": served.name,
        "version": served.manifest.version,
        **to_prediction(probabilities[0], served.manifest.class_names, k),
    }


@router.post(
    "/predict",
    openapi_extra=PREDICT_DOC,
    response_model=PredictResponse | PredictRowsResponse,
    responses={400: {}, 404: {}, 413: {}, 415: {}, 422: {}, 503: {}},
)
async def predict(request: Request) -> Response:
    """Classify one image (multipart field `file`, or a raw image body) or JSON rows."""
    # Query parameters and the app's objects are read directly instead of through FastAPI's
    # parameters and dependencies: their resolution took about a fifth of the event loop's
    # time per request under load (py-spy, 64 clients, tabular model).
    query = request.query_params
    model = query.get("model")
    state = request.app.state
    registry: ModelRegistry = state.registry
    settings: Settings = state.settings
    metrics: ServiceMetrics = state.metrics
    try:
        with RequestTally(metrics, "predict", model) as tally:
            top_k = _query_top_k(query.get("top_k"))
            content_type = request.headers.get("content-type", "").lower()
            if content_type.startswith("application/json"):
                payload = await _predict_rows(request, registry, settings, tally, model, top_k)
            elif content_type.startswith("multipart/form-data") or content_type.startswith(IMAGE_BODY_TYPES):
                payload = await _predict_image(request, registry, settings, tally, model, top_k, content_type)
            else:
                raise UnsupportedMediaTypeError(
                    f"unsupported Content-Type {content_type or '(none)'!r}; send application/json rows, "
                    f"multipart/form-data with an image in field 'file', or an image/* body"
                )
            tally.status = 200
            return FastJSONResponse(payload)
    except ClientDisconnectedError:
        # The tally has counted the request as 499 on its way out.
        return Response(status_code=CLIENT_CLOSED_REQUEST)
