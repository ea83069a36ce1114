"""Stream bulk results as JSON, NDJSON or CSV, one chunk at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from enum import StrEnum

import orjson

from app.bulk.pipeline import BulkRun, ItemResult
from app.errors import BadRequestError


class OutputFormat(StrEnum):
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


MEDIA_TYPES = {
    OutputFormat.JSON: "application/json",
    OutputFormat.NDJSON: "application/x-ndjson",
    OutputFormat.CSV: "text/csv; charset=utf-8",
}


def choose_format(format_param: str | None, accept: str | None) -> OutputFormat:
    """Pick the output format: the `format` parameter first, then the first supported Accept type, else JSON."""
    if format_param:
        try:
            return OutputFormat(format_param.lower())
        except ValueError:
            raise BadRequestError(
                f"format {format_param!r} is not supported; use json, ndjson or csv"
            ) from None
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        for fmt, media_type in MEDIA_TYPES.items():
            if media == media_type.split(";")[0]:
                return fmt
    return OutputFormat.JSON


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _item_lines(items: list[ItemResult], separator: bytes) -> bytes:
    # orjson writes these per-item objects several times faster than json.dumps; the pipeline
    # has already turned non-finite confidences into item errors, so no NaN reaches it.
    return separator.join(orjson.dumps(item.as_dict()) for item in items)


async def json_stream(run: BulkRun) -> AsyncIterator[bytes]:
    """Stream one JSON object: predictions first, then counts and metrics close the object."""
    yield (
        _json({"model": run.summary.model, "version": run.summary.version})[:-1].encode()
        + b', "predictions": ['
    )
    first = True
    async for items in run.results():
        if items:
            yield (b"" if first else b",") + _item_lines(items, b",")
            first = False
    summary = run.summary.as_dict()
    tail = {k: v for k, v in summary.items() if k not in ("model", "version")}
    yield b"], " + _json(tail)[1:].encode()


async def ndjson_stream(run: BulkRun) -> AsyncIterator[bytes]:
    """Stream one line per item as it is classified, then one line {"summary": {...}}."""
    async for items in run.results():
        if items:
            yield _item_lines(items, b"\n") + b"\n"
    yield (_json({"summary": run.summary.as_dict()}) + "\n").encode()


def _csv_rows(items: list[ItemResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for item in items:
        confidence = "" if item.confidence is None else f"{item.confidence:.6f}"
        writer.writerow([item.id, item.label or "", confidence, item.true_label or "", item.error or ""])
    return buffer.getvalue()


async def csv_stream(run: BulkRun) -> AsyncIterator[bytes]:
    """Stream one row per item: id,label,confidence,true_label,error (CSV carries no summary or metrics)."""
    yield b"id,label,confidence,true_label,error\n"
    async for items in run.results():
        yield _csv_rows(items).encode()


STREAMS = {OutputFormat.JSON: json_stream, OutputFormat.NDJSON: ndjson_stream, OutputFormat.CSV: csv_stream}
