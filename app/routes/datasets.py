"""POST /classify-dataset: an uploaded image archive or CSV, every item classified, streamed back."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.bulk.output import MEDIA_TYPES, STREAMS, choose_format
from app.bulk.uploads import build_run, pick_model, read_upload
from app.dependencies import MetricsDep, RegistryDep, SettingsDep
from app.request_status import RequestTally

logger = logging.getLogger(__name__)

router = APIRouter(tags=["datasets"])

UPLOAD_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": ".zip/.tar/.tar.gz/.tgz of images, or a .csv",
                        }
                    },
                }
            }
        },
        "required": True,
    }
}


@router.post(
    "/classify-dataset",
    openapi_extra=UPLOAD_DOC,
    responses={
        200: {"content": {m: {} for m in MEDIA_TYPES.values()}},
        400: {},
        404: {},
        413: {},
        415: {},
        422: {},
    },
)
async def classify_dataset(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    model: str | None = Query(None, description="model name; optional when one model fits the file"),
    format: str | None = Query(None, description="json (default), ndjson or csv; overrides Accept"),
    label_column: str | None = Query(None, description="CSV column with true labels (default: the model's)"),
    encoding: str | None = Query(None, description="CSV text encoding (default: detected)"),
) -> StreamingResponse:
    """Classify every image of an archive or every row of a CSV; with true labels, evaluate too."""
    with RequestTally(metrics, "classify-dataset", model) as tally:
        output = choose_format(format, request.headers.get("accept"))
        upload = await read_upload(request)
        served = pick_model(registry, model, upload)
        tally.model = served.name
        run = build_run(
            served,
            upload.file,
            upload.filename or "upload",
            settings,
            request.app.state.decode_pool,
            metrics,
            label_column,
            encoding,
        )
        await run.prepare()
        tally.status = 200

    async def body():  # noqa: ANN202
        try:
            async for part in STREAMS[output](run):
                yield part
        finally:
            await upload.close()
            logger.info(
                "classified dataset %r with %s: %d items, %d failed, %.1f s",
                upload.filename,
                served.name,
                run.summary.count,
                run.summary.failed,
                run.summary.elapsed_s,
            )

    return StreamingResponse(body(), media_type=MEDIA_TYPES[output])
