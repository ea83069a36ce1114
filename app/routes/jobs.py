"""Bulk jobs: POST /jobs, GET /jobs/{id}, GET /jobs/{id}/results, DELETE /jobs/{id}."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.bulk.output import MEDIA_TYPES, OutputFormat, choose_format
from app.bulk.uploads import build_run, pick_model, read_upload
from app.dependencies import MetricsDep, RegistryDep, SettingsDep
from app.jobs.manager import JobManager, JobNotFinishedError, count_zip_items
from app.jobs.records import JobRecord, utc_now
from app.request_status import RequestTally
from app.routes.datasets import UPLOAD_DOC

router = APIRouter(tags=["jobs"])


def _manager(request: Request) -> JobManager:
    return request.app.state.jobs


def _status(record: JobRecord, request: Request) -> dict[str, Any]:
    rate = record.rate_per_s()
    eta = record.eta_s()
    return {
        **record.model_dump(mode="json"),
        "rate_per_s": round(rate, 1) if rate else None,
        "eta_s": round(eta, 1) if eta is not None else None,
        "status_url": str(request.url_for("job_status", job_id=record.job_id)),
        "results_url": str(request.url_for("job_results", job_id=record.job_id)),
    }


@router.post(
    "/jobs",
    status_code=202,
    openapi_extra=UPLOAD_DOC,
    responses={400: {}, 404: {}, 413: {}, 415: {}, 422: {}},
)
async def create_job(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    model: str | None = Query(None, description="model name; optional when one model fits the file"),
    label_column: str | None = Query(None, description="CSV column with true labels (default: the model's)"),
    encoding: str | None = Query(None, description="CSV text encoding (default: detected)"),
) -> JSONResponse:
    """Start classifying a dataset in the background; poll the status URL, then fetch the results."""
    manager = _manager(request)
    with RequestTally(metrics, "jobs", model) as tally:
        upload = await read_upload(request)
        served = pick_model(registry, model, upload)
        tally.model = served.name
        job_id = manager.new_job_id()
        path = await manager.save_upload(job_id, upload.file)
        await upload.close()
        file = path.open("rb")
        try:
            run = build_run(
                served,
                file,
                upload.filename or "upload",
                settings,
                request.app.state.decode_pool,
                metrics,
                label_column,
                encoding,
            )
            await run.prepare()
        except BaseException:
            file.close()
            manager.store.delete(job_id)
            raise
        record = JobRecord(
            job_id=job_id,
            model=served.name,
            version=served.manifest.version,
            filename=upload.filename or "upload",
            created_at=utc_now(),
            items_total=count_zip_items(path),
            label_column=label_column,
            encoding=encoding,
        )
        manager.start(record, run, file)
        tally.status = 202
    body = _status(record, request)
    return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})


@router.get("/jobs/{job_id}", name="job_status", responses={404: {}})
async def job_status(job_id: str, request: Request) -> dict[str, Any]:
    """State, items done and total (when known), rate and ETA."""
    return _status(_manager(request).get(job_id), request)


def _stream_results(manager: JobManager, record: JobRecord, output: OutputFormat) -> Iterator[bytes]:
    summary = manager.store.load_summary(record.job_id) or {}
    summary = {**summary, "job_id": record.job_id, "state": record.state.value}
    path = manager.store.results_path(record.job_id)
    lines = path.open(encoding="utf-8") if path.is_file() else io.StringIO("")
    with lines:
        if output == OutputFormat.NDJSON:
            for line in lines:
                yield line.encode()
            yield (json.dumps({"summary": summary}) + "\n").encode()
        elif output == OutputFormat.CSV:
            yield b"id,label,confidence,true_label,error\n"
            for line in lines:
                item = json.loads(line)
                buffer = io.StringIO()
                confidence = "" if item["confidence"] is None else f"{item['confidence']:.6f}"
                csv.writer(buffer, lineterminator="\n").writerow(
                    [
                        item["id"],
                        item["label"] or "",
                        confidence,
                        item.get("true_label", ""),
                        item.get("error", ""),
                    ]
                )
                yield buffer.getvalue().encode()
        else:
            yield (
                json.dumps({"model": record.model, "version": record.version})[:-1].encode()
                + b', "predictions": ['
            )
            first = True
            for line in lines:
                yield (b"" if first else b",") + line.rstrip("\n").encode()
                first = False
            tail = {k: v for k, v in summary.items() if k not in ("model", "version")}
            yield b"], " + json.dumps(tail)[1:].encode()


@router.get("/jobs/{job_id}/results", name="job_results", responses={404: {}, 409: {}})
async def job_results(
    job_id: str,
    request: Request,
    format: str | None = Query(None, description="json (default), ndjson or csv; overrides Accept"),
) -> StreamingResponse:
    """Return the results of a finished job (partial for a cancelled or interrupted one)."""
    manager = _manager(request)
    record = manager.get(job_id)
    if not record.state.finished:
        raise JobNotFinishedError(
            f"job {job_id} is {record.state.value} ({record.items_done} items done); poll "
            f"{request.url_for('job_status', job_id=job_id)} until it finishes"
        )
    output = choose_format(format, request.headers.get("accept"))
    return StreamingResponse(_stream_results(manager, record, output), media_type=MEDIA_TYPES[output])


@router.delete("/jobs/{job_id}", responses={404: {}})
async def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    """Cancel a queued or running job (results so far are kept); delete a finished one."""
    manager = _manager(request)
    record = manager.get(job_id)
    if record.state.finished:
        manager.delete(job_id)
        return {"job_id": job_id, "deleted": True}
    return _status(await manager.cancel(job_id), request)
