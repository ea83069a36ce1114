"""Upload handling shared by /classify-dataset and /jobs: reading the file, picking the model, setting up the run."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import BinaryIO

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from app.bulk.pipeline import BulkOptions, BulkRun
from app.datasets.archives import sniff_archive
from app.datasets.csv_reader import sniff_csv
from app.datasets.items import ReadLimits
from app.datasets.sources import open_dataset
from app.errors import BadRequestError, UnsupportedMediaTypeError
from app.limits import BodyReadTimeout, BodyTooLarge
from app.metrics import ServiceMetrics
from app.registry import ModelRegistry, ServedModel
from app.settings import Settings
from checkpoint import ModelKind


async def form_file(request: Request, what: str) -> UploadFile:
    """Parse a multipart body and return its field `file`; `what` names the expected content."""
    try:
        form = await request.form(max_files=1, max_fields=8)
    except (ClientDisconnect, BodyTooLarge, BodyReadTimeout):
        raise  # the body guard sends the reply, or the client has gone
    except Exception as exc:  # noqa: BLE001 - starlette raises several parser errors
        raise BadRequestError(f"the multipart body cannot be parsed: {exc}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequestError(f"send the {what} as the multipart form field 'file'")
    return upload


async def read_upload(request: Request) -> UploadFile:
    """Return the dataset upload (multipart field `file`, spooled to disk by the parser)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaTypeError("upload the dataset as multipart/form-data in the field 'file'")
    return await form_file(request, "dataset")


def pick_model(registry: ModelRegistry, name: str | None, upload: UploadFile) -> ServedModel:
    """Return the named model, else the only one that fits the file (for CSVs, by header columns)."""
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
    file: BinaryIO,
    filename: str,
    settings: Settings,
    pool: Executor,
    metrics: ServiceMetrics,
    label_column: str | None,
    encoding: str | None,
) -> BulkRun:
    """Open the dataset for the model (raising 4xx errors on a bad file) and set up its run."""
    limits = ReadLimits(
        max_entries=settings.max_archive_entries,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_entry_bytes=settings.max_entry_bytes,
    )
    source = open_dataset(
        file,
        filename,
        served.manifest,
        limits,
        settings.bulk_chunk_items,
        settings.csv_block_bytes,
        label_column,
        encoding,
    )
    tabular = served.manifest.kind == ModelKind.TABULAR
    options = BulkOptions(
        batch_size=settings.bulk_tabular_batch_size if tabular else settings.bulk_batch_size,
        prefetch_chunks=settings.bulk_prefetch_chunks,
        decode_workers=settings.decode_threads,
    )
    run = BulkRun(served, source, options, pool, metrics)
    if source.csv_format is not None:
        run.summary.details["csv"] = {
            "encoding": source.csv_format.encoding
            + (" (detected)" if source.csv_format.encoding_detected else ""),
            "delimiter": source.csv_format.delimiter,
            "label_column": source.label_column,
            "ignored_columns": source.ignored_columns,
        }
    return run
