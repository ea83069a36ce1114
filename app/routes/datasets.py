"""POST /classify-dataset: an uploaded image archive or CSV, every item classified, streamed back."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from app.bulk.output import MEDIA_TYPES, STREAMS, choose_format
from app.bulk.pipeline import BulkOptions, BulkRun
from app.datasets.archives import sniff_archive
from app.datasets.csv_reader import sniff_csv
from app.datasets.items import ReadLimits
from app.datasets.sources import open_dataset
from app.dependencies import MetricsDep, RegistryDep, SettingsDep
from app.errors import BadRequestError, ServiceError, UnsupportedMediaTypeError
from app.registry import ModelRegistry, ServedModel
from app.settings import Settings
from checkpoint import ModelKind
from inputs import InputError

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


async def read_upload(request: Request) -> UploadFile:
    """The multipart field `file`, spooled to disk by the multipart parser."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaTypeError("upload the dataset as multipart/form-data in the field 'file'")
    try:
        form = await request.form(max_files=1, max_fields=8)
    except Exception as exc:  # noqa: BLE001 - starlette raises several parser errors
        raise BadRequestError(f"the multipart body cannot be parsed: {exc}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequestError("send the dataset as the multipart form field 'file'")
    return upload


def pick_model(registry: ModelRegistry, name: str | None, upload: UploadFile) -> ServedModel:
    """The named model, else the only one that fits the file (for CSVs, by header columns)."""
    if name is not None:
        return registry.get(name)
    head = upload.file.read(512)
    upload.file.seek(0)
    if sniff_archive(head) is not None:
        return registry.pick(None, (ModelKind.IMAGE,))
    columns = sniff_csv(upload.file, None).columns
    return registry.pick(None, (ModelKind.TEXT, ModelKind.TABULAR), dict.fromkeys(columns))


def build_run(
    served: ServedModel,
    upload: UploadFile,
    settings: Settings,
    request: Request,
    label_column: str | None,
    encoding: str | None,
) -> BulkRun:
    limits = ReadLimits(
        max_entries=settings.max_archive_entries,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_entry_bytes=settings.max_entry_bytes,
    )
    source = open_dataset(
        upload.file,
        upload.filename or "upload",
        served.manifest,
        limits,
        settings.bulk_chunk_items,
        settings.csv_block_bytes,
        label_column,
        encoding,
    )
    options = BulkOptions(
        batch_size=settings.bulk_batch_size,
        prefetch_chunks=settings.bulk_prefetch_chunks,
        decode_workers=settings.decode_threads,
    )
    run = BulkRun(served, source, options, request.app.state.decode_pool, request.app.state.metrics)
    if source.csv_format is not None:
        run.summary.details["csv"] = {
            "encoding": source.csv_format.encoding
            + (" (detected)" if source.csv_format.encoding_detected else ""),
            "delimiter": source.csv_format.delimiter,
            "label_column": source.label_column,
            "ignored_columns": source.ignored_columns,
        }
    return run


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
    model_name = model or "-"
    status = 500
    try:
        output = choose_format(format, request.headers.get("accept"))
        upload = await read_upload(request)
        served = pick_model(registry, model, upload)
        model_name = served.name
        run = build_run(served, upload, settings, request, label_column, encoding)
        await run.prepare()
        status = 200
    except (ServiceError, InputError) as exc:
        status = exc.status_code
        raise
    finally:
        metrics.requests.labels(model_name, "classify-dataset", str(status)).inc()

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
